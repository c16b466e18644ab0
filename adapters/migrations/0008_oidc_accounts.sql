-- Accounts signed in through the clinic's OpenID Connect provider: linked by "<issuer> <sub>", no password
-- (password_hash is empty, which never matches a password).
ALTER TABLE users ADD COLUMN oidc_subject text UNIQUE;
