"""A short spoken answer made of the documents' own sentences, or None when they do not answer the question.

Nothing is generated: the answer is the one or two retrieved sentences that name what the caller asks about (the
service, doctor, site or insurer: the question's content words, in the documents' words) and hold a value of the
kind asked for (a price, a time, a place, a phone, a person, a preparation; adapters/policy/answer_types.py).
"¿Cuánto cuesta el cardiólogo?" gets the cardiology price line, not the cardiologist's schedule.

When the documents do not say (no price line names the service, or the question names something no retrieved
passage mentions), the answer says so first, then offers the nearest thing they do say, never another service's
price. A leading "Sí," of a sentence that does not cover the whole question is dropped, so "¿vacunan en
Santiago?" does not hear a yes about Santo Domingo.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, replace

from adapters.lexicon import without_the_other
from adapters.policy.answer_types import (
    RELATED,
    AnswerType,
    answer_type,
    asks_clock,
    has_clock,
    has_value,
    normalise,
)
from adapters.policy.names import KINDS, names
from adapters.policy.polarity import denies, lacks, only_elsewhere, says_no_of, says_yes_or_no
from adapters.policy.price_lines import price_lines
from adapters.policy.table_rows import DAY, contact_rows, is_label, schedule_rows
from adapters.policy.when import plain
from adapters.policy.words import (
    TYPE_WORDS,
    WHERE,
    WORD,
    alternatives,
    doings_in,
    found_in,
    generic,
    in_a_row,
    ordered_stems,
    repaired,
    run_of,
    same_word,
    stem_word,
    stems,
)
from engine.ports.knowledge import Passage

TYPE_WEIGHT = 0.6  # a type word ("teléfono", "consulta") in the sentence counts, less than a topic word
MIN_SIMILARITY = 0.80  # passages below this cosine similarity are not read
MIN_COVERAGE = 0.5  # share of what is asked about that the sentence (or its heading) must name
SECOND_WITHIN = 0.7  # a second sentence of the same passage scores at least this close to the best
MAX_WORDS = 45
NAMED = 1.0  # a sentence that holds a name the caller said ("ARS Futuro") is about what was asked
PRICE_LINE = 1.5  # a price list's line, for a question that asks no price
OTHER_SECTION = 1.5  # a sentence under a section beside the one the caller named
POLARITY = 1.0  # a sentence that says "sin cita", "no tiene emergencia": the answer to a yes-or-no question
NOT_IN_PRICES = "Ese precio no aparece en mis documentos."
NOT_EXACT = "Sobre eso en concreto no tengo información exacta."  # not "No ...": heard as the answer to a yes-or-no question
NEAREST = "Lo más cercano que tengo:"
WHICH_PRICE = "¿De qué consulta o estudio quiere saber el precio?"

# A place named as a landmark on the way ("frente a la farmacia Carol", "a dos cuadras de la plaza Blue Mall") is
# not something the clinic has: its words answer where, not "¿tienen farmacia?".
_LANDMARK = re.compile(
    r"\b(?:frente (?:a|al)|al lado (?:de|del)|junto (?:a|al)|cerca (?:de|del)|detras (?:de|del)|"
    r"a (?:\w+ )?(?:cuadras?|pasos|metros) (?:de|del))\s+(?:la |el |los |las )?((?:[a-z]+ ?){1,3})"
)


@dataclass(frozen=True)
class Answer:
    text: str
    document_ids: tuple[str, ...]


@dataclass(frozen=True)
class _Candidate:
    score: float
    sentence: str
    passage: Passage
    position: int
    coverage: float
    valued: bool
    said_itself: float = (
        0.0  # the share of what was asked that the sentence's own words name (not its heading)
    )


def _asked(question: str) -> tuple[dict[str, float], set[str]]:
    """What the question asks about: {stem: weight} (type words weigh less), and the stems that stand for a
    family of the documents' words (a child: "pediatr")."""
    normal = normalise(plain(question), also=False)
    weights: dict[str, float] = {}
    for stem in stems(normal):
        weights[stem] = TYPE_WEIGHT if any(same_word(stem, t) for t in TYPE_WORDS) else 1.0
    related = {alias for word in normal.split() for alias in RELATED.get(word, ())}
    return weights, related


def compose_answer(
    question: str, passages: list[Passage], most_sentences: int = 2, context: str = ""
) -> Answer | None:
    """``context`` is what the conversation is about (the service being booked): a question that names nothing
    ("¿y cuánto cuesta?") is about it."""
    question = without_the_other(question)  # "el de Santiago, no el de la capital": not the capital's
    weights, related = _asked(question)
    if context and not any(weight == 1.0 for weight in weights.values()) and not related:
        question = f"{question} {context}"
        weights, related = _asked(question)
    kind: AnswerType = answer_type(normalise(plain(question)))
    clock = asks_clock(plain(question))
    address = bool(_ASKS_ADDRESS.search(plain(question)))  # "¿dónde queda?": the street address first
    topic = {stem: weight for stem, weight in weights.items() if weight == 1.0} or dict(weights)
    if not topic:
        if kind == "price":  # "información sobre los precios": what the price list says of itself, then which
            return _price_overview(passages)
        return None  # nothing asked about that a document could name ("¿cómo está el tiempo hoy?")
    total = sum(topic.values())
    usable = [p for p in passages if p.similarity is None or p.similarity >= MIN_SIMILARITY]
    units = [(p, i, s, _content(s, kind)) for p in usable for i, s in enumerate(repaired(p.text))]
    headings = {id(p): stems(f"{p.title} {p.heading}") for p in usable}
    vocabulary = frozenset().union(*(u[3] for u in units), *headings.values())
    others = alternatives(question)
    # "Sede Santo Domingo (Piantini)": Piantini is Santo Domingo
    for stem, aliases in _aliases(usable).items():
        if stem in weights:
            others[stem] = others.get(stem, frozenset()) | aliases
    same = {
        stem: frozenset(w for w in vocabulary if any(same_word(s, w) for s in (stem, *others.get(stem, ()))))
        for stem in weights
    }
    foreign, holders = _names_held(question, [u[2] for u in units])
    for stem in foreign & set(same):  # "la ARS Reservas": "reservar" in a document is not its name
        same[stem] = frozenset()
    if kind == "price" and not foreign and not _INSURED.search(plain(question)):
        # "¿cuánto cobra la doctora Batista?": the price of a visit in her specialty, as the doctors' list gives
        # it (not of "un parto con la doctora Cabral")
        said = [*ordered_stems(normalise(plain(question))), *sorted(related)]
        own = ordered_stems(normalise(plain(question), also=False))
        lines = price_lines(said, own, [u[2] for u in units], ordered_stems, same_word, generic)
        visit = re.search(r"\b(?:consulta|cobra|cobran|cobrar)\b", plain(question))
        seen_by = " ".join(_specialties_of(question, [u[2] for u in units])) if visit and not lines else ""
        if seen_by:  # nothing priced by the question's own words: the visit of the doctor's specialty
            said += ordered_stems(normalise(plain(seen_by)))
            own += ordered_stems(normalise(plain(seen_by), also=False))
            lines = price_lines(said, own, [u[2] for u in units], ordered_stems, same_word, generic)
        if lines:
            return Answer(
                _shorten(" ".join(line.sentence for line in lines)),
                tuple(dict.fromkeys(units[line.index][0].document_id for line in lines)),
            )
    if kind in ("schedule", "contact") and not foreign:
        # A row is named by the caller's words (their own first), not a family; a site by any of its names.
        own = ordered_stems(normalise(plain(question), also=False))
        said = ordered_stems(normalise(plain(question)))
        other_names = _aliases(usable)
        said += [alias for stem in said for alias in sorted(other_names.get(stem, ()))]
        table = [(u[2], f"{u[0].title} {u[0].heading}") for u in units]
        if kind == "contact":
            rows = contact_rows(said, own, table, ordered_stems, same_word)
        else:
            rows = schedule_rows(question, said, own, table, ordered_stems, same_word)
    else:
        rows = []
    unknown = [stem for stem in topic if not same[stem]]
    family = bool(related) and any(w.startswith(alias) for alias in related for w in vocabulary)
    if all(stem in WHERE for stem in topic if same[stem]) and (unknown or kind == "other") and not family:
        return None  # only a city (or no word at all) in common with the documents
    # Words no retrieved passage holds are the caller's story ("me lastimé el tobillo jugando básquet") or
    # something the documents do not have ("un dentista"): together they count as one word, so a story does not
    # hide the answer, and a question about nothing else the documents hold is still mostly unknown.
    story = min(1.0, sum(topic[s] for s in unknown))
    total = total - sum(topic[s] for s in unknown) + story
    # What the caller did or does ("contestan", "conectarse", "jugando") is their story, not the thing asked
    # about: only the other unknown words can make the question one about something the documents lack.
    doings = doings_in(question)
    things = min(1.0, sum(topic[s] for s in unknown if s not in doings))
    asked_for = (
        len(topic) - len(unknown) + min(1, len([s for s in unknown if s not in doings or s in foreign]))
    )
    mostly_unknown = bool(foreign & set(topic)) or (bool(total) and bool(things) and things >= total / 2)
    # A word few sentences hold says more about which one is meant ("futuro" beats "estudios").
    for stem in topic:
        held = sum(bool(same[stem] & unit[3]) for unit in units)
        weights[stem] = topic[stem] = 1.0 + (1.0 / held if held else 0.0)
    elsewhere = _sibling_sections(usable, topic, same)
    candidates: dict[str, _Candidate] = {}
    coverage_of: dict[str, float] = {}  # every sentence's, a candidate or not (a row found by its label)
    for at, (passage, position, sentence, words) in enumerate(units):
        heading = headings[id(passage)]
        score, covered, itself = 0.0, 0, 0
        every_site = bool(_EVERY_SITE.search(plain(sentence)))
        for stem, weight in weights.items():
            if same[stem] & words:
                score, covered, itself = score + weight, covered + (stem in topic), itself + (stem in topic)
            elif same[stem] & heading or (every_site and stem in WHERE):
                score, covered = score + 0.6 * weight, covered + (stem in topic)
        if related and any(w.startswith(alias) for alias in related for w in words | heading):
            score, covered = score + 1.0, covered + 1
        coverage = min(1.0, covered / asked_for) if topic else 1.0
        coverage_of[sentence.strip()] = max(coverage, coverage_of.get(sentence.strip(), 0.0))
        if coverage < MIN_COVERAGE or (topic and not covered):
            continue
        flat = plain(sentence)
        valued = has_value(kind, flat)
        score += (1.5 if valued else 0.0) + (1.0 if clock and has_clock(flat) else 0.0)
        score += 1.0 if address and _ADDRESS.search(flat) else 0.0
        score += 2 * ((passage.similarity or MIN_SIMILARITY) - MIN_SIMILARITY)
        score -= 0.3 if len(sentence.split()) > 35 else 0.0
        score += NAMED if at in holders else 0.0
        if kind != "price" and _LABEL.match(sentence) and has_value("price", flat):
            score -= PRICE_LINE  # "Prueba de embarazo en sangre: RD$700." answers no "¿hay que hacer cita?"
        if kind == "yesno" and says_yes_or_no(flat, topic, same):
            score += POLARITY  # "La toma de muestras es por orden de llegada, sin cita."
        if id(passage) in elsewhere:
            score -= OTHER_SECTION
        if kind in ("place", "schedule") and lacks(flat, topic, same):
            score -= POLARITY  # "¿dónde está la emergencia?": not "La sede de Santiago no tiene emergencia"
        text = sentence.strip()
        if text not in candidates or candidates[text].score < score:
            said_itself = min(1.0, itself / asked_for) if topic else 1.0
            candidates[text] = _Candidate(score, text, passage, position, coverage, valued, said_itself)
    ranked = sorted(candidates.values(), key=lambda c: c.score, reverse=True)
    if foreign & set(
        topic
    ):  # nothing about another named thing ("ARS Futuro: ...") or the name's common word
        ranked = [
            c
            for c in ranked
            if not _LABEL.match(c.sentence) and not any(found_in(f, stems(c.sentence)) for f in foreign)
        ]
    if rows:
        # A table's row, unless a sentence with a value of the kind asked names more of what was asked ("¿a qué
        # número llamo si tengo una urgencia en Santiago?": the sentence about urgencies there, not the phone row),
        # in its own words ("Centro" in the heading of "Servicios ... del Centro Médico" does not count);
        # another row, whose label the caller did not name, does not count ("Laboratorio: lunes a sábado" for
        # the consultations on a Saturday).
        chosen_rows = {r.sentence for r in rows}
        fullest = max(
            (
                c.coverage if c.sentence in chosen_rows else c.said_itself
                for c in ranked
                if c.valued and (c.sentence in chosen_rows or not _is_row(c.sentence))
            ),
            default=0.0,
        )
        row_coverage = max((coverage_of.get(r.sentence, 0.0) for r in rows), default=0.0)
        if row_coverage >= fullest:
            said_rows = [row.sentence for row in rows]
            if all(row.closed for row in rows):  # "No." and what the table says of that day, if it does
                said_rows = ["No.", *said_rows, *_of_the_day(question, units[rows[0].index][0], said_rows)]
            return Answer(
                _shorten(" ".join(said_rows)),
                tuple(dict.fromkeys(units[row.index][0].document_id for row in rows)),
            )
    sentence_at = {(id(u[0]), u[1]): u[2] for u in units}
    if kind == "price":
        return _price(ranked, topic, mostly_unknown, bool(foreign & set(topic)), sentence_at)
    if mostly_unknown:  # what is asked about is mostly in no retrieved passage: no figure, only what is near
        ranked = [c for c in ranked if c.coverage >= 1.0 or not re.search(r"\d", c.sentence)]
    if not ranked:
        return None
    # A sentence with a value of the kind asked comes first; among those, one that names all that was asked
    # ("la de Piantini": the Santo Domingo parking, not the Santiago one with "al frente" in it).
    fullest = max(c.coverage for c in ranked)
    with_value = sorted((c for c in ranked if c.valued), key=lambda c: c.coverage < fullest)
    best = with_value[0] if with_value and kind not in ("yesno", "other") else ranked[0]
    chosen = _with_second(best, with_value if best.valued else ranked, most_sentences)
    chosen = _with_what_it_adds_to(chosen, sentence_at, topic, same)
    if len(chosen) == 1 and re.fullmatch(r"(?:S[ií]|No)[.!]?", chosen[0].sentence.strip()):
        after = sentence_at.get((id(chosen[0].passage), chosen[0].position + 1))  # "Sí." says nothing alone
        if after is not None:
            chosen = [*chosen, replace(chosen[0], sentence=after.strip(), position=chosen[0].position + 1)]
    last = chosen[-1]
    after = sentence_at.get((id(last.passage), last.position + 1))
    if (  # "No tenemos acuerdo con ARS Senasa subsidiado." "En esos casos el paciente paga la tarifa privada."
        after is not None
        and _GOES_ON.match(after.strip())
        and all(c.sentence != after.strip() for c in chosen)
        and sum(len(c.sentence.split()) for c in chosen) + len(after.split()) <= MAX_WORDS
    ):
        chosen = [*chosen, replace(last, sentence=after.strip(), position=last.position + 1)]
    text = " ".join(
        _spoken(c.sentence, c.coverage < 1.0 or bool(unknown) or denies(c.sentence, kind, weights, same))
        for c in chosen
    )
    if kind in ("yesno", "other") and (
        any(only_elsewhere(c.sentence, topic) for c in chosen)
        or (kind == "yesno" and says_no_of(chosen[0].sentence, question, topic, same))
    ):
        text = f"No. {text}"
    elif kind in ("schedule", "preparation") and says_no_of(chosen[0].sentence, question, topic, same):
        text = f"No. {text}"  # "¿abren los domingos?", "¿me puedo tomar un refresco?" ask yes or no
    elif (mostly_unknown and best.coverage < 1.0) or (
        not with_value and _ASKS_NAME_OR_NUMBER.search(plain(question))
    ):
        # ("¿cómo se llama el neurólogo?" and no doctor of it named: the nearest, said as such)
        text = f"{NOT_EXACT} {NEAREST} {text}"
    return Answer(_shorten(text), tuple(dict.fromkeys(c.passage.document_id for c in chosen)))


# "Se ofrece en las dos sedes" says it of Santiago and of Santo Domingo.
_EVERY_SITE = re.compile(r"\b(?:(?:las|sus|nuestras) dos sedes|ambas sedes|todas las sedes|cualquier sede)\b")
# Asking for a name or a number outright: what the documents do not give is not to be passed off by a near sentence.
_ASKS_NAME_OR_NUMBER = re.compile(
    r"\bcomo se llama\w*|\b(?:cual|cuales) (?:es|e|son) (?:el|su|los|sus) (?:nombres?|numeros?|telefonos?|correo)\b"
    r"|\b(?:que|a que) (?:numero|telefono|correo)\b"
)
_DOCTOR_LINE = re.compile(r"^(?:Dr|Dra|Lic|Licda?)\.\s+([^,:]+),\s+([^:]+):")


def _specialties_of(question: str, sentences: list[str]) -> list[str]:
    """The specialties the doctors' list gives the doctors the caller names by a name of theirs ("Dr. Rafael
    Almonte Peña, cardiólogo: ..." for "el dotol Almonte")."""
    flat = plain(question)
    said = set(flat.split())
    if not _A_TITLE.search(flat):
        return []  # "la sede de la Mejía Ricart" names a street, not the doctor Mejía
    found = []
    for sentence in sentences:
        match = _DOCTOR_LINE.match(sentence.strip())
        if match and any(len(w) >= 4 and w in said for w in plain(match.group(1)).split()):
            found.append(match.group(2))
    return found


_A_TITLE = re.compile(r"\b(?:doctor|doctora|dr|dra|dotol|licenciad[oa]|lic|licda)\b")


def _sibling_sections(
    passages: list[Passage], topic: dict[str, float], same: dict[str, frozenset[str]]
) -> set[int]:
    """The passages under another section of a document one of whose sections the caller named: asked about the
    colonoscopy, "Preparación para estudios — Sonografía abdominal" is about something else, however many words
    its sentences share with the question ("el día antes", "comer")."""
    sections = {id(p): stems(p.heading) - stems(p.title) for p in passages}
    named = {p.title for p in passages if any(same[stem] & sections[id(p)] for stem in topic)}
    return {
        id(p)
        for p in passages
        if p.title in named and not any(same[stem] & sections[id(p)] for stem in topic)
    }


@functools.lru_cache(maxsize=16384)
def _content(sentence: str, kind: AnswerType) -> frozenset[str]:
    """The sentence's content stems; unless the caller asks where, without the places it names as landmarks."""
    words = stems(sentence)
    if kind == "place":
        return words
    landmarks = [stems(m.group(1)) for m in _LANDMARK.finditer(plain(sentence))]
    return words.difference(*landmarks) if landmarks else words


def _names_held(question: str, sentences: list[str]) -> tuple[set[str], set[int]]:
    """The names in ``question`` ("ARS Futuro", "ARS Reservas", "Banco Popular"), looked for in ``sentences``
    as their words in a row: (the stems of those no sentence holds: foreign; a kind of organisation, like
    "ARS", is not part of what is foreign), (the positions of the sentences that hold one)."""
    foreign: set[str] = set()
    holders: set[int] = set()
    asked = names(question)
    if not asked:
        return foreign, holders
    runs = [run_of(s) for s in sentences]
    for name in asked:
        words = [stem_word(w) for w in name if WORD.fullmatch(w)]
        holding = {i for i, run in enumerate(runs) if words and in_a_row(words, run)}
        if not stems(" ".join(name)) <= WHERE:  # a city's name says where, not what ("Santo Domingo")
            holders |= holding
        if words and not holding:
            own = name[1:] if re.fullmatch(KINDS, name[0]) else name
            foreign |= stems(" ".join(own))
    return foreign, holders


_LABEL = re.compile(r"^([^:]{3,80}):\s")
# "¿cuánto cuesta con seguro?": the list's prices are without insurance; what the insured pay is elsewhere.
_ALIAS = re.compile(r"([^—(]+?)\s*\(([^)]+)\)")


def _aliases(passages: list[Passage]) -> dict[str, frozenset[str]]:
    """Other names the documents give a thing in their headings, "Sede Santo Domingo (Piantini)": the stems of
    each name, by the other's (both ways), without the words several such names share ("sede")."""
    pairs = {
        (stems(match.group(1)), stems(match.group(2)))
        for passage in passages
        for match in _ALIAS.finditer(f"{passage.title} — {passage.heading}")
    }
    counts = Counter(stem for one, other in pairs for stem in one | other)
    shared = {stem for stem, count in counts.items() if count > 1 and len(pairs) > 1}
    found: dict[str, set[str]] = {}
    for one, other in pairs:
        one, other = one - other - shared, other - one - shared
        for stem in one:
            found.setdefault(stem, set()).update(other)
        for stem in other:
            found.setdefault(stem, set()).update(one)
    return {stem: frozenset(names) for stem, names in found.items() if names}


def _is_row(sentence: str) -> bool:
    """A table's row: a short label, a colon, its value ("Laboratorio: lunes a sábado ...")."""
    label = _LABEL.match(sentence)
    return label is not None and is_label(label.group(1))


_INSURED = re.compile(r"\bcon (?:el |mi |su )?(?:seguro|ars|plan)\b")
_ASKS_ADDRESS = re.compile(
    r"\b(donde (?:e |es |esta |ta )?(?:que )?queda\w*|direccion|ubicad[oa]s?|ubicacion|cerca de (?:que|donde)|"
    r"que (?:hay|queda) cerca)\b"
)
_ADDRESS = re.compile(r"^direccion:|\bav\.|\bavenida\b|\bcalle\b|\bnum\.|\besquina\b")


def _names_what_was_asked(sentence: str, topic: dict[str, float]) -> bool:
    """A price line ("Sonografía abdominal: RD$2,800.") is for what was asked unless its label and the question
    each name something the other does not: "sonografía pélvica" is not "sonografía abdominal", but
    "ginecología" is "ginecología y obstetricia" and "endocrinología, para la diabetes" is "endocrinología"."""
    label = _LABEL.match(sentence)
    if label is None:
        return True
    named = {word for word in stems(label.group(1)) if not found_in(word, TYPE_WORDS) and not word.isdigit()}
    label_only = any(not found_in(word, set(topic)) for word in named)
    asked_only = any(not found_in(stem, named) for stem in topic)
    return not (label_only and asked_only)


def _price_overview(passages: list[Passage]) -> Answer | None:
    """Prices asked about in general: the documents' own sentence about their prices (no figure in it), and a
    question for which service."""
    for passage in passages:
        if passage.similarity is not None and passage.similarity < MIN_SIMILARITY:
            continue
        for sentence in repaired(passage.text):
            flat = plain(sentence)
            if re.search(r"\bprecios?\b|\btarifas?\b", flat) and not re.search(r"\d", flat):
                return Answer(f"{_spoken(sentence, False)} {WHICH_PRICE}", (passage.document_id,))
    return None


def _price(
    ranked: list[_Candidate],
    topic: dict[str, float],
    mostly_unknown: bool,
    foreign: bool,
    sentence_at: dict[tuple[int, int], str],
) -> Answer | None:
    """A price line for what was asked; or, when there is none (or what was asked is a name no document holds),
    that the price is not in the documents, and what they do say about the nearest thing (without any figure)."""
    priced = [
        c
        for c in ranked
        if c.valued
        and not foreign
        and _names_what_was_asked(c.sentence, topic)
        and (_LABEL.match(c.sentence) is not None or not mostly_unknown)
    ]
    if priced:
        chosen = _with_second(priced[0], priced, 2)
        if len(chosen) == 1:
            chosen += _exception_after(chosen[0], sentence_at, topic)
        return Answer(
            _shorten(" ".join(_spoken(c.sentence, False) for c in chosen)),
            tuple(dict.fromkeys(c.passage.document_id for c in chosen)),
        )
    nearest = next((c for c in ranked if not re.search(r"RD\$|\d", c.sentence)), None)
    if nearest is None:
        return None
    said = _spoken(nearest.sentence, True)
    return Answer(_shorten(f"{NOT_IN_PRICES} {NEAREST} {said}"), (nearest.passage.document_id,))


def _exception_after(
    chosen: _Candidate, sentence_at: dict[tuple[int, int], str], topic: dict[str, float]
) -> list[_Candidate]:
    """The sentence right after a price that names what the price sentence does not and the caller asked about:
    its exception ("... se cobra un cargo de RD$500." "Las emergencias médicas documentadas no pagan ese cargo.")."""
    after = sentence_at.get((id(chosen.passage), chosen.position + 1))
    if after is None:
        return []
    said, next_words = stems(chosen.sentence), stems(after)
    adds = [stem for stem in topic if found_in(stem, next_words) and not found_in(stem, said)]
    fits = len(chosen.sentence.split()) + len(after.split()) <= MAX_WORDS
    return [replace(chosen, sentence=after.strip(), position=chosen.position + 1)] if adds and fits else []


def _with_second(best: _Candidate, pool: list[_Candidate], most: int) -> list[_Candidate]:
    """The best sentence, and the next one of the same passage when it is about as good (two cardiologists)."""
    chosen = [best]
    for candidate in pool:
        if len(chosen) >= most:
            break
        if (
            candidate is not best
            and candidate.passage is best.passage
            and candidate.score >= best.score - SECOND_WITHIN
            and candidate.valued == best.valued
            and len(best.sentence.split()) + len(candidate.sentence.split()) <= MAX_WORDS
        ):
            chosen.append(candidate)
    return sorted(chosen, key=lambda c: c.position)


def _of_the_day(question: str, passage: Passage, said: list[str]) -> list[str]:
    """The passage's sentence about the weekday the caller asked of ("La sede cierra los domingos."), if any."""
    days = DAY.findall(plain(question))
    for sentence in repaired(passage.text):
        if sentence in said or _LABEL.match(sentence):  # another row is about another service
            continue
        if any(re.search(rf"\b{day}s?\b", plain(sentence)) for day in days):
            return [sentence]
    return []


# A sentence that goes on with the one before it: what happens then.
_GOES_ON = re.compile(r"^(?:En (?:esos|ese|estos|este|tal) casos?|Para (?:eso|ello)|De lo contrario|Si no)\b")
_ADDS_TO = re.compile(
    r"^(?:También|Además|Tampoco|Asimismo|Igualmente|Por eso|Por lo tanto|Responda|Conteste)\b"
)


def _with_what_it_adds_to(
    chosen: list[_Candidate],
    sentence_at: dict[tuple[int, int], str],
    topic: dict[str, float],
    same: dict[str, frozenset[str]],
) -> list[_Candidate]:
    """A sentence that adds to the one before it ("También puede retirarlos impresos...") is said after that
    one; when both do not fit in a spoken answer and it names something asked about that the one before does not
    ("impresos"), the one before it up to a clause that leaves room for it ("Los resultados ... se pueden ver en
    el portal del paciente en la página web."); otherwise the one before it alone (it holds the main answer)."""
    first = chosen[0]
    before = sentence_at.get((id(first.passage), first.position - 1))
    if not _ADDS_TO.match(first.sentence) or before is None or any(c.sentence == before for c in chosen):
        return chosen
    earlier = replace(first, sentence=before.strip(), position=first.position - 1)
    length = len(before.split())
    if length + sum(len(c.sentence.split()) for c in chosen) <= MAX_WORDS:
        return [earlier, *chosen]
    if not any(same[stem] & stems(first.sentence) and not same[stem] & stems(before) for stem in topic):
        return [earlier]  # it adds nothing the caller asked about: the one before says it all
    room = MAX_WORDS - len(first.sentence.split())
    if length <= room:
        return [earlier, first]
    head = " ".join(before.split()[:room])
    cut = max(head.rfind(","), head.rfind(";"))
    if cut > 0 and len(head[:cut].split()) >= 6:
        return [replace(earlier, sentence=head[:cut].rstrip() + "."), first]
    return [earlier]


def _spoken(sentence: str, partial: bool) -> str:
    """The sentence as said: without its leading "Sí," when it does not answer the whole question."""
    if partial:
        stripped = re.sub(r"^S[ií],\s+", "", sentence)
        if stripped != sentence:
            return stripped[:1].upper() + stripped[1:]
    return sentence


def _shorten(text: str) -> str:
    """A spoken answer stays short: past MAX_WORDS, cut at the last clause boundary (; — ,) before the limit."""
    words = text.split()
    if len(words) <= MAX_WORDS:
        return text
    head = " ".join(words[:MAX_WORDS])
    cut = max(head.rfind(";"), head.rfind(" —"), head.rfind(","))
    return (head[:cut] if cut > len(head) // 3 else head).rstrip(" ,;—") + "."
