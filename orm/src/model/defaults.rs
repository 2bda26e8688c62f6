//! Which `#[orm(default = ...)]` literals a field type takes, checked when
//! the model compiles.
//!
//! The macro sees tokens, not types, so it hands the check to the compiler:
//! [`DefaultOf`] says which kind of literal a type takes (a number for a
//! decimal, a string for a date), and [`check_default`], evaluated in a
//! constant, refuses a literal of the right kind whose text is not a value
//! of the type (a date that does not exist, a decimal with more digits than
//! the column's precision and scale). The constant the macro generates
//! panics with its message: the compile error, shown on the literal. The
//! text accepted is the one form every backend stores and SQLite holds
//! exactly as the driver writes the type, so a default and a bound value
//! compare equal there too.

use crate::model::types::{FieldType, SqlType, ValueOf};

/// A literal that can be the `default` of a field of type `T`: a value
/// the column takes (`0` for an `i32`, `"pending"` for a `String`), a
/// number or a string for a decimal, a string for a date or time.
#[diagnostic::on_unimplemented(
    message = "`default = ...` of type `{Self}` cannot be the default of a `{T}` field",
    label = "not a default for a `{T}` field",
    note = "write a literal of the field's type: a number or a string for `Decimal` (`default = 0`, `default = \"0.00\"`), a string for dates and times (`default = \"2024-01-31\"`)"
)]
pub trait DefaultOf<T> {}

impl<T: FieldType, V: ValueOf<T>> DefaultOf<T> for V {}

#[allow(unused_macros)] // used only with the `decimal` and `chrono` features
macro_rules! default_of {
    ($($literal:ty => $($field:ty),*;)*) => {$($(
        impl DefaultOf<$field> for $literal {}
        impl DefaultOf<Option<$field>> for $literal {}
    )*)*};
}

#[cfg(feature = "decimal")]
default_of! {
    i64 => rust_decimal::Decimal;
    f64 => rust_decimal::Decimal;
    &str => rust_decimal::Decimal;
}
#[cfg(feature = "chrono")]
default_of! {
    &str => chrono::NaiveDate, chrono::NaiveTime, chrono::NaiveDateTime, chrono::DateTime<chrono::Utc>;
}

/// A `default` literal as written: its kind and its text (digits without
/// a suffix, a string's value).
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum Literal {
    /// An integer, with its sign.
    Int(&'static str),
    /// A float, with its sign.
    Float(&'static str),
    /// `true` or `false`.
    Bool,
    /// A string's value.
    Text(&'static str),
}

/// Refuses a `default` of field type `T` whose text is no value of it,
/// with the message to show: the generated constant panics with it, a
/// compile error on the literal itself (a panic in here would add notes
/// pointing into this file). `decimal` is the field's `(precision,
/// scale)`, if declared.
#[doc(hidden)]
pub const fn check_default<T: FieldType>(
    literal: Literal,
    decimal: Option<(u8, u8)>,
) -> Result<(), &'static str> {
    match (T::SQL_TYPE, literal) {
        (SqlType::Decimal, Literal::Float(text)) if significant_digits(text.as_bytes()) > 15 => Err(
            "a float literal keeps 15 significant digits only: write a decimal `default` with more digits as a string, such as `default = \"12345678901234567.89\"`",
        ),
        (SqlType::Decimal, Literal::Int(text) | Literal::Float(text) | Literal::Text(text)) => {
            check_decimal(text.as_bytes(), decimal)
        }
        (SqlType::Date, Literal::Text(text)) if !is_date(text.as_bytes()) => Err(
            "the `default` of a date field is a day that exists, written \"YYYY-MM-DD\", such as `default = \"2024-01-31\"`",
        ),
        (SqlType::Time, Literal::Text(text)) if !is_time(text.as_bytes()) => Err(
            "the `default` of a time field is written \"HH:MM:SS\", or with 3 or 6 decimals and no trailing zeros beyond them (\"HH:MM:SS.250\", \"HH:MM:SS.123456\"), such as `default = \"09:30:00\"`",
        ),
        (SqlType::DateTime | SqlType::DateTimeUtc, Literal::Text(text))
            if !is_date_time(text.as_bytes()) =>
        {
            Err(
                "the `default` of a date-and-time field is written \"YYYY-MM-DD HH:MM:SS\" (a `DateTime<Utc>` in UTC, without a zone), optionally with 3 or 6 decimals, such as `default = \"2024-01-31 09:30:00\"`",
            )
        }
        _ => Ok(()),
    }
}

/// Digits other than leading zeros in a number's text.
const fn significant_digits(b: &[u8]) -> usize {
    let mut i = 0;
    let mut count = 0;
    let mut leading = true;
    while i < b.len() {
        if b[i].is_ascii_digit() && !(leading && b[i] == b'0') {
            leading = false;
            count += 1;
        }
        i += 1;
    }
    count
}

/// `-?digits(.digits)?` within the precision and scale (MySQL's
/// DECIMAL(38, 10) when the field declares none), else the message.
const fn check_decimal(b: &[u8], decimal: Option<(u8, u8)>) -> Result<(), &'static str> {
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let mut integer = 0;
    let mut leading = true;
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        if !(leading && b[i] == b'0') {
            leading = false;
            integer += 1;
        }
        i += 1;
    }
    let mut digits = i - start;
    let mut fraction = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            fraction += 1;
            i += 1;
        }
        digits += fraction;
    }
    if digits == 0 || i != b.len() {
        return Err(
            "the `default` of a decimal field is a number: digits with an optional `-` and `.`, no exponent, such as `default = 0` or `default = \"0.00\"`"
        );
    }
    let (precision, scale) = match decimal {
        Some(size) => size,
        None => (38, 10),
    };
    if fraction > scale as usize {
        return Err(
            "the `default` has more decimals than the field's `scale` (10 without `precision`, MySQL's DECIMAL(38, 10)); write fewer decimals or raise `scale`"
        );
    }
    if integer > (precision - scale) as usize {
        return Err(
            "the `default` has more digits before the point than `precision` minus `scale` leaves (28 without `precision`); write a smaller number or raise `precision`"
        );
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MM:SS[.fff|.ffffff]`.
const fn is_date_time(b: &[u8]) -> bool {
    b.len() > 11 && is_date(b.split_at(10).0) && b[10] == b' ' && is_time(b.split_at(11).1)
}

/// Two ASCII digits at `b[i..i + 2]`, as a number.
const fn two(b: &[u8], i: usize) -> Option<u32> {
    if b[i].is_ascii_digit() && b[i + 1].is_ascii_digit() {
        Some((b[i] - b'0') as u32 * 10 + (b[i + 1] - b'0') as u32)
    } else {
        None
    }
}

/// `YYYY-MM-DD`, a day of the proleptic Gregorian calendar (year 1 to 9999).
const fn is_date(b: &[u8]) -> bool {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(hi), Some(lo), Some(month), Some(day)) = (two(b, 0), two(b, 2), two(b, 5), two(b, 8))
    else {
        return false;
    };
    let year = hi * 100 + lo;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && day >= 1 && day <= days
}

/// `HH:MM:SS`, optionally `.fff` or `.ffffff` as chrono writes them (the
/// fewest of 3 or 6 digits, none when zero): the text sqlx binds on SQLite.
const fn is_time(b: &[u8]) -> bool {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return false;
    }
    let (Some(h), Some(m), Some(s)) = (two(b, 0), two(b, 3), two(b, 6)) else {
        return false;
    };
    if h > 23 || m > 59 || s > 59 {
        return false;
    }
    if b.len() == 8 {
        return true;
    }
    let fraction = b.len() - 9;
    if b[8] != b'.' || !(fraction == 3 || fraction == 6) {
        return false;
    }
    let mut i = 9;
    let mut last_nonzero = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            return false;
        }
        if b[i] != b'0' {
            last_nonzero = i - 8;
        }
        i += 1;
    }
    // `.000` is written as nothing, `.250000` as `.250`.
    last_nonzero > 0 && (fraction == 3 || last_nonzero > 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert!(is_date(b"2024-02-29"));
        assert!(!is_date(b"2023-02-29"));
        assert!(!is_date(b"2024-13-01"));
        assert!(!is_date(b"2024-1-01"));
        assert!(is_time(b"23:59:59"));
        assert!(is_time(b"09:30:00.250"));
        assert!(is_time(b"09:30:00.123456"));
        assert!(!is_time(b"09:30:00.250000"));
        assert!(!is_time(b"09:30:00.000"));
        assert!(!is_time(b"24:00:00"));
        assert!(!is_time(b"09:30:00.5"));
    }

    #[test]
    fn decimals() {
        assert_eq!(significant_digits(b"0.000120"), 3);
        assert_eq!(significant_digits(b"1234567890123456.7"), 17);
        assert!(check_decimal(b"-12.50", Some((4, 2))).is_ok());
        assert!(check_decimal(b"0", None).is_ok());
        assert!(check_decimal(b"123.5", Some((4, 2))).is_err());
        assert!(check_decimal(b"1.555", Some((4, 2))).is_err());
        assert!(check_decimal(b"1e3", None).is_err());
    }
}
