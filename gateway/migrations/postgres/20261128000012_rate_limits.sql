-- Requests counted against rate limits (filing per account and per client
-- address), shared by every instance. Rows older than the window are
-- deleted as new ones arrive.
CREATE TABLE rate_limit_hits
(
    key text        NOT NULL,
    at  timestamptz NOT NULL
);
CREATE INDEX rate_limit_hits_key ON rate_limit_hits (key, at);
