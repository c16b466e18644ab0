"""Documents and passages in PostgreSQL: replace-in-one-transaction writes and hybrid search.

Search puts forward candidates from two searches: pgvector cosine distance over the HNSW index, and Spanish
full-text search (stemmed, accents ignored) with the question's words OR-ed, since a spoken question rarely shares
all its words with the passage that answers it. Only the question's rarest words are OR-ed, while the passages
they appear in (per term_stats) add up to at most ``text_budget``: a common word says little, and ranking every
passage it appears in would make search time grow with the corpus.

Each candidate is then scored on both sides: its cosine similarity, plus ``text_weight`` times the share of the
question's information it holds (the inverse document frequencies of the question's words it contains, over
those of all of them). Fusing by rank alone (reciprocal rank fusion) let any passage that both searches put
forward beat one that only full-text search found by a rare, telling word ("envejecientes"): in a small corpus
vector search puts forward nearly every passage, so being on both lists said almost nothing, while the rare word
said a lot. A passage vector search did not put forward is scored by its exact similarity all the same, but is
returned without one (``Passage.similarity`` is for what vector search found).
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
    text_weight: float = knob(
        0.1,
        "What holding all the question's words (weighted by how rare they are) adds to a passage's cosine "
        "similarity when the two searches' candidates are ranked together.",
        ge=0.0,
        le=10.0,
    )
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


# $1 the question's vector, $2 its words, $3 the embedder, $4 candidates per search, $5 text_weight, $6 k,
# $7 text_budget, $8 max_terms. A word's weight is its BM25 inverse document frequency over the passages counted
# in documents (or, for rows loaded around the store, the planner's count). Full-text candidates are found one
# selected word at a time through the GIN index, at most ``candidates`` per word: a rare word's passages are all
# found, a common word's only sampled (they say little), so the rows read stay bounded by max_terms x candidates.
# Each candidate's share of the question's information is then counted exactly.
_SEARCH = """
    WITH by_meaning AS (
        SELECT id, embedding <=> $1 AS distance FROM chunks WHERE embedder = $3
        ORDER BY distance LIMIT $4),
    selective AS (
        SELECT lexeme, passages FROM (
            SELECT t.lexeme, t.passages, sum(t.passages) OVER (ORDER BY t.passages, t.lexeme) AS running
            FROM unnest(tsvector_to_array(to_tsvector('es_unaccent', $2))) AS q (lexeme)
            JOIN term_stats t ON t.lexeme = q.lexeme
            WHERE t.passages > 0
            ORDER BY t.passages, t.lexeme LIMIT $8) rarest_first
        WHERE running <= $7),
    corpus AS (
        SELECT greatest(
            (SELECT coalesce(sum(chunk_count), 0) FROM documents WHERE status = 'ready'),
            (SELECT reltuples FROM pg_class WHERE oid = 'chunks'::regclass),
            (SELECT coalesce(max(passages), 0) FROM selective))::float8 AS n),
    weighted AS MATERIALIZED (
        SELECT quote_literal(s.lexeme)::tsquery AS query,
               ln(1 + (corpus.n - s.passages + 0.5) / (s.passages + 0.5)) AS idf
        FROM selective s, corpus),
    by_words AS (
        SELECT hit.id, sum(w.idf) AS informative
        FROM weighted w CROSS JOIN LATERAL (
            SELECT c.id FROM chunks c WHERE c.tsv @@ w.query LIMIT $4) hit
        GROUP BY hit.id ORDER BY informative DESC, hit.id LIMIT $4),
    pool AS (
        SELECT id FROM by_meaning UNION SELECT id FROM by_words),
    scored AS (
        SELECT c.id, c.document_id, c.heading, c.text, m.distance,
               CASE WHEN c.embedder = $3 THEN 1 - (c.embedding <=> $1) END AS closeness,
               coalesce((SELECT sum(w.idf) FROM weighted w WHERE c.tsv @@ w.query), 0)
                   / nullif((SELECT sum(idf) FROM weighted), 0) AS coverage
        FROM pool p JOIN chunks c ON c.id = p.id
        LEFT JOIN by_meaning m ON m.id = p.id)
    SELECT s.document_id, d.title, s.heading, s.text, 1 - s.distance AS similarity,
           coalesce(s.closeness, (SELECT 1 - max(distance) FROM by_meaning), 0)
               + $5 * coalesce(s.coverage, 0) AS score
    FROM scored s JOIN documents d ON d.id = s.document_id
    ORDER BY score DESC, s.id LIMIT $6
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
                _SEARCH,
                vector, query_words(question), embedder, candidates, self._settings.text_weight, k,
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
