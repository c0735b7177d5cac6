-- Identity and personal data.

-- One AES-256-GCM data key per person, stored only wrapped by the master
-- key. Deleting a row is erasure: the person's sealed data in the event log
-- can no longer be opened.
CREATE TABLE person_keys
(
    person_id   uuid        PRIMARY KEY,
    wrapped_key text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Secrets of the deployment, wrapped by the master key (the identity
-- secret behind pseudonyms and login hashes).
CREATE TABLE vault_secrets
(
    name    text PRIMARY KEY,
    wrapped text NOT NULL
);

-- Bearer tokens of API clients and browser sessions, each with its own
-- expiry and revocation; only the SHA-256 of a token is kept.
CREATE TABLE access_tokens
(
    token_hash text        PRIMARY KEY,
    account_id uuid        NOT NULL REFERENCES accounts (id),
    kind       text        NOT NULL CHECK (kind IN ('api', 'session')),
    issued_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX access_tokens_account ON access_tokens (account_id);

-- Tokens issued before: kept, without expiry.
INSERT INTO access_tokens (token_hash, account_id, kind, issued_at, revoked_at)
SELECT token_hash, id, 'api', created_at, revoked_at FROM accounts;

ALTER TABLE accounts DROP COLUMN token_hash;
-- Names now live sealed in the person's stream; the column stays for rows
-- written before and is no longer filled.
ALTER TABLE accounts ALTER COLUMN display_name DROP NOT NULL;
ALTER TABLE accounts
    -- Keyed hash (HMAC-SHA-256) of the login name; the name is not stored.
    ADD COLUMN login_hash    text UNIQUE,
    -- Argon2id, PHC string format.
    ADD COLUMN password_hash text,
    ADD COLUMN erased_at     timestamptz;

-- Failed logins per login name and per client address, for throttling.
CREATE TABLE login_failures
(
    key       text        NOT NULL,
    failed_at timestamptz NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, failed_at);
