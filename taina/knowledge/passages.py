"""Sections -> passages of about ``target_words``, cut at sentence ends, never across headings, with overlap."""

from __future__ import annotations

from dataclasses import dataclass

from engine.chunking import sentences
from taina.knowledge.extract import Section


@dataclass(frozen=True)
class NewPassage:
    heading: str
    text: str


def _split_long(sentence: str, limit: int) -> list[str]:
    words = sentence.split()
    return [" ".join(words[i : i + limit]) for i in range(0, len(words), limit)]


def split_passages(title: str, sections: list[Section], target_words: int, overlap: int) -> list[NewPassage]:
    passages: list[NewPassage] = []
    for section in sections:
        heading = title if not section.heading or section.heading == title else f"{title} — {section.heading}"
        pieces: list[str] = []
        for sentence in sentences(section.text):
            too_long = len(sentence.split()) > target_words * 2
            pieces += _split_long(sentence, target_words * 2) if too_long else [sentence]
        current: list[str] = []
        carried = 0  # how many of ``current`` were already sent as the previous passage's overlap
        for piece in pieces:
            current.append(piece)
            if sum(len(p.split()) for p in current) >= target_words:
                passages.append(NewPassage(heading, "\n".join(current)))
                current = current[-overlap:] if overlap else []
                carried = len(current)
        if len(current) > carried:
            passages.append(NewPassage(heading, "\n".join(current)))
    return passages
