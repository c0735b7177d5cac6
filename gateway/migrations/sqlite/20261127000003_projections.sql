-- Projection checkpoints: where each read model stands in the global feed,
-- and the fencing epoch of the runner allowed to advance it.
CREATE TABLE projection_checkpoints
(
    name            text    NOT NULL PRIMARY KEY,
    transaction_id  integer NOT NULL DEFAULT 0,
    global_position integer NOT NULL DEFAULT 0,
    events_applied  integer NOT NULL DEFAULT 0,
    epoch           integer NOT NULL DEFAULT 0,
    -- SQLite has no advisory locks: the active runner holds a lease.
    lease_holder    text,
    lease_until     text,
    updated_at      text    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- Read model: grievance list and detail.
CREATE TABLE grievance_list
(
    id                text    NOT NULL PRIMARY KEY,
    xiaoqu            text    NOT NULL,
    filer             text    NOT NULL,
    title             text    NOT NULL,
    category          text    NOT NULL,
    respondent        text    NOT NULL,
    urgency           text    NOT NULL,
    channel           text    NOT NULL,
    status            text    NOT NULL,
    tier              text    NOT NULL,
    tier_rank         integer NOT NULL,
    matter_class      text,
    responsible_party text,
    assigned_party    text,
    rating            text,
    escalations       integer NOT NULL,
    reopenings        integer NOT NULL,
    merged_into       text,
    filed_at          text    NOT NULL,
    accepted_at       text,
    responded_at      text,
    resolved_at       text,
    last_changed_at   text    NOT NULL,
    version           integer NOT NULL,
    last_position     integer NOT NULL,
    state             text    NOT NULL
) STRICT;

CREATE INDEX grievance_list_xiaoqu ON grievance_list (xiaoqu, filed_at DESC, id DESC);
CREATE INDEX grievance_list_filed ON grievance_list (filed_at DESC, id DESC);

CREATE TABLE grievance_followers
(
    grievance_id text NOT NULL,
    account_id   text NOT NULL,
    PRIMARY KEY (account_id, grievance_id)
) STRICT;
