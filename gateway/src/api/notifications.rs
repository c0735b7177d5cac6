//! A per-account stream of server-sent events: every change to a grievance
//! the account may see, read from the commit-safe event feed, in feed order.
//!
//! Each event's `id` is its feed position (`<transaction>.<position>`); a
//! client that reconnects with `Last-Event-ID` (browsers do on their own)
//! resumes right after it, so it misses nothing and sees nothing twice.
//! Without one the stream starts at the feed's head: changes from now on.
//! The stream ends after its lifetime (`LIANXI_SSE_MAX_SECONDS`, 60 s by
//! default), so a revoked token stops receiving within that time; clients
//! reconnect.
//! Visibility is decided per event by the same policy as
//! `GET /grievances/{id}`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{ApiError, Problem, PROBLEM};
use super::json::ApiQuery;
use super::AppState;
use crate::app::auth::Caller;
use crate::app::notifications;
use crate::app::reads::{format_position, parse_position, Position};

/// How many feed events one read takes.
const BATCH: i64 = 200;

/// `?after=`: resume after this feed position (as `Last-Event-ID` does).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// A feed position `<transaction>.<position>`, as in an event's `id`.
    pub after: Option<String>,
}

/// The data of one server-sent event (its `event` field is `event_type`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Change {
    pub grievance: Uuid,
    /// The event's type, e.g. `GrievanceAccepted`.
    pub event_type: String,
    /// Its sequence number in the grievance's stream.
    pub sequence: i64,
    /// Its feed position, the same as the event's `id`.
    pub position: String,
}

struct Cursor {
    state: AppState,
    caller: Caller,
    after: Position,
    ready: VecDeque<Event>,
    ends_at: Instant,
    appended: tokio::sync::watch::Receiver<u64>,
    closing: tokio::sync::watch::Receiver<bool>,
}

impl Cursor {
    /// Reads the next batch of the feed, keeping what the caller may see.
    async fn read(&mut self) -> Result<usize, ApiError> {
        let batch =
            notifications::changes_after(&self.state, &self.caller, self.after, BATCH).await?;
        self.after = batch.after;
        for e in &batch.changes {
            let Ok(grievance) = Uuid::parse_str(&e.aggregate_id) else {
                continue;
            };
            let change = Change {
                grievance,
                event_type: e.event_type.clone(),
                sequence: e.sequence,
                position: format_position(e.position),
            };
            let event = Event::default()
                .id(change.position.clone())
                .event(e.event_type.clone())
                .json_data(&change)
                .map_err(|_| ApiError::internal())?;
            self.ready.push_back(event);
        }
        Ok(batch.read)
    }
}

/// Changes to the grievances the caller may see, as server-sent events.
#[utoipa::path(
    get, path = "/api/v1/notifications/stream", tag = "notifications",
    params(
        StreamQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (a feed position); wins over `after`"),
    ),
    responses(
        (status = 200, description = "`text/event-stream`: one event per change (`id`: feed position, `event`: event type, `data`: a Change as JSON); ends after the stream's lifetime", content_type = "text/event-stream", body = Change),
        (status = 400, description = "`after` or `Last-Event-ID` is not a feed position", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No or bad token", body = Problem, content_type = PROBLEM),
    ),
    security(("bearer" = []))
)]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let last = headers
        .get("last-event-id")
        .map(|v| v.to_str().map(str::to_owned));
    let after = match (last, query.after) {
        (Some(Ok(id)), _) => Some(
            parse_position(&id)
                .ok_or_else(|| ApiError::bad_header("Last-Event-ID", "is not a feed position"))?,
        ),
        (Some(Err(_)), _) => {
            return Err(ApiError::bad_header(
                "Last-Event-ID",
                "is not a feed position",
            ))
        }
        (None, Some(after)) => Some(parse_position(&after).ok_or_else(|| {
            ApiError::bad_query("after", "must be a feed position <transaction>.<position>")
        })?),
        (None, None) => None,
    };
    let after = match after {
        Some(after) => after,
        None => notifications::head(&state).await?,
    };
    let appended = notifications::appended(&state);
    let closing = state.closing.subscribe();
    let ends_at = Instant::now() + state.limits.event_stream_lifetime;
    let cursor = Cursor {
        state,
        caller,
        after,
        ready: VecDeque::new(),
        ends_at,
        appended,
        closing,
    };
    let events = futures::stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(event) = c.ready.pop_front() {
                return Some((Ok(event), c));
            }
            if Instant::now() >= c.ends_at || *c.closing.borrow() {
                return None;
            }
            match c.read().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(_) => {
                    // The store is away: end the stream; the client resumes
                    // from its last event id.
                    return None;
                }
            }
            // Nothing new: wait for an append here, a second for other
            // instances' appends, or the end of the stream.
            let wait =
                Duration::from_secs(1).min(c.ends_at.saturating_duration_since(Instant::now()));
            let woken = async {
                tokio::select! {
                    _ = c.appended.changed() => {}
                    _ = c.closing.wait_for(|closing| *closing) => {}
                }
            };
            let _ = tokio::time::timeout(wait, woken).await;
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_feed_positions() {
        let p = Position {
            transaction_id: 812,
            global_position: 77,
        };
        assert_eq!(parse_position(&format_position(p)), Some(p));
        for bad in ["", "12", "a.b", "-1.3", "1.2.3", "1."] {
            assert_eq!(parse_position(bad), None, "{bad}");
        }
    }
}
