-- The organizations acting as each xiaoqu's parties, kept from the xiaoqu
-- registry streams (aggregate type `xiaoqu`) together with the `xiaoqu`
-- table. One organization may act in several xiaoqu.
CREATE TABLE xiaoqu_parties
(
    xiaoqu       uuid        NOT NULL,
    party        text        NOT NULL,
    organization uuid        NOT NULL,
    name         text        NOT NULL,
    since        timestamptz NOT NULL,
    PRIMARY KEY (xiaoqu, party, organization)
);
CREATE INDEX xiaoqu_parties_organization ON xiaoqu_parties (organization);
