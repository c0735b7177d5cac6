-- Xiaoqu and accounts, minimal until the registry becomes event-sourced.
CREATE TABLE xiaoqu
(
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL UNIQUE,
    community  text        NOT NULL,
    street     text        NOT NULL,
    district   text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts
(
    id           uuid        PRIMARY KEY,
    display_name text        NOT NULL,
    role         text        NOT NULL,
    -- Scope: a xiaoqu for xiaoqu roles, a tier unit (community, street or
    -- district name) for tier roles, neither for auditors and admins.
    xiaoqu_id    uuid        REFERENCES xiaoqu (id),
    unit         text,
    -- SHA-256 of the bearer token; the token itself is shown once and never stored.
    token_hash   text        NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

CREATE INDEX accounts_xiaoqu ON accounts (xiaoqu_id);
