use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use cqrs_es::Aggregate;
use uuid::Uuid;

use super::*;
use crate::actor::Role;
use crate::values::{AccountId, Attachment, Label, PlaceName, Statement, Title, XiaoquId};

fn day(d: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0)
        .single()
        .expect("time")
        + TimeDelta::days(d)
}

fn person(n: u128, role: Role) -> Actor {
    Actor::new(AccountId(Uuid::from_u128(n)), role)
}

fn branch() -> Actor {
    person(1, Role::PartyBranch)
}

fn group() -> Actor {
    person(2, Role::MicroOrganization)
}

fn text(s: &str) -> Statement {
    Statement::parse(s).expect("statement")
}

fn receipt() -> Attachment {
    Attachment::new(
        crate::values::Sha256Hex::parse(&"ab".repeat(32)).expect("sha256"),
        crate::values::MediaType::parse("image/jpeg").expect("media type"),
        120_000,
    )
    .expect("attachment")
}

const FUND: FundId = FundId(Uuid::from_u128(70));
const PROJECT: ProjectId = ProjectId(Uuid::from_u128(80));

fn step(p: &mut MicroProject, actor: Actor, action: ProjectAction, d: i64) {
    for e in p
        .decide(actor, PROJECT, action, day(d))
        .expect("project step")
    {
        Aggregate::apply(p, e);
    }
}

fn pay(f: &mut MicroFund, action: FundAction, d: i64) -> Result<(), FundError> {
    for e in f.decide(branch(), FUND, action, day(d))? {
        Aggregate::apply(f, e);
    }
    Ok(())
}

fn paid(p: &MicroProject) -> Option<PaidProject> {
    p.state().map(|s| PaidProject {
        project: s.id,
        fund: s.fund,
        status: s.status,
    })
}

fn spend(p: &MicroProject, amount: u64) -> FundAction {
    FundAction::Spend {
        amount,
        project: paid(p),
        purpose: text("购买花苗和种植土"),
        receipt: receipt(),
        in_scope: true,
    }
}

fn received(amount: u64, source: Source) -> FundAction {
    FundAction::Receive {
        amount,
        source,
        project: None,
        in_scope: true,
    }
}

#[test]
fn a_project_goes_from_proposal_to_closing_and_the_balance_is_kept_at_every_step() {
    let mut fund = MicroFund::default();
    pay(
        &mut fund,
        FundAction::OpenFund {
            place: FundPlace::Xiaoqu(XiaoquId(Uuid::from_u128(9))),
            name: PlaceName::parse("幸福里微基金").expect("name"),
            kind: FundKind::Crowd,
            in_scope: true,
        },
        0,
    )
    .expect("open");
    let mut came_in = 0u64;
    let mut went_out = 0u64;
    let check = |fund: &MicroFund, came_in: u64, went_out: u64| {
        let s = fund.state().expect("fund");
        assert_eq!(
            s.balance(),
            came_in - went_out,
            "balance = donations − spending"
        );
    };
    for (amount, source) in [
        (
            50_000,
            Source::Named(Label::parse("3栋王女士").expect("label")),
        ),
        (20_000, Source::Anonymous),
        (
            100_000,
            Source::Grant(Label::parse("城厢街道").expect("label")),
        ),
    ] {
        pay(&mut fund, received(amount, source), 1).expect("receive");
        came_in += amount;
        check(&fund, came_in, went_out);
    }

    let mut project = MicroProject::default();
    step(
        &mut project,
        group(),
        ProjectAction::Propose {
            fund: FUND,
            xiaoqu: XiaoquId(Uuid::from_u128(9)),
            title: Title::parse("楼道口微花园").expect("title"),
            plan: text("在5栋楼道口空地种植花草,志愿者每周养护。"),
            budget: 120_000,
            in_scope: true,
            fund_serves: true,
        },
        2,
    );
    // Before it is approved and under way, the fund pays nothing for it.
    assert_eq!(
        pay(&mut fund, spend(&project, 10_000), 2),
        Err(FundError::ProjectNotApproved)
    );
    step(
        &mut project,
        person(30, Role::Resident),
        ProjectAction::Support,
        3,
    );
    step(
        &mut project,
        branch(),
        ProjectAction::Shortlist { in_scope: true },
        4,
    );
    step(
        &mut project,
        branch(),
        ProjectAction::Review {
            approved: true,
            opinion: text("五方联席评审通过"),
            in_scope: true,
        },
        5,
    );
    step(
        &mut project,
        branch(),
        ProjectAction::Publish {
            comments_until: day(12),
            in_scope: true,
        },
        5,
    );
    step(
        &mut project,
        person(31, Role::Resident),
        ProjectAction::Comment {
            text: text("建议选耐旱品种"),
        },
        6,
    );
    assert_eq!(
        pay(&mut fund, spend(&project, 10_000), 7),
        Err(FundError::ProjectNotApproved),
        "not while it is publicly noticed"
    );
    assert_eq!(
        project
            .decide(
                branch(),
                PROJECT,
                ProjectAction::Start { in_scope: true },
                day(8)
            )
            .expect_err("comment period open"),
        ProjectError::CommentPeriodOpen
    );
    step(
        &mut project,
        branch(),
        ProjectAction::Start { in_scope: true },
        12,
    );
    for (d, amount) in [(13, 45_000), (20, 30_000)] {
        pay(&mut fund, spend(&project, amount), d).expect("spend");
        went_out += amount;
        check(&fund, came_in, went_out);
        step(
            &mut project,
            group(),
            ProjectAction::Report {
                text: text("已完成种植,附发票"),
                receipts: vec![receipt()],
            },
            d,
        );
    }
    assert_eq!(
        pay(&mut fund, spend(&project, 100_000), 21),
        Err(FundError::Insufficient {
            balance: 95_000,
            amount: 100_000
        }),
        "never below zero"
    );
    step(
        &mut project,
        group(),
        ProjectAction::Evaluate {
            text: text("花园建成,居民参与养护"),
        },
        30,
    );
    step(
        &mut project,
        person(30, Role::Resident),
        ProjectAction::Rate {
            stars: Stars::new(5).expect("stars"),
        },
        31,
    );
    step(
        &mut project,
        branch(),
        ProjectAction::EvaluateAsThirdParty {
            text: text("第三方评估:达到预期"),
            in_scope: true,
        },
        32,
    );
    step(
        &mut project,
        branch(),
        ProjectAction::Close { in_scope: true },
        33,
    );
    let s = project.state().expect("project");
    assert_eq!(s.status, ProjectStatus::Closed);
    assert_eq!(s.reports.len(), 2);
    assert_eq!(s.supporters.len(), 1);
    assert_eq!(
        pay(&mut fund, spend(&project, 1_000), 34),
        Err(FundError::ProjectNotApproved),
        "a closed project is paid no more"
    );
    check(&fund, came_in, went_out);
}

#[test]
fn spending_without_an_approved_project_of_the_fund_is_refused() {
    let mut fund = MicroFund::default();
    pay(
        &mut fund,
        FundAction::OpenFund {
            place: FundPlace::Xiaoqu(XiaoquId(Uuid::from_u128(9))),
            name: PlaceName::parse("睦邻冠名基金").expect("name"),
            kind: FundKind::Named(PlaceName::parse("某物业公司").expect("name")),
            in_scope: true,
        },
        0,
    )
    .expect("open");
    pay(&mut fund, received(10_000, Source::Anonymous), 0).expect("receive");
    let no_project = FundAction::Spend {
        amount: 1_000,
        project: None,
        purpose: text("办公用品"),
        receipt: receipt(),
        in_scope: true,
    };
    assert_eq!(pay(&mut fund, no_project, 1), Err(FundError::NoProject));
    let elsewhere = FundAction::Spend {
        amount: 1_000,
        project: Some(PaidProject {
            project: PROJECT,
            fund: FundId(Uuid::from_u128(71)),
            status: ProjectStatus::UnderWay,
        }),
        purpose: text("别的基金的项目"),
        receipt: receipt(),
        in_scope: true,
    };
    assert_eq!(
        pay(&mut fund, elsewhere, 1),
        Err(FundError::OtherFundsProject)
    );
    let resident = fund.decide(
        person(40, Role::Resident),
        FUND,
        received(5_000, Source::Anonymous),
        day(1),
    );
    assert_eq!(resident, Err(FundError::RoleNotAllowed(Role::Resident)));
    assert_eq!(fund.state().expect("fund").balance(), 10_000);
}

#[test]
fn a_declined_project_stops_and_supports_count_once() {
    let mut project = MicroProject::default();
    step(
        &mut project,
        person(50, Role::Resident),
        ProjectAction::Propose {
            fund: FUND,
            xiaoqu: XiaoquId(Uuid::from_u128(9)),
            title: Title::parse("小区议事亭").expect("title"),
            plan: text("在中心广场建议事亭"),
            budget: 800_000,
            in_scope: true,
            fund_serves: true,
        },
        0,
    );
    let supporter = person(51, Role::Resident);
    step(&mut project, supporter, ProjectAction::Support, 1);
    assert!(project
        .decide(supporter, PROJECT, ProjectAction::Support, day(2))
        .expect("again")
        .is_empty());
    step(
        &mut project,
        branch(),
        ProjectAction::Shortlist { in_scope: true },
        3,
    );
    step(
        &mut project,
        branch(),
        ProjectAction::Review {
            approved: false,
            opinion: text("预算超出基金规模"),
            in_scope: true,
        },
        4,
    );
    assert_eq!(project.state().expect("p").status, ProjectStatus::Declined);
    assert!(matches!(
        project.decide(
            branch(),
            PROJECT,
            ProjectAction::Publish {
                comments_until: day(10),
                in_scope: true
            },
            day(5)
        ),
        Err(ProjectError::WrongStatus { .. })
    ));
    assert_eq!(Stars::new(0), None);
    assert_eq!(Stars::new(6), None);
}

#[test]
fn a_community_fund_is_kept_by_the_community_and_a_project_names_a_fund_that_serves_it() {
    let place = FundPlace::Community(PlaceName::parse("城厢社区").expect("name"));
    let open = |actor: Actor| {
        MicroFund::default().decide(
            actor,
            FUND,
            FundAction::OpenFund {
                place: place.clone(),
                name: PlaceName::parse("城厢社区微基金").expect("name"),
                kind: FundKind::Crowd,
                in_scope: true,
            },
            day(0),
        )
    };
    assert_eq!(
        open(branch()),
        Err(FundError::RoleNotAllowed(Role::PartyBranch)),
        "a xiaoqu's branch does not keep its community's fund"
    );
    let events = open(person(3, Role::Community)).expect("the community opens it");
    let mut fund = MicroFund::default();
    for e in events {
        Aggregate::apply(&mut fund, e);
    }
    assert_eq!(fund.state().expect("fund").place, place);
    assert_eq!(
        fund.decide(
            person(3, Role::Community),
            FUND,
            FundAction::Receive {
                amount: 0,
                source: Source::Anonymous,
                project: None,
                in_scope: true
            },
            day(1)
        ),
        Err(FundError::NoAmount)
    );

    let propose = |fund_serves| {
        MicroProject::default().decide(
            group(),
            PROJECT,
            ProjectAction::Propose {
                fund: FUND,
                xiaoqu: XiaoquId(Uuid::from_u128(9)),
                title: Title::parse("共享工具箱").expect("title"),
                plan: text("在门卫室放一套共享工具"),
                budget: 30_000,
                in_scope: true,
                fund_serves,
            },
            day(1),
        )
    };
    assert_eq!(propose(false), Err(ProjectError::FundElsewhere));
    assert!(propose(true).is_ok());
}
