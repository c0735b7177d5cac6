-- Xiaoqu and accounts, minimal until the registry becomes event-sourced.
CREATE TABLE xiaoqu
(
    id         text NOT NULL PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    community  text NOT NULL,
    street     text NOT NULL,
    district   text NOT NULL,
    created_at text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE accounts
(
    id           text NOT NULL PRIMARY KEY,
    display_name text NOT NULL,
    role         text NOT NULL,
    xiaoqu_id    text REFERENCES xiaoqu (id),
    unit         text,
    token_hash   text NOT NULL UNIQUE,
    created_at   text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    revoked_at   text
) STRICT;

CREATE INDEX accounts_xiaoqu ON accounts (xiaoqu_id);
