"""Cuts a streamed reply into sentences, so each can be spoken as soon as it is complete."""

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
    "ing",
    "av",
    "c",
    "no",
    "núm",
    "apto",
    "etc",
    "aprox",
)


class SentenceChunker:
    def __init__(self) -> None:
        self._pending = ""

    def push(self, text: str) -> list[str]:
        """Add streamed text; return the sentences it completed."""
        self._pending += text
        sentences: list[str] = []
        start = 0
        for match in _END.finditer(self._pending):
            if match.group(0).startswith(".") and self._ends_with_abbreviation(start, match.start()):
                continue
            sentence = self._pending[start : match.end()].strip()
            if sentence:
                sentences.append(sentence)
            start = match.end()
        self._pending = self._pending[start:]
        return sentences

    def flush(self) -> str | None:
        """Whatever is left once the reply is complete."""
        rest, self._pending = self._pending.strip(), ""
        return rest or None

    def _ends_with_abbreviation(self, start: int, end: int) -> bool:
        words = self._pending[start:end].rsplit(None, 1)
        return bool(words) and words[-1].lower().lstrip("¿¡(") in ABBREVIATIONS


# Sentence ends inside a finished text: terminal punctuation, space, then a capital, ¿ ¡ or a digit; or a line
# break. Full stops of titles, streets, numbers and "a. m." / "p. m." are protected first.
_SPLIT = re.compile(r"(?<=[.!?…])\s+(?=[A-ZÁÉÍÓÚÑ¿¡\d])|\n+")
_PROTECT = re.compile(r"\b(" + "|".join(ABBREVIATIONS) + r"|[ap]\. ?m)\.\s+", re.IGNORECASE)
_JOINER = "\u2060"  # a word joiner: not white space, so the split cannot happen there


def sentences(text: str) -> list[str]:
    """The sentences of a finished text, in order."""
    protected = _PROTECT.sub(lambda m: m.group(0).replace(" ", _JOINER), text)
    return [part.replace(_JOINER, " ").strip() for part in _SPLIT.split(protected) if part.strip()]
