//! The mediation service (调解): cases opened by the party branch or a
//! higher tier for grievances on one matter; sessions; a proposal every
//! party accepts (the agreement) or one declines; obligations fulfilled or
//! missed; failure, which escalates or refers the matter out. The JSON API
//! and the case pages call these functions; the rules are the
//! `MediationCase` aggregate's.
//!
//! Who sees a case (`policy::can_view_case`): the party branch of its
//! xiaoqu, the tiers it reached, auditors, and its own parties (a person
//! named in it, or an operator of a party named in it). Persons appear as
//! account ids to the mediators and to themselves, as pseudonyms to
//! everyone else. Anyone else gets 404.

use chrono::{DateTime, Utc};
use lianxi_domain::grievance::{CaseStep, GrievanceState};
use lianxi_domain::mediation::{
    CaseParty, FailureOutcome, MediationAction, MediationCase, MediationCaseState,
    MediationCommand, ObligationDraft, OpenCase, PartyStatement,
};
use lianxi_domain::values::{
    AccountId, CaseId, GrievanceId, Label, MeetingId, ObligationId, Reason, Statement, Title,
    XiaoquId,
};
use lianxi_domain::{Actor, Grievance, GrievanceAction, GrievanceCommand, Role};
use lianxi_projections::meetings as case_list;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Caller;
use super::dto::wire;
use super::dto::{PartyDto, TierDto};
use super::error::{ApiError, FieldProblem};
use super::grievances::{actor, checked, covers, field, optional_field, Fields};
use super::paging;
use super::policy::{can_view_case as can_view, sees_case_people as sees_people};
use super::reads::{self, format_position};
use super::{AppState, SYSTEM_ACCOUNT};
use crate::event_log::{CommandMetadata, Committed};

// ---------- wire types ----------

/// A party to a case: `{"kind": "person", "id": "<account id>"}` or
/// `{"kind": "party", "id": "property_company"}`. In views a person's id is
/// a pseudonym for readers who may not know who they are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CasePartyDto {
    /// `person` or `party`.
    #[schema(example = "party")]
    pub kind: String,
    #[schema(example = "property_company")]
    pub id: String,
}

/// Opening a case (party branch, or a tier).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "matter": "地下车库停车位分配",
    "grievances": ["0193a0c2-0000-7000-8000-000000000001"],
    "respondents": [{"kind": "party", "id": "property_company"}]
}))]
pub struct OpenCaseRequest {
    /// What the case is about, 1–120 characters.
    pub matter: String,
    /// Grievances of one xiaoqu on this matter, each triaged, assigned or
    /// responded to.
    pub grievances: Vec<Uuid>,
    /// The applicants; by default the filers of the grievances.
    pub applicants: Option<Vec<CasePartyDto>>,
    pub respondents: Vec<CasePartyDto>,
}

/// Scheduling a session: a place, a joint meeting, or both.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    pub scheduled_for: DateTime<Utc>,
    /// 1–64 characters.
    pub place: Option<String>,
    /// A joint meeting where the session is an agenda item.
    pub meeting: Option<Uuid>,
}

/// A party's statement at a session.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementDto {
    pub party: CasePartyDto,
    /// 1–4,000 characters.
    pub statement: String,
}

/// Recording a held session.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordRequest {
    pub attendance: Vec<CasePartyDto>,
    #[serde(default)]
    pub statements: Vec<StatementDto>,
}

/// An obligation to propose.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObligationRequest {
    pub party: CasePartyDto,
    /// 1–4,000 characters.
    pub description: String,
    pub due_at: DateTime<Utc>,
}

/// Proposing an agreement (调解协议).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeRequest {
    /// 1–4,000 characters.
    pub terms: String,
    #[serde(default)]
    pub obligations: Vec<ObligationRequest>,
}

/// Accepting the proposal: a party for itself (`party` left out), or the
/// mediator recording a party's signature.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    pub party: Option<CasePartyDto>,
}

/// Declining the proposal.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineRequest {
    pub party: Option<CasePartyDto>,
    pub reason: String,
}

/// Where a failed mediation goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureOutcomeDto {
    /// Its grievances climb one tier.
    Escalate,
    /// To the people's mediation committee (人民调解委员会).
    PeoplesMediationCommittee,
    /// To the courts (诉调对接).
    Litigation,
}

impl From<FailureOutcomeDto> for FailureOutcome {
    fn from(o: FailureOutcomeDto) -> Self {
        match o {
            FailureOutcomeDto::Escalate => FailureOutcome::Escalate,
            FailureOutcomeDto::PeoplesMediationCommittee => {
                FailureOutcome::PeoplesMediationCommittee
            }
            FailureOutcomeDto::Litigation => FailureOutcome::Litigation,
        }
    }
}

impl From<FailureOutcome> for FailureOutcomeDto {
    fn from(o: FailureOutcome) -> Self {
        match o {
            FailureOutcome::Escalate => FailureOutcomeDto::Escalate,
            FailureOutcome::PeoplesMediationCommittee => {
                FailureOutcomeDto::PeoplesMediationCommittee
            }
            FailureOutcome::Litigation => FailureOutcomeDto::Litigation,
        }
    }
}

/// Ending a mediation without agreement (调解不成).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FailRequest {
    pub outcome: FailureOutcomeDto,
    pub reason: String,
}

/// A note on an obligation.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObligationNoteRequest {
    pub note: Option<String>,
}

/// A session of the case.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    pub number: u32,
    pub scheduled_for: DateTime<Utc>,
    pub place: Option<String>,
    pub meeting: Option<Uuid>,
    pub held_at: Option<DateTime<Utc>>,
    pub attendance: Vec<CasePartyDto>,
    pub statements: Vec<StatementDto>,
}

/// An obligation of a proposal or an agreement.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ObligationView {
    pub id: Uuid,
    pub party: CasePartyDto,
    pub description: String,
    pub due_at: DateTime<Utc>,
    /// `proposed`, `open`, `fulfilled`, `missed` or `void`.
    pub status: String,
    pub settled_at: Option<DateTime<Utc>>,
}

/// The pending proposal.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ProposalView {
    pub round: u32,
    pub terms: String,
    pub obligations: Vec<ObligationView>,
    pub accepted_by: Vec<CasePartyDto>,
}

/// The agreement every party accepted.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AgreementView {
    pub round: u32,
    pub terms: String,
    pub obligations: Vec<ObligationView>,
    pub reached_at: DateTime<Utc>,
}

/// Why and how the mediation failed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FailureView {
    pub outcome: FailureOutcomeDto,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// A mediation case as the caller may see it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CaseView {
    pub id: Uuid,
    pub version: u64,
    pub xiaoqu: Uuid,
    pub matter: String,
    pub grievances: Vec<Uuid>,
    pub applicants: Vec<CasePartyDto>,
    pub respondents: Vec<CasePartyDto>,
    /// The mediator's account id (pseudonymised like any person).
    pub mediator: String,
    pub tier: TierDto,
    /// `open`, `proposed`, `agreed`, `concluded` or `failed`.
    pub status: String,
    pub sessions: Vec<SessionView>,
    pub proposal: Option<ProposalView>,
    pub agreement: Option<AgreementView>,
    pub failure: Option<FailureView>,
    pub reopenings: u32,
    pub opened_at: DateTime<Utc>,
    pub last_changed_at: DateTime<Utc>,
    /// In the answer to a command: the feed position of the change; pass it
    /// as `min_position` to the list to read your own write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
}

/// A case in a list.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CaseSummary {
    pub id: Uuid,
    pub matter: String,
    pub status: String,
    pub tier: TierDto,
    pub grievances: usize,
    pub opened_at: DateTime<Utc>,
}

/// Cases of a xiaoqu visible to the caller.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CaseList {
    pub items: Vec<CaseSummary>,
    /// The next page's `cursor`; absent on the last page.
    pub next_cursor: Option<String>,
    /// How far into the event feed the list is.
    pub position: String,
    /// False when `min_position` was not reached within the wait.
    pub caught_up: bool,
}

/// `GET /mediation-cases`: which xiaoqu (default: the caller's own), which
/// status, and the page.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    /// A xiaoqu, by its id or its registered name.
    pub xiaoqu: Option<String>,
    /// `open`, `proposed`, `agreed`, `concluded` or `failed`.
    #[param(pattern = "^(open|proposed|agreed|concluded|failed)$")]
    pub status: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    #[serde(default, deserialize_with = "super::whole::optional")]
    pub limit: Option<u32>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Wait (up to 2 s) until the list reflects this position (from a
    /// command's answer).
    pub min_position: Option<String>,
}

// ---------- authorization ----------

pub fn parse_case_id(id: &str) -> Result<CaseId, ApiError> {
    CaseId::parse(id).map_err(|_| ApiError::not_found())
}

pub async fn visible(
    state: &AppState,
    caller: &Caller,
    id: CaseId,
) -> Result<(MediationCaseState, usize), ApiError> {
    let (case, version) = state.cases.load(id).await?;
    let case = case.state().cloned().ok_or_else(ApiError::not_found)?;
    if covers(state, caller, case.xiaoqu).await? && can_view(&caller.0, &case) {
        Ok((case, version))
    } else {
        Err(ApiError::not_found())
    }
}

// ---------- views ----------

struct Viewer<'a> {
    state: &'a AppState,
    caller: &'a Caller,
}

impl Viewer<'_> {
    fn person(&self, account: AccountId) -> String {
        if sees_people(&self.caller.0) || self.caller.0.id == account {
            account.to_string()
        } else {
            self.state.people.pseudonym(account)
        }
    }

    fn party(&self, party: &CaseParty) -> CasePartyDto {
        match party {
            CaseParty::Person(a) => CasePartyDto {
                kind: "person".into(),
                id: self.person(*a),
            },
            CaseParty::Party(p) => CasePartyDto {
                kind: "party".into(),
                id: wire(p),
            },
        }
    }

    fn parties(&self, parties: &[CaseParty]) -> Vec<CasePartyDto> {
        parties.iter().map(|p| self.party(p)).collect()
    }

    fn case(&self, c: &MediationCaseState, version: usize) -> CaseView {
        let draft = |o: &ObligationDraft| ObligationView {
            id: o.obligation_id.0,
            party: self.party(&o.party),
            description: o.description.as_str().to_owned(),
            due_at: o.due_at,
            status: "proposed".into(),
            settled_at: None,
        };
        CaseView {
            id: c.id.0,
            version: version as u64,
            xiaoqu: c.xiaoqu.0,
            matter: c.matter.as_str().to_owned(),
            grievances: c.grievances.iter().map(|g| g.0).collect(),
            applicants: self.parties(&c.applicants),
            respondents: self.parties(&c.respondents),
            mediator: self.person(c.mediator),
            tier: c.tier.into(),
            status: c.status.as_str().to_owned(),
            sessions: c
                .sessions
                .iter()
                .map(|s| SessionView {
                    number: s.number,
                    scheduled_for: s.scheduled_for,
                    place: s.place.as_ref().map(|p| p.as_str().to_owned()),
                    meeting: s.meeting.map(|m| m.0),
                    held_at: s.held.as_ref().map(|h| h.at),
                    attendance: s
                        .held
                        .as_ref()
                        .map(|h| self.parties(&h.attendance))
                        .unwrap_or_default(),
                    statements: s
                        .held
                        .iter()
                        .flat_map(|h| h.statements.iter())
                        .map(|st| StatementDto {
                            party: self.party(&st.party),
                            statement: st.statement.as_str().to_owned(),
                        })
                        .collect(),
                })
                .collect(),
            proposal: c.proposal.as_ref().map(|p| ProposalView {
                round: p.round,
                terms: p.terms.as_str().to_owned(),
                obligations: p.obligations.iter().map(draft).collect(),
                accepted_by: self.parties(&p.accepted_by),
            }),
            agreement: c.agreement.as_ref().map(|a| AgreementView {
                round: a.round,
                terms: a.terms.as_str().to_owned(),
                obligations: a
                    .obligations
                    .iter()
                    .map(|o| ObligationView {
                        id: o.id.0,
                        party: self.party(&o.party),
                        description: o.description.as_str().to_owned(),
                        due_at: o.due_at,
                        status: wire(&o.status),
                        settled_at: o.settled_at,
                    })
                    .collect(),
                reached_at: a.reached_at,
            }),
            failure: c.failure.as_ref().map(|f| FailureView {
                outcome: f.outcome.into(),
                reason: f.reason.as_str().to_owned(),
                at: f.at,
            }),
            reopenings: c.reopenings,
            opened_at: c.opened_at,
            last_changed_at: c.last_changed_at,
            position: None,
        }
    }
}

// ---------- parsing ----------

/// Parses a party given on the wire; persons by account id.
fn case_party(fields: &mut Fields, at: &str, dto: &CasePartyDto) -> Option<CaseParty> {
    match dto.kind.as_str() {
        "person" => fields
            .check(&format!("{at}.id"), AccountId::parse(&dto.id))
            .map(CaseParty::Person),
        "party" => {
            match serde_json::from_value::<PartyDto>(serde_json::Value::String(dto.id.clone())) {
                Ok(p) => Some(CaseParty::Party(p.into())),
                Err(_) => {
                    fields.0.push(FieldProblem {
                        field: format!("{at}.id"),
                        reason: "must be a party such as property_company or owners_committee"
                            .into(),
                    });
                    None
                }
            }
        }
        _ => {
            fields.0.push(FieldProblem {
                field: format!("{at}.kind"),
                reason: "must be person or party".into(),
            });
            None
        }
    }
}

fn case_parties(fields: &mut Fields, at: &str, dtos: &[CasePartyDto]) -> Vec<CaseParty> {
    dtos.iter()
        .enumerate()
        .filter_map(|(i, d)| case_party(fields, &format!("{at}[{i}]"), d))
        .collect()
}

/// The party a caller speaks for when it names none: itself as a person
/// of the case, else the party its role stands for.
fn own_party(caller: &Caller, case: &MediationCaseState) -> Result<CaseParty, ApiError> {
    let me = CaseParty::Person(caller.0.id);
    if case.is_party(me) {
        return Ok(me);
    }
    caller
        .0
        .role
        .party()
        .map(CaseParty::Party)
        .filter(|p| case.is_party(*p))
        .ok_or_else(|| ApiError::invalid_field("party", "name the party you act for"))
}

/// Whether grievance `g` may enter mediation now: a dry run of the step
/// the grievance will follow once the case is opened.
pub fn can_enter(state: &AppState, g: &GrievanceState) -> bool {
    let system = Actor::new(SYSTEM_ACCOUNT, Role::System);
    let follow = GrievanceAction::FollowCase {
        case: CaseId(Uuid::nil()),
        sequence: 1,
        step: CaseStep::Opened,
    };
    Grievance::from(g.clone())
        .would_record(GrievanceCommand::new(system, follow), state.log.services())
}

/// Whether `caller` may open a mediation case for grievance `g` now: a dry
/// run of the case's own `OpenCase` with the caller as mediator (its filer
/// against the property company, for instance), and of the step the
/// grievance will then follow.
pub fn may_open(state: &AppState, caller: &Caller, g: &GrievanceState) -> bool {
    let open = OpenCase {
        case_id: CaseId(Uuid::nil()),
        xiaoqu: g.xiaoqu,
        matter: g.title.clone(),
        grievances: vec![g.id],
        applicants: vec![CaseParty::Person(g.filer)],
        respondents: vec![CaseParty::Party(
            lianxi_domain::values::PartyRole::PropertyCompany,
        )],
    };
    let command = MediationCommand::new(actor(caller), MediationAction::OpenCase(open));
    let opens = matches!(
        MediationCase::default().decide(command, state.cases.services()),
        Ok(events) if !events.is_empty()
    );
    opens && can_enter(state, g)
}

// ---------- the service ----------

/// The case and its version, as the caller may see it.
pub type Shown = (CaseView, usize);

/// Opens a mediation case for grievances of one xiaoqu (the party branch or
/// a tier).
pub async fn open(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    body: &OpenCaseRequest,
) -> Result<Shown, ApiError> {
    if !matches!(
        caller.0.role,
        Role::PartyBranch | Role::Community | Role::Street | Role::District
    ) {
        return Err(ApiError::forbidden(
            "only the party branch or a higher tier opens mediation cases",
        ));
    }
    let mut fields = Fields::default();
    let matter = fields.check("matter", Title::parse(&body.matter));
    let mut xiaoqu: Option<XiaoquId> = None;
    let mut filers = Vec::new();
    let mut grievances = Vec::with_capacity(body.grievances.len());
    for (i, id) in body.grievances.iter().enumerate() {
        let at = format!("grievances[{i}]");
        let mut problem = |reason: String| {
            fields.0.push(FieldProblem {
                field: at.clone(),
                reason,
            })
        };
        match super::grievances::visible(state, caller, GrievanceId(*id)).await {
            Ok((g, _)) => {
                if xiaoqu.is_some_and(|x| x != g.xiaoqu) {
                    problem("all grievances of a case belong to one xiaoqu".into());
                } else if !can_enter(state, &g) {
                    problem(format!(
                        "is {}; only triaged, assigned or responded grievances enter mediation",
                        g.status
                    ));
                } else {
                    xiaoqu = Some(g.xiaoqu);
                    let filer = CaseParty::Person(g.filer);
                    if !filers.contains(&filer) {
                        filers.push(filer);
                    }
                    grievances.push(GrievanceId(*id));
                }
            }
            Err(_) => problem("no such grievance".into()),
        }
    }
    let applicants = match &body.applicants {
        Some(given) => case_parties(&mut fields, "applicants", given),
        None => filers,
    };
    let respondents = case_parties(&mut fields, "respondents", &body.respondents);
    if body.grievances.is_empty() {
        fields.0.push(FieldProblem {
            field: "grievances".into(),
            reason: "name at least one grievance".into(),
        });
    }
    fields.finish()?;
    let xiaoqu = xiaoqu.ok_or_else(ApiError::internal)?;
    let id = CaseId(Uuid::now_v7());
    let action = MediationAction::OpenCase(OpenCase {
        case_id: id,
        xiaoqu,
        matter: checked(matter)?,
        grievances,
        applicants,
        respondents,
    });
    let metadata = CommandMetadata {
        request_id: request_id.to_owned(),
        occurred_at: state.cases.services().clock.now(),
        reason: None,
    };
    let command = MediationCommand::new(actor(caller), action);
    let committed = state.cases.execute(id, Some(0), command, &metadata).await?;
    committed_view(state, caller, &committed)
}

/// The mediation cases of a xiaoqu that the caller may see, latest first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    query: &CaseQuery,
) -> Result<CaseList, ApiError> {
    let limit = paging::page_limit(query.limit, paging::DEFAULT_PAGE)?;
    let after = paging::cursor(query.cursor.as_deref())?;
    if let Some(s) = query.status.as_deref() {
        if !["open", "proposed", "agreed", "concluded", "failed"].contains(&s) {
            return Err(ApiError::bad_query(
                "status",
                "must be open, proposed, agreed, concluded or failed",
            ));
        }
    }
    let named = super::registry::named(state, "xiaoqu", query.xiaoqu.as_deref(), true).await?;
    let xiaoqu = match (named, &caller.0.scope) {
        (Some(x), _) => x,
        (None, crate::db::Scope::Xiaoqu(x)) => *x,
        (None, _) => {
            return Err(ApiError::invalid_field(
                "xiaoqu",
                "give the xiaoqu whose cases to list",
            ))
        }
    };
    let store = state.db.store();
    let (position, caught_up) =
        reads::at(&store, &[case_list::NAME], query.min_position.as_deref()).await?;
    let position = format_position(position);
    if !covers(state, caller, xiaoqu).await? {
        return Ok(CaseList {
            items: Vec::new(),
            next_cursor: None,
            position,
            caught_up,
        });
    }
    let cases = case_list::cases(&store, xiaoqu.0, 2_000)
        .await
        .map_err(ApiError::from_store)?;
    let visible: Vec<_> = cases
        .into_iter()
        .filter(|c| can_view(&caller.0, c))
        .filter(|c| {
            query
                .status
                .as_deref()
                .is_none_or(|s| s == c.status.as_str())
        })
        .collect();
    let (page, next_cursor) = paging::page(visible, |c| (c.opened_at, c.id.0), after, limit);
    let items = page
        .iter()
        .map(|c| CaseSummary {
            id: c.id.0,
            matter: c.matter.as_str().to_owned(),
            status: c.status.as_str().to_owned(),
            tier: c.tier.into(),
            grievances: c.grievances.len(),
            opened_at: c.opened_at,
        })
        .collect();
    Ok(CaseList {
        items,
        next_cursor,
        position,
        caught_up,
    })
}

/// The case a command left, with the feed position of the change.
fn committed_view(
    state: &AppState,
    caller: &Caller,
    committed: &Committed<MediationCase>,
) -> Result<Shown, ApiError> {
    let c = committed.state.state().ok_or_else(ApiError::internal)?;
    let mut view = Viewer { state, caller }.case(c, committed.version);
    view.position = committed.position.map(format_position);
    Ok((view, committed.version))
}

/// One case.
pub async fn get(state: &AppState, caller: &Caller, id: CaseId) -> Result<Shown, ApiError> {
    let (c, version) = visible(state, caller, id).await?;
    Ok((Viewer { state, caller }.case(&c, version), version))
}

/// Runs one command on a case the caller can see, at version `expected`
/// if given; `reason` is kept in the events' metadata.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    id: CaseId,
    expected: Option<usize>,
    reason: Option<String>,
    action: MediationAction,
) -> Result<Shown, ApiError> {
    visible(state, caller, id).await?;
    let command = MediationCommand::new(actor(caller), action);
    let metadata = CommandMetadata {
        request_id: request_id.to_owned(),
        occurred_at: state.cases.services().clock.now(),
        reason,
    };
    let committed = state
        .cases
        .execute(id, expected, command, &metadata)
        .await?;
    committed_view(state, caller, &committed)
}

/// The reason (kept in metadata) and the command a request stands for.
pub type Built = (Option<String>, MediationAction);

/// Schedules a session at a place or as an item of a joint meeting.
pub async fn schedule(
    state: &AppState,
    caller: &Caller,
    id: CaseId,
    req: &ScheduleRequest,
) -> Result<Built, ApiError> {
    let (case, _) = visible(state, caller, id).await?;
    let place = optional_field("place", req.place.as_deref(), Label::parse)?;
    if let Some(meeting) = req.meeting {
        // A session held as a joint meeting's item: a meeting of the case's xiaoqu.
        let (m, _) = state.meetings.load(MeetingId(meeting)).await?;
        if m.state().map(|m| m.xiaoqu) != Some(case.xiaoqu) {
            return Err(ApiError::invalid_field(
                "meeting",
                "no such meeting in this xiaoqu",
            ));
        }
    }
    Ok((
        None,
        MediationAction::ScheduleSession {
            scheduled_for: req.scheduled_for,
            place,
            meeting: req.meeting.map(MeetingId),
        },
    ))
}

/// Records a held session `session`: attendance and statements.
pub fn record(session: &str, req: &RecordRequest) -> Result<Built, ApiError> {
    let session: u32 = session.parse().map_err(|_| ApiError::not_found())?;
    let mut fields = Fields::default();
    let attendance = case_parties(&mut fields, "attendance", &req.attendance);
    let mut statements = Vec::with_capacity(req.statements.len());
    for (i, s) in req.statements.iter().enumerate() {
        let party = case_party(&mut fields, &format!("statements[{i}].party"), &s.party);
        let text = fields.check(
            &format!("statements[{i}].statement"),
            Statement::parse(&s.statement),
        );
        if let (Some(party), Some(statement)) = (party, text) {
            statements.push(PartyStatement { party, statement });
        }
    }
    fields.finish()?;
    Ok((
        None,
        MediationAction::RecordSession {
            session,
            attendance,
            statements,
        },
    ))
}

/// Proposes terms and per-party obligations.
pub fn propose(req: &ProposeRequest) -> Result<Built, ApiError> {
    let mut fields = Fields::default();
    let terms = fields.check("terms", Statement::parse(&req.terms));
    let mut obligations = Vec::with_capacity(req.obligations.len());
    for (i, o) in req.obligations.iter().enumerate() {
        let party = case_party(&mut fields, &format!("obligations[{i}].party"), &o.party);
        let description = fields.check(
            &format!("obligations[{i}].description"),
            Statement::parse(&o.description),
        );
        if let (Some(party), Some(description)) = (party, description) {
            obligations.push(ObligationDraft {
                obligation_id: ObligationId(Uuid::now_v7()),
                party,
                description,
                due_at: o.due_at,
            });
        }
    }
    fields.finish()?;
    Ok((
        None,
        MediationAction::ProposeAgreement {
            terms: checked(terms)?,
            obligations,
        },
    ))
}

/// Accepts the pending proposal for a party.
pub async fn accept(
    state: &AppState,
    caller: &Caller,
    id: CaseId,
    req: &AcceptRequest,
) -> Result<Built, ApiError> {
    let (case, _) = visible(state, caller, id).await?;
    let party = match &req.party {
        Some(dto) => {
            let mut fields = Fields::default();
            let party = case_party(&mut fields, "party", dto);
            fields.finish()?;
            checked(party)?
        }
        None => own_party(caller, &case)?,
    };
    Ok((None, MediationAction::AcceptProposal { party }))
}

/// Declines the pending proposal for a party, with a reason.
pub async fn decline(
    state: &AppState,
    caller: &Caller,
    id: CaseId,
    req: &DeclineRequest,
) -> Result<Built, ApiError> {
    let (case, _) = visible(state, caller, id).await?;
    let mut fields = Fields::default();
    let reason = fields.check("reason", Reason::parse(&req.reason));
    let party = req
        .party
        .as_ref()
        .map(|dto| case_party(&mut fields, "party", dto));
    fields.finish()?;
    let party = match party {
        Some(p) => checked(p)?,
        None => own_party(caller, &case)?,
    };
    let reason = checked(reason)?;
    Ok((
        Some(reason.as_str().to_owned()),
        MediationAction::DeclineProposal { party, reason },
    ))
}

/// Ends the mediation without agreement.
pub fn fail(req: &FailRequest) -> Result<Built, ApiError> {
    let reason = field("reason", Reason::parse(&req.reason))?;
    Ok((
        Some(reason.as_str().to_owned()),
        MediationAction::FailMediation {
            outcome: req.outcome.into(),
            reason,
        },
    ))
}

/// Marks obligation `obligation` fulfilled.
pub fn fulfil(obligation: &str, req: &ObligationNoteRequest) -> Result<Built, ApiError> {
    let obligation = ObligationId::parse(obligation).map_err(|_| ApiError::not_found())?;
    let note = optional_field("note", req.note.as_deref(), Reason::parse)?;
    Ok((None, MediationAction::FulfilObligation { obligation, note }))
}

/// Marks obligation `obligation` missed.
pub fn missed(obligation: &str, req: &ObligationNoteRequest) -> Result<Built, ApiError> {
    let obligation = ObligationId::parse(obligation).map_err(|_| ApiError::not_found())?;
    let note = optional_field("note", req.note.as_deref(), Reason::parse)?;
    Ok((
        note.as_ref().map(|n| n.as_str().to_owned()),
        MediationAction::MarkObligationMissed { obligation, note },
    ))
}

#[cfg(test)]
mod tests {
    use lianxi_domain::values::PartyRole;

    use super::*;

    #[test]
    fn a_party_on_the_wire_is_a_person_or_a_named_party() {
        let mut fields = Fields::default();
        let party = CasePartyDto {
            kind: "party".into(),
            id: "property_company".into(),
        };
        assert_eq!(
            case_party(&mut fields, "p", &party),
            Some(CaseParty::Party(PartyRole::PropertyCompany))
        );
        let bad = CasePartyDto {
            kind: "party".into(),
            id: "landlord".into(),
        };
        assert_eq!(case_party(&mut fields, "p", &bad), None);
        let nobody = CasePartyDto {
            kind: "robot".into(),
            id: "x".into(),
        };
        assert_eq!(case_party(&mut fields, "q", &nobody), None);
        let problems: Vec<_> = fields.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(problems, ["p.id", "q.kind"]);
    }
}
