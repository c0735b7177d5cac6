-- Identity and personal data. See the PostgreSQL migration for the design;
-- SQLite rebuilds `accounts` to drop its token column.

CREATE TABLE person_keys
(
    person_id   text NOT NULL PRIMARY KEY,
    wrapped_key text NOT NULL,
    created_at  text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE vault_secrets
(
    name    text NOT NULL PRIMARY KEY,
    wrapped text NOT NULL
) STRICT;

CREATE TABLE accounts_v2
(
    id            text NOT NULL PRIMARY KEY,
    display_name  text,
    role          text NOT NULL,
    xiaoqu_id     text REFERENCES xiaoqu (id),
    unit          text,
    created_at    text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    revoked_at    text,
    login_hash    text UNIQUE,
    password_hash text,
    erased_at     text
) STRICT;

INSERT INTO accounts_v2 (id, display_name, role, xiaoqu_id, unit, created_at, revoked_at)
SELECT id, display_name, role, xiaoqu_id, unit, created_at, revoked_at FROM accounts;

CREATE TABLE access_tokens
(
    token_hash text NOT NULL PRIMARY KEY,
    account_id text NOT NULL REFERENCES accounts_v2 (id),
    kind       text NOT NULL CHECK (kind IN ('api', 'session')),
    issued_at  text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    expires_at text,
    revoked_at text
) STRICT;
CREATE INDEX access_tokens_account ON access_tokens (account_id);

INSERT INTO access_tokens (token_hash, account_id, kind, issued_at, revoked_at)
SELECT token_hash, id, 'api', created_at, revoked_at FROM accounts;

DROP TABLE accounts;
ALTER TABLE accounts_v2 RENAME TO accounts;
CREATE INDEX accounts_xiaoqu ON accounts (xiaoqu_id);

CREATE TABLE login_failures
(
    key       text NOT NULL,
    failed_at text NOT NULL
) STRICT;
CREATE INDEX login_failures_key ON login_failures (key, failed_at);
