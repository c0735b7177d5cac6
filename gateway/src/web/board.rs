//! The public board of a xiaoqu (`/board/{xiaoqu}`, no sign-in): its
//! figures over the last twelve months and their trend, charted on the
//! server.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{FixedOffset, Offset, Utc};

use super::chart::{compared, percent, Chart, Compared};
use super::{message, render, Page, Visit};
use crate::app::AppState;

/// One figure of the public board.
#[derive(Debug)]
pub struct Figure {
    /// The translation key of its name.
    pub key: &'static str,
    pub count: u64,
    pub of: u64,
    /// Whole percent, when anything counts.
    pub percent: Option<u32>,
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    page: Page,
    name: String,
    filed: u64,
    figures: Vec<Figure>,
    chart: Chart,
    /// The xiaoqu of its community, and the property companies serving
    /// them, over the last twelve months.
    by_xiaoqu: Vec<Compared>,
    by_company: Vec<Compared>,
    /// The xiaoqu's micro-projects and the funds serving it.
    projects: Vec<BoardProject>,
    funds: Vec<BoardFund>,
}

/// A micro-project as the public board shows it: no person.
#[derive(Debug)]
pub struct BoardProject {
    pub title: String,
    pub status: String,
    pub budget: String,
    pub spent: String,
    pub supporters: u64,
    pub rating: Option<String>,
}

/// A fund as the public board shows it.
#[derive(Debug)]
pub struct BoardFund {
    pub name: String,
    pub received: String,
    pub spent: String,
    pub balance: String,
}

/// Fen as yuan with two decimals: `90000` → `900.00`.
pub(super) fn yuan(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// The public board of a xiaoqu (no sign-in): its 三率 figures over the last
/// twelve months and their trend month by month, drawn as SVG on the server.
/// Counts only: no grievance, no person.
pub(super) async fn board(
    State(state): State<AppState>,
    Path(xiaoqu): Path<String>,
    headers: HeaderMap,
) -> Response {
    use crate::app::lists::{figures, FiguresScope as Scope};
    use chrono::Datelike;
    let visit = Visit::of(&state, &headers).await;
    // By id or by name.
    let Ok(Some(record)) = crate::app::registry::find(&state, &xiaoqu).await else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let id = record.id;
    let now = state.now();
    let scope = |from, to| Scope {
        xiaoqu: Some(id.0),
        party: None,
        tier: None,
        filed_from: Some(from),
        filed_to: Some(to),
    };
    let Ok((year, _, _)) = figures(
        &state,
        &scope(now - chrono::TimeDelta::days(365), now),
        None,
    )
    .await
    else {
        return message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title");
    };
    let rows = [
        ("board.response_rate", &year.response_rate),
        ("board.resolution_rate", &year.resolution_rate),
        ("board.satisfaction_rate", &year.satisfaction_rate),
        ("board.escalation_rate", &year.escalation_rate),
        ("board.reopen_rate", &year.reopen_rate),
    ];
    let figures_now = rows
        .iter()
        .map(|(key, rate)| Figure {
            key,
            count: rate.count,
            of: rate.of,
            percent: percent(rate),
        })
        .collect();
    // The last six calendar months (China Standard Time), oldest first.
    let china = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix());
    let local = now.with_timezone(&china);
    let mut months = Vec::new();
    for back in (0..6).rev() {
        let (mut year_n, mut month_n) = (local.year(), local.month() as i32 - back);
        while month_n < 1 {
            month_n += 12;
            year_n -= 1;
        }
        let month_n = month_n as u32;
        let first = chrono::NaiveDate::from_ymd_opt(year_n, month_n, 1).unwrap_or_default();
        let last = first
            .checked_add_months(chrono::Months::new(1))
            .and_then(|d| d.pred_opt())
            .unwrap_or(first);
        let (start, end) = crate::app::ledgers::rows::bounds(first, last);
        let Ok((f, _, _)) = figures(&state, &scope(start, end), None).await else {
            continue;
        };
        months.push((year_n, month_n, f));
    }
    let page = visit.page();
    let chart = Chart::of(&page, &months);
    use crate::app::ledgers::report::{comparison, neighbours};
    let year_ago = now - chrono::TimeDelta::days(365);
    let compared_with = match neighbours(&state, &record).await {
        Ok(xs) => comparison(&state, &xs, (year_ago, now), now).await,
        Err(e) => Err(e),
    };
    let Ok((by_xiaoqu, by_company)) = compared_with else {
        return message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title");
    };
    let Ok((projects, funds)) = crate::app::micro::board(&state, id).await else {
        return message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title");
    };
    let projects = projects
        .into_iter()
        .map(|p| BoardProject {
            title: p.title,
            status: crate::app::dto::wire(&p.status),
            budget: yuan(p.budget_fen),
            spent: yuan(p.spent_fen),
            supporters: p.supporters,
            rating: p.rating.map(|r| format!("{r:.1}")),
        })
        .collect();
    let funds = funds
        .into_iter()
        .map(|f| BoardFund {
            name: f.name,
            received: yuan(f.received_fen),
            spent: yuan(f.spent_fen),
            balance: yuan(f.balance_fen),
        })
        .collect();
    let html = BoardPage {
        page,
        projects,
        funds,
        name: record.name,
        filed: year.filed,
        figures: figures_now,
        chart,
        by_xiaoqu: compared(&by_xiaoqu),
        by_company: compared(&by_company),
    }
    .render();
    render(&visit, StatusCode::OK, html)
}
