-- Where each call's recording is (in the object store) and how long it is.
ALTER TABLE conversations ADD COLUMN recording_key text;
ALTER TABLE conversations ADD COLUMN recording_seconds double precision;
