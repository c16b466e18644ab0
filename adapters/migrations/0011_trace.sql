-- Tracing: each turn's OpenTelemetry trace id (the call's trace, hex; '' when tracing was off), and the call's.
ALTER TABLE turns ADD COLUMN trace_id text NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN trace_id text NOT NULL DEFAULT '';
CREATE INDEX turns_trace ON turns (trace_id) WHERE trace_id <> '';
