//! People and their personal data: the `person` streams, sealed with each
//! person's own key (see [`crate::vault`]), and erasure.

use std::sync::Arc;

use cqrs_es::AggregateError;
use lianxi_domain::person::SealedPersonalData;
use lianxi_domain::values::AccountId;
use lianxi_domain::{
    Actor, Clock, Person, PersonAction, PersonCommand, PersonError, PersonServices,
};
use tracing::Instrument;

use crate::db::{Database, DbError};
use crate::event_log::streams::{Attempt, Streams};
use crate::event_log::{metadata_map, CommandMetadata};
use crate::vault::{PersonalData, Vault, VaultError};

/// What the service can say of a person's personal data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersonalView {
    Present(PersonalData),
    /// Erased on request: the key is gone.
    Erased,
    /// No personal data was ever recorded for this account.
    Unrecorded,
}

#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    #[error(transparent)]
    Domain(#[from] PersonError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the person's stream kept changing; retries exhausted")]
    Conflict,
    #[error("the event store is unreachable: {0}")]
    Unavailable(String),
    #[error("event store: {0}")]
    Store(String),
    /// The stored key or data does not open with this master key.
    #[error("the personal data of {0} does not open with this master key: {1}")]
    Unopenable(AccountId, VaultError),
}

impl From<AggregateError<PersonError>> for PeopleError {
    fn from(e: AggregateError<PersonError>) -> Self {
        match e {
            AggregateError::UserError(e) => PeopleError::Domain(e),
            AggregateError::AggregateConflict => PeopleError::Conflict,
            AggregateError::DatabaseConnectionError(e) => PeopleError::Unavailable(e.to_string()),
            AggregateError::UnexpectedError(e) if crate::db::caused_by_unavailable(e.as_ref()) => {
                PeopleError::Unavailable(e.to_string())
            }
            other => PeopleError::Store(other.to_string()),
        }
    }
}

impl From<Attempt<PersonError>> for PeopleError {
    fn from(e: Attempt<PersonError>) -> Self {
        match e {
            // Person commands never name a version.
            Attempt::Stale { .. } => PeopleError::Conflict,
            Attempt::Failed(e) => e.into(),
        }
    }
}

/// Why a master-key rotation stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum RewrapError {
    /// The current master key cannot open a stored key.
    #[error(transparent)]
    Stale(VaultError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The person streams and the vault that seals them.
pub struct People {
    store: Streams<Person>,
    db: Database,
    vault: Arc<Vault>,
    services: PersonServices,
}

impl std::fmt::Debug for People {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("People").finish_non_exhaustive()
    }
}

impl People {
    pub fn new(db: &Database, vault: Arc<Vault>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store: Streams::new(db),
            db: db.clone(),
            vault,
            services: PersonServices { clock },
        }
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Re-wraps every person's data key and every vault secret from this
    /// vault's master key to `new`'s, and stores them all; how many. If the
    /// current key cannot open one, nothing is stored.
    pub async fn rewrap_under(&self, new: &Vault) -> Result<usize, RewrapError> {
        let keys = self.db.person_keys().await?;
        let secrets = self.db.vault_secrets().await?;
        let current = &*self.vault;
        let keys = keys
            .iter()
            .map(|(p, w)| Ok((*p, new.rewrap(current, *p, w)?)))
            .collect::<Result<Vec<_>, VaultError>>()
            .map_err(RewrapError::Stale)?;
        let secrets = secrets
            .iter()
            .map(|(n, w)| Ok((n.clone(), new.rewrap_secret(current, n, w)?)))
            .collect::<Result<Vec<_>, VaultError>>()
            .map_err(RewrapError::Stale)?;
        self.db.replace_wrapped(&keys, &secrets).await?;
        Ok(keys.len() + secrets.len())
    }

    /// The stable pseudonym respondents and auditors see for `person`.
    pub fn pseudonym(&self, person: AccountId) -> String {
        self.vault.pseudonym(person)
    }

    /// Records `person`'s personal data, sealed under a new key of theirs.
    pub async fn register(
        &self,
        actor: &Actor,
        person: AccountId,
        data: &PersonalData,
        metadata: &CommandMetadata,
    ) -> Result<(), PeopleError> {
        let (key, wrapped) = self.vault.new_data_key(person);
        self.db
            .insert_person_key(person, &wrapped)
            .await
            .map_err(|e| {
                if e.is_unique_violation() {
                    // A key exists: the person was registered already.
                    PeopleError::Domain(PersonError::AlreadyRegistered)
                } else {
                    e.into()
                }
            })?;
        let personal_data = sealed(key.seal(person, data))?;
        self.execute(
            person,
            PersonCommand {
                actor: *actor,
                action: PersonAction::RegisterPerson {
                    person,
                    personal_data,
                },
            },
            metadata,
        )
        .await
    }

    /// Replaces `person`'s personal data (sealed under their existing key).
    pub async fn correct(
        &self,
        actor: &Actor,
        person: AccountId,
        data: &PersonalData,
        metadata: &CommandMetadata,
    ) -> Result<(), PeopleError> {
        let wrapped = self
            .db
            .person_key(person)
            .await?
            .ok_or(PeopleError::Domain(PersonError::Erased))?;
        let key = self
            .vault
            .unwrap_key(person, &wrapped)
            .map_err(|e| PeopleError::Unopenable(person, e))?;
        let personal_data = sealed(key.seal(person, data))?;
        self.execute(
            person,
            PersonCommand {
                actor: *actor,
                action: PersonAction::CorrectPersonalData { personal_data },
            },
            metadata,
        )
        .await
    }

    /// Erases `person`'s personal data: the key goes first (with the
    /// account's login and tokens), then `PersonalDataErased` is appended.
    /// A retry after a failure in between finishes the job.
    pub async fn erase(
        &self,
        actor: &Actor,
        person: AccountId,
        metadata: &CommandMetadata,
    ) -> Result<(), PeopleError> {
        // Refuse early (wrong role, already erased) before touching anything.
        let (state, _) = self.load(person).await?;
        state.decide(
            PersonCommand {
                actor: *actor,
                action: PersonAction::ErasePersonalData,
            },
            self.services.clock.now(),
        )?;
        self.db
            .erase_person_secrets(person, self.services.clock.now())
            .await?;
        self.execute(
            person,
            PersonCommand {
                actor: *actor,
                action: PersonAction::ErasePersonalData,
            },
            metadata,
        )
        .await
    }

    /// Moves names stored in plain text before person streams existed into
    /// sealed person streams, and clears them from `accounts`. Safe to run
    /// on every start and on several instances at once. Returns how many
    /// names were moved.
    pub async fn seal_legacy_names(&self) -> Result<usize, PeopleError> {
        let system = Actor::new(AccountId(uuid::Uuid::nil()), lianxi_domain::Role::System);
        let mut moved = 0;
        for (person, name) in self.db.legacy_names().await? {
            let (state, version) = self.load(person).await?;
            if version == 0 && state.erased_at.is_none() {
                let data = PersonalData {
                    name,
                    phone: None,
                    room: None,
                };
                let metadata = CommandMetadata {
                    request_id: format!("startup-{}", uuid::Uuid::new_v4()),
                    occurred_at: self.services.clock.now(),
                    reason: Some(
                        "name moved from the accounts table into a sealed person stream".into(),
                    ),
                };
                match self.register(&system, person, &data, &metadata).await {
                    // Another instance got there first.
                    Ok(()) | Err(PeopleError::Domain(PersonError::AlreadyRegistered)) => {}
                    Err(e) => return Err(e),
                }
                moved += 1;
            }
            self.db.clear_legacy_name(person).await?;
        }
        Ok(moved)
    }

    /// `person`'s personal data, opened.
    pub async fn personal_data(&self, person: AccountId) -> Result<PersonalView, PeopleError> {
        let (state, version) = self.load(person).await?;
        if state.erased_at.is_some() {
            return Ok(PersonalView::Erased);
        }
        let Some(sealed) = state.personal_data else {
            return Ok(if version == 0 {
                PersonalView::Unrecorded
            } else {
                PersonalView::Erased
            });
        };
        // The key may be gone while the erasure event is still being written.
        let Some(wrapped) = self.db.person_key(person).await? else {
            return Ok(PersonalView::Erased);
        };
        let key = self
            .vault
            .unwrap_key(person, &wrapped)
            .map_err(|e| PeopleError::Unopenable(person, e))?;
        key.open(person, sealed.as_str())
            .map(PersonalView::Present)
            .map_err(|e| PeopleError::Unopenable(person, e))
    }

    /// The state of `person`'s stream and its version.
    pub async fn load(&self, person: AccountId) -> Result<(Person, usize), PeopleError> {
        Ok(self.store.load(&person.to_string()).await?)
    }

    async fn execute(
        &self,
        person: AccountId,
        command: PersonCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PeopleError> {
        let key = person.to_string();
        let span = tracing::info_span!(
            "command",
            otel.name = %format!("command {}", command.action.name()),
            command = command.action.name(),
        );
        let map = metadata_map(&command.actor, command.action.name(), metadata, &span);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self
                .store
                .execute_once(&key, None, command.clone(), &self.services, map.clone())
                .instrument(span.clone())
                .await
                .map(|_| ())
                .map_err(PeopleError::from);
            match outcome {
                Err(PeopleError::Conflict) if attempt < 5 => continue,
                other => {
                    let result = match &other {
                        Ok(()) => "applied",
                        Err(PeopleError::Domain(_)) => "refused",
                        Err(_) => "error",
                    };
                    metrics::counter!("lianxi_commands_total", "command" => command.action.name(), "outcome" => result)
                        .increment(1);
                    return other;
                }
            }
        }
    }
}

fn sealed(text: String) -> Result<SealedPersonalData, PeopleError> {
    SealedPersonalData::try_from(text).map_err(PeopleError::Domain)
}
