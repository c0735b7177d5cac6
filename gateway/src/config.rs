//! The optional configuration file (`LIANXI_CONFIG`, TOML): deadline windows
//! with overrides per xiaoqu and category, a working-day calendar, and the
//! reopen window. Anything left out keeps the defaults of the domain.
//!
//! ```toml
//! reopen_window = "15d"
//! escalate_on_missed_obligation = false   # true: a missed obligation also climbs a tier at once
//!
//! [deadlines.default]
//! accept = { normal = "24h", urgent = "2h" }
//! convene = { normal = "48h", urgent = "48h" }   # urgent joint meeting on a major matter
//!
//! [[deadlines.overrides]]
//! xiaoqu = "幸福里"           # name or id; leave out for every xiaoqu
//! category = "safety"         # leave out for every category
//! accept = { normal = "4h", urgent = "1h" }
//!
//! [meetings]
//! quorum_others = 3           # party branch plus 3 of the other four parties
//! [[meetings.overrides]]
//! xiaoqu = "幸福里"
//! quorum_others = 2
//!
//! [calendar]
//! holidays = ["2026-10-01", "2026-10-02"]
//! working_weekends = ["2026-10-10"]
//! ```

use chrono::{NaiveDate, TimeDelta};
use lianxi_domain::deadline::{Calendar, DeadlineOverride, DeadlinePolicy, StageWindows, Window};
use lianxi_domain::meeting::{MeetingPolicy, QuorumRule};
use lianxi_domain::values::Category;
use lianxi_domain::GrievancePolicy;
use serde::Deserialize;

use crate::db::Database;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    reopen_window: Option<String>,
    escalate_on_missed_obligation: Option<bool>,
    #[serde(default)]
    deadlines: DeadlinesConfig,
    calendar: Option<CalendarConfig>,
    #[serde(default)]
    meetings: MeetingsConfig,
}

/// Joint meeting rules: the quorum (the party branch plus this many of the
/// other four parties), by default and per xiaoqu.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MeetingsConfig {
    quorum_others: Option<u8>,
    #[serde(default)]
    overrides: Vec<QuorumOverride>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuorumOverride {
    xiaoqu: String,
    quorum_others: u8,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeadlinesConfig {
    #[serde(default)]
    default: WindowsConfig,
    #[serde(default)]
    overrides: Vec<OverrideConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowsConfig {
    accept: Option<WindowConfig>,
    respond: Option<WindowConfig>,
    resolve: Option<WindowConfig>,
    convene: Option<WindowConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowConfig {
    normal: Option<String>,
    urgent: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideConfig {
    xiaoqu: Option<String>,
    category: Option<Category>,
    accept: Option<WindowConfig>,
    respond: Option<WindowConfig>,
    resolve: Option<WindowConfig>,
    convene: Option<WindowConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarConfig {
    #[serde(default)]
    holidays: Vec<NaiveDate>,
    #[serde(default)]
    working_weekends: Vec<NaiveDate>,
}

/// `30s`, `90m`, `24h`, `15d`.
pub fn parse_duration(text: &str) -> Result<TimeDelta, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as \"90m\", \"24h\" or \"15d\""))?;
    if n <= 0 {
        return Err(format!("{text:?} must be positive"));
    }
    match unit {
        "s" => Ok(TimeDelta::seconds(n)),
        "m" => Ok(TimeDelta::minutes(n)),
        "h" => Ok(TimeDelta::hours(n)),
        "d" => Ok(TimeDelta::days(n)),
        _ => Err(format!(
            "{text:?} is not a duration such as \"90m\", \"24h\" or \"15d\""
        )),
    }
}

fn window(base: Window, config: &Option<WindowConfig>, at: &str) -> Result<Window, String> {
    let Some(config) = config else {
        return Ok(base);
    };
    let get = |value: &Option<String>, fallback: TimeDelta, which: &str| {
        value
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| format!("{at}.{which}: {e}"))
            .map(|d| d.unwrap_or(fallback))
    };
    Ok(Window {
        normal: get(&config.normal, base.normal, "normal")?,
        urgent: get(&config.urgent, base.urgent, "urgent")?,
    })
}

/// The windows of accept, respond, resolve and convene, in that order.
type StageConfigs<'a> = [&'a Option<WindowConfig>; 4];

fn windows(base: StageWindows, given: StageConfigs, at: &str) -> Result<StageWindows, String> {
    let [accept, respond, resolve, convene] = given;
    Ok(StageWindows {
        accept: window(base.accept, accept, &format!("{at}.accept"))?,
        respond: window(base.respond, respond, &format!("{at}.respond"))?,
        resolve: window(base.resolve, resolve, &format!("{at}.resolve"))?,
        convene: window(base.convene, convene, &format!("{at}.convene"))?,
    })
}

impl FileConfig {
    pub fn parse(text: &str) -> Result<FileConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The joint meeting policy this file describes; xiaoqu names are looked up in `db`.
    pub async fn meeting_policy(&self, db: &Database) -> Result<MeetingPolicy, String> {
        let check = |n: u8, at: &str| {
            if n <= 4 {
                Ok(QuorumRule { others_required: n })
            } else {
                Err(format!(
                    "{at}: at most 4 (the parties besides the party branch)"
                ))
            }
        };
        let mut policy = MeetingPolicy::default();
        if let Some(n) = self.meetings.quorum_others {
            policy.default_quorum = check(n, "meetings.quorum_others")?;
        }
        for (i, o) in self.meetings.overrides.iter().enumerate() {
            let at = format!("meetings.overrides[{i}]");
            let xiaoqu = db
                .find_xiaoqu(&o.xiaoqu)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("{at}.xiaoqu: no xiaoqu {:?}", o.xiaoqu))?
                .id;
            let rule = check(o.quorum_others, &format!("{at}.quorum_others"))?;
            policy.quorum_by_xiaoqu.insert(xiaoqu, rule);
        }
        Ok(policy)
    }

    /// The grievance policy this file describes; xiaoqu names are looked up in `db`.
    pub async fn policy(&self, db: &Database) -> Result<GrievancePolicy, String> {
        let mut policy = GrievancePolicy::default();
        if let Some(escalate) = self.escalate_on_missed_obligation {
            policy.escalate_on_missed_obligation = escalate;
        }
        if let Some(text) = &self.reopen_window {
            policy.reopen_window =
                parse_duration(text).map_err(|e| format!("reopen_window: {e}"))?;
        }
        let d = &self.deadlines.default;
        let default = windows(
            StageWindows::default(),
            [&d.accept, &d.respond, &d.resolve, &d.convene],
            "deadlines.default",
        )?;
        let mut overrides = Vec::new();
        for (i, o) in self.deadlines.overrides.iter().enumerate() {
            let at = format!("deadlines.overrides[{i}]");
            let xiaoqu = match &o.xiaoqu {
                Some(name) => Some(
                    db.find_xiaoqu(name)
                        .await
                        .map_err(|e| e.to_string())?
                        .ok_or_else(|| format!("{at}.xiaoqu: no xiaoqu {name:?}"))?
                        .id,
                ),
                None => None,
            };
            if xiaoqu.is_none() && o.category.is_none() {
                return Err(format!("{at}: give a xiaoqu, a category or both"));
            }
            overrides.push(DeadlineOverride {
                xiaoqu,
                category: o.category,
                windows: windows(
                    default,
                    [&o.accept, &o.respond, &o.resolve, &o.convene],
                    &at,
                )?,
            });
        }
        policy.deadlines = DeadlinePolicy {
            default,
            overrides,
            calendar: self.calendar.as_ref().map(|c| Calendar {
                holidays: c.holidays.iter().copied().collect(),
                working_weekends: c.working_weekends.iter().copied().collect(),
            }),
        };
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_minutes_hours_and_days() {
        assert_eq!(parse_duration("90m"), Ok(TimeDelta::minutes(90)));
        assert_eq!(parse_duration("24h"), Ok(TimeDelta::hours(24)));
        assert_eq!(parse_duration("15d"), Ok(TimeDelta::days(15)));
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("0h").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[tokio::test]
    async fn a_missed_obligation_escalates_at_once_only_when_the_file_says_so() {
        let db = Database::connect("sqlite::memory:", crate::db::PoolSettings::default())
            .await
            .expect("an in-memory store");
        let default = FileConfig::parse("").expect("empty").policy(&db).await;
        assert!(!default.expect("a policy").escalate_on_missed_obligation);
        let set = FileConfig::parse("escalate_on_missed_obligation = true")
            .expect("parsed")
            .policy(&db)
            .await;
        assert!(set.expect("a policy").escalate_on_missed_obligation);
        assert!(FileConfig::parse("escalate_on_missed_obligation = \"yes\"").is_err());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_their_place() {
        assert!(FileConfig::parse("[deadlines.default]\naccept = { normal = \"4h\" }").is_ok());
        let e = FileConfig::parse("deadline = 3").expect_err("unknown key");
        assert!(e.contains("deadline"), "{e}");
        let e = FileConfig::parse("[[deadlines.overrides]]\ncategory = \"gossip\"")
            .expect_err("bad category");
        assert!(e.contains("gossip"), "{e}");
    }
}
