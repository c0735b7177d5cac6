//! The micro-fund and micro-project services' wire types: what the JSON
//! API and the pages send and get back. Amounts are whole fen (分).

use chrono::{DateTime, Utc};
use lianxi_domain::micro::{Evaluator, FundKind, ProjectStatus, Source};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::dto::AttachmentDto;

/// Who stands behind a fund.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = FundKindName)]
pub enum FundKindDto {
    /// 冠名基金: named after its donor (`donor` names them).
    Named,
    /// 众筹基金: from many residents.
    Crowd,
}

/// Opening a fund: a xiaoqu's (its party branch) or a community's (the
/// community). Without `xiaoqu` or `community`, the opener's own place.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "幸福里微基金", "kind": "crowd"}))]
pub struct OpenFundRequest {
    /// The xiaoqu, by id or name (a xiaoqu's fund).
    #[serde(default)]
    pub xiaoqu: Option<String>,
    /// The community, by name (a community's fund).
    #[serde(default)]
    pub community: Option<String>,
    /// 1–60 characters.
    pub name: String,
    pub kind: FundKindDto,
    /// The donor a named fund is named after, 1–60 characters.
    #[serde(default)]
    pub donor: Option<String>,
}

/// Where money came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = MoneySourceKind)]
pub enum SourceKindDto {
    /// A donor who wants their name shown (`name`).
    Named,
    /// A donor who does not.
    Anonymous,
    /// A grant of a street, a district or a company (`name`).
    Grant,
}

/// Money received.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount_fen": 50000, "source": "named", "name": "3栋王女士"}))]
pub struct IncomeRequest {
    /// Fen, more than nothing.
    #[serde(deserialize_with = "crate::app::whole::required")]
    pub amount_fen: u64,
    pub source: SourceKindDto,
    /// The donor's or grantor's name, 1–60 characters, for `named` and `grant`.
    #[serde(default)]
    pub name: Option<String>,
    /// A project of this fund the money is earmarked for.
    #[serde(default)]
    pub project: Option<Uuid>,
}

/// Money paid for a project of the fund that is under way, with its receipt
/// (uploaded first: `POST /api/v1/files`).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpendingRequest {
    /// Fen, more than nothing and at most the balance.
    #[serde(deserialize_with = "crate::app::whole::required")]
    pub amount_fen: u64,
    pub project: Uuid,
    /// 1–4,000 characters.
    pub purpose: String,
    pub receipt: AttachmentDto,
}

/// Which funds to list: those serving a xiaoqu (its own and its
/// community's), or a community's own; the caller's own place by default.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FundQuery {
    /// A xiaoqu, by id or name.
    pub xiaoqu: Option<String>,
    /// A community, by name.
    pub community: Option<String>,
}

/// A fund as listed: its totals, no entries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FundSummary {
    pub id: Uuid,
    /// `xiaoqu` or `community`.
    pub place_kind: String,
    /// The xiaoqu's id, or the community's name.
    pub place: String,
    pub name: String,
    pub kind: FundKindDto,
    pub received_fen: u64,
    pub spent_fen: u64,
    /// Received minus spent.
    pub balance_fen: u64,
    pub opened_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FundList {
    pub items: Vec<FundSummary>,
}

/// One entry of a fund's ledger, in the order recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FundEntryView {
    /// `received` or `spent`.
    pub entry: String,
    pub amount_fen: u64,
    /// For money received: `named`, `anonymous` or `grant`.
    pub source: Option<SourceKindDto>,
    /// The named donor or the grantor.
    pub name: Option<String>,
    /// The project paid for, or the one money was earmarked for.
    pub project: Option<Uuid>,
    pub purpose: Option<String>,
    pub receipt: Option<AttachmentDto>,
    /// Where to download the receipt.
    pub receipt_href: Option<String>,
    /// The balance after this entry.
    pub balance_fen: u64,
    pub at: DateTime<Utc>,
}

/// A fund with every entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FundView {
    #[serde(flatten)]
    pub summary: FundSummary,
    /// The donor a named fund is named after.
    pub donor: Option<String>,
    pub version: u64,
    pub entries: Vec<FundEntryView>,
}

impl From<&FundKind> for FundKindDto {
    fn from(k: &FundKind) -> Self {
        match k {
            FundKind::Named(_) => FundKindDto::Named,
            FundKind::Crowd => FundKindDto::Crowd,
        }
    }
}

/// The kind and name of a source.
pub fn source_parts(s: &Source) -> (SourceKindDto, Option<String>) {
    match s {
        Source::Named(n) => (SourceKindDto::Named, Some(n.as_str().to_owned())),
        Source::Anonymous => (SourceKindDto::Anonymous, None),
        Source::Grant(n) => (SourceKindDto::Grant, Some(n.as_str().to_owned())),
    }
}

/// Proposing a project (a micro-organization or a resident of the xiaoqu).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "fund": "0193a1c2-0000-7000-8000-000000000001",
    "title": "楼道口微花园",
    "plan": "在5栋楼道口空地种植花草,志愿者每周养护。",
    "budget_fen": 120000
}))]
pub struct ProposeProjectRequest {
    /// The fund asked to pay: the xiaoqu's or its community's.
    pub fund: Uuid,
    /// The xiaoqu, by id or name; the proposer's own by default.
    #[serde(default)]
    pub xiaoqu: Option<String>,
    /// 1–120 characters.
    pub title: String,
    /// 1–4,000 characters.
    pub plan: String,
    /// Fen, more than nothing.
    #[serde(deserialize_with = "crate::app::whole::required")]
    pub budget_fen: u64,
}

/// The branch's review with the parties.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    pub approved: bool,
    /// 1–4,000 characters.
    pub opinion: String,
}

/// Showing a project publicly (公示) until `comments_until`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// In the future.
    pub comments_until: DateTime<Utc>,
}

/// A text: a comment, an evaluation.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextRequest {
    /// 1–4,000 characters.
    pub text: String,
}

/// A progress report with its receipts (uploaded first: `POST /api/v1/files`).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// 1–4,000 characters.
    pub text: String,
    /// 1–10 files.
    pub receipts: Vec<AttachmentDto>,
}

/// A resident's rating of an evaluated project; rating again replaces it.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// 1 to 5.
    #[serde(deserialize_with = "crate::app::whole::required")]
    #[schema(minimum = 1, maximum = 5)]
    pub stars: u8,
}

/// Which projects to list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProjectQuery {
    /// A xiaoqu, by id or name; the caller's own by default.
    pub xiaoqu: Option<String>,
}

/// Where a project stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ProjectStatusName)]
pub enum ProjectStatusDto {
    Proposed,
    Shortlisted,
    Approved,
    PubliclyNoticed,
    UnderWay,
    Evaluated,
    Closed,
    Declined,
}

impl From<ProjectStatus> for ProjectStatusDto {
    fn from(s: ProjectStatus) -> Self {
        match s {
            ProjectStatus::Proposed => ProjectStatusDto::Proposed,
            ProjectStatus::Shortlisted => ProjectStatusDto::Shortlisted,
            ProjectStatus::Approved => ProjectStatusDto::Approved,
            ProjectStatus::PubliclyNoticed => ProjectStatusDto::PubliclyNoticed,
            ProjectStatus::UnderWay => ProjectStatusDto::UnderWay,
            ProjectStatus::Evaluated => ProjectStatusDto::Evaluated,
            ProjectStatus::Closed => ProjectStatusDto::Closed,
            ProjectStatus::Declined => ProjectStatusDto::Declined,
        }
    }
}

/// A project as listed, with no personal data: what the public board shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProjectSummary {
    pub id: Uuid,
    pub fund: Uuid,
    pub xiaoqu: Uuid,
    pub title: String,
    pub status: ProjectStatusDto,
    pub budget_fen: u64,
    /// What the fund paid for it so far.
    pub spent_fen: u64,
    pub supporters: u64,
    /// The residents' mean rating, in stars.
    pub rating: Option<f64>,
    pub ratings: u64,
    pub proposed_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProjectList {
    pub items: Vec<ProjectSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportView {
    pub text: String,
    pub receipts: Vec<FileView>,
    pub at: DateTime<Utc>,
}

/// A file of a project, with where to download it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FileView {
    #[serde(flatten)]
    pub file: AttachmentDto,
    pub href: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DatedText {
    pub text: String,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EvaluationView {
    /// `proposer` or `third_party`.
    pub by: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

pub fn evaluator_name(e: Evaluator) -> &'static str {
    match e {
        Evaluator::Proposer => "proposer",
        Evaluator::ThirdParty => "third_party",
    }
}

/// A project with its plan, review, notice, reports and evaluations; the
/// proposer by role only, supporters and raters counted, commenters not named.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProjectView {
    #[serde(flatten)]
    pub summary: ProjectSummary,
    pub version: u64,
    pub fund_name: String,
    pub plan: String,
    /// `micro_organization` or `resident`.
    pub proposer_role: String,
    /// Whether the caller proposed it (and so reports on and evaluates it).
    pub proposed_by_me: bool,
    pub supported_by_me: bool,
    pub my_rating: Option<u8>,
    pub opinion: Option<String>,
    pub comments_until: Option<DateTime<Utc>>,
    pub comments: Vec<DatedText>,
    pub reports: Vec<ReportView>,
    pub evaluations: Vec<EvaluationView>,
    /// What the fund paid for it, entry by entry.
    pub spending: Vec<FundEntryView>,
}

/// Every event of a project's or a fund's stream, for auditors.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct MicroStory {
    pub stream: Uuid,
    pub entries: Vec<crate::app::story::StoryEntry>,
}
