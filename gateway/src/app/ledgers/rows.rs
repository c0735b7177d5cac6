//! The rows of each ledger, built from the read models for one caller: what
//! the caller may read and nothing else, people named only where the API
//! names them (the party branch and the tiers for case parties, the branch
//! for filers), pseudonyms otherwise.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset, TimeZone, Utc};
use lianxi_domain::grievance::GrievanceState;
use lianxi_domain::ledger::LedgerKind;
use lianxi_domain::mediation::{CaseParty, MediationCaseState};
use lianxi_domain::meeting::{ItemOutcome, JointMeetingState};
use lianxi_domain::values::AccountId;
use lianxi_projections::figures::{self, Rate};
use lianxi_projections::grievance_list::ListFilter;
use lianxi_projections::meetings as meeting_list;

use super::super::auth::Caller;
use super::super::error::ApiError;
use super::super::people::PersonalView;
use super::super::{lists, policy, AppState};
use crate::app::dto::wire;
use crate::app::i18n::{t, Lang};
use crate::db::XiaoquRecord;

/// One cell, typed as a spreadsheet keeps it.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// An instant, shown in China Standard Time.
    Time(DateTime<Utc>),
    /// A share from 0 to 1.
    Share(f64),
    Empty,
}

/// One ledger as a table: its name, its columns (with a width that fits
/// their Chinese text, in characters) and its rows.
#[derive(Clone, Debug)]
pub struct Sheet {
    pub ledger: LedgerKind,
    pub name: String,
    pub columns: Vec<(String, f64)>,
    pub rows: Vec<Vec<Cell>>,
}

/// A period's bounds as instants: from the first day's midnight to the
/// midnight after the last day, China Standard Time.
pub fn bounds(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let china = china();
    let start = |d: NaiveDate| {
        china
            .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    };
    (start(from), start(to.succ_opt().unwrap_or(to)))
}

fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

/// Labels in the ledger's language.
struct Words {
    lang: Lang,
}

impl Words {
    fn t(&self, key: &str) -> String {
        t(self.lang, key)
    }

    fn label<T: serde::Serialize>(&self, group: &str, value: &T) -> String {
        self.t(&format!("{group}.{}", wire(value)))
    }

    fn columns(&self, keys: &[(&str, f64)]) -> Vec<(String, f64)> {
        keys.iter()
            .map(|(key, width)| (self.t(&format!("ledger.col.{key}")), *width))
            .collect()
    }

    /// An obligation's or action item's due day and state, bracketed.
    fn detail(&self, due: &str, state: &str) -> String {
        self.t("ledger.detail")
            .replace("{due}", due)
            .replace("{state}", state)
    }

    fn yes_no(&self, value: Option<bool>) -> Cell {
        match value {
            Some(true) => Cell::Text(self.t("ledger.yes")),
            Some(false) => Cell::Text(self.t("ledger.no")),
            None => Cell::Empty,
        }
    }
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn time(at: Option<DateTime<Utc>>) -> Cell {
    at.map_or(Cell::Empty, Cell::Time)
}

/// What one export holds: the grievances, meetings and cases of its xiaoqu
/// in its period that the caller may read.
#[derive(Debug)]
pub struct Gathered {
    /// The rows of the grievance ledger: what the caller may read.
    pub grievances: Vec<GrievanceState>,
    /// What the three rates count: every grievance filed in the place and
    /// period, as the public board counts them (figures name nobody).
    pub counted: Vec<GrievanceState>,
    pub meetings: Vec<JointMeetingState>,
    pub cases: Vec<MediationCaseState>,
}

/// Reads what the ledgers of `xiaoqu` over `[start, end)` draw on, as the
/// caller may read it.
pub async fn gather(
    state: &AppState,
    caller: &Caller,
    xiaoqu: &[XiaoquRecord],
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Gathered, ApiError> {
    let store = state.db.store();
    let mut out = Gathered {
        grievances: Vec::new(),
        counted: Vec::new(),
        meetings: Vec::new(),
        cases: Vec::new(),
    };
    let reads_meetings = policy::reads_meetings(caller.0.role);
    for x in xiaoqu {
        let filter = ListFilter {
            xiaoqu: Some(x.id.0),
            filed_from: Some(start),
            filed_to: Some(end),
            ..ListFilter::default()
        };
        let mut after = None;
        loop {
            let (page, _) = lists::list(state, caller, &filter, after, 500, None).await?;
            out.grievances
                .extend(page.items.into_iter().map(|(g, _)| g));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        if reads_meetings {
            let meetings = meeting_list::meetings(&store, x.id.0, i64::MAX)
                .await
                .map_err(ApiError::from_store)?;
            out.meetings.extend(
                meetings
                    .into_iter()
                    .filter(|m| m.scheduled_for >= start && m.scheduled_for < end),
            );
        }
        let cases = meeting_list::cases(&store, x.id.0, i64::MAX)
            .await
            .map_err(ApiError::from_store)?;
        out.cases.extend(cases.into_iter().filter(|c| {
            c.opened_at >= start && c.opened_at < end && policy::can_view_case(&caller.0, c)
        }));
    }
    out.counted = super::report::filed(state, xiaoqu, (Some(start), end)).await?;
    out.grievances.sort_by_key(|g| (g.filed_at, g.id.0));
    out.meetings.sort_by_key(|m| (m.scheduled_for, m.id.0));
    out.cases.sort_by_key(|c| (c.opened_at, c.id.0));
    Ok(out)
}

/// The names of the xiaoqu, by id.
fn xiaoqu_name(xiaoqu: &[XiaoquRecord], id: uuid::Uuid) -> String {
    xiaoqu
        .iter()
        .find(|x| x.id.0 == id)
        .map(|x| x.name.clone())
        .unwrap_or_default()
}

/// How a person is shown: their name where the caller may know it, else
/// their pseudonym; an erased person's name is gone.
async fn person(state: &AppState, lang: Lang, account: AccountId, named: bool) -> String {
    if !named {
        return state.people.pseudonym(account);
    }
    match state.people.personal_data(account).await {
        Ok(PersonalView::Present(data)) => data.name,
        Ok(PersonalView::Erased) => t(lang, "ledger.erased"),
        // No name was ever given: the pseudonym stands for the person.
        Ok(PersonalView::Unrecorded) => state.people.pseudonym(account),
        Err(e) => {
            tracing::warn!(error = %e, "a person's name could not be read for a ledger");
            state.people.pseudonym(account)
        }
    }
}

/// 诉求台账: one row per grievance filed in the period.
pub async fn grievances(
    state: &AppState,
    caller: &Caller,
    lang: Lang,
    xiaoqu: &[XiaoquRecord],
    rows: &[GrievanceState],
) -> Sheet {
    let w = Words { lang };
    let mut out = Vec::with_capacity(rows.len());
    for g in rows {
        let named = policy::sees_filer_identity(&caller.0, g);
        out.push(vec![
            text(g.id.0.to_string()),
            text(xiaoqu_name(xiaoqu, g.xiaoqu.0)),
            Cell::Time(g.filed_at),
            text(person(state, lang, g.filer, named).await),
            text(w.label("category", &g.category)),
            text(g.title.as_str()),
            g.matter_class
                .map_or(Cell::Empty, |m| text(w.label("matter", &m))),
            figures::responding_party(g).map_or(Cell::Empty, |p| text(w.label("party", &p))),
            text(w.label("tier", &g.tier)),
            text(w.label("status", &g.status.as_str())),
            time(g.accepted_at),
            time(g.first_responded_at),
            time(g.first_resolved_at),
            time(g.resolved_at),
            g.rating
                .map_or(Cell::Empty, |r| text(w.label("rating", &r))),
            w.yes_no(g.accept_on_time),
            Cell::Int(i64::from(g.escalations)),
            Cell::Int(i64::from(g.reopenings)),
        ]);
    }
    Sheet {
        ledger: LedgerKind::Grievances,
        name: w.t("ledger.grievances"),
        columns: w.columns(&[
            ("id", 38.0),
            ("xiaoqu", 14.0),
            ("filed_at", 18.0),
            ("filer", 14.0),
            ("category", 12.0),
            ("title", 36.0),
            ("matter_class", 10.0),
            ("responsible", 16.0),
            ("tier", 10.0),
            ("status", 12.0),
            ("accepted_at", 18.0),
            ("responded_at", 18.0),
            ("first_resolved_at", 18.0),
            ("resolved_at", 18.0),
            ("rating", 12.0),
            ("accepted_on_time", 12.0),
            ("escalations", 10.0),
            ("reopenings", 10.0),
        ]),
        rows: out,
    }
}

/// 联席会议台账: one row per agenda item of each meeting scheduled in the
/// period (a meeting without items has one row).
pub fn meetings(lang: Lang, xiaoqu: &[XiaoquRecord], rows: &[JointMeetingState]) -> Sheet {
    let w = Words { lang };
    let sep = w.t("list.sep");
    let colon = w.t("punct.colon");
    let semicolon = w.t("punct.semicolon");
    let mut out = Vec::new();
    for m in rows {
        let present = m
            .present_parties
            .iter()
            .map(|p| w.label("party", p))
            .collect::<Vec<_>>()
            .join(&sep);
        let head = vec![
            text(m.id.0.to_string()),
            text(xiaoqu_name(xiaoqu, m.xiaoqu.0)),
            text(w.label("kind", &m.kind)),
            Cell::Time(m.scheduled_for),
            text(m.place.as_str()),
            text(w.label("meeting_status", &m.status.as_str())),
            text(present),
        ];
        if m.agenda.is_empty() {
            let mut row = head.clone();
            row.extend([
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
            ]);
            out.push(row);
        }
        for item in &m.agenda {
            let (outcome, decision, positions) = match &item.outcome {
                ItemOutcome::Pending => ("pending", Cell::Empty, Cell::Empty),
                ItemOutcome::Deferred { reason, .. } => {
                    ("deferred", text(reason.as_str()), Cell::Empty)
                }
                ItemOutcome::Decided {
                    decision,
                    positions,
                    ..
                } => (
                    "decided",
                    text(decision.as_str()),
                    text(
                        positions
                            .iter()
                            .map(|p| {
                                format!(
                                    "{}{colon}{}",
                                    w.label("party", &p.party),
                                    w.label("stance", &p.stance)
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(&semicolon),
                    ),
                ),
            };
            let actions = m
                .action_items
                .iter()
                .filter(|a| a.item == item.id)
                .map(|a| {
                    let due = a.due_at.with_timezone(&china()).format("%Y-%m-%d");
                    let state = if a.done_at.is_some() {
                        w.t("ledger.done")
                    } else {
                        w.t("ledger.not_done")
                    };
                    format!(
                        "{}{colon}{}{}",
                        w.label("party", &a.owner),
                        a.description.as_str(),
                        w.detail(&due.to_string(), &state)
                    )
                })
                .collect::<Vec<_>>()
                .join(&semicolon);
            let mut row = head.clone();
            row.extend([
                text(item.title.as_str()),
                text(w.t(&format!("outcome.{outcome}"))),
                decision,
                positions,
                if actions.is_empty() {
                    Cell::Empty
                } else {
                    text(actions)
                },
            ]);
            out.push(row);
        }
    }
    Sheet {
        ledger: LedgerKind::Meetings,
        name: w.t("ledger.meetings"),
        columns: w.columns(&[
            ("meeting", 38.0),
            ("xiaoqu", 14.0),
            ("kind", 10.0),
            ("scheduled_for", 18.0),
            ("place", 16.0),
            ("meeting_status", 12.0),
            ("present", 36.0),
            ("item", 30.0),
            ("outcome", 10.0),
            ("decision", 40.0),
            ("positions", 40.0),
            ("action_items", 48.0),
        ]),
        rows: out,
    }
}

/// 调解台账: one row per mediation case opened in the period.
pub async fn mediation(
    state: &AppState,
    caller: &Caller,
    lang: Lang,
    xiaoqu: &[XiaoquRecord],
    rows: &[MediationCaseState],
) -> Sheet {
    let w = Words { lang };
    let sep = w.t("list.sep");
    let colon = w.t("punct.colon");
    let semicolon = w.t("punct.semicolon");
    let named = policy::sees_case_people(&caller.0);
    let mut out = Vec::with_capacity(rows.len());
    for c in rows {
        let mut party_names = Vec::new();
        for side in [&c.applicants, &c.respondents] {
            let mut names = Vec::new();
            for p in side {
                names.push(match p {
                    CaseParty::Person(account) => person(state, lang, *account, named).await,
                    CaseParty::Party(role) => w.label("party", role),
                });
            }
            party_names.push(names.join(&sep));
        }
        let mut shown: Vec<(CaseParty, String)> = Vec::new();
        for p in c.parties() {
            let name = match p {
                CaseParty::Person(account) => person(state, lang, *account, named).await,
                CaseParty::Party(role) => w.label("party", role),
            };
            shown.push((*p, name));
        }
        let held = c.sessions.iter().filter(|s| s.held.is_some()).count();
        let (terms, obligations) = match &c.agreement {
            Some(a) => (
                text(a.terms.as_str()),
                text(
                    a.obligations
                        .iter()
                        .map(|o| {
                            let due = o.due_at.with_timezone(&china()).format("%Y-%m-%d");
                            format!(
                                "{}{colon}{}{}",
                                shown
                                    .iter()
                                    .find(|(p, _)| *p == o.party)
                                    .map(|(_, name)| name.clone())
                                    .unwrap_or_default(),
                                o.description.as_str(),
                                w.detail(&due.to_string(), &w.label("obligation", &o.status))
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(&semicolon),
                ),
            ),
            None => (Cell::Empty, Cell::Empty),
        };
        out.push(vec![
            text(c.id.0.to_string()),
            text(xiaoqu_name(xiaoqu, c.xiaoqu.0)),
            Cell::Time(c.opened_at),
            text(c.matter.as_str()),
            text(party_names[0].clone()),
            text(party_names[1].clone()),
            Cell::Int(held as i64),
            text(w.label("case_status", &c.status)),
            terms,
            obligations,
        ]);
    }
    Sheet {
        ledger: LedgerKind::Mediation,
        name: w.t("ledger.mediation"),
        columns: w.columns(&[
            ("case", 38.0),
            ("xiaoqu", 14.0),
            ("opened_at", 18.0),
            ("matter", 30.0),
            ("applicants", 24.0),
            ("respondents", 24.0),
            ("sessions", 10.0),
            ("case_status", 12.0),
            ("terms", 40.0),
            ("obligations", 48.0),
        ]),
        rows: out,
    }
}

/// 三率汇总: the three rates of the grievances filed in each month of the
/// period, as the public board counts them (every grievance of the place,
/// whoever may read it), then the whole period.
pub fn summary(
    lang: Lang,
    from: NaiveDate,
    to: NaiveDate,
    rows: &[GrievanceState],
    now: DateTime<Utc>,
) -> Sheet {
    let w = Words { lang };
    let mut out = Vec::new();
    let rates = |label: String, gs: Vec<&GrievanceState>| {
        let f = figures::compute(gs.iter().copied(), now);
        let share = |r: &Rate| r.rate.map_or(Cell::Empty, Cell::Share);
        vec![
            text(label),
            Cell::Int(f.filed as i64),
            Cell::Int(f.response_rate.count as i64),
            Cell::Int(f.response_rate.of as i64),
            share(&f.response_rate),
            Cell::Int(f.resolution_rate.count as i64),
            Cell::Int(f.resolution_rate.of as i64),
            share(&f.resolution_rate),
            Cell::Int(f.satisfaction_rate.count as i64),
            Cell::Int(f.satisfaction_rate.of as i64),
            share(&f.satisfaction_rate),
        ]
    };
    let mut month = NaiveDate::from_ymd_opt(from.year(), from.month(), 1).unwrap_or(from);
    while month <= to {
        let next = month
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(to);
        let (start, end) = bounds(month.max(from), next.pred_opt().unwrap_or(next).min(to));
        let of_month: Vec<&GrievanceState> = rows
            .iter()
            .filter(|g| g.filed_at >= start && g.filed_at < end)
            .collect();
        out.push(rates(month.format("%Y-%m").to_string(), of_month));
        if next <= month {
            break;
        }
        month = next;
    }
    out.push(rates(w.t("ledger.whole_period"), rows.iter().collect()));
    Sheet {
        ledger: LedgerKind::Summary,
        name: w.t("ledger.summary"),
        columns: w.columns(&[
            ("month", 12.0),
            ("filed", 10.0),
            ("accepted_on_time", 12.0),
            ("accept_counted", 12.0),
            ("response_rate", 12.0),
            ("resolved", 10.0),
            ("resolve_counted", 12.0),
            ("resolution_rate", 12.0),
            ("satisfied", 10.0),
            ("rated", 10.0),
            ("satisfaction_rate", 12.0),
        ]),
        rows: out,
    }
}
