//! Ledger exports (台账导出): every time someone takes a ledger out of the
//! service (a spreadsheet, a CSV file), it is recorded, so that auditors see
//! who exported what, for which place and period, and when. One
//! `LedgerExports` stream per exporting account.
//!
//! The export itself is built from the read models after the record is
//! appended: an export that could not be recorded is not made.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::actor::{require, Actor, Role};
use crate::services::Clock;
use crate::values::{PlaceName, XiaoquId};

/// Which ledger: one of the four, or all of them (a workbook of four sheets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// 诉求台账: one row per grievance.
    Grievances,
    /// 联席会议台账: one row per agenda item of a joint meeting.
    Meetings,
    /// 调解台账: one row per obligation (or per case without one).
    Mediation,
    /// 三率汇总: the three rates, month by month.
    Summary,
    All,
}

impl LedgerKind {
    pub const ONE_EACH: [LedgerKind; 4] = [
        LedgerKind::Grievances,
        LedgerKind::Meetings,
        LedgerKind::Mediation,
        LedgerKind::Summary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::Grievances => "grievances",
            LedgerKind::Meetings => "meetings",
            LedgerKind::Mediation => "mediation",
            LedgerKind::Summary => "summary",
            LedgerKind::All => "all",
        }
    }
}

/// The file the ledger is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Xlsx,
    Csv,
}

/// The place a ledger covers: a xiaoqu, or every xiaoqu of a community or a
/// street, by the registry's names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum LedgerScope {
    Xiaoqu(XiaoquId),
    Community(PlaceName),
    Street(PlaceName),
}

/// What is exported: a ledger of a place over a period of days (China
/// Standard Time, both ends included).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRequest {
    pub ledger: LedgerKind,
    pub format: ExportFormat,
    pub scope: LedgerScope,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportAction {
    /// Records an export about to be made. `covered`: the registry says the
    /// exporter's scope takes in every xiaoqu of the ledger's place (none
    /// is no place at all).
    RecordExport {
        request: LedgerRequest,
        covered: bool,
    },
}

impl ExportAction {
    pub fn name(&self) -> &'static str {
        match self {
            ExportAction::RecordExport { .. } => "record_export",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportCommand {
    pub actor: Actor,
    pub action: ExportAction,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportEvent {
    LedgerExported {
        request: LedgerRequest,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for ExportEvent {
    fn event_type(&self) -> String {
        match self {
            ExportEvent::LedgerExported { .. } => "LedgerExported",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

/// Every rule of exporting, one variant per rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("the role {0} does not keep ledgers")]
    RoleNotAllowed(Role),
    #[error("the ledger's place is outside the exporter's scope, or has no xiaoqu")]
    OutsideScope,
    #[error("the period ends before it begins")]
    PeriodReversed,
    #[error("a period is at most {max_days} days")]
    PeriodTooLong { max_days: i64 },
    #[error("a CSV file holds one ledger: name grievances, meetings, mediation or summary")]
    CsvHoldsOneLedger,
}

/// The roles that keep or read ledgers: the party branch, the parties (what
/// concerns them, pseudonymised), the tiers above, auditors and admins.
/// Residents do not: their own grievances are on their pages.
const EXPORTING_ROLES: [Role; 11] = [
    Role::PartyBranch,
    Role::PropertyCompany,
    Role::OwnersCommittee,
    Role::SupervisoryCommittee,
    Role::MicroOrganization,
    Role::Community,
    Role::Street,
    Role::District,
    Role::Auditor,
    Role::Admin,
    Role::System,
];

/// The longest period one export covers: ten years and leap days.
pub const MAX_PERIOD_DAYS: i64 = 3_653;

/// Whether `role` exports ledgers: the rule `decide` applies, for interfaces
/// that offer the exports only to those roles.
pub fn exports_ledgers(role: Role) -> bool {
    EXPORTING_ROLES.contains(&role)
}

#[derive(Clone, Debug)]
pub struct ExportServices {
    pub clock: Arc<dyn Clock>,
}

impl ExportServices {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock }
    }
}

/// One account's exports: how many, and the last.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerExports {
    pub exports: u64,
    pub last: Option<(LedgerRequest, DateTime<Utc>)>,
}

impl LedgerExports {
    pub fn decide(
        &self,
        command: ExportCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<ExportEvent>, ExportError> {
        let ExportCommand { actor, action } = command;
        let ExportAction::RecordExport { request, covered } = action;
        require(exports_ledgers(actor.role), || {
            ExportError::RoleNotAllowed(actor.role)
        })?;
        require(covered, || ExportError::OutsideScope)?;
        require(request.from <= request.to, || ExportError::PeriodReversed)?;
        require(
            (request.to - request.from).num_days() < MAX_PERIOD_DAYS,
            || ExportError::PeriodTooLong {
                max_days: MAX_PERIOD_DAYS,
            },
        )?;
        require(
            !(request.format == ExportFormat::Csv && request.ledger == LedgerKind::All),
            || ExportError::CsvHoldsOneLedger,
        )?;
        Ok(vec![ExportEvent::LedgerExported { request, at: now }])
    }
}

impl Aggregate for LedgerExports {
    /// Never changes once data exists: it is stored with every event.
    const TYPE: &'static str = "ledger_exports";
    type Command = ExportCommand;
    type Event = ExportEvent;
    type Error = ExportError;
    type Services = ExportServices;

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
        let ExportEvent::LedgerExported { request, at } = event;
        self.exports += 1;
        self.last = Some((request, at));
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;
    use crate::values::AccountId;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0)
            .single()
            .expect("time")
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    fn request(ledger: LedgerKind, format: ExportFormat) -> LedgerRequest {
        LedgerRequest {
            ledger,
            format,
            scope: LedgerScope::Xiaoqu(XiaoquId(Uuid::from_u128(7))),
            from: day(2026, 11, 1),
            to: day(2026, 11, 30),
        }
    }

    fn by(role: Role, request: LedgerRequest, covered: bool) -> ExportCommand {
        ExportCommand {
            actor: Actor::new(AccountId(Uuid::from_u128(1)), role),
            action: ExportAction::RecordExport { request, covered },
        }
    }

    #[test]
    fn an_export_within_the_scope_is_recorded_with_what_was_taken() {
        let asked = request(LedgerKind::All, ExportFormat::Xlsx);
        let events = LedgerExports::default()
            .decide(by(Role::PartyBranch, asked.clone(), true), now())
            .expect("recorded");
        assert_eq!(
            events,
            vec![ExportEvent::LedgerExported {
                request: asked,
                at: now()
            }]
        );
        let mut exports = LedgerExports::default();
        exports.apply(events[0].clone());
        assert_eq!(exports.exports, 1);
    }

    #[test]
    fn residents_places_outside_the_scope_reversed_or_endless_periods_and_csv_of_all_are_refused() {
        let fine = request(LedgerKind::Grievances, ExportFormat::Csv);
        let none = LedgerExports::default();
        let refused = |command| none.decide(command, now()).expect_err("refused");
        assert_eq!(
            refused(by(Role::Resident, fine.clone(), true)),
            ExportError::RoleNotAllowed(Role::Resident)
        );
        assert_eq!(
            refused(by(Role::PartyBranch, fine.clone(), false)),
            ExportError::OutsideScope
        );
        let reversed = LedgerRequest {
            from: fine.to,
            to: fine.from,
            ..fine.clone()
        };
        assert_eq!(
            refused(by(Role::Community, reversed, true)),
            ExportError::PeriodReversed
        );
        let endless = LedgerRequest {
            from: day(2000, 1, 1),
            ..fine.clone()
        };
        assert!(matches!(
            refused(by(Role::Auditor, endless, true)),
            ExportError::PeriodTooLong { .. }
        ));
        assert_eq!(
            refused(by(
                Role::Street,
                request(LedgerKind::All, ExportFormat::Csv),
                true
            )),
            ExportError::CsvHoldsOneLedger
        );
        assert!(none.decide(by(Role::Auditor, fine, true), now()).is_ok());
    }
}
