//! A micro-project (微项目) from proposal to closing: 征集 (proposed,
//! supported by residents) → 评审 (shortlisted, reviewed by the branch with
//! the parties, publicly noticed for a comment period) → 实施 (carried out,
//! with progress reports and receipts) → 评估 (evaluated by its proposer,
//! rated by residents, optionally by a third party) → 结项 (closed).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::{require, Actor, Role};
use crate::values::{AccountId, Attachment, FundId, ProjectId, Statement, Title, XiaoquId};

/// Where a project stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    Proposed,
    Shortlisted,
    /// Reviewed and approved by the branch with the parties.
    Approved,
    /// Shown publicly (公示) until its comment period ends.
    PubliclyNoticed,
    /// Approved after its notice: the fund may pay for it.
    UnderWay,
    /// The proposer evaluated it; residents and a third party may too.
    Evaluated,
    Closed,
    /// Not shortlisted or not approved at review.
    Declined,
}

impl ProjectStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Proposed => "proposed",
            ProjectStatus::Shortlisted => "shortlisted",
            ProjectStatus::Approved => "approved",
            ProjectStatus::PubliclyNoticed => "publicly_noticed",
            ProjectStatus::UnderWay => "under_way",
            ProjectStatus::Evaluated => "evaluated",
            ProjectStatus::Closed => "closed",
            ProjectStatus::Declined => "declined",
        }
    }
}

/// A resident's rating of a finished project, one to five stars.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Stars(u8);

impl Stars {
    pub fn new(stars: u8) -> Option<Stars> {
        (1..=5).contains(&stars).then_some(Stars(stars))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectAction {
    /// `in_scope`: the proposer belongs to the xiaoqu; `fund_serves`: the
    /// fund is open and its place is the xiaoqu or the xiaoqu's community.
    Propose {
        fund: FundId,
        xiaoqu: XiaoquId,
        title: Title,
        plan: Statement,
        /// In fen (分).
        budget: u64,
        in_scope: bool,
        fund_serves: bool,
    },
    Support,
    Shortlist {
        in_scope: bool,
    },
    /// The branch's review with the parties: approved or not, and why.
    Review {
        approved: bool,
        opinion: Statement,
        in_scope: bool,
    },
    /// 公示 until `comments_until`.
    Publish {
        comments_until: DateTime<Utc>,
        in_scope: bool,
    },
    Comment {
        text: Statement,
    },
    /// Once the comment period is over.
    Start {
        in_scope: bool,
    },
    Report {
        text: Statement,
        receipts: Vec<Attachment>,
    },
    Evaluate {
        text: Statement,
    },
    Rate {
        stars: Stars,
    },
    EvaluateAsThirdParty {
        text: Statement,
        in_scope: bool,
    },
    Close {
        in_scope: bool,
    },
}

impl ProjectAction {
    /// The command's name, as the log records it.
    pub fn name(&self) -> &'static str {
        match self {
            ProjectAction::Propose { .. } => "propose_project",
            ProjectAction::Support => "support_project",
            ProjectAction::Shortlist { .. } => "shortlist_project",
            ProjectAction::Review { .. } => "review_project",
            ProjectAction::Publish { .. } => "publish_project",
            ProjectAction::Comment { .. } => "comment_on_project",
            ProjectAction::Start { .. } => "start_project",
            ProjectAction::Report { .. } => "report_progress",
            ProjectAction::Evaluate { .. } => "evaluate_project",
            ProjectAction::Rate { .. } => "rate_project",
            ProjectAction::EvaluateAsThirdParty { .. } => "evaluate_project_as_third_party",
            ProjectAction::Close { .. } => "close_project",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectEvent {
    ProjectProposed {
        project: ProjectId,
        fund: FundId,
        xiaoqu: XiaoquId,
        proposer: AccountId,
        proposer_role: Role,
        title: Title,
        plan: Statement,
        budget: u64,
        at: DateTime<Utc>,
    },
    ProjectSupported {
        supporter: AccountId,
        at: DateTime<Utc>,
    },
    ProjectShortlisted {
        at: DateTime<Utc>,
    },
    ProjectReviewed {
        approved: bool,
        opinion: Statement,
        at: DateTime<Utc>,
    },
    ProjectPublished {
        comments_until: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    ProjectCommented {
        text: Statement,
        at: DateTime<Utc>,
    },
    ProjectStarted {
        at: DateTime<Utc>,
    },
    ProgressReported {
        text: Statement,
        receipts: Vec<Attachment>,
        at: DateTime<Utc>,
    },
    ProjectEvaluated {
        by: Evaluator,
        text: Statement,
        at: DateTime<Utc>,
    },
    ProjectRated {
        rater: AccountId,
        stars: Stars,
        at: DateTime<Utc>,
    },
    ProjectClosed {
        at: DateTime<Utc>,
    },
}

/// Who evaluated a project.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evaluator {
    Proposer,
    ThirdParty,
}

impl ProjectEvent {
    pub fn name(&self) -> &'static str {
        match self {
            ProjectEvent::ProjectProposed { .. } => "ProjectProposed",
            ProjectEvent::ProjectSupported { .. } => "ProjectSupported",
            ProjectEvent::ProjectShortlisted { .. } => "ProjectShortlisted",
            ProjectEvent::ProjectReviewed { .. } => "ProjectReviewed",
            ProjectEvent::ProjectPublished { .. } => "ProjectPublished",
            ProjectEvent::ProjectCommented { .. } => "ProjectCommented",
            ProjectEvent::ProjectStarted { .. } => "ProjectStarted",
            ProjectEvent::ProgressReported { .. } => "ProgressReported",
            ProjectEvent::ProjectEvaluated { .. } => "ProjectEvaluated",
            ProjectEvent::ProjectRated { .. } => "ProjectRated",
            ProjectEvent::ProjectClosed { .. } => "ProjectClosed",
        }
    }
}

/// Every rule of a project, one variant per rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProjectError {
    #[error("the role {0} cannot do this to a project")]
    RoleNotAllowed(Role),
    #[error("the project's xiaoqu is outside the actor's scope")]
    OutsideScope,
    #[error("no such project")]
    NotProposed,
    #[error("this project was already proposed")]
    AlreadyProposed,
    #[error("a project cannot {action} while it is {status}")]
    WrongStatus {
        action: &'static str,
        status: &'static str,
    },
    #[error("a budget is more than nothing and at most 10,000,000,000 fen")]
    NoBudget,
    #[error("the fund is not open or does not serve the project's xiaoqu")]
    FundElsewhere,
    #[error("the comment period must end in the future")]
    CommentPeriodPast,
    #[error("the public comment period has not ended")]
    CommentPeriodOpen,
    #[error("comments are taken only while the project is publicly noticed")]
    NotTakingComments,
    #[error("only the proposer reports on and evaluates the project")]
    NotTheProposer,
    #[error("a report of spending needs its receipts")]
    NoReceipts,
}

/// A progress report of the proposer's, with its receipts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressReport {
    pub text: Statement,
    pub receipts: Vec<Attachment>,
    pub at: DateTime<Utc>,
}

/// A public comment during the notice; who made it is in the log only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicComment {
    pub text: Statement,
    pub at: DateTime<Utc>,
}

/// An evaluation, the proposer's or a third party's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub by: Evaluator,
    pub text: Statement,
    pub at: DateTime<Utc>,
}

/// One micro-project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectState {
    pub id: ProjectId,
    pub fund: FundId,
    pub xiaoqu: XiaoquId,
    pub proposer: AccountId,
    pub proposer_role: Role,
    pub title: Title,
    pub plan: Statement,
    pub budget: u64,
    pub status: ProjectStatus,
    pub supporters: BTreeSet<AccountId>,
    pub comments_until: Option<DateTime<Utc>>,
    /// The branch's review opinion.
    pub opinion: Option<Statement>,
    pub comments: Vec<PublicComment>,
    pub reports: Vec<ProgressReport>,
    pub evaluations: Vec<Evaluation>,
    /// One rating per resident: a resident rating again replaces theirs.
    pub ratings: std::collections::BTreeMap<AccountId, Stars>,
    pub proposed_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl ProjectState {
    /// The residents' mean rating, in hundredths of a star.
    pub fn mean_rating(&self) -> Option<u32> {
        let n = self.ratings.len() as u32;
        (n > 0).then(|| {
            let sum: u32 = self.ratings.values().map(|s| u32::from(s.get())).sum();
            (sum * 100 + n / 2) / n
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicroProject(pub(super) Option<ProjectState>);

const PROPOSERS: [Role; 2] = [Role::MicroOrganization, Role::Resident];

impl MicroProject {
    pub fn state(&self) -> Option<&ProjectState> {
        self.0.as_ref()
    }

    pub fn decide(
        &self,
        actor: Actor,
        project: ProjectId,
        action: ProjectAction,
        now: DateTime<Utc>,
    ) -> Result<Vec<ProjectEvent>, ProjectError> {
        let role = actor.role;
        let branch = || {
            require(role == Role::PartyBranch, || {
                ProjectError::RoleNotAllowed(role)
            })
        };
        let scope = |in_scope: bool| require(in_scope, || ProjectError::OutsideScope);
        if let ProjectAction::Propose {
            fund,
            xiaoqu,
            title,
            plan,
            budget,
            in_scope,
            fund_serves,
        } = action
        {
            require(self.0.is_none(), || ProjectError::AlreadyProposed)?;
            require(PROPOSERS.contains(&role), || {
                ProjectError::RoleNotAllowed(role)
            })?;
            scope(in_scope)?;
            require(fund_serves, || ProjectError::FundElsewhere)?;
            require((1..=super::fund::MOST_AMOUNT).contains(&budget), || {
                ProjectError::NoBudget
            })?;
            return Ok(vec![ProjectEvent::ProjectProposed {
                project,
                fund,
                xiaoqu,
                proposer: actor.account,
                proposer_role: role,
                title,
                plan,
                budget,
                at: now,
            }]);
        }
        let s = self.0.as_ref().ok_or(ProjectError::NotProposed)?;
        let status = |allowed: &[ProjectStatus], action: &'static str| {
            require(allowed.contains(&s.status), || ProjectError::WrongStatus {
                action,
                status: s.status.as_str(),
            })
        };
        use ProjectStatus as S;
        let event = match action {
            ProjectAction::Propose { .. } => return Err(ProjectError::AlreadyProposed),
            ProjectAction::Support => {
                require(role == Role::Resident, || {
                    ProjectError::RoleNotAllowed(role)
                })?;
                status(&[S::Proposed, S::Shortlisted], "be supported")?;
                if s.supporters.contains(&actor.account) {
                    return Ok(Vec::new());
                }
                ProjectEvent::ProjectSupported {
                    supporter: actor.account,
                    at: now,
                }
            }
            ProjectAction::Shortlist { in_scope } => {
                branch()?;
                scope(in_scope)?;
                status(&[S::Proposed], "be shortlisted")?;
                ProjectEvent::ProjectShortlisted { at: now }
            }
            ProjectAction::Review {
                approved,
                opinion,
                in_scope,
            } => {
                branch()?;
                scope(in_scope)?;
                status(&[S::Shortlisted], "be reviewed")?;
                ProjectEvent::ProjectReviewed {
                    approved,
                    opinion,
                    at: now,
                }
            }
            ProjectAction::Publish {
                comments_until,
                in_scope,
            } => {
                branch()?;
                scope(in_scope)?;
                status(&[S::Approved], "be published")?;
                require(comments_until > now, || ProjectError::CommentPeriodPast)?;
                ProjectEvent::ProjectPublished {
                    comments_until,
                    at: now,
                }
            }
            ProjectAction::Comment { text } => {
                require(role == Role::Resident, || {
                    ProjectError::RoleNotAllowed(role)
                })?;
                require(
                    s.status == S::PubliclyNoticed && s.comments_until.is_some_and(|u| now < u),
                    || ProjectError::NotTakingComments,
                )?;
                ProjectEvent::ProjectCommented { text, at: now }
            }
            ProjectAction::Start { in_scope } => {
                branch()?;
                scope(in_scope)?;
                status(&[S::PubliclyNoticed], "start")?;
                require(s.comments_until.is_some_and(|u| now >= u), || {
                    ProjectError::CommentPeriodOpen
                })?;
                ProjectEvent::ProjectStarted { at: now }
            }
            ProjectAction::Report { text, receipts } => {
                require(actor.account == s.proposer, || ProjectError::NotTheProposer)?;
                status(&[S::UnderWay], "be reported on")?;
                require(!receipts.is_empty(), || ProjectError::NoReceipts)?;
                ProjectEvent::ProgressReported {
                    text,
                    receipts,
                    at: now,
                }
            }
            ProjectAction::Evaluate { text } => {
                require(actor.account == s.proposer, || ProjectError::NotTheProposer)?;
                status(&[S::UnderWay], "be evaluated by its proposer")?;
                ProjectEvent::ProjectEvaluated {
                    by: Evaluator::Proposer,
                    text,
                    at: now,
                }
            }
            ProjectAction::Rate { stars } => {
                require(role == Role::Resident, || {
                    ProjectError::RoleNotAllowed(role)
                })?;
                status(&[S::Evaluated], "be rated")?;
                ProjectEvent::ProjectRated {
                    rater: actor.account,
                    stars,
                    at: now,
                }
            }
            ProjectAction::EvaluateAsThirdParty { text, in_scope } => {
                branch()?;
                scope(in_scope)?;
                status(&[S::Evaluated], "be evaluated by a third party")?;
                ProjectEvent::ProjectEvaluated {
                    by: Evaluator::ThirdParty,
                    text,
                    at: now,
                }
            }
            ProjectAction::Close { in_scope } => {
                branch()?;
                scope(in_scope)?;
                status(&[S::Evaluated], "close")?;
                ProjectEvent::ProjectClosed { at: now }
            }
        };
        Ok(vec![event])
    }

    pub(super) fn evolve(&mut self, event: ProjectEvent) {
        use ProjectStatus as S;
        if let ProjectEvent::ProjectProposed {
            project,
            fund,
            xiaoqu,
            proposer,
            proposer_role,
            title,
            plan,
            budget,
            at,
        } = event
        {
            self.0 = Some(ProjectState {
                id: project,
                fund,
                xiaoqu,
                proposer,
                proposer_role,
                title,
                plan,
                budget,
                status: S::Proposed,
                supporters: BTreeSet::new(),
                comments_until: None,
                opinion: None,
                comments: Vec::new(),
                reports: Vec::new(),
                evaluations: Vec::new(),
                ratings: Default::default(),
                proposed_at: at,
                closed_at: None,
            });
            return;
        }
        let Some(s) = &mut self.0 else { return };
        match event {
            ProjectEvent::ProjectProposed { .. } => {}
            ProjectEvent::ProjectCommented { text, at } => {
                s.comments.push(PublicComment { text, at });
            }
            ProjectEvent::ProjectSupported { supporter, .. } => {
                s.supporters.insert(supporter);
            }
            ProjectEvent::ProjectShortlisted { .. } => s.status = S::Shortlisted,
            ProjectEvent::ProjectReviewed {
                approved, opinion, ..
            } => {
                s.status = if approved { S::Approved } else { S::Declined };
                s.opinion = Some(opinion);
            }
            ProjectEvent::ProjectPublished { comments_until, .. } => {
                s.status = S::PubliclyNoticed;
                s.comments_until = Some(comments_until);
            }
            ProjectEvent::ProjectStarted { .. } => s.status = S::UnderWay,
            ProjectEvent::ProgressReported { text, receipts, at } => {
                s.reports.push(ProgressReport { text, receipts, at });
            }
            ProjectEvent::ProjectEvaluated { by, text, at } => {
                if by == Evaluator::Proposer {
                    s.status = S::Evaluated;
                }
                s.evaluations.push(Evaluation { by, text, at });
            }
            ProjectEvent::ProjectRated { rater, stars, .. } => {
                s.ratings.insert(rater, stars);
            }
            ProjectEvent::ProjectClosed { at } => {
                s.status = S::Closed;
                s.closed_at = Some(at);
            }
        }
    }
}
