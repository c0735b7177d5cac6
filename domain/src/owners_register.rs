//! The owners' register (业主名册) of a xiaoqu: its units (building, unit,
//! room), each with its exclusive floor area (专有部分面积) and who holds
//! it. The party branch or the owners' committee imports it whole from the
//! list it keeps; each import replaces the register, keeping the id of
//! every unit already in it. Owners are accounts, whose personal data stays
//! sealed in their person streams; areas are not personal data. A vote
//! takes the register as it stands when the vote opens
//! ([`OwnersRegister::for_vote`]). One `OwnersRegister` stream per xiaoqu.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::actor::{require, Actor, Role};
use crate::owners_vote::{Holder, Register, RegisteredUnit};
use crate::services::Clock;
use crate::values::{Label, UnitId, XiaoquId};

/// The largest exclusive area of one unit: 10,000 m², in hundredths.
pub const MOST_AREA: u64 = 1_000_000;
/// The most rows one import may carry.
pub const MOST_ROWS: usize = 20_000;

/// Where a unit is: building, entrance (单元, where there are several) and room.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UnitAddress {
    pub building: Label,
    pub entrance: Option<Label>,
    pub room: Label,
}

impl UnitAddress {
    /// As written on a ballot: 3栋 / 2单元 / 1502.
    pub fn display(&self) -> String {
        match &self.entrance {
            Some(e) => format!(
                "{} / {} / {}",
                self.building.as_str(),
                e.as_str(),
                self.room.as_str()
            ),
            None => format!("{} / {}", self.building.as_str(), self.room.as_str()),
        }
    }
}

/// One row of an import, as the interface read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRow {
    /// The row's line in the imported file (1: the first line after the header).
    pub line: u32,
    /// The id the unit takes if the register does not hold it yet.
    pub new_id: UnitId,
    pub address: UnitAddress,
    /// Hundredths of a square metre.
    pub area: u64,
    pub holder: Holder,
}

/// Why a row of an import was left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "problem")]
pub enum RowProblem {
    /// The interface could not read a column of it.
    Unreadable {
        column: String,
        reason: String,
    },
    /// An owner named in it has no account.
    UnknownOwner {
        column: String,
    },
    /// An earlier row of the same import has the same address.
    DuplicateUnit {
        first_line: u32,
    },
    NoArea,
    AreaTooLarge,
    NoOwner,
}

impl RowProblem {
    /// Why, in words.
    pub fn reason(&self) -> String {
        match self {
            RowProblem::Unreadable { reason, .. } => reason.clone(),
            RowProblem::UnknownOwner { .. } => "no account signs in with this login".to_owned(),
            RowProblem::DuplicateUnit { first_line } => {
                format!("the same unit as line {first_line}")
            }
            RowProblem::NoArea => "the area must be more than 0".to_owned(),
            RowProblem::AreaTooLarge => "the area must be at most 10000 m²".to_owned(),
            RowProblem::NoOwner => "a unit needs an owner, or `developer`".to_owned(),
        }
    }

    /// Its name on the wire (`unreadable`, `unknown_owner`, …).
    pub fn code(&self) -> &'static str {
        match self {
            RowProblem::Unreadable { .. } => "unreadable",
            RowProblem::UnknownOwner { .. } => "unknown_owner",
            RowProblem::DuplicateUnit { .. } => "duplicate_unit",
            RowProblem::NoArea => "no_area",
            RowProblem::AreaTooLarge => "area_too_large",
            RowProblem::NoOwner => "no_owner",
        }
    }

    /// The column at fault.
    pub fn column(&self) -> &str {
        match self {
            RowProblem::Unreadable { column, .. } | RowProblem::UnknownOwner { column } => column,
            RowProblem::DuplicateUnit { .. } => "room",
            RowProblem::NoArea | RowProblem::AreaTooLarge => "area",
            RowProblem::NoOwner => "owners",
        }
    }
}

/// A row left out, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    pub line: u32,
    #[serde(flatten)]
    pub problem: RowProblem,
}

/// A unit of the register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedUnit {
    pub unit: UnitId,
    pub address: UnitAddress,
    pub area: u64,
    pub holder: Holder,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegisterAction {
    /// Replaces the register with `rows`. `unreadable`: the rows the
    /// interface could not read or whose owners have no account, reported
    /// with the others left out. `in_scope`: the importer acts for the xiaoqu.
    ImportRegister {
        rows: Vec<RegisterRow>,
        unreadable: Vec<RejectedRow>,
        in_scope: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterCommand {
    pub actor: Actor,
    pub xiaoqu: XiaoquId,
    pub action: RegisterAction,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegisterEvent {
    RegisterImported {
        xiaoqu: XiaoquId,
        units: Vec<OwnedUnit>,
        /// Every row left out, in line order, with its reason.
        rejected: Vec<RejectedRow>,
        by: Role,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for RegisterEvent {
    fn event_type(&self) -> String {
        match self {
            RegisterEvent::RegisterImported { .. } => "RegisterImported",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    #[error("the role {0} does not keep the owners' register")]
    RoleNotAllowed(Role),
    #[error("the xiaoqu is outside the actor's scope")]
    OutsideScope,
    #[error("no row of the import can be registered")]
    NothingToImport,
    #[error("an import holds at most 20000 rows")]
    TooManyRows,
}

#[derive(Clone, Debug)]
pub struct RegisterServices {
    pub clock: Arc<dyn Clock>,
}

impl RegisterServices {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterState {
    pub xiaoqu: XiaoquId,
    pub units: Vec<OwnedUnit>,
    /// The rows the last import left out.
    pub rejected: Vec<RejectedRow>,
    pub imported_at: DateTime<Utc>,
    pub imported_by: Role,
}

/// A xiaoqu's owners' register.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnersRegister(Option<RegisterState>);

impl OwnersRegister {
    pub fn state(&self) -> Option<&RegisterState> {
        self.0.as_ref()
    }

    /// The register as a vote counts it; empty before the first import.
    pub fn for_vote(&self) -> Register {
        Register {
            units: self
                .0
                .iter()
                .flat_map(|s| &s.units)
                .map(|u| RegisteredUnit {
                    unit: u.unit,
                    area: u.area,
                    holder: u.holder.clone(),
                })
                .collect(),
        }
    }

    pub fn decide(
        &self,
        command: RegisterCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<RegisterEvent>, RegisterError> {
        let RegisterCommand {
            actor,
            xiaoqu,
            action,
        } = command;
        let RegisterAction::ImportRegister {
            rows,
            unreadable,
            in_scope,
        } = action;
        require(
            matches!(actor.role, Role::PartyBranch | Role::OwnersCommittee),
            || RegisterError::RoleNotAllowed(actor.role),
        )?;
        require(in_scope, || RegisterError::OutsideScope)?;
        require(rows.len() + unreadable.len() <= MOST_ROWS, || {
            RegisterError::TooManyRows
        })?;
        let known: HashMap<&UnitAddress, UnitId> = self
            .0
            .iter()
            .flat_map(|s| &s.units)
            .map(|u| (&u.address, u.unit))
            .collect();
        let mut rejected = unreadable;
        let mut first_line: HashMap<UnitAddress, u32> = HashMap::new();
        let mut units = Vec::with_capacity(rows.len());
        for row in rows {
            let problem = if row.area == 0 {
                Some(RowProblem::NoArea)
            } else if row.area > MOST_AREA {
                Some(RowProblem::AreaTooLarge)
            } else if matches!(&row.holder, Holder::Owners(o) if o.is_empty()) {
                Some(RowProblem::NoOwner)
            } else {
                first_line
                    .get(&row.address)
                    .map(|&first_line| RowProblem::DuplicateUnit { first_line })
            };
            if let Some(problem) = problem {
                rejected.push(RejectedRow {
                    line: row.line,
                    problem,
                });
                continue;
            }
            first_line.insert(row.address.clone(), row.line);
            let holder = match row.holder {
                Holder::Owners(owners) => Holder::owners(owners),
                Holder::Developer => Holder::Developer,
            };
            units.push(OwnedUnit {
                unit: known.get(&row.address).copied().unwrap_or(row.new_id),
                address: row.address,
                area: row.area,
                holder,
            });
        }
        require(!units.is_empty(), || RegisterError::NothingToImport)?;
        rejected.sort_by_key(|r| r.line);
        Ok(vec![RegisterEvent::RegisterImported {
            xiaoqu,
            units,
            rejected,
            by: actor.role,
            at: now,
        }])
    }
}

impl Aggregate for OwnersRegister {
    /// Never changes once data exists: it is stored with every event.
    const TYPE: &'static str = "owners_register";
    type Command = RegisterCommand;
    type Event = RegisterEvent;
    type Error = RegisterError;
    type Services = RegisterServices;

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
        let RegisterEvent::RegisterImported {
            xiaoqu,
            units,
            rejected,
            by,
            at,
        } = event;
        self.0 = Some(RegisterState {
            xiaoqu,
            units,
            rejected,
            imported_at: at,
            imported_by: by,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::AccountId;
    use uuid::Uuid;

    fn label(s: &str) -> Label {
        Label::parse(s).expect("a label")
    }

    fn row(line: u32, room: &str, area: u64, owners: &[u128]) -> RegisterRow {
        RegisterRow {
            line,
            new_id: UnitId(Uuid::from_u128(1000 + line as u128)),
            address: UnitAddress {
                building: label("3栋"),
                entrance: Some(label("2单元")),
                room: label(room),
            },
            area,
            holder: Holder::Owners(
                owners
                    .iter()
                    .map(|o| AccountId(Uuid::from_u128(*o)))
                    .collect(),
            ),
        }
    }

    fn import(
        register: &OwnersRegister,
        role: Role,
        rows: Vec<RegisterRow>,
    ) -> Result<Vec<RegisterEvent>, RegisterError> {
        register.decide(
            RegisterCommand {
                actor: Actor::new(AccountId(Uuid::from_u128(9)), role),
                xiaoqu: XiaoquId(Uuid::from_u128(7)),
                action: RegisterAction::ImportRegister {
                    rows,
                    unreadable: vec![RejectedRow {
                        line: 2,
                        problem: RowProblem::Unreadable {
                            column: "area".into(),
                            reason: "not a number".into(),
                        },
                    }],
                    in_scope: true,
                },
            },
            Utc::now(),
        )
    }

    fn applied(events: Vec<RegisterEvent>) -> OwnersRegister {
        let mut register = OwnersRegister::default();
        for e in events {
            register.apply(e);
        }
        register
    }

    #[test]
    fn an_import_keeps_good_rows_and_reports_every_other_in_line_order() {
        let events = import(
            &OwnersRegister::default(),
            Role::OwnersCommittee,
            vec![
                row(1, "101", 8937, &[2, 1]),
                row(3, "102", 0, &[3]),
                row(4, "101", 9000, &[4]),
                row(5, "103", MOST_AREA + 1, &[5]),
                row(6, "104", 12000, &[]),
                row(7, "105", 12000, &[1]),
            ],
        )
        .expect("as planned");
        let RegisterEvent::RegisterImported {
            units, rejected, ..
        } = &events[0];
        assert_eq!(units.len(), 2);
        assert_eq!(
            units[0].holder,
            Holder::Owners(vec![
                AccountId(Uuid::from_u128(1)),
                AccountId(Uuid::from_u128(2))
            ]),
            "co-owners in one order"
        );
        let lines: Vec<(u32, &str)> = rejected
            .iter()
            .map(|r| (r.line, r.problem.column()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (2, "area"),
                (3, "area"),
                (4, "room"),
                (5, "area"),
                (6, "owners")
            ]
        );
        assert_eq!(
            rejected[2].problem,
            RowProblem::DuplicateUnit { first_line: 1 }
        );
        let register = applied(events);
        assert_eq!(register.for_vote().units.len(), 2);
        assert_eq!(register.for_vote().units[0].area, 8937);
    }

    #[test]
    fn a_new_import_keeps_the_ids_of_units_already_registered() {
        let first = applied(
            import(
                &OwnersRegister::default(),
                Role::PartyBranch,
                vec![row(1, "101", 8937, &[1])],
            )
            .expect("as planned"),
        );
        let id = first.state().expect("as planned").units[0].unit;
        let mut again = row(1, "101", 9100, &[2]);
        again.new_id = UnitId(Uuid::from_u128(55));
        let second = applied(
            import(
                &first,
                Role::PartyBranch,
                vec![again, row(2, "102", 7000, &[3])],
            )
            .expect("as planned"),
        );
        let units = &second.state().expect("as planned").units;
        assert_eq!(units[0].unit, id, "the same address keeps its id");
        assert_eq!(units[0].area, 9100, "and takes the new area");
        assert_eq!(units[1].unit, UnitId(Uuid::from_u128(1002)));
    }

    #[test]
    fn only_the_branch_or_the_committee_in_scope_imports_and_an_import_needs_one_good_row() {
        assert_eq!(
            import(
                &OwnersRegister::default(),
                Role::Resident,
                vec![row(1, "101", 1, &[1])]
            ),
            Err(RegisterError::RoleNotAllowed(Role::Resident))
        );
        assert_eq!(
            import(
                &OwnersRegister::default(),
                Role::PartyBranch,
                vec![row(1, "101", 0, &[1])]
            ),
            Err(RegisterError::NothingToImport)
        );
        let outside = OwnersRegister::default().decide(
            RegisterCommand {
                actor: Actor::new(AccountId(Uuid::from_u128(9)), Role::OwnersCommittee),
                xiaoqu: XiaoquId(Uuid::from_u128(7)),
                action: RegisterAction::ImportRegister {
                    rows: vec![row(1, "101", 10, &[1])],
                    unreadable: vec![],
                    in_scope: false,
                },
            },
            Utc::now(),
        );
        assert_eq!(outside, Err(RegisterError::OutsideScope));
    }
}
