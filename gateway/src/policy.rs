//! Who may see a grievance, and who may see who filed it. Deny by default:
//! a role not named here sees nothing.

use lianxi_domain::grievance::GrievanceState;
use lianxi_domain::values::{AccountId, PartyRole, Respondent};
use lianxi_domain::Role;
use sha2::{Digest, Sha256};

use crate::db::AccountRecord;

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

/// Whether `caller` may know who filed: the filer and the party branch
/// (which mediates). Everyone else sees a pseudonym.
pub fn sees_filer_identity(caller: &AccountRecord, grievance: &GrievanceState) -> bool {
    caller.id == grievance.filer || caller.role == Role::PartyBranch
}

/// A stable pseudonym for a person: the same account always maps to the
/// same pseudonym, and the pseudonym does not reveal the account.
pub fn pseudonym(account: AccountId) -> String {
    let digest = Sha256::digest(format!("lianxi/pseudonym/v1/{account}").as_bytes());
    format!("person-{}", hex::encode(&digest[..6]))
}
