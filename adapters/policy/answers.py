"""A short spoken answer made of the documents' own sentences, or None when they do not answer the question.

Nothing is generated: the answer is the one or two retrieved sentences that best match the question, so a
price, a schedule or a doctor's name is always the document's. e5 similarities sit in a narrow band (an
unrelated question still scores about 0.8), so "good enough" also needs the sentence (with its heading) to
hold most of the question's content words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import snowballstemmer

from adapters.policy.when import plain
from engine.chunking import sentences
from engine.ports.knowledge import Passage

STOPWORDS = frozenset(
    """de la que el en y a los del se las por un para con no una su al lo como mas pero sus le ya o este si
    porque esta entre cuando muy sin sobre tambien me hasta hay donde quien desde todo nos durante todos uno les
    ni contra otros ese eso ante ellos e esto mi antes algunos que unos yo otro otras otra el tanto esa estos
    mucho quienes nada muchos cual poco ella estar estas algunas algo nosotros tienen tiene tengo hacer hacen
    puedo puede pueden quiero quisiera saber cuanto cuanta cuantos cuesta hora horas usted ustedes ahi alli
    aqui hola buenas dias favor gracias necesito queria tener tiene seria sera son es era fue ser hace hoy
    ahora algun alguna cual cuales trabajan trabajar""".split()  # noqa: SIM905
)
_WORD = re.compile(r"[a-z0-9]{3,}")
SURE_SIMILARITY = 0.86  # above this the passage answers even without shared words
MIN_SIMILARITY = 0.80  # below this nothing answers
MIN_COVERAGE = 0.6  # share of the question's content words the sentence (or its heading) must contain
MAX_WORDS = 45  # a spoken answer is one or two sentences, not a table read aloud


@dataclass(frozen=True)
class Answer:
    text: str
    document_ids: tuple[str, ...]


_STEMMER = snowballstemmer.stemmer("spanish")


def _stems(text: str) -> set[str]:
    """Snowball Spanish stems of the content words ("llego", "llegar" -> "lleg")."""
    return set(_STEMMER.stemWords([w for w in _WORD.findall(plain(text)) if w not in STOPWORDS]))


def compose_answer(question: str, passages: list[Passage], most_sentences: int = 2) -> Answer | None:
    asked = _stems(question)
    best: tuple[float, str, Passage] | None = None
    candidates: list[tuple[float, str, Passage]] = []
    for passage in passages:
        similarity = passage.similarity or 0.0
        if similarity < MIN_SIMILARITY:
            continue
        heading = _stems(passage.heading)
        for sentence in sentences(passage.text):
            words = _stems(sentence)
            coverage = len(asked & (words | heading)) / len(asked) if asked else 0.0
            if coverage < MIN_COVERAGE and similarity < SURE_SIMILARITY:
                continue
            score = similarity + 0.05 * len(asked & words) + 0.02 * coverage
            candidates.append((score, sentence.strip(), passage))
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[0], reverse=True)
    best = candidates[0]
    chosen = [best]
    for candidate in candidates[1:]:
        if len(chosen) >= most_sentences:
            break
        same_passage = candidate[2] is best[2]
        if same_passage and candidate[1] != best[1] and candidate[0] >= best[0] - 0.05:
            chosen.append(candidate)
    # Keep the document's order for the sentences of one passage.
    order = {sentence: i for i, sentence in enumerate(sentences(best[2].text))}
    chosen.sort(key=lambda c: order.get(c[1], 0))
    if len(chosen) > 1 and sum(len(c[1].split()) for c in chosen) > MAX_WORDS:
        chosen = [best]
    text = _shorten(" ".join(c[1] for c in chosen))
    return Answer(text, tuple(dict.fromkeys(c[2].document_id for c in chosen)))


def _shorten(text: str) -> str:
    """A spoken answer stays short: past MAX_WORDS, cut at the last clause boundary (; — ,) before the limit."""
    words = text.split()
    if len(words) <= MAX_WORDS:
        return text
    head = " ".join(words[:MAX_WORDS])
    cut = max(head.rfind(";"), head.rfind(" —"), head.rfind(","))
    return (head[:cut] if cut > len(head) // 3 else head).rstrip(" ,;—") + "."
