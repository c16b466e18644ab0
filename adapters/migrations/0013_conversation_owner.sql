-- Which `taina serve` worker process answered each call (its run id, '' with one process), and why a call ended
-- when it did not end by itself: 'worker_lost' for a call whose worker process died under it, ended by the
-- supervisor at the last thing recorded for it. NULL: ended normally (or still running).
ALTER TABLE conversations ADD COLUMN owner text NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN end_reason text;
CREATE INDEX conversations_open_owner ON conversations (owner) WHERE ended_at IS NULL;
