-- Micro-funds and micro-projects (五微工作法), kept from their streams
-- (aggregate types `micro_fund` and `micro_project`) right after each
-- command, for listing funds with their balances and projects with their
-- standing without reading every stream. A row is replaced only by a later
-- stream version. The streams are the truth; `lianxi serve` rewrites these
-- tables from them at start.
CREATE TABLE micro_funds
(
    id         uuid        PRIMARY KEY,
    place_kind text        NOT NULL,
    place      text        NOT NULL,
    name       text        NOT NULL,
    kind       text        NOT NULL,
    received   bigint      NOT NULL,
    spent      bigint      NOT NULL,
    opened_at  timestamptz NOT NULL,
    version    bigint      NOT NULL
);
CREATE INDEX micro_funds_place ON micro_funds (place_kind, place);

CREATE TABLE micro_projects
(
    id          uuid        PRIMARY KEY,
    fund        uuid        NOT NULL,
    xiaoqu      uuid        NOT NULL,
    title       text        NOT NULL,
    status      text        NOT NULL,
    budget      bigint      NOT NULL,
    spent       bigint      NOT NULL,
    supporters  bigint      NOT NULL,
    rating      bigint,
    ratings     bigint      NOT NULL,
    proposed_at timestamptz NOT NULL,
    closed_at   timestamptz,
    version     bigint      NOT NULL
);
CREATE INDEX micro_projects_xiaoqu ON micro_projects (xiaoqu, proposed_at DESC);
