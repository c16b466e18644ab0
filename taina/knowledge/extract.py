"""Text out of Markdown, plain text, HTML, PDF and DOCX, as titled sections; refuses what it cannot read safely."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from taina.knowledge.tables import spoken_row, unwrap

MEDIA_TYPES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".txt": "text/plain",
    ".html": "text/html",
    ".htm": "text/html",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


class ExtractionError(ValueError):
    """The document cannot be read; the message says why, for the person who sent it."""


@dataclass
class Section:
    heading: str
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Extracted:
    title: str
    sections: list[Section]
    pages: int | None = None


def check_name(name: str) -> str:
    """A document name is a plain file name: no folders, no '..', no control characters."""
    if not name or len(name) > 255:
        raise ExtractionError("the document name must be 1 to 255 characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise ExtractionError("the document name contains control characters")
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
        raise ExtractionError(f"the document name {name!r} must be a plain file name, without folders")
    return name


def media_type_of(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in MEDIA_TYPES:
        shown = suffix or "no extension"
        raise ExtractionError(f"unsupported type ({shown}): send Markdown, text, HTML, PDF or DOCX")
    return MEDIA_TYPES[suffix]


def extract(name: str, data: bytes, max_unpacked_bytes: int) -> Extracted:
    media_type = media_type_of(name)
    if not data.strip():
        raise ExtractionError("the file is empty")
    stem = PurePosixPath(name).stem.replace("-", " ").replace("_", " ").strip()
    if media_type == "text/markdown":
        result = _markdown(_decode(data), stem)
    elif media_type == "text/plain":
        result = _plain(_decode(data), stem)
    elif media_type == "text/html":
        result = _html(data, stem)
    elif media_type == "application/pdf":
        result = _pdf(data, stem)
    else:
        result = _docx(data, stem, max_unpacked_bytes)
    result.sections = [s for s in result.sections if s.text.strip()]
    if not result.sections:
        raise ExtractionError("no text found in the document (a scanned PDF needs OCR first)")
    return result


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(\*\*|__|\*|_|`)")
_MD_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}")


def _markdown(text: str, stem: str) -> Extracted:
    title = ""
    sections = [Section("")]
    raws = text.splitlines()
    header: list[str] | None = None
    for i, raw in enumerate(raws):
        heading = _MD_HEADING.match(raw)
        if heading:
            words = _MD_MARKS.sub("", heading.group(2))
            if heading.group(1) == "#" and not title:
                title = words
            sections.append(Section(words))
            continue
        if _MD_TABLE_RULE.match(raw):
            continue
        line = _MD_MARKS.sub("", _MD_LINK.sub(r"\1", raw)).lstrip("> ").strip()
        line = _MD_BULLET.sub("", line)
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if i + 1 < len(raws) and _MD_TABLE_RULE.match(raws[i + 1]):
                header = cells  # the header row: it names the columns of the rows below
                continue
            line = spoken_row(cells, header) if any(cells) else ""
        else:
            header = None
        if line:
            sections[-1].lines.append(line)
    return Extracted(title or stem, sections)


def _plain(text: str, stem: str) -> Extracted:
    lines = [line.strip() for line in text.splitlines()]
    first = next((line for line in lines if line), "")
    title = first if len(first) <= 80 and not first.endswith(".") else stem
    body = lines[lines.index(first) + 1 :] if title == first else lines
    return Extracted(title, [Section("", [line for line in body if line])])


def _html(data: bytes, stem: str) -> Extracted:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for junk in soup(["script", "style", "noscript", "template", "svg"]):
        junk.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    sections = [Section("")]
    blocks = [
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "p",
        "li",
        "tr",
        "dt",
        "dd",
        "address",
        "blockquote",
        "figcaption",
    ]
    for element in soup.find_all(blocks):
        if element.find_parent(["p", "li", "tr", "dd", "address", "blockquote"]):
            continue  # its text is taken with the enclosing block
        if element.name == "tr":
            cells = [c.get_text(" ", strip=True) for c in element.find_all(["td", "th"])]
            header = _html_header(element)
            if header is not None and cells == header:
                continue  # the header row: said with each row below
            text = spoken_row(cells, header) if any(cells) else ""
        else:
            text = element.get_text(" ", strip=True)
        if not text:
            continue
        if element.name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            if element.name == "h1" and not title:
                title = text
            sections.append(Section(text))
        else:
            sections[-1].lines.append(text)
    return Extracted(title or stem, sections)


def _html_header(row: Any) -> list[str] | None:
    """The cells of the first row of ``row``'s table when they are all header cells (<th>)."""
    table = row.find_parent("table")
    first = table.find("tr") if table is not None else None
    if first is None or first.find("td") is not None:
        return None
    return [c.get_text(" ", strip=True) for c in first.find_all("th")]


def _looks_like_heading(line: str, following: str) -> bool:
    return (
        0 < len(line) <= 60
        and line[0].isupper()
        and not line.endswith((".", ",", ";", ":"))
        and len(following) > len(line)
    )


def _pdf(data: bytes, stem: str) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("the PDF is password-protected: send it without a password")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise ExtractionError(f"the PDF is damaged and cannot be read ({exc.__class__.__name__})") from None
    lines = [line.strip() for page in pages for line in page.splitlines() if line.strip()]
    title = meta_title.strip() or (lines[0] if lines else stem)
    sections = [Section("")]
    for i, line in enumerate(lines):
        if line == title and i == 0:
            continue
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if _looks_like_heading(line, following):
            sections.append(Section(line))
        else:
            sections[-1].lines.append(line)
    for section in sections:
        section.lines = unwrap(section.lines)
    return Extracted(title, sections, pages=len(pages))


def _docx(data: bytes, stem: str, max_unpacked_bytes: int) -> Extracted:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ExtractionError("the DOCX is damaged: it is not a valid Word document") from None
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > max_unpacked_bytes:
        raise ExtractionError(
            f"the DOCX unpacks to {unpacked // 1_000_000} MB, over the {max_unpacked_bytes // 1_000_000} MB limit"
        )
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ExtractionError(f"the DOCX is damaged and cannot be read ({exc.__class__.__name__})") from None
    title = (document.core_properties.title or "").strip()
    sections = [Section("")]
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text.strip()
            style = (block.style.name if block.style is not None else "") or ""
            if not text:
                continue
            if style == "Title" or style.startswith("Heading"):
                if not title:
                    title = text
                if style != "Title":
                    sections.append(Section(text))
                continue
            sections[-1].lines.append(text)
        elif isinstance(block, Table):
            rows = [list(dict.fromkeys(c.text.strip() for c in row.cells)) for row in block.rows]
            header = rows[0] if rows and _docx_header(block) else None
            for cells in rows[1:] if header else rows:
                if any(cells):
                    sections[-1].lines.append(spoken_row(cells, header))
    return Extracted(title or stem, sections)


def _docx_header(table: Any) -> bool:
    """The table's first row is a header: marked to repeat as one, or all its text in bold."""
    first = table.rows[0]
    properties = first._tr.trPr
    if (
        properties is not None
        and properties.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblHeader")
        is not None
    ):
        return True
    runs = [
        run
        for cell in first.cells
        for paragraph in cell.paragraphs
        for run in paragraph.runs
        if run.text.strip()
    ]
    return bool(runs) and all(run.bold for run in runs)
