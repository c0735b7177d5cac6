-- A person may hold several roles, each in its own scope. The role an
-- account was created with stays on `accounts`; further roles are grants.
CREATE TABLE role_grants
(
    account_id uuid        NOT NULL REFERENCES accounts (id),
    role       text        NOT NULL,
    xiaoqu_id  uuid        REFERENCES xiaoqu (id),
    unit       text,
    granted_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX role_grants_unique
    ON role_grants (account_id, role, coalesce(xiaoqu_id::text, ''), coalesce(unit, ''));

-- The role a token acts in; NULL: the account's own.
ALTER TABLE access_tokens
    ADD COLUMN role      text,
    ADD COLUMN xiaoqu_id uuid,
    ADD COLUMN unit      text;
