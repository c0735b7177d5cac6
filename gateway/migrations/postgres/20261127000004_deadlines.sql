-- The running deadline of each grievance, for the escalation queues and the
-- deadline scheduler.
ALTER TABLE grievance_list ADD COLUMN deadline_stage text;
ALTER TABLE grievance_list ADD COLUMN due_at timestamptz;
ALTER TABLE grievance_list ADD COLUMN paused boolean NOT NULL DEFAULT false;

CREATE INDEX grievance_list_due ON grievance_list (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX grievance_list_queue ON grievance_list (tier_rank, xiaoqu, due_at);
