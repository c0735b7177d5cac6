//! Reports and ledgers on the pages: `/reports` offers the places the reader
//! may report on, a month or quarter, and a period of days;
//! `/reports/view` is the monthly or quarterly report laid out for A4
//! (print it to PDF from the browser); `/reports/ledger` downloads the
//! ledgers (台账) as XLSX or CSV, each download recorded like every export.

use crate::app::lists::Figures;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Datelike, FixedOffset, Offset, Utc};
use lianxi_domain::ledger::exports_ledgers;
use serde::Deserialize;

use super::chart::{compared, percent, Chart, Compared};
use super::{message, render, see_other, Page, Visit};
use crate::app::ledgers::report::{self, MeetingLine, OpenAtTier, Period, PeriodicReport};
use crate::app::ledgers::{self, LedgerQuery};
use crate::app::AppState;
use crate::http::download::send_export;

/// What the report pages are asked: one place, and a period.
#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct Asked {
    #[serde(default)]
    place: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    ledger: String,
    #[serde(default)]
    format: String,
}

/// A place as the form's value names it: `xiaoqu:<id>`, `community:<name>`
/// or `street:<name>`.
fn split(place: &str) -> (Option<&str>, Option<&str>, Option<&str>) {
    match place.split_once(':') {
        Some(("xiaoqu", x)) => (Some(x), None, None),
        Some(("community", c)) => (None, Some(c), None),
        Some(("street", s)) => (None, None, Some(s)),
        _ => (None, None, None),
    }
}

/// A choice of place on the form.
#[derive(Debug)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    page: Page,
    places: Vec<Choice>,
    /// The last twelve months and four quarters, latest first.
    periods: Vec<Choice>,
    from: String,
    to: String,
}

/// The form: the places the reader covers, this month and quarter.
pub(super) async fn reports(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    let page = visit.page();
    if !exports_ledgers(caller.0.role) {
        return message(&visit, StatusCode::FORBIDDEN, "error.not_allowed_here");
    }
    let Ok(visible) = crate::app::registry::places(&state, &caller).await else {
        return message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title");
    };
    let mut places = Vec::new();
    let tiers = !matches!(
        caller.0.scope,
        crate::app::auth::Scope::Xiaoqu(_) | crate::app::auth::Scope::Organization(_)
    );
    if tiers {
        let mut streets: Vec<&str> = visible.iter().map(|x| x.street.as_str()).collect();
        streets.dedup();
        let mut communities: Vec<&str> = visible.iter().map(|x| x.community.as_str()).collect();
        communities.dedup();
        for s in streets {
            places.push(Choice {
                value: format!("street:{s}"),
                label: format!("{s} · {}", page.t("reports.street")),
            });
        }
        for c in communities {
            places.push(Choice {
                value: format!("community:{c}"),
                label: format!("{c} · {}", page.t("reports.community")),
            });
        }
    }
    for x in &visible {
        places.push(Choice {
            value: format!("xiaoqu:{}", x.id.0),
            label: x.name.clone(),
        });
    }
    let china = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix());
    let today = state.now().with_timezone(&china).date_naive();
    let mut periods = Vec::new();
    let this_month = today.with_day(1).unwrap_or(today);
    for back in 0..12 {
        let Some(m) = this_month.checked_sub_months(chrono::Months::new(back)) else {
            continue;
        };
        periods.push(Choice {
            value: format!("{}-{:02}", m.year(), m.month()),
            label: format!(
                "{}-{:02} · {}",
                m.year(),
                m.month(),
                page.t("reports.monthly")
            ),
        });
    }
    for back in 0..4 {
        let Some(m) = this_month.checked_sub_months(chrono::Months::new(back * 3)) else {
            continue;
        };
        let code = format!("{}-Q{}", m.year(), m.month().div_ceil(3));
        periods.push(Choice {
            label: format!("{code} · {}", page.t("reports.quarterly")),
            value: code,
        });
    }
    let html = ReportsPage {
        page,
        places,
        periods,
        from: format!("{}-{:02}-01", today.year(), today.month()),
        to: today.to_string(),
    }
    .render();
    render(&visit, StatusCode::OK, html)
}

/// One figure row of the report: the rate in percent and its counts.
#[derive(Debug)]
pub struct Line {
    pub key: &'static str,
    pub percent: Option<u32>,
    pub count: u64,
    pub of: u64,
}

fn lines(f: &Figures) -> Vec<Line> {
    [
        ("board.response_rate", &f.response_rate),
        ("board.resolution_rate", &f.resolution_rate),
        ("board.satisfaction_rate", &f.satisfaction_rate),
        ("board.escalation_rate", &f.escalation_rate),
        ("board.reopen_rate", &f.reopen_rate),
    ]
    .into_iter()
    .map(|(key, rate)| Line {
        key,
        percent: percent(rate),
        count: rate.count,
        of: rate.of,
    })
    .collect()
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    page: Page,
    report: PeriodicReport,
    figures: Vec<Line>,
    chart: Chart,
    open: Vec<OpenAtTier>,
    meetings: Vec<MeetingLine>,
    by_xiaoqu: Vec<Compared>,
    by_company: Vec<Compared>,
    /// The same place's ledgers over the same days, as a workbook.
    ledger_link: String,
}

impl ReportPage {
    fn title(&self) -> String {
        let kind = if self.report.period.is_quarter() {
            "reports.quarterly"
        } else {
            "reports.monthly"
        };
        format!(
            "{} · {} · {}",
            self.report.place,
            self.report.period.code(),
            self.page.t(kind)
        )
    }

    /// A tier's wire name (`xiaoqu`, `community`, …).
    fn tier(&self, open: &OpenAtTier) -> String {
        super::wire(&open.tier)
    }

    fn open_total(&self) -> u64 {
        self.open.iter().flat_map(|o| o.by_age).sum()
    }
}

/// The monthly or quarterly report, laid out for A4.
pub(super) async fn view(
    State(state): State<AppState>,
    Query(asked): Query<Asked>,
    headers: HeaderMap,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    let Some(period) = Period::parse(&asked.period) else {
        return message(
            &visit,
            StatusCode::UNPROCESSABLE_ENTITY,
            "reports.error.period",
        );
    };
    let (x, c, s) = split(&asked.place);
    let Ok(scope) = ledgers::named_place(&state, x, c, s).await else {
        return message(&visit, StatusCode::NOT_FOUND, "error.not_found");
    };
    let report = match report::report(&state, &caller, &scope, period).await {
        Ok(report) => report,
        Err(e) if e.status_code().is_client_error() => {
            return message(&visit, StatusCode::NOT_FOUND, "error.not_found")
        }
        Err(_) => return message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title"),
    };
    let page = visit.page();
    let months: Vec<(i32, u32, Figures)> = report
        .trend
        .iter()
        .filter_map(|(month, f)| {
            let (y, m) = month.split_once('-')?;
            Some((y.parse().ok()?, m.parse().ok()?, f.clone()))
        })
        .collect();
    let chart = Chart::of(&page, &months);
    let html = ReportPage {
        figures: lines(&report.figures),
        open: report.open.clone(),
        meetings: report.meetings.clone(),
        by_xiaoqu: compared(&report.by_xiaoqu),
        by_company: compared(&report.by_company),
        chart,
        ledger_link: format!(
            "/reports/ledger?{}",
            serde_urlencoded::to_string([
                ("place", asked.place.as_str()),
                ("from", &report.from.to_string()),
                ("to", &report.to.to_string()),
                ("format", "xlsx"),
            ])
            .unwrap_or_default()
        ),
        page,
        report,
    }
    .render();
    render(&visit, StatusCode::OK, html)
}

/// A ledger download from the pages: recorded, then sent.
pub(super) async fn ledger(
    State(state): State<AppState>,
    Query(asked): Query<Asked>,
    headers: HeaderMap,
) -> Response {
    let visit = Visit::of(&state, &headers).await;
    let Some(caller) = visit.caller() else {
        return see_other("/login");
    };
    let (x, c, s) = split(&asked.place);
    let query = LedgerQuery {
        xiaoqu: x.map(str::to_owned),
        community: c.map(str::to_owned),
        street: s.map(str::to_owned),
        from: asked.from.clone(),
        to: asked.to.clone(),
        ledger: (!asked.ledger.is_empty()).then(|| asked.ledger.clone()),
        format: (!asked.format.is_empty()).then(|| asked.format.clone()),
        lang: Some(visit.lang.code().to_owned()),
    };
    let request_id = format!("page-{}", uuid::Uuid::new_v4());
    match ledgers::export(&state, &caller, &request_id, &query).await {
        Ok(export) => send_export(export),
        Err(e) if e.status_code() == StatusCode::FORBIDDEN => {
            message(&visit, StatusCode::FORBIDDEN, "error.not_allowed_here")
        }
        Err(e) if e.status_code() == StatusCode::NOT_FOUND => {
            message(&visit, StatusCode::NOT_FOUND, "error.not_found")
        }
        Err(e) if e.status_code().is_client_error() => message(
            &visit,
            StatusCode::UNPROCESSABLE_ENTITY,
            "reports.error.period",
        ),
        Err(_) => message(&visit, StatusCode::SERVICE_UNAVAILABLE, "error.title"),
    }
}
