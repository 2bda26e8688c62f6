//! The text of a `#[orm(default = ...)]` literal that a decimal, date, time
//! or date-and-time field takes, and the message for one it does not.
//!
//! One file, compiled into both crates: `orm-macros` includes it by path
//! and checks a literal while expanding, where the field's type is spelled
//! out (`NaiveDate`, `Decimal`); `orm` evaluates the same check in a
//! constant for a type the macro cannot tell from its tokens (an alias).
//! So it uses nothing but `core`, and its functions are `const`.

/// The field types whose `default` text is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `rust_decimal::Decimal`.
    Decimal,
    /// `chrono::NaiveDate`.
    Date,
    /// `chrono::NaiveTime`.
    Time,
    /// `chrono::NaiveDateTime` or `chrono::DateTime<Utc>`.
    DateTime,
}

/// A `default` literal as written: its kind and its text (digits without
/// a suffix, a string's value).
#[derive(Clone, Copy, Debug)]
pub enum Literal<'a> {
    /// An integer, with its sign.
    Int(&'a str),
    /// A float, with its sign.
    Float(&'a str),
    /// `true` or `false`.
    Bool,
    /// A string's value.
    Text(&'a str),
}

/// Refuses a `default` of a field of `kind` whose text is no value of it,
/// with the message to show. `decimal` is the field's `(precision,
/// scale)`, if declared. A literal of another kind (a number for a date)
/// passes: the type check of the literal reports it.
pub const fn check(
    kind: Kind,
    literal: Literal<'_>,
    decimal: Option<(u8, u8)>,
) -> Result<(), &'static str> {
    match (kind, literal) {
        (Kind::Decimal, Literal::Float(text)) if significant_digits(text.as_bytes()) > 15 => Err(
            "a float literal keeps 15 significant digits only: write a decimal `default` with more digits as a string, such as `default = \"12345678901234567.89\"`",
        ),
        (Kind::Decimal, Literal::Int(text) | Literal::Float(text) | Literal::Text(text)) => {
            check_decimal(text.as_bytes(), decimal)
        }
        (Kind::Date, Literal::Text(text)) if !is_date(text.as_bytes()) => Err(
            "the `default` of a date field is a day that exists, written \"YYYY-MM-DD\", such as `default = \"2024-01-31\"`",
        ),
        (Kind::Time, Literal::Text(text)) if !is_time(text.as_bytes()) => Err(
            "the `default` of a time field is written \"HH:MM:SS\", or with 3 or 6 decimals and no trailing zeros beyond them (\"HH:MM:SS.250\", \"HH:MM:SS.123456\"), such as `default = \"09:30:00\"`",
        ),
        (Kind::DateTime, Literal::Text(text)) if !is_date_time(text.as_bytes()) => Err(
            "the `default` of a date-and-time field is written \"YYYY-MM-DD HH:MM:SS\" (without a zone: a `DateTime<Utc>` field's default is in UTC), optionally with 3 or 6 decimals, such as `default = \"2024-01-31 09:30:00\"`",
        ),
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
        return Err(if decimal.is_some() {
            "the `default` has more decimals than the field's `scale`; write fewer decimals or raise `scale`"
        } else {
            "the `default` has more decimals than a decimal field without `precision` keeps (10, MySQL's DECIMAL(38, 10)); write fewer decimals, or give the field `precision = P, scale = S`"
        });
    }
    if integer > (precision - scale) as usize {
        return Err(if decimal.is_some() {
            "the `default` has more digits before the point than `precision` minus `scale` leaves; write a smaller number or raise `precision`"
        } else {
            "the `default` has more digits before the point than a decimal field without `precision` keeps (28, MySQL's DECIMAL(38, 10)); write a smaller number, or give the field `precision = P, scale = S`"
        });
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
