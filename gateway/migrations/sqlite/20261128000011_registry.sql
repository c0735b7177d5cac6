-- The organizations acting as each xiaoqu's parties, kept from the xiaoqu
-- registry streams (aggregate type `xiaoqu`) together with the `xiaoqu`
-- table. One organization may act in several xiaoqu.
CREATE TABLE xiaoqu_parties
(
    xiaoqu       text NOT NULL,
    party        text NOT NULL,
    organization text NOT NULL,
    name         text NOT NULL,
    since        text NOT NULL,
    PRIMARY KEY (xiaoqu, party, organization)
) STRICT;
CREATE INDEX xiaoqu_parties_organization ON xiaoqu_parties (organization);
