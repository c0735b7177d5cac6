//! Owners' votes (业主共同决定 · 业主表决): the owners' committee (or the
//! party branch where a xiaoqu has none) puts a question of a class of
//! Civil Code article 278 to the owners; each unit of the owners' register
//! has one ballot, cast online by an owner of the unit or entered from a
//! paper ballot by whoever opened the vote, changeable until the window
//! closes; closing counts them ([`tally`]) against the register as it stood
//! when the vote opened. One `OwnersVote` stream per vote.
//!
//! Ballots are events of the stream: the tally can be recounted from them
//! at any time. Who may read them (the owner of a unit, their own ballot;
//! auditors) is the interfaces' policy; the tally is public.

mod tally;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

pub use tally::{count, Count, Outcome, Share, Tally, Thresholds};

use crate::actor::{require, Actor, Role};
use crate::services::Clock;
use crate::values::{AccountId, Statement, Title, UnitId, VoteId, XiaoquId};

/// The classes of matters owners decide together (Civil Code art. 278).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Matter {
    /// 制定和修改业主大会议事规则
    AssemblyRules,
    /// 制定和修改管理规约
    ManagementStatute,
    /// 选举业主委员会或者更换业主委员会成员
    ElectCommittee,
    /// 选聘和解聘物业服务企业或者其他管理人
    PropertyManager,
    /// 使用建筑物及其附属设施的维修资金
    UseMaintenanceFund,
    /// 筹集建筑物及其附属设施的维修资金
    RaiseMaintenanceFund,
    /// 改建、重建建筑物及其附属设施
    Rebuild,
    /// 改变共有部分的用途或者利用共有部分从事经营活动
    ChangeUseOfCommonParts,
    /// 有关共有和共同管理权利的其他重大事项
    OtherMajor,
}

impl Matter {
    /// The matters that need three quarters of the participating area and
    /// owners; the others need more than half.
    pub fn is_special(self) -> bool {
        matches!(
            self,
            Matter::RaiseMaintenanceFund | Matter::Rebuild | Matter::ChangeUseOfCommonParts
        )
    }
}

/// Who holds a unit, as owners are counted: its owners together (co-owners
/// count as one, and the same owners of several units count once), or the
/// developer for a unit not yet sold or not yet handed over (all of them
/// count as one).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "owners")]
pub enum Holder {
    Owners(Vec<AccountId>),
    Developer,
}

impl Holder {
    /// The owners of a unit, in one order whatever order they came in.
    pub fn owners(mut accounts: Vec<AccountId>) -> Holder {
        accounts.sort();
        accounts.dedup();
        Holder::Owners(accounts)
    }

    fn includes(&self, account: AccountId) -> bool {
        matches!(self, Holder::Owners(owners) if owners.contains(&account))
    }
}

/// One unit of the register: its exclusive floor area, in hundredths of a
/// square metre (8,937 is 89.37 m²), and who holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredUnit {
    pub unit: UnitId,
    pub area: u64,
    pub holder: Holder,
}

/// The owners' register of a xiaoqu as it stood when a vote opened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register {
    pub units: Vec<RegisteredUnit>,
}

impl Register {
    pub fn unit(&self, unit: UnitId) -> Option<&RegisteredUnit> {
        self.units.iter().find(|u| u.unit == unit)
    }
}

/// A ballot's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Approve,
    Oppose,
    Abstain,
}

/// How a ballot reached the vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BallotChannel {
    /// Cast by an owner of the unit.
    Online,
    /// A paper ballot entered by whoever opened the vote.
    Paper,
}

/// What opening a vote needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteProposal {
    pub xiaoqu: XiaoquId,
    pub matter: Matter,
    pub question: Title,
    pub explanation: Statement,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub online: bool,
    pub paper: bool,
    pub register: Register,
    /// `None`: the Civil Code's.
    pub thresholds: Option<Thresholds>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoteAction {
    /// `has_committee`: the registry says the xiaoqu has an owners'
    /// committee; `in_scope`: the opener acts for the vote's xiaoqu.
    OpenVote {
        proposal: Box<VoteProposal>,
        has_committee: bool,
        in_scope: bool,
    },
    /// An owner of `unit` votes, or changes their vote.
    CastBallot { unit: UnitId, choice: Choice },
    /// The opener enters a paper ballot of `unit`.
    EnterPaperBallot {
        unit: UnitId,
        choice: Choice,
        in_scope: bool,
    },
    /// The opener closes the vote once its window has passed.
    CloseVote { in_scope: bool },
}

impl VoteAction {
    pub fn name(&self) -> &'static str {
        match self {
            VoteAction::OpenVote { .. } => "open_vote",
            VoteAction::CastBallot { .. } => "cast_ballot",
            VoteAction::EnterPaperBallot { .. } => "enter_paper_ballot",
            VoteAction::CloseVote { .. } => "close_vote",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteCommand {
    pub actor: Actor,
    pub vote: VoteId,
    pub action: VoteAction,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoteEvent {
    VoteOpened {
        vote: VoteId,
        proposal: Box<VoteProposal>,
        thresholds: Thresholds,
        opened_by: Role,
        at: DateTime<Utc>,
    },
    BallotCast {
        unit: UnitId,
        choice: Choice,
        channel: BallotChannel,
        at: DateTime<Utc>,
    },
    VoteClosed {
        tally: Tally,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for VoteEvent {
    fn event_type(&self) -> String {
        match self {
            VoteEvent::VoteOpened { .. } => "VoteOpened",
            VoteEvent::BallotCast { .. } => "BallotCast",
            VoteEvent::VoteClosed { .. } => "VoteClosed",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

/// Every rule of a vote, one variant per rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VoteError {
    #[error("the role {0} cannot do this in a vote")]
    RoleNotAllowed(Role),
    #[error("the party branch opens votes only where the xiaoqu has no owners' committee")]
    CommitteeOpensVotes,
    #[error("the vote's xiaoqu is outside the actor's scope")]
    OutsideScope,
    #[error("this vote is already open")]
    AlreadyOpen,
    #[error("no such vote")]
    NotOpen,
    #[error("the vote is closed")]
    Closed,
    #[error("the voting window closes before it opens, or has already closed")]
    BadWindow,
    #[error("a vote needs a channel: online, paper or both")]
    NoChannel,
    #[error("the register is empty, names a unit twice, or has a unit without area")]
    BadRegister,
    #[error("a threshold is not a share of more than nothing and at most all")]
    BadThresholds,
    #[error("the voting window is not open now")]
    OutsideWindow,
    #[error("this vote takes no ballots by this channel")]
    ChannelNotOffered,
    #[error("the unit is not in the vote's register")]
    UnknownUnit,
    #[error("only an owner of the unit votes for it")]
    NotAnOwner,
    #[error("the voting window has not closed yet")]
    StillOpen,
}

#[derive(Clone, Debug)]
pub struct VoteServices {
    pub clock: Arc<dyn Clock>,
}

impl VoteServices {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock }
    }
}

/// A ballot as it stands: the last one cast for its unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ballot {
    pub choice: Choice,
    pub channel: BallotChannel,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteState {
    pub id: VoteId,
    pub proposal: VoteProposal,
    pub thresholds: Thresholds,
    pub opened_by: Role,
    pub opened_at: DateTime<Utc>,
    pub ballots: BTreeMap<UnitId, Ballot>,
    pub tally: Option<Tally>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl VoteState {
    /// The tally of the ballots as they stand now.
    pub fn count_now(&self) -> Tally {
        let choices = self
            .ballots
            .iter()
            .map(|(unit, b)| (*unit, b.choice))
            .collect();
        count(
            &self.proposal.register,
            &choices,
            self.proposal.matter,
            &self.thresholds,
        )
    }
}

/// One owners' vote.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnersVote(Option<VoteState>);

impl OwnersVote {
    pub fn state(&self) -> Option<&VoteState> {
        self.0.as_ref()
    }

    pub fn decide(
        &self,
        command: VoteCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<VoteEvent>, VoteError> {
        let VoteCommand {
            actor,
            vote,
            action,
        } = command;
        if let VoteAction::OpenVote {
            proposal,
            has_committee,
            in_scope,
        } = action
        {
            return open(&self.0, actor, vote, proposal, has_committee, in_scope, now);
        }
        let state = self.0.as_ref().ok_or(VoteError::NotOpen)?;
        require(state.tally.is_none(), || VoteError::Closed)?;
        let p = &state.proposal;
        match action {
            VoteAction::OpenVote { .. } => Err(VoteError::AlreadyOpen),
            VoteAction::CastBallot { unit, choice } => {
                require(actor.role == Role::Resident, || {
                    VoteError::RoleNotAllowed(actor.role)
                })?;
                require(p.online, || VoteError::ChannelNotOffered)?;
                require(p.opens_at <= now && now < p.closes_at, || {
                    VoteError::OutsideWindow
                })?;
                let registered = p.register.unit(unit).ok_or(VoteError::UnknownUnit)?;
                require(registered.holder.includes(actor.account), || {
                    VoteError::NotAnOwner
                })?;
                Ok(ballot(state, unit, choice, BallotChannel::Online, now))
            }
            VoteAction::EnterPaperBallot {
                unit,
                choice,
                in_scope,
            } => {
                require(actor.role == state.opened_by, || {
                    VoteError::RoleNotAllowed(actor.role)
                })?;
                require(in_scope, || VoteError::OutsideScope)?;
                require(p.paper, || VoteError::ChannelNotOffered)?;
                require(p.opens_at <= now && now < p.closes_at, || {
                    VoteError::OutsideWindow
                })?;
                require(p.register.unit(unit).is_some(), || VoteError::UnknownUnit)?;
                Ok(ballot(state, unit, choice, BallotChannel::Paper, now))
            }
            VoteAction::CloseVote { in_scope } => {
                require(actor.role == state.opened_by, || {
                    VoteError::RoleNotAllowed(actor.role)
                })?;
                require(in_scope, || VoteError::OutsideScope)?;
                require(now >= p.closes_at, || VoteError::StillOpen)?;
                Ok(vec![VoteEvent::VoteClosed {
                    tally: state.count_now(),
                    at: now,
                }])
            }
        }
    }
}

fn open(
    current: &Option<VoteState>,
    actor: Actor,
    vote: VoteId,
    proposal: Box<VoteProposal>,
    has_committee: bool,
    in_scope: bool,
    now: DateTime<Utc>,
) -> Result<Vec<VoteEvent>, VoteError> {
    require(current.is_none(), || VoteError::AlreadyOpen)?;
    match actor.role {
        Role::OwnersCommittee => {}
        Role::PartyBranch => require(!has_committee, || VoteError::CommitteeOpensVotes)?,
        other => return Err(VoteError::RoleNotAllowed(other)),
    }
    require(in_scope, || VoteError::OutsideScope)?;
    require(
        proposal.opens_at < proposal.closes_at && proposal.closes_at > now,
        || VoteError::BadWindow,
    )?;
    require(proposal.online || proposal.paper, || VoteError::NoChannel)?;
    let units = &proposal.register.units;
    let mut ids: Vec<UnitId> = units.iter().map(|u| u.unit).collect();
    ids.sort();
    ids.dedup();
    require(
        !units.is_empty() && ids.len() == units.len() && units.iter().all(|u| u.area > 0),
        || VoteError::BadRegister,
    )?;
    let thresholds = proposal.thresholds.unwrap_or_default();
    require(thresholds.are_proper(), || VoteError::BadThresholds)?;
    // Owners in one order, each once: the same owners are one voter
    // however the register listed them.
    let mut proposal = proposal;
    for unit in &mut proposal.register.units {
        if let Holder::Owners(owners) = &unit.holder {
            unit.holder = Holder::owners(owners.clone());
        }
    }
    Ok(vec![VoteEvent::VoteOpened {
        vote,
        proposal,
        thresholds,
        opened_by: actor.role,
        at: now,
    }])
}

/// A ballot for `unit`, unless it says what the unit's ballot already says.
fn ballot(
    state: &VoteState,
    unit: UnitId,
    choice: Choice,
    channel: BallotChannel,
    at: DateTime<Utc>,
) -> Vec<VoteEvent> {
    if state.ballots.get(&unit).is_some_and(|b| b.choice == choice) {
        return Vec::new();
    }
    vec![VoteEvent::BallotCast {
        unit,
        choice,
        channel,
        at,
    }]
}

impl Aggregate for OwnersVote {
    /// Never changes once data exists: it is stored with every event.
    const TYPE: &'static str = "owners_vote";
    type Command = VoteCommand;
    type Event = VoteEvent;
    type Error = VoteError;
    type Services = VoteServices;

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
        match event {
            VoteEvent::VoteOpened {
                vote,
                proposal,
                thresholds,
                opened_by,
                at,
            } => {
                self.0 = Some(VoteState {
                    id: vote,
                    proposal: *proposal,
                    thresholds,
                    opened_by,
                    opened_at: at,
                    ballots: BTreeMap::new(),
                    tally: None,
                    closed_at: None,
                });
            }
            VoteEvent::BallotCast {
                unit,
                choice,
                channel,
                at,
            } => {
                if let Some(state) = &mut self.0 {
                    state.ballots.insert(
                        unit,
                        Ballot {
                            choice,
                            channel,
                            at,
                        },
                    );
                }
            }
            VoteEvent::VoteClosed { tally, at } => {
                if let Some(state) = &mut self.0 {
                    state.tally = Some(tally);
                    state.closed_at = Some(at);
                }
            }
        }
    }
}
