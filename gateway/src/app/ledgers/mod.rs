//! Ledgers (台账) of a xiaoqu, a community or a street over a period: the
//! grievance ledger, the joint-meeting ledger, the mediation ledger and the
//! 三率 summary month by month, as an XLSX workbook or a CSV file.
//!
//! An export is first recorded on the exporter's `ledger_exports` stream
//! (who, which ledger, which place and period, when): the aggregate decides
//! whether the caller may take it, and one that could not be recorded is
//! not made. The rows are then read as the caller may read them, exactly as
//! the API shows them (pseudonyms where the API gives pseudonyms).

pub mod render;
pub mod report;
pub mod rows;

use chrono::NaiveDate;
use lianxi_domain::ledger::{
    ExportAction, ExportCommand, ExportFormat, LedgerExports, LedgerKind, LedgerRequest,
    LedgerScope,
};
use lianxi_domain::values::PlaceName;
use lianxi_domain::Actor;
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::{grievances, registry, AppState};
use crate::app::i18n::Lang;
use crate::db::XiaoquRecord;
use crate::event_log::{CommandMetadata, Log};
use rows::Sheet;

/// The ledger exports' event log: one stream per exporting account.
pub type ExportLog = Log<LedgerExports>;

/// What `GET /api/v1/ledgers` is asked: one place, a period, which ledger,
/// which file.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// A xiaoqu, by its id or its registered name.
    #[param(min_length = 1, max_length = 100)]
    pub xiaoqu: Option<String>,
    /// Every xiaoqu of this community, by its registered name.
    #[param(min_length = 1, max_length = 100)]
    pub community: Option<String>,
    /// Every xiaoqu of this street, by its registered name.
    #[param(min_length = 1, max_length = 100)]
    pub street: Option<String>,
    /// The period's first day, `YYYY-MM-DD` (China Standard Time).
    #[param(value_type = String, format = Date, example = "2026-11-01")]
    pub from: String,
    /// The period's last day, included; at most ten years after `from`.
    #[param(value_type = String, format = Date, example = "2026-11-30")]
    pub to: String,
    /// `grievances`, `meetings`, `mediation`, `summary`, or `all` (the
    /// default: a workbook of four sheets; a CSV file holds one ledger).
    #[param(pattern = "^(grievances|meetings|mediation|summary|all)$")]
    pub ledger: Option<String>,
    /// `xlsx` (the default) or `csv`.
    #[param(pattern = "^(xlsx|csv)$")]
    pub format: Option<String>,
    /// The language of the column names and labels: `zh` (the default) or `en`.
    #[param(pattern = "^(zh|en)$")]
    pub lang: Option<String>,
}

/// An export ready to hand over.
#[derive(Clone, Debug)]
pub struct Export {
    /// An ASCII file name: `lianxi-<ledger>-<from>-<to>.<xlsx|csv>`.
    pub file_name: String,
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
    /// Rows written, over all sheets.
    pub rows: usize,
}

/// What a query asks for besides the place: the ledger, the format, the
/// language and the period's days.
fn parse(
    query: &LedgerQuery,
) -> Result<(LedgerKind, ExportFormat, Lang, NaiveDate, NaiveDate), ApiError> {
    let day = |field: &str, value: &str| {
        NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
            .map_err(|_| ApiError::bad_query(field, "must be a date, YYYY-MM-DD"))
    };
    let ledger = match query.ledger.as_deref().unwrap_or("all") {
        "grievances" => LedgerKind::Grievances,
        "meetings" => LedgerKind::Meetings,
        "mediation" => LedgerKind::Mediation,
        "summary" => LedgerKind::Summary,
        "all" => LedgerKind::All,
        _ => {
            return Err(ApiError::bad_query(
                "ledger",
                "must be grievances, meetings, mediation, summary or all",
            ))
        }
    };
    let format = match query.format.as_deref().unwrap_or("xlsx") {
        "xlsx" => ExportFormat::Xlsx,
        "csv" => ExportFormat::Csv,
        _ => return Err(ApiError::bad_query("format", "must be xlsx or csv")),
    };
    let lang = match query.lang.as_deref().unwrap_or("zh") {
        "zh" => Lang::Zh,
        "en" => Lang::En,
        _ => return Err(ApiError::bad_query("lang", "must be zh or en")),
    };
    Ok((
        ledger,
        format,
        lang,
        day("from", &query.from)?,
        day("to", &query.to)?,
    ))
}

/// The place named by one of a xiaoqu (id or name), a community or a street.
pub async fn named_place(
    state: &AppState,
    xiaoqu: Option<&str>,
    community: Option<&str>,
    street: Option<&str>,
) -> Result<LedgerScope, ApiError> {
    let place = |field: &str, value: &str| {
        PlaceName::parse(value.trim()).map_err(|e| ApiError::bad_query(field, &e.to_string()))
    };
    match (xiaoqu, community, street) {
        (Some(x), None, None) => registry::named(state, "xiaoqu", Some(x), true)
            .await?
            .map(LedgerScope::Xiaoqu)
            .ok_or_else(|| ApiError::bad_query("xiaoqu", "names no xiaoqu (an id or a name)")),
        (None, Some(c), None) => Ok(LedgerScope::Community(place("community", c)?)),
        (None, None, Some(s)) => Ok(LedgerScope::Street(place("street", s)?)),
        _ => Err(ApiError::bad_query(
            "xiaoqu",
            "name exactly one place: xiaoqu, community or street",
        )),
    }
}

/// The xiaoqu of a ledger's place, as the registry has them now.
async fn places(state: &AppState, scope: &LedgerScope) -> Result<Vec<XiaoquRecord>, ApiError> {
    let all = || async { state.db.all_xiaoqu().await.map_err(ApiError::from_db) };
    Ok(match scope {
        LedgerScope::Xiaoqu(id) => state
            .db
            .xiaoqu(*id)
            .await
            .map_err(ApiError::from_db)?
            .into_iter()
            .collect(),
        LedgerScope::Community(name) => all()
            .await?
            .into_iter()
            .filter(|x| x.community == name.as_str())
            .collect(),
        LedgerScope::Street(name) => all()
            .await?
            .into_iter()
            .filter(|x| x.street == name.as_str())
            .collect(),
    })
}

/// Records the export the query asks for, then makes it.
pub async fn export(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    query: &LedgerQuery,
) -> Result<Export, ApiError> {
    let (ledger, format, lang, from, to) = parse(query)?;
    let scope = named_place(
        state,
        query.xiaoqu.as_deref(),
        query.community.as_deref(),
        query.street.as_deref(),
    )
    .await?;
    let request = LedgerRequest {
        ledger,
        format,
        scope,
        from,
        to,
    };
    let xiaoqu = places(state, &request.scope).await?;
    let mut covered = !xiaoqu.is_empty();
    for x in &xiaoqu {
        covered = covered && grievances::covers(state, caller, x.id).await?;
    }
    let command = ExportCommand {
        actor: Actor::new(caller.0.id, caller.0.role),
        action: ExportAction::RecordExport {
            request: request.clone(),
            covered,
        },
    };
    let metadata = CommandMetadata {
        request_id: request_id.to_owned(),
        occurred_at: state.now(),
        reason: None,
    };
    state
        .exports
        .execute(caller.0.id, None, command, &metadata)
        .await?;
    let sheets = build(state, caller, lang, &request, &xiaoqu).await?;
    let rows = sheets.iter().map(|s| s.rows.len()).sum();
    let (bytes, media_type, ext) = match request.format {
        ExportFormat::Xlsx => (
            render::xlsx(&sheets).map_err(|e| {
                tracing::error!(error = %e, "a ledger workbook could not be written");
                ApiError::internal()
            })?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        ExportFormat::Csv => (
            render::csv(&sheets[0]).map_err(|e| {
                tracing::error!(error = %e, "a ledger CSV could not be written");
                ApiError::internal()
            })?,
            "text/csv; charset=utf-8",
            "csv",
        ),
    };
    Ok(Export {
        file_name: format!(
            "lianxi-{}-{}-{}.{ext}",
            request.ledger.as_str(),
            request.from,
            request.to
        ),
        media_type,
        bytes,
        rows,
    })
}

/// The sheets of a recorded export.
async fn build(
    state: &AppState,
    caller: &Caller,
    lang: Lang,
    request: &LedgerRequest,
    xiaoqu: &[XiaoquRecord],
) -> Result<Vec<Sheet>, ApiError> {
    let period = rows::bounds(request.from, request.to);
    let gathered = rows::gather(state, caller, xiaoqu, period).await?;
    let wanted = match request.ledger {
        LedgerKind::All => LedgerKind::ONE_EACH.to_vec(),
        one => vec![one],
    };
    let mut sheets = Vec::new();
    for ledger in wanted {
        sheets.push(match ledger {
            LedgerKind::Grievances => {
                rows::grievances(state, caller, lang, xiaoqu, &gathered.grievances).await
            }
            LedgerKind::Meetings => rows::meetings(lang, xiaoqu, &gathered.meetings),
            LedgerKind::Mediation => {
                rows::mediation(state, caller, lang, xiaoqu, &gathered.cases).await
            }
            LedgerKind::Summary | LedgerKind::All => rows::summary(
                lang,
                request.from,
                request.to,
                &gathered.counted,
                state.now(),
            ),
        });
    }
    Ok(sheets)
}

/// Every recorded export, oldest first, as the audit story tells events
/// (actors as role and pseudonym): for auditors and admins; others 404.
pub async fn recorded_exports(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<super::story::StoryEntry>, ApiError> {
    if !matches!(
        caller.0.role,
        lianxi_domain::Role::Auditor | lianxi_domain::Role::Admin
    ) {
        return Err(ApiError::not_found());
    }
    let kind = <LedgerExports as cqrs_es::Aggregate>::TYPE;
    let streams: Vec<super::story::StreamRef> = state
        .db
        .stream_ids(kind)
        .await
        .map_err(ApiError::from_db)?
        .into_iter()
        .map(|id| super::story::StreamRef {
            aggregate_type: kind,
            id,
        })
        .collect();
    let mut entries = super::story::story(state, &streams)
        .await
        .map_err(ApiError::from_db)?;
    entries.sort_by_key(|e| e.global_position);
    Ok(entries)
}

/// The account that signs in with `login`, as a caller: who the command
/// line exports for (`lianxi report ledger --login …`).
pub async fn caller_for_login(state: &AppState, login: &str) -> Result<Caller, ApiError> {
    let hash = state.people.vault().login_hash(login);
    match state
        .db
        .login_account(&hash)
        .await
        .map_err(ApiError::from_db)?
    {
        Some((account, _)) => Ok(Caller(account)),
        None => Err(ApiError::invalid_field(
            "login",
            "no account signs in with this login",
        )),
    }
}
