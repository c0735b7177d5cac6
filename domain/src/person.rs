//! A person's personal data (PIPL): the `Person` aggregate.
//!
//! The stream of a person holds their name, phone and room only sealed (see
//! [`SealedPersonalData`]): the service encrypts with a key of that person's
//! own before a command reaches this aggregate. Erasure destroys that key
//! outside the event log and records [`PersonEvent::PersonalDataErased`]
//! here; the earlier events stay, so every stream still replays and its hash
//! chain still verifies, but the data can no longer be opened.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Role};
use crate::services::Clock;
use crate::values::AccountId;

/// Personal data as the service sealed it: opaque here, at most 4 KiB of
/// text in the service's sealed format (`lxpd1:` then base64url).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SealedPersonalData(String);

impl SealedPersonalData {
    pub const PREFIX: &'static str = "lxpd1:";
    pub const MAX_LEN: usize = 4096;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SealedPersonalData {
    type Error = PersonError;

    fn try_from(s: String) -> Result<Self, PersonError> {
        let body = s.strip_prefix(Self::PREFIX).unwrap_or_default();
        let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        if s.len() > Self::MAX_LEN || body.is_empty() || !body.bytes().all(base64url) {
            return Err(PersonError::NotSealed);
        }
        Ok(Self(s))
    }
}

impl From<SealedPersonalData> for String {
    fn from(s: SealedPersonalData) -> String {
        s.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PersonAction {
    /// Record a person's personal data for the first time.
    RegisterPerson {
        person: AccountId,
        personal_data: SealedPersonalData,
    },
    /// Replace it (a correction asked by the person or made by an admin).
    CorrectPersonalData { personal_data: SealedPersonalData },
    /// Record that the person's data key was destroyed.
    ErasePersonalData,
}

impl PersonAction {
    pub fn name(&self) -> &'static str {
        match self {
            PersonAction::RegisterPerson { .. } => "register_person",
            PersonAction::CorrectPersonalData { .. } => "correct_personal_data",
            PersonAction::ErasePersonalData => "erase_personal_data",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonCommand {
    pub actor: Actor,
    pub action: PersonAction,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PersonEvent {
    PersonRegistered {
        person: AccountId,
        personal_data: SealedPersonalData,
        at: DateTime<Utc>,
    },
    PersonalDataCorrected {
        personal_data: SealedPersonalData,
        at: DateTime<Utc>,
    },
    PersonalDataErased {
        at: DateTime<Utc>,
    },
}

impl DomainEvent for PersonEvent {
    fn event_type(&self) -> String {
        match self {
            PersonEvent::PersonRegistered { .. } => "PersonRegistered",
            PersonEvent::PersonalDataCorrected { .. } => "PersonalDataCorrected",
            PersonEvent::PersonalDataErased { .. } => "PersonalDataErased",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum PersonError {
    #[error("personal data must arrive sealed by the service")]
    NotSealed,
    #[error("this person is already registered")]
    AlreadyRegistered,
    #[error("no such person")]
    NotRegistered,
    #[error("this person's personal data was erased")]
    Erased,
    #[error("the role {0} may not do this")]
    NotPermitted(String),
}

/// What `Person::handle` consults: the clock.
#[derive(Clone, Debug)]
pub struct PersonServices {
    pub clock: Arc<dyn Clock>,
}

/// The current state of a person's stream.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: Option<AccountId>,
    /// The latest sealed data; `None` once erased.
    pub personal_data: Option<SealedPersonalData>,
    pub erased_at: Option<DateTime<Utc>>,
}

impl Person {
    /// The events a command produces, or why it is refused.
    pub fn decide(
        &self,
        command: PersonCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<PersonEvent>, PersonError> {
        let PersonCommand { actor, action } = command;
        let permitted = match &action {
            PersonAction::RegisterPerson { person, .. } => {
                matches!(actor.role, Role::Admin | Role::System) || actor.account == *person
            }
            PersonAction::CorrectPersonalData { .. } => {
                matches!(actor.role, Role::Admin) || Some(actor.account) == self.id
            }
            PersonAction::ErasePersonalData => matches!(actor.role, Role::Admin),
        };
        if !permitted {
            return Err(PersonError::NotPermitted(actor.role.as_str().to_owned()));
        }
        if self.erased_at.is_some() {
            return Err(PersonError::Erased);
        }
        match (self.id, action) {
            (
                None,
                PersonAction::RegisterPerson {
                    person,
                    personal_data,
                },
            ) => Ok(vec![PersonEvent::PersonRegistered {
                person,
                personal_data,
                at: now,
            }]),
            (Some(_), PersonAction::RegisterPerson { .. }) => Err(PersonError::AlreadyRegistered),
            // An account whose data predates person streams can still have
            // its erasure recorded.
            (_, PersonAction::ErasePersonalData) => {
                Ok(vec![PersonEvent::PersonalDataErased { at: now }])
            }
            (None, _) => Err(PersonError::NotRegistered),
            (Some(_), PersonAction::CorrectPersonalData { personal_data }) => {
                Ok(vec![PersonEvent::PersonalDataCorrected {
                    personal_data,
                    at: now,
                }])
            }
        }
    }
}

impl Aggregate for Person {
    /// Never changes once data exists: it is stored with every event.
    const TYPE: &'static str = "person";
    type Command = PersonCommand;
    type Event = PersonEvent;
    type Error = PersonError;
    type Services = PersonServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command, services.clock.now())? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            PersonEvent::PersonRegistered {
                person,
                personal_data,
                ..
            } => {
                self.id = Some(person);
                self.personal_data = Some(personal_data);
            }
            PersonEvent::PersonalDataCorrected { personal_data, .. } => {
                self.personal_data = Some(personal_data);
            }
            PersonEvent::PersonalDataErased { at } => {
                self.personal_data = None;
                self.erased_at = Some(at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(s: &str) -> SealedPersonalData {
        SealedPersonalData::try_from(format!("lxpd1:{s}")).expect("sealed")
    }

    fn run(person: &mut Person, actor: Actor, action: PersonAction) -> Result<(), PersonError> {
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        for event in person.decide(PersonCommand { actor, action }, now)? {
            person.apply(event);
        }
        Ok(())
    }

    #[test]
    fn a_person_is_registered_corrected_and_erased_once() {
        let alice = AccountId(uuid::Uuid::new_v4());
        let admin = Actor::new(AccountId(uuid::Uuid::new_v4()), Role::Admin);
        let herself = Actor::new(alice, Role::Resident);
        let mut p = Person::default();
        assert_eq!(
            run(
                &mut p,
                herself,
                PersonAction::CorrectPersonalData {
                    personal_data: sealed("a")
                }
            ),
            Err(PersonError::NotPermitted("resident".into()))
        );
        run(
            &mut p,
            admin,
            PersonAction::RegisterPerson {
                person: alice,
                personal_data: sealed("a"),
            },
        )
        .expect("register");
        assert_eq!(
            run(
                &mut p,
                admin,
                PersonAction::RegisterPerson {
                    person: alice,
                    personal_data: sealed("a"),
                }
            ),
            Err(PersonError::AlreadyRegistered)
        );
        run(
            &mut p,
            herself,
            PersonAction::CorrectPersonalData {
                personal_data: sealed("b"),
            },
        )
        .expect("the person corrects her own data");
        assert_eq!(p.personal_data, Some(sealed("b")));
        assert_eq!(
            run(&mut p, herself, PersonAction::ErasePersonalData),
            Err(PersonError::NotPermitted("resident".into()))
        );
        run(&mut p, admin, PersonAction::ErasePersonalData).expect("erase");
        assert_eq!(p.personal_data, None);
        assert!(p.erased_at.is_some());
        assert_eq!(
            run(&mut p, admin, PersonAction::ErasePersonalData),
            Err(PersonError::Erased)
        );
    }

    #[test]
    fn only_sealed_text_is_accepted() {
        for bad in ["王小明", "lxpd1:", "lxpd1:abc def", "lxpd2:abc"] {
            assert_eq!(
                SealedPersonalData::try_from(bad.to_owned()),
                Err(PersonError::NotSealed),
                "{bad}"
            );
        }
        let long = format!("lxpd1:{}", "a".repeat(SealedPersonalData::MAX_LEN));
        assert!(SealedPersonalData::try_from(long).is_err());
        let json = serde_json::to_string(&sealed("QUJD")).expect("json");
        assert_eq!(json, "\"lxpd1:QUJD\"");
        assert!(serde_json::from_str::<SealedPersonalData>("\"plain name\"").is_err());
    }
}
