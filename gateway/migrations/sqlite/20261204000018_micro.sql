-- Micro-funds and micro-projects (五微工作法), kept from their streams
-- (aggregate types `micro_fund` and `micro_project`) right after each
-- command, for listing funds with their balances and projects with their
-- standing without reading every stream. A row is replaced only by a later
-- stream version. The streams are the truth; `lianxi serve` rewrites these
-- tables from them at start.
CREATE TABLE micro_funds
(
    id         text    NOT NULL PRIMARY KEY,
    place_kind text        NOT NULL,
    place      text        NOT NULL,
    name       text        NOT NULL,
    kind       text        NOT NULL,
    received   integer      NOT NULL,
    spent      integer      NOT NULL,
    opened_at  text NOT NULL,
    version    integer      NOT NULL
) STRICT;
CREATE INDEX micro_funds_place ON micro_funds (place_kind, place);

CREATE TABLE micro_projects
(
    id          text    NOT NULL PRIMARY KEY,
    fund        text        NOT NULL,
    xiaoqu      text        NOT NULL,
    title       text        NOT NULL,
    status      text        NOT NULL,
    budget      integer      NOT NULL,
    spent       integer      NOT NULL,
    supporters  integer      NOT NULL,
    rating      integer,
    ratings     integer      NOT NULL,
    proposed_at text NOT NULL,
    closed_at   text,
    version     integer      NOT NULL
) STRICT;
CREATE INDEX micro_projects_xiaoqu ON micro_projects (xiaoqu, proposed_at DESC);
