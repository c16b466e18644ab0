"""A price list's line for what the caller asks the price of, found by the line's own label.

A caller wraps a price question in their story ("me jodí la rodilla jugando pelota, ¿cuánto cobra el ortopeda?"):
most of their words are in no price line, so judging a line by how much of the question it covers misses it.
A price line says what it prices in its label ("Consulta de ortopedia: RD$3,000."), so the line is judged the
other way round: how much of its label the caller named (in the documents' words: "ortopeda" is "ortopedia",
"la placa del pecho" is "radiografía de tórax"; adapters/lexicon.py).

A line is not read when the caller qualifies its head word otherwise: "¿cuánto cuesta la sonografía pélvica?"
names a sonography the list does not price, and "Sonografía abdominal: RD$2,800." is no answer to it. Parts of a
label joined by "y" are alternatives ("Ginecología y obstetricia": a caller who asks for the gynaecologist named
it). When two lines are named equally ("¿cuánto cuesta una sonografía?"), both are read.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from adapters.lexicon import BODY_PARTS
from adapters.policy.words import STEMMER

LABEL = re.compile(r"^([^:]{3,80}):\s*(.*)$")
PRICE = re.compile(r"RD\$ ?\d")
MIN_NAMED = 0.5  # share of a label's words the caller must name
MOST_LINES = 2  # lines read when the caller named several alike


@dataclass(frozen=True)
class PriceLine:
    sentence: str
    named: float  # share of the label's words the caller named
    index: int  # where it came from, for the caller's bookkeeping


def price_lines(
    said: list[str],
    own: list[str],
    sentences: Iterable[str],
    stems: Callable[[str], list[str]],
    same: Callable[[str, str], bool],
    generic: Callable[[str], bool],
) -> list[PriceLine]:
    """The price lines among ``sentences`` that the caller's words (``said``, as stems in order, the lexicon's
    words beside the caller's own; ``own``: the caller's words alone) name best. ``stems`` gives a text's content
    stems in order, ``same`` says two stems are one word, ``generic`` that a stem only says what kind of thing is
    priced ("consulta")."""
    labels: list[tuple[int, str, list[list[str]], str]] = []
    for index, sentence in enumerate(sentences):
        match = LABEL.match(sentence.strip())
        if match is None or not PRICE.search(match.group(2)):
            continue
        label = re.sub(r"\([^)]*\)", " ", match.group(1))
        parts = [
            [w for w in stems(p) if not generic(w) and not w.isdigit()] for p in re.split(r"\by\b|,", label)
        ]
        first = next(
            iter(stems(label)), ""
        )  # its kind, generic or not: "Consulta de seguimiento" is a consulta
        labels.append((index, sentence.strip(), [p for p in parts if p], first))
    # The kinds of thing the list prices ("sonografía", "perfil", "consulta") that the caller named in their own
    # words: a line for another kind ("Perfil tiroideo" for "la sonografía de la tiroides") is not for them.
    firsts = {first for *_, first in labels if first and not generic(first)}  # "prueba de ..." names no kind
    kinds = {first for first in firsts if any(same(first, s) for s in own)}
    heads = [first for *_, first in labels if first]
    found: list[tuple[PriceLine, frozenset[str]]] = []
    for index, sentence, parts, first in labels:
        best, by = 0.0, frozenset[str]()
        alone = sum(same(first, other) for *_, other in labels) == 1  # the only "Resonancia ..." line
        for words in parts:
            named = [w for w in words if any(same(w, s) for s in said)]
            if not named or _qualified_otherwise(words, said, own, same, generic, alone, heads):
                continue
            if kinds and not any(same(kind, w) for kind in kinds for w in (first, *words)):
                continue  # "Perfil tiroideo" for "la sonografía de la tiroides": another kind, its own unnamed
            if len(named) / len(words) > best:
                best, by = (
                    len(named) / len(words),
                    frozenset(s for s in own if any(same(w, s) for w in named)),
                )
        if best >= MIN_NAMED:
            found.append((PriceLine(sentence, best, index), by))
    if not found:
        return []
    top = max(line.named for line, _ in found)
    chosen = [line for line, _ in found if line.named == top]
    if len(chosen) > MOST_LINES:
        return []
    # Things asked about together ("la glucosa y el perfil lipídico"): a line named by the caller's own words
    # that no chosen line took is read too.
    took = frozenset().union(*(by for line, by in found if line in chosen))
    for line, by in sorted(found, key=lambda f: -f[0].named):
        if line not in chosen and by and not by & took and len(chosen) < MOST_LINES:
            chosen.append(line)
            took |= by
    return sorted(chosen, key=lambda line: line.index)


def _qualified_otherwise(
    words: list[str],
    said: list[str],
    own: list[str],
    same: Callable[[str, str], bool],
    generic: Callable[[str], bool],
    alone: bool,
    heads: list[str],
) -> bool:
    """The caller said the label's head word followed by a word of their own, and none of the label's other words
    (in theirs or the documents' words): "sonografía pélvica" against "Sonografía abdominal". A part of the body
    ("resonancia de la rodilla") is no other study when the list prices that study once, not by its part."""
    head, rest = words[0], words[1:]
    if not rest or any(same(w, s) for w in rest for s in said):
        return False
    for at, stem in enumerate(own):
        if same(head, stem):
            after = [s for s in own[at + 1 : at + 3] if not generic(s)]
            if after and not any(same(after[0], w) for w in words):
                if any(same(after[0], kind) for kind in heads):
                    return False  # the next thing asked about ("la glucosa y el perfil lipídico")
                return not (alone and _is_body(after[0]) and not any(_is_body(w) for w in rest))
    return False


@functools.lru_cache(maxsize=4096)
def _is_body(stem: str) -> bool:
    return any(stem == s or (len(stem) >= 4 and s.startswith(stem)) for s in _BODY_STEMS)


_BODY_STEMS = frozenset(STEMMER.stemWords(sorted(BODY_PARTS)))
