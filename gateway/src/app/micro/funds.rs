//! Micro-funds: opening one, money received, money spent on a project,
//! and reading a fund with every entry and the balance after each.

use lianxi_domain::micro::{
    FundAction, FundCommand, FundKind, FundPlace, FundState, PaidProject, Source,
};
use lianxi_domain::values::{FundId, Label, PlaceName, ProjectId, Statement, XiaoquId};
use lianxi_domain::Role;
use uuid::Uuid;

use super::*;
use crate::app::grievances::{actor, attachments_named, checked, field, Fields};
use crate::app::votes::target_xiaoqu;

/// Loads a fund whose place the caller's scope covers; 404 otherwise.
pub(super) async fn visible(
    state: &AppState,
    caller: &Caller,
    id: FundId,
) -> Result<(FundState, usize), ApiError> {
    let (fund, version) = state.funds.load(id).await?;
    let fund = fund.state().cloned().ok_or_else(ApiError::not_found)?;
    if covers_place(state, caller, &fund.place).await? {
        Ok((fund, version))
    } else {
        Err(ApiError::not_found())
    }
}

/// Brings the fund's row, and what it paid for each project, up to date.
pub(super) async fn sync(state: &AppState, f: &FundState, version: usize) -> Result<(), ApiError> {
    let (place_kind, place) = place_key(&f.place);
    let row = FundRow {
        id: f.id,
        place_kind: place_kind.to_owned(),
        place,
        name: f.name.as_str().to_owned(),
        kind: wire(&FundKindDto::from(&f.kind)),
        received: fen(f.received),
        spent: fen(f.spent),
        opened_at: f.opened_at,
        version: version as i64,
    };
    state
        .db
        .upsert_fund(&row)
        .await
        .map_err(ApiError::from_db)?;
    let spent: Vec<(ProjectId, i64)> = spent_by_project(f)
        .into_iter()
        .map(|(p, amount)| (p, fen(amount)))
        .collect();
    state
        .db
        .set_project_spending(f.id, version as i64, &spent)
        .await
        .map_err(ApiError::from_db)
}

/// The fund as the caller reads it: totals and every entry.
pub fn view(f: &FundState, version: usize) -> FundView {
    FundView {
        summary: fund_summary(f),
        donor: match &f.kind {
            FundKind::Named(donor) => Some(donor.as_str().to_owned()),
            FundKind::Crowd => None,
        },
        version: version as u64,
        entries: entries(f, None),
    }
}

/// The place a request names: a xiaoqu (by id or name), a community (by
/// name), or the caller's own.
async fn requested_place(
    state: &AppState,
    caller: &Caller,
    xiaoqu: Option<&str>,
    community: Option<&str>,
    in_query: bool,
) -> Result<FundPlace, ApiError> {
    let bad = |field: &str, reason: &str| {
        if in_query {
            ApiError::bad_query(field, reason)
        } else {
            ApiError::invalid_field(field, reason)
        }
    };
    match (xiaoqu, community) {
        (Some(_), Some(_)) => Err(bad("community", "name a xiaoqu or a community, not both")),
        (Some(x), None) => Ok(FundPlace::Xiaoqu(
            target_xiaoqu(state, caller, Some(x), in_query).await?,
        )),
        (None, Some(c)) => {
            let name = PlaceName::parse(c).map_err(|e| bad("community", &e.to_string()))?;
            let place = FundPlace::Community(name);
            if covers_place(state, caller, &place).await? {
                Ok(place)
            } else {
                Err(bad("community", "no such community in the caller's scope"))
            }
        }
        (None, None) => match (&caller.0.scope, caller.0.role) {
            (Scope::Xiaoqu(x), _) => Ok(FundPlace::Xiaoqu(*x)),
            (Scope::Unit(name), Role::Community) => PlaceName::parse(name)
                .map(FundPlace::Community)
                .map_err(|_| bad("community", "name the community")),
            _ => Err(bad("xiaoqu", "name the xiaoqu or the community")),
        },
    }
}

/// Opens a fund of a xiaoqu (its party branch) or a community (the community).
pub async fn open(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    body: &OpenFundRequest,
) -> Result<(FundView, usize), ApiError> {
    let place = requested_place(
        state,
        caller,
        body.xiaoqu.as_deref(),
        body.community.as_deref(),
        false,
    )
    .await?;
    let mut fields = Fields::default();
    let name = fields.check("name", PlaceName::parse(&body.name));
    let kind = match body.kind {
        FundKindDto::Crowd => {
            if body.donor.is_some() {
                fields.check::<()>(
                    "donor",
                    Err(lianxi_domain::values::ValueError::Invalid(
                        "only a named fund has a donor",
                    )),
                );
            }
            Some(FundKind::Crowd)
        }
        FundKindDto::Named => fields
            .check(
                "donor",
                PlaceName::parse(body.donor.as_deref().unwrap_or("")),
            )
            .map(FundKind::Named),
    };
    fields.finish()?;
    let in_scope = covers_place(state, caller, &place).await?;
    let id = FundId(Uuid::now_v7());
    let command = FundCommand {
        actor: actor(caller),
        fund: id,
        action: FundAction::OpenFund {
            place,
            name: checked(name)?,
            kind: checked(kind)?,
            in_scope,
        },
    };
    let committed = state
        .funds
        .execute(id, Some(0), command, &metadata(state, request_id))
        .await?;
    committed_view(state, &committed).await
}

async fn committed_view(
    state: &AppState,
    committed: &crate::event_log::Committed<MicroFund>,
) -> Result<(FundView, usize), ApiError> {
    let f = committed.state.state().ok_or_else(ApiError::internal)?;
    if committed.appended > 0 {
        sync(state, f, committed.version).await?;
    }
    Ok((view(f, committed.version), committed.version))
}

/// One fund with every entry.
pub async fn get(
    state: &AppState,
    caller: &Caller,
    id: FundId,
) -> Result<(FundView, usize), ApiError> {
    let (f, version) = visible(state, caller, id).await?;
    Ok((view(&f, version), version))
}

/// The funds serving `xiaoqu`: its own, then its community's.
pub async fn serving(state: &AppState, xiaoqu: XiaoquId) -> Result<Vec<FundSummary>, ApiError> {
    let mut places = vec![("xiaoqu", xiaoqu.0.to_string())];
    if let Some(record) = state.db.xiaoqu(xiaoqu).await.map_err(ApiError::from_db)? {
        places.push(("community", record.community));
    }
    Ok(state
        .db
        .funds_of(&places)
        .await
        .map_err(ApiError::from_db)?
        .into_iter()
        .filter_map(fund_summary_of_row)
        .collect())
}

/// The funds serving a xiaoqu, or a community's own.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    query: &FundQuery,
) -> Result<FundList, ApiError> {
    let place = requested_place(
        state,
        caller,
        query.xiaoqu.as_deref(),
        query.community.as_deref(),
        true,
    )
    .await?;
    let items = match place {
        FundPlace::Xiaoqu(x) => serving(state, x).await?,
        FundPlace::Community(name) => state
            .db
            .funds_of(&[("community", name.as_str().to_owned())])
            .await
            .map_err(ApiError::from_db)?
            .into_iter()
            .filter_map(fund_summary_of_row)
            .collect(),
    };
    Ok(FundList { items })
}

/// Runs one command on a fund the caller may read.
async fn run(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    id: FundId,
    expected: Option<usize>,
    action: impl FnOnce(bool) -> FundAction,
) -> Result<(FundView, usize), ApiError> {
    let (f, _) = visible(state, caller, id).await?;
    let in_scope = covers_place(state, caller, &f.place).await?;
    let command = FundCommand {
        actor: actor(caller),
        fund: id,
        action: action(in_scope),
    };
    let committed = state
        .funds
        .execute(id, expected, command, &metadata(state, request_id))
        .await?;
    committed_view(state, &committed).await
}

/// Money received: a named or anonymous donation, or a grant.
pub async fn receive(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    id: FundId,
    expected: Option<usize>,
    body: &IncomeRequest,
) -> Result<(FundView, usize), ApiError> {
    let named = |what: &str| -> Result<Label, ApiError> {
        let given = body.name.as_deref().ok_or_else(|| {
            ApiError::invalid_field("name", format!("a {what} names who gave it"))
        })?;
        field("name", Label::parse(given))
    };
    let source = match body.source {
        SourceKindDto::Named => Source::Named(named("named donation")?),
        SourceKindDto::Grant => Source::Grant(named("grant")?),
        SourceKindDto::Anonymous => {
            if body.name.is_some() {
                return Err(ApiError::invalid_field(
                    "name",
                    "an anonymous donation names nobody",
                ));
            }
            Source::Anonymous
        }
    };
    let amount = body.amount_fen;
    let project = body.project.map(ProjectId);
    if let Some(p) = project {
        // Earmarked money names a project of this fund.
        let (loaded, _) = state.projects.load(p).await?;
        if loaded.state().is_none_or(|s| s.fund != id) {
            return Err(ApiError::invalid_field(
                "project",
                "no such project of this fund",
            ));
        }
    }
    run(state, caller, request_id, id, expected, |in_scope| {
        FundAction::Receive {
            amount,
            source,
            project,
            in_scope,
        }
    })
    .await
}

/// Money paid for a project of the fund, as the project's stream says it
/// stands now, with its receipt.
pub async fn spend(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    id: FundId,
    expected: Option<usize>,
    body: &SpendingRequest,
) -> Result<(FundView, usize), ApiError> {
    let mut fields = Fields::default();
    let purpose = fields.check("purpose", Statement::parse(&body.purpose));
    let receipt = attachments_named(
        &mut fields,
        "receipt",
        &|_| "receipt".to_owned(),
        std::slice::from_ref(&body.receipt),
    );
    fields.finish()?;
    let receipt = checked(receipt.and_then(|r| r.into_iter().next()))?;
    crate::app::attachments::check_uploaded_as(
        state,
        caller,
        &|_| "receipt".to_owned(),
        std::slice::from_ref(&receipt),
    )
    .await?;
    let (project, _) = state.projects.load(ProjectId(body.project)).await?;
    let paid = project.state().map(|p| PaidProject {
        project: p.id,
        fund: p.fund,
        status: p.status,
    });
    if paid.is_none() {
        return Err(ApiError::invalid_field("project", "no such project"));
    }
    let amount = body.amount_fen;
    let purpose = checked(purpose)?;
    run(state, caller, request_id, id, expected, |in_scope| {
        FundAction::Spend {
            amount,
            project: paid,
            purpose,
            receipt,
            in_scope,
        }
    })
    .await
}

/// A fund's history for auditors and admins.
pub async fn story(
    state: &AppState,
    caller: &Caller,
    id: FundId,
) -> Result<Vec<crate::app::story::StoryEntry>, ApiError> {
    if !crate::app::policy::audits(caller.0.role) {
        return Err(ApiError::not_found());
    }
    visible(state, caller, id).await?;
    story_of(state, <MicroFund as cqrs_es::Aggregate>::TYPE, id.0).await
}

/// A receipt of the fund's spending, for whoever reads the fund.
pub async fn file(
    state: &AppState,
    caller: &Caller,
    id: FundId,
    sha256: &str,
) -> Result<crate::app::attachments::Download, ApiError> {
    let (f, _) = visible(state, caller, id).await?;
    let (by, receipt) = f
        .entries
        .iter()
        .find_map(|e| match e {
            FundEntry::Spent { by, receipt, .. } if receipt.sha256.as_str() == sha256 => {
                Some((*by, receipt))
            }
            _ => None,
        })
        .ok_or_else(ApiError::not_found)?;
    download(state, by, receipt).await
}
