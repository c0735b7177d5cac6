//! The owners' vote service's wire types: what the JSON API and the pages
//! send and get back.

use chrono::{DateTime, Utc};
use lianxi_domain::owners_vote::{BallotChannel, Choice, Count, Matter, Outcome, Share, Tally};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A class of matters owners decide together (Civil Code art. 278).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = VoteMatter)]
pub enum MatterDto {
    /// 制定和修改业主大会议事规则
    AssemblyRules,
    /// 制定和修改管理规约
    ManagementStatute,
    /// 选举业主委员会或者更换业主委员会成员
    ElectCommittee,
    /// 选聘和解聘物业服务企业或者其他管理人
    PropertyManager,
    /// 使用维修资金
    UseMaintenanceFund,
    /// 筹集维修资金 (three quarters)
    RaiseMaintenanceFund,
    /// 改建、重建建筑物及其附属设施 (three quarters)
    Rebuild,
    /// 改变共有部分的用途或者利用共有部分从事经营活动 (three quarters)
    ChangeUseOfCommonParts,
    /// 有关共有和共同管理权利的其他重大事项
    OtherMajor,
}

impl MatterDto {
    pub const ALL: [MatterDto; 9] = [
        MatterDto::AssemblyRules,
        MatterDto::ManagementStatute,
        MatterDto::ElectCommittee,
        MatterDto::PropertyManager,
        MatterDto::UseMaintenanceFund,
        MatterDto::RaiseMaintenanceFund,
        MatterDto::Rebuild,
        MatterDto::ChangeUseOfCommonParts,
        MatterDto::OtherMajor,
    ];
}

impl From<MatterDto> for Matter {
    fn from(m: MatterDto) -> Self {
        match m {
            MatterDto::AssemblyRules => Matter::AssemblyRules,
            MatterDto::ManagementStatute => Matter::ManagementStatute,
            MatterDto::ElectCommittee => Matter::ElectCommittee,
            MatterDto::PropertyManager => Matter::PropertyManager,
            MatterDto::UseMaintenanceFund => Matter::UseMaintenanceFund,
            MatterDto::RaiseMaintenanceFund => Matter::RaiseMaintenanceFund,
            MatterDto::Rebuild => Matter::Rebuild,
            MatterDto::ChangeUseOfCommonParts => Matter::ChangeUseOfCommonParts,
            MatterDto::OtherMajor => Matter::OtherMajor,
        }
    }
}

impl From<Matter> for MatterDto {
    fn from(m: Matter) -> Self {
        match m {
            Matter::AssemblyRules => MatterDto::AssemblyRules,
            Matter::ManagementStatute => MatterDto::ManagementStatute,
            Matter::ElectCommittee => MatterDto::ElectCommittee,
            Matter::PropertyManager => MatterDto::PropertyManager,
            Matter::UseMaintenanceFund => MatterDto::UseMaintenanceFund,
            Matter::RaiseMaintenanceFund => MatterDto::RaiseMaintenanceFund,
            Matter::Rebuild => MatterDto::Rebuild,
            Matter::ChangeUseOfCommonParts => MatterDto::ChangeUseOfCommonParts,
            Matter::OtherMajor => MatterDto::OtherMajor,
        }
    }
}

/// A ballot's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = BallotChoice)]
pub enum ChoiceDto {
    Approve,
    Oppose,
    Abstain,
}

impl From<ChoiceDto> for Choice {
    fn from(c: ChoiceDto) -> Self {
        match c {
            ChoiceDto::Approve => Choice::Approve,
            ChoiceDto::Oppose => Choice::Oppose,
            ChoiceDto::Abstain => Choice::Abstain,
        }
    }
}

impl From<Choice> for ChoiceDto {
    fn from(c: Choice) -> Self {
        match c {
            Choice::Approve => ChoiceDto::Approve,
            Choice::Oppose => ChoiceDto::Oppose,
            Choice::Abstain => ChoiceDto::Abstain,
        }
    }
}

/// A share, as a fraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareDto {
    /// A whole number (`3` or `3.0`).
    #[serde(deserialize_with = "crate::app::whole::required")]
    pub numerator: u32,
    #[serde(deserialize_with = "crate::app::whole::required")]
    pub denominator: u32,
}

impl From<Share> for ShareDto {
    fn from(s: Share) -> Self {
        ShareDto {
            numerator: s.numerator,
            denominator: s.denominator,
        }
    }
}

impl From<ShareDto> for Share {
    fn from(s: ShareDto) -> Self {
        Share::new(s.numerator, s.denominator)
    }
}

/// A vote's thresholds: participation (at least this share of the area and
/// of the owners), special matters (at least this share of the
/// participating area and owners approve), ordinary matters (more than
/// this share). Leave them out for the Civil Code's: 2/3, 3/4, 1/2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdsDto {
    pub participation: ShareDto,
    pub special: ShareDto,
    pub ordinary: ShareDto,
}

/// Opening a vote: the owners' committee, or the party branch where the
/// xiaoqu has no committee.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenVoteRequest {
    /// The xiaoqu (id or name); the caller's own when left out.
    #[serde(default)]
    pub xiaoqu: Option<String>,
    pub matter: MatterDto,
    /// 1–120 characters.
    pub question: String,
    /// What the owners decide, with the documents it rests on: 1–4,000 characters.
    pub explanation: String,
    /// When ballots may first be cast; now when left out.
    #[serde(default)]
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: DateTime<Utc>,
    /// Owners vote online (default true).
    #[serde(default = "yes")]
    pub online: bool,
    /// The opener enters paper ballots (default false).
    #[serde(default)]
    pub paper: bool,
    #[serde(default)]
    pub thresholds: Option<ThresholdsDto>,
}

fn yes() -> bool {
    true
}

/// A ballot for one unit.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BallotRequest {
    /// The unit's id, from the vote's `my_units` or the register.
    pub unit: Uuid,
    pub choice: ChoiceDto,
}

/// Area in square metres (two decimals) and owners in number.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CountDto {
    pub area_m2: f64,
    /// Area in hundredths of a square metre, exact.
    pub area: u64,
    pub owners: u64,
}

impl From<Count> for CountDto {
    fn from(c: Count) -> Self {
        CountDto {
            area_m2: c.area as f64 / 100.0,
            area: c.area,
            owners: c.owners,
        }
    }
}

/// The public result of a vote. Who voted how is not in it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TallyDto {
    /// `approved`, `rejected` or `not_decided` (too few took part).
    pub outcome: String,
    /// For `not_decided`: too little of the area took part.
    pub short_of_area: bool,
    /// For `not_decided`: too few owners took part.
    pub short_of_owners: bool,
    pub register: CountDto,
    pub participated: CountDto,
    pub approve: CountDto,
    pub oppose: CountDto,
    pub abstain: CountDto,
    /// Units with a ballot.
    pub ballots: u64,
}

impl From<&Tally> for TallyDto {
    fn from(t: &Tally) -> Self {
        let (outcome, short_of_area, short_of_owners) = match t.outcome {
            Outcome::NotDecided {
                short_of_area,
                short_of_owners,
            } => ("not_decided", short_of_area, short_of_owners),
            Outcome::Approved => ("approved", false, false),
            Outcome::Rejected => ("rejected", false, false),
        };
        TallyDto {
            outcome: outcome.to_owned(),
            short_of_area,
            short_of_owners,
            register: t.register.into(),
            participated: t.participated.into(),
            approve: t.approve.into(),
            oppose: t.oppose.into(),
            abstain: t.abstain.into(),
            ballots: t.ballots,
        }
    }
}

/// A ballot as it stands, shown only to an owner of its unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OwnBallot {
    pub choice: ChoiceDto,
    /// `online` or `paper`.
    pub channel: String,
    pub at: DateTime<Utc>,
    /// The vote is closed and its tally counted this ballot.
    pub counted: bool,
}

pub fn channel_name(c: BallotChannel) -> &'static str {
    match c {
        BallotChannel::Online => "online",
        BallotChannel::Paper => "paper",
    }
}

/// A unit of the caller's in the vote's register.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OwnUnit {
    pub unit: Uuid,
    /// Building / entrance / room.
    pub address: String,
    pub area_m2: f64,
    pub ballot: Option<OwnBallot>,
}

/// An owners' vote.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct VoteView {
    pub id: Uuid,
    /// The vote stream's last sequence number (`ETag`).
    pub version: u64,
    pub xiaoqu: Uuid,
    pub matter: MatterDto,
    /// Whether the matter needs the special majority (three quarters).
    pub special: bool,
    pub question: String,
    pub explanation: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub online: bool,
    pub paper: bool,
    pub thresholds: ThresholdsDto,
    /// `scheduled` (not open yet), `open`, `awaiting_close` (the window
    /// passed; the opener closes it) or `closed`.
    pub status: String,
    /// `owners_committee` or `party_branch`.
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    /// The register as it stood when the vote opened.
    pub register: CountDto,
    /// Units in that register.
    pub units: u64,
    /// Units with a ballot so far.
    pub ballots: u64,
    /// The result, once closed.
    pub tally: Option<TallyDto>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The caller's own units in the register, with their ballots.
    pub my_units: Vec<OwnUnit>,
}

/// A vote's history (auditors and admins).
#[derive(Debug, Serialize, ToSchema)]
pub struct VoteStory {
    pub vote: Uuid,
    /// Every event of the vote's stream in order; ballots without their
    /// choices.
    pub entries: Vec<crate::app::story::StoryEntry>,
}

/// One vote in a list.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct VoteSummary {
    pub id: Uuid,
    pub xiaoqu: Uuid,
    pub matter: MatterDto,
    pub question: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub status: String,
    /// `approved`, `rejected`, `not_decided`; none while open.
    pub outcome: Option<String>,
}

/// The votes of a xiaoqu, latest first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct VoteList {
    pub items: Vec<VoteSummary>,
}

/// Which xiaoqu's votes.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VoteQuery {
    /// The xiaoqu (id or name); the caller's own when left out.
    pub xiaoqu: Option<String>,
}

/// A row of the register left out of an import.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RejectedRowDto {
    /// The line in the file, counting the header as line 1.
    pub line: u32,
    pub field: String,
    /// `unreadable`, `unknown_owner`, `duplicate_unit`, `no_area`,
    /// `area_too_large` or `no_owner`.
    pub problem: String,
    pub reason: String,
}

/// What an import did.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    /// The register stream's version after the import.
    pub version: u64,
    pub units: u64,
    pub area_m2: f64,
    /// Owners in number, as a vote counts them.
    pub owners: u64,
    pub rejected: Vec<RejectedRowDto>,
}

/// A unit of the register.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RegisterUnit {
    pub unit: Uuid,
    pub building: String,
    pub entrance: Option<String>,
    pub room: String,
    /// Building / entrance / room, as a ballot writes it.
    pub address: String,
    pub area_m2: f64,
    /// How many owners hold it together; 0 for the developer's.
    pub owners: u64,
    /// The developer holds it (not sold or not handed over).
    pub developer: bool,
    /// The caller is one of its owners.
    pub mine: bool,
}

/// A xiaoqu's owners' register.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RegisterView {
    pub xiaoqu: Uuid,
    pub version: u64,
    pub imported_at: Option<DateTime<Utc>>,
    pub totals: CountDto,
    pub units: Vec<RegisterUnit>,
}
