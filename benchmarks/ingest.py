"""Ingest speed of text PDFs with local embeddings: pages per second, with where the time goes."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from adapters.e5_embedder import E5Embedder
from adapters.file_store import FileStore
from adapters.passage_store import PostgresPassageStore, RetrievalSettings
from adapters.postgres import Database, DatabaseSettings
from taina.knowledge.extract import extract
from taina.knowledge.ingest import IngestSettings, Library

TARGET_PAGES_PER_S = 10.0
SAMPLE = Path(__file__).resolve().parent.parent / "taina" / "sample_kb"


def _text_pdf(pages: int) -> bytes:
    """A text PDF of ``pages`` full Letter pages of Spanish prose from the sample centre."""
    from fpdf import FPDF

    prose = " ".join(p.read_text() for p in sorted(SAMPLE.glob("*.md"))).replace("#", "")
    words = prose.split()
    pdf = FPDF(format="Letter")
    pdf.set_font("Helvetica", size=11)
    cursor = 0
    for page in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 6, f"Capítulo {page + 1}", new_x="LMARGIN", new_y="NEXT")
        chunk = [words[(cursor + i) % len(words)] for i in range(380)]  # about a full page
        cursor += 380
        pdf.multi_cell(0, 6, " ".join(chunk), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


async def _measure(runs: int) -> dict[str, Any]:
    pages = 10 * runs
    data = _text_pdf(pages)
    embedder = E5Embedder()
    settings = IngestSettings()
    started = time.perf_counter()
    extracted = extract("bench.pdf", data, settings.max_unpacked_bytes)
    extract_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(DatabaseSettings(), Path(tmp))
        service = Library(
            PostgresPassageStore(db, RetrievalSettings()),
            FileStore(Path(tmp) / "objects"),
            embedder,
            settings,
        )
        try:
            started = time.perf_counter()
            result = await service.ingest("bench.pdf", data)
            total_s = time.perf_counter() - started
            texts = [
                row["text"] for row in await db.fetch("SELECT heading || '. ' || text AS text FROM chunks")
            ]
            started = time.perf_counter()
            await embedder.embed_passages(texts)
            embed_s = time.perf_counter() - started
        finally:
            await db.aclose()
    assert result.status == "ready" and extracted.pages == pages
    return {
        "benchmark": "ingest",
        "pages": pages,
        "passages": result.passages,
        "pages_per_s": round(pages / total_s, 2),
        "seconds": round(total_s, 2),
        "extract_share": f"{extract_s / total_s:.0%}",
        "embedding_share": f"{min(embed_s / total_s, 1):.0%}",
        "embedding_ms_per_passage": round(embed_s * 1000 / max(result.passages, 1), 1),
        "target_pages_per_s": TARGET_PAGES_PER_S,
        "meets_target": pages / total_s >= TARGET_PAGES_PER_S,
    }


def run(runs: int | None) -> dict[str, Any]:
    return asyncio.run(_measure(runs or 2))
