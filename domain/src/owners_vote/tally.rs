//! Counting an owners' vote as Civil Code article 278 and the Supreme
//! People's Court's interpretation on building ownership count it.
//!
//! - Area: each unit's exclusive floor area (专有部分面积) as registered.
//! - Number: one owner per unit, but one for all the units of the same
//!   owner (the same owners, co-owners of a unit counting as one) and one
//!   for all of the developer's unsold units (司法解释 第八、九条).
//! - Participation: owners holding at least two thirds of the area and at
//!   least two thirds in number take part.
//! - Approval: at least three quarters of the participating area and number
//!   for raising the maintenance fund, rebuilding and changing the use of
//!   common parts; more than half of each for every other matter.
//!
//! An owner with several units who voted them differently counts, in
//! number, for the choice that carries most of their voted area (a tie
//! counts as an abstention).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Choice, Holder, Matter, Register};
use crate::values::UnitId;

/// A share compared exactly, in whole numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub numerator: u32,
    pub denominator: u32,
}

impl Share {
    pub const fn new(numerator: u32, denominator: u32) -> Self {
        Share {
            numerator,
            denominator,
        }
    }

    /// Whether `part` of `whole` is at least this share.
    pub fn reached_by(self, part: u64, whole: u64) -> bool {
        u128::from(part) * u128::from(self.denominator)
            >= u128::from(whole) * u128::from(self.numerator)
    }

    /// Whether `part` of `whole` is more than this share.
    pub fn exceeded_by(self, part: u64, whole: u64) -> bool {
        u128::from(part) * u128::from(self.denominator)
            > u128::from(whole) * u128::from(self.numerator)
    }

    /// A share of something: more than nothing, at most all of it.
    pub fn is_proper(self) -> bool {
        self.numerator > 0 && self.numerator <= self.denominator
    }
}

/// The thresholds of a vote: the Civil Code's by default, other ones where
/// local rules differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    /// At least this share of the area and of the owners takes part.
    pub participation: Share,
    /// At least this share of the participating area and owners approves
    /// raising the fund, rebuilding, changing the use of common parts.
    pub special: Share,
    /// More than this share of the participating area and owners approves
    /// every other matter.
    pub ordinary: Share,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            participation: Share::new(2, 3),
            special: Share::new(3, 4),
            ordinary: Share::new(1, 2),
        }
    }
}

impl Thresholds {
    pub fn are_proper(&self) -> bool {
        self.participation.is_proper() && self.special.is_proper() && self.ordinary.is_proper()
    }
}

/// How a vote came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Outcome {
    /// Too few took part: nothing was decided.
    NotDecided {
        short_of_area: bool,
        short_of_owners: bool,
    },
    Approved,
    Rejected,
}

/// Area (in hundredths of a square metre) and owners of one side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub area: u64,
    pub owners: u64,
}

/// The public result of a vote: every count, and the outcome. Who voted
/// how is not in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// The whole register as it stood when the vote opened.
    pub register: Count,
    /// Those who took part (every ballot, abstentions included).
    pub participated: Count,
    pub approve: Count,
    pub oppose: Count,
    pub abstain: Count,
    /// Units with a ballot.
    pub ballots: u64,
    pub outcome: Outcome,
}

/// Counts `ballots` (one per unit) against `register`.
pub fn count(
    register: &Register,
    ballots: &BTreeMap<UnitId, Choice>,
    matter: Matter,
    thresholds: &Thresholds,
) -> Tally {
    let mut whole = Count::default();
    let mut participated = Count::default();
    let mut by_choice: BTreeMap<Choice, Count> = BTreeMap::new();
    // Each owner (by holder): the area they voted for each choice.
    let mut owners: BTreeMap<&Holder, BTreeMap<Choice, u64>> = BTreeMap::new();
    for unit in &register.units {
        whole.area += unit.area;
        let voted = owners.entry(&unit.holder).or_default();
        if let Some(choice) = ballots.get(&unit.unit) {
            participated.area += unit.area;
            by_choice.entry(*choice).or_default().area += unit.area;
            *voted.entry(*choice).or_default() += unit.area;
        }
    }
    whole.owners = owners.len() as u64;
    for voted in owners.values() {
        if voted.is_empty() {
            continue;
        }
        participated.owners += 1;
        by_choice.entry(owner_choice(voted)).or_default().owners += 1;
    }
    let side = |c: Choice| by_choice.get(&c).copied().unwrap_or_default();
    let (approve, oppose, abstain) = (
        side(Choice::Approve),
        side(Choice::Oppose),
        side(Choice::Abstain),
    );
    let short_of_area = !thresholds
        .participation
        .reached_by(participated.area, whole.area);
    let short_of_owners = !thresholds
        .participation
        .reached_by(participated.owners, whole.owners);
    let outcome = if short_of_area || short_of_owners {
        Outcome::NotDecided {
            short_of_area,
            short_of_owners,
        }
    } else {
        let passes = |part: u64, of: u64| {
            if matter.is_special() {
                thresholds.special.reached_by(part, of)
            } else {
                thresholds.ordinary.exceeded_by(part, of)
            }
        };
        if passes(approve.area, participated.area) && passes(approve.owners, participated.owners) {
            Outcome::Approved
        } else {
            Outcome::Rejected
        }
    };
    Tally {
        register: whole,
        participated,
        approve,
        oppose,
        abstain,
        ballots: ballots
            .keys()
            .filter(|u| register.units.iter().any(|r| r.unit == **u))
            .count() as u64,
        outcome,
    }
}

/// The choice an owner counts for in number: the one with most of their
/// voted area; a tie is an abstention.
fn owner_choice(voted: &BTreeMap<Choice, u64>) -> Choice {
    let most = voted.values().copied().max().unwrap_or(0);
    let leading: Vec<Choice> = voted
        .iter()
        .filter(|(_, area)| **area == most)
        .map(|(c, _)| *c)
        .collect();
    match leading.as_slice() {
        [only] => *only,
        _ => Choice::Abstain,
    }
}
