//! `lianxi admin add-xiaoqu|rename-xiaoqu|move-xiaoqu|add-party|retire-party`:
//! commands on the xiaoqu registry, each printing the entry as `key=value`
//! lines.

use lianxi_domain::registry::XiaoquState;
use lianxi_gateway::app::admin::{self, PartyRequest, PlacementRequest, XiaoquRequest};
use lianxi_gateway::AppState;

use super::{cli_actor, cli_metadata};
use crate::cli::error::CliError;

/// Registers a xiaoqu; prints its id.
pub async fn add_xiaoqu(app: &AppState, request: &XiaoquRequest) -> Result<(), CliError> {
    let xiaoqu = admin::add_xiaoqu(app, cli_actor(), request, &cli_metadata(None)).await?;
    println!("id={}", xiaoqu.id);
    Ok(())
}

/// Renames the xiaoqu `xiaoqu` (id or current name).
pub async fn rename(app: &AppState, xiaoqu: &str, name: &str) -> Result<(), CliError> {
    let (state, _) =
        admin::rename_xiaoqu(app, cli_actor(), xiaoqu, name, &cli_metadata(None)).await?;
    print_registry(&state);
    Ok(())
}

/// Attaches the xiaoqu `xiaoqu` to the community, street and district `to`.
pub async fn relocate(app: &AppState, xiaoqu: &str, to: &PlacementRequest) -> Result<(), CliError> {
    let (state, _) = admin::move_xiaoqu(app, cli_actor(), xiaoqu, to, &cli_metadata(None)).await?;
    print_registry(&state);
    Ok(())
}

/// Registers an organization as one of the xiaoqu's parties; prints the
/// entry and the organization's id.
pub async fn add_party(
    app: &AppState,
    xiaoqu: &str,
    request: &PartyRequest,
) -> Result<(), CliError> {
    let (state, organization) =
        admin::register_party(app, cli_actor(), xiaoqu, request, &cli_metadata(None)).await?;
    print_registry(&state);
    println!("organization={organization}");
    Ok(())
}

/// An organization stops acting as `party` of the xiaoqu.
pub async fn retire_party(
    app: &AppState,
    xiaoqu: &str,
    party: &str,
    organization: &str,
) -> Result<(), CliError> {
    let (state, _) = admin::retire_party(
        app,
        cli_actor(),
        xiaoqu,
        party,
        organization,
        &cli_metadata(None),
    )
    .await?;
    print_registry(&state);
    Ok(())
}

/// Prints a xiaoqu's registry entry as `key=value` lines.
fn print_registry(state: &XiaoquState) {
    println!("id={}", state.id);
    println!("name={}", state.name.as_str());
    println!(
        "placement={} / {} / {}",
        state.placement.community.as_str(),
        state.placement.street.as_str(),
        state.placement.district.as_str()
    );
    for p in &state.parties {
        // The party's wire name (`property_company`), as the API spells it.
        let party = serde_json::to_value(p.party).unwrap_or_default();
        println!(
            "party={} organization={} name={}",
            party.as_str().unwrap_or_default(),
            p.organization,
            p.name.as_str()
        );
    }
}
