-- What each turn used of each paid service, by provider (engine/usage.py): language-model tokens (prompt,
-- cached, completion), speech-to-text audio seconds, text-to-speech characters. A call's is the sum of its turns'.
ALTER TABLE turns ADD COLUMN usage jsonb NOT NULL DEFAULT '{}';
CREATE INDEX turns_at ON turns (at);
