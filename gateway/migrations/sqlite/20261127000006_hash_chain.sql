-- Tamper evidence (docs/auditors.md). Every event carries
-- hash = SHA-256(previous hash of its stream ‖ SHA-256(canonical bytes));
-- the canonical bytes (gateway/src/audit/chain.rs) include the payload and
-- metadata text exactly as stored.
ALTER TABLE events ADD COLUMN hash blob CHECK (hash IS NULL OR length(hash) = 32);

-- The last sequence and hash of every stream, moved in the append's
-- transaction: a deleted or added tail event no longer matches its head.
CREATE TABLE event_streams
(
    aggregate_type text    NOT NULL,
    aggregate_id   text    NOT NULL,
    last_sequence  integer NOT NULL CHECK (last_sequence >= 1),
    last_hash      blob    NOT NULL CHECK (length(last_hash) = 32),
    PRIMARY KEY (aggregate_type, aggregate_id)
) STRICT;

-- Signed tree heads over every event hash in feed order (RFC 6962 Merkle
-- tree). Auditors export them and keep them outside the system.
CREATE TABLE audit_checkpoints
(
    tree_size  integer PRIMARY KEY CHECK (tree_size >= 0),
    root       blob    NOT NULL CHECK (length(root) = 32),
    signed_at  text    NOT NULL,
    public_key blob    NOT NULL CHECK (length(public_key) = 32),
    signature  blob    NOT NULL CHECK (length(signature) = 64)
) STRICT;

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;

CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;

-- Events stored before the chain existed are sealed once at start-up
-- (hash NULL → hash); no other change to an event is ever allowed.
DROP TRIGGER events_no_update;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
WHEN OLD.global_position IS NOT NULL
 AND NOT (OLD.hash IS NULL AND NEW.hash IS NOT NULL
          AND NEW.aggregate_type IS OLD.aggregate_type AND NEW.aggregate_id IS OLD.aggregate_id
          AND NEW.sequence IS OLD.sequence AND NEW.event_type IS OLD.event_type
          AND NEW.event_version IS OLD.event_version AND NEW.payload IS OLD.payload
          AND NEW.metadata IS OLD.metadata AND NEW.global_position IS OLD.global_position
          AND NEW.event_id IS OLD.event_id AND NEW.recorded_at IS OLD.recorded_at)
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

-- Finds the events still to seal without scanning the log at every start.
CREATE INDEX events_unsealed ON events (aggregate_type, aggregate_id) WHERE hash IS NULL;
