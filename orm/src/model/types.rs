//! Which Rust types a model field may have, and how each is stored.
//!
//! [`FieldType`] is implemented for every supported type and for `Option` of
//! each. It binds a value as a statement parameter and decodes it from a row
//! by position, per backend, without boxing. [`Value`] is the owned form of a
//! value in a query filter; [`ValueOf`] says which Rust values may be compared
//! with a column of a given type.

use std::fmt::Write as _;

use crate::backend::Backend;
use crate::connection::driver::{add, get, Args, DriverArgs, RowRef};
use crate::error::{Error, Result};
use crate::model::limits::{unrepresentable, ColumnLimit, Storable};
use crate::model::schema::ColumnSchema;

/// The storage class of a column, from which each backend's type is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SqlType {
    /// 16-bit integer.
    SmallInt,
    /// 32-bit integer.
    Int,
    /// 64-bit integer.
    BigInt,
    /// 32-bit float.
    Float,
    /// 64-bit float.
    Double,
    /// Boolean.
    Bool,
    /// Text (bounded by `max_length` when given).
    Text,
    /// Bytes.
    Bytes,
    /// Exact decimal.
    Decimal,
    /// Calendar date.
    Date,
    /// Time of day.
    Time,
    /// Date and time without a zone.
    DateTime,
    /// An instant, stored in UTC.
    DateTimeUtc,
    /// UUID.
    Uuid,
    /// JSON document.
    Json,
}

impl SqlType {
    /// Whether `backend` can store this type. SQLite has no exact decimal:
    /// storing one as REAL would lose digits and as TEXT would sort and sum
    /// wrongly, so it is refused.
    pub fn supported_by(self, backend: Backend) -> bool {
        !matches!((self, backend), (SqlType::Decimal, Backend::Sqlite))
    }
}

/// A Rust type that can be a model field.
///
/// Implemented by the crate for each supported type and `Option` of it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported model field type",
    label = "unsupported field type",
    note = "supported: i16, i32, i64, f32, f64, bool, String, Vec<u8>, rust_decimal::Decimal (feature `decimal`), chrono::{{NaiveDate, NaiveTime, NaiveDateTime, DateTime<Utc>}} (feature `chrono`), uuid::Uuid (feature `uuid`), serde_json::Value and orm::Json<T> (feature `json`), and Option of each"
)]
pub trait FieldType: Sized + Send + Sync + 'static {
    /// The column's storage class.
    const SQL_TYPE: SqlType;
    /// Whether the column accepts NULL (true for `Option`).
    const NULLABLE: bool = false;
    /// The Rust type's name, for messages.
    const RUST_NAME: &'static str;

    /// Binds `self` as the next parameter, or refuses a value the backend
    /// cannot store exactly ([`Error::UnrepresentableValue`]).
    #[doc(hidden)]
    fn bind(&self, args: &mut Args) -> Result<()>;
    /// Refuses a value that `column` cannot hold on `backend` although the
    /// type can (a decimal with more digits than the column's precision
    /// and scale).
    #[doc(hidden)]
    fn check_column(&self, _column: &ColumnSchema, _backend: Backend) -> Result<()> {
        Ok(())
    }
    /// Binds a model field's value for `column` of `table`: a value the
    /// column cannot hold is refused with [`Error::UnrepresentableValue`]
    /// naming the column, before anything is sent.
    #[doc(hidden)]
    fn bind_column(&self, args: &mut Args, table: &str, column: &ColumnSchema) -> Result<()> {
        self.check_column(column, args.backend())
            .and_then(|()| self.bind(args))
            .map_err(|e| e.in_column(table, column.name))
    }
    /// Decodes column `index` of `row`.
    #[doc(hidden)]
    fn decode(row: RowRef<'_>, index: usize) -> Result<Self>;
    /// The owned filter value.
    fn into_value(self) -> Value;
}

/// A type without NULL, of which `Option<Self>` is the nullable field type.
#[doc(hidden)]
pub trait ScalarType: FieldType {
    fn bind_null(args: &mut Args) -> Result<()>;
    fn decode_option(row: RowRef<'_>, index: usize) -> Result<Option<Self>>;
}

#[cfg_attr(not(feature = "decimal"), allow(dead_code))]
fn unsupported(backend: Backend, rust_type: &'static str) -> Error {
    Error::UnsupportedType {
        backend: backend.name(),
        rust_type,
        context: String::new(),
    }
}

/// An instant as the date and time it is in UTC, for a DATETIME parameter.
#[cfg(all(feature = "chrono", feature = "mysql"))]
trait NaiveUtc {
    type Naive;
    fn naive_utc(self) -> Self::Naive;
}

#[cfg(all(feature = "chrono", feature = "mysql"))]
impl NaiveUtc for &chrono::DateTime<chrono::Utc> {
    type Naive = chrono::NaiveDateTime;
    fn naive_utc(self) -> chrono::NaiveDateTime {
        chrono::DateTime::naive_utc(self)
    }
}

#[cfg(all(feature = "chrono", feature = "mysql"))]
impl NaiveUtc for Option<chrono::DateTime<chrono::Utc>> {
    type Naive = Option<chrono::NaiveDateTime>;
    fn naive_utc(self) -> Option<chrono::NaiveDateTime> {
        self.map(|d| d.naive_utc())
    }
}

/// A bound value as the text of a span's `db.query.parameter.<n>`
/// attribute (OpenTelemetry: "a string representation of the parameter
/// value"): numbers, text, dates and UUIDs as they print, bytes as
/// PostgreSQL's hex form (`\x0a1b`), NULL as `NULL`.
pub(crate) trait ParamText {
    fn param_text(&self) -> String;
}

macro_rules! param_text_as_displayed {
    ($($ty:ty),* $(,)?) => {
        $(impl ParamText for $ty {
            fn param_text(&self) -> String {
                self.to_string()
            }
        })*
    };
}

param_text_as_displayed!(i16, i32, i64, f32, f64, bool, String);
#[cfg(feature = "decimal")]
param_text_as_displayed!(rust_decimal::Decimal);
#[cfg(feature = "chrono")]
param_text_as_displayed!(
    chrono::NaiveDate,
    chrono::NaiveTime,
    chrono::NaiveDateTime,
    chrono::DateTime<chrono::Utc>
);
#[cfg(feature = "uuid")]
param_text_as_displayed!(uuid::Uuid);
#[cfg(feature = "json")]
param_text_as_displayed!(serde_json::Value);

impl ParamText for Vec<u8> {
    fn param_text(&self) -> String {
        let mut text = String::with_capacity(2 + 2 * self.len());
        text.push_str("\\x");
        for b in self {
            let _ = write!(text, "{b:02x}");
        }
        text
    }
}

/// The text of a bound NULL.
fn null_text() -> String {
    "NULL".to_owned()
}

/// Implements [`FieldType`] and [`ScalarType`] for a Rust type. The arms of
/// `sqlite`, `postgres` and `mysql` are `yes` where the driver stores the type,
/// `no` where that backend cannot hold it (a typed error, never a guess), and
/// `naive_utc` where an instant is sent as its UTC date and time.
macro_rules! scalar {
    ($ty:ty, $name:expr, $sql:ident, $variant:ident, sqlite: $s:ident, postgres: $p:ident, mysql: $m:ident) => {
        impl FieldType for $ty {
            const SQL_TYPE: SqlType = SqlType::$sql;
            const RUST_NAME: &'static str = $name;

            fn bind(&self, args: &mut Args) -> Result<()> {
                if let Some(reason) = Storable::refusal(self, args.backend()) {
                    return Err(unrepresentable(args.backend(), $name, self, reason));
                }
                match &mut args.driver {
                    #[cfg(feature = "sqlite")]
                    DriverArgs::Sqlite(a) => scalar!(@bind $s, Sqlite, a, self, $name),
                    #[cfg(feature = "postgres")]
                    DriverArgs::Postgres(a) => scalar!(@bind $p, Postgres, a, self, $name),
                    #[cfg(feature = "mysql")]
                    DriverArgs::MySql(a) => scalar!(@bind $m, MySql, a, self, $name),
                }?;
                args.show(|| ParamText::param_text(self));
                Ok(())
            }

            fn decode(row: RowRef<'_>, index: usize) -> Result<Self> {
                match row {
                    #[cfg(feature = "sqlite")]
                    RowRef::Sqlite(r) => scalar!(@get $s, Sqlite, r, index, $ty, $name),
                    #[cfg(feature = "postgres")]
                    RowRef::Postgres(r) => scalar!(@get $p, Postgres, r, index, $ty, $name),
                    #[cfg(feature = "mysql")]
                    RowRef::MySql(r) => scalar!(@get $m, MySql, r, index, $ty, $name),
                }
            }

            fn check_column(&self, column: &ColumnSchema, backend: Backend) -> Result<()> {
                match ColumnLimit::column_refusal(self, column, backend) {
                    Some(reason) => Err(unrepresentable(backend, $name, self, reason)),
                    None => Ok(()),
                }
            }

            fn into_value(self) -> Value {
                Value::$variant(self)
            }
        }

        impl Scalar for $ty {
            type Scalar = $ty;
        }

        impl crate::query::Nullability for $ty {
            type Marker = crate::query::NeverNull;
        }

        impl ScalarType for $ty {
            fn bind_null(args: &mut Args) -> Result<()> {
                match &mut args.driver {
                    #[cfg(feature = "sqlite")]
                    DriverArgs::Sqlite(a) => scalar!(@bind $s, Sqlite, a, None::<$ty>, $name),
                    #[cfg(feature = "postgres")]
                    DriverArgs::Postgres(a) => scalar!(@bind $p, Postgres, a, None::<$ty>, $name),
                    #[cfg(feature = "mysql")]
                    DriverArgs::MySql(a) => scalar!(@bind $m, MySql, a, None::<$ty>, $name),
                }?;
                args.show(null_text);
                Ok(())
            }

            fn decode_option(row: RowRef<'_>, index: usize) -> Result<Option<Self>> {
                match row {
                    #[cfg(feature = "sqlite")]
                    RowRef::Sqlite(r) => scalar!(@get $s, Sqlite, r, index, Option<$ty>, $name),
                    #[cfg(feature = "postgres")]
                    RowRef::Postgres(r) => scalar!(@get $p, Postgres, r, index, Option<$ty>, $name),
                    #[cfg(feature = "mysql")]
                    RowRef::MySql(r) => scalar!(@get $m, MySql, r, index, Option<$ty>, $name),
                }
            }
        }
    };
    (@bind yes, $backend:ident, $a:ident, $value:expr, $name:expr) => { add($a, $value, $name) };
    (@bind naive_utc, $backend:ident, $a:ident, $value:expr, $name:expr) => { add($a, NaiveUtc::naive_utc($value), $name) };
    (@get naive_utc, $backend:ident, $r:ident, $index:ident, $ty:ty, $name:expr) => { get::<_, $ty>($r, $index, $name) };
    (@bind no, $backend:ident, $a:ident, $value:expr, $name:expr) => {{
        let _ = $a;
        Err(unsupported(Backend::$backend, $name))
    }};
    (@get yes, $backend:ident, $r:ident, $index:ident, $ty:ty, $name:expr) => { get::<_, $ty>($r, $index, $name) };
    (@get no, $backend:ident, $r:ident, $index:ident, $ty:ty, $name:expr) => {{
        let _ = ($r, $index);
        Err(unsupported(Backend::$backend, $name))
    }};
}

scalar!(i16, "i16", SmallInt, I16, sqlite: yes, postgres: yes, mysql: yes);
scalar!(i32, "i32", Int, I32, sqlite: yes, postgres: yes, mysql: yes);
scalar!(i64, "i64", BigInt, I64, sqlite: yes, postgres: yes, mysql: yes);
scalar!(f32, "f32", Float, F32, sqlite: yes, postgres: yes, mysql: yes);
scalar!(f64, "f64", Double, F64, sqlite: yes, postgres: yes, mysql: yes);
scalar!(bool, "bool", Bool, Bool, sqlite: yes, postgres: yes, mysql: yes);
scalar!(String, "String", Text, Text, sqlite: yes, postgres: yes, mysql: yes);
scalar!(Vec<u8>, "Vec<u8>", Bytes, Bytes, sqlite: yes, postgres: yes, mysql: yes);
// SQLite has no exact decimal type: storing one as REAL would lose digits and
// as TEXT would sort and sum wrongly, so it is refused.
#[cfg(feature = "decimal")]
scalar!(rust_decimal::Decimal, "Decimal", Decimal, Decimal, sqlite: no, postgres: yes, mysql: yes);
#[cfg(feature = "chrono")]
scalar!(chrono::NaiveDate, "NaiveDate", Date, Date, sqlite: yes, postgres: yes, mysql: yes);
#[cfg(feature = "chrono")]
scalar!(chrono::NaiveTime, "NaiveTime", Time, Time, sqlite: yes, postgres: yes, mysql: yes);
#[cfg(feature = "chrono")]
scalar!(chrono::NaiveDateTime, "NaiveDateTime", DateTime, DateTime, sqlite: yes, postgres: yes, mysql: yes);
// MySQL: sqlx sends a `DateTime<Utc>` as a TIMESTAMP, which MariaDB turns
// into NULL past 2038-01-19 (TIMESTAMP's range) even for a DATETIME column;
// the column is DATETIME(6), so the instant is sent as one.
#[cfg(feature = "chrono")]
scalar!(chrono::DateTime<chrono::Utc>, "DateTime<Utc>", DateTimeUtc, DateTimeUtc, sqlite: yes, postgres: yes, mysql: naive_utc);
#[cfg(feature = "uuid")]
scalar!(uuid::Uuid, "Uuid", Uuid, Uuid, sqlite: yes, postgres: yes, mysql: yes);
#[cfg(feature = "json")]
scalar!(serde_json::Value, "serde_json::Value", Json, Json, sqlite: yes, postgres: yes, mysql: yes);

impl<T: ScalarType> FieldType for Option<T> {
    const SQL_TYPE: SqlType = T::SQL_TYPE;
    const NULLABLE: bool = true;
    const RUST_NAME: &'static str = T::RUST_NAME;

    fn bind(&self, args: &mut Args) -> Result<()> {
        match self {
            Some(v) => v.bind(args),
            None => T::bind_null(args),
        }
    }

    fn check_column(&self, column: &ColumnSchema, backend: Backend) -> Result<()> {
        match self {
            Some(v) => v.check_column(column, backend),
            None => Ok(()),
        }
    }

    fn decode(row: RowRef<'_>, index: usize) -> Result<Self> {
        T::decode_option(row, index)
    }

    fn into_value(self) -> Value {
        match self {
            Some(v) => v.into_value(),
            None => Value::Null(T::bind_null),
        }
    }
}

/// A JSON column holding any serde type, stored as the backend's JSON type.
#[cfg(feature = "json")]
pub use sqlx::types::Json;

#[cfg(feature = "json")]
impl<T> FieldType for Json<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    const SQL_TYPE: SqlType = SqlType::Json;
    const RUST_NAME: &'static str = "Json<T>";

    fn bind(&self, args: &mut Args) -> Result<()> {
        if let Some(reason) = crate::model::limits::json_refusal(&self.0, args.backend()) {
            let shown = serde_json::to_string(&self.0).unwrap_or_default();
            return Err(unrepresentable(args.backend(), "Json<T>", &shown, reason));
        }
        crate::connection::driver::each_backend!(&mut args.driver, DriverArgs, a => add(a, self, "Json<T>"))?;
        args.show(|| serde_json::to_string(&self.0).unwrap_or_default());
        Ok(())
    }

    fn decode(row: RowRef<'_>, index: usize) -> Result<Self> {
        crate::connection::driver::each_backend!(row, RowRef, r => get::<_, Json<T>>(r, index, "Json<T>"))
    }

    fn into_value(self) -> Value {
        match serde_json::to_value(&self.0) {
            Ok(v) => Value::Json(v),
            Err(e) => Value::Invalid(e.to_string()),
        }
    }
}

#[cfg(feature = "json")]
impl<T> Scalar for Json<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    type Scalar = Json<T>;
}

#[cfg(feature = "json")]
impl<T> crate::query::Nullability for Json<T> {
    type Marker = crate::query::NeverNull;
}

#[cfg(feature = "json")]
impl<T> ScalarType for Json<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    fn bind_null(args: &mut Args) -> Result<()> {
        crate::connection::driver::each_backend!(&mut args.driver, DriverArgs, a => add(a, None::<Json<T>>, "Json<T>"))?;
        args.show(null_text);
        Ok(())
    }

    fn decode_option(row: RowRef<'_>, index: usize) -> Result<Option<Self>> {
        crate::connection::driver::each_backend!(row, RowRef, r => get::<_, Option<Json<T>>>(r, index, "Json<T>"))
    }
}

/// An owned value in a query: a filter operand or an assignment.
///
/// Two values are equal when they are the same variant holding equal
/// values (floats as `==` compares them, NaN unequal to itself); two NULLs
/// are equal whatever column type they bind as.
#[derive(Clone, Debug)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum Value {
    /// A typed NULL: the function binds NULL with the column's type.
    Null(fn(&mut Args) -> Result<()>),
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Text(String),
    Bytes(Vec<u8>),
    #[cfg(feature = "decimal")]
    Decimal(rust_decimal::Decimal),
    #[cfg(feature = "chrono")]
    Date(chrono::NaiveDate),
    #[cfg(feature = "chrono")]
    Time(chrono::NaiveTime),
    #[cfg(feature = "chrono")]
    DateTime(chrono::NaiveDateTime),
    #[cfg(feature = "chrono")]
    DateTimeUtc(chrono::DateTime<chrono::Utc>),
    #[cfg(feature = "uuid")]
    Uuid(uuid::Uuid),
    #[cfg(feature = "json")]
    Json(serde_json::Value),
    /// A value that could not be converted; binding it reports the message.
    #[doc(hidden)]
    Invalid(String),
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            // Not by the binder: addresses of functions are not unique.
            (Value::Null(_), Value::Null(_)) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::I16(a), Value::I16(b)) => a == b,
            (Value::I32(a), Value::I32(b)) => a == b,
            (Value::I64(a), Value::I64(b)) => a == b,
            (Value::F32(a), Value::F32(b)) => a == b,
            (Value::F64(a), Value::F64(b)) => a == b,
            (Value::Text(a), Value::Text(b)) | (Value::Invalid(a), Value::Invalid(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            #[cfg(feature = "decimal")]
            (Value::Decimal(a), Value::Decimal(b)) => a == b,
            #[cfg(feature = "chrono")]
            (Value::Date(a), Value::Date(b)) => a == b,
            #[cfg(feature = "chrono")]
            (Value::Time(a), Value::Time(b)) => a == b,
            #[cfg(feature = "chrono")]
            (Value::DateTime(a), Value::DateTime(b)) => a == b,
            #[cfg(feature = "chrono")]
            (Value::DateTimeUtc(a), Value::DateTimeUtc(b)) => a == b,
            #[cfg(feature = "uuid")]
            (Value::Uuid(a), Value::Uuid(b)) => a == b,
            #[cfg(feature = "json")]
            (Value::Json(a), Value::Json(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// Appends an unambiguous encoding of the value to `key`, for the query
    /// cache's keys: a tag byte naming the variant, then the value's bytes
    /// prefixed by their length (little-endian `u32`), so that no two
    /// different lists of values encode alike. `Null` is its tag alone: two
    /// NULLs bind alike whatever their column type. Floats are encoded by
    /// their bits (`-0.0` and `0.0` differ; a NaN matches only the same NaN).
    pub(crate) fn encode_key(&self, key: &mut Vec<u8>) {
        let mut field = |tag: u8, bytes: &[u8]| {
            key.push(tag);
            key.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            key.extend_from_slice(bytes);
        };
        match self {
            Value::Null(_) => key.push(0),
            Value::Bool(v) => field(1, &[u8::from(*v)]),
            Value::I16(v) => field(2, &v.to_le_bytes()),
            Value::I32(v) => field(3, &v.to_le_bytes()),
            Value::I64(v) => field(4, &v.to_le_bytes()),
            Value::F32(v) => field(5, &v.to_bits().to_le_bytes()),
            Value::F64(v) => field(6, &v.to_bits().to_le_bytes()),
            Value::Text(v) => field(7, v.as_bytes()),
            Value::Bytes(v) => field(8, v),
            #[cfg(feature = "decimal")]
            Value::Decimal(v) => field(9, &v.serialize()),
            #[cfg(feature = "chrono")]
            Value::Date(v) => field(10, v.to_string().as_bytes()),
            #[cfg(feature = "chrono")]
            Value::Time(v) => field(11, v.to_string().as_bytes()),
            #[cfg(feature = "chrono")]
            Value::DateTime(v) => field(12, v.to_string().as_bytes()),
            #[cfg(feature = "chrono")]
            Value::DateTimeUtc(v) => field(13, v.to_rfc3339().as_bytes()),
            #[cfg(feature = "uuid")]
            Value::Uuid(v) => field(14, v.as_bytes()),
            #[cfg(feature = "json")]
            Value::Json(v) => field(15, v.to_string().as_bytes()),
            Value::Invalid(v) => field(255, v.as_bytes()),
        }
    }

    /// Refuses a value that `column` cannot hold on `backend` (a decimal
    /// beyond the column's precision and scale), naming the column.
    pub(crate) fn check_column(&self, column: &ColumnSchema, backend: Backend) -> Result<()> {
        let _ = (column, backend);
        match self {
            #[cfg(feature = "decimal")]
            Value::Decimal(v) => v.check_column(column, backend),
            _ => Ok(()),
        }
    }

    /// The value as a span's `db.query.parameter.<n>` shows it.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn param_text(&self) -> String {
        match self {
            Value::Null(_) => null_text(),
            Value::Bool(v) => v.param_text(),
            Value::I16(v) => v.param_text(),
            Value::I32(v) => v.param_text(),
            Value::I64(v) => v.param_text(),
            Value::F32(v) => v.param_text(),
            Value::F64(v) => v.param_text(),
            Value::Text(v) | Value::Invalid(v) => v.clone(),
            Value::Bytes(v) => v.param_text(),
            #[cfg(feature = "decimal")]
            Value::Decimal(v) => v.param_text(),
            #[cfg(feature = "chrono")]
            Value::Date(v) => v.param_text(),
            #[cfg(feature = "chrono")]
            Value::Time(v) => v.param_text(),
            #[cfg(feature = "chrono")]
            Value::DateTime(v) => v.param_text(),
            #[cfg(feature = "chrono")]
            Value::DateTimeUtc(v) => v.param_text(),
            #[cfg(feature = "uuid")]
            Value::Uuid(v) => v.param_text(),
            #[cfg(feature = "json")]
            Value::Json(v) => v.param_text(),
        }
    }

    /// Binds the value as the next parameter of `args`.
    pub(crate) fn bind(&self, args: &mut Args) -> Result<()> {
        match self {
            Value::Null(bind_null) => bind_null(args),
            Value::Bool(v) => v.bind(args),
            Value::I16(v) => v.bind(args),
            Value::I32(v) => v.bind(args),
            Value::I64(v) => v.bind(args),
            Value::F32(v) => v.bind(args),
            Value::F64(v) => v.bind(args),
            Value::Text(v) => v.bind(args),
            Value::Bytes(v) => v.bind(args),
            #[cfg(feature = "decimal")]
            Value::Decimal(v) => v.bind(args),
            #[cfg(feature = "chrono")]
            Value::Date(v) => v.bind(args),
            #[cfg(feature = "chrono")]
            Value::Time(v) => v.bind(args),
            #[cfg(feature = "chrono")]
            Value::DateTime(v) => v.bind(args),
            #[cfg(feature = "chrono")]
            Value::DateTimeUtc(v) => v.bind(args),
            #[cfg(feature = "uuid")]
            Value::Uuid(v) => v.bind(args),
            #[cfg(feature = "json")]
            Value::Json(v) => v.bind(args),
            Value::Invalid(message) => Err(Error::Encode {
                rust_type: "value",
                message: message.clone(),
            }),
        }
    }
}

/// A Rust value that may be compared with, or assigned to, a column of type `T`.
///
/// `T` itself, a reference to it, `&str` for `String` columns, `&[u8]` for
/// byte columns, and a plain value (or a reference, `&str`, `&[u8]`) for an
/// `Option` column. An `Option` column takes an `Option` of the owned type
/// only (`Some(String)`, not `Some(&str)`): with a second `Option` form,
/// a bare `None` could be either, and Rust would ask for a type annotation
/// on every `eq(None)` and `set(column, None)`. Write `Some("x")` as the
/// plain value `"x"`, and turn an `Option<&str>` into an owned one with
/// `.map(str::to_owned)`.
#[diagnostic::on_unimplemented(
    message = "a column of type `{T}` cannot be compared with or set to a `{Self}`",
    label = "expected a value of type `{T}` here",
    note = "use a value of the column's type (or a reference to one); an `Option` column also takes a plain value (`\"gift\"`, `&text`), `None`, or an owned `Option` (`Some(text.to_owned())`, `maybe.map(str::to_owned)`)"
)]
pub trait ValueOf<T> {
    /// The owned query value.
    fn into_value(self) -> Value;
}

impl<T: FieldType> ValueOf<T> for T {
    fn into_value(self) -> Value {
        FieldType::into_value(self)
    }
}

impl<T: FieldType + Clone> ValueOf<T> for &T {
    fn into_value(self) -> Value {
        FieldType::into_value(self.clone())
    }
}

impl<T: ScalarType> ValueOf<Option<T>> for T {
    fn into_value(self) -> Value {
        FieldType::into_value(self)
    }
}

impl<T: ScalarType + Clone> ValueOf<Option<T>> for &T {
    fn into_value(self) -> Value {
        FieldType::into_value(self.clone())
    }
}

impl ValueOf<String> for &str {
    fn into_value(self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl ValueOf<Option<String>> for &str {
    fn into_value(self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl ValueOf<Vec<u8>> for &[u8] {
    fn into_value(self) -> Value {
        Value::Bytes(self.to_vec())
    }
}

impl ValueOf<Option<Vec<u8>>> for &[u8] {
    fn into_value(self) -> Value {
        Value::Bytes(self.to_vec())
    }
}

/// Integer types: the only ones that may be an `auto` (generated) key.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an auto-generated key",
    label = "`auto` needs an integer field",
    note = "make the field i16, i32 or i64, or remove `auto` and supply the key yourself"
)]
pub trait AutoKey: FieldType {}
// `do_not_recommend`: the note names the types; rustc's list of these impls
// would add lines pointing into this file.
#[diagnostic::do_not_recommend]
impl AutoKey for i16 {}
#[diagnostic::do_not_recommend]
impl AutoKey for i32 {}
#[diagnostic::do_not_recommend]
impl AutoKey for i64 {}

/// Text types: the only ones `max_length`, `like` and `contains` apply to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a text type",
    label = "expected a `String` or `Option<String>` column",
    note = "`max_length`, `like`, `contains`, `starts_with` and `ends_with` apply to text columns only"
)]
pub trait TextType: FieldType {}
impl TextType for String {}
impl TextType for Option<String> {}

/// Decimal types: the only ones `precision` and `scale` apply to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a decimal type",
    label = "expected a `rust_decimal::Decimal` or `Option<Decimal>` column",
    note = "`precision` and `scale` apply to decimal columns only: make the field a `rust_decimal::Decimal` (feature `decimal`), or remove them"
)]
pub trait DecimalType: FieldType {}
// `do_not_recommend`: as for `AutoKey`.
#[cfg(feature = "decimal")]
#[diagnostic::do_not_recommend]
impl DecimalType for rust_decimal::Decimal {}
#[cfg(feature = "decimal")]
#[diagnostic::do_not_recommend]
impl DecimalType for Option<rust_decimal::Decimal> {}

/// Nullable types: the only ones that may be compared with NULL.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not nullable, so it is never NULL",
    label = "`is_null` and `is_not_null` need an `Option` column",
    note = "declare the field as `Option<{Self}>` if the column may be NULL"
)]
pub trait Nullable: FieldType {}
impl<T: ScalarType> Nullable for Option<T> {}

/// Numeric types that `sum` and `avg` apply to, with the types of their results.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not numeric",
    label = "`sum` and `avg` need a numeric column",
    note = "numeric column types are i16, i32, i64, f32, f64 and Decimal (or Option of each)"
)]
pub trait Numeric: FieldType {
    /// What `SUM` of this type decodes to.
    type Sum: ScalarType;
    /// What `AVG` of this type decodes to.
    type Avg: ScalarType;
}

macro_rules! numeric {
    ($($ty:ty => $sum:ty, $avg:ty;)*) => {$(
        impl Numeric for $ty { type Sum = $sum; type Avg = $avg; }
        impl Numeric for Option<$ty> { type Sum = $sum; type Avg = $avg; }
    )*};
}
numeric! {
    i16 => i64, f64;
    i32 => i64, f64;
    i64 => i64, f64;
    f32 => f64, f64;
    f64 => f64, f64;
}
#[cfg(feature = "decimal")]
numeric! { rust_decimal::Decimal => rust_decimal::Decimal, rust_decimal::Decimal; }

/// The column type without its `Option`: what `min` and `max` decode to (as `Option`).
#[doc(hidden)]
pub trait Scalar: FieldType {
    type Scalar: ScalarType;
}
impl<T: ScalarType> Scalar for Option<T> {
    type Scalar = T;
}

/// Whether an `auto` key still holds 0, the value of a row not inserted yet.
#[doc(hidden)]
pub fn is_unset_key<T: FieldType + Clone>(key: &T) -> bool {
    matches!(
        key.clone().into_value(),
        Value::I16(0) | Value::I32(0) | Value::I64(0)
    )
}

/// A field's type reached through its column handle `C`, for the code the
/// macro generates: an unsupported field type is then reported once, on
/// the `Column` impl, instead of again at every place the type is used.
#[doc(hidden)]
pub mod via_column {
    use super::{Args, FieldType, Result, RowRef, SqlType, Value};
    use crate::model::schema::ColumnSchema;
    use crate::model::Column;

    /// [`FieldType::SQL_TYPE`] of the column's type.
    pub const fn sql_type<C: Column>() -> SqlType {
        <C::Type as FieldType>::SQL_TYPE
    }

    /// [`FieldType::RUST_NAME`] of the column's type.
    pub const fn rust_name<C: Column>() -> &'static str {
        <C::Type as FieldType>::RUST_NAME
    }

    /// [`FieldType::NULLABLE`] of the column's type.
    pub const fn nullable<C: Column>() -> bool {
        <C::Type as FieldType>::NULLABLE
    }

    /// [`FieldType::decode`] of the column's type.
    pub fn decode<C: Column>(row: RowRef<'_>, index: usize) -> Result<C::Type> {
        <C::Type as FieldType>::decode(row, index)
    }

    /// [`FieldType::bind`] of the column's type.
    pub fn bind<C: Column>(value: &C::Type, args: &mut Args) -> Result<()> {
        value.bind(args)
    }

    /// [`FieldType::bind_column`] of the column's type.
    pub fn bind_column<C: Column>(
        value: &C::Type,
        args: &mut Args,
        table: &str,
        column: &ColumnSchema,
    ) -> Result<()> {
        value.bind_column(args, table, column)
    }

    /// [`FieldType::into_value`] of the column's type.
    pub fn into_value<C: Column>(value: C::Type) -> Value {
        value.into_value()
    }
}
