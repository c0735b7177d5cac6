//! The periodic report (月报, 季报) of a xiaoqu, a community or a street:
//! the three rates of the period and their trend month by month, the
//! matters still open by tier and age, the joint meetings held, and the
//! comparison across the xiaoqu of the place and across the property
//! companies serving them. Figures only: a report names nobody, so it is
//! the same for every reader who may see the place.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use lianxi_domain::grievance::GrievanceState;
use lianxi_domain::ledger::{exports_ledgers, LedgerScope};
use lianxi_domain::meeting::{ItemOutcome, JointMeetingState};
use lianxi_domain::values::{PartyRole, Tier};
use lianxi_domain::Status;
use lianxi_projections::figures::{self, Figures};
use lianxi_projections::grievance_list::{self, Audience, ListFilter};
use lianxi_projections::meetings as meeting_list;

use super::super::auth::Caller;
use super::super::error::ApiError;
use super::super::{grievances, AppState};
use super::rows::bounds;
use crate::app::dto::wire;
use crate::db::XiaoquRecord;

/// Which period a report covers: a calendar month or a quarter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Month { year: i32, month: u32 },
    Quarter { year: i32, quarter: u32 },
}

impl Period {
    /// `2026-11` or `2026-Q4`.
    pub fn parse(text: &str) -> Option<Period> {
        let (year, rest) = text.trim().split_once('-')?;
        let year: i32 = year.parse().ok().filter(|y| (2000..=2100).contains(y))?;
        if let Some(q) = rest.strip_prefix('Q').or_else(|| rest.strip_prefix('q')) {
            let quarter: u32 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
            return Some(Period::Quarter { year, quarter });
        }
        let month: u32 = rest.parse().ok().filter(|m| (1..=12).contains(m))?;
        Some(Period::Month { year, month })
    }

    /// Its first and last day.
    pub fn days(self) -> (NaiveDate, NaiveDate) {
        let (year, first_month, months) = match self {
            Period::Month { year, month } => (year, month, 1),
            Period::Quarter { year, quarter } => (year, quarter * 3 - 2, 3),
        };
        let first = NaiveDate::from_ymd_opt(year, first_month, 1).unwrap_or_default();
        let last = first
            .checked_add_months(Months::new(months))
            .and_then(|d| d.pred_opt())
            .unwrap_or(first);
        (first, last)
    }

    /// `2026-11` or `2026-Q4`, as asked.
    pub fn code(self) -> String {
        match self {
            Period::Month { year, month } => format!("{year}-{month:02}"),
            Period::Quarter { year, quarter } => format!("{year}-Q{quarter}"),
        }
    }

    pub fn is_quarter(self) -> bool {
        matches!(self, Period::Quarter { .. })
    }
}

/// Open matters of one tier, by how long since filing: under 3 days, 3 to
/// 7, 7 to 30, over 30.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenAtTier {
    pub tier: Tier,
    pub by_age: [u64; 4],
}

/// One joint meeting of the period.
#[derive(Clone, Debug)]
pub struct MeetingLine {
    pub xiaoqu: String,
    pub scheduled_for: DateTime<Utc>,
    pub kind: String,
    pub status: String,
    pub items: usize,
    pub decided: usize,
    pub action_items: usize,
    pub action_items_done: usize,
}

/// A report, ready to show.
#[derive(Clone, Debug)]
pub struct PeriodicReport {
    /// The place's registered name.
    pub place: String,
    pub period: Period,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub figures: Figures,
    /// The months of the period (a quarter), or the six months ending with
    /// it (a month), oldest first.
    pub trend: Vec<(String, Figures)>,
    pub open: Vec<OpenAtTier>,
    pub meetings: Vec<MeetingLine>,
    /// The place's xiaoqu (a xiaoqu's report: its community's), side by side.
    pub by_xiaoqu: Vec<(String, Figures)>,
    /// The property companies serving them: the grievances each had to answer.
    pub by_company: Vec<(String, Figures)>,
    pub now: DateTime<Utc>,
}

/// Every grievance of `xiaoqu` filed in `[start, end)` (all of them, whoever
/// may read them: figures name nobody).
pub(super) async fn filed(
    state: &AppState,
    xiaoqu: &[XiaoquRecord],
    (start, end): (Option<DateTime<Utc>>, DateTime<Utc>),
) -> Result<Vec<GrievanceState>, ApiError> {
    let store = state.db.store();
    let mut out = Vec::new();
    for x in xiaoqu {
        let filter = ListFilter {
            xiaoqu: Some(x.id.0),
            filed_from: start,
            filed_to: Some(end),
            ..ListFilter::default()
        };
        let mut after = None;
        loop {
            let page =
                grievance_list::list(&store, &Audience::Xiaoqu(x.id.0), &filter, after, 1000)
                    .await
                    .map_err(ApiError::from_store)?;
            out.extend(page.items.into_iter().map(|(g, _)| g));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    Ok(out)
}

fn of_period(
    gs: &[GrievanceState],
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Vec<&GrievanceState> {
    gs.iter()
        .filter(|g| g.filed_at >= start && g.filed_at < end)
        .collect()
}

/// The report of `scope` for `period`, for a reader whose role keeps
/// ledgers and whose scope takes in the whole place (else 404).
pub async fn report(
    state: &AppState,
    caller: &Caller,
    scope: &LedgerScope,
    period: Period,
) -> Result<PeriodicReport, ApiError> {
    let xiaoqu = super::places(state, scope).await?;
    let mut covered = exports_ledgers(caller.0.role) && !xiaoqu.is_empty();
    for x in &xiaoqu {
        covered = covered && grievances::covers(state, caller, x.id).await?;
    }
    if !covered {
        return Err(ApiError::not_found());
    }
    let now = state.now();
    let (from, to) = period.days();
    let (start, end) = bounds(from, to);
    // Everything filed up to the period's end: the open matters, and the
    // trend's earlier months.
    let trend_from = match period {
        Period::Quarter { .. } => from,
        Period::Month { .. } => from.checked_sub_months(Months::new(5)).unwrap_or(from),
    };
    let all = filed(state, &xiaoqu, (None, end)).await?;
    let figures_now = figures::compute(of_period(&all, (start, end)), now);
    let mut trend = Vec::new();
    let mut month = trend_from;
    while month <= to {
        let next = month.checked_add_months(Months::new(1)).unwrap_or(to);
        let bounds_of = bounds(month, next.pred_opt().unwrap_or(month));
        trend.push((
            format!("{}-{:02}", month.year(), month.month()),
            figures::compute(of_period(&all, bounds_of), now),
        ));
        if next <= month {
            break;
        }
        month = next;
    }
    // Still open at the period's end (or now, for the current period).
    let at = end.min(now);
    let mut open: Vec<OpenAtTier> = [Tier::Xiaoqu, Tier::Community, Tier::Street, Tier::District]
        .into_iter()
        .map(|tier| OpenAtTier {
            tier,
            by_age: [0; 4],
        })
        .collect();
    for g in all
        .iter()
        .filter(|g| !g.status.is_final() && g.status != Status::Resolved && g.filed_at < at)
    {
        let days = (at - g.filed_at).num_days();
        let bucket = match days {
            d if d < 3 => 0,
            d if d < 7 => 1,
            d if d < 30 => 2,
            _ => 3,
        };
        if let Some(row) = open.iter_mut().find(|o| o.tier == g.tier) {
            row.by_age[bucket] += 1;
        }
    }
    let meetings = meetings_held(state, &xiaoqu, (start, end)).await?;
    // Side by side: the place's xiaoqu, or a xiaoqu's neighbours in its community.
    let compared: Vec<XiaoquRecord> = match scope {
        LedgerScope::Xiaoqu(_) => match xiaoqu.first() {
            Some(x) => {
                super::places(
                    state,
                    &LedgerScope::Community(
                        lianxi_domain::values::PlaceName::parse(&x.community)
                            .map_err(|_| ApiError::internal())?,
                    ),
                )
                .await?
            }
            None => Vec::new(),
        },
        _ => xiaoqu.clone(),
    };
    let (by_xiaoqu, by_company) = comparison(state, &compared, (start, end), now).await?;
    let place = match scope {
        LedgerScope::Xiaoqu(_) => xiaoqu.first().map(|x| x.name.clone()).unwrap_or_default(),
        LedgerScope::Community(name) | LedgerScope::Street(name) => name.as_str().to_owned(),
    };
    Ok(PeriodicReport {
        place,
        period,
        from,
        to,
        figures: figures_now,
        trend,
        open,
        meetings,
        by_xiaoqu,
        by_company,
        now,
    })
}

/// The three rates of each xiaoqu of `compared` over `[start, end)`, and of
/// each property company serving them (over the grievances it had to
/// answer, a company serving several xiaoqu counted once). Figures only.
pub async fn comparison(
    state: &AppState,
    compared: &[XiaoquRecord],
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> Result<(Vec<(String, Figures)>, Vec<(String, Figures)>), ApiError> {
    let compared_filed = filed(state, compared, (Some(start), end)).await?;
    let mut by_xiaoqu = Vec::new();
    for x in compared {
        let theirs: Vec<&GrievanceState> =
            compared_filed.iter().filter(|g| g.xiaoqu == x.id).collect();
        by_xiaoqu.push((x.name.clone(), figures::compute(theirs, now)));
    }
    let mut companies: Vec<(String, Vec<&GrievanceState>)> = Vec::new();
    for x in compared {
        let (registry, _) = state.registry.load(x.id).await.map_err(|e| {
            tracing::error!(error = %e, "a xiaoqu's registry could not be read for a comparison");
            ApiError::internal()
        })?;
        let Some(company) = registry.state().and_then(|s| {
            s.parties
                .iter()
                .find(|p| p.party == PartyRole::PropertyCompany)
                .map(|p| p.name.as_str().to_owned())
        }) else {
            continue;
        };
        let answered: Vec<&GrievanceState> = compared_filed
            .iter()
            .filter(|g| {
                g.xiaoqu == x.id && figures::responding_party(g) == Some(PartyRole::PropertyCompany)
            })
            .collect();
        match companies.iter_mut().find(|(name, _)| *name == company) {
            Some((_, gs)) => gs.extend(answered),
            None => companies.push((company, answered)),
        }
    }
    let by_company = companies
        .into_iter()
        .map(|(name, gs)| (name, figures::compute(gs, now)))
        .collect();
    Ok((by_xiaoqu, by_company))
}

/// The xiaoqu of `xiaoqu`'s community, itself included: its neighbours to
/// compare with.
pub async fn neighbours(
    state: &AppState,
    xiaoqu: &XiaoquRecord,
) -> Result<Vec<XiaoquRecord>, ApiError> {
    let community = lianxi_domain::values::PlaceName::parse(&xiaoqu.community)
        .map_err(|_| ApiError::internal())?;
    super::places(state, &LedgerScope::Community(community)).await
}

/// The joint meetings scheduled in the period, with their items' outcomes
/// and action items.
async fn meetings_held(
    state: &AppState,
    xiaoqu: &[XiaoquRecord],
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<MeetingLine>, ApiError> {
    let store = state.db.store();
    let mut out = Vec::new();
    for x in xiaoqu {
        let meetings: Vec<JointMeetingState> = meeting_list::meetings(&store, x.id.0, i64::MAX)
            .await
            .map_err(ApiError::from_store)?;
        for m in meetings
            .into_iter()
            .filter(|m| m.scheduled_for >= start && m.scheduled_for < end)
        {
            out.push(MeetingLine {
                xiaoqu: x.name.clone(),
                scheduled_for: m.scheduled_for,
                kind: wire(&m.kind),
                status: m.status.as_str().to_owned(),
                items: m.agenda.len(),
                decided: m
                    .agenda
                    .iter()
                    .filter(|i| matches!(i.outcome, ItemOutcome::Decided { .. }))
                    .count(),
                action_items: m.action_items.len(),
                action_items_done: m
                    .action_items
                    .iter()
                    .filter(|a| a.done_at.is_some())
                    .count(),
            });
        }
    }
    out.sort_by_key(|m| m.scheduled_for);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_quarters_are_read_and_bounded() {
        let november = Period::parse("2026-11").expect("a month");
        assert_eq!(
            november.days(),
            (
                NaiveDate::from_ymd_opt(2026, 11, 1).expect("day"),
                NaiveDate::from_ymd_opt(2026, 11, 30).expect("day")
            )
        );
        let q4 = Period::parse("2026-Q4").expect("a quarter");
        assert_eq!(q4.code(), "2026-Q4");
        assert_eq!(
            q4.days(),
            (
                NaiveDate::from_ymd_opt(2026, 10, 1).expect("day"),
                NaiveDate::from_ymd_opt(2026, 12, 31).expect("day")
            )
        );
        for bad in ["2026-13", "2026-Q5", "26-11", "2026", "soon", "2026-Q0"] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
    }
}
