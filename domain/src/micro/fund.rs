//! A micro-fund (微基金) of a xiaoqu or a community: donations (named or
//! from the crowd) and grants come in, spending goes out, and every entry
//! is an event. Its balance is always what came in minus what went out,
//! never below zero, and every spending entry pays for a project the fund
//! approved (one under way, after its public notice).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::project::ProjectStatus;
use crate::actor::{require, Actor, Role};
use crate::values::{
    AccountId, Attachment, FundId, Label, PlaceName, ProjectId, Statement, XiaoquId,
};

/// Whose fund it is: a xiaoqu's, kept by its party branch, or a
/// community's, kept by the community.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum FundPlace {
    Xiaoqu(XiaoquId),
    /// The community's name, as accounts of the community role name it.
    Community(PlaceName),
}

impl FundPlace {
    /// The role that keeps a fund of this place.
    pub fn keeper(&self) -> Role {
        match self {
            FundPlace::Xiaoqu(_) => Role::PartyBranch,
            FundPlace::Community(_) => Role::Community,
        }
    }
}

/// The largest amount of one entry, and of a project's budget, in fen:
/// 100 million yuan.
pub const MOST_AMOUNT: u64 = 10_000_000_000;

/// Who stands behind a fund.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum FundKind {
    /// 冠名基金: named after its donor.
    Named(PlaceName),
    /// 众筹基金: from many residents.
    Crowd,
}

/// Where money came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum Source {
    /// A donor who wants their name shown.
    Named(Label),
    /// A donor who does not.
    Anonymous,
    /// A grant (a street's, a district's, a company's).
    Grant(Label),
}

/// What the fund needs to know of the project a spending entry pays for,
/// as the project's own stream says now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidProject {
    pub project: ProjectId,
    pub fund: FundId,
    pub status: ProjectStatus,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FundAction {
    /// `in_scope`: the keeper acts for the fund's place.
    OpenFund {
        place: FundPlace,
        name: PlaceName,
        kind: FundKind,
        in_scope: bool,
    },
    /// Money received, in fen; earmarked for a project or not.
    Receive {
        amount: u64,
        source: Source,
        project: Option<ProjectId>,
        in_scope: bool,
    },
    /// Money paid for `project` (`None`: none named), with its receipt.
    Spend {
        amount: u64,
        project: Option<PaidProject>,
        purpose: Statement,
        receipt: Attachment,
        in_scope: bool,
    },
}

impl FundAction {
    /// The command's name, as the log records it.
    pub fn name(&self) -> &'static str {
        match self {
            FundAction::OpenFund { .. } => "open_fund",
            FundAction::Receive { .. } => "receive_money",
            FundAction::Spend { .. } => "spend_money",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FundEvent {
    FundOpened {
        fund: FundId,
        place: FundPlace,
        name: PlaceName,
        kind: FundKind,
        at: DateTime<Utc>,
    },
    MoneyReceived {
        amount: u64,
        source: Source,
        project: Option<ProjectId>,
        at: DateTime<Utc>,
    },
    MoneySpent {
        amount: u64,
        project: ProjectId,
        purpose: Statement,
        receipt: Attachment,
        /// Who recorded it (and uploaded the receipt).
        by: AccountId,
        at: DateTime<Utc>,
    },
}

impl FundEvent {
    pub fn name(&self) -> &'static str {
        match self {
            FundEvent::FundOpened { .. } => "FundOpened",
            FundEvent::MoneyReceived { .. } => "MoneyReceived",
            FundEvent::MoneySpent { .. } => "MoneySpent",
        }
    }
}

/// Every rule of a fund, one variant per rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FundError {
    #[error("the role {0} does not keep this fund")]
    RoleNotAllowed(Role),
    #[error("the fund's place is outside the actor's scope")]
    OutsideScope,
    #[error("no such fund")]
    NotOpen,
    #[error("this fund is already open")]
    AlreadyOpen,
    #[error("an amount is more than nothing and at most 10,000,000,000 fen")]
    NoAmount,
    #[error("spending pays for a project")]
    NoProject,
    #[error("the project is not one of this fund's")]
    OtherFundsProject,
    #[error("the project is not approved and under way")]
    ProjectNotApproved,
    #[error("the fund holds {balance} fen, less than {amount}")]
    Insufficient { balance: u64, amount: u64 },
}

/// One entry of a fund's ledger, as its event recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FundEntry {
    Received {
        amount: u64,
        source: Source,
        project: Option<ProjectId>,
        at: DateTime<Utc>,
    },
    Spent {
        amount: u64,
        project: ProjectId,
        purpose: Statement,
        receipt: Attachment,
        by: AccountId,
        at: DateTime<Utc>,
    },
}

/// One fund: its totals and its entries, kept by every event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundState {
    pub id: FundId,
    pub place: FundPlace,
    pub name: PlaceName,
    pub kind: FundKind,
    pub received: u64,
    pub spent: u64,
    pub entries: Vec<FundEntry>,
    pub opened_at: DateTime<Utc>,
}

impl FundState {
    /// What came in minus what went out.
    pub fn balance(&self) -> u64 {
        self.received - self.spent
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicroFund(pub(super) Option<FundState>);

impl MicroFund {
    pub fn state(&self) -> Option<&FundState> {
        self.0.as_ref()
    }

    pub fn decide(
        &self,
        actor: Actor,
        fund: FundId,
        action: FundAction,
        now: DateTime<Utc>,
    ) -> Result<Vec<FundEvent>, FundError> {
        let role = actor.role;
        let keeper = match (&action, &self.0) {
            (FundAction::OpenFund { place, .. }, _) => place.keeper(),
            (_, Some(s)) => s.place.keeper(),
            (_, None) => return Err(FundError::NotOpen),
        };
        require(role == keeper, || FundError::RoleNotAllowed(role))?;
        let event = match action {
            FundAction::OpenFund {
                place,
                name,
                kind,
                in_scope,
            } => {
                require(self.0.is_none(), || FundError::AlreadyOpen)?;
                require(in_scope, || FundError::OutsideScope)?;
                FundEvent::FundOpened {
                    fund,
                    place,
                    name,
                    kind,
                    at: now,
                }
            }
            FundAction::Receive {
                amount,
                source,
                project,
                in_scope,
            } => {
                self.0.as_ref().ok_or(FundError::NotOpen)?;
                require(in_scope, || FundError::OutsideScope)?;
                require((1..=MOST_AMOUNT).contains(&amount), || FundError::NoAmount)?;
                FundEvent::MoneyReceived {
                    amount,
                    source,
                    project,
                    at: now,
                }
            }
            FundAction::Spend {
                amount,
                project,
                purpose,
                receipt,
                in_scope,
            } => {
                let s = self.0.as_ref().ok_or(FundError::NotOpen)?;
                require(in_scope, || FundError::OutsideScope)?;
                require((1..=MOST_AMOUNT).contains(&amount), || FundError::NoAmount)?;
                let paid = project.ok_or(FundError::NoProject)?;
                require(paid.fund == s.id, || FundError::OtherFundsProject)?;
                require(paid.status == ProjectStatus::UnderWay, || {
                    FundError::ProjectNotApproved
                })?;
                require(amount <= s.balance(), || FundError::Insufficient {
                    balance: s.balance(),
                    amount,
                })?;
                FundEvent::MoneySpent {
                    amount,
                    project: paid.project,
                    purpose,
                    receipt,
                    by: actor.account,
                    at: now,
                }
            }
        };
        Ok(vec![event])
    }

    pub(super) fn evolve(&mut self, event: FundEvent) {
        match event {
            FundEvent::FundOpened {
                fund,
                place,
                name,
                kind,
                at,
            } => {
                self.0 = Some(FundState {
                    id: fund,
                    place,
                    name,
                    kind,
                    received: 0,
                    spent: 0,
                    entries: Vec::new(),
                    opened_at: at,
                });
            }
            FundEvent::MoneyReceived {
                amount,
                source,
                project,
                at,
            } => {
                if let Some(s) = &mut self.0 {
                    s.received += amount;
                    s.entries.push(FundEntry::Received {
                        amount,
                        source,
                        project,
                        at,
                    });
                }
            }
            FundEvent::MoneySpent {
                amount,
                project,
                purpose,
                receipt,
                by,
                at,
            } => {
                if let Some(s) = &mut self.0 {
                    s.spent += amount;
                    s.entries.push(FundEntry::Spent {
                        amount,
                        project,
                        purpose,
                        receipt,
                        by,
                        at,
                    });
                }
            }
        }
    }
}
