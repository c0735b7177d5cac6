//! Deadlines per stage (接诉即办): accept, respond, resolve, with the
//! defaults of DOMAIN.md and overrides per xiaoqu and category.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset, TimeDelta, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::values::{Category, Urgency, XiaoquId};

/// The stage a deadline belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The party branch must accept (or reject) the grievance.
    Accept,
    /// The responsible party must respond.
    Respond,
    /// The matter must be resolved.
    Resolve,
    /// A major matter (大事) must be brought to an urgent joint meeting.
    Convene,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Accept => "accept",
            Stage::Respond => "respond",
            Stage::Resolve => "resolve",
            Stage::Convene => "convene",
        }
    }
}

/// A running deadline: the stage and when it falls due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub stage: Stage,
    pub due_at: DateTime<Utc>,
}

/// A stopped deadline: how much time was left when it was paused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PausedDeadline {
    pub stage: Stage,
    pub remaining_seconds: i64,
    pub since: DateTime<Utc>,
}

/// How long a stage may take, for normal and urgent grievances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub normal: TimeDelta,
    pub urgent: TimeDelta,
}

impl Window {
    pub fn for_urgency(&self, urgency: Urgency) -> TimeDelta {
        match urgency {
            Urgency::Normal => self.normal,
            Urgency::Urgent => self.urgent,
        }
    }
}

/// The windows of the stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageWindows {
    pub accept: Window,
    pub respond: Window,
    pub resolve: Window,
    /// The urgent window: a major matter's urgent joint meeting.
    pub convene: Window,
}

impl StageWindows {
    pub fn window(&self, stage: Stage) -> Window {
        match stage {
            Stage::Accept => self.accept,
            Stage::Respond => self.respond,
            Stage::Resolve => self.resolve,
            Stage::Convene => self.convene,
        }
    }
}

impl Default for StageWindows {
    /// Accept within 24 h (urgent 2 h); respond within 72 h (urgent 24 h);
    /// resolve within 15 days (urgent 72 h); an urgent joint meeting on a
    /// major matter within 48 h.
    fn default() -> Self {
        Self {
            accept: Window {
                normal: TimeDelta::hours(24),
                urgent: TimeDelta::hours(2),
            },
            respond: Window {
                normal: TimeDelta::hours(72),
                urgent: TimeDelta::hours(24),
            },
            resolve: Window {
                normal: TimeDelta::days(15),
                urgent: TimeDelta::hours(72),
            },
            convene: Window {
                normal: TimeDelta::hours(48),
                urgent: TimeDelta::hours(48),
            },
        }
    }
}

/// Windows that apply to one xiaoqu, one category, or both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadlineOverride {
    pub xiaoqu: Option<XiaoquId>,
    pub category: Option<Category>,
    pub windows: StageWindows,
}

/// Which days count. Windows elapse only on working days: weekends and
/// holidays are skipped whole, unless a weekend day is a swapped working day
/// (调休). Days are dates in China Standard Time (UTC+8).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Calendar {
    pub holidays: BTreeSet<NaiveDate>,
    pub working_weekends: BTreeSet<NaiveDate>,
}

/// China Standard Time: UTC+8, no daylight saving.
fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

impl Calendar {
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.holidays.contains(&day) {
            return false;
        }
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        !weekend || self.working_weekends.contains(&day)
    }

    /// `from` plus `window` of working time.
    pub fn add(&self, from: DateTime<Utc>, window: TimeDelta) -> DateTime<Utc> {
        let tz = china();
        let mut at = from;
        let mut left = window;
        // Bounded: a window never spans more than ten years of days.
        for _ in 0..3660 {
            let local = at.with_timezone(&tz);
            let day = local.date_naive();
            let next_midnight = day
                .succ_opt()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .and_then(|d| d.and_local_timezone(tz).single())
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or(at + TimeDelta::days(1));
            if self.is_working_day(day) {
                let today = next_midnight - at;
                if left <= today {
                    return at + left;
                }
                left -= today;
            }
            at = next_midnight;
        }
        at + left
    }
}

/// The deadline rules: defaults, and overrides where the most specific wins
/// (xiaoqu and category, then xiaoqu, then category); optionally counted in
/// working days only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeadlinePolicy {
    pub default: StageWindows,
    pub overrides: Vec<DeadlineOverride>,
    pub calendar: Option<Calendar>,
}

impl DeadlinePolicy {
    pub fn windows(&self, xiaoqu: XiaoquId, category: Category) -> StageWindows {
        let rank = |o: &DeadlineOverride| match (o.xiaoqu, o.category) {
            (Some(x), Some(c)) if x == xiaoqu && c == category => Some(3),
            (Some(x), None) if x == xiaoqu => Some(2),
            (None, Some(c)) if c == category => Some(1),
            _ => None,
        };
        self.overrides
            .iter()
            .filter_map(|o| rank(o).map(|r| (r, o.windows)))
            .max_by_key(|(r, _)| *r)
            .map(|(_, w)| w)
            .unwrap_or(self.default)
    }

    /// When `stage` falls due if it starts at `from`.
    pub fn due(
        &self,
        xiaoqu: XiaoquId,
        category: Category,
        urgency: Urgency,
        stage: Stage,
        from: DateTime<Utc>,
    ) -> DateTime<Utc> {
        from + self
            .windows(xiaoqu, category)
            .window(stage)
            .for_urgency(urgency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn working_time_skips_weekends_and_holidays_but_not_swapped_working_days() {
        let calendar = Calendar {
            // National Day week 2026: 1–7 October off, Saturday 10 October worked.
            holidays: (1..=7).map(|d| date(&format!("2026-10-0{d}"))).collect(),
            working_weekends: [date("2026-10-10")].into(),
        };
        // Friday 25 Sept 2026, 10:00 Beijing: 24 h of working time ends Monday 10:00.
        let friday = at("2026-09-25T10:00:00+08:00");
        assert_eq!(
            calendar.add(friday, TimeDelta::hours(24)),
            at("2026-09-28T10:00:00+08:00")
        );
        // Wednesday 30 Sept 18:00: the holiday week is skipped, 8 October is a Thursday.
        let before_holiday = at("2026-09-30T18:00:00+08:00");
        assert_eq!(
            calendar.add(before_holiday, TimeDelta::hours(24)),
            at("2026-10-08T18:00:00+08:00")
        );
        // Filed during the holiday: the clock starts on the first working day.
        assert_eq!(
            calendar.add(at("2026-10-03T12:00:00+08:00"), TimeDelta::hours(2)),
            at("2026-10-08T02:00:00+08:00")
        );
        // Friday 9 October 12:00 + 24 h lands on the swapped working Saturday.
        assert_eq!(
            calendar.add(at("2026-10-09T12:00:00+08:00"), TimeDelta::hours(24)),
            at("2026-10-10T12:00:00+08:00")
        );
        // Without a calendar, time is time.
        let plain = DeadlinePolicy::default();
        let x = XiaoquId(Uuid::from_u128(1));
        assert_eq!(
            plain.due(x, Category::Noise, Urgency::Normal, Stage::Accept, friday),
            friday + TimeDelta::hours(24)
        );
    }

    #[test]
    fn the_most_specific_override_wins() {
        let x = XiaoquId(Uuid::from_u128(1));
        let other = XiaoquId(Uuid::from_u128(2));
        let mut quick = StageWindows::default();
        quick.accept.normal = TimeDelta::hours(1);
        let mut quicker = StageWindows::default();
        quicker.accept.normal = TimeDelta::minutes(30);
        let mut by_category = StageWindows::default();
        by_category.accept.normal = TimeDelta::hours(12);
        let policy = DeadlinePolicy {
            calendar: None,
            default: StageWindows::default(),
            overrides: vec![
                DeadlineOverride {
                    xiaoqu: None,
                    category: Some(Category::Safety),
                    windows: by_category,
                },
                DeadlineOverride {
                    xiaoqu: Some(x),
                    category: None,
                    windows: quick,
                },
                DeadlineOverride {
                    xiaoqu: Some(x),
                    category: Some(Category::Safety),
                    windows: quicker,
                },
            ],
        };
        let accept = |x, c| policy.windows(x, c).accept.normal;
        assert_eq!(accept(x, Category::Safety), TimeDelta::minutes(30));
        assert_eq!(accept(x, Category::Noise), TimeDelta::hours(1));
        assert_eq!(accept(other, Category::Safety), TimeDelta::hours(12));
        assert_eq!(accept(other, Category::Noise), TimeDelta::hours(24));
    }
}
