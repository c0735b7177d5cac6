-- Projection checkpoints: where each read model stands in the global feed,
-- and the fencing epoch of the runner allowed to advance it.
CREATE TABLE projection_checkpoints
(
    name            text        PRIMARY KEY,
    -- Position after the last applied event: (transaction id, global position).
    transaction_id  bigint      NOT NULL DEFAULT 0,
    global_position bigint      NOT NULL DEFAULT 0,
    events_applied  bigint      NOT NULL DEFAULT 0,
    -- Bumped by every runner that takes the projection over; a runner whose
    -- epoch is no longer current cannot commit.
    epoch           bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Wake-up hint for projection runners; they also poll.
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('lianxi_events', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_notify
    AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();

-- Read model: grievance list and detail.
CREATE TABLE grievance_list
(
    id                uuid        PRIMARY KEY,
    xiaoqu            uuid        NOT NULL,
    filer             uuid        NOT NULL,
    title             text        NOT NULL,
    category          text        NOT NULL,
    respondent        text        NOT NULL,
    urgency           text        NOT NULL,
    channel           text        NOT NULL,
    status            text        NOT NULL,
    tier              text        NOT NULL,
    tier_rank         integer     NOT NULL,
    matter_class      text,
    responsible_party text,
    assigned_party    text,
    rating            text,
    escalations       integer     NOT NULL,
    reopenings        integer     NOT NULL,
    merged_into       uuid,
    filed_at          timestamptz NOT NULL,
    accepted_at       timestamptz,
    responded_at      timestamptz,
    resolved_at       timestamptz,
    last_changed_at   timestamptz NOT NULL,
    version           bigint      NOT NULL,
    last_position     bigint      NOT NULL,
    state             jsonb       NOT NULL
);

CREATE INDEX grievance_list_xiaoqu ON grievance_list (xiaoqu, filed_at DESC, id DESC);
CREATE INDEX grievance_list_filed ON grievance_list (filed_at DESC, id DESC);

-- Everyone who follows a grievance: its filer and the filers of its duplicates.
CREATE TABLE grievance_followers
(
    grievance_id uuid NOT NULL,
    account_id   uuid NOT NULL,
    PRIMARY KEY (account_id, grievance_id)
);
