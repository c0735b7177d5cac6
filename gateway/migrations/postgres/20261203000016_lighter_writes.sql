-- What a command costs PostgreSQL, made smaller.
--
-- The grievance list's folded state is read back only by the service, which
-- parses it itself: kept as text, PostgreSQL no longer parses it as JSON at
-- every write.
ALTER TABLE grievance_list ALTER COLUMN state TYPE text;

-- Neither index was ever read: the feed is read through events_feed
-- (transaction_id, global_position), global_position is an identity the
-- log assigns, and event ids are random UUIDs the service makes. Each cost
-- every appended event an index entry (the event id's on a random page).
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_global_position_key;
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_event_id_key;
