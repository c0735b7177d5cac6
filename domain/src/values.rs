//! Value types, parsed at the edge so that invalid values cannot exist inside.
//!
//! `parse` validates; deserialization (from stored events) does not, because
//! history must always load even if a rule is tightened later.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a value was refused. The gateway adds the field name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
    /// Bidirectional formatting (U+202A–U+202E, U+2066–U+2069, U+200E,
    /// U+200F, U+061C) would make the text display otherwise than it reads.
    #[error("must not contain bidirectional control characters")]
    BidiControl,
    #[error("{0}")]
    Invalid(&'static str),
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, ValueError> {
                Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| ValueError::Invalid("must be a UUID"))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A grievance's id; also its stream's aggregate id.
    GrievanceId
);
id_type!(
    /// An account (a person or a party's operator).
    AccountId
);
id_type!(
    /// A xiaoqu (residential compound).
    XiaoquId
);
id_type!(
    /// A mediation case (调解); also its stream's aggregate id.
    CaseId
);
id_type!(
    /// A joint meeting (联席会议); also its stream's aggregate id.
    MeetingId
);
id_type!(
    /// An item on a joint meeting's agenda.
    AgendaItemId
);
id_type!(
    /// An action item (督办事项) decided at a joint meeting.
    ActionItemId
);
id_type!(
    /// An obligation of one party under a mediation agreement.
    ObligationId
);
id_type!(
    /// An organization acting as a party of one or more xiaoqu (a property
    /// company serving several, a volunteer group).
    OrganizationId
);

id_type!(
    /// An owners' vote (业主表决); also its stream's aggregate id.
    VoteId
);
id_type!(
    /// A unit (专有部分) of the owners' register: an apartment, a shop.
    UnitId
);

id_type!(
    /// A micro-project (微项目); also its stream's aggregate id.
    ProjectId
);
id_type!(
    /// A micro-fund (微基金); also its stream's aggregate id.
    FundId
);

fn clean(input: &str, multiline: bool) -> Result<String, ValueError> {
    let trimmed = input.trim();
    let bad = |c: char| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r'));
    if trimmed.chars().any(bad) {
        return Err(ValueError::ControlCharacter);
    }
    if trimmed.chars().any(is_bidi_control) {
        return Err(ValueError::BidiControl);
    }
    Ok(trimmed.to_owned())
}

/// The characters that reorder text as displayed (Unicode's bidirectional
/// formatting characters): U+202E before "txt.exe" shows it as "exe.txt".
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, allow_empty = $allow_empty:expr, max = $max:expr, multiline = $multi:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;
            /// Whether blank input (nothing once trimmed) is accepted.
            pub const MAY_BE_EMPTY: bool = $allow_empty;
            /// Whether line breaks and tabs may stand inside the text.
            pub const MULTILINE: bool = $multi;

            /// Trims the input and checks its length (in characters) and content.
            pub fn parse(input: &str) -> Result<Self, ValueError> {
                let text = clean(input, $multi)?;
                let len = text.chars().count();
                if len == 0 && !$allow_empty {
                    return Err(ValueError::Empty);
                }
                if len > $max {
                    return Err(ValueError::TooLong { max: $max });
                }
                Ok(Self(text))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

bounded_text!(
    /// A grievance's title: 1–120 characters, one line.
    Title, allow_empty = false, max = 120, multiline = false
);
bounded_text!(
    /// A grievance's description: up to 4,000 characters.
    Description, allow_empty = true, max = 4000, multiline = true
);
bounded_text!(
    /// A stated reason (rejection, reopening, escalation note): 1–1,000 characters.
    Reason, allow_empty = false, max = 1000, multiline = true
);
bounded_text!(
    /// A respondent's answer or a resolution summary: 1–4,000 characters.
    Statement, allow_empty = false, max = 4000, multiline = true
);
bounded_text!(
    /// A filer's comment on the outcome: 1–1,000 characters.
    Comment, allow_empty = false, max = 1000, multiline = true
);
bounded_text!(
    /// The name of a xiaoqu, community, street, district or organization:
    /// 1–100 characters, one line.
    PlaceName, allow_empty = false, max = 100, multiline = false
);
bounded_text!(
    /// A short label, such as a building or common-area name: 1–64 characters.
    Label, allow_empty = false, max = 64, multiline = false
);

/// What a grievance is about (DOMAIN.md categories).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    PropertyService,
    Fees,
    Repairs,
    MaintenanceFund,
    PublicRevenue,
    Parking,
    Sanitation,
    Safety,
    Noise,
    Renovation,
    Neighbour,
    OwnersCommittee,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Normal,
    Urgent,
}

/// How the grievance reached the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    Phone,
    InPerson,
    Wechat,
}

/// Whom the filer names as responsible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Respondent {
    PropertyCompany,
    OwnersCommittee,
    Neighbour,
    Unknown,
}

/// 三事分流: the matter class set at triage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatterClass {
    Major,
    Minor,
    Private,
}

/// The escalation ladder: xiaoqu → community → street → district.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Xiaoqu,
    Community,
    Street,
    District,
}

impl Tier {
    /// The tier one step up, if any.
    pub fn next(self) -> Option<Tier> {
        match self {
            Tier::Xiaoqu => Some(Tier::Community),
            Tier::Community => Some(Tier::Street),
            Tier::Street => Some(Tier::District),
            Tier::District => None,
        }
    }
}

/// A party that can be made responsible for handling a grievance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyRole {
    PartyBranch,
    PropertyCompany,
    OwnersCommittee,
    SupervisoryCommittee,
    MicroOrganization,
    Community,
    Street,
    District,
}

impl PartyRole {
    /// The five parties of a xiaoqu that sit at its joint meetings
    /// (五方联动), the party branch first.
    pub const MEETING_PARTIES: [PartyRole; 5] = [
        PartyRole::PartyBranch,
        PartyRole::OwnersCommittee,
        PartyRole::SupervisoryCommittee,
        PartyRole::PropertyCompany,
        PartyRole::MicroOrganization,
    ];
}

/// 大事紧急议、小事定期议: a joint meeting is regular or urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingKind {
    Regular,
    Urgent,
}

/// A party's position on a joint meeting's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stance {
    Agree,
    Object,
    Abstain,
}

/// The filer's verdict on the outcome (满意 / 基本满意 / 不满意).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Satisfied,
    MostlySatisfied,
    Unsatisfied,
}

/// Why a grievance moved up a tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationReason {
    DeadlineMissed,
    FilerRequest,
    MediationFailed,
    Manual,
    /// An obligation of a mediation agreement was missed, and the
    /// deployment escalates at once on that (`GrievancePolicy`).
    ObligationMissed,
}

/// Where the matter is: a building and unit, or a common area. No room
/// numbers: those are personal data.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Location {
    pub building: Option<Label>,
    pub unit: Option<Label>,
    pub common_area: Option<Label>,
}

impl Location {
    /// At least one of building or common area must be given; a unit needs a building.
    pub fn new(
        building: Option<Label>,
        unit: Option<Label>,
        common_area: Option<Label>,
    ) -> Result<Self, ValueError> {
        if building.is_none() && common_area.is_none() {
            return Err(ValueError::Invalid("needs a building or a common area"));
        }
        if unit.is_some() && building.is_none() {
            return Err(ValueError::Invalid("a unit needs a building"));
        }
        Ok(Self {
            building,
            unit,
            common_area,
        })
    }
}

/// A SHA-256 digest as 64 lowercase hex characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sha256Hex(String);

impl Sha256Hex {
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let s = input.trim().to_ascii_lowercase();
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ValueError::Invalid("must be 64 hexadecimal characters"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A media type such as `image/jpeg` (RFC 6838 restricted names, no parameters).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MediaType(String);

impl MediaType {
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let s = input.trim().to_ascii_lowercase();
        let name_ok = |part: &str| {
            !part.is_empty()
                && part.len() <= 63
                && part.starts_with(|c: char| c.is_ascii_alphanumeric())
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
        };
        match s.split_once('/') {
            Some((top, sub)) if name_ok(top) && name_ok(sub) => Ok(Self(s)),
            _ => Err(ValueError::Invalid(
                "must be a media type such as image/jpeg",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A file kept outside the event store, known by its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub sha256: Sha256Hex,
    pub media_type: MediaType,
    pub size: u64,
}

impl Attachment {
    /// Largest accepted attachment: 50 MiB.
    pub const MAX_SIZE: u64 = 50 * 1024 * 1024;
    /// Most attachments on one grievance.
    pub const MAX_COUNT: usize = 10;

    pub fn new(sha256: Sha256Hex, media_type: MediaType, size: u64) -> Result<Self, ValueError> {
        if size == 0 {
            return Err(ValueError::Invalid("must not be empty"));
        }
        if size > Self::MAX_SIZE {
            return Err(ValueError::Invalid("must be at most 52428800 bytes"));
        }
        Ok(Self {
            sha256,
            media_type,
            size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_is_trimmed_and_bounded_in_characters_not_bytes() {
        assert_eq!(
            Title::parse("  电梯坏了  ").map(|t| t.0),
            Ok("电梯坏了".into())
        );
        assert!(Title::parse(&"电".repeat(120)).is_ok());
        assert_eq!(
            Title::parse(&"电".repeat(121)),
            Err(ValueError::TooLong { max: 120 })
        );
        assert_eq!(Title::parse("   "), Err(ValueError::Empty));
        assert_eq!(Title::parse("a\nb"), Err(ValueError::ControlCharacter));
        assert_eq!(
            Title::parse("物业费\u{202E}退还"),
            Err(ValueError::BidiControl)
        );
        assert_eq!(
            Description::parse("第一行\n\u{2067}第二行"),
            Err(ValueError::BidiControl)
        );
        assert_eq!(Label::parse("3栋\u{200F}"), Err(ValueError::BidiControl));
    }

    #[test]
    fn description_allows_lines_and_up_to_4000_characters() {
        assert!(Description::parse("line one\nline two").is_ok());
        assert!(Description::parse("").is_ok());
        assert!(Description::parse(&"x".repeat(4000)).is_ok());
        assert_eq!(
            Description::parse(&"x".repeat(4001)),
            Err(ValueError::TooLong { max: 4000 })
        );
    }

    #[test]
    fn location_needs_a_place() {
        let b = Label::parse("3栋").ok();
        let u = Label::parse("2单元").ok();
        assert!(Location::new(b.clone(), u.clone(), None).is_ok());
        assert!(Location::new(None, None, None).is_err());
        assert!(Location::new(None, u, Label::parse("花园").ok()).is_err());
    }

    #[test]
    fn attachment_parts_are_checked() {
        assert!(Sha256Hex::parse(&"a".repeat(64)).is_ok());
        assert!(Sha256Hex::parse(&"g".repeat(64)).is_err());
        assert!(Sha256Hex::parse("abc").is_err());
        assert!(MediaType::parse("image/jpeg").is_ok());
        assert!(MediaType::parse("application/vnd.ms-excel").is_ok());
        assert!(MediaType::parse("image").is_err());
        assert!(MediaType::parse("image/jpeg; q=1").is_err());
        let digest = Sha256Hex::parse(&"0".repeat(64)).expect("digest");
        let mt = MediaType::parse("image/png").expect("media type");
        assert!(Attachment::new(digest.clone(), mt.clone(), 1).is_ok());
        assert!(Attachment::new(digest.clone(), mt.clone(), 0).is_err());
        assert!(Attachment::new(digest, mt, Attachment::MAX_SIZE + 1).is_err());
    }

    #[test]
    fn tiers_climb_to_the_district_and_stop() {
        assert_eq!(Tier::Xiaoqu.next(), Some(Tier::Community));
        assert_eq!(Tier::Street.next(), Some(Tier::District));
        assert_eq!(Tier::District.next(), None);
    }
}
