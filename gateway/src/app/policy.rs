//! Who may see a grievance, and who may see who filed it. Deny by default:
//! a role not named here sees nothing.

use lianxi_domain::grievance::GrievanceState;
use lianxi_domain::mediation::{CaseParty, MediationCaseState};
use lianxi_domain::values::{AccountId, PartyRole, Respondent};
use lianxi_domain::Role;
use serde_json::Value;
use uuid::Uuid;

use lianxi_projections::grievance_list::Audience;

use crate::db::{AccountRecord, Scope, XiaoquRecord};

/// Whether `caller`, already known to have the grievance's xiaoqu in scope,
/// may see it.
pub fn can_view(caller: &AccountRecord, grievance: &GrievanceState) -> bool {
    let addressed_to = |party: PartyRole| {
        grievance.assigned_party == Some(party)
            || grievance.responsible_party == Some(party)
            || matches!(
                (grievance.respondent, party),
                (Respondent::PropertyCompany, PartyRole::PropertyCompany)
                    | (Respondent::OwnersCommittee, PartyRole::OwnersCommittee)
            )
    };
    match caller.role {
        Role::Resident => {
            grievance.filer == caller.id
                || grievance.duplicates.iter().any(|d| d.filer == caller.id)
        }
        Role::SupervisoryCommittee => {
            grievance.filer == caller.id || addressed_to(PartyRole::SupervisoryCommittee)
        }
        Role::PropertyCompany => addressed_to(PartyRole::PropertyCompany),
        Role::OwnersCommittee => addressed_to(PartyRole::OwnersCommittee),
        Role::MicroOrganization => addressed_to(PartyRole::MicroOrganization),
        Role::PartyBranch | Role::Auditor => true,
        Role::Community | Role::Street | Role::District => caller
            .role
            .tier()
            .is_some_and(|tier| grievance.tier >= tier),
        Role::Admin | Role::System => false,
    }
}

/// The list audience matching [`can_view`] (plus the scope check): what
/// `caller` sees in lists is exactly what they could open one by one.
/// The audience of an account acting for an organization, given the xiaoqu
/// where the registry has the organization act as the account's party.
pub fn organization_audience(caller: &AccountRecord, places: Vec<Uuid>) -> Audience {
    let (party, respondent) = match caller.role {
        Role::PropertyCompany => ("property_company", Some("property_company")),
        Role::OwnersCommittee => ("owners_committee", Some("owners_committee")),
        Role::MicroOrganization => ("micro_organization", None),
        Role::SupervisoryCommittee => ("supervisory_committee", None),
        _ => return Audience::Nothing,
    };
    Audience::PartyIn {
        xiaoqu: places,
        party: party.to_owned(),
        respondent: respondent.map(str::to_owned),
    }
}

/// A party's wire name (`property_company`, …).
pub fn wire_party(party: PartyRole) -> String {
    match serde_json::to_value(party) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

pub fn audience(caller: &AccountRecord) -> Audience {
    let xiaoqu = match &caller.scope {
        Scope::Xiaoqu(x) => Some(x.0),
        _ => None,
    };
    let party = |party: &str, respondent: Option<&str>, filer: Option<AccountId>| match xiaoqu {
        Some(x) => Audience::Party {
            xiaoqu: x,
            party: party.to_owned(),
            respondent: respondent.map(str::to_owned),
            filer: filer.map(|f| f.0),
        },
        None => Audience::Nothing,
    };
    match caller.role {
        Role::Resident => Audience::Follower(caller.id.0),
        Role::SupervisoryCommittee => party("supervisory_committee", None, Some(caller.id)),
        Role::PropertyCompany => party("property_company", Some("property_company"), None),
        Role::OwnersCommittee => party("owners_committee", Some("owners_committee"), None),
        Role::MicroOrganization => party("micro_organization", None, None),
        Role::PartyBranch => xiaoqu.map_or(Audience::Nothing, Audience::Xiaoqu),
        Role::Community | Role::Street | Role::District => {
            match (&caller.scope, caller.role.tier()) {
                (Scope::Unit(unit), Some(tier)) => Audience::Tier {
                    unit_column: match caller.role {
                        Role::Community => "community",
                        Role::Street => "street",
                        _ => "district",
                    },
                    unit: unit.clone(),
                    min_tier_rank: tier as i64,
                },
                _ => Audience::Nothing,
            }
        }
        Role::Auditor => Audience::Everything,
        Role::Admin | Role::System => Audience::Nothing,
    }
}

/// Whether `caller` may know who filed: the filer, the party branch (which
/// mediates), and the respondent if the filer consented. Everyone else
/// (other parties, tiers, auditors) sees a pseudonym.
pub fn sees_filer_identity(caller: &AccountRecord, grievance: &GrievanceState) -> bool {
    caller.id == grievance.filer
        || caller.role == Role::PartyBranch
        || (grievance.identity_revealed && is_respondent(caller.role, grievance))
}

/// Whether `caller` may know who filed a duplicate merged into a grievance:
/// that filer and the party branch.
pub fn sees_duplicate_filer(caller: &AccountRecord, filer: AccountId) -> bool {
    caller.id == filer || caller.role == Role::PartyBranch
}

/// Whether `role` is the party the grievance was filed against.
fn is_respondent(role: Role, grievance: &GrievanceState) -> bool {
    matches!(
        (grievance.respondent, role),
        (Respondent::PropertyCompany, Role::PropertyCompany)
            | (Respondent::OwnersCommittee, Role::OwnersCommittee)
    )
}

/// Replaces every occurrence of a person's account id with their pseudonym.
pub fn pseudonymise(value: &mut Value, people: &[(String, String)]) {
    match value {
        Value::String(s) => {
            if let Some((_, alias)) = people.iter().find(|(id, _)| id == s) {
                *s = alias.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| pseudonymise(v, people)),
        Value::Object(map) => map.values_mut().for_each(|v| pseudonymise(v, people)),
        _ => {}
    }
}

/// The roles that read a meeting in full: the five parties, the tiers
/// above, auditors (within their scope).
pub fn reads_meetings(role: Role) -> bool {
    matches!(
        role,
        Role::PartyBranch
            | Role::PropertyCompany
            | Role::OwnersCommittee
            | Role::SupervisoryCommittee
            | Role::MicroOrganization
            | Role::Community
            | Role::Street
            | Role::District
            | Role::Auditor
    )
}

/// Whether `caller`, whose scope covers a mediation case's xiaoqu, may see it.
pub fn can_view_case(caller: &AccountRecord, case: &MediationCaseState) -> bool {
    let role = caller.role;
    match role {
        Role::PartyBranch | Role::Auditor => true,
        Role::Community | Role::Street | Role::District => {
            role.tier().is_some_and(|tier| case.tier >= tier)
        }
        Role::Resident => case.is_party(CaseParty::Person(caller.id)),
        Role::SupervisoryCommittee => {
            case.is_party(CaseParty::Person(caller.id))
                || case.is_party(CaseParty::Party(PartyRole::SupervisoryCommittee))
        }
        Role::PropertyCompany | Role::OwnersCommittee | Role::MicroOrganization => role
            .party()
            .is_some_and(|p| case.is_party(CaseParty::Party(p))),
        Role::Admin | Role::System => false,
    }
}

/// The mediators (branch, tiers) know who the persons of a case are.
pub fn sees_case_people(caller: &AccountRecord) -> bool {
    matches!(
        caller.role,
        Role::PartyBranch | Role::Community | Role::Street | Role::District
    )
}

/// Whether an account's scope covers `xiaoqu`: its own xiaoqu, the unit of
/// its tier (community, street, district), or everything.
pub fn scope_covers(caller: &AccountRecord, xiaoqu: &XiaoquRecord) -> bool {
    match &caller.scope {
        Scope::Global => true,
        Scope::Xiaoqu(id) => *id == xiaoqu.id,
        // Known only from the registry: see `app::grievances::covers`.
        Scope::Organization(_) => false,
        Scope::Unit(unit) => match caller.role {
            Role::Community => *unit == xiaoqu.community,
            Role::Street => *unit == xiaoqu.street,
            Role::District => *unit == xiaoqu.district,
            _ => false,
        },
    }
}

/// Whether `role` reads the log whole: every case's story, its state at any
/// instant, chain verification and checkpoints.
pub fn audits(role: Role) -> bool {
    matches!(role, Role::Auditor | Role::Admin)
}
