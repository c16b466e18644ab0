-- OpenID Connect sign-ins in progress and their one-time hand-off codes, shared by every server process (a
-- provider's callback may reach another `taina serve` worker than the one that sent the browser away). Each row
-- is taken once (DELETE ... RETURNING) and is worthless after expires_at. Keys are SHA-256 digests, so a copy of
-- the database (a backup) holds no usable state or code; the hand-off's tokens are encrypted with a key derived
-- from its code.
CREATE TABLE oidc_flows (
    state_digest text PRIMARY KEY,
    nonce        text NOT NULL,
    verifier     text NOT NULL,  -- the PKCE code verifier
    redirect_uri text NOT NULL,
    issuer       text NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX oidc_flows_expiry ON oidc_flows (expires_at);

CREATE TABLE oidc_handoffs (
    code_digest text PRIMARY KEY,
    tokens      bytea NOT NULL,  -- AES-GCM: nonce || ciphertext of the token pair's JSON
    expires_at  timestamptz NOT NULL
);
CREATE INDEX oidc_handoffs_expiry ON oidc_handoffs (expires_at);
