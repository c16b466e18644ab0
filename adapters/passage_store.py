"""Documents and passages in PostgreSQL: replace-in-one-transaction writes and hybrid search.

Search fuses two rankings with reciprocal rank fusion: pgvector cosine distance over the HNSW index, and
Spanish full-text search (stemmed, accents ignored) with the question's words OR-ed, since a spoken question
rarely shares all its words with the passage that answers it. Only the question's rarest words are OR-ed, while
the passages they appear in (per term_stats) add up to at most ``text_budget``: a common word says little, and
ranking every passage it appears in would make search time grow with the corpus.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from adapters.postgres import Database
from engine.options import Section, knob
from engine.ports.knowledge import DocumentRow, NewDocument, Passage, new_document_id


class RetrievalSettings(Section):
    prefix: ClassVar[str] = "TAINA_RETRIEVAL"
    candidates: int = knob(
        40, "Passages each of vector and full-text search put forward before fusion.", ge=5, le=1_000
    )
    rrf_k: int = knob(60, "Reciprocal rank fusion constant (higher flattens the ranks).", ge=1, le=1_000)
    ef_search: int = knob(100, "HNSW search breadth (pgvector hnsw.ef_search).", ge=10, le=1_000)
    text_budget: int = knob(
        2_000,
        "Most passages full-text search ranks for one question: the question's rarest words are used while the "
        "passages they appear in add up to no more than this.",
        ge=10,
        le=1_000_000,
    )
    max_terms: int = knob(8, "Most words of a question used for full-text search, rarest first.", ge=1, le=32)


_WORD = re.compile(r"\w{3,}")
MAX_QUERY_CHARS = 1_000
_MAX_QUERY_WORDS = 32


def query_words(question: str) -> str:
    """The question's words, space-separated; only \\w characters reach the database's text parser."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(question[:MAX_QUERY_CHARS])))
    return " ".join(words[:_MAX_QUERY_WORDS])


# One document's lexemes added to or taken from term_stats. Rows are locked in lexeme order so that concurrent
# writers cannot deadlock.
_ADD_TERMS = """
    INSERT INTO term_stats (lexeme, passages)
    SELECT word, ndoc FROM ts_stat(format('SELECT tsv FROM chunks WHERE document_id = %L', $1::text))
    ORDER BY word
    ON CONFLICT (lexeme) DO UPDATE SET passages = term_stats.passages + EXCLUDED.passages
"""
_REMOVE_TERMS = """
    WITH counted AS (
        SELECT word, ndoc FROM ts_stat(format('SELECT tsv FROM chunks WHERE document_id = %L', $1::text))),
    locked AS (
        SELECT t.lexeme FROM term_stats t JOIN counted ON counted.word = t.lexeme ORDER BY t.lexeme FOR UPDATE OF t)
    UPDATE term_stats t SET passages = greatest(t.passages - counted.ndoc, 0)
    FROM counted, locked WHERE t.lexeme = counted.word AND locked.lexeme = t.lexeme
"""


class PostgresPassageStore:
    """The PassageStore port in PostgreSQL (the tables keep their first names: documents, chunks)."""

    def __init__(self, database: Database, settings: RetrievalSettings) -> None:
        self.db = database
        self._settings = settings

    async def document(self, document_id: str) -> DocumentRow | None:
        rows = await self.db.fetch("SELECT * FROM documents WHERE id = $1", document_id)
        return _row(rows[0]) if rows else None

    async def by_name(self, name: str) -> DocumentRow | None:
        rows = await self.db.fetch("SELECT * FROM documents WHERE name = $1", name)
        return _row(rows[0]) if rows else None

    async def by_content(self, sha256: str) -> DocumentRow | None:
        rows = await self.db.fetch(
            "SELECT * FROM documents WHERE content_sha256 = $1 AND status = 'ready'", sha256
        )
        return _row(rows[0]) if rows else None

    async def documents(self) -> list[DocumentRow]:
        return [_row(r) for r in await self.db.fetch("SELECT * FROM documents ORDER BY name")]

    async def record_failure(self, name: str, media_type: str, size: int, error: str) -> str:
        """A document that could not be ingested, with its error; never touches a ready document."""
        rows = await self.db.fetch(
            """INSERT INTO documents (id, name, title, media_type, status, error, size_bytes)
               VALUES ($1, $2, $2, $3, 'failed', $4, $5)
               ON CONFLICT (name) DO UPDATE SET error = EXCLUDED.error, size_bytes = EXCLUDED.size_bytes,
                   updated_at = now() WHERE documents.status = 'failed'
               RETURNING id""",
            new_document_id(), name, media_type, error, size,
        )  # fmt: skip
        if rows:
            return str(rows[0]["id"])
        existing = await self.by_name(name)
        return existing.id if existing else ""

    async def replace(
        self,
        document_id: str,
        document: NewDocument,
        passages: list[tuple[str, str]],
        vectors: NDArray[np.float32],
        embedder: str,
    ) -> str:
        """Write a document and all its passages, replacing any earlier version, in one transaction.

        Returns the document's id: ``document_id``, or the id of a same-named document written meanwhile.
        """
        async with self.db.pool.acquire() as connection, connection.transaction():
            stored = await connection.fetchval(
                """INSERT INTO documents (id, name, title, media_type, status, error, content_sha256, size_bytes,
                                          object_key, pages, chunk_count)
                   VALUES ($1, $2, $3, $4, 'ready', NULL, $5, $6, $7, $8, $9)
                   ON CONFLICT (name) DO UPDATE SET title = EXCLUDED.title, media_type = EXCLUDED.media_type,
                       status = 'ready', error = NULL, content_sha256 = EXCLUDED.content_sha256,
                       size_bytes = EXCLUDED.size_bytes, object_key = EXCLUDED.object_key, pages = EXCLUDED.pages,
                       chunk_count = EXCLUDED.chunk_count, updated_at = now()
                   RETURNING id""",
                document_id, document.name, document.title, document.media_type, document.content_sha256,
                document.size_bytes, document.object_key, document.pages, len(passages),
            )  # fmt: skip
            await connection.execute(_REMOVE_TERMS, stored)
            await connection.execute("DELETE FROM chunks WHERE document_id = $1", stored)
            await connection.copy_records_to_table(
                "chunks",
                columns=["document_id", "ordinal", "heading", "text", "embedder", "embedding"],
                records=[
                    (stored, i, heading, text, embedder, vectors[i])
                    for i, (heading, text) in enumerate(passages)
                ],
            )
            await connection.execute(_ADD_TERMS, stored)
        return str(stored)

    async def delete(self, document_id: str) -> DocumentRow | None:
        async with self.db.pool.acquire() as connection, connection.transaction():
            await connection.execute(_REMOVE_TERMS, document_id)
            rows = await connection.fetch("DELETE FROM documents WHERE id = $1 RETURNING *", document_id)
        return _row(rows[0]) if rows else None

    async def search(
        self, question: str, vector: NDArray[np.float32], embedder: str, k: int
    ) -> list[Passage]:
        candidates = max(self._settings.candidates, k)
        async with self.db.pool.acquire() as connection, connection.transaction():
            await connection.execute(f"SET LOCAL hnsw.ef_search = {int(self._settings.ef_search)}")
            rows = await connection.fetch(
                """
                WITH by_meaning AS (
                    SELECT id, distance, row_number() OVER (ORDER BY distance) AS rank FROM (
                        SELECT id, embedding <=> $1 AS distance FROM chunks WHERE embedder = $3
                        ORDER BY distance LIMIT $4) nearest),
                selective AS (
                    SELECT lexeme FROM (
                        SELECT t.lexeme, sum(t.passages) OVER (ORDER BY t.passages, t.lexeme) AS running
                        FROM unnest(tsvector_to_array(to_tsvector('es_unaccent', $2))) AS q (lexeme)
                        JOIN term_stats t ON t.lexeme = q.lexeme
                        WHERE t.passages > 0
                        ORDER BY t.passages, t.lexeme LIMIT $8) rarest_first
                    WHERE running <= $7),
                words AS (
                    SELECT string_agg(quote_literal(lexeme), ' | ')::tsquery AS query FROM selective),
                by_words AS (
                    SELECT id, row_number() OVER (ORDER BY score DESC) AS rank FROM (
                        SELECT id, ts_rank_cd(tsv, words.query) AS score FROM chunks, words
                        WHERE words.query IS NOT NULL AND tsv @@ words.query
                        ORDER BY score DESC LIMIT $4) matching),
                fused AS (
                    SELECT id, sum(1.0 / ($5 + rank)) AS score
                    FROM (SELECT id, rank FROM by_meaning UNION ALL SELECT id, rank FROM by_words) both_rankings
                    GROUP BY id)
                SELECT c.document_id, d.title, c.heading, c.text, f.score, 1 - m.distance AS similarity
                FROM fused f JOIN chunks c ON c.id = f.id JOIN documents d ON d.id = c.document_id
                LEFT JOIN by_meaning m ON m.id = f.id
                ORDER BY f.score DESC, c.id LIMIT $6
                """,
                vector, query_words(question), embedder, candidates, self._settings.rrf_k, k,
                self._settings.text_budget, self._settings.max_terms,
            )  # fmt: skip
        return [
            Passage(r["document_id"], r["title"], r["heading"], r["text"], float(r["score"]), _similarity(r))
            for r in rows
        ]


def _similarity(record: Any) -> float | None:
    value = record["similarity"]
    return None if value is None else float(value)


def _row(record: object) -> DocumentRow:
    return DocumentRow(**{name: record[name] for name in DocumentRow.__dataclass_fields__})  # type: ignore[index]
