-- An account may act for an organization (a property company serving
-- several xiaoqu) rather than in one xiaoqu: it sees what is addressed to
-- its party in every xiaoqu where the registry has the organization act.
ALTER TABLE accounts ADD COLUMN organization_id uuid;
