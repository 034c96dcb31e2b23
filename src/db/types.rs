//! SQL types shared by both backends: native `uuid` and `timestamptz` on
//! PostgreSQL, TEXT on SQLite, behind one hand-written schema. Rust code uses
//! the id newtypes and [`Time`] made here.

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sqlite::Sqlite;
use diesel::{sql_types, SqlType};

use crate::db::MultiBackend;

/// A UUID column: `uuid` on PostgreSQL, hyphenated TEXT on SQLite.
#[derive(Debug, Clone, Copy, Default, SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(oid = 2950, array_oid = 2951))]
#[diesel(sqlite_type(name = "Text"))]
pub struct SqlUuid;

/// A UTC instant: `timestamptz` on PostgreSQL, fixed-width RFC 3339 TEXT on
/// SQLite (microseconds, `Z`), so that text order is time order.
#[derive(Debug, Clone, Copy, Default, SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(oid = 1184, array_oid = 1185))]
#[diesel(sqlite_type(name = "Text"))]
pub struct UtcTime;

/// Declares an id newtype stored as [`SqlUuid`].
#[macro_export]
macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
            diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = $crate::db::types::SqlUuid)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new time-ordered id (UUID v7).
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::db::types::string_schema(utoipa::openapi::KnownFormat::Uuid)
            }
        }
        impl utoipa::ToSchema for $name {}

        impl diesel::serialize::ToSql<$crate::db::types::SqlUuid, diesel::pg::Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>) -> diesel::serialize::Result {
                $crate::db::types::uuid_to_pg(&self.0, out)
            }
        }
        impl diesel::deserialize::FromSql<$crate::db::types::SqlUuid, diesel::pg::Pg> for $name {
            fn from_sql(v: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                $crate::db::types::uuid_from_pg(v).map(Self)
            }
        }
        impl diesel::serialize::ToSql<$crate::db::types::SqlUuid, diesel::sqlite::Sqlite> for $name {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>) -> diesel::serialize::Result {
                $crate::db::types::uuid_to_sqlite(&self.0, out)
            }
        }
        impl diesel::deserialize::FromSql<$crate::db::types::SqlUuid, diesel::sqlite::Sqlite> for $name {
            fn from_sql(v: <diesel::sqlite::Sqlite as diesel::backend::Backend>::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                $crate::db::types::uuid_from_sqlite(v).map(Self)
            }
        }
        $crate::multi_backend_value!($name, $crate::db::types::SqlUuid);
    };
}

#[doc(hidden)]
pub fn uuid_to_pg<'b>(u: &'b uuid::Uuid, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
    <uuid::Uuid as ToSql<sql_types::Uuid, Pg>>::to_sql(u, out)
}
#[doc(hidden)]
pub fn uuid_from_pg(v: PgValue<'_>) -> deserialize::Result<uuid::Uuid> {
    <uuid::Uuid as FromSql<sql_types::Uuid, Pg>>::from_sql(v)
}
#[doc(hidden)]
pub fn uuid_to_sqlite(u: &uuid::Uuid, out: &mut Output<'_, '_, Sqlite>) -> serialize::Result {
    out.set_value(u.hyphenated().to_string());
    Ok(IsNull::No)
}
#[doc(hidden)]
pub fn uuid_from_sqlite(
    v: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
) -> deserialize::Result<uuid::Uuid> {
    let text = <String as FromSql<sql_types::Text, Sqlite>>::from_sql(v)?;
    Ok(uuid::Uuid::parse_str(&text)?)
}

/// A UTC instant as stored: RFC 3339 with `Z` on the wire.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[serde(transparent)]
#[diesel(sql_type = UtcTime)]
pub struct Time(pub DateTime<Utc>);

impl Time {
    pub fn now() -> Self {
        // Microseconds: what both backends store, so values round-trip exactly.
        let now = Utc::now();
        Time(DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now))
    }

    /// RFC 3339 in UTC with a `Z` and at most microseconds.
    pub fn to_rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
}

impl From<DateTime<Utc>> for Time {
    fn from(t: DateTime<Utc>) -> Self {
        Time(t)
    }
}

impl std::ops::Deref for Time {
    type Target = DateTime<Utc>;
    fn deref(&self) -> &DateTime<Utc> {
        &self.0
    }
}

impl utoipa::PartialSchema for Time {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_schema(utoipa::openapi::KnownFormat::DateTime)
    }
}

crate::multi_backend_value!(Time, UtcTime);

impl diesel::sql_types::HasSqlType<SqlUuid> for MultiBackend {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        MultiBackend::lookup_sql_type::<SqlUuid>(lookup)
    }
}

impl diesel::sql_types::HasSqlType<UtcTime> for MultiBackend {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        MultiBackend::lookup_sql_type::<UtcTime>(lookup)
    }
}

/// The OpenAPI schema of a string in a known format.
#[doc(hidden)]
pub fn string_schema(
    format: utoipa::openapi::KnownFormat,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(format)))
        .into()
}

/// Lets a Rust type that has per-backend `ToSql`/`FromSql` impls for a custom
/// SQL type be used through the connection enum's `MultiBackend`.
#[macro_export]
macro_rules! multi_backend_value {
    ($ty:ty, $sql:ty) => {
        impl diesel::serialize::ToSql<$sql, $crate::db::MultiBackend> for $ty {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, $crate::db::MultiBackend>,
            ) -> diesel::serialize::Result {
                out.set_value((<$sql>::default(), self));
                Ok(diesel::serialize::IsNull::No)
            }
        }
        impl diesel::deserialize::FromSql<$sql, $crate::db::MultiBackend> for $ty {
            fn from_sql(
                bytes: <$crate::db::MultiBackend as diesel::backend::Backend>::RawValue<'_>,
            ) -> diesel::deserialize::Result<Self> {
                bytes.from_sql::<Self, $sql>()
            }
        }
    };
}
impl utoipa::ToSchema for Time {}

impl ToSql<UtcTime, Pg> for Time {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <DateTime<Utc> as ToSql<sql_types::Timestamptz, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<UtcTime, Pg> for Time {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <DateTime<Utc> as FromSql<sql_types::Timestamptz, Pg>>::from_sql(value).map(Time)
    }
}

impl ToSql<UtcTime, Sqlite> for Time {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.to_rfc3339_opts(SecondsFormat::Micros, true));
        Ok(IsNull::No)
    }
}

impl FromSql<UtcTime, Sqlite> for Time {
    fn from_sql(
        value: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        let text = <String as FromSql<sql_types::Text, Sqlite>>::from_sql(value)?;
        Ok(Time(
            DateTime::parse_from_rfc3339(&text)?.with_timezone(&Utc),
        ))
    }
}
