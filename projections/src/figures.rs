//! The 三率 figures and the times behind them, for a public board: counts,
//! rates and medians only, never a person.
//!
//! Definitions (over the grievances *filed* in the period and scope):
//! - response rate: accepted or rejected before the accept deadline, over
//!   those whose accept stage is over or overdue (withdrawn or merged before
//!   acceptance, and not-yet-due ones, are left out);
//! - resolution rate: resolved at least once, over those not rejected,
//!   withdrawn or merged;
//! - satisfaction rate: households that rated the outcome satisfied or mostly
//!   satisfied, over the households that rated it. A grievance's own filer
//!   is one household, and each household whose duplicate was merged into it
//!   is another; each counts once, with its rating of the current outcome
//!   (a reopening clears them all);
//! - escalation rate: escalated at least once, over all filed;
//! - reopen rate: reopened at least once, over those resolved at least once;
//! - median times (seconds) from filing to acceptance, first response and
//!   first resolution.

use chrono::{DateTime, Utc};
use lianxi_domain::grievance::GrievanceState;
use lianxi_domain::values::{PartyRole, Rating, Respondent, Tier};
use lianxi_domain::Status;
use serde::Serialize;
use uuid::Uuid;

use crate::grievance_list::{list, Audience, ListFilter};
use crate::store::{Store, StoreError};

/// Which grievances the figures cover.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    pub xiaoqu: Option<Uuid>,
    /// The party that had to respond (assigned, else the one the filer named).
    pub party: Option<PartyRole>,
    /// The tier that handles it now.
    pub tier: Option<Tier>,
    pub filed_from: Option<DateTime<Utc>>,
    pub filed_to: Option<DateTime<Utc>>,
}

/// A share with its numerator and denominator; `rate` is absent when nothing counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Rate {
    pub count: u64,
    pub of: u64,
    pub rate: Option<f64>,
}

impl Rate {
    fn new(count: u64, of: u64) -> Rate {
        Rate {
            count,
            of,
            rate: (of > 0).then(|| count as f64 / of as f64),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Figures {
    pub filed: u64,
    pub response_rate: Rate,
    pub resolution_rate: Rate,
    pub satisfaction_rate: Rate,
    pub escalation_rate: Rate,
    pub reopen_rate: Rate,
    pub median_seconds_to_accept: Option<i64>,
    pub median_seconds_to_respond: Option<i64>,
    pub median_seconds_to_resolve: Option<i64>,
}

/// The party that had to respond.
pub fn responding_party(g: &GrievanceState) -> Option<PartyRole> {
    g.assigned_party.or(match g.respondent {
        Respondent::PropertyCompany => Some(PartyRole::PropertyCompany),
        Respondent::OwnersCommittee => Some(PartyRole::OwnersCommittee),
        Respondent::Neighbour | Respondent::Unknown => None,
    })
}

fn median(mut values: Vec<i64>) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2
    })
}

/// The figures of `grievances`, as of `now`.
pub fn compute<'a>(
    grievances: impl IntoIterator<Item = &'a GrievanceState>,
    now: DateTime<Utc>,
) -> Figures {
    let (mut filed, mut on_time, mut response_of) = (0, 0, 0);
    let (mut resolved, mut resolvable, mut rated, mut satisfied) = (0, 0, 0, 0);
    let (mut escalated, mut reopened) = (0, 0);
    let (mut to_accept, mut to_respond, mut to_resolve) = (Vec::new(), Vec::new(), Vec::new());
    for g in grievances {
        filed += 1;
        match g.accept_on_time {
            Some(true) => {
                on_time += 1;
                response_of += 1;
            }
            Some(false) => response_of += 1,
            None => {
                let overdue = g.deadline.is_some_and(|d| d.due_at < now);
                let left_early = matches!(g.status, Status::Withdrawn | Status::Merged);
                if g.status == Status::Filed && overdue && !left_early {
                    response_of += 1;
                }
            }
        }
        if !matches!(
            g.status,
            Status::Rejected | Status::Withdrawn | Status::Merged
        ) {
            resolvable += 1;
        }
        if let Some(at) = g.first_resolved_at {
            resolved += 1;
            to_resolve.push((at - g.filed_at).num_seconds());
            if g.reopenings > 0 {
                reopened += 1;
            }
        }
        let households = g
            .rating
            .into_iter()
            .chain(g.household_ratings.iter().map(|r| r.rating));
        for rating in households {
            rated += 1;
            if matches!(rating, Rating::Satisfied | Rating::MostlySatisfied) {
                satisfied += 1;
            }
        }
        if g.escalations > 0 {
            escalated += 1;
        }
        if let Some(at) = g.accepted_at {
            to_accept.push((at - g.filed_at).num_seconds());
        }
        if let Some(at) = g.first_responded_at {
            to_respond.push((at - g.filed_at).num_seconds());
        }
    }
    Figures {
        filed,
        response_rate: Rate::new(on_time, response_of),
        resolution_rate: Rate::new(resolved, resolvable),
        satisfaction_rate: Rate::new(satisfied, rated),
        escalation_rate: Rate::new(escalated, filed),
        reopen_rate: Rate::new(reopened, resolved),
        median_seconds_to_accept: median(to_accept),
        median_seconds_to_respond: median(to_respond),
        median_seconds_to_resolve: median(to_resolve),
    }
}

/// Figures of the grievances in `scope`, from the grievance list read model.
pub async fn figures(
    store: &Store,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Result<Figures, StoreError> {
    let filter = ListFilter {
        xiaoqu: scope.xiaoqu,
        filed_from: scope.filed_from,
        filed_to: scope.filed_to,
        ..ListFilter::default()
    };
    let mut cursor = None;
    let mut states = Vec::new();
    loop {
        let page = list(store, &Audience::Everything, &filter, cursor, 1000).await?;
        states.extend(page.items.into_iter().map(|(s, _)| s).filter(|s| {
            scope.tier.is_none_or(|t| s.tier == t)
                && scope.party.is_none_or(|p| responding_party(s) == Some(p))
        }));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(compute(&states, now))
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5, 1, 3]), Some(3));
        assert_eq!(median(vec![4, 1, 3, 2]), Some(2));
    }
}
