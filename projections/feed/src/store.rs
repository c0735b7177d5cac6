//! The two stores, and what lets one piece of SQL serve both.

use std::borrow::Cow;

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool};
use uuid::Uuid;

/// A pool on one of the two stores.
#[derive(Clone, Debug)]
pub enum Store {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// An open transaction on either store.
#[derive(Debug)]
pub enum Tx<'c> {
    Postgres(&'c mut PgConnection),
    Sqlite(&'c mut SqliteConnection),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error("cannot decode {what}: {message}")]
    Decode { what: String, message: String },
    #[error("the projection {0} is now run elsewhere (its epoch moved on)")]
    Fenced(String),
}

/// SQL is written once with `$1…$n` placeholders; SQLite reads them as `?1…?n`.
pub fn sql(postgres: bool, text: &str) -> Cow<'_, str> {
    if postgres {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.replace('$', "?"))
    }
}

/// Runs the same body against whichever pool or connection `$value` holds.
#[macro_export]
macro_rules! on_store {
    ($value:expr, $enum:ident, |$inner:ident, $pg:ident| $body:expr) => {
        match $value {
            $enum::Postgres($inner) => {
                #[allow(unused_variables)]
                let $pg = true;
                $body
            }
            $enum::Sqlite($inner) => {
                #[allow(unused_variables)]
                let $pg = false;
                $body
            }
        }
    };
}

/// A UUID stored as `uuid` in PostgreSQL and as text in SQLite, matching the
/// columns of the migrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Id(pub Uuid);

impl sqlx::Type<Postgres> for Id {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <Uuid as sqlx::Type<Postgres>>::type_info()
    }
}

impl<'q> sqlx::Encode<'q, Postgres> for Id {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <Uuid as sqlx::Encode<'q, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> sqlx::Decode<'r, Postgres> for Id {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <Uuid as sqlx::Decode<'r, Postgres>>::decode(value).map(Id)
    }
}

impl sqlx::Type<Sqlite> for Id {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <String as sqlx::Type<Sqlite>>::type_info()
    }
}

impl<'q> sqlx::Encode<'q, Sqlite> for Id {
    fn encode_by_ref(
        &self,
        buf: &mut Vec<sqlx::sqlite::SqliteArgumentValue<'q>>,
    ) -> Result<IsNull, BoxDynError> {
        <String as sqlx::Encode<'q, Sqlite>>::encode(self.0.to_string(), buf)
    }
}

impl<'r> sqlx::Decode<'r, Sqlite> for Id {
    fn decode(value: sqlx::sqlite::SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <String as sqlx::Decode<'r, Sqlite>>::decode(value)?;
        Ok(Id(Uuid::parse_str(&text)?))
    }
}
