//! What the service's parsers enforce on request bodies, stated in the
//! OpenAPI document where the Rust types alone leave it out: each text's
//! pattern and length (from the domain value type that parses it), the
//! names a string field takes, and list bounds. A request the document
//! admits is then one the service reads; a fuzzer holds it to that both
//! ways (`tests/fuzz/schemathesis.py`, positive and negative data).
//!
//! A text value is trimmed of white space (as Rust's `char::is_whitespace`
//! counts it), then must hold no control character (multi-line texts may
//! hold line breaks and tabs) and no bidirectional formatting character,
//! and count at least one character unless it may be empty, and at most
//! the type's maximum. The pattern states exactly that, the length
//! included: a `maxLength` would count the white space around, which the
//! service does not.

use lianxi_domain::micro::MOST_AMOUNT;
use lianxi_domain::values::{
    Attachment, Comment, Description, Label, PlaceName, Reason, Statement, Title,
};
use serde_json::{json, Value};
use utoipa::openapi::{OpenApi, RefOr, Schema};
use utoipa::Modify;

/// White space as Rust trims it (`char::is_whitespace`).
const SPACE: &str = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Bidirectional formatting characters (`values::is_bidi_control`).
const BIDI: &str = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069";

/// The rule of one domain text type.
#[derive(Clone, Copy, Debug)]
pub(super) struct Text {
    max: usize,
    may_be_empty: bool,
    multiline: bool,
}

impl Text {
    const TITLE: Text = Text::new(Title::MAX_CHARS, Title::MAY_BE_EMPTY, Title::MULTILINE);
    const DESCRIPTION: Text = Text::new(
        Description::MAX_CHARS,
        Description::MAY_BE_EMPTY,
        Description::MULTILINE,
    );
    const REASON: Text = Text::new(Reason::MAX_CHARS, Reason::MAY_BE_EMPTY, Reason::MULTILINE);
    const STATEMENT: Text = Text::new(
        Statement::MAX_CHARS,
        Statement::MAY_BE_EMPTY,
        Statement::MULTILINE,
    );
    const COMMENT: Text = Text::new(
        Comment::MAX_CHARS,
        Comment::MAY_BE_EMPTY,
        Comment::MULTILINE,
    );
    const PLACE_NAME: Text = Text::new(
        PlaceName::MAX_CHARS,
        PlaceName::MAY_BE_EMPTY,
        PlaceName::MULTILINE,
    );
    const LABEL: Text = Text::new(Label::MAX_CHARS, Label::MAY_BE_EMPTY, Label::MULTILINE);

    const fn new(max: usize, may_be_empty: bool, multiline: bool) -> Text {
        Text {
            max,
            may_be_empty,
            multiline,
        }
    }

    /// The text as a JSON Schema pattern: white space around, then (unless
    /// it may be empty) a character that is neither white space nor refused,
    /// and allowed characters up to another such one, `max` in all.
    pub(super) fn pattern(self) -> String {
        let control = if self.multiline {
            r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
        } else {
            r"\x00-\x1f\x7f-\x9f"
        };
        let edge = format!(r"[^{SPACE}{control}{BIDI}]");
        let inner = format!(r"[^{control}{BIDI}]");
        let body = format!(
            "{edge}(?:{inner}{{0,{}}}{edge})?",
            self.max.saturating_sub(2)
        );
        let body = if self.may_be_empty {
            format!("(?:{body})?")
        } else {
            body
        };
        format!("^[{SPACE}]*{body}[{SPACE}]*$")
    }

    fn apply(self, schema: &mut Value) {
        schema["pattern"] = json!(self.pattern());
        unbounded(schema);
        if !self.may_be_empty {
            schema["minLength"] = json!(1);
        }
    }
}

/// What a string field of a request body must be.
#[derive(Clone, Copy, Debug)]
enum Rule {
    Text(Text),
    /// Trimmed, then 1 to this many characters (names of people, logins).
    Trimmed(usize),
    /// Trimmed, then at most this many characters; blank counts as absent.
    AtMost(usize),
    /// A password: this many characters, as sent, neither starting nor
    /// ending with white space.
    Password(usize, usize),
    /// One of these names.
    OneOf(&'static [&'static str]),
    /// A list of at least and at most this many items.
    Items(usize, usize),
    /// A list naming each item once.
    Unique,
    /// A whole number in this range.
    Range(u64, u64),
    /// A string matching this pattern.
    Pattern(&'static str),
}

const ROLES: [&str; 11] = [
    "resident",
    "property_company",
    "owners_committee",
    "supervisory_committee",
    "micro_organization",
    "party_branch",
    "community",
    "street",
    "district",
    "auditor",
    "admin",
];
const MEETING_PARTIES: [&str; 5] = [
    "party_branch",
    "owners_committee",
    "supervisory_committee",
    "property_company",
    "micro_organization",
];

/// Each field the Rust types leave loose, by schema and property.
const FIELDS: &[(&str, &str, Rule)] = &[
    ("FileGrievanceRequest", "title", Rule::Text(Text::TITLE)),
    (
        "FileGrievanceRequest",
        "description",
        Rule::Text(Text::DESCRIPTION),
    ),
    (
        "FileGrievanceRequest",
        "attachments",
        Rule::Items(0, Attachment::MAX_COUNT),
    ),
    ("LocationDto", "building", Rule::Text(Text::LABEL)),
    ("LocationDto", "unit", Rule::Text(Text::LABEL)),
    ("LocationDto", "common_area", Rule::Text(Text::LABEL)),
    (
        "AttachmentDto",
        "media_type",
        Rule::Pattern(
            r"^[\t\n\x0b\x0c\r ]*[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}[\t\n\x0b\x0c\r ]*$",
        ),
    ),
    (
        "AttachmentDto",
        "size",
        Rule::Range(1, Attachment::MAX_SIZE),
    ),
    ("ReasonRequest", "reason", Rule::Text(Text::REASON)),
    ("WithdrawRequest", "reason", Rule::Text(Text::REASON)),
    ("AssignRequest", "note", Rule::Text(Text::REASON)),
    ("EscalateRequest", "note", Rule::Text(Text::REASON)),
    ("ReferToMeetingRequest", "note", Rule::Text(Text::REASON)),
    ("RespondRequest", "response", Rule::Text(Text::STATEMENT)),
    ("ResolveRequest", "summary", Rule::Text(Text::STATEMENT)),
    ("RateRequest", "comment", Rule::Text(Text::COMMENT)),
    (
        "MergeDuplicatesRequest",
        "duplicates",
        Rule::Items(1, crate::app::grievances::MAX_MERGED_AT_ONCE),
    ),
    ("OpenCaseRequest", "matter", Rule::Text(Text::TITLE)),
    ("OpenCaseRequest", "grievances", Rule::Items(1, usize::MAX)),
    ("CasePartyDto", "kind", Rule::OneOf(&["person", "party"])),
    ("ScheduleRequest", "place", Rule::Text(Text::LABEL)),
    ("StatementDto", "statement", Rule::Text(Text::STATEMENT)),
    ("ProposeRequest", "terms", Rule::Text(Text::STATEMENT)),
    (
        "ObligationRequest",
        "description",
        Rule::Text(Text::STATEMENT),
    ),
    ("DeclineRequest", "reason", Rule::Text(Text::REASON)),
    ("FailRequest", "reason", Rule::Text(Text::REASON)),
    ("ObligationNoteRequest", "note", Rule::Text(Text::REASON)),
    ("AgendaItemRequest", "title", Rule::Text(Text::TITLE)),
    (
        "SubjectDto",
        "kind",
        Rule::OneOf(&["grievance", "mediation_case", "action_item", "other"]),
    ),
    ("ConveneRequest", "place", Rule::Text(Text::LABEL)),
    ("OpenRequest", "present_parties", Rule::Unique),
    ("OpenRequest", "present_people", Rule::Unique),
    (
        "ActionItemRequest",
        "description",
        Rule::Text(Text::STATEMENT),
    ),
    ("DecisionRequest", "summary", Rule::Text(Text::STATEMENT)),
    ("DecisionRequest", "decision", Rule::Text(Text::STATEMENT)),
    ("MeetingReasonRequest", "reason", Rule::Text(Text::REASON)),
    (
        "CloseRequest",
        "public_summary",
        Rule::Text(Text::STATEMENT),
    ),
    ("CompletionRequest", "note", Rule::Text(Text::STATEMENT)),
    ("OpenVoteRequest", "question", Rule::Text(Text::TITLE)),
    (
        "OpenVoteRequest",
        "explanation",
        Rule::Text(Text::STATEMENT),
    ),
    ("OpenFundRequest", "name", Rule::Text(Text::PLACE_NAME)),
    ("OpenFundRequest", "donor", Rule::Text(Text::PLACE_NAME)),
    ("OpenFundRequest", "community", Rule::Text(Text::PLACE_NAME)),
    ("IncomeRequest", "amount_fen", Rule::Range(1, MOST_AMOUNT)),
    ("IncomeRequest", "name", Rule::Text(Text::LABEL)),
    ("SpendingRequest", "amount_fen", Rule::Range(1, MOST_AMOUNT)),
    ("SpendingRequest", "purpose", Rule::Text(Text::STATEMENT)),
    ("ProposeProjectRequest", "title", Rule::Text(Text::TITLE)),
    ("ProposeProjectRequest", "plan", Rule::Text(Text::STATEMENT)),
    (
        "ProposeProjectRequest",
        "budget_fen",
        Rule::Range(1, MOST_AMOUNT),
    ),
    ("ReviewRequest", "opinion", Rule::Text(Text::STATEMENT)),
    ("TextRequest", "text", Rule::Text(Text::STATEMENT)),
    ("ReportRequest", "text", Rule::Text(Text::STATEMENT)),
    (
        "ReportRequest",
        "receipts",
        Rule::Items(1, Attachment::MAX_COUNT),
    ),
    ("RatingRequest", "stars", Rule::Range(1, 5)),
    ("XiaoquRequest", "name", Rule::Text(Text::PLACE_NAME)),
    ("XiaoquRequest", "community", Rule::Text(Text::PLACE_NAME)),
    ("XiaoquRequest", "street", Rule::Text(Text::PLACE_NAME)),
    ("XiaoquRequest", "district", Rule::Text(Text::PLACE_NAME)),
    ("MoveRequest", "community", Rule::Text(Text::PLACE_NAME)),
    ("MoveRequest", "street", Rule::Text(Text::PLACE_NAME)),
    ("MoveRequest", "district", Rule::Text(Text::PLACE_NAME)),
    ("RenameRequest", "name", Rule::Text(Text::PLACE_NAME)),
    ("PartyRequest", "name", Rule::Text(Text::PLACE_NAME)),
    ("PartyRequest", "party", Rule::OneOf(&MEETING_PARTIES)),
    ("RetireRequest", "party", Rule::OneOf(&MEETING_PARTIES)),
    ("AccountRequest", "role", Rule::OneOf(&ROLES)),
    ("AccountRequest", "login", Rule::Trimmed(64)),
    (
        "AccountRequest",
        "password",
        Rule::Password(
            *crate::app::auth::PASSWORD_LENGTH.start(),
            *crate::app::auth::PASSWORD_LENGTH.end(),
        ),
    ),
    ("RoleGrantDto", "role", Rule::OneOf(&ROLES)),
    ("LoginRequest", "role", Rule::OneOf(&ROLES)),
    (
        "LoginRequest",
        "password",
        Rule::Password(
            *crate::app::auth::PASSWORD_LENGTH.start(),
            *crate::app::auth::PASSWORD_LENGTH.end(),
        ),
    ),
    ("PersonalDataRequest", "name", Rule::Trimmed(100)),
    ("PersonalDataRequest", "phone", Rule::AtMost(32)),
    ("PersonalDataRequest", "room", Rule::AtMost(100)),
    (
        "CheckpointFile",
        "format",
        Rule::OneOf(&[crate::app::audit::CHECKPOINT_FORMAT]),
    ),
    (
        "SubscribeRequest",
        "url",
        Rule::Pattern(
            r"^https?://[^\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$",
        ),
    ),
];

impl Rule {
    fn apply(self, schema: &mut Value) {
        match self {
            Rule::Text(text) => text.apply(schema),
            Rule::Trimmed(max) => {
                schema["pattern"] = json!(format!("^[{SPACE}]*{}[{SPACE}]*$", trimmed(max)));
                unbounded(schema);
            }
            Rule::AtMost(max) => {
                schema["pattern"] = json!(format!("^[{SPACE}]*(?:{})?[{SPACE}]*$", trimmed(max)));
                unbounded(schema);
            }
            Rule::Password(min, max) => {
                schema["pattern"] = json!(format!(r"^[^{SPACE}](?:[\s\S]*[^{SPACE}])?$"));
                schema["minLength"] = json!(min);
                schema["maxLength"] = json!(max);
            }
            Rule::OneOf(names) => {
                let mut all = json!(names);
                // An optional field still takes null.
                let nullable = schema["type"]
                    .as_array()
                    .is_some_and(|types| types.contains(&json!("null")));
                if nullable {
                    all.as_array_mut().expect("a list").push(Value::Null);
                }
                schema["enum"] = all;
            }
            Rule::Items(min, max) => {
                if min > 0 {
                    schema["minItems"] = json!(min);
                }
                if max < usize::MAX {
                    schema["maxItems"] = json!(max);
                }
            }
            Rule::Unique => schema["uniqueItems"] = json!(true),
            Rule::Range(min, max) => {
                schema["minimum"] = json!(min);
                schema["maximum"] = json!(max);
            }
            Rule::Pattern(pattern) => schema["pattern"] = json!(pattern),
        }
    }
}

/// Any text of 1 to `max` characters that neither starts nor ends with
/// white space.
fn trimmed(max: usize) -> String {
    format!(
        r"[^{SPACE}](?:[\s\S]{{0,{}}}[^{SPACE}])?",
        max.saturating_sub(2)
    )
}

/// Without a `maxLength`: the pattern bounds the trimmed text.
fn unbounded(schema: &mut Value) {
    if let Some(schema) = schema.as_object_mut() {
        schema.remove("maxLength");
    }
}

/// The schema a property's value is: the property's own, or the first
/// non-null member of its `oneOf` (an optional field).
fn value_schema(property: &mut Value) -> &mut Value {
    let nullable = property
        .get("oneOf")
        .and_then(Value::as_array)
        .and_then(|all| {
            all.iter()
                .position(|s| s.get("type") != Some(&json!("null")))
        });
    match nullable {
        Some(i) => &mut property["oneOf"][i],
        None => property,
    }
}

/// Sets each rule of [`FIELDS`]. Panics (at the first
/// request for the document, so in every test that reads it) when a listed
/// schema or property no longer exists: the list follows the types.
pub(super) struct RequestRules;

impl Modify for RequestRules {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, property, rule) in FIELDS {
            let Some(RefOr::T(schema)) = components.schemas.get_mut(*name) else {
                panic!("the OpenAPI document has no schema {name}");
            };
            let mut value = serde_json::to_value(&*schema).expect("a schema is JSON");
            let found = value
                .get_mut("properties")
                .and_then(|p| p.get_mut(*property))
                .unwrap_or_else(|| panic!("{name} has no property {property}"));
            rule.apply(value_schema(found));
            *schema = serde_json::from_value::<Schema>(value).expect("still a schema");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianxi_domain::Role;

    #[test]
    fn the_roles_are_every_role_an_account_may_hold() {
        let roles: Vec<&str> = Role::ALL
            .into_iter()
            .filter(|r| *r != Role::System)
            .map(Role::as_str)
            .collect();
        assert_eq!(roles, ROLES);
        let parties: Vec<String> = lianxi_domain::values::PartyRole::MEETING_PARTIES
            .into_iter()
            .map(crate::app::policy::wire_party)
            .collect();
        assert_eq!(parties, MEETING_PARTIES);
    }

    #[test]
    fn a_text_pattern_bounds_the_trimmed_text_and_allows_line_breaks_only_where_parsed() {
        let line = Text::LABEL.pattern();
        let lines = Text::REASON.pattern();
        let empty = Text::DESCRIPTION.pattern();
        // White space around, unbounded; the text within, at most `max`.
        assert!(line.starts_with(&format!("^[{SPACE}]*")));
        assert!(line.ends_with(&format!("[{SPACE}]*$")));
        assert!(line.contains("{0,62}") && lines.contains("{0,998}"));
        // One line: every control character out; several: tab, LF, CR in.
        assert!(line.contains(r"\x00-\x1f") && !lines.contains(r"\x00-\x1f"));
        assert!(lines.contains(r"\x00-\x08\x0b\x0c\x0e-\x1f"));
        // Only a description may be blank.
        assert!(empty.contains("])?)?[") && !line.contains(")?)?"));
        assert!(line.contains(BIDI) && lines.contains(BIDI));
    }
}
