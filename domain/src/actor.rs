//! Who acts: an account with one role.

use serde::{Deserialize, Serialize};

use crate::values::{AccountId, PartyRole, Tier};

/// The roles of DOMAIN.md. `System` is the service itself (deadline timers,
/// process managers); no account can hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Resident,
    PropertyCompany,
    OwnersCommittee,
    SupervisoryCommittee,
    MicroOrganization,
    PartyBranch,
    Community,
    Street,
    District,
    Auditor,
    Admin,
    System,
}

impl Role {
    pub const ALL: [Role; 12] = [
        Role::Resident,
        Role::PropertyCompany,
        Role::OwnersCommittee,
        Role::SupervisoryCommittee,
        Role::MicroOrganization,
        Role::PartyBranch,
        Role::Community,
        Role::Street,
        Role::District,
        Role::Auditor,
        Role::Admin,
        Role::System,
    ];

    /// The stable wire name (`party_branch`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::PropertyCompany => "property_company",
            Role::OwnersCommittee => "owners_committee",
            Role::SupervisoryCommittee => "supervisory_committee",
            Role::MicroOrganization => "micro_organization",
            Role::PartyBranch => "party_branch",
            Role::Community => "community",
            Role::Street => "street",
            Role::District => "district",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The escalation tier this role stands for, if it is a tier role.
    pub fn tier(self) -> Option<Tier> {
        match self {
            Role::Community => Some(Tier::Community),
            Role::Street => Some(Tier::Street),
            Role::District => Some(Tier::District),
            _ => None,
        }
    }

    /// The role that handles matters at `tier`: the party branch in the
    /// xiaoqu, the tier's own role above it.
    pub fn handler_of(tier: Tier) -> Role {
        match tier {
            Tier::Xiaoqu => Role::PartyBranch,
            Tier::Community => Role::Community,
            Tier::Street => Role::Street,
            Tier::District => Role::District,
        }
    }

    /// The party this role acts as, if it can be made responsible for a grievance.
    pub fn party(self) -> Option<PartyRole> {
        match self {
            Role::PartyBranch => Some(PartyRole::PartyBranch),
            Role::PropertyCompany => Some(PartyRole::PropertyCompany),
            Role::OwnersCommittee => Some(PartyRole::OwnersCommittee),
            Role::SupervisoryCommittee => Some(PartyRole::SupervisoryCommittee),
            Role::MicroOrganization => Some(PartyRole::MicroOrganization),
            Role::Community => Some(PartyRole::Community),
            Role::Street => Some(PartyRole::Street),
            Role::District => Some(PartyRole::District),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `Ok` if `condition` holds, else the error `error` builds: one rule of a
/// `decide`.
pub(crate) fn require<E>(condition: bool, error: impl FnOnce() -> E) -> Result<(), E> {
    if condition {
        Ok(())
    } else {
        Err(error())
    }
}

/// The account issuing a command, as established by the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub account: AccountId,
    pub role: Role,
}

impl Actor {
    pub fn new(account: AccountId, role: Role) -> Self {
        Self { account, role }
    }
}
