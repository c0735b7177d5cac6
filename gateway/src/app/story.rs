//! A case's story: everything that happened to it, in order, with actors as
//! role and pseudonym; and its state as of any instant, by replay.
//!
//! Replays are read-only and deterministic: the same stored events always
//! give the same state, byte for byte when serialized.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use lianxi_domain::mediation::MediationCase;
use lianxi_domain::meeting::JointMeeting;
use lianxi_domain::values::{AccountId, GrievanceId};
use lianxi_domain::{Grievance, GrievanceEvent};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use lianxi_domain::Role;

use super::auth::Caller;
use super::error::ApiError;
use super::{policy, AppState};
use crate::db::{DbError, StoredEvent};
use crate::vault::Vault;

/// One thing that happened, as an auditor reads it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoryEntry {
    /// The stream holding the event: a grievance, or a mediation case or
    /// joint meeting it followed.
    pub stream: Uuid,
    /// `grievance`, `mediation_case` or `joint_meeting`.
    pub aggregate_type: String,
    pub sequence: i64,
    pub global_position: i64,
    pub event_id: String,
    pub event_type: String,
    /// When the log stored it.
    pub recorded_at: DateTime<Utc>,
    /// The acting role (`system` for the deadline scheduler).
    pub role: String,
    /// The acting person's pseudonym (`system` for the scheduler).
    pub actor: String,
    /// The command that produced the event.
    pub command: Option<String>,
    /// The reason the actor stated, if any.
    pub reason: Option<String>,
    /// The event's content, every account id replaced by its pseudonym.
    #[schema(value_type = Object)]
    pub payload: Value,
    /// The event's chain hash, hex.
    pub hash: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoryError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("event {sequence} of {stream} cannot be read back: {reason}")]
    Unreadable {
        stream: String,
        sequence: i64,
        reason: String,
    },
}

/// The aggregate type of grievance streams.
pub const GRIEVANCE: &str = <Grievance as Aggregate>::TYPE;

/// The stored events of grievance `id`.
pub async fn events(state: &AppState, id: GrievanceId) -> Result<Vec<StoredEvent>, DbError> {
    state.db.stream(GRIEVANCE, &id.to_string()).await
}

/// Replays `events` (one stream, in order) up to and including `until`;
/// returns the aggregate and how many events it took.
pub fn replay(
    stream: &str,
    events: &[StoredEvent],
    until: Option<DateTime<Utc>>,
) -> Result<(Grievance, usize), StoryError> {
    let mut grievance = Grievance::default();
    let mut applied = 0;
    for e in events {
        if until.is_some_and(|t| e.recorded_at > t) {
            break;
        }
        let event: GrievanceEvent =
            serde_json::from_value(e.payload.clone()).map_err(|err| StoryError::Unreadable {
                stream: stream.to_owned(),
                sequence: e.sequence,
                reason: err.to_string(),
            })?;
        grievance.apply(event);
        applied += 1;
    }
    Ok((grievance, applied))
}

/// Grievance `id` as it stood at instant `at` (`None` if not yet filed).
pub async fn state_as_of(
    state: &AppState,
    id: GrievanceId,
    at: DateTime<Utc>,
) -> Result<Option<(Grievance, usize)>, StoryError> {
    let stored = events(state, id).await?;
    let (grievance, applied) = replay(&id.to_string(), &stored, Some(at))?;
    Ok((applied > 0).then_some((grievance, applied)))
}

/// One stream of a case's story.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StreamRef {
    pub aggregate_type: &'static str,
    pub id: Uuid,
}

impl StreamRef {
    pub fn grievance(id: GrievanceId) -> Self {
        Self {
            aggregate_type: GRIEVANCE,
            id: id.0,
        }
    }
}

/// The mediation cases and joint meetings that the grievance streams
/// `events` followed, each once, in the order first followed.
pub fn followed_streams(events: &[StoredEvent]) -> Vec<StreamRef> {
    let mut out: Vec<StreamRef> = Vec::new();
    for e in events {
        let (aggregate_type, key) = match e.event_type.as_str() {
            "CaseFollowed" => (MediationCase::TYPE, "case"),
            "MeetingFollowed" => (JointMeeting::TYPE, "meeting"),
            _ => continue,
        };
        let id = e
            .payload
            .get(&e.event_type)
            .and_then(|body| body.get(key))
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok());
        if let Some(id) = id {
            let stream = StreamRef { aggregate_type, id };
            if !out.contains(&stream) {
                out.push(stream);
            }
        }
    }
    out
}

/// The story of a case: the events of `streams` (a grievance, the
/// duplicates merged into it, and the cases and meetings they followed),
/// interleaved in the order they were stored.
pub async fn story(state: &AppState, streams: &[StreamRef]) -> Result<Vec<StoryEntry>, DbError> {
    let vault = state.people.vault();
    let mut all: Vec<(StreamRef, StoredEvent)> = Vec::new();
    for stream in streams {
        for e in state
            .db
            .stream(stream.aggregate_type, &stream.id.to_string())
            .await?
        {
            all.push((*stream, e));
        }
    }
    all.sort_by_key(|(_, e)| (e.recorded_at, e.global_position));
    Ok(entries(all, vault))
}

/// Story entries with every account id (actors, filers, anyone named in a
/// payload) replaced by its pseudonym.
fn entries(all: Vec<(StreamRef, StoredEvent)>, vault: &Vault) -> Vec<StoryEntry> {
    let mut people: BTreeSet<AccountId> = BTreeSet::new();
    for (_, e) in &all {
        collect_accounts(&e.metadata, &mut people);
        collect_accounts(&e.payload, &mut people);
    }
    let aliases: Vec<(String, String)> = people
        .into_iter()
        .map(|p| {
            let alias = if p.0.is_nil() {
                "system".to_owned()
            } else {
                vault.pseudonym(p)
            };
            (p.to_string(), alias)
        })
        .collect();
    all.into_iter()
        .map(|(id, mut e)| {
            let text = |key: &str| {
                e.metadata
                    .get(key)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let role = text("role").unwrap_or_else(|| "unknown".to_owned());
            let actor = text("actor")
                .and_then(|a| aliases.iter().find(|(id, _)| *id == a))
                .map_or_else(|| "unknown".to_owned(), |(_, alias)| alias.clone());
            let (command, reason) = (text("command"), text("reason"));
            policy::pseudonymise(&mut e.payload, &aliases);
            // How a unit voted is shown to nobody but its owners.
            if let Some(ballot) = e.payload.get_mut("BallotCast") {
                ballot["choice"] = Value::String("sealed".into());
            }
            StoryEntry {
                stream: id.id,
                aggregate_type: id.aggregate_type.to_owned(),
                sequence: e.sequence,
                global_position: e.global_position,
                event_id: e.event_id,
                event_type: e.event_type,
                recorded_at: e.recorded_at,
                role,
                actor,
                command,
                reason,
                payload: e.payload,
                hash: e.hash.as_deref().map(hex::encode),
            }
        })
        .collect()
}

/// The account ids named in `value`: the metadata's `actor`, and the
/// account-valued fields events carry: `filer`, `mediator`, an invitee's
/// `account`, `present_people`, a case party `{"kind": "person", "id"}`,
/// a unit's `owners` in an owners' register, and a micro-project's
/// `proposer`, `supporter` and `rater` and a fund entry's `by`.
fn collect_accounts(value: &Value, out: &mut BTreeSet<AccountId>) {
    let mut add = |v: &Value| {
        if let Some(id) = v.as_str().and_then(|s| Uuid::parse_str(s).ok()) {
            out.insert(AccountId(id));
        }
    };
    match value {
        Value::Object(map) => {
            if map.get("kind").and_then(Value::as_str) == Some("person") {
                map.get("id").into_iter().for_each(&mut add);
            }
            for (key, v) in map {
                match key.as_str() {
                    "filer" | "actor" | "mediator" | "account" | "proposer" | "supporter"
                    | "rater" | "by" => add(v),
                    "present_people" | "owners" => {
                        v.as_array().into_iter().flatten().for_each(&mut add)
                    }
                    _ => {}
                }
            }
            for v in map.values() {
                collect_accounts(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_accounts(v, out)),
        _ => {}
    }
}

/// The streams a case's story covers: the grievance and its duplicates,
/// and for mediators and auditors the cases and meetings they followed and
/// the owners' votes those meetings' decisions cite.
pub async fn case_streams(
    state: &AppState,
    caller: &Caller,
    id: GrievanceId,
    g: &lianxi_domain::grievance::GrievanceState,
) -> Result<Vec<StreamRef>, ApiError> {
    let grievances: Vec<StreamRef> = std::iter::once(id)
        .chain(g.duplicates.iter().map(|d| d.grievance))
        .map(StreamRef::grievance)
        .collect();
    let mut streams = grievances.clone();
    let reads_followed = matches!(
        caller.0.role,
        Role::PartyBranch | Role::Community | Role::Street | Role::District | Role::Auditor
    );
    if reads_followed {
        for stream in &grievances {
            let events = events(state, GrievanceId(stream.id))
                .await
                .map_err(ApiError::from_db)?;
            for followed in followed_streams(&events) {
                if !streams.contains(&followed) {
                    streams.push(followed);
                }
            }
        }
        let meetings: Vec<StreamRef> = streams
            .iter()
            .filter(|s| s.aggregate_type == JointMeeting::TYPE)
            .copied()
            .collect();
        for meeting in meetings {
            let events = state
                .db
                .stream(meeting.aggregate_type, &meeting.id.to_string())
                .await
                .map_err(ApiError::from_db)?;
            for vote in cited_votes(&events) {
                if !streams.contains(&vote) {
                    streams.push(vote);
                }
            }
        }
    }
    Ok(streams)
}

/// The owners' votes the decisions of a meeting's events cite.
fn cited_votes(events: &[StoredEvent]) -> Vec<StreamRef> {
    events
        .iter()
        .filter(|e| e.event_type == "ItemDecided")
        .filter_map(|e| {
            e.payload
                .get("ItemDecided")
                .and_then(|body| body.get("vote"))
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
        })
        .map(|id| StreamRef {
            aggregate_type: <lianxi_domain::owners_vote::OwnersVote as cqrs_es::Aggregate>::TYPE,
            id,
        })
        .collect()
}
