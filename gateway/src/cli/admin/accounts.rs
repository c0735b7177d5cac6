//! `lianxi admin init|add-account|set-password|issue-token|grant-role|
//! revoke-role|revoke-tokens|erase-person`: accounts, the roles they act in,
//! how they sign in, and erasing the person behind one.

use chrono::TimeDelta;
use lianxi_domain::values::AccountId;
use lianxi_gateway::app::admin::{self, AccountRequest, AdminError, FirstAdminError, RoleRequest};
use lianxi_gateway::AppState;
use uuid::Uuid;

use super::{cli_actor, cli_metadata};
use crate::cli::error::CliError;

/// The options of `admin add-account`, as given.
#[derive(Debug)]
pub struct NewAccountArgs {
    /// The person's name.
    pub name: String,
    /// The person's phone number.
    pub phone: Option<String>,
    /// The person's building, unit and room.
    pub room: Option<String>,
    /// A login name for password sign-in.
    pub login: Option<String>,
    /// Whether the password is on standard input.
    pub password_stdin: bool,
    /// Days the printed API token lasts (0: until revoked).
    pub token_ttl_days: u32,
    /// The account's role, as the API names it.
    pub role: String,
    /// The xiaoqu (id or name) of a xiaoqu role.
    pub xiaoqu: Option<String>,
    /// The community, street or district of a tier role.
    pub unit: Option<String>,
    /// The organization (registry id) a party role acts for in every xiaoqu
    /// it serves.
    pub organization: Option<String>,
}

/// Creates the first admin account; refused once any admin exists.
pub async fn init(
    app: &AppState,
    login: &str,
    name: &str,
    password_stdin: bool,
) -> Result<(), CliError> {
    let (password, made_up) = if password_stdin {
        (read_password()?, false)
    } else {
        (made_up_password(), true)
    };
    let id = admin::first_admin(
        app,
        &cli_actor(),
        &cli_metadata(None),
        login,
        name,
        &password,
    )
    .await
    .map_err(|e| match e {
        FirstAdminError::AdminExists => CliError::AdminExists,
        FirstAdminError::Admin(e) => e.into(),
    })?;
    println!("id={id}");
    println!("login={}", login.trim());
    if made_up {
        println!("password={password}");
        eprintln!("The password is shown only this once; only its Argon2id hash is stored.");
    }
    Ok(())
}

/// Creates an account with the person's sealed data; prints its id, role
/// and an API token.
pub async fn add(app: &AppState, args: NewAccountArgs) -> Result<(), CliError> {
    let password = match (&args.login, args.password_stdin) {
        (Some(_), true) => Some(read_password()?),
        (Some(_), false) => return Err(CliError::Usage("--login needs --password-stdin")),
        (None, _) => None,
    };
    let request = AccountRequest {
        role: args.role,
        xiaoqu: args.xiaoqu,
        unit: args.unit,
        organization: args.organization,
        name: args.name,
        phone: args.phone,
        room: args.room,
        login: args.login,
        password,
        token: Some(ttl(args.token_ttl_days)),
    };
    let created = admin::create_account(app, &cli_actor(), &cli_metadata(None), &request).await?;
    println!("id={}", created.account.id);
    println!("role={}", created.account.role);
    if let Some((token, expires_at)) = created.token {
        println!("token={token}");
        print_expiry(expires_at);
        eprintln!("The token is shown only this once; only its hash is stored.");
    }
    Ok(())
}

/// Sets an account's login name and the password read from standard input.
pub async fn set_password(app: &AppState, account: Uuid, login: &str) -> Result<(), CliError> {
    let password = read_password()?;
    if !admin::set_password(app, AccountId(account), login, &password).await? {
        return Err(CliError::NoLiveAccount(account));
    }
    println!("id={account}");
    Ok(())
}

/// Issues an API token lasting `ttl_days` (0: until revoked); prints it.
pub async fn issue_token(app: &AppState, account: Uuid, ttl_days: u32) -> Result<(), CliError> {
    let (token, expires_at) = admin::issue_api_token(app, AccountId(account), ttl(ttl_days))
        .await
        .map_err(|e| no_account(e, account))?;
    println!("token={token}");
    print_expiry(expires_at);
    Ok(())
}

/// An unknown account as the command line says it.
fn no_account(e: AdminError, account: Uuid) -> CliError {
    match e {
        AdminError::NotFound(_) => CliError::NoAccount(account),
        e => e.into(),
    }
}

/// Grants the account a further role.
pub async fn grant_role(
    app: &AppState,
    account: Uuid,
    request: &RoleRequest,
) -> Result<(), CliError> {
    let grant = admin::grant_role(app, AccountId(account), request).await?;
    println!("id={account}");
    println!("role={}", grant.role);
    Ok(())
}

/// Withdraws a role granted to the account.
pub async fn revoke_role(
    app: &AppState,
    account: Uuid,
    request: &RoleRequest,
) -> Result<(), CliError> {
    admin::withdraw_role(app, AccountId(account), request).await?;
    println!("id={account}");
    Ok(())
}

/// Revokes every token of the account; prints how many were live.
pub async fn revoke_tokens(app: &AppState, account: Uuid) -> Result<(), CliError> {
    let n = admin::revoke_tokens(app, AccountId(account))
        .await
        .map_err(|e| no_account(e, account))?;
    println!("revoked={n}");
    Ok(())
}

/// Erases the person's personal data, for `reason` (stored with the event).
pub async fn erase(app: &AppState, account: Uuid, reason: Option<String>) -> Result<(), CliError> {
    admin::erase_person(app, &cli_actor(), AccountId(account), &cli_metadata(reason))
        .await
        .map_err(|e| no_account(e, account))?;
    println!("erased={account}");
    Ok(())
}

/// A token lifetime of `days` (0: until revoked).
fn ttl(days: u32) -> Option<TimeDelta> {
    (days > 0).then(|| TimeDelta::days(i64::from(days)))
}

/// The first line of standard input, without its line ending.
fn read_password() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| CliError::failed("read the password", e))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// 20 random characters from an alphabet without look-alikes.
fn made_up_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn print_expiry(expires_at: Option<chrono::DateTime<chrono::Utc>>) {
    match expires_at {
        Some(t) => println!(
            "expires_at={}",
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        None => println!("expires_at=never"),
    }
}
