//! `IN` lists of any length, bound in a constant number of parameters.
//!
//! Each value of a list written as `IN (?, ?, ...)` is one parameter, and
//! every backend caps the parameters of a statement: PostgreSQL and MySQL
//! at 65,535 (their protocols count them in 16 bits), SQLite at 32,766
//! (`SQLITE_MAX_VARIABLE_NUMBER`, "Limits In SQLite"). So a long list is
//! sent as one value instead:
//! - PostgreSQL: one array parameter, `x = ANY($1)` / `x <> ALL($1)`, the
//!   same conditions as `IN` / `NOT IN` (PostgreSQL manual, "Row and Array
//!   Comparisons"), whatever the length;
//! - SQLite: one JSON array, `x IN (SELECT value FROM json_each(?))`;
//! - MySQL/MariaDB: one JSON array, `x IN (SELECT v FROM JSON_TABLE(?,
//!   '$[*]' COLUMNS (v <type> PATH '$')) AS t)` (MySQL 8.0.4+, MariaDB 10.6+).
//!
//! The JSON forms hold each value as the driver would have bound it (the
//! same text for dates on SQLite, hex turned back into bytes for blobs), so
//! a long list matches exactly the rows a short one would. Values without
//! such a form (JSON documents) stay placeholders, and a statement past
//! the cap is [`Error::TooManyParameters`](crate::Error::TooManyParameters)
//! before anything is sent (the connection layer counts them).

use std::fmt::Write;

use crate::backend::Backend;
#[cfg(feature = "postgres")]
use crate::connection::driver::Args;
#[cfg(feature = "postgres")]
use crate::error::{Error, Result};
use crate::model::types::Value;

/// Lists up to this length are written as placeholders on SQLite and
/// MySQL (the familiar form); longer ones as one JSON parameter.
pub(crate) const INLINE_MAX: usize = 1000;

/// Binds `values` as one PostgreSQL array (NULLs kept as NULL elements);
/// `Ok(false)`, nothing bound, when no value says the element type (a
/// list of NULLs only).
#[cfg(feature = "postgres")]
pub(crate) fn bind_array(values: &[Value], args: &mut Args) -> Result<bool> {
    use crate::connection::driver::add;

    // Irrefutable when PostgreSQL is the only backend compiled in.
    #[allow(irrefutable_let_patterns)]
    let crate::connection::driver::DriverArgs::Postgres(a) = &mut args.driver
    else {
        return Ok(false);
    };
    let Some(first) = values.iter().find(|v| !matches!(v, Value::Null(_))) else {
        return Ok(false);
    };
    // Every value of a list has the column's type (`ValueOf`), or is NULL.
    macro_rules! array {
        ($variant:ident, $name:expr) => {{
            let mut items = Vec::with_capacity(values.len());
            for v in values {
                match v {
                    Value::$variant(x) => items.push(Some(x.clone())),
                    Value::Null(_) => items.push(None),
                    other => return Err(mixed(other)),
                }
            }
            add(a, items, $name)?
        }};
    }
    match first {
        Value::Bool(_) => array!(Bool, "bool"),
        Value::I16(_) => array!(I16, "i16"),
        Value::I32(_) => array!(I32, "i32"),
        Value::I64(_) => array!(I64, "i64"),
        Value::F32(_) => array!(F32, "f32"),
        Value::F64(_) => array!(F64, "f64"),
        Value::Text(_) => array!(Text, "String"),
        Value::Bytes(_) => array!(Bytes, "Vec<u8>"),
        #[cfg(feature = "decimal")]
        Value::Decimal(_) => array!(Decimal, "Decimal"),
        #[cfg(feature = "chrono")]
        Value::Date(_) => array!(Date, "NaiveDate"),
        #[cfg(feature = "chrono")]
        Value::Time(_) => array!(Time, "NaiveTime"),
        #[cfg(feature = "chrono")]
        Value::DateTime(_) => array!(DateTime, "NaiveDateTime"),
        #[cfg(feature = "chrono")]
        Value::DateTimeUtc(_) => array!(DateTimeUtc, "DateTime<Utc>"),
        #[cfg(feature = "uuid")]
        Value::Uuid(_) => array!(Uuid, "Uuid"),
        #[cfg(feature = "json")]
        Value::Json(_) => array!(Json, "serde_json::Value"),
        Value::Invalid(message) => {
            return Err(Error::Encode {
                rust_type: "value",
                message: message.clone(),
            })
        }
        Value::Null(_) => unreachable!("the first value that is not NULL"),
    }
    args.show(|| {
        let items: Vec<String> = values.iter().map(Value::param_text).collect();
        format!("{{{}}}", items.join(","))
    });
    Ok(true)
}

#[cfg(feature = "postgres")]
fn mixed(value: &Value) -> Error {
    Error::InvalidQuery {
        message: format!("an `is_in` list mixes value types (at {value:?})"),
    }
}

/// A list as one JSON parameter on SQLite or MySQL: the JSON text and the
/// `SELECT` that reads it back as rows, with one `?` for the text. `None`
/// when a value has no exact JSON form there (JSON documents, floats that
/// are not finite, decimals on SQLite, a list of NULLs only); the caller
/// then uses placeholders.
pub(crate) fn json_list(
    backend: Backend,
    values: &[Value],
    binary_text: bool,
) -> Option<(String, String)> {
    let first = values.iter().find(|v| !matches!(v, Value::Null(_)))?;
    let sqlite = backend == Backend::Sqlite;
    // (MySQL's JSON_TABLE column type, the expression of a row on each backend)
    let (mysql_type, read) = match first {
        Value::Bool(_) | Value::I16(_) | Value::I32(_) | Value::I64(_) => ("BIGINT", Read::Plain),
        Value::F32(_) | Value::F64(_) => ("DOUBLE", Read::Plain),
        Value::Text(_) if binary_text && !sqlite => ("LONGTEXT", Read::Binary),
        Value::Text(_) => ("LONGTEXT", Read::Plain),
        Value::Bytes(_) => ("LONGTEXT", Read::Unhex),
        #[cfg(feature = "decimal")]
        Value::Decimal(_) if !sqlite => ("DECIMAL(65, 30)", Read::Plain),
        #[cfg(feature = "chrono")]
        Value::Date(_) => ("DATE", Read::Plain),
        #[cfg(feature = "chrono")]
        Value::Time(_) => ("TIME(6)", Read::Plain),
        #[cfg(feature = "chrono")]
        Value::DateTime(_) | Value::DateTimeUtc(_) => ("DATETIME(6)", Read::Plain),
        #[cfg(feature = "uuid")]
        Value::Uuid(_) => ("LONGTEXT", Read::Unhex),
        _ => return None,
    };
    let mut json = String::with_capacity(values.len() * 8 + 2);
    json.push('[');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json_value(&mut json, backend, v)?;
    }
    json.push(']');
    let select = if sqlite {
        match read {
            Read::Unhex => "SELECT unhex(value) FROM json_each(?)".to_owned(),
            Read::Plain | Read::Binary => "SELECT value FROM json_each(?)".to_owned(),
        }
    } else {
        let row = match read {
            Read::Plain => "v",
            Read::Binary => "CAST(v AS BINARY)",
            Read::Unhex => "UNHEX(v)",
        };
        let charset = if mysql_type == "LONGTEXT" {
            " CHARACTER SET utf8mb4"
        } else {
            ""
        };
        format!(
            "SELECT {row} FROM JSON_TABLE(?, '$[*]' COLUMNS (v {mysql_type}{charset} PATH '$')) AS orm_in_list"
        )
    };
    Some((json, select))
}

/// How a row of the JSON list becomes a value.
#[derive(Clone, Copy)]
enum Read {
    /// As it is.
    Plain,
    /// As a binary string, so MySQL compares text byte by byte.
    Binary,
    /// From hexadecimal text to bytes.
    Unhex,
}

/// Appends `value` as JSON, in the form the driver binds it on `backend`;
/// `None` when it has none.
fn json_value(out: &mut String, backend: Backend, value: &Value) -> Option<()> {
    let _ = backend;
    match value {
        Value::Null(_) => out.push_str("null"),
        Value::Bool(v) => out.push(if *v { '1' } else { '0' }),
        Value::I16(v) => write!(out, "{v}").ok()?,
        Value::I32(v) => write!(out, "{v}").ok()?,
        Value::I64(v) => write!(out, "{v}").ok()?,
        // As the f64 it is exactly: a FLOAT column's value read as DOUBLE.
        Value::F32(v) => float(out, f64::from(*v))?,
        Value::F64(v) => float(out, *v)?,
        Value::Text(v) => string(out, v),
        Value::Bytes(v) => hex(out, v),
        #[cfg(feature = "decimal")]
        Value::Decimal(v) => string(out, &v.to_string()),
        #[cfg(feature = "chrono")]
        Value::Date(v) => string(out, &v.format("%F").to_string()),
        #[cfg(feature = "chrono")]
        Value::Time(v) => string(out, &v.format("%T%.f").to_string()),
        #[cfg(feature = "chrono")]
        Value::DateTime(v) => string(out, &v.format("%F %T%.f").to_string()),
        // SQLite: the text sqlx binds (RFC 3339); MySQL: the UTC date and
        // time, as the DATETIME(6) column holds it.
        #[cfg(feature = "chrono")]
        Value::DateTimeUtc(v) => match backend {
            Backend::Sqlite => string(
                out,
                &v.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
            ),
            _ => string(out, &v.naive_utc().format("%F %T%.f").to_string()),
        },
        #[cfg(feature = "uuid")]
        Value::Uuid(v) => hex(out, v.as_bytes()),
        _ => return None,
    }
    Some(())
}

fn float(out: &mut String, v: f64) -> Option<()> {
    // JSON has no NaN or infinity.
    if !v.is_finite() {
        return None;
    }
    out.push_str(&serde_json::Number::from_f64(v)?.to_string());
    Some(())
}

fn string(out: &mut String, text: &str) {
    // Serializing a `str` cannot fail.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

fn hex(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for b in bytes {
        let _ = write!(out, "{b:02X}");
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lists() {
        let (json, select) = json_list(
            Backend::Sqlite,
            &[Value::Text("a\"b".into()), Value::Text("é".into())],
            false,
        )
        .unwrap();
        assert_eq!(json, r#"["a\"b","é"]"#);
        assert_eq!(select, "SELECT value FROM json_each(?)");
        let (json, select) = json_list(
            Backend::MySql,
            &[Value::Bytes(vec![0, 255]), Value::Bytes(vec![])],
            true,
        )
        .unwrap();
        assert_eq!(json, r#"["00FF",""]"#);
        assert!(
            select.starts_with("SELECT UNHEX(v) FROM JSON_TABLE(?"),
            "{select}"
        );
        assert!(json_list(Backend::Sqlite, &[Value::F64(f64::NAN)], false).is_none());
        let (json, _) = json_list(
            Backend::Sqlite,
            &[Value::F32(0.1), Value::Bool(true)],
            false,
        )
        .unwrap();
        assert_eq!(json, format!("[{},1]", f64::from(0.1f32)));
    }
}
