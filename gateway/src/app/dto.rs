//! What the API reads and writes. Separate from commands and events: the
//! wire format is a contract of its own.

use chrono::{DateTime, Utc};
use lianxi_domain::deadline::Stage;
use lianxi_domain::values::{
    Category, Channel, EscalationReason, MatterClass, PartyRole, Rating, Respondent, Tier, Urgency,
};
use lianxi_domain::Status;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A wire enum mirroring a domain enum, with conversions both ways.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $dto:ident => $domain:ident { $($variant:ident),+ $(,)? }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        $(#[$meta])*
        pub enum $dto { $($variant),+ }

        impl From<$dto> for $domain {
            fn from(v: $dto) -> Self {
                match v { $($dto::$variant => $domain::$variant),+ }
            }
        }

        impl From<$domain> for $dto {
            fn from(v: $domain) -> Self {
                match v { $($domain::$variant => $dto::$variant),+ }
            }
        }
    };
}

wire_enum!(
    /// What the grievance is about.
    #[schema(as = Category)]
    CategoryDto => Category {
        PropertyService, Fees, Repairs, MaintenanceFund, PublicRevenue, Parking, Sanitation,
        Safety, Noise, Renovation, Neighbour, OwnersCommittee, Other,
    }
);
wire_enum!(
    #[schema(as = Urgency)]
    UrgencyDto => Urgency { Normal, Urgent }
);
wire_enum!(
    /// How the grievance reached the service.
    #[schema(as = Channel)]
    ChannelDto => Channel { Web, Phone, InPerson, Wechat }
);
wire_enum!(
    /// Whom the filer names as responsible.
    #[schema(as = Respondent)]
    RespondentDto => Respondent { PropertyCompany, OwnersCommittee, Neighbour, Unknown }
);
wire_enum!(
    /// 三事分流: major, minor or private matter.
    #[schema(as = MatterClass)]
    MatterClassDto => MatterClass { Major, Minor, Private }
);
wire_enum!(
    /// The escalation ladder.
    #[schema(as = Tier)]
    TierDto => Tier { Xiaoqu, Community, Street, District }
);
wire_enum!(
    /// A party that can be made responsible.
    #[schema(as = Party)]
    PartyDto => PartyRole {
        PartyBranch, PropertyCompany, OwnersCommittee, SupervisoryCommittee, MicroOrganization,
        Community, Street, District,
    }
);
wire_enum!(
    /// 满意 / 基本满意 / 不满意.
    #[schema(as = Rating)]
    RatingDto => Rating { Satisfied, MostlySatisfied, Unsatisfied }
);
wire_enum!(
    /// Why a grievance moves up a tier. `deadline_missed`,
    /// `mediation_failed` and `obligation_missed` are reserved to the
    /// service itself.
    #[schema(as = EscalationReason)]
    EscalationReasonDto => EscalationReason { DeadlineMissed, FilerRequest, MediationFailed, Manual, ObligationMissed }
);
wire_enum!(
    /// Where a grievance stands.
    #[schema(as = GrievanceStatus)]
    StatusDto => Status {
        Filed, Accepted, Rejected, Triaged, Assigned, Responded, InMediation, Resolved, Closed,
        Withdrawn, Merged, Referred,
    }
);

/// Building and unit, or a common area. No room numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationDto {
    #[schema(example = "3栋")]
    pub building: Option<String>,
    #[schema(example = "2单元")]
    pub unit: Option<String>,
    pub common_area: Option<String>,
}

/// A file stored outside the event log, known by its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentDto {
    /// SHA-256 of the content, 64 hex characters.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    #[schema(example = "image/jpeg")]
    pub media_type: String,
    /// Size in bytes, 1 to 52,428,800.
    #[serde(deserialize_with = "super::whole::required")]
    pub size: u64,
}

/// A file attached to a grievance, as a reader sees it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AttachmentView {
    /// SHA-256 of the stored file (a photo as stored: without its metadata).
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    #[schema(example = "image/jpeg")]
    pub media_type: String,
    pub size: u64,
    /// Whether the filer attached it (else a household merged in, or a
    /// party handling the grievance).
    pub uploaded_by_filer: bool,
    /// Where to download it; absent once erased.
    pub href: Option<String>,
    /// A JPEG of at most 320 pixels a side, for photos.
    pub thumbnail: Option<String>,
    /// When it was erased with its uploader's personal data; the digest stays.
    pub erased_at: Option<DateTime<Utc>>,
}

/// Files just uploaded, to name in a filing's `attachments`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UploadedFiles {
    pub files: Vec<AttachmentDto>,
}

/// Filing a grievance. The xiaoqu is the filer's own.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "category": "repairs",
    "title": "3栋电梯停运三天",
    "description": "电梯从周一起停运,老人上下楼困难。",
    "location": {"building": "3栋"},
    "respondent": "property_company",
    "urgency": "urgent",
    "channel": "web"
}))]
pub struct FileGrievanceRequest {
    pub category: CategoryDto,
    /// 1–120 characters.
    #[schema(min_length = 1, max_length = 120)]
    pub title: String,
    /// Up to 4,000 characters.
    #[serde(default)]
    pub description: String,
    pub location: LocationDto,
    pub respondent: RespondentDto,
    #[serde(default = "default_urgency")]
    pub urgency: UrgencyDto,
    #[serde(default = "default_channel")]
    pub channel: ChannelDto,
    /// At most 10.
    #[serde(default)]
    pub attachments: Vec<AttachmentDto>,
}

fn default_urgency() -> UrgencyDto {
    UrgencyDto::Normal
}

fn default_channel() -> ChannelDto {
    ChannelDto::Web
}

/// A command with nothing to say.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyRequest {}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// 1–1,000 characters.
    pub reason: String,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    pub reason: Option<String>,
}

/// Asking for collective discussion at the next regular joint meeting.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferToMeetingRequest {
    /// Why the matter needs the five parties, 1–1,000 characters.
    pub note: Option<String>,
}

/// A grievance waiting for a joint meeting.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MeetingReferralDto {
    /// `urgent` (a major matter, within the urgent window) or `regular`.
    pub kind: String,
    pub since: DateTime<Utc>,
    /// An urgent meeting must be convened by then.
    pub due_at: Option<DateTime<Utc>>,
    /// The convened meeting that has it on its agenda.
    pub meeting: Option<Uuid>,
}

/// The filer's consent to reveal their identity to the respondent.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reveal_to_respondent": true}))]
pub struct IdentityConsentRequest {
    pub reveal_to_respondent: bool,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageRequest {
    pub matter_class: MatterClassDto,
    /// The responsible tier; defaults to the current one.
    pub tier: Option<TierDto>,
    /// The responsible party.
    pub party: PartyDto,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The party asked to respond; defaults to the one named at triage.
    pub party: Option<PartyDto>,
    pub note: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RespondRequest {
    /// 1–4,000 characters.
    pub response: String,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateRequest {
    pub reason: EscalationReasonDto,
    pub note: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// 1–4,000 characters.
    pub summary: String,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateRequest {
    pub rating: RatingDto,
    /// Up to 1,000 characters.
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The grievance this one duplicates.
    pub primary: Uuid,
}

/// Duplicates to merge into one primary, all or none.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeDuplicatesRequest {
    /// The grievances that duplicate the primary: 1 to 100, of its xiaoqu.
    pub duplicates: Vec<Uuid>,
}

/// The outcome of a command.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CommandResponse {
    pub id: Uuid,
    /// The stream's last sequence number; send it back in `If-Match`.
    pub version: u64,
    pub status: StatusDto,
    pub tier: TierDto,
    /// Feed position of this change; pass it as `min_position` to a list to
    /// read your own write.
    pub position: Option<String>,
}

wire_enum!(
    /// A stage with a deadline.
    #[schema(as = Stage)]
    StageDto => Stage { Accept, Respond, Resolve, Convene }
);

/// A running deadline.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadlineDto {
    pub stage: StageDto,
    pub due_at: DateTime<Utc>,
}

/// A paused deadline and the time it had left.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PausedDto {
    pub stage: StageDto,
    pub remaining_seconds: i64,
    pub since: DateTime<Utc>,
}

/// One open item of an escalation queue.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct QueueItemDto {
    pub grievance: GrievanceView,
    pub stage: StageDto,
    /// When the running deadline falls due; absent while paused.
    pub due_at: Option<DateTime<Utc>>,
    /// Seconds past the deadline (negative: time left).
    pub overdue_seconds: Option<i64>,
    pub paused: bool,
    /// A major matter (大事): it calls for an urgent joint meeting.
    pub urgent_meeting: bool,
    /// While that meeting is still to be convened: the xiaoqu to name in
    /// `POST /api/v1/meetings` (`kind: urgent`, this grievance on the
    /// agenda). The tier holding the matter convenes and chairs it.
    pub convene_in: Option<Uuid>,
}

/// The open items of one tier, most overdue first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EscalationQueue {
    pub tier: TierDto,
    pub now: DateTime<Utc>,
    pub items: Vec<QueueItemDto>,
    /// How far into the event feed the queue is.
    pub position: String,
    /// False when `min_position` was not reached within the wait.
    pub caught_up: bool,
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// The tier; defaults to the caller's own (auditors: xiaoqu).
    pub tier: Option<TierDto>,
    /// At most this many items, 1–200 (default 100).
    #[param(minimum = 1, maximum = 200)]
    #[serde(default, deserialize_with = "super::whole::optional")]
    pub limit: Option<u32>,
    /// Wait (up to 2 s) until the queue reflects this position.
    pub min_position: Option<String>,
}

/// Scope of `GET /api/v1/figures`.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FiguresQuery {
    /// A xiaoqu, by its id or its registered name.
    pub xiaoqu: Option<String>,
    /// The party that had to respond.
    pub party: Option<PartyDto>,
    /// The tier handling the grievances now.
    pub tier: Option<TierDto>,
    /// Grievances filed at or after this instant.
    pub filed_from: Option<DateTime<Utc>>,
    /// Grievances filed before this instant.
    pub filed_to: Option<DateTime<Utc>>,
    /// Wait (up to 2 s) until the figures reflect this position.
    pub min_position: Option<String>,
}

/// A share: `count` of `of`, and their ratio (absent when `of` is 0).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
pub struct RateDto {
    pub count: u64,
    pub of: u64,
    pub rate: Option<f64>,
}

impl From<lianxi_projections::figures::Rate> for RateDto {
    fn from(r: lianxi_projections::figures::Rate) -> Self {
        Self {
            count: r.count,
            of: r.of,
            rate: r.rate,
        }
    }
}

/// The 三率 figures and median times of the grievances filed in a scope and
/// period. No personal data. Definitions are in the API guide.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FiguresDto {
    pub filed: u64,
    /// Accepted (or rejected) before the accept deadline.
    pub response_rate: RateDto,
    pub resolution_rate: RateDto,
    /// Rated satisfied or mostly satisfied.
    pub satisfaction_rate: RateDto,
    pub escalation_rate: RateDto,
    pub reopen_rate: RateDto,
    pub median_seconds_to_accept: Option<i64>,
    pub median_seconds_to_respond: Option<i64>,
    pub median_seconds_to_resolve: Option<i64>,
    pub as_of: DateTime<Utc>,
    pub position: String,
    pub caught_up: bool,
}

/// What a draft grievance says, to find the open grievances of the
/// caller's xiaoqu that look like the same matter.
#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DraftQuery {
    pub category: CategoryDto,
    /// The draft's title: 1–500 characters once trimmed.
    #[param(
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[\s\S]{0,498}[^\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub title: String,
    /// The building it names, if any.
    pub building: Option<String>,
}

/// An open grievance that looks like the same matter.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LikelyDuplicateDto {
    /// Present when the caller may read it (a handler of the xiaoqu, or the
    /// filer of their own).
    pub id: Option<Uuid>,
    /// The caller filed it: the caller's own open grievances come first,
    /// to follow rather than file the matter again.
    pub own: bool,
    /// Its title, with the filer's name, phone and room masked when the
    /// caller may not read it.
    pub title: String,
    pub status: StatusDto,
    pub filed_at: DateTime<Utc>,
    /// How alike: the share of the titles' character pairs in common, plus
    /// 0.15 for the same building; 0.3 or more is listed.
    pub likeness: f64,
}

/// Likely duplicates: the caller's own first, then the most alike.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LikelyDuplicates {
    pub items: Vec<LikelyDuplicateDto>,
}

impl From<crate::app::duplicates::Similar> for LikelyDuplicateDto {
    fn from(s: crate::app::duplicates::Similar) -> Self {
        Self {
            id: s.id.map(|id| id.0),
            own: s.own,
            title: s.title,
            status: s.status.into(),
            filed_at: s.filed_at,
            likeness: (s.likeness * 1000.0).round() / 1000.0,
        }
    }
}

/// Filters and paging of `GET /api/v1/grievances`.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// A xiaoqu, by its id or its registered name.
    pub xiaoqu: Option<String>,
    pub status: Option<StatusDto>,
    pub category: Option<CategoryDto>,
    pub respondent: Option<RespondentDto>,
    pub tier: Option<TierDto>,
    pub assigned_party: Option<PartyDto>,
    /// Filed at or after this instant (RFC 3339).
    pub filed_from: Option<DateTime<Utc>>,
    /// Filed before this instant (RFC 3339).
    pub filed_to: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    #[serde(default, deserialize_with = "super::whole::optional")]
    pub limit: Option<u32>,
    /// Wait (up to 2 s) until the list reflects this position (from a command's answer).
    pub min_position: Option<String>,
}

/// A page of grievances, newest filed first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct GrievancePage {
    pub items: Vec<GrievanceView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// How far into the event feed the list is.
    pub position: String,
    /// False when `min_position` was not reached within the wait.
    pub caught_up: bool,
}

/// A grievance as the caller may see it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct GrievanceView {
    pub id: Uuid,
    pub version: u64,
    pub xiaoqu: Uuid,
    /// The filer's account id, or a stable pseudonym for those who may not know who filed.
    pub filer: String,
    pub category: CategoryDto,
    pub title: String,
    pub description: String,
    pub location: LocationDto,
    pub respondent: RespondentDto,
    pub urgency: UrgencyDto,
    pub channel: ChannelDto,
    pub attachments: Vec<AttachmentView>,
    pub status: StatusDto,
    pub tier: TierDto,
    pub matter_class: Option<MatterClassDto>,
    pub responsible_party: Option<PartyDto>,
    pub assigned_party: Option<PartyDto>,
    pub filed_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub rating: Option<RatingDto>,
    pub escalations: u32,
    pub reopenings: u32,
    pub merged_into: Option<Uuid>,
    pub duplicates: Vec<Uuid>,
    pub last_changed_at: DateTime<Utc>,
    /// The running deadline of the current stage.
    pub deadline: Option<DeadlineDto>,
    /// The stopped deadline, while the handler paused the clock.
    pub paused: Option<PausedDto>,
    /// Whether the filer lets the respondent know who filed.
    pub identity_revealed: bool,
    /// The mediation case it follows (or last followed).
    pub mediation_case: Option<Uuid>,
    /// Waiting for a joint meeting.
    pub meeting_referral: Option<MeetingReferralDto>,
    /// The filer's name, phone and room: only in a single grievance's view,
    /// only for the filer, the party branch, and the respondent the filer
    /// consented to reveal them to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filer_contact: Option<ContactDto>,
    /// For a maintenance-fund grievance, in a single grievance's view: the
    /// xiaoqu's owners' votes on using the fund, latest first, with their
    /// outcomes, so that anyone can see whether the owners approved the
    /// spending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund_votes: Option<Vec<crate::app::votes::VoteSummary>>,
}

/// One stored event of a stream.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    pub sequence: i64,
    pub global_position: i64,
    pub event_id: String,
    pub event_type: String,
    pub event_version: String,
    pub recorded_at: DateTime<Utc>,
    /// The event's payload, with personal identifiers pseudonymised for roles that may not see them.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Actor, role, command, request id, occurred_at, reason, and the
    /// command's `traceparent` when traces are exported.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// The event's chain hash, hex: SHA-256 of the previous event's hash
    /// and this event's canonical bytes (see the auditors' guide).
    pub hash: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EventList {
    pub grievance: Uuid,
    pub events: Vec<EventView>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

/// Sign-in with a login name and password.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"login": "wangxm", "password": "a long passphrase"}))]
pub struct LoginRequest {
    #[schema(min_length = 1, max_length = 64)]
    pub login: String,
    pub password: String,
    /// Act in this of the person's roles (default: the account's own).
    pub role: Option<String>,
    /// Narrows `role` when it is held in several xiaoqu: the xiaoqu's id
    /// or its name.
    pub xiaoqu: Option<String>,
    /// Narrows a tier `role` held for several units.
    pub unit: Option<String>,
}

/// Passwords never reach a log through `Debug`.
impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginRequest(<redacted>)")
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`; shown only this once.
    pub token: String,
    pub token_type: String,
    pub expires_at: DateTime<Utc>,
    pub account: AccountView,
}

/// An account: its role, scope and pseudonym; its personal data only for
/// the person themselves.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    pub id: Uuid,
    pub role: String,
    /// The xiaoqu of a xiaoqu role.
    pub xiaoqu: Option<Uuid>,
    /// The community, street or district of a tier role.
    pub unit: Option<String>,
    /// The organization a party role acts for, in every xiaoqu it serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Uuid>,
    /// What respondents and auditors see instead of this person's identity.
    pub pseudonym: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal_data: Option<ContactDto>,
    /// Every role the person holds (the first is the account's own); the
    /// fields above show the one this token acts in. Only for the person.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleGrantDto>,
}

/// A person's name, phone and room, or the mark that they were erased.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactDto {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub room: Option<String>,
    /// The person's data was erased on request: the fields above are gone.
    pub erased: bool,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    /// Why (e.g. the request's reference); stored with the event.
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ErasureResult {
    pub account: Uuid,
    pub erased_at: DateTime<Utc>,
}

/// A new xiaoqu and where it sits.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "幸福里", "community": "东苑社区", "street": "城厢街道", "district": "涪城区"}))]
pub struct XiaoquRequest {
    pub name: String,
    pub community: String,
    pub street: String,
    pub district: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct XiaoquView {
    pub id: Uuid,
    pub name: String,
    pub community: String,
    pub street: String,
    pub district: String,
}

/// A person's name, phone and room as given.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalDataRequest {
    pub name: String,
    pub phone: Option<String>,
    pub room: Option<String>,
}

impl std::fmt::Debug for PersonalDataRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PersonalDataRequest(<redacted>)")
    }
}

/// A new account: role and scope, the person's data, and optionally a login
/// and an API token.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "resident", "xiaoqu": "幸福里",
    "personal_data": {"name": "王小明", "phone": "13800138000", "room": "3栋2单元501"},
    "login": "wangxm", "password": "a long passphrase"}))]
pub struct AccountRequest {
    /// resident, property_company, owners_committee, supervisory_committee,
    /// micro_organization, party_branch, community, street, district, auditor or admin.
    pub role: String,
    /// The xiaoqu (id or name) of a xiaoqu role.
    pub xiaoqu: Option<String>,
    /// The community, street or district name of a tier role.
    pub unit: Option<String>,
    /// Instead of a xiaoqu: the organization (its registry id) a party role
    /// acts for, in every xiaoqu where the registry has it act as that
    /// party (a property company serving several xiaoqu: one account).
    pub organization: Option<String>,
    pub personal_data: PersonalDataRequest,
    /// Login name and password (12 to 128 characters), both or neither.
    #[schema(min_length = 1, max_length = 64)]
    pub login: Option<String>,
    pub password: Option<String>,
    /// Issue an API token lasting this many days (0: until revoked).
    #[serde(default, deserialize_with = "super::whole::optional")]
    pub api_token_ttl_days: Option<u32>,
}

/// Passwords and personal data never reach a log through `Debug`.
impl std::fmt::Debug for AccountRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRequest")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountCreated {
    pub account: AccountView,
    /// The API token, shown only this once (when one was asked for).
    pub token: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RevocationResult {
    /// How many live tokens were revoked.
    pub revoked: u64,
}

/// A role in a scope.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "owners_committee", "xiaoqu": "幸福里"}))]
pub struct RoleGrantDto {
    pub role: String,
    /// The xiaoqu (an id; requests also take a name) of a xiaoqu role.
    pub xiaoqu: Option<String>,
    /// The community, street or district of a tier role.
    pub unit: Option<String>,
}

/// A serde enum's wire name (`property_company`, `in_mediation`, …); empty
/// for a value that is not one.
pub fn wire<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
