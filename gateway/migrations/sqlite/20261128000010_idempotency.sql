-- The first answer to a POST sent with an `Idempotency-Key`, kept per account
-- so that a retry gets that answer again instead of running the command twice.
-- `key_hash` (SHA-256 of account and key) is what a command's events carry in
-- their metadata; the append marks the row `committed_*` in its own
-- transaction, so a retry after a crash between commit and answer can tell.
CREATE TABLE idempotency_keys
(
    account_id       text        NOT NULL,
    key              text        NOT NULL,
    key_hash         text        NOT NULL UNIQUE,
    request_hash     text        NOT NULL,
    state            text        NOT NULL CHECK (state IN ('in_progress', 'completed')),
    response_status  integer,
    -- A JSON object of the kept headers (Content-Type, Location, ETag).
    response_headers text,
    response_body    blob,
    committed_type   text,
    committed_id     text,
    started_at       text        NOT NULL,
    expires_at       text        NOT NULL,
    PRIMARY KEY (account_id, key)
) STRICT;
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
