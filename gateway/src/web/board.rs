//! The public board of a xiaoqu (`/board/{xiaoqu}`, no sign-in): its
//! figures over the last twelve months and their trend, charted on the
//! server.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{FixedOffset, Offset, Utc};

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

/// One bar of the board's chart, laid out on the server.
#[derive(Debug)]
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub height: u32,
    pub fill: &'static str,
    pub label: String,
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    page: Page,
    name: String,
    filed: u64,
    figures: Vec<Figure>,
    bars: Vec<Bar>,
    /// Each month's label: its centre, `MM`, and the year where shown.
    months: Vec<(u32, String, Option<String>)>,
    /// The chart's figures as a table: month, then the three rates.
    trend: Vec<(String, [String; 3])>,
}

/// The three rates the board charts, with their colours (distinguishable
/// without colour too: each bar is labelled in its `<title>`).
const CHARTED: [(&str, &str); 3] = [
    ("board.response_rate", "#1f5f99"),
    ("board.resolution_rate", "#2c7a3f"),
    ("board.satisfaction_rate", "#a4161a"),
];

fn percent(rate: &crate::app::lists::Rate) -> Option<u32> {
    rate.rate.map(|r| (r * 100.0).round() as u32)
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
    use chrono::{Datelike, TimeZone};
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
    let mut bars = Vec::new();
    let mut trend = Vec::new();
    let page = visit.page();
    for back in (0..6).rev() {
        let (mut year_n, mut month_n) = (local.year(), local.month() as i32 - back);
        while month_n < 1 {
            month_n += 12;
            year_n -= 1;
        }
        let month_n = month_n as u32;
        let start = china
            .with_ymd_and_hms(year_n, month_n, 1, 0, 0, 0)
            .single()
            .map(|t| t.with_timezone(&Utc));
        let (next_y, next_m) = if month_n == 12 {
            (year_n + 1, 1)
        } else {
            (year_n, month_n + 1)
        };
        let end = china
            .with_ymd_and_hms(next_y, next_m, 1, 0, 0, 0)
            .single()
            .map(|t| t.with_timezone(&Utc));
        let (Some(start), Some(end)) = (start, end) else {
            continue;
        };
        let slot = (5 - back) as u32;
        let x0 = 96 + slot * 84;
        // The month under its bars; the year under the first and under January.
        let year_shown = (slot == 0 || month_n == 1).then(|| year_n.to_string());
        months.push((x0 + 35, format!("{month_n:02}"), year_shown));
        let Ok((f, _, _)) = figures(&state, &scope(start, end), None).await else {
            continue;
        };
        let shown = |rate| percent(rate).map_or("–".to_owned(), |p| format!("{p}%"));
        trend.push((
            format!("{year_n}-{month_n:02}"),
            [
                shown(&f.response_rate),
                shown(&f.resolution_rate),
                shown(&f.satisfaction_rate),
            ],
        ));
        for (i, (key, rate)) in [
            (CHARTED[0], &f.response_rate),
            (CHARTED[1], &f.resolution_rate),
            (CHARTED[2], &f.satisfaction_rate),
        ]
        .into_iter()
        .enumerate()
        {
            let p = percent(rate).unwrap_or(0);
            let height = p * 2;
            bars.push(Bar {
                x: x0 + i as u32 * 24,
                y: 220 - height,
                height,
                fill: key.1,
                label: format!(
                    "{year_n}-{month_n:02} {}{}{}",
                    page.t(key.0),
                    page.t("punct.colon"),
                    percent(rate).map_or("–".to_owned(), |p| format!("{p}%"))
                ),
            });
        }
    }
    let html = BoardPage {
        page,
        name: record.name,
        filed: year.filed,
        figures: figures_now,
        bars,
        months,
        trend,
    }
    .render();
    render(&visit, StatusCode::OK, html)
}
