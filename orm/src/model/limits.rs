//! Which values of each field type a backend can store exactly.
//!
//! Every value either reads back equal to what was written or is refused
//! when it is bound, before any statement is sent, with
//! [`Error::UnrepresentableValue`]. Each check below says what the backend
//! would otherwise do with the value (store another value, or fail on the
//! server with an error that does not say which field was at fault).

use crate::backend::Backend;
use crate::error::Error;
use crate::model::schema::ColumnSchema;
#[cfg(feature = "decimal")]
use crate::model::schema::DecimalSize;

/// Why `backend` cannot store the value exactly, or `None` when it can.
pub(crate) trait Storable {
    fn refusal(&self, backend: Backend) -> Option<String>;
}

/// The error for `value` of `rust_type` that `backend` cannot store.
pub(crate) fn unrepresentable(
    backend: Backend,
    rust_type: &'static str,
    value: &dyn std::fmt::Debug,
    reason: String,
) -> Error {
    // A refused string may be megabytes long: the message shows its start.
    const SHOWN: usize = 80;
    let mut shown = format!("{value:?}");
    if let Some((cut, _)) = shown.char_indices().nth(SHOWN) {
        shown.truncate(cut);
        shown.push_str("...");
    }
    Error::UnrepresentableValue {
        backend: backend.name(),
        rust_type,
        value: shown,
        column: None,
        reason,
    }
}

/// Why `column` cannot hold the value on `backend` although its type can:
/// a decimal with more digits than the column's precision and scale.
pub(crate) trait ColumnLimit {
    fn column_refusal(&self, _column: &ColumnSchema, _backend: Backend) -> Option<String> {
        None
    }
}

macro_rules! no_column_limit {
    ($($ty:ty),* $(,)?) => {$( impl ColumnLimit for $ty {} )*};
}
no_column_limit!(i16, i32, i64, bool, String, Vec<u8>);
#[cfg(feature = "chrono")]
no_column_limit!(
    chrono::NaiveDate,
    chrono::NaiveTime,
    chrono::NaiveDateTime,
    chrono::DateTime<chrono::Utc>
);
#[cfg(feature = "uuid")]
no_column_limit!(uuid::Uuid);
#[cfg(feature = "json")]
no_column_limit!(serde_json::Value);

macro_rules! storable_always {
    ($($ty:ty),* $(,)?) => {$(
        impl Storable for $ty {
            fn refusal(&self, _: Backend) -> Option<String> {
                None
            }
        }
    )*};
}
storable_always!(i16, i32, i64, bool, Vec<u8>);
#[cfg(feature = "decimal")]
storable_always!(rust_decimal::Decimal);
#[cfg(feature = "uuid")]
storable_always!(uuid::Uuid);

/// The precision and scale a decimal column has on `backend` when the
/// field declares none: PostgreSQL's NUMERIC without them holds every
/// `Decimal` exactly (PostgreSQL manual 8.1.2); MySQL's columns are
/// DECIMAL(38, 10).
#[cfg(feature = "decimal")]
pub(crate) fn decimal_size(column: &ColumnSchema, backend: Backend) -> Option<DecimalSize> {
    match (column.decimal, backend) {
        (Some(size), _) => Some(size),
        (None, Backend::MySql) => Some(DecimalSize::MYSQL_DEFAULT),
        (None, _) => None,
    }
}

/// A decimal with more digits after the point than the column's scale is
/// rounded by PostgreSQL (manual 8.1.2) and by MySQL with only a note
/// (manual 12.25.4, "Rounding Behavior"); more digits before the point
/// than precision minus scale fail on the server (SQLSTATE 22003; MySQL
/// error 1264). Both are refused here instead.
#[cfg(feature = "decimal")]
impl ColumnLimit for rust_decimal::Decimal {
    fn column_refusal(&self, column: &ColumnSchema, backend: Backend) -> Option<String> {
        let size = decimal_size(column, backend)?;
        let exact = self.normalize();
        let scale = exact.scale();
        let digits = match exact.mantissa().unsigned_abs() {
            0 => 0,
            m => m.ilog10() + 1,
        };
        let before_point = digits.saturating_sub(scale);
        let (precision, allowed_scale) = (u32::from(size.precision), u32::from(size.scale));
        if scale > allowed_scale {
            return Some(format!(
                "the column is DECIMAL({precision}, {allowed_scale}): at most {allowed_scale} digits after the point, and this value has {scale}; round it first (the database would round it silently)"
            ));
        }
        (before_point > precision - allowed_scale).then(|| {
            format!(
                "the column is DECIMAL({precision}, {allowed_scale}): at most {} digits before the point, and this value has {before_point}",
                precision - allowed_scale
            )
        })
    }
}

/// Floats: SQLite binds a NaN as NULL (sqlite3_bind_double; "Floating
/// Point Numbers" in SQLite's manual) and stores an integral REAL as an
/// integer, which loses the sign of -0.0; MySQL and MariaDB have no NaN or
/// infinities ("Floating-Point Types", MySQL manual 13.1.4) and store
/// -0.0 as 0.0. PostgreSQL's REAL and DOUBLE PRECISION hold every
/// IEEE 754 value, NaN and infinities included (PostgreSQL manual 8.1.3).
fn float_refusal(backend: Backend, nan: bool, infinite: bool) -> Option<String> {
    match backend {
        Backend::Sqlite if nan => Some("SQLite stores a NaN as NULL".into()),
        Backend::MySql if nan || infinite => {
            Some("MySQL and MariaDB FLOAT and DOUBLE hold no NaN or infinity".into())
        }
        _ => None,
    }
}

/// -0.0 compares equal to 0.0 on every backend, so only storing it is
/// refused (a filter's operand is not).
fn negative_zero_refusal(backend: Backend) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(
            "SQLite stores an integral REAL as an integer, so -0.0 would read back as 0.0".into(),
        ),
        Backend::MySql => Some("MySQL and MariaDB store -0.0 as 0.0".into()),
        Backend::Postgres => None,
    }
}

macro_rules! float_limits {
    ($($ty:ty),*) => {$(
        impl Storable for $ty {
            fn refusal(&self, backend: Backend) -> Option<String> {
                float_refusal(backend, self.is_nan(), self.is_infinite())
            }
        }

        impl ColumnLimit for $ty {
            fn column_refusal(&self, _: &ColumnSchema, backend: Backend) -> Option<String> {
                let negative_zero = *self == 0.0 && self.is_sign_negative();
                negative_zero.then(|| negative_zero_refusal(backend)).flatten()
            }
        }
    )*};
}
float_limits!(f32, f64);

/// PostgreSQL text cannot hold the character U+0000 (SQLSTATE 22021,
/// `character_not_in_repertoire`; "Character Types", PostgreSQL manual
/// 8.3). SQLite and MySQL store it like any other character.
const NUL_REASON: &str = "PostgreSQL text cannot hold the character U+0000 (NUL)";

impl Storable for String {
    fn refusal(&self, backend: Backend) -> Option<String> {
        (backend == Backend::Postgres && self.contains('\0')).then(|| NUL_REASON.into())
    }
}

/// A JSON document, serialized: PostgreSQL's JSONB refuses a string that
/// holds U+0000, written `\u0000` (SQLSTATE 22P05,
/// `untranslatable_character`; "JSON Types", PostgreSQL manual 8.14).
#[cfg(feature = "json")]
pub(crate) fn json_refusal<T: serde::Serialize + ?Sized>(
    value: &T,
    backend: Backend,
) -> Option<String> {
    if backend != Backend::Postgres {
        return None;
    }
    // serde_json writes U+0000 only as this escape, in keys and strings alike.
    match serde_json::to_string(value) {
        Ok(text) if text.contains("\\u0000") => {
            Some("PostgreSQL JSONB cannot hold the character U+0000 (NUL) in a string".into())
        }
        _ => None,
    }
}

#[cfg(feature = "json")]
impl Storable for serde_json::Value {
    fn refusal(&self, backend: Backend) -> Option<String> {
        json_refusal(self, backend)
    }
}

#[cfg(feature = "chrono")]
mod chrono_limits {
    use super::*;
    use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

    /// The dates each backend holds. SQLite keeps dates as ISO 8601 text,
    /// which sorts and compares in date order only with four-digit years;
    /// its date functions take 0000-01-01 to 9999-12-31 ("Date And Time
    /// Functions"). PostgreSQL's DATE and TIMESTAMP start at 4714-11-24 BC,
    /// year -4713 in chrono's proleptic Gregorian count (PostgreSQL manual
    /// 8.5, SQLSTATE 22008 beyond); they end after chrono's last year.
    /// MySQL's DATE and DATETIME support 1000-01-01 to 9999-12-31 (MySQL
    /// manual 13.2.2).
    fn date_refusal(date: NaiveDate, backend: Backend) -> Option<String> {
        let in_range = match backend {
            Backend::Sqlite => (0..=9999).contains(&date.year()),
            Backend::Postgres => date >= NaiveDate::from_ymd_opt(-4713, 11, 24)?,
            Backend::MySql => (1000..=9999).contains(&date.year()),
        };
        let range = match backend {
            Backend::Sqlite => "0000-01-01 to 9999-12-31",
            Backend::Postgres => "4714-11-24 BC (year -4713) onwards",
            Backend::MySql => "1000-01-01 to 9999-12-31",
        };
        (!in_range).then(|| format!("{} stores dates from {range}", backend.name()))
    }

    /// Times: PostgreSQL and MySQL keep microseconds (PostgreSQL manual
    /// 8.5; MySQL manual 13.2.6, fractional seconds, which rounds the rest
    /// away) and no leap second; SQLite's text keeps chrono's nanoseconds
    /// and leap seconds.
    fn time_refusal(time: NaiveTime, backend: Backend) -> Option<String> {
        if backend == Backend::Sqlite {
            return None;
        }
        if time.nanosecond() >= 1_000_000_000 {
            return Some(format!("{} stores no leap second", backend.name()));
        }
        (time.nanosecond() % 1_000 != 0).then(|| {
            format!(
                "{} stores times to the microsecond; round the value to whole microseconds first",
                backend.name()
            )
        })
    }

    impl Storable for NaiveDate {
        fn refusal(&self, backend: Backend) -> Option<String> {
            date_refusal(*self, backend)
        }
    }

    impl Storable for NaiveTime {
        fn refusal(&self, backend: Backend) -> Option<String> {
            time_refusal(*self, backend)
        }
    }

    impl Storable for NaiveDateTime {
        fn refusal(&self, backend: Backend) -> Option<String> {
            date_refusal(self.date(), backend).or_else(|| time_refusal(self.time(), backend))
        }
    }

    impl Storable for DateTime<Utc> {
        fn refusal(&self, backend: Backend) -> Option<String> {
            self.naive_utc().refusal(backend)
        }
    }
}
