//! `lianxi report ledger`: a place's ledgers (台账) over a period, written
//! to a file, exactly as `GET /api/v1/ledgers` makes them, for the account
//! named by `--login` (its scope and what it may read) and recorded on its
//! `ledger_exports` stream like every export.

use std::path::{Path, PathBuf};

use lianxi_gateway::app::ledgers::{self, LedgerQuery};
use lianxi_gateway::db::Database;
use lianxi_gateway::secret_file::IfMissing;

use super::error::CliError;

/// The subcommands of `lianxi report`.
#[derive(Debug, clap::Subcommand)]
pub enum Report {
    /// Write a xiaoqu's, community's or street's ledgers for a period to
    /// --out: grievances, joint meetings, mediation and the three rates, as
    /// XLSX (all four, one sheet each) or CSV (one ledger). Prints
    /// `file=…`, `rows=…`.
    Ledger {
        /// The account the ledger is made for (its login): its scope, what
        /// it may read, and the export recorded under its name.
        #[arg(long)]
        login: String,
        /// A xiaoqu, by its id or its registered name.
        #[arg(long, conflicts_with_all = ["community", "street"])]
        xiaoqu: Option<String>,
        /// Every xiaoqu of this community.
        #[arg(long, conflicts_with = "street")]
        community: Option<String>,
        /// Every xiaoqu of this street.
        #[arg(long)]
        street: Option<String>,
        /// First day, YYYY-MM-DD (China Standard Time).
        #[arg(long)]
        from: String,
        /// Last day, included.
        #[arg(long)]
        to: String,
        /// grievances, meetings, mediation, summary or all.
        #[arg(long, default_value = "all")]
        ledger: String,
        /// xlsx or csv.
        #[arg(long, default_value = "xlsx")]
        format: String,
        /// zh or en: the column names and labels.
        #[arg(long, default_value = "zh")]
        lang: String,
        /// The file to write (it must not exist).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs one `report` subcommand on `db`, names read through the vault of
/// `master_key_file`.
pub async fn run(
    db: &Database,
    master_key_file: &Path,
    if_missing: IfMissing,
    command: Report,
) -> Result<(), CliError> {
    let Report::Ledger {
        login,
        xiaoqu,
        community,
        street,
        from,
        to,
        ledger,
        format,
        lang,
        out,
    } = command;
    if out.exists() {
        return Err(CliError::FileExists(out));
    }
    let vault = super::open_vault(db, master_key_file, if_missing).await?;
    let app = lianxi_gateway::server::state(db.clone()).with_vault(vault);
    let refused = |e: lianxi_gateway::app::error::ApiError| {
        let p = e.to_problem();
        let text = match (p.field, p.reason, p.detail) {
            (Some(field), Some(reason), _) => format!("{field}: {reason}"),
            (_, _, Some(detail)) => format!("{}: {detail}", p.title),
            _ => p.title,
        };
        CliError::failed("export the ledger", text)
    };
    let caller = ledgers::caller_for_login(&app, &login)
        .await
        .map_err(refused)?;
    let query = LedgerQuery {
        xiaoqu,
        community,
        street,
        from,
        to,
        ledger: Some(ledger),
        format: Some(format),
        lang: Some(lang),
    };
    let request_id = format!("cli-report-{}", uuid::Uuid::new_v4());
    let export = ledgers::export(&app, &caller, &request_id, &query)
        .await
        .map_err(refused)?;
    std::fs::write(&out, &export.bytes).map_err(|source| CliError::WriteFile {
        path: out.clone(),
        source,
    })?;
    println!("file={}", out.display());
    println!("rows={}", export.rows);
    Ok(())
}
