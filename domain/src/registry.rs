//! The registry of xiaoqu: the `XiaoquRegistry` aggregate, one stream per
//! xiaoqu.
//!
//! A xiaoqu sits in a community, which sits in a street, which sits in a
//! district: the hierarchy escalation climbs. Its parties are the five of
//! DOMAIN.md, each named as the organization that acts as it (the property
//! company "某某物业服务有限公司", a volunteer group …). One organization may
//! serve several xiaoqu (a property company usually does): it carries the
//! same `OrganizationId` in each. Every change is an event, so auditors see
//! who changed the registry, and when.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::actor::{require, Actor, Role};
use crate::services::Clock;
use crate::values::{OrganizationId, PartyRole, PlaceName, XiaoquId};

/// Where a xiaoqu sits on the escalation ladder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub community: PlaceName,
    pub street: PlaceName,
    pub district: PlaceName,
}

/// An organization acting as one of a xiaoqu's parties.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredParty {
    pub party: PartyRole,
    pub organization: OrganizationId,
    pub name: PlaceName,
    pub since: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegistryAction {
    RegisterXiaoqu {
        xiaoqu: XiaoquId,
        name: PlaceName,
        placement: Placement,
    },
    RenameXiaoqu {
        name: PlaceName,
    },
    /// Attach the xiaoqu to another community, street or district.
    MoveXiaoqu {
        placement: Placement,
    },
    /// An organization starts acting as one of the parties. Micro-organizations
    /// may be several; every other party is one organization at a time.
    RegisterParty {
        party: PartyRole,
        organization: OrganizationId,
        name: PlaceName,
    },
    /// The organization stops acting as that party (a property company's
    /// contract ended, a group dissolved).
    RetireParty {
        party: PartyRole,
        organization: OrganizationId,
    },
}

impl RegistryAction {
    pub fn name(&self) -> &'static str {
        match self {
            RegistryAction::RegisterXiaoqu { .. } => "register_xiaoqu",
            RegistryAction::RenameXiaoqu { .. } => "rename_xiaoqu",
            RegistryAction::MoveXiaoqu { .. } => "move_xiaoqu",
            RegistryAction::RegisterParty { .. } => "register_party",
            RegistryAction::RetireParty { .. } => "retire_party",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryCommand {
    pub actor: Actor,
    pub action: RegistryAction,
}

impl RegistryCommand {
    pub fn new(actor: Actor, action: RegistryAction) -> Self {
        Self { actor, action }
    }
}

/// What happened to a xiaoqu's registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegistryEvent {
    XiaoquRegistered {
        xiaoqu: XiaoquId,
        name: PlaceName,
        placement: Placement,
        at: DateTime<Utc>,
    },
    XiaoquRenamed {
        from: PlaceName,
        to: PlaceName,
        at: DateTime<Utc>,
    },
    XiaoquMoved {
        from: Placement,
        to: Placement,
        at: DateTime<Utc>,
    },
    PartyRegistered {
        party: PartyRole,
        organization: OrganizationId,
        name: PlaceName,
        at: DateTime<Utc>,
    },
    PartyRetired {
        party: PartyRole,
        organization: OrganizationId,
        at: DateTime<Utc>,
    },
}

impl RegistryEvent {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            RegistryEvent::XiaoquRegistered { at, .. }
            | RegistryEvent::XiaoquRenamed { at, .. }
            | RegistryEvent::XiaoquMoved { at, .. }
            | RegistryEvent::PartyRegistered { at, .. }
            | RegistryEvent::PartyRetired { at, .. } => *at,
        }
    }
}

impl DomainEvent for RegistryEvent {
    fn event_type(&self) -> String {
        match self {
            RegistryEvent::XiaoquRegistered { .. } => "XiaoquRegistered",
            RegistryEvent::XiaoquRenamed { .. } => "XiaoquRenamed",
            RegistryEvent::XiaoquMoved { .. } => "XiaoquMoved",
            RegistryEvent::PartyRegistered { .. } => "PartyRegistered",
            RegistryEvent::PartyRetired { .. } => "PartyRetired",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

/// Every rule of the registry, one variant per rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("the role {role} may not {action} (admins keep the registry)")]
    RoleNotAllowed { action: &'static str, role: Role },
    #[error("this xiaoqu is registered already")]
    AlreadyRegistered,
    #[error("no xiaoqu is registered under this id")]
    NotRegistered,
    #[error("{0:?} is not one of a xiaoqu's five parties")]
    NotAXiaoquParty(PartyRole),
    #[error("an organization acts as {0:?} already; retire it first")]
    PartyTaken(PartyRole),
    #[error("that organization does not act as {0:?} here")]
    NotActing(PartyRole),
}

/// What `XiaoquRegistry::handle` consults: the clock.
#[derive(Clone, Debug)]
pub struct RegistryServices {
    pub clock: Arc<dyn Clock>,
}

impl RegistryServices {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock }
    }
}

/// A registered xiaoqu.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct XiaoquState {
    pub id: XiaoquId,
    pub name: PlaceName,
    pub placement: Placement,
    /// The organizations acting as its parties now.
    pub parties: Vec<RegisteredParty>,
    pub registered_at: DateTime<Utc>,
    pub last_changed_at: DateTime<Utc>,
}

/// The registry entry of one xiaoqu; empty before `XiaoquRegistered`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct XiaoquRegistry {
    state: Option<XiaoquState>,
}

impl XiaoquRegistry {
    pub fn state(&self) -> Option<&XiaoquState> {
        self.state.as_ref()
    }

    /// The events a command produces, or why it is refused.
    pub fn decide(
        &self,
        command: RegistryCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<RegistryEvent>, RegistryError> {
        let RegistryCommand { actor, action } = command;
        let name = action.name();
        // The service records registrations made before the registry existed.
        let system_may = matches!(action, RegistryAction::RegisterXiaoqu { .. });
        require(
            actor.role == Role::Admin || (system_may && actor.role == Role::System),
            || RegistryError::RoleNotAllowed {
                action: name,
                role: actor.role,
            },
        )?;
        let state = match (&self.state, action) {
            (
                None,
                RegistryAction::RegisterXiaoqu {
                    xiaoqu,
                    name,
                    placement,
                },
            ) => {
                return Ok(vec![RegistryEvent::XiaoquRegistered {
                    xiaoqu,
                    name,
                    placement,
                    at: now,
                }])
            }
            (Some(_), RegistryAction::RegisterXiaoqu { .. }) => {
                return Err(RegistryError::AlreadyRegistered)
            }
            (None, _) => return Err(RegistryError::NotRegistered),
            (Some(state), action) => (state, action),
        };
        let (state, action) = state;
        let event = match action {
            RegistryAction::RegisterXiaoqu { .. } => return Err(RegistryError::AlreadyRegistered),
            RegistryAction::RenameXiaoqu { name } => {
                if name == state.name {
                    return Ok(Vec::new());
                }
                RegistryEvent::XiaoquRenamed {
                    from: state.name.clone(),
                    to: name,
                    at: now,
                }
            }
            RegistryAction::MoveXiaoqu { placement } => {
                if placement == state.placement {
                    return Ok(Vec::new());
                }
                RegistryEvent::XiaoquMoved {
                    from: state.placement.clone(),
                    to: placement,
                    at: now,
                }
            }
            RegistryAction::RegisterParty {
                party,
                organization,
                name,
            } => {
                require(PartyRole::MEETING_PARTIES.contains(&party), || {
                    RegistryError::NotAXiaoquParty(party)
                })?;
                let acting = |p: &&RegisteredParty| p.party == party;
                if state
                    .parties
                    .iter()
                    .filter(acting)
                    .any(|p| p.organization == organization)
                {
                    // Registered already: a retry changes nothing.
                    return Ok(Vec::new());
                }
                let several = party == PartyRole::MicroOrganization;
                require(
                    several || !state.parties.iter().any(|p| p.party == party),
                    || RegistryError::PartyTaken(party),
                )?;
                RegistryEvent::PartyRegistered {
                    party,
                    organization,
                    name,
                    at: now,
                }
            }
            RegistryAction::RetireParty {
                party,
                organization,
            } => {
                require(
                    state
                        .parties
                        .iter()
                        .any(|p| p.party == party && p.organization == organization),
                    || RegistryError::NotActing(party),
                )?;
                RegistryEvent::PartyRetired {
                    party,
                    organization,
                    at: now,
                }
            }
        };
        Ok(vec![event])
    }
}

impl Aggregate for XiaoquRegistry {
    /// Never changes once data exists: it is stored with every event.
    const TYPE: &'static str = "xiaoqu";
    type Command = RegistryCommand;
    type Event = RegistryEvent;
    type Error = RegistryError;
    type Services = RegistryServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command, services.clock.now())? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        let at = event.at();
        match (&mut self.state, event) {
            (
                None,
                RegistryEvent::XiaoquRegistered {
                    xiaoqu,
                    name,
                    placement,
                    at,
                },
            ) => {
                self.state = Some(XiaoquState {
                    id: xiaoqu,
                    name,
                    placement,
                    parties: Vec::new(),
                    registered_at: at,
                    last_changed_at: at,
                });
            }
            (None, _) | (Some(_), RegistryEvent::XiaoquRegistered { .. }) => {}
            (Some(state), event) => {
                match event {
                    RegistryEvent::XiaoquRegistered { .. } => {}
                    RegistryEvent::XiaoquRenamed { to, .. } => state.name = to,
                    RegistryEvent::XiaoquMoved { to, .. } => state.placement = to,
                    RegistryEvent::PartyRegistered {
                        party,
                        organization,
                        name,
                        at,
                    } => state.parties.push(RegisteredParty {
                        party,
                        organization,
                        name,
                        since: at,
                    }),
                    RegistryEvent::PartyRetired {
                        party,
                        organization,
                        ..
                    } => state
                        .parties
                        .retain(|p| !(p.party == party && p.organization == organization)),
                }
                state.last_changed_at = at;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use cqrs_es::test::TestFramework;
    use uuid::Uuid;

    use super::*;
    use crate::services::FixedClock;
    use crate::values::AccountId;

    type Framework = TestFramework<XiaoquRegistry>;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
            .single()
            .expect("time")
    }
    fn framework() -> Framework {
        Framework::with(RegistryServices::new(Arc::new(FixedClock::at(t0()))))
    }
    fn admin() -> Actor {
        Actor::new(AccountId(Uuid::from_u128(1)), Role::Admin)
    }
    fn branch() -> Actor {
        Actor::new(AccountId(Uuid::from_u128(2)), Role::PartyBranch)
    }
    fn system() -> Actor {
        Actor::new(AccountId(Uuid::nil()), Role::System)
    }
    fn name(s: &str) -> PlaceName {
        PlaceName::parse(s).expect("name")
    }
    const XIAOQU: XiaoquId = XiaoquId(Uuid::from_u128(10));
    const COMPANY: OrganizationId = OrganizationId(Uuid::from_u128(20));
    const OTHER: OrganizationId = OrganizationId(Uuid::from_u128(21));

    fn placement(community: &str) -> Placement {
        Placement {
            community: name(community),
            street: name("城厢街道"),
            district: name("涪城区"),
        }
    }
    fn registered() -> RegistryEvent {
        RegistryEvent::XiaoquRegistered {
            xiaoqu: XIAOQU,
            name: name("幸福里"),
            placement: placement("东苑社区"),
            at: t0(),
        }
    }
    fn register() -> RegistryAction {
        RegistryAction::RegisterXiaoqu {
            xiaoqu: XIAOQU,
            name: name("幸福里"),
            placement: placement("东苑社区"),
        }
    }
    fn company(organization: OrganizationId) -> RegistryAction {
        RegistryAction::RegisterParty {
            party: PartyRole::PropertyCompany,
            organization,
            name: name("安居物业服务有限公司"),
        }
    }
    fn company_registered(organization: OrganizationId) -> RegistryEvent {
        RegistryEvent::PartyRegistered {
            party: PartyRole::PropertyCompany,
            organization,
            name: name("安居物业服务有限公司"),
            at: t0(),
        }
    }

    #[test]
    fn an_admin_registers_a_xiaoqu_in_its_community_street_and_district() {
        framework()
            .given_no_previous_events()
            .when(RegistryCommand::new(admin(), register()))
            .then_expect_events(vec![registered()]);
    }

    #[test]
    fn only_admins_keep_the_registry_and_a_xiaoqu_registers_once() {
        framework()
            .given_no_previous_events()
            .when(RegistryCommand::new(branch(), register()))
            .then_expect_error(RegistryError::RoleNotAllowed {
                action: "register_xiaoqu",
                role: Role::PartyBranch,
            });
        framework()
            .given(vec![registered()])
            .when(RegistryCommand::new(admin(), register()))
            .then_expect_error(RegistryError::AlreadyRegistered);
    }

    #[test]
    fn the_service_records_a_registration_made_before_the_registry_but_changes_nothing_else() {
        framework()
            .given_no_previous_events()
            .when(RegistryCommand::new(system(), register()))
            .then_expect_events(vec![registered()]);
        framework()
            .given(vec![registered()])
            .when(RegistryCommand::new(
                system(),
                RegistryAction::RenameXiaoqu {
                    name: name("新名")
                },
            ))
            .then_expect_error(RegistryError::RoleNotAllowed {
                action: "rename_xiaoqu",
                role: Role::System,
            });
    }

    #[test]
    fn a_xiaoqu_is_renamed_and_a_rename_to_its_own_name_records_nothing() {
        framework()
            .given(vec![registered()])
            .when(RegistryCommand::new(
                admin(),
                RegistryAction::RenameXiaoqu {
                    name: name("幸福里二期"),
                },
            ))
            .then_expect_events(vec![RegistryEvent::XiaoquRenamed {
                from: name("幸福里"),
                to: name("幸福里二期"),
                at: t0(),
            }]);
        framework()
            .given(vec![registered()])
            .when(RegistryCommand::new(
                admin(),
                RegistryAction::RenameXiaoqu {
                    name: name("幸福里"),
                },
            ))
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_xiaoqu_moves_to_another_community_but_an_unregistered_one_cannot() {
        framework()
            .given(vec![registered()])
            .when(RegistryCommand::new(
                admin(),
                RegistryAction::MoveXiaoqu {
                    placement: placement("西苑社区"),
                },
            ))
            .then_expect_events(vec![RegistryEvent::XiaoquMoved {
                from: placement("东苑社区"),
                to: placement("西苑社区"),
                at: t0(),
            }]);
        framework()
            .given_no_previous_events()
            .when(RegistryCommand::new(
                admin(),
                RegistryAction::MoveXiaoqu {
                    placement: placement("西苑社区"),
                },
            ))
            .then_expect_error(RegistryError::NotRegistered);
    }

    #[test]
    fn a_property_company_is_registered_once_and_a_second_one_must_wait_for_its_retirement() {
        framework()
            .given(vec![registered()])
            .when(RegistryCommand::new(admin(), company(COMPANY)))
            .then_expect_events(vec![company_registered(COMPANY)]);
        framework()
            .given(vec![registered(), company_registered(COMPANY)])
            .when(RegistryCommand::new(admin(), company(COMPANY)))
            .then_expect_events(vec![]);
        framework()
            .given(vec![registered(), company_registered(COMPANY)])
            .when(RegistryCommand::new(admin(), company(OTHER)))
            .then_expect_error(RegistryError::PartyTaken(PartyRole::PropertyCompany));
    }

    #[test]
    fn several_micro_organizations_act_at_once_but_tiers_are_no_party() {
        let group = |organization| RegistryAction::RegisterParty {
            party: PartyRole::MicroOrganization,
            organization,
            name: name("银发志愿队"),
        };
        framework()
            .given(vec![
                registered(),
                RegistryEvent::PartyRegistered {
                    party: PartyRole::MicroOrganization,
                    organization: COMPANY,
                    name: name("楼栋互助队"),
                    at: t0(),
                },
            ])
            .when(RegistryCommand::new(admin(), group(OTHER)))
            .then_expect_events(vec![RegistryEvent::PartyRegistered {
                party: PartyRole::MicroOrganization,
                organization: OTHER,
                name: name("银发志愿队"),
                at: t0(),
            }]);
        framework()
            .given(vec![registered()])
            .when(RegistryCommand::new(
                admin(),
                RegistryAction::RegisterParty {
                    party: PartyRole::Community,
                    organization: OTHER,
                    name: name("东苑社区居委会"),
                },
            ))
            .then_expect_error(RegistryError::NotAXiaoquParty(PartyRole::Community));
    }

    #[test]
    fn an_acting_party_retires_and_one_that_does_not_act_cannot() {
        let retire = |organization| RegistryAction::RetireParty {
            party: PartyRole::PropertyCompany,
            organization,
        };
        framework()
            .given(vec![registered(), company_registered(COMPANY)])
            .when(RegistryCommand::new(admin(), retire(COMPANY)))
            .then_expect_events(vec![RegistryEvent::PartyRetired {
                party: PartyRole::PropertyCompany,
                organization: COMPANY,
                at: t0(),
            }]);
        framework()
            .given(vec![registered(), company_registered(COMPANY)])
            .when(RegistryCommand::new(admin(), retire(OTHER)))
            .then_expect_error(RegistryError::NotActing(PartyRole::PropertyCompany));
    }

    #[test]
    fn replaying_the_events_rebuilds_the_parties_acting_now() {
        let mut registry = XiaoquRegistry::default();
        for event in [
            registered(),
            company_registered(COMPANY),
            RegistryEvent::PartyRetired {
                party: PartyRole::PropertyCompany,
                organization: COMPANY,
                at: t0(),
            },
            company_registered(OTHER),
        ] {
            registry.apply(event);
        }
        let parties = &registry.state().expect("registered").parties;
        assert_eq!(parties.len(), 1);
        assert_eq!(parties[0].organization, OTHER);
    }
}
