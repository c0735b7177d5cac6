-- Read models of joint meetings and mediation cases, and the outbox of the
-- process manager that makes grievances follow them.

CREATE TABLE meeting_list
(
    id            text        PRIMARY KEY,
    xiaoqu        text        NOT NULL,
    kind          text        NOT NULL,
    status        text        NOT NULL,
    scheduled_for text        NOT NULL,
    convened_at   text        NOT NULL,
    closed_at     text,
    version       integer     NOT NULL,
    state         text        NOT NULL
) STRICT;
CREATE INDEX meeting_list_xiaoqu ON meeting_list (xiaoqu, scheduled_for DESC);

-- Action items (督办事项) of every meeting; open ones return on the next agenda.
CREATE TABLE meeting_action_items
(
    id          text        PRIMARY KEY,
    meeting     text        NOT NULL,
    xiaoqu      text        NOT NULL,
    owner       text        NOT NULL,
    description text        NOT NULL,
    due_at      text        NOT NULL,
    done_at     text
) STRICT;
CREATE INDEX meeting_action_items_meeting ON meeting_action_items (meeting);
CREATE INDEX meeting_action_items_open ON meeting_action_items (xiaoqu, due_at) WHERE done_at IS NULL;

CREATE TABLE case_list
(
    id        text        PRIMARY KEY,
    xiaoqu    text        NOT NULL,
    status    text        NOT NULL,
    tier      text        NOT NULL,
    matter    text        NOT NULL,
    opened_at text        NOT NULL,
    version   integer     NOT NULL,
    state     text        NOT NULL
) STRICT;
CREATE INDEX case_list_xiaoqu ON case_list (xiaoqu, opened_at DESC);

-- Obligations of agreements; the scheduler marks open ones missed when due.
CREATE TABLE case_obligations
(
    id      text        PRIMARY KEY,
    case_id text        NOT NULL,
    xiaoqu  text        NOT NULL,
    status  text        NOT NULL,
    due_at  text        NOT NULL
) STRICT;
CREATE INDEX case_obligations_case ON case_obligations (case_id);
CREATE INDEX case_obligations_due ON case_obligations (due_at) WHERE status = 'open';

-- Case and meeting events whose grievances still have to follow them.
CREATE TABLE pending_follow_ups
(
    source_type     text        NOT NULL,
    source_id       text        NOT NULL,
    sequence        integer     NOT NULL,
    event_type      text        NOT NULL,
    global_position integer     NOT NULL,
    created_at      text        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (source_type, source_id, sequence)
) STRICT;
CREATE INDEX pending_follow_ups_order ON pending_follow_ups (global_position);
