-- Tamper evidence (docs/auditors.md). Every event carries
-- hash = SHA-256(previous hash of its stream ‖ SHA-256(canonical bytes));
-- the canonical bytes (gateway/src/audit/chain.rs) include the payload and
-- metadata text exactly as stored. `json` keeps that text verbatim (the
-- service writes it in canonical form), so reading it back costs no
-- conversion and hashes what was written.
ALTER TABLE events
    ALTER COLUMN payload TYPE json USING payload::json,
    ALTER COLUMN metadata TYPE json USING metadata::json;
ALTER TABLE events ADD COLUMN hash bytea CHECK (hash IS NULL OR octet_length(hash) = 32);

-- The last sequence and hash of every stream, moved in the append's
-- transaction: a deleted or added tail event no longer matches its head.
CREATE TABLE event_streams
(
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    last_sequence  bigint NOT NULL CHECK (last_sequence >= 1),
    last_hash      bytea  NOT NULL CHECK (octet_length(last_hash) = 32),
    PRIMARY KEY (aggregate_type, aggregate_id)
);

-- Signed tree heads over every event hash in feed order (RFC 6962 Merkle
-- tree). Auditors export them and keep them outside the system.
CREATE TABLE audit_checkpoints
(
    tree_size  bigint      PRIMARY KEY CHECK (tree_size >= 0),
    root       bytea       NOT NULL CHECK (octet_length(root) = 32),
    signed_at  timestamptz NOT NULL,
    public_key bytea       NOT NULL CHECK (octet_length(public_key) = 32),
    signature  bytea       NOT NULL CHECK (octet_length(signature) = 64)
);

CREATE TRIGGER audit_checkpoints_append_only
    BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();

-- Events stored before the chain existed are sealed once at start-up
-- (hash NULL → hash); no other change to an event is ever allowed.
CREATE OR REPLACE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'events'
       AND OLD.hash IS NULL AND NEW.hash IS NOT NULL
       AND (NEW.aggregate_type, NEW.aggregate_id, NEW.sequence, NEW.event_type,
            NEW.event_version, NEW.payload::text, NEW.metadata::text, NEW.global_position,
            NEW.transaction_id, NEW.event_id, NEW.recorded_at)
           IS NOT DISTINCT FROM
           (OLD.aggregate_type, OLD.aggregate_id, OLD.sequence, OLD.event_type,
            OLD.event_version, OLD.payload::text, OLD.metadata::text, OLD.global_position,
            OLD.transaction_id, OLD.event_id, OLD.recorded_at)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Finds the events still to seal without scanning the log at every start.
CREATE INDEX events_unsealed ON events (aggregate_type, aggregate_id) WHERE hash IS NULL;
