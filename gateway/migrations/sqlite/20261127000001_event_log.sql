-- The event log. sqlite-es appends into `events` with its own seven
-- columns; the others are filled by defaults and a trigger.
CREATE TABLE events
(
    aggregate_type  text    NOT NULL,
    aggregate_id    text    NOT NULL,
    sequence        integer NOT NULL CHECK (sequence >= 1),
    event_type      text    NOT NULL,
    event_version   text    NOT NULL,
    payload         text    NOT NULL,
    metadata        text    NOT NULL,
    -- Commit order across all streams: SQLite has one writer at a time, so
    -- the position taken inside the write transaction is the commit order.
    -- Stored rather than read from rowid, which VACUUM may renumber.
    global_position integer,
    event_id        text    NOT NULL DEFAULT (lower(
        hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' ||
        substr(hex(randomblob(2)), 2) || '-' ||
        substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' ||
        hex(randomblob(6)))),
    recorded_at     text    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
) STRICT;

CREATE UNIQUE INDEX events_event_id ON events (event_id);
CREATE UNIQUE INDEX events_global_position ON events (global_position);

CREATE TRIGGER events_global_position AFTER INSERT ON events
BEGIN
    UPDATE events
       SET global_position = (SELECT coalesce(max(global_position), 0) + 1 FROM events)
     WHERE rowid = NEW.rowid;
END;

-- History is append-only, except for the one position assignment above.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
WHEN OLD.global_position IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TABLE snapshots
(
    aggregate_type   text    NOT NULL,
    aggregate_id     text    NOT NULL,
    last_sequence    integer NOT NULL CHECK (last_sequence >= 0),
    current_snapshot integer NOT NULL CHECK (current_snapshot >= 0),
    payload          text    NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
) STRICT;
