//! The grievance list and detail read model, and its queries.
//!
//! Each row holds the grievance's state as the aggregate's own `apply` folds
//! it from the events (no second copy of the lifecycle), plus the columns
//! lists filter and sort on. `grievance_followers` lists who follows each
//! grievance: its filer and the filers of its duplicates.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, SubsecRound, Utc};
use lianxi_domain::grievance::GrievanceState;
use sqlx::Row;
use uuid::Uuid;

use crate::feed::FeedEvent;
use crate::on_store;
use crate::runner::{Fold, Projection};
use crate::shadow::{self, exec};
use crate::store::{sql, Id, Store, StoreError, Tx};

mod rows;
pub(crate) use rows::stamp;
use rows::{apply, ShadowFold};

/// The projection's name (its checkpoint key).
pub const NAME: &str = "grievance_list";

#[derive(Debug, Default)]
pub struct GrievanceList;

/// Table names of one copy of the read model.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tables {
    pub(super) list: &'static str,
    pub(super) followers: &'static str,
}

pub(super) const LIVE: Tables = Tables {
    list: "grievance_list",
    followers: "grievance_followers",
};

pub(super) const SHADOW: Tables = Tables {
    list: "grievance_list_rebuild",
    followers: "grievance_followers_rebuild",
};

/// The read model built into fresh tables during a rebuild, then swapped in.
#[derive(Debug, Default)]
struct Shadow;

/// Each live table and its shadow.
const PAIRS: [(&str, &str); 2] = [(LIVE.list, SHADOW.list), (LIVE.followers, SHADOW.followers)];

#[async_trait]
impl Projection for GrievanceList {
    fn name(&self) -> &str {
        NAME
    }

    async fn apply(&self, tx: &mut Tx<'_>, events: &[FeedEvent]) -> Result<(), StoreError> {
        apply(tx, LIVE, events).await
    }

    async fn clear(&self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        exec(tx, "DELETE FROM grievance_followers").await?;
        exec(tx, "DELETE FROM grievance_list").await
    }

    fn shadow(&self) -> Option<Arc<dyn Projection>> {
        Some(Arc::new(Shadow))
    }
}

#[async_trait]
impl Projection for Shadow {
    fn name(&self) -> &str {
        "grievance_list~rebuild"
    }

    async fn apply(&self, tx: &mut Tx<'_>, events: &[FeedEvent]) -> Result<(), StoreError> {
        apply(tx, SHADOW, events).await
    }

    /// Creates the shadow tables afresh, shaped like the live ones.
    async fn clear(&self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        shadow::create(tx, &PAIRS).await
    }

    fn shadow(&self) -> Option<Arc<dyn Projection>> {
        None
    }

    fn fold(&self) -> Option<Box<dyn Fold>> {
        Some(Box::<ShadowFold>::default())
    }

    /// Replaces the live tables with the shadow ones.
    async fn swap_in(&self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        shadow::swap_in(tx, &PAIRS).await
    }
}

/// Whose view a list is: decided by the gateway's authorization policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Auditors: every grievance.
    Everything,
    /// The party branch: every grievance of its xiaoqu.
    Xiaoqu(Uuid),
    /// A resident: the grievances they filed or follow as a duplicate's filer.
    Follower(Uuid),
    /// A respondent party of a xiaoqu: grievances naming it, or assigned or
    /// made its responsibility. `filer` also admits what it filed itself.
    Party {
        xiaoqu: Uuid,
        party: String,
        respondent: Option<String>,
        filer: Option<Uuid>,
    },
    /// An organization acting as a party in several xiaoqu: grievances of
    /// those xiaoqu naming the party, or assigned or made its
    /// responsibility there. No xiaoqu: nothing.
    PartyIn {
        xiaoqu: Vec<Uuid>,
        party: String,
        respondent: Option<String>,
    },
    /// A tier: grievances of the xiaoqu whose `unit_column` (community,
    /// street or district) is `unit`, escalated to at least `min_tier_rank`.
    Tier {
        unit_column: &'static str,
        unit: String,
        min_tier_rank: i64,
    },
    /// Anyone, without signing in (when the operator opens a public read):
    /// grievances triaged as a major or minor matter, never a private one,
    /// nor one not yet triaged (it may still turn out private).
    Public,
    /// Sees nothing.
    Nothing,
}

/// Filters of the list endpoint. All optional; values are wire names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub xiaoqu: Option<Uuid>,
    pub status: Option<String>,
    pub category: Option<String>,
    pub respondent: Option<String>,
    pub tier: Option<String>,
    pub assigned_party: Option<String>,
    pub filed_from: Option<DateTime<Utc>>,
    pub filed_to: Option<DateTime<Utc>>,
}

/// Where a page ends: the last row's `(filed_at, id)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub filed_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            "{}|{}",
            self.filed_at.to_rfc3339(),
            self.id
        ))
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (at, id) = text.split_once('|')?;
        Some(Cursor {
            filed_at: DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

/// A page of grievances, newest first.
#[derive(Clone, Debug)]
pub struct Page {
    pub items: Vec<(GrievanceState, i64)>,
    pub next: Option<Cursor>,
}

enum Arg {
    Id(Uuid),
    Text(String),
    Time(DateTime<Utc>),
    Int(i64),
}

/// A WHERE clause with numbered parameters.
#[derive(Default)]
struct Where {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Where {
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    fn push(&mut self, clause: String) {
        self.clauses.push(clause);
    }
}

/// What a party sees of a xiaoqu: assigned to it, made its responsibility,
/// naming it as respondent, or (`filer`) filed by it.
fn addressed_to(
    w: &mut Where,
    party: &str,
    respondent: Option<&str>,
    filer: Option<Uuid>,
) -> String {
    let p = w.arg(Arg::Text(party.to_owned()));
    let mut any = vec![
        format!("assigned_party = {p}"),
        format!("responsible_party = {p}"),
    ];
    if let Some(r) = respondent {
        let r = w.arg(Arg::Text(r.to_owned()));
        any.push(format!("respondent = {r}"));
    }
    if let Some(f) = filer {
        let f = w.arg(Arg::Id(f));
        any.push(format!("filer = {f}"));
    }
    any.join(" OR ")
}

/// Restricts `w` to what `audience` may see.
fn audience_clause(w: &mut Where, audience: &Audience) {
    match audience {
        Audience::Everything => {}
        // Whatever else a caller adds, this audience sees no row.
        Audience::Nothing => w.push("FALSE".to_owned()),
        Audience::Public => w.push("matter_class IN ('major', 'minor')".to_owned()),
        Audience::Xiaoqu(x) => {
            let p = w.arg(Arg::Id(*x));
            w.push(format!("xiaoqu = {p}"));
        }
        Audience::Follower(account) => {
            let p = w.arg(Arg::Id(*account));
            w.push(format!(
                "id IN (SELECT grievance_id FROM grievance_followers WHERE account_id = {p})"
            ));
        }
        Audience::Party {
            xiaoqu,
            party,
            respondent,
            filer,
        } => {
            let x = w.arg(Arg::Id(*xiaoqu));
            let addressed = addressed_to(w, party, respondent.as_deref(), *filer);
            w.push(format!("xiaoqu = {x} AND ({addressed})"));
        }
        Audience::PartyIn {
            xiaoqu,
            party,
            respondent,
        } => {
            if xiaoqu.is_empty() {
                w.push("FALSE".to_owned());
            } else {
                let places: Vec<String> = xiaoqu.iter().map(|x| w.arg(Arg::Id(*x))).collect();
                let addressed = addressed_to(w, party, respondent.as_deref(), None);
                w.push(format!(
                    "xiaoqu IN ({}) AND ({addressed})",
                    places.join(", ")
                ));
            }
        }
        Audience::Tier {
            unit_column,
            unit,
            min_tier_rank,
        } => {
            let u = w.arg(Arg::Text(unit.clone()));
            let r = w.arg(Arg::Int(*min_tier_rank));
            w.push(format!(
                "xiaoqu IN (SELECT id FROM xiaoqu WHERE {unit_column} = {u}) AND tier_rank >= {r}"
            ));
        }
    }
}

/// Lists grievances visible to `audience`, filtered, newest first.
pub async fn list(
    store: &Store,
    audience: &Audience,
    filter: &ListFilter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Page, StoreError> {
    let mut w = Where::default();
    audience_clause(&mut w, audience);
    if let Some(x) = filter.xiaoqu {
        let p = w.arg(Arg::Id(x));
        w.push(format!("xiaoqu = {p}"));
    }
    for (column, value) in [
        ("status", &filter.status),
        ("category", &filter.category),
        ("respondent", &filter.respondent),
        ("tier", &filter.tier),
        ("assigned_party", &filter.assigned_party),
    ] {
        if let Some(v) = value {
            let p = w.arg(Arg::Text(v.clone()));
            w.push(format!("{column} = {p}"));
        }
    }
    if let Some(from) = filter.filed_from {
        let p = w.arg(Arg::Time(from));
        w.push(format!("filed_at >= {p}"));
    }
    if let Some(to) = filter.filed_to {
        let p = w.arg(Arg::Time(to));
        w.push(format!("filed_at < {p}"));
    }
    if let Some(c) = after {
        let at = w.arg(Arg::Time(c.filed_at));
        let id = w.arg(Arg::Id(c.id));
        w.push(format!("(filed_at, id) < ({at}, {id})"));
    }
    let limit_param = w.arg(Arg::Int(limit + 1));
    let where_sql = if w.clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", w.clauses.join(" AND "))
    };
    let text = format!(
        "SELECT state, version FROM grievance_list {where_sql} ORDER BY filed_at DESC, id DESC LIMIT {limit_param}"
    );
    let mut items = fetch_states(store, &text, &w.args).await?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|(s, _)| Cursor {
            // As stored: PostgreSQL keeps microseconds.
            filed_at: s.filed_at.trunc_subsecs(6),
            id: s.id.0,
        })
    } else {
        None
    };
    Ok(Page { items, next })
}

/// One item of an escalation queue.
#[derive(Clone, Debug)]
pub struct QueueItem {
    pub state: GrievanceState,
    pub version: i64,
}

/// The open items of one tier visible to `audience`: running deadlines,
/// most overdue first, then paused ones.
pub async fn queue(
    store: &Store,
    audience: &Audience,
    tier_rank: i64,
    limit: i64,
) -> Result<Vec<QueueItem>, StoreError> {
    let mut w = Where::default();
    audience_clause(&mut w, audience);
    let r = w.arg(Arg::Int(tier_rank));
    w.push(format!("tier_rank = {r}"));
    w.push("deadline_stage IS NOT NULL".to_owned());
    let l = w.arg(Arg::Int(limit));
    let text = format!(
        "SELECT state, version FROM grievance_list WHERE {} \
         ORDER BY CASE WHEN due_at IS NULL THEN 1 ELSE 0 END, due_at, id LIMIT {l}",
        w.clauses.join(" AND ")
    );
    let rows = fetch_states(store, &text, &w.args).await?;
    Ok(rows
        .into_iter()
        .map(|(state, version)| QueueItem { state, version })
        .collect())
}

/// A deadline that has passed, for the scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DueDeadline {
    pub grievance: Uuid,
    pub deadline: lianxi_domain::deadline::Deadline,
}

/// Deadlines due at `now` on grievances below the top tier, oldest first.
pub async fn due(
    store: &Store,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DueDeadline>, StoreError> {
    let text = "SELECT state, version FROM grievance_list \
                WHERE due_at <= $1 AND tier_rank < 3 ORDER BY due_at LIMIT $2";
    let rows = fetch_states(store, text, &[Arg::Time(now), Arg::Int(limit)]).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(state, _)| {
            state.deadline.map(|deadline| DueDeadline {
                grievance: state.id.0,
                deadline,
            })
        })
        .collect())
}

/// The grievances of a xiaoqu waiting for a joint meeting (urgent or
/// regular), oldest first.
pub async fn awaiting_meeting(
    store: &Store,
    xiaoqu: Uuid,
) -> Result<Vec<GrievanceState>, StoreError> {
    let text = "SELECT state, version FROM grievance_list WHERE xiaoqu = $1 \
                AND status IN ('accepted', 'triaged', 'assigned', 'responded', 'in_mediation') \
                ORDER BY filed_at";
    let rows = fetch_states(store, text, &[Arg::Id(xiaoqu)]).await?;
    Ok(rows
        .into_iter()
        .map(|(state, _)| state)
        .filter(|state| state.meeting_referral.is_some())
        .collect())
}

async fn fetch_states(
    store: &Store,
    text: &str,
    args: &[Arg],
) -> Result<Vec<(GrievanceState, i64)>, StoreError> {
    let out = on_store!(store, Store, |pool, pg| {
        let text = sql(pg, text);
        let mut query = sqlx::query(&text);
        for arg in args {
            query = match arg {
                Arg::Id(v) => query.bind(Id(*v)),
                Arg::Text(v) => query.bind(v.clone()),
                Arg::Time(v) => query.bind(*v),
                Arg::Int(v) => query.bind(*v),
            };
        }
        let rows = query.fetch_all(pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let grievance = rows::state_of(&r)?;
            let version: i64 = r.try_get("version")?;
            if let Some(state) = grievance.state() {
                out.push((state.clone(), version));
            }
        }
        out
    });
    Ok(out)
}

/// Per tier: grievances with a running or paused deadline, and how many of
/// the running ones are overdue at `now`.
pub async fn open_deadlines(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<(String, i64, i64)>, StoreError> {
    const SELECT: &str = "SELECT tier, count(*) AS open, \
        coalesce(sum(CASE WHEN due_at < $1 THEN 1 ELSE 0 END), 0) AS overdue \
        FROM grievance_list WHERE deadline_stage IS NOT NULL GROUP BY tier ORDER BY tier";
    let rows = on_store!(store, Store, |pool, pg| {
        sqlx::query(&sql(pg, SELECT))
            .bind(now.trunc_subsecs(6))
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("tier")?,
                    r.try_get("open")?,
                    r.try_get("overdue")?,
                ))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?
    });
    Ok(rows)
}
