"""Hybrid retrieval latency at 10k and 100k passages on the embedded PostgreSQL, embedding time apart.

Passages are synthetic Spanish sentences drawn from the sample centre's vocabulary with Zipf's law (a few
words everywhere, most words rare, as in real text), with random unit vectors; the questions are the labelled
test questions, embedded once with the local e5 model.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from adapters.passage_store import PostgresPassageStore, RetrievalSettings
from adapters.postgres import Database, DatabaseSettings

SIZES = (10_000, 100_000)
TARGET_P95_MS = 20.0
QUESTIONS = Path(__file__).resolve().parent.parent / "tests" / "support" / "data" / "kb_questions.tsv"
SAMPLE = Path(__file__).resolve().parent.parent / "taina" / "sample_kb"


def _vocabulary() -> list[str]:
    words: set[str] = set()
    for path in SAMPLE.glob("*.*"):
        if path.suffix in (".md", ".html"):
            words.update(w.strip('.,:;¿?¡!()<>"') for w in path.read_text().split())
    return sorted(w for w in words if len(w) > 3 and w.isalpha())


def _zipf(size: int, rng: np.random.Generator) -> np.ndarray:
    weights = 1.0 / np.arange(1, size + 1)
    order = rng.permutation(size)  # which word is common is left to chance
    shares: np.ndarray = (weights / weights.sum())[order]
    return shares


async def _fill(db: Database, count: int, rng: np.random.Generator, vocabulary: list[str]) -> None:
    frequency = _zipf(len(vocabulary), rng)
    async with db.pool.acquire() as connection:
        await connection.execute("TRUNCATE documents CASCADE")
        await connection.execute("DROP INDEX IF EXISTS chunks_embedding")
        per_document = 100
        for start in range(0, count, 5_000):
            docs = [
                (f"d{i}", f"doc-{i}.md", f"Documento {i}")
                for i in range(start // per_document, (start + 5_000) // per_document)
            ]
            await connection.executemany(
                "INSERT INTO documents (id, name, title, media_type, status) VALUES ($1, $2, $3, 'text/markdown', 'ready')",
                docs,
            )
            vectors = rng.normal(size=(5_000, 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            records = []
            for j in range(5_000):
                i = start + j
                text = " ".join(rng.choice(vocabulary, size=40, p=frequency)) + "."
                records.append(
                    (
                        f"d{i // per_document}",
                        i % per_document,
                        f"Documento {i // per_document}",
                        text,
                        "bench",
                        vectors[j],
                    )
                )
            await connection.copy_records_to_table(
                "chunks",
                columns=["document_id", "ordinal", "heading", "text", "embedder", "embedding"],
                records=records,
            )
        # Bulk loading bypasses the store's writes, so count the terms the way migration 0002 does.
        await connection.execute("TRUNCATE term_stats")
        await connection.execute(
            "INSERT INTO term_stats SELECT word, ndoc FROM ts_stat('SELECT tsv FROM chunks')"
        )
        await connection.execute("SET maintenance_work_mem = '512MB'")
        await connection.execute(
            "CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops)"
        )
        await connection.execute("ANALYZE chunks")


async def _measure(runs: int) -> dict[str, Any]:
    from adapters.e5_embedder import E5Embedder

    questions = [
        line.split("\t")[0] for line in QUESTIONS.read_text().splitlines() if line and line[0] != "#"
    ]
    embedder = E5Embedder()
    started = time.perf_counter()
    vectors = await embedder.embed_queries(questions)
    embed_ms = (time.perf_counter() - started) * 1000 / len(questions)
    rng = np.random.default_rng(7)
    vocabulary = _vocabulary()
    result: dict[str, Any] = {
        "benchmark": "retrieval",
        "questions": len(questions),
        "query_embedding_ms": round(embed_ms, 1),
    }
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(DatabaseSettings(), Path(tmp))
        store = PostgresPassageStore(db, RetrievalSettings())
        try:
            for size in SIZES:
                started = time.perf_counter()
                await _fill(db, size, rng, vocabulary)
                build_s = time.perf_counter() - started
                for q, v in zip(questions[:5], vectors[:5], strict=True):  # warm the caches
                    await store.search(q, v, "bench", 5)
                latencies = []
                for _ in range(runs):
                    for q, v in zip(questions, vectors, strict=True):
                        t = time.perf_counter()
                        await store.search(q, v, "bench", 5)
                        latencies.append((time.perf_counter() - t) * 1000)
                result[f"{size}"] = {
                    "p50_ms": round(statistics.median(latencies), 2),
                    "p95_ms": round(float(np.percentile(latencies, 95)), 2),
                    "queries": len(latencies),
                    "load_and_index_s": round(build_s, 1),
                }
        finally:
            await db.aclose()
    result["target_p95_ms_at_100k"] = TARGET_P95_MS
    result["meets_target"] = result["100000"]["p95_ms"] <= TARGET_P95_MS
    return result


def run(runs: int | None) -> dict[str, Any]:
    return asyncio.run(_measure(runs or 3))
