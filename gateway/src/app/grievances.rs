//! The grievance service: filing, the lifecycle commands, merging a
//! duplicate, and who may see a grievance. The JSON API, the pages,
//! Open311 and the workers all come through here; every rule is then the
//! aggregate's, decided on the stream it just loaded.

use lianxi_domain::grievance::{DuplicateToLink, FileGrievance, GrievanceState, PrimaryOfMerge};
use lianxi_domain::values::{
    Attachment, Category, Channel, Description, GrievanceId, Label, Location, MediaType,
    Respondent, Sha256Hex, Title, Urgency, ValueError, XiaoquId,
};
use lianxi_domain::{Actor, Grievance, GrievanceAction, GrievanceCommand};
use uuid::Uuid;

use super::auth::Caller;
use super::dto::{
    AttachmentDto, AttachmentView, DeadlineDto, FileGrievanceRequest, GrievanceView, LocationDto,
    MeetingReferralDto, PausedDto,
};
use super::error::{ApiError, FieldProblem};
use super::{policy, AppState};
use crate::db::{Scope, StoredEvent};
use crate::event_log::{CommandError, CommandMetadata, Committed};

/// Collects field errors so that one response lists all of them.
#[derive(Debug, Default)]
pub struct Fields(pub Vec<FieldProblem>);

impl Fields {
    pub fn check<T>(&mut self, field: &str, result: Result<T, ValueError>) -> Option<T> {
        result
            .map_err(|e| {
                self.0.push(FieldProblem {
                    field: field.to_owned(),
                    reason: e.to_string(),
                })
            })
            .ok()
    }

    pub fn optional<T>(
        &mut self,
        field: &str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, ValueError>,
    ) -> Option<Option<T>> {
        match value {
            None => Some(None),
            Some(v) => self.check(field, parse(v)).map(Some),
        }
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid_fields(self.0))
        }
    }
}

/// Unwraps values checked by [`Fields`]; only reached when `finish` passed.
pub fn checked<T>(value: Option<T>) -> Result<T, ApiError> {
    value.ok_or_else(ApiError::internal)
}

/// A single field's value, or a 422 naming the field.
pub fn field<T>(name: &str, result: Result<T, ValueError>) -> Result<T, ApiError> {
    result.map_err(|e| ApiError::invalid_field(name, e.to_string()))
}

pub fn optional_field<T>(
    name: &str,
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Result<Option<T>, ApiError> {
    value.map(|v| field(name, parse(v))).transpose()
}

pub fn actor(caller: &Caller) -> Actor {
    Actor::new(caller.0.id, caller.0.role)
}

/// Loads a grievance the caller may see; anything else answers 404, so that
/// ids of other xiaoqu or other people's cases leak nothing.
pub async fn visible(
    state: &AppState,
    caller: &Caller,
    id: GrievanceId,
) -> Result<(GrievanceState, usize), ApiError> {
    let (grievance, version) = state.log.load(id).await?;
    may_see(state, caller, grievance.state()).await?;
    let grievance = grievance.state().cloned().ok_or_else(ApiError::not_found)?;
    Ok((grievance, version))
}

/// Like [`visible`], for a command about to run on the grievance: starts
/// from the state the last command left when this process ran it (the
/// command's append checks that nothing changed since), and confirms a 404
/// on a fresh load.
pub async fn visible_for_command(
    state: &AppState,
    caller: &Caller,
    id: GrievanceId,
) -> Result<GrievanceState, ApiError> {
    let (grievance, _) = state.log.load_for_command(id).await?;
    match may_see(state, caller, grievance.state()).await {
        Ok(()) => grievance.state().cloned().ok_or_else(ApiError::not_found),
        Err(_) => visible(state, caller, id).await.map(|(g, _)| g),
    }
}

/// Answers 404 unless the caller may see `grievance`.
async fn may_see(
    state: &AppState,
    caller: &Caller,
    grievance: Option<&GrievanceState>,
) -> Result<(), ApiError> {
    match grievance {
        Some(g) if covers(state, caller, g.xiaoqu).await? && policy::can_view(&caller.0, g) => {
            Ok(())
        }
        _ => Err(ApiError::not_found()),
    }
}

/// Counts a filing against the rate limits, or refuses it with 429 (after
/// the request was found valid, before anything is written).
pub async fn admit_filing(
    state: &AppState,
    caller: &Caller,
    client: Option<std::net::IpAddr>,
) -> Result<(), ApiError> {
    let now = state.log.services().clock.now();
    match super::rate_limit::admit_filing(&state.db, state.limits, caller.0.id, client, now).await {
        Ok(()) => Ok(()),
        Err(super::rate_limit::Refusal::Limited { retry_after }) => {
            Err(ApiError::rate_limited(retry_after))
        }
        Err(super::rate_limit::Refusal::Db(e)) => Err(ApiError::from_db(e)),
    }
}

/// Whether the caller's scope covers `xiaoqu`.
pub async fn covers(state: &AppState, caller: &Caller, xiaoqu: XiaoquId) -> Result<bool, ApiError> {
    Ok(match &caller.0.scope {
        Scope::Global => true,
        Scope::Xiaoqu(x) => *x == xiaoqu,
        Scope::Unit(_) => match state.db.xiaoqu(xiaoqu).await.map_err(ApiError::from_db)? {
            Some(record) => policy::scope_covers(&caller.0, &record),
            None => false,
        },
        Scope::Organization(_) => organization_places(state, caller)
            .await?
            .contains(&xiaoqu.0),
    })
}

/// The xiaoqu where the caller's organization acts as the caller's party,
/// as the registry has it now (none for another scope).
pub async fn organization_places(state: &AppState, caller: &Caller) -> Result<Vec<Uuid>, ApiError> {
    let (Scope::Organization(organization), Some(party)) = (&caller.0.scope, caller.0.role.party())
    else {
        return Ok(Vec::new());
    };
    let party = policy::wire_party(party);
    Ok(state
        .db
        .organization_parties(*organization)
        .await
        .map_err(ApiError::from_db)?
        .into_iter()
        .filter(|row| row.party == party)
        .map(|row| row.xiaoqu.0)
        .collect())
}

/// Which grievances `caller` may list: the policy's audience, with an
/// organization's xiaoqu looked up in the registry.
pub async fn audience(
    state: &AppState,
    caller: &Caller,
) -> Result<lianxi_projections::grievance_list::Audience, ApiError> {
    Ok(match &caller.0.scope {
        Scope::Organization(_) => {
            policy::organization_audience(&caller.0, organization_places(state, caller).await?)
        }
        _ => policy::audience(&caller.0),
    })
}

/// A grievance as `caller` may see it: the filer pseudonymised for those who
/// may not know who filed.
pub fn view(
    state: &AppState,
    caller: &Caller,
    g: &GrievanceState,
    version: usize,
) -> GrievanceView {
    let filer = if policy::sees_filer_identity(&caller.0, g) {
        g.filer.to_string()
    } else {
        state.people.pseudonym(g.filer)
    };
    GrievanceView {
        id: g.id.0,
        version: version as u64,
        xiaoqu: g.xiaoqu.0,
        filer,
        category: g.category.into(),
        title: g.title.as_str().to_owned(),
        description: g.description.as_str().to_owned(),
        location: LocationDto {
            building: g.location.building.as_ref().map(|l| l.as_str().to_owned()),
            unit: g.location.unit.as_ref().map(|l| l.as_str().to_owned()),
            common_area: g
                .location
                .common_area
                .as_ref()
                .map(|l| l.as_str().to_owned()),
        },
        respondent: g.respondent.into(),
        urgency: g.urgency.into(),
        channel: g.channel.into(),
        attachments: g
            .attachments
            .iter()
            .map(|a| {
                let sha256 = a.file.sha256.as_str();
                let href = format!("/api/v1/grievances/{}/attachments/{sha256}", g.id);
                let readable = a.erased_at.is_none();
                AttachmentView {
                    sha256: sha256.to_owned(),
                    media_type: a.file.media_type.as_str().to_owned(),
                    size: a.file.size,
                    uploaded_by_filer: a.uploader(g) == g.filer,
                    erased_at: a.erased_at,
                    thumbnail: (readable && a.file.media_type.as_str().starts_with("image/"))
                        .then(|| format!("{href}/thumbnail")),
                    href: readable.then_some(href),
                }
            })
            .collect(),
        status: g.status.into(),
        tier: g.tier.into(),
        matter_class: g.matter_class.map(Into::into),
        responsible_party: g.responsible_party.map(Into::into),
        assigned_party: g.assigned_party.map(Into::into),
        filed_at: g.filed_at,
        accepted_at: g.accepted_at,
        responded_at: g.responded_at,
        resolved_at: g.resolved_at,
        rating: g.rating.map(Into::into),
        escalations: g.escalations,
        reopenings: g.reopenings,
        merged_into: g.merged_into.map(|m| m.0),
        duplicates: g.duplicates.iter().map(|d| d.grievance.0).collect(),
        last_changed_at: g.last_changed_at,
        deadline: g.deadline.map(|d| DeadlineDto {
            stage: d.stage.into(),
            due_at: d.due_at,
        }),
        paused: g.paused.map(|p| PausedDto {
            stage: p.stage.into(),
            remaining_seconds: p.remaining_seconds,
            since: p.since,
        }),
        identity_revealed: g.identity_revealed,
        mediation_case: g.mediation.map(|m| m.case.0),
        meeting_referral: g.meeting_referral.map(|r| MeetingReferralDto {
            kind: match r.kind {
                lianxi_domain::values::MeetingKind::Urgent => "urgent".into(),
                lianxi_domain::values::MeetingKind::Regular => "regular".into(),
            },
            since: r.since,
            due_at: r.due_at,
            meeting: r.meeting.map(|m| m.0),
        }),
        filer_contact: None,
        fund_votes: None,
    }
}

/// A grievance to file, parsed: what the filer says about it.
#[derive(Clone, Debug)]
pub struct NewGrievance {
    pub category: Category,
    pub title: Title,
    pub description: Description,
    pub location: Location,
    pub respondent: Respondent,
    pub urgency: Urgency,
    pub channel: Channel,
    pub attachments: Vec<Attachment>,
}

/// Parses the filing form the API and the pages share; each problem names
/// the request's field.
pub fn parse_filing(body: &FileGrievanceRequest) -> Result<NewGrievance, ApiError> {
    let mut fields = Fields::default();
    let title = fields.check("title", Title::parse(&body.title));
    let description = fields.check("description", Description::parse(&body.description));
    let location = location(&mut fields, &body.location);
    let attachments = attachments(&mut fields, &body.attachments);
    fields.finish()?;
    Ok(NewGrievance {
        category: body.category.into(),
        title: checked(title)?,
        description: checked(description)?,
        location: checked(location)?,
        respondent: body.respondent.into(),
        urgency: body.urgency.into(),
        channel: body.channel.into(),
        attachments: checked(attachments)?,
    })
}

/// Files a grievance for `caller` in its own xiaoqu: the one way in, for
/// the API, the pages and Open311 alike. Counts against the rate limits
/// only once the input was found valid.
pub async fn file(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    client: Option<std::net::IpAddr>,
    new: NewGrievance,
) -> Result<(GrievanceId, Committed), ApiError> {
    let Scope::Xiaoqu(xiaoqu) = caller.0.scope else {
        return Err(ApiError::forbidden(
            "filing needs an account that belongs to a xiaoqu",
        ));
    };
    admit_filing(state, caller, client).await?;
    let id = GrievanceId(Uuid::now_v7());
    if !new.attachments.is_empty() {
        super::attachments::check_uploaded(state, caller, &new.attachments).await?;
        super::attachments::mark_attached(state, caller.0.id, id).await?;
    }
    let file = FileGrievance {
        grievance_id: id,
        xiaoqu,
        category: new.category,
        title: new.title,
        description: new.description,
        location: new.location,
        respondent: new.respondent,
        urgency: new.urgency,
        channel: new.channel,
        attachments: new.attachments,
    };
    let command = GrievanceCommand::new(actor(caller), GrievanceAction::FileGrievance(file));
    let metadata = metadata(state, request_id, None);
    let committed = state.log.execute(id, Some(0), command, &metadata).await?;
    Ok((id, committed))
}

/// Runs one lifecycle command on a grievance the caller can see; at version
/// `expected` if given (else 412). `reason` is what the caller stated, kept
/// in the events' metadata.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    id: GrievanceId,
    expected: Option<usize>,
    reason: Option<String>,
    action: GrievanceAction,
) -> Result<Committed, ApiError> {
    visible_for_command(state, caller, id).await?;
    let command = GrievanceCommand::new(actor(caller), action);
    let metadata = metadata(state, request_id, reason);
    Ok(state.log.execute(id, expected, command, &metadata).await?)
}

/// The lifecycle commands `caller` could run on `g` now, by name
/// (`accept`, `refer_to_meeting`, …): the aggregate's dry run, so an
/// interface never offers what would be refused.
pub fn offered_actions(state: &AppState, caller: &Caller, g: &GrievanceState) -> Vec<&'static str> {
    Grievance::from(g.clone()).offered_actions(actor(caller), state.log.services())
}

/// Merges the duplicate `id` into `primary`. Two streams change: the
/// primary links the duplicate, then the duplicate merges. Both are
/// decided, and `expected` checked, on the streams just loaded before
/// either is written, so a refused merge writes nothing.
pub async fn merge(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    id: GrievanceId,
    expected: Option<usize>,
    primary: GrievanceId,
) -> Result<Committed, ApiError> {
    let (current, version) = state.log.load(id).await?;
    may_see(state, caller, current.state()).await?;
    let duplicate = current.state().ok_or_else(ApiError::not_found)?;
    if let Some(expected) = expected.filter(|e| *e != version) {
        return Err(CommandError::<lianxi_domain::GrievanceError>::Stale {
            expected,
            current: version,
        }
        .into());
    }
    let primary = match visible(state, caller, primary).await {
        Ok((primary, _)) => primary,
        Err(e) if e.status_code() == axum::http::StatusCode::NOT_FOUND => {
            return Err(ApiError::invalid_field("primary", "no such grievance"))
        }
        Err(e) => return Err(e),
    };
    let merge = GrievanceCommand::new(
        actor(caller),
        GrievanceAction::MergeIntoPrimary {
            primary: PrimaryOfMerge {
                id: primary.id,
                xiaoqu: primary.xiaoqu,
                status: primary.status,
            },
        },
    );
    current.decide(merge.clone(), state.log.services())?;
    let metadata = metadata(state, request_id, None);
    // Link on the primary first: it is idempotent, so a retry after a crash
    // between the two appends completes the merge without a second link.
    let link = GrievanceCommand::new(
        actor(caller),
        GrievanceAction::LinkDuplicates {
            duplicates: vec![DuplicateToLink {
                duplicate: id,
                xiaoqu: duplicate.xiaoqu,
                filer: duplicate.filer,
            }],
        },
    );
    state.log.execute(primary.id, None, link, &metadata).await?;
    Ok(state.log.execute(id, expected, merge, &metadata).await?)
}

/// Most duplicates one bulk merge takes.
pub const MAX_MERGED_AT_ONCE: usize = 100;

/// Merges every grievance of `duplicates` into `primary`, all or none:
/// each merge and the primary's links are decided on the streams just
/// loaded before anything is written, and one refusal refuses the request
/// (every refused duplicate named as `duplicates[i]`). The primary then
/// links them all in one append, and each duplicate merges. A duplicate
/// already merged into this primary counts as done, so a retry after a
/// crash completes the request. Answers the primary as it stands, with the
/// feed position of the last change.
pub async fn merge_many(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    primary: GrievanceId,
    duplicates: &[GrievanceId],
) -> Result<Committed, ApiError> {
    if duplicates.is_empty() || duplicates.len() > MAX_MERGED_AT_ONCE {
        return Err(ApiError::invalid_field(
            "duplicates",
            format!("name 1 to {MAX_MERGED_AT_ONCE} grievances"),
        ));
    }
    let (primary_state, _) = visible(state, caller, primary).await?;
    let of_merge = PrimaryOfMerge {
        id: primary_state.id,
        xiaoqu: primary_state.xiaoqu,
        status: primary_state.status,
    };
    let merge = GrievanceCommand::new(
        actor(caller),
        GrievanceAction::MergeIntoPrimary { primary: of_merge },
    );
    // Whether the caller may link to this primary at all (its handler, and
    // it not final) answers as the primary's own refusal.
    let primary_aggregate = Grievance::from(primary_state.clone());
    let nothing = GrievanceAction::LinkDuplicates {
        duplicates: Vec::new(),
    };
    primary_aggregate.decide(
        GrievanceCommand::new(actor(caller), nothing),
        state.log.services(),
    )?;
    let mut problems = Vec::new();
    let mut to_link = Vec::new();
    let mut to_merge = Vec::new();
    for (i, id) in duplicates.iter().enumerate() {
        let field = format!("duplicates[{i}]");
        if duplicates[..i].contains(id) {
            problems.push(FieldProblem {
                field,
                reason: "is named twice".into(),
            });
            continue;
        }
        let (current, _) = state.log.load(*id).await?;
        let Some(duplicate) = current.state() else {
            problems.push(FieldProblem {
                field,
                reason: "no such grievance".into(),
            });
            continue;
        };
        if may_see(state, caller, Some(duplicate)).await.is_err() {
            problems.push(FieldProblem {
                field,
                reason: "no such grievance".into(),
            });
            continue;
        }
        let link = DuplicateToLink {
            duplicate: *id,
            xiaoqu: duplicate.xiaoqu,
            filer: duplicate.filer,
        };
        if duplicate.merged_into == Some(primary) {
            to_link.push(link); // merged by an earlier run of this request
            continue;
        }
        match current.decide(merge.clone(), state.log.services()) {
            Ok(_) => {
                to_link.push(link);
                to_merge.push(*id);
            }
            Err(e) => problems.push(FieldProblem {
                field,
                reason: e.to_string(),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid_fields(problems));
    }
    let link = GrievanceCommand::new(
        actor(caller),
        GrievanceAction::LinkDuplicates {
            duplicates: to_link,
        },
    );
    primary_aggregate.decide(link.clone(), state.log.services())?;
    let metadata = metadata(state, request_id, None);
    let mut last = state.log.execute(primary, None, link, &metadata).await?;
    let mut position = last.position;
    for id in to_merge {
        let merged = state
            .log
            .execute(id, None, merge.clone(), &metadata)
            .await?;
        position = merged.position.or(position);
    }
    last.position = position;
    Ok(last)
}

/// Who asked, when and why: the metadata of a command's events.
fn metadata(state: &AppState, request_id: &str, reason: Option<String>) -> CommandMetadata {
    CommandMetadata {
        request_id: request_id.to_owned(),
        occurred_at: state.log.services().clock.now(),
        reason,
    }
}

fn location(fields: &mut Fields, dto: &LocationDto) -> Option<Location> {
    let building = fields.optional("location.building", dto.building.as_deref(), Label::parse)?;
    let unit = fields.optional("location.unit", dto.unit.as_deref(), Label::parse)?;
    let common_area = fields.optional(
        "location.common_area",
        dto.common_area.as_deref(),
        Label::parse,
    )?;
    fields.check("location", Location::new(building, unit, common_area))
}

fn attachments(fields: &mut Fields, dtos: &[AttachmentDto]) -> Option<Vec<Attachment>> {
    attachments_named(
        fields,
        "attachments",
        &|i| format!("attachments[{i}]"),
        dtos,
    )
}

/// The files a request names in its field `name` (at most 10), each
/// problem reported under `at(i)` (`receipts[0].sha256`, …).
pub(crate) fn attachments_named(
    fields: &mut Fields,
    name: &str,
    at: &dyn Fn(usize) -> String,
    dtos: &[AttachmentDto],
) -> Option<Vec<Attachment>> {
    if dtos.len() > Attachment::MAX_COUNT {
        fields.0.push(FieldProblem {
            field: name.into(),
            reason: format!("at most {} files", Attachment::MAX_COUNT),
        });
        return None;
    }
    let mut out = Vec::with_capacity(dtos.len());
    let mut ok = true;
    for (i, a) in dtos.iter().enumerate() {
        let sha = fields.check(&format!("{}.sha256", at(i)), Sha256Hex::parse(&a.sha256));
        let mt = fields.check(
            &format!("{}.media_type", at(i)),
            MediaType::parse(&a.media_type),
        );
        match (sha, mt) {
            (Some(sha), Some(mt)) => {
                match fields.check(&format!("{}.size", at(i)), Attachment::new(sha, mt, a.size)) {
                    Some(att) => out.push(att),
                    None => ok = false,
                }
            }
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

/// The stream of grievance `id` as `caller` may read it, in order: each
/// filer the caller may not know by name appears under a pseudonym (the
/// primary's consent covers only the primary's filer). Not visible: 404.
pub async fn history(
    state: &AppState,
    caller: &Caller,
    id: GrievanceId,
) -> Result<Vec<StoredEvent>, ApiError> {
    let (g, _) = visible(state, caller, id).await?;
    let stored = super::story::events(state, id)
        .await
        .map_err(ApiError::from_db)?;
    let people: Vec<(String, String)> =
        std::iter::once((g.filer, policy::sees_filer_identity(&caller.0, &g)))
            .chain(
                g.duplicates
                    .iter()
                    .map(|d| (d.filer, policy::sees_duplicate_filer(&caller.0, d.filer))),
            )
            .filter(|(_, known)| !known)
            .map(|(p, _)| (p.to_string(), state.people.pseudonym(p)))
            .collect();
    Ok(stored
        .into_iter()
        .map(|mut e| {
            policy::pseudonymise(&mut e.payload, &people);
            policy::pseudonymise(&mut e.metadata, &people);
            e
        })
        .collect())
}
