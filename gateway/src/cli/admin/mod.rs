//! `lianxi admin …`: the subcommands that register xiaoqu, their parties and
//! accounts, and manage keys, acting as an admin without an account.
//!
//! - [`registry`]: the xiaoqu registry (add, rename, move, parties).
//! - [`accounts`]: accounts, their roles, passwords, tokens and erasure.
//! - [`master_key`]: re-wrapping every data key under a new master key.

pub mod accounts;
pub mod master_key;
pub mod registry;

use std::path::{Path, PathBuf};

use lianxi_domain::values::AccountId;
use lianxi_domain::{Actor, Role};
use lianxi_gateway::app::admin;
use lianxi_gateway::app::CommandMetadata;
use lianxi_gateway::db::Database;
use lianxi_gateway::secret_file::IfMissing;
use uuid::Uuid;

use super::error::CliError;

/// The subcommands of `lianxi admin`.
#[derive(Debug, clap::Subcommand)]
pub enum Admin {
    /// Register a xiaoqu and its place in the hierarchy; prints its id.
    AddXiaoqu {
        #[arg(long)]
        name: String,
        /// The community (社区) it belongs to.
        #[arg(long)]
        community: String,
        /// The street (街道) the community belongs to.
        #[arg(long)]
        street: String,
        /// The district (区) the street belongs to.
        #[arg(long)]
        district: String,
    },
    /// Rename a xiaoqu (by id or current name).
    RenameXiaoqu {
        #[arg(long)]
        xiaoqu: String,
        #[arg(long)]
        name: String,
    },
    /// Attach a xiaoqu to another community, street or district.
    MoveXiaoqu {
        #[arg(long)]
        xiaoqu: String,
        #[arg(long)]
        community: String,
        #[arg(long)]
        street: String,
        #[arg(long)]
        district: String,
    },
    /// Register an organization acting as one of a xiaoqu's parties; give
    /// --organization to name one that serves other xiaoqu already.
    AddParty {
        #[arg(long)]
        xiaoqu: String,
        /// party_branch, owners_committee, supervisory_committee,
        /// property_company or micro_organization.
        #[arg(long)]
        party: String,
        /// The organization's name (e.g. the property company's).
        #[arg(long)]
        name: String,
        #[arg(long)]
        organization: Option<String>,
    },
    /// An organization stops acting as a party of a xiaoqu.
    RetireParty {
        #[arg(long)]
        xiaoqu: String,
        #[arg(long)]
        party: String,
        #[arg(long)]
        organization: String,
    },
    /// Create the first admin account (only while there is none). The
    /// password is read from standard input with --password-stdin, or made
    /// up and printed once.
    Init {
        /// The admin's login name.
        #[arg(long)]
        login: String,
        /// The admin's name (personal data, sealed).
        #[arg(long, default_value = "admin")]
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Create an account and record the person's name, phone and room
    /// (sealed); prints its id and an API token, once.
    AddAccount {
        /// The person's name (personal data, sealed).
        #[arg(long)]
        name: String,
        /// The person's phone number (personal data, sealed).
        #[arg(long)]
        phone: Option<String>,
        /// The person's building, unit and room (personal data, sealed).
        #[arg(long)]
        room: Option<String>,
        /// A login name for password sign-in (needs --password-stdin).
        #[arg(long)]
        login: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, requires = "login")]
        password_stdin: bool,
        /// Days the printed API token lasts (0: until revoked).
        #[arg(long, default_value_t = 90)]
        token_ttl_days: u32,
        /// resident, property_company, owners_committee, supervisory_committee,
        /// micro_organization, party_branch, community, street, district, auditor or admin.
        #[arg(long)]
        role: String,
        /// The xiaoqu (id or name) of a xiaoqu role.
        #[arg(long)]
        xiaoqu: Option<String>,
        /// The community, street or district name served by a tier role.
        #[arg(long)]
        unit: Option<String>,
        /// Instead of --xiaoqu: the organization (registry id) a party role
        /// acts for, in every xiaoqu the registry has it serve.
        #[arg(long)]
        organization: Option<String>,
    },
    /// Set an account's login name and password (read from standard input).
    SetPassword {
        #[arg(long)]
        account: Uuid,
        #[arg(long)]
        login: String,
    },
    /// Grant an account a further role in a scope; the person then signs in
    /// naming that role.
    GrantRole {
        #[arg(long)]
        account: Uuid,
        #[arg(long)]
        role: String,
        /// The xiaoqu (id or name) of a xiaoqu role.
        #[arg(long)]
        xiaoqu: Option<String>,
        /// The community, street or district name of a tier role.
        #[arg(long)]
        unit: Option<String>,
    },
    /// Withdraw a granted role; tokens acting in it stop working.
    RevokeRole {
        #[arg(long)]
        account: Uuid,
        #[arg(long)]
        role: String,
        #[arg(long)]
        xiaoqu: Option<String>,
        #[arg(long)]
        unit: Option<String>,
    },
    /// Issue an API token for an account; prints it once.
    IssueToken {
        #[arg(long)]
        account: Uuid,
        /// Days the token lasts (0: until revoked).
        #[arg(long, default_value_t = 90)]
        ttl_days: u32,
    },
    /// Revoke every token of an account.
    RevokeTokens {
        #[arg(long)]
        account: Uuid,
    },
    /// Erase a person's personal data (PIPL): destroys their key, ends their
    /// sign-in and records PersonalDataErased. Cannot be undone.
    ErasePerson {
        #[arg(long)]
        account: Uuid,
        /// Why (e.g. the request's reference); stored with the event.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Re-wrap every data key under a new master key, written to
    /// --new-key-file (which must not exist). Stop every `serve` first, then
    /// point LIANXI_MASTER_KEY_FILE at the new file and start them again.
    RotateMasterKey {
        #[arg(long)]
        new_key_file: PathBuf,
    },
}

/// Runs one `admin` subcommand on `db`, with the person streams sealed
/// under the vault of `master_key_file`, uploads in the store at `files`.
pub async fn run(
    db: &Database,
    master_key_file: &Path,
    if_missing: IfMissing,
    files: &str,
    command: Admin,
) -> Result<(), CliError> {
    let vault = super::open_vault(db, master_key_file, if_missing).await?;
    let files = super::open_files(files)?;
    let app = lianxi_gateway::server::state(db.clone())
        .with_vault(vault)
        .with_files(files);
    match command {
        Admin::AddXiaoqu {
            name,
            community,
            street,
            district,
        } => {
            let request = admin::XiaoquRequest {
                name,
                community,
                street,
                district,
            };
            registry::add_xiaoqu(&app, &request).await
        }
        Admin::RenameXiaoqu { xiaoqu, name } => registry::rename(&app, &xiaoqu, &name).await,
        Admin::MoveXiaoqu {
            xiaoqu,
            community,
            street,
            district,
        } => {
            let to = admin::PlacementRequest {
                community,
                street,
                district,
            };
            registry::relocate(&app, &xiaoqu, &to).await
        }
        Admin::AddParty {
            xiaoqu,
            party,
            name,
            organization,
        } => {
            let request = admin::PartyRequest {
                party,
                name,
                organization,
            };
            registry::add_party(&app, &xiaoqu, &request).await
        }
        Admin::RetireParty {
            xiaoqu,
            party,
            organization,
        } => registry::retire_party(&app, &xiaoqu, &party, &organization).await,
        Admin::Init {
            login,
            name,
            password_stdin,
        } => accounts::init(&app, &login, &name, password_stdin).await,
        Admin::AddAccount {
            name,
            phone,
            room,
            login,
            password_stdin,
            token_ttl_days,
            role,
            xiaoqu,
            unit,
            organization,
        } => {
            let account = accounts::NewAccountArgs {
                name,
                phone,
                room,
                login,
                password_stdin,
                token_ttl_days,
                role,
                xiaoqu,
                unit,
                organization,
            };
            accounts::add(&app, account).await
        }
        Admin::SetPassword { account, login } => {
            accounts::set_password(&app, account, &login).await
        }
        Admin::IssueToken { account, ttl_days } => {
            accounts::issue_token(&app, account, ttl_days).await
        }
        Admin::GrantRole {
            account,
            role,
            xiaoqu,
            unit,
        } => {
            let request = admin::RoleRequest { role, xiaoqu, unit };
            accounts::grant_role(&app, account, &request).await
        }
        Admin::RevokeRole {
            account,
            role,
            xiaoqu,
            unit,
        } => {
            let request = admin::RoleRequest { role, xiaoqu, unit };
            accounts::revoke_role(&app, account, &request).await
        }
        Admin::RevokeTokens { account } => accounts::revoke_tokens(&app, account).await,
        Admin::ErasePerson { account, reason } => accounts::erase(&app, account, reason).await,
        Admin::RotateMasterKey { new_key_file } => master_key::rotate(&app, &new_key_file).await,
    }
}

/// The command line acts as an admin without an account.
fn cli_actor() -> Actor {
    Actor::new(AccountId(Uuid::nil()), Role::Admin)
}

/// Metadata of a command given on the command line; the `cli-` request id
/// tells its events from those of HTTP requests.
fn cli_metadata(reason: Option<String>) -> CommandMetadata {
    CommandMetadata {
        request_id: format!("cli-{}", Uuid::new_v4()),
        occurred_at: chrono::Utc::now(),
        reason,
    }
}
