-- Documents, their passages with embeddings, and Spanish full-text search.
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- Spanish stemming that also ignores accents, so "cardiologia" finds "cardiología".
CREATE TEXT SEARCH CONFIGURATION es_unaccent (COPY = spanish);
ALTER TEXT SEARCH CONFIGURATION es_unaccent
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, spanish_stem;

CREATE TABLE documents (
    id             text PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    title          text NOT NULL,
    media_type     text NOT NULL,
    status         text NOT NULL CHECK (status IN ('ready', 'failed')),
    error          text,
    content_sha256 text,
    size_bytes     bigint NOT NULL DEFAULT 0,
    object_key     text,
    pages          integer,
    chunk_count    integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX documents_ready_content ON documents (content_sha256) WHERE status = 'ready';

CREATE TABLE chunks (
    id          bigserial PRIMARY KEY,
    document_id text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ordinal     integer NOT NULL,
    heading     text NOT NULL DEFAULT '',
    text        text NOT NULL,
    embedder    text NOT NULL,
    embedding   vector(384) NOT NULL,
    tsv         tsvector GENERATED ALWAYS AS (to_tsvector('es_unaccent'::regconfig, heading || ' ' || text)) STORED,
    UNIQUE (document_id, ordinal)
);
CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
