use std::collections::{HashMap, HashSet};

use chrono::{TimeDelta, TimeZone};
use uuid::Uuid;

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0)
        .single()
        .expect("time")
}

fn hours(h: i64) -> DateTime<Utc> {
    t0() + TimeDelta::hours(h)
}

fn account(n: u128) -> AccountId {
    AccountId(Uuid::from_u128(0xACC0_0000 + n))
}

fn unit_id(n: u128) -> UnitId {
    UnitId(Uuid::from_u128(0x0417_0000 + n))
}

const MULTI_OWNER: u128 = 1_000;
const SPOUSES: [u128; 2] = [2_000, 2_001];

/// 120 units: 80 of about 62–67 m², 30 of about 139–144 m², and 10 the
/// developer has not sold (95 m² each). One owner holds units 0–3; a
/// couple co-owns units 5 and 6 (listed in either order). So 107 owners:
/// the owner of four, the couple, 104 others, the developer.
fn register() -> Register {
    let units = (0..120u128)
        .map(|i| {
            let area = match i {
                0..80 => 6_235 + (i as u64 % 7) * 83,
                80..110 => 13_890 + (i as u64 % 5) * 117,
                _ => 9_500,
            };
            let holder = match i {
                0..=3 => Holder::owners(vec![account(MULTI_OWNER)]),
                // Listed as the register gives them: opening puts them in order.
                5 => Holder::Owners(vec![account(SPOUSES[1]), account(SPOUSES[0])]),
                6 => Holder::Owners(vec![account(SPOUSES[0]), account(SPOUSES[1])]),
                110.. => Holder::Developer,
                _ => Holder::owners(vec![account(i)]),
            };
            RegisteredUnit {
                unit: unit_id(i),
                area,
                holder,
            }
        })
        .collect();
    Register { units }
}

/// An owner of unit `i` (the owner of units 0–3, one of the spouses).
fn owner_of(i: u128) -> Actor {
    let account = match i {
        0..=3 => account(MULTI_OWNER),
        5 | 6 => account(SPOUSES[0]),
        _ => account(i),
    };
    Actor::new(account, Role::Resident)
}

fn committee() -> Actor {
    Actor::new(account(9_001), Role::OwnersCommittee)
}

fn proposal(matter: Matter) -> Box<VoteProposal> {
    Box::new(VoteProposal {
        xiaoqu: XiaoquId(Uuid::from_u128(7)),
        matter,
        question: Title::parse("使用维修资金更换3栋电梯").expect("title"),
        explanation: Statement::parse("3栋电梯已运行十八年,多次困人。报价及施工方案见附件。")
            .expect("statement"),
        opens_at: hours(0),
        closes_at: hours(24 * 7),
        online: true,
        paper: true,
        register: register(),
        thresholds: None,
    })
}

const VOTE: VoteId = VoteId(Uuid::from_u128(42));

/// Decides `action` by `actor` at `now` and applies what it decided.
fn run(
    vote: &mut OwnersVote,
    actor: Actor,
    action: VoteAction,
    now: DateTime<Utc>,
) -> Result<Vec<VoteEvent>, VoteError> {
    let events = vote.decide(
        VoteCommand {
            actor,
            vote: VOTE,
            action,
        },
        now,
    )?;
    for e in events.clone() {
        vote.apply(e);
    }
    Ok(events)
}

fn opened(matter: Matter) -> OwnersVote {
    let mut vote = OwnersVote::default();
    run(
        &mut vote,
        committee(),
        VoteAction::OpenVote {
            proposal: proposal(matter),
            has_committee: true,
            in_scope: true,
        },
        t0(),
    )
    .expect("open");
    vote
}

fn cast(vote: &mut OwnersVote, i: u128, choice: Choice) {
    run(
        vote,
        owner_of(i),
        VoteAction::CastBallot {
            unit: unit_id(i),
            choice,
        },
        hours(1),
    )
    .expect("cast");
}

fn close(vote: &mut OwnersVote) -> Tally {
    let events = run(
        vote,
        committee(),
        VoteAction::CloseVote { in_scope: true },
        hours(24 * 7),
    )
    .expect("close");
    match events.as_slice() {
        [VoteEvent::VoteClosed { tally, .. }] => *tally,
        other => panic!("closing: {other:?}"),
    }
}

/// Counts from the raw events alone, another way: the units' last ballots,
/// then owners as the sets of accounts holding the units (the developer as
/// one), each for the choice of most of their voted area.
fn recount(events: &[VoteEvent]) -> (Count, Count, Count, Count) {
    let mut register = None;
    let mut last: HashMap<UnitId, Choice> = HashMap::new();
    for e in events {
        match e {
            VoteEvent::VoteOpened { proposal, .. } => register = Some(proposal.register.clone()),
            VoteEvent::BallotCast { unit, choice, .. } => {
                last.insert(*unit, *choice);
            }
            VoteEvent::VoteClosed { .. } => {}
        }
    }
    let register = register.expect("opened");
    let key = |h: &Holder| -> Vec<AccountId> {
        match h {
            Holder::Owners(o) => {
                let mut o = o.clone();
                o.sort();
                o
            }
            Holder::Developer => Vec::new(),
        }
    };
    let mut per_owner: HashMap<Vec<AccountId>, Vec<(Choice, u64)>> = HashMap::new();
    let mut participated = Count::default();
    let mut sides: HashMap<Choice, Count> = HashMap::new();
    for u in &register.units {
        if let Some(c) = last.get(&u.unit) {
            participated.area += u.area;
            sides.entry(*c).or_default().area += u.area;
            per_owner
                .entry(key(&u.holder))
                .or_default()
                .push((*c, u.area));
        }
    }
    for votes in per_owner.values() {
        participated.owners += 1;
        let mut by: HashMap<Choice, u64> = HashMap::new();
        for (c, a) in votes {
            *by.entry(*c).or_default() += a;
        }
        let best = by.values().max().copied().unwrap_or(0);
        let winners: HashSet<Choice> = by
            .iter()
            .filter(|(_, a)| **a == best)
            .map(|(c, _)| *c)
            .collect();
        let counted = if winners.len() == 1 {
            *winners.iter().next().expect("one")
        } else {
            Choice::Abstain
        };
        sides.entry(counted).or_default().owners += 1;
    }
    let side = |c| sides.get(&c).copied().unwrap_or_default();
    (
        participated,
        side(Choice::Approve),
        side(Choice::Oppose),
        side(Choice::Abstain),
    )
}

fn history(vote: &OwnersVote) -> Vec<VoteEvent> {
    let s = vote.state().expect("state");
    let mut events = vec![VoteEvent::VoteOpened {
        vote: s.id,
        proposal: Box::new(s.proposal.clone()),
        thresholds: s.thresholds,
        opened_by: s.opened_by,
        at: s.opened_at,
    }];
    events.extend(s.ballots.iter().map(|(unit, b)| VoteEvent::BallotCast {
        unit: *unit,
        choice: b.choice,
        channel: b.channel,
        at: b.at,
    }));
    events
}

#[test]
fn the_register_counts_owners_as_the_court_does() {
    let vote = opened(Matter::UseMaintenanceFund);
    let tally = vote.state().expect("open").count_now();
    assert_eq!(
        tally.register.owners, 107,
        "4 units of one owner, a couple's two units and the developer's ten count once each"
    );
    let area: u64 = register().units.iter().map(|u| u.area).sum();
    assert_eq!(tally.register.area, area);
    assert_eq!(tally.participated, Count::default());
}

#[test]
fn enough_owners_in_number_but_not_in_area_decide_nothing() {
    let mut vote = opened(Matter::UseMaintenanceFund);
    // The owners of the 80 small units: 76 of 107 owners, about half the area.
    for i in 0..80 {
        cast(&mut vote, i, Choice::Approve);
    }
    let tally = close(&mut vote);
    assert_eq!(tally.participated.owners, 76);
    assert!(3 * tally.participated.owners >= 2 * tally.register.owners);
    assert!(3 * tally.participated.area < 2 * tally.register.area);
    assert_eq!(
        tally.outcome,
        Outcome::NotDecided {
            short_of_area: true,
            short_of_owners: false
        }
    );
}

#[test]
fn a_vote_that_takes_part_enough_is_decided_by_the_rule_of_its_matter() {
    // 100 units vote: 97 owners, about 77 % of the area.
    let ballots = |approving: u128| {
        move |i: u128| match i {
            i if i < approving => Choice::Approve,
            i if i < 90 => Choice::Oppose,
            _ => Choice::Abstain,
        }
    };
    // Using the fund needs more than half of the participating area and
    // owners: 60 small units approving have more than half the owners but
    // less than half the area.
    let mut vote = opened(Matter::UseMaintenanceFund);
    for i in 0..100 {
        cast(&mut vote, i, ballots(60)(i));
    }
    let tally = close(&mut vote);
    assert!(2 * tally.approve.owners > tally.participated.owners);
    assert!(2 * tally.approve.area <= tally.participated.area);
    assert_eq!(tally.outcome, Outcome::Rejected);

    // 70 approving: more than half of both.
    let mut vote = opened(Matter::UseMaintenanceFund);
    for i in 0..100 {
        cast(&mut vote, i, ballots(70)(i));
    }
    let tally = close(&mut vote);
    assert!(2 * tally.approve.area > tally.participated.area);
    assert_eq!(tally.outcome, Outcome::Approved);

    // Raising the fund needs three quarters of both: the same ballots fail.
    let mut vote = opened(Matter::RaiseMaintenanceFund);
    for i in 0..100 {
        cast(&mut vote, i, ballots(70)(i));
    }
    let tally = close(&mut vote);
    assert!(4 * tally.approve.owners < 3 * tally.participated.owners);
    assert_eq!(tally.outcome, Outcome::Rejected);

    // Every unit but the developer's approving: three quarters of both.
    let mut vote = opened(Matter::RaiseMaintenanceFund);
    for i in 0..110 {
        cast(&mut vote, i, Choice::Approve);
    }
    assert_eq!(close(&mut vote).outcome, Outcome::Approved);
}

#[test]
fn a_changed_ballot_counts_once_and_paper_ballots_count() {
    let mut vote = opened(Matter::UseMaintenanceFund);
    cast(&mut vote, 10, Choice::Approve);
    cast(&mut vote, 10, Choice::Oppose);
    // The same choice again changes nothing.
    let again = run(
        &mut vote,
        owner_of(10),
        VoteAction::CastBallot {
            unit: unit_id(10),
            choice: Choice::Oppose,
        },
        hours(2),
    )
    .expect("again");
    assert!(again.is_empty());
    // The committee enters the developer's paper ballots.
    for i in 110..120 {
        run(
            &mut vote,
            committee(),
            VoteAction::EnterPaperBallot {
                unit: unit_id(i),
                choice: Choice::Approve,
                in_scope: true,
            },
            hours(3),
        )
        .expect("paper");
    }
    let tally = vote.state().expect("open").count_now();
    assert_eq!(tally.ballots, 11);
    assert_eq!(tally.oppose.owners, 1);
    assert_eq!(tally.approve.owners, 1, "the developer's units count once");
    assert_eq!(tally.approve.area, 10 * 9_500);
    assert_eq!(tally.participated.owners, 2);
}

#[test]
fn the_tally_equals_an_independent_count_of_the_raw_events() {
    let mut vote = opened(Matter::ChangeUseOfCommonParts);
    let choices = [Choice::Approve, Choice::Oppose, Choice::Abstain];
    for i in 0..110u128 {
        if i % 9 == 4 {
            continue;
        }
        cast(&mut vote, i, choices[(i * 7 % 3) as usize]);
        if i % 5 == 0 {
            cast(&mut vote, i, choices[((i + 1) % 3) as usize]);
        }
    }
    // The owner of units 0–3 split them: most of their area decides.
    cast(&mut vote, 2, Choice::Oppose);
    let events = history(&vote);
    let tally = close(&mut vote);
    let (participated, approve, oppose, abstain) = recount(&events);
    assert_eq!(tally.participated, participated);
    assert_eq!(tally.approve, approve);
    assert_eq!(tally.oppose, oppose);
    assert_eq!(tally.abstain, abstain);
    assert_eq!(
        approve.owners + oppose.owners + abstain.owners,
        participated.owners
    );
}

#[test]
fn only_an_owner_votes_for_a_unit_and_only_while_the_window_is_open() {
    let mut vote = opened(Matter::UseMaintenanceFund);
    let stranger = Actor::new(account(50), Role::Resident);
    let refused = |vote: &mut OwnersVote, actor: Actor, unit: u128, now| {
        run(
            vote,
            actor,
            VoteAction::CastBallot {
                unit: unit_id(unit),
                choice: Choice::Approve,
            },
            now,
        )
        .expect_err("refused")
    };
    assert_eq!(
        refused(&mut vote, stranger, 60, hours(1)),
        VoteError::NotAnOwner
    );
    // Either co-owner votes for their unit; nobody votes the developer's online.
    assert!(run(
        &mut vote,
        Actor::new(account(SPOUSES[1]), Role::Resident),
        VoteAction::CastBallot {
            unit: unit_id(5),
            choice: Choice::Approve
        },
        hours(1)
    )
    .is_ok());
    assert_eq!(
        refused(&mut vote, owner_of(60), 115, hours(1)),
        VoteError::NotAnOwner
    );
    assert_eq!(
        refused(&mut vote, owner_of(60), 60, hours(24 * 7)),
        VoteError::OutsideWindow
    );
    assert_eq!(
        run(
            &mut vote,
            committee(),
            VoteAction::CloseVote { in_scope: true },
            hours(24)
        )
        .expect_err("too early"),
        VoteError::StillOpen
    );
    close(&mut vote);
    assert_eq!(
        refused(&mut vote, owner_of(60), 60, hours(1)),
        VoteError::Closed
    );
}

#[test]
fn the_committee_opens_votes_and_the_branch_only_where_there_is_none() {
    let open = |actor: Actor, has_committee: bool| {
        OwnersVote::default().decide(
            VoteCommand {
                actor,
                vote: VOTE,
                action: VoteAction::OpenVote {
                    proposal: proposal(Matter::ElectCommittee),
                    has_committee,
                    in_scope: true,
                },
            },
            t0(),
        )
    };
    let branch = Actor::new(account(9_002), Role::PartyBranch);
    assert_eq!(
        open(branch, true).expect_err("a committee exists"),
        VoteError::CommitteeOpensVotes
    );
    assert!(open(branch, false).is_ok());
    assert_eq!(
        open(owner_of(7), false).expect_err("residents do not"),
        VoteError::RoleNotAllowed(Role::Resident)
    );
    let mut bad = proposal(Matter::Rebuild);
    bad.register.units[1].unit = bad.register.units[0].unit;
    let refused = OwnersVote::default().decide(
        VoteCommand {
            actor: committee(),
            vote: VOTE,
            action: VoteAction::OpenVote {
                proposal: bad,
                has_committee: true,
                in_scope: true,
            },
        },
        t0(),
    );
    assert_eq!(refused.expect_err("a unit twice"), VoteError::BadRegister);
}

#[test]
fn shares_compare_exactly() {
    let two_thirds = Share::new(2, 3);
    assert!(two_thirds.reached_by(2, 3));
    assert!(!two_thirds.reached_by(1_999_999, 3_000_000));
    assert!(!Share::new(1, 2).exceeded_by(50, 100));
    assert!(Share::new(1, 2).exceeded_by(51, 100));
    assert!(!Share::new(0, 3).is_proper());
    assert!(!Share::new(4, 3).is_proper());
}
