-- Runners are no longer woken by a trigger on `events`. A NOTIFY takes a
-- database-wide lock from before its transaction commits until after, so
-- appends that notified could not share a WAL flush: they committed one
-- after another. Each instance now announces its own appends on
-- `lianxi_events`, at most every few milliseconds and outside the append's
-- transaction (gateway/src/wake.rs); runners still poll.
DROP TRIGGER IF EXISTS events_notify ON events;
DROP FUNCTION IF EXISTS events_notify();
