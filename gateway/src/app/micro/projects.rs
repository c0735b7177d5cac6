//! Micro-projects from proposal to closing: 征集 (proposed, supported) →
//! 评审 (shortlisted, reviewed, publicly noticed) → 实施 (started, reported
//! on with receipts) → 评估 (evaluated, rated) → 结项 (closed).

use lianxi_domain::micro::{ProjectAction, Stars};
use lianxi_domain::values::{Statement, Title};
use uuid::Uuid;

use super::*;
use crate::app::grievances::{actor, attachments_named, checked, Fields};
use crate::app::votes::target_xiaoqu;

/// Loads a project whose xiaoqu the caller's scope covers; 404 otherwise.
async fn visible(
    state: &AppState,
    caller: &Caller,
    id: ProjectId,
) -> Result<(ProjectState, usize), ApiError> {
    let (project, version) = state.projects.load(id).await?;
    let project = project.state().cloned().ok_or_else(ApiError::not_found)?;
    if covers(state, caller, project.xiaoqu).await? {
        Ok((project, version))
    } else {
        Err(ApiError::not_found())
    }
}

/// The project as `caller` reads it.
async fn view(
    state: &AppState,
    caller: &Caller,
    p: &ProjectState,
    version: usize,
) -> Result<ProjectView, ApiError> {
    let (fund, _) = state.funds.load(p.fund).await?;
    let fund = fund.state();
    let spending = fund.map(|f| entries(f, Some(p.id))).unwrap_or_default();
    let spent = spending.iter().map(|e| e.amount_fen).sum();
    let mut row = project_row(p, version);
    row.spent = fen(spent);
    let summary = project_summary_of_row(row).ok_or_else(ApiError::internal)?;
    let me = caller.0.id;
    let file = |a: &lianxi_domain::values::Attachment| FileView {
        file: attachment_dto(a),
        href: format!(
            "/api/v1/micro-projects/{}/files/{}",
            p.id.0,
            a.sha256.as_str()
        ),
    };
    Ok(ProjectView {
        summary,
        version: version as u64,
        fund_name: fund.map(|f| f.name.as_str().to_owned()).unwrap_or_default(),
        plan: p.plan.as_str().to_owned(),
        proposer_role: p.proposer_role.as_str().to_owned(),
        proposed_by_me: p.proposer == me,
        supported_by_me: p.supporters.contains(&me),
        my_rating: p.ratings.get(&me).map(|s| s.get()),
        opinion: p.opinion.as_ref().map(|o| o.as_str().to_owned()),
        comments_until: p.comments_until,
        comments: p
            .comments
            .iter()
            .map(|c| DatedText {
                text: c.text.as_str().to_owned(),
                at: c.at,
            })
            .collect(),
        reports: p
            .reports
            .iter()
            .map(|r| ReportView {
                text: r.text.as_str().to_owned(),
                receipts: r.receipts.iter().map(file).collect(),
                at: r.at,
            })
            .collect(),
        evaluations: p
            .evaluations
            .iter()
            .map(|e| EvaluationView {
                by: evaluator_name(e.by).to_owned(),
                text: e.text.as_str().to_owned(),
                at: e.at,
            })
            .collect(),
        spending,
    })
}

async fn committed_view(
    state: &AppState,
    caller: &Caller,
    committed: &crate::event_log::Committed<MicroProject>,
) -> Result<(ProjectView, usize), ApiError> {
    let p = committed.state.state().ok_or_else(ApiError::internal)?;
    if committed.appended > 0 {
        state
            .db
            .upsert_project(&project_row(p, committed.version))
            .await
            .map_err(ApiError::from_db)?;
    }
    Ok((
        view(state, caller, p, committed.version).await?,
        committed.version,
    ))
}

/// A micro-organization or a resident proposes a project of their xiaoqu,
/// to be paid by a fund serving it.
pub async fn propose(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    body: &ProposeProjectRequest,
) -> Result<(ProjectView, usize), ApiError> {
    let xiaoqu = target_xiaoqu(state, caller, body.xiaoqu.as_deref(), false).await?;
    let mut fields = Fields::default();
    let title = fields.check("title", Title::parse(&body.title));
    let plan = fields.check("plan", Statement::parse(&body.plan));
    fields.finish()?;
    let fund_id = FundId(body.fund);
    let (fund, _) = state.funds.load(fund_id).await?;
    let fund_serves = match fund.state() {
        Some(f) => serves(state, f, xiaoqu).await?,
        None => false,
    };
    let id = ProjectId(Uuid::now_v7());
    let command = ProjectCommand {
        actor: actor(caller),
        project: id,
        action: ProjectAction::Propose {
            fund: fund_id,
            xiaoqu,
            title: checked(title)?,
            plan: checked(plan)?,
            budget: body.budget_fen,
            in_scope: covers(state, caller, xiaoqu).await?,
            fund_serves,
        },
    };
    let committed = state
        .projects
        .execute(id, Some(0), command, &metadata(state, request_id))
        .await?;
    committed_view(state, caller, &committed).await
}

/// One project.
pub async fn get(
    state: &AppState,
    caller: &Caller,
    id: ProjectId,
) -> Result<(ProjectView, usize), ApiError> {
    let (p, version) = visible(state, caller, id).await?;
    Ok((view(state, caller, &p, version).await?, version))
}

/// The projects of a xiaoqu, latest proposal first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    query: &ProjectQuery,
) -> Result<ProjectList, ApiError> {
    let xiaoqu = target_xiaoqu(state, caller, query.xiaoqu.as_deref(), true).await?;
    let items = state
        .db
        .projects_of(xiaoqu)
        .await
        .map_err(ApiError::from_db)?
        .into_iter()
        .filter_map(project_summary_of_row)
        .collect();
    Ok(ProjectList { items })
}

/// A command on a project, as the API and the pages name it.
#[derive(Clone, Debug)]
pub enum Step {
    Support,
    Shortlist,
    Review { approved: bool, opinion: String },
    Publish(chrono::DateTime<chrono::Utc>),
    Comment(String),
    Start,
    Report(ReportRequest),
    Evaluate(String),
    Rate(u8),
    EvaluateAsThirdParty(String),
    Close,
}

/// Runs one step on a project the caller may read.
pub async fn step(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    id: ProjectId,
    expected: Option<usize>,
    step: Step,
) -> Result<(ProjectView, usize), ApiError> {
    let (p, _) = visible(state, caller, id).await?;
    let in_scope = covers(state, caller, p.xiaoqu).await?;
    let text = |field: &str, t: &str| crate::app::grievances::field(field, Statement::parse(t));
    let action = match step {
        Step::Support => ProjectAction::Support,
        Step::Shortlist => ProjectAction::Shortlist { in_scope },
        Step::Review { approved, opinion } => ProjectAction::Review {
            approved,
            opinion: text("opinion", &opinion)?,
            in_scope,
        },
        Step::Publish(comments_until) => ProjectAction::Publish {
            comments_until,
            in_scope,
        },
        Step::Comment(t) => ProjectAction::Comment {
            text: text("text", &t)?,
        },
        Step::Start => ProjectAction::Start { in_scope },
        Step::Report(body) => {
            let mut fields = Fields::default();
            let t = fields.check("text", Statement::parse(&body.text));
            let receipts = attachments_named(
                &mut fields,
                "receipts",
                &|i| format!("receipts[{i}]"),
                &body.receipts,
            );
            fields.finish()?;
            let receipts = checked(receipts)?;
            crate::app::attachments::check_uploaded_as(
                state,
                caller,
                &|i| format!("receipts[{i}]"),
                &receipts,
            )
            .await?;
            ProjectAction::Report {
                text: checked(t)?,
                receipts,
            }
        }
        Step::Evaluate(t) => ProjectAction::Evaluate {
            text: text("text", &t)?,
        },
        Step::Rate(stars) => ProjectAction::Rate {
            stars: Stars::new(stars)
                .ok_or_else(|| ApiError::invalid_field("stars", "must be 1 to 5"))?,
        },
        Step::EvaluateAsThirdParty(t) => ProjectAction::EvaluateAsThirdParty {
            text: text("text", &t)?,
            in_scope,
        },
        Step::Close => ProjectAction::Close { in_scope },
    };
    let command = ProjectCommand {
        actor: actor(caller),
        project: id,
        action,
    };
    let committed = state
        .projects
        .execute(id, expected, command, &metadata(state, request_id))
        .await?;
    committed_view(state, caller, &committed).await
}

/// A project's history for auditors and admins.
pub async fn story(
    state: &AppState,
    caller: &Caller,
    id: ProjectId,
) -> Result<Vec<crate::app::story::StoryEntry>, ApiError> {
    if !crate::app::policy::audits(caller.0.role) {
        return Err(ApiError::not_found());
    }
    visible(state, caller, id).await?;
    story_of(state, <MicroProject as cqrs_es::Aggregate>::TYPE, id.0).await
}

/// A receipt of one of the project's reports, for whoever reads the project.
pub async fn file(
    state: &AppState,
    caller: &Caller,
    id: ProjectId,
    sha256: &str,
) -> Result<crate::app::attachments::Download, ApiError> {
    let (p, _) = visible(state, caller, id).await?;
    let receipt = p
        .reports
        .iter()
        .flat_map(|r| r.receipts.iter())
        .find(|a| a.sha256.as_str() == sha256)
        .ok_or_else(ApiError::not_found)?;
    download(state, p.proposer, receipt).await
}
