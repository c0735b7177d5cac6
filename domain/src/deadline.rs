//! Deadlines per stage (接诉即办): accept, respond, resolve, with the
//! defaults of DOMAIN.md and overrides per xiaoqu and category.

use chrono::{DateTime, TimeDelta, Utc};
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
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Accept => "accept",
            Stage::Respond => "respond",
            Stage::Resolve => "resolve",
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

/// The windows of the three stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageWindows {
    pub accept: Window,
    pub respond: Window,
    pub resolve: Window,
}

impl StageWindows {
    pub fn window(&self, stage: Stage) -> Window {
        match stage {
            Stage::Accept => self.accept,
            Stage::Respond => self.respond,
            Stage::Resolve => self.resolve,
        }
    }
}

impl Default for StageWindows {
    /// Accept within 24 h (urgent 2 h); respond within 72 h (urgent 24 h);
    /// resolve within 15 days (urgent 72 h).
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

/// The deadline rules: defaults, and overrides where the most specific wins
/// (xiaoqu and category, then xiaoqu, then category).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeadlinePolicy {
    pub default: StageWindows,
    pub overrides: Vec<DeadlineOverride>,
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
