-- Account hardening: a version per account that every access token carries (bumped by a role change, disabling,
-- logout and a new password, so older access tokens stop working at once), refresh tokens grouped in families
-- (one login's chain: a reused refresh token revokes the whole family), and failed logins kept per key
-- (e-mail + address, and address) so every server process slows the same guesses down.
ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0;

ALTER TABLE refresh_tokens ADD COLUMN family text;
UPDATE refresh_tokens SET family = id;
ALTER TABLE refresh_tokens ALTER COLUMN family SET NOT NULL;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE login_failures (
    key      text PRIMARY KEY,  -- 'pair:<e-mail> <address>' or 'address:<address>'
    failures integer NOT NULL,
    last_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_last ON login_failures (last_at);
