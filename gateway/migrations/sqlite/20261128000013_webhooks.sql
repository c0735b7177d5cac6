-- Webhooks: each account's subscriptions, and the outbox of deliveries the
-- webhook_outbox projection fills (one row per grievance event and active
-- subscription, in the checkpoint's transaction) and the delivery worker
-- works off. Instants are milliseconds since the epoch.
CREATE TABLE webhook_subscriptions
(
    id          text   PRIMARY KEY,
    account_id  text   NOT NULL,
    url         text   NOT NULL,
    secret      text   NOT NULL,
    created_ms  bigint NOT NULL,
    disabled_ms bigint
);
CREATE INDEX webhook_subscriptions_account ON webhook_subscriptions (account_id);

CREATE TABLE webhook_deliveries
(
    subscription_id text   NOT NULL,
    event_id        text   NOT NULL,
    grievance_id    text   NOT NULL,
    event_type      text   NOT NULL,
    sequence        bigint NOT NULL,
    global_position bigint NOT NULL,
    -- pending, delivered, skipped (not visible to the account), dead
    status          text   NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_ms bigint NOT NULL,
    last_error      text,
    settled_ms      bigint,
    PRIMARY KEY (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_ms);
