-- Owners' votes by xiaoqu, kept from the vote streams (aggregate type
-- `owners_vote`) right after each command, for listing a xiaoqu's votes
-- without reading every vote's stream. The streams are the truth;
-- `lianxi serve` rewrites this table from them at start.
CREATE TABLE owners_votes
(
    id        text NOT NULL PRIMARY KEY,
    xiaoqu    text NOT NULL,
    matter    text NOT NULL,
    question  text NOT NULL,
    opens_at  text NOT NULL,
    closes_at text NOT NULL,
    closed_at text,
    outcome   text
) STRICT;
CREATE INDEX owners_votes_xiaoqu ON owners_votes (xiaoqu, opens_at DESC);
