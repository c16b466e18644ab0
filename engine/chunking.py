"""Cuts text into speakable pieces: a streamed reply into clauses and sentences, a finished text into sentences."""

from __future__ import annotations

import re

# Terminal punctuation, closing quotes or brackets, then white space. Requiring the white space keeps
# "3.5" and "RD$1.500" whole, and waits for more text when a delta ends right after a full stop.
_END = re.compile(r"[.!?…]+[\"'»”)\]]*\s+")
# Abbreviations after which a full stop does not end a sentence (titles, streets, numbers).
ABBREVIATIONS = (
    "dr",
    "dra",
    "sr",
    "sra",
    "srta",
    "lic",
    "licda",
    "ing",
    "av",
    "c",
    "sto",
    "sta",
    "dgo",
    "urb",
    "ext",
    "tel",
    "ee",
    "uu",
    "núm",
    "apto",
    "etc",
    "aprox",
)
# "No." is "número" only before a number ("No. 25"); otherwise it is the word "no" ending a sentence.
_NUMBER_SIGN = "no"


# A clause boundary: a comma, semicolon or colon, then white space ("1,5" and "10:30" stay whole).
_CLAUSE = re.compile(r"[,;:]\s+")
# A delta that ends a word with terminal punctuation: a letter, the punctuation, closing quotes, then the end of
# what has arrived. After a letter a full stop cannot be a decimal point, so unless the word is an abbreviation,
# an initial, or part of an address ("caribesalud.", "citas@..."), the sentence is over now: waiting for the
# next delta's leading space would add one token's gap (tens of ms) to every reply's first audio.
_END_OF_DELTA = re.compile(r"(?<=[^\W\d_])[.!?…]+[\"'»”)\]]*$")
# The same for a clause: a comma, semicolon or colon right after a letter, at the end of what has arrived.
_CLAUSE_END_OF_DELTA = re.compile(r"(?<=[^\W\d_])[,;:]$")


class ClauseChunker:
    """Cuts a streamed reply into pieces for text-to-speech, as early as they can be spoken naturally.

    A piece ends at the end of a sentence. The reply's first piece may also end at a clause (a comma,
    semicolon or colon) once it has ``first_clause_words`` words, so the first audio does not wait for a
    long first sentence; any piece past ``max_chars`` is cut at its last clause too.
    """

    def __init__(self, first_clause_words: int = 4, max_chars: int = 160) -> None:
        self._pending = ""
        self._first_clause_words = first_clause_words
        self._max_chars = max_chars
        self._emitted = False

    def push(self, text: str) -> list[str]:
        """Add streamed text; return the pieces it completed."""
        self._pending += text
        pieces: list[str] = []
        start = 0
        for match in _END.finditer(self._pending):
            run = match.group(0)
            if (
                run[0] == "."
                and run[1:2] not in ".!?…"
                and self._ends_with_abbreviation(
                    start, match.start(), self._pending[match.end() : match.end() + 1]
                )
            ):
                continue
            start = self._clauses(start, match.start(), pieces)
            piece = self._pending[start : match.end()].strip()
            if piece:
                pieces.append(piece)
                self._emitted = True
            start = match.end()
        tail = _END_OF_DELTA.search(self._pending, start)
        if tail is not None and self._ends_sentence_now(start, tail.start()):
            start = self._clauses(start, tail.start(), pieces)
            piece = self._pending[start:].strip()
            if piece:
                pieces.append(piece)
                self._emitted = True
            start = len(self._pending)
        start = self._clauses(start, len(self._pending), pieces)
        self._pending = self._pending[start:]
        return pieces

    def flush(self) -> str | None:
        """Whatever is left once the reply is complete."""
        rest, self._pending = self._pending.strip(), ""
        return rest or None

    def _ends_sentence_now(self, start: int, punctuation: int) -> bool:
        """Whether terminal punctuation at ``punctuation``, the end of what has arrived, ends the sentence."""
        if self._pending[punctuation] != ".":
            return True
        if self._pending[punctuation + 1 : punctuation + 2] == "." or self._ends_with_abbreviation(
            start, punctuation
        ):
            return False
        word = self._pending[start:punctuation].rsplit(None, 1)[-1]
        return not any(mark in word for mark in "./@:")  # "www.caribesalud." or "citas@caribesalud."

    def _clauses(self, start: int, end: int, pieces: list[str]) -> int:
        """Cut clauses off the text between ``start`` and ``end`` where they are due; the new start."""
        boundaries = [(m.start(), m.end()) for m in _CLAUSE.finditer(self._pending, start, end)]
        if end == len(self._pending) and (tail := _CLAUSE_END_OF_DELTA.search(self._pending, start)):
            boundaries.append((tail.start(), tail.end()))
        for _begin, stop in boundaries:
            head = self._pending[start:stop].strip()
            early = not self._emitted and len(head.split()) >= self._first_clause_words
            if early or len(self._pending[start:end]) > self._max_chars:
                pieces.append(head)
                self._emitted = True
                start = stop
        return start

    def _ends_with_abbreviation(self, start: int, end: int, after: str = "") -> bool:
        """Whether the word before the full stop at ``end`` is an abbreviation; ``after`` is the first character
        past the white space that follows, or "" when nothing has arrived yet (then "No." may be "No. 25")."""
        words = self._pending[start:end].rsplit(None, 1)
        if not words:
            return False
        word = words[-1].lower().lstrip("¿¡(")
        if word == _NUMBER_SIGN:
            return after == "" or after.isdigit()
        return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())  # an initial, "a. m."


# Sentence ends inside a finished text: terminal punctuation, space, then a capital, ¿ ¡ or a digit; or a line
# break. Full stops of titles, streets, numbers and "a. m." / "p. m." are protected first.
_SPLIT = re.compile(r"(?<=[.!?…])\s+(?=[A-ZÁÉÍÓÚÑ¿¡\d])|\n+")
_PROTECT = re.compile(r"\b(" + "|".join(ABBREVIATIONS) + r"|[ap]\. ?m|no(?=\.\s+\d))\.\s+", re.IGNORECASE)
_JOINER = "\u2060"  # a word joiner: not white space, so the split cannot happen there


def sentences(text: str) -> list[str]:
    """The sentences of a finished text, in order."""
    protected = _PROTECT.sub(lambda m: m.group(0).replace(" ", _JOINER), text)
    return [part.replace(_JOINER, " ").strip() for part in _SPLIT.split(protected) if part.strip()]
