-- See the PostgreSQL migration.
ALTER TABLE accounts ADD COLUMN organization_id text;
