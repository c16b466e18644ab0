"""Running a suite (taina/eval/suite.py) against the assistant, checking it and reporting: a table, JSON, HTML.

Text mode goes through the same Dialogue as `taina chat`; audio mode (--audio) speaks each question with
espeak-ng into the whole converse pipeline (speech recognition, the dialogue, speech synthesis). The grounding
check looks at every reply: each number (prices, times, phones) and each doctor's name in it must appear in what
the turn was grounded on: the passages retrieved for it, the conversation's tool results, or what the caller
said.
"""

from __future__ import annotations

import html
import json
import re
import statistics
import tempfile
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from adapters.appointments_db import BuiltInAppointments
from adapters.policy.details import spoken_as_digits
from taina.eval.appointments import Cleanup, RunAppointments
from taina.eval.suite import Conversation, Question, Suite

if TYPE_CHECKING:
    from engine.reply import Reply
    from taina.app import App
    from taina.backend import Backend

log = structlog.get_logger("taina.eval")

_NUMBER = re.compile(r"(?:RD\$\s?)?\d(?:[\d,.:\-]*\d)?")
_NAME = re.compile(
    r"\b(?:Dr|Dra|Lic|Doctor|Doctora|doctor|doctora)\.?\s+((?:[A-ZÁÉÍÓÚÑ][a-záéíóúñ]+)(?:\s+[A-ZÁÉÍÓÚÑ][a-záéíóúñ]+)*)"
)


def ungrounded(reply: str, evidence: str, own_words: str = "") -> list[str]:
    """The numbers and names in ``reply`` that ``evidence`` does not hold. A name is a doctor's name after its
    title, or any capitalised word that does not start a sentence or clause ("Tavárez", "Humano", "Blue Mall");
    ``own_words`` are the assistant's own (its name), which need no document."""
    evidence = re.sub(r"(?<=\d)[ .-](?=\d)", "", evidence) + "\n" + evidence  # "829 555 3030" as one number
    digits_in_evidence = {re.sub(r"\D", "", n) for n in _NUMBER.findall(evidence)}
    missing = []
    for number in _NUMBER.findall(reply):
        if number not in evidence and re.sub(r"\D", "", number) not in digits_in_evidence:
            missing.append(number)
    plain_evidence = f"{evidence}\n{own_words}".lower()
    for name in _NAME.findall(reply):
        missing += [word for word in name.split() if word.lower() not in plain_evidence]
    folded_evidence = _folded(plain_evidence)
    for word in _PROPER.findall(reply):
        # A caller's name read back with its accents restored ("Ramón" of "ramon") is still the caller's word: a
        # recogniser writes no accents. A doctor's name after its title must be the documents' own (above).
        if _folded(word) not in folded_evidence and word not in missing:
            missing.append(word)
    return missing


# A capitalised word inside a clause: not after the start, . : ; ¿ ¡ or a dash, nor a title's abbreviation.
_PROPER = re.compile(r"(?<![.:;¿¡—\n])(?<=[\w,)]\s)(?!(?:Dr|Dra|Lic|Av)\b)[A-ZÁÉÍÓÚÑ][\wáéíóúñ-]+")


@dataclass
class Turn:
    said: str
    reply: str
    actions: list[dict[str, Any]]
    sources: list[str]
    first_piece_ms: float
    turn_ms: float
    ungrounded: list[str] = field(default_factory=list)
    transcript: str | None = None  # audio mode: what the recognizer heard
    # text mode: what the turn retrieved, best first ({document_id, title, heading, similarity, text}), so a
    # wrong answer can be told apart: the fact not retrieved, or retrieved and another sentence read
    retrieved: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CaseResult:
    id: str
    kind: str  # question or conversation
    tags: list[str]
    passed: bool
    failures: list[str]
    turns: list[Turn]
    skipped: str = ""


@dataclass
class Report:
    suite: str
    model: str
    mode: str
    cases: list[CaseResult]
    budget: dict[str, float | None]
    appointments: Cleanup | None = None  # what the run wrote in the appointments system, and removed

    def latency(self) -> dict[str, dict[str, float]]:
        turns = [t for c in self.cases for t in c.turns]
        out: dict[str, dict[str, float]] = {}
        for key in ("first_piece_ms", "turn_ms"):
            values = sorted(getattr(t, key) for t in turns)
            if values:
                p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
                out[key] = {"p50": statistics.median(values), "p95": p95, "max": values[-1]}
        return out

    def over_budget(self) -> list[str]:
        measured = self.latency()
        return [
            f"{key} p95 {measured[key]['p95']:.0f} ms > {limit:.0f} ms"
            for key, limit in self.budget.items()
            if limit is not None and key in measured and measured[key]["p95"] > limit
        ]

    def violations(self) -> list[dict[str, Any]]:
        return [
            {"case": c.id, "turn": i, "reply": t.reply, "ungrounded": t.ungrounded}
            for c in self.cases
            for i, t in enumerate(c.turns)
            if t.ungrounded
        ]

    def scores(self) -> dict[str, Any]:
        run = [c for c in self.cases if not c.skipped]
        by_tag: dict[str, list[int]] = {}
        for case in run:
            for tag in case.tags or ["untagged"]:
                by_tag.setdefault(tag, [0, 0])
                by_tag[tag][0] += case.passed
                by_tag[tag][1] += 1
        return {
            "passed": sum(c.passed for c in run),
            "total": len(run),
            "skipped": len(self.cases) - len(run),
            "questions": [
                sum(c.passed for c in run if c.kind == "question"),
                sum(c.kind == "question" for c in run),
            ],
            "conversations": [
                sum(c.passed for c in run if c.kind == "conversation"),
                sum(c.kind == "conversation" for c in run),
            ],
            "by_tag": {tag: {"passed": p, "total": n} for tag, (p, n) in sorted(by_tag.items())},
            "grounding_violations": len(self.violations()),
            "latency_ms": self.latency(),
            "over_budget": self.over_budget(),
        }

    @property
    def ok(self) -> bool:
        run = [c for c in self.cases if not c.skipped]
        return all(c.passed for c in run) and not self.violations() and not self.over_budget()

    def as_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "model": self.model,
            "mode": self.mode,
            "ok": self.ok,
            "scores": self.scores(),
            "budget_ms": self.budget,
            "grounding_violations": self.violations(),
            "cases": [asdict(c) for c in self.cases],
        } | ({"appointments": self.appointments.as_json()} if self.appointments else {})

    def table(self) -> str:
        width = max([len(c.id) for c in self.cases] + [4])
        lines = [f"{'case':{width}}  kind          result  notes", "-" * (width + 40)]
        for case in self.cases:
            result = "skip" if case.skipped else "pass" if case.passed else "FAIL"
            notes = case.skipped or "; ".join(case.failures)
            lines.append(f"{case.id:{width}}  {case.kind:12}  {result:6}  {notes}"[:220])
        s = self.scores()
        lines.append("-" * (width + 40))
        lines.append(
            f"{self.suite} ({self.model}, {self.mode}): {s['passed']}/{s['total']} passed "
            f"(questions {s['questions'][0]}/{s['questions'][1]}, conversations {s['conversations'][0]}/"
            f"{s['conversations'][1]}), {s['grounding_violations']} grounding violations"
            + (f", {s['skipped']} skipped" if s["skipped"] else "")
        )
        for tag, score in s["by_tag"].items():
            lines.append(f"  {tag:20} {score['passed']}/{score['total']}")
        for key, values in s["latency_ms"].items():
            limit = self.budget.get(key)
            lines.append(
                f"  {key:20} p50 {values['p50']:.0f}  p95 {values['p95']:.0f}  max {values['max']:.0f} ms"
                + (f"  (budget p95 {limit:.0f})" if limit else "")
            )
        lines += [f"  OVER BUDGET: {line}" for line in s["over_budget"]]
        if self.appointments:
            lines.append(self.appointments.line())
        return "\n".join(lines)

    def html(self) -> str:
        e = html.escape
        s = self.scores()
        rows = []
        for case in self.cases:
            result = "skip" if case.skipped else "pass" if case.passed else "FAIL"
            turns = "".join(
                f"<li><b>{e(t.said)}</b><br>{e(t.reply)}"
                + (f"<br><i>heard: {e(t.transcript)}</i>" if t.transcript is not None else "")
                + (
                    f"<br><span class=bad>not in the documents: {e(', '.join(t.ungrounded))}</span>"
                    if t.ungrounded
                    else ""
                )
                + f"<br><small>{t.first_piece_ms:.0f} / {t.turn_ms:.0f} ms; tools: "
                f"{e(', '.join(a['tool'] for a in t.actions)) or '-'}; sources: {e(', '.join(t.sources)) or '-'}</small>"
                + (
                    "<details><summary>retrieved</summary><ol>"
                    + "".join(
                        f"<li><b>{e(r['title'])}</b> {e(r['heading'])}"
                        + (f" ({r['similarity']:.2f})" if r["similarity"] is not None else "")
                        + f"<br><small>{e(r['text'])}</small></li>"
                        for r in t.retrieved
                    )
                    + "</ol></details>"
                    if t.retrieved
                    else ""
                )
                + "</li>"
                for t in case.turns
            )
            rows.append(
                f"<tr class={result.lower()}><td>{e(case.id)}</td><td>{case.kind}</td><td>{result}</td>"
                f"<td>{e(case.skipped or '; '.join(case.failures))}<ol>{turns}</ol></td></tr>"
            )
        latency = "".join(
            f"<li>{k}: p50 {v['p50']:.0f}, p95 {v['p95']:.0f}, max {v['max']:.0f} ms</li>"
            for k, v in s["latency_ms"].items()
        )
        return (
            "<!doctype html><meta charset=utf-8><title>TAINA eval</title><style>body{font-family:sans-serif}"
            "td{vertical-align:top;border-top:1px solid #ccc;padding:4px}.fail td:nth-child(3),.bad{color:#b00}"
            ".pass td:nth-child(3){color:#070}</style>"
            f"<h1>{e(self.suite)}</h1><p>{e(self.model)}, {self.mode}: <b>{s['passed']}/{s['total']}</b> passed, "
            f"{s['grounding_violations']} grounding violations</p><ul>{latency}</ul>"
            + (f"<p>{e(self.appointments.line())}</p>" if self.appointments else "")
            + f"<table><tr><th>case<th>kind<th>result<th>turns</tr>{''.join(rows)}</table>"
        )


def _matches(patterns: tuple[str, ...], text: str) -> list[str]:
    return [p for p in patterns if re.search(p, text, re.IGNORECASE)]


def _evidence(reply: Reply, said_so_far: list[str]) -> str:
    """The turn's passages, then the conversation's tool results and the caller's words (kept in ``said_so_far``,
    which this extends with the turn's tool results: a booking's read-back quotes an earlier turn's slot)."""
    said_so_far += [json.dumps(a.as_json(), ensure_ascii=False) for a in reply.actions]
    return "\n".join([f"{p.title} {p.heading} {p.text}" for p in reply.passages] + said_so_far)


async def _text_turn(app: App, dialogue: Any, said: str, said_so_far: list[str]) -> Turn:
    started = time.perf_counter()
    first: float | None = None
    reply = dialogue.reply(said)
    async for _piece in reply:
        if first is None:
            first = time.perf_counter()
    ended = time.perf_counter()
    return Turn(
        said,
        reply.text,
        [a.as_json() for a in reply.actions],
        list(reply.sources),
        ((first or ended) - started) * 1000,
        (ended - started) * 1000,
        ungrounded(reply.text, _evidence(reply, said_so_far), app.assistant.identity.assistant),
        retrieved=[
            {
                "document_id": p.document_id,
                "title": p.title,
                "heading": p.heading,
                "similarity": p.similarity,
                "text": p.text,
            }
            for p in reply.passages
        ],
    )


async def _audio_turn(app: App, said: str) -> Turn:
    import numpy as np

    from adapters.espeak_tts import EspeakEngine, EspeakSettings
    from adapters.wavfile import read_wav, write_wav
    from engine.resample import resample
    from taina.converse import converse

    engine = EspeakEngine(EspeakSettings(rate=150))
    rate = 16_000
    samples = resample(engine.synthesize_now(said), engine.sample_rate, rate)
    pause = np.zeros(rate // 2, dtype=np.int16)
    with tempfile.TemporaryDirectory() as folder:
        spoken = Path(folder) / "caller.wav"
        write_wav(spoken, np.concatenate([pause, samples, pause, pause, pause, pause, pause, pause]), rate)
        started = time.perf_counter()
        result = await converse(app, read_wav(spoken), Path(folder) / "reply.wav", name=said)
        ended = time.perf_counter()
    timings = result.record.timings_ms
    first = timings.get("first_audio", (ended - started) * 1000)
    return Turn(
        said,
        result.record.reply,
        [a.as_json() for a in result.record.actions],
        list(result.record.sources),
        first,
        (ended - started) * 1000,
        [],  # the passages are not kept by the voice session: grounding is checked in text mode
        transcript=result.record.transcript,
    )


def _appointment(actions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The appointment the conversation's last write left (booked, moved or cancelled)."""
    for action in reversed(actions):
        if action["tool"] not in ("book_appointment", "reschedule_appointment", "cancel_appointment"):
            continue
        for value in action["result"].values():
            if isinstance(value, dict) and "appointment_id" in value:
                return value
    return None


def _field_matches(key: str, expected: str, actual: object) -> bool:
    """A field as expected: a patient's name with the same letters, accents and capitals aside (a recogniser does
    not hear "María" apart from "maria"); a phone with the same digits however it is written; any other field the
    same text, or starting with it (a time carries its offset after it)."""
    text = str(actual)
    if key == "patient_name":
        return _folded(text) == _folded(expected)
    if key == "patient_phone":
        digits = re.sub(r"\D", "", expected)
        return bool(digits) and digits == re.sub(r"\D", "", text)
    return text == expected or text.startswith(expected)


def _folded(name: str) -> str:
    letters = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(c for c in letters if not unicodedata.combining(c)).split())


_SENTENCE_END = re.compile(r"(?:(?<=[a-záéíóúñ]{4}[.!?])|(?<=\d[.!?]))\s+")


def _question(reply: str) -> str:
    """The question a reply ends on, as a key: its last question, with the sentence before it when the question
    is a bare "¿Le sirve?" or "¿Está correcto?" (then what is offered or read back is the question)."""
    sentences = [s for s in _SENTENCE_END.split(reply.strip()) if s]
    asking = [i for i, sentence in enumerate(sentences) if "?" in sentence]
    if not asking:
        return ""
    last = asking[-1]
    question = sentences[last][sentences[last].find("¿") :] if "¿" in sentences[last] else sentences[last]
    if len(question.split()) <= 3 and last > 0:
        question = f"{sentences[last - 1]} {question}"
    return " ".join(re.findall(r"\w+", question.lower()))


def asked_twice(turns: list[Turn]) -> list[str]:
    """Questions the assistant asked again after the caller had answered them. A question asked again right
    after the caller asked something of their own is the conversation going on where it was, not a repeat."""
    first: dict[str, int] = {}
    repeats = []
    for i, turn in enumerate(turns):
        question = _question(turn.reply)
        if not question:
            continue
        if question in first and not re.search(r"[¿?]", turn.said):
            repeats.append(f"asked twice (turns {first[question] + 1} and {i + 1}): {question!r}")
        first.setdefault(question, i)
    return repeats


async def run_question(app: App, question: Question, audio: bool) -> CaseResult:
    if audio:
        turn = await _audio_turn(app, question.ask)
    else:
        from taina.app import new_session_id

        dialogue = app.assistant.dialogue(new_session_id())
        turn = await _text_turn(app, dialogue, question.ask, [question.ask])
    failures = [f"missing {p!r}" for p in question.expect if not _matches((p,), turn.reply)]
    failures += [f"said {p!r}" for p in _matches(question.forbid, turn.reply)]
    failures += [f"not in the documents: {', '.join(turn.ungrounded)}"] if turn.ungrounded else []
    return CaseResult(question.id, "question", list(question.tags), not failures, failures, [turn])


async def run_conversation(app: App, conversation: Conversation, audio: bool) -> CaseResult:
    if audio:
        return CaseResult(
            conversation.id, "conversation", list(conversation.tags), False, [], [],
            skipped="conversations over several turns run in text mode only",
        )  # fmt: skip
    from taina.app import new_session_id

    failures: list[str] = []
    if conversation.before:  # the caller's earlier call, in its own session: it must have booked
        earlier = app.assistant.dialogue(new_session_id())
        written = [
            t for line in conversation.before for t in (await _text_turn(app, earlier, line, [line])).actions
        ]
        if _appointment(written) is None:
            failures.append("the earlier call (before) booked nothing")
    dialogue = app.assistant.dialogue(new_session_id())
    turns: list[Turn] = []
    said: list[str] = []
    for line in conversation.turns:
        said += [line, spoken_as_digits(line)]  # a phone read back was said in words: "ocho cero nueve, ..."
        turns.append(await _text_turn(app, dialogue, line, said))
    tools = [a["tool"] for t in turns for a in t.actions]
    position = 0
    for wanted in conversation.expect_tools:
        try:
            position = tools.index(wanted, position) + 1
        except ValueError:
            failures.append(f"no {wanted} call in order (calls: {', '.join(tools) or 'none'})")
            break
    if conversation.expect_appointment:
        appointment = _appointment([a for t in turns for a in t.actions])
        if appointment is None:
            failures.append("no appointment booked or moved")
        else:
            failures += [
                f"appointment {key} is {appointment.get(key)!r}, expected {value!r}"
                for key, value in conversation.expect_appointment.items()
                if not _field_matches(key, value, appointment.get(key))
            ]
    if conversation.no_repeat:
        failures += asked_twice(turns)
    last = turns[-1].reply
    failures += [f"last reply misses {p!r}" for p in conversation.expect if not _matches((p,), last)]
    failures += [f"said {p!r}" for t in turns for p in _matches(conversation.forbid, t.reply)]
    failures += [
        f"turn {i + 1} not in the documents: {', '.join(t.ungrounded)}"
        for i, t in enumerate(turns)
        if t.ungrounded
    ]
    return CaseResult(conversation.id, "conversation", list(conversation.tags), not failures, failures, turns)


async def run_suite(app: App, suite: Suite, audio: bool = False, live_appointments: bool = False) -> Report:
    """Every case in turn, with the appointments the run writes removed at its end whatever happens (an
    exception, a cancellation as Ctrl-C makes): the agenda is left as it was, so the next run sees the same free
    slots. An external appointments system is written to only with ``live_appointments``."""
    backend = app.backend
    recorder: RunAppointments | None = None
    if backend is not None:
        external = not isinstance(backend.appointments, BuiltInAppointments)
        recorder = RunAppointments(backend.appointments, writes=live_appointments or not external)
        backend.appointments = recorder  # the dialogues opened from now on book through it
    try:
        cases = [await run_question(app, q, audio) for q in suite.questions]
        cases += [await run_conversation(app, c, audio) for c in suite.conversations]
    except BaseException:
        if backend is not None and recorder is not None:
            undone = await _undo(backend, recorder)
            log.warning("eval.stopped", appointments=undone.line())
        raise
    cleanup = await _undo(backend, recorder) if backend is not None and recorder is not None else None
    budget = {"first_piece_ms": suite.latency.first_piece_ms, "turn_ms": suite.latency.turn_ms}
    mode = "audio" if audio else "text"
    return Report(suite.name, app.assistant.language_model, mode, cases, budget, cleanup)


async def _undo(backend: Backend, recorder: RunAppointments) -> Cleanup:
    backend.appointments = recorder.inner
    return await recorder.undo()
