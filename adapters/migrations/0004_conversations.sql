-- Conversations (one per voice session) and their turns, with each turn's latency waterfall.
CREATE TABLE conversations (
    id         text PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at   timestamptz,
    stt        text NOT NULL DEFAULT '',
    lm         text NOT NULL DEFAULT '',
    tts        text NOT NULL DEFAULT '',
    turns      integer NOT NULL DEFAULT 0,
    failed     boolean NOT NULL DEFAULT false
);

CREATE TABLE turns (
    conversation_id text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    turn_id         integer NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    transcript      text NOT NULL,
    reply           text NOT NULL,  -- what the caller heard (up to the interruption, if any)
    interrupted     boolean NOT NULL DEFAULT false,
    timings_ms      jsonb NOT NULL,  -- stage -> ms after the end of speech
    actions         jsonb NOT NULL DEFAULT '[]',
    sources         text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (conversation_id, turn_id)
);

CREATE INDEX conversations_started ON conversations (started_at DESC);
