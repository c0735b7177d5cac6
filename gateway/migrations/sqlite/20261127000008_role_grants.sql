-- See the PostgreSQL migration.
CREATE TABLE role_grants
(
    account_id text NOT NULL REFERENCES accounts (id),
    role       text NOT NULL,
    xiaoqu_id  text REFERENCES xiaoqu (id),
    unit       text,
    granted_at text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE UNIQUE INDEX role_grants_unique
    ON role_grants (account_id, role, coalesce(xiaoqu_id, ''), coalesce(unit, ''));

ALTER TABLE access_tokens ADD COLUMN role text;
ALTER TABLE access_tokens ADD COLUMN xiaoqu_id text;
ALTER TABLE access_tokens ADD COLUMN unit text;
