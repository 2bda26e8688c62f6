//! Which `#[orm(default = ...)]` literals a field type takes, checked when
//! the model compiles.
//!
//! The macro checks the literal itself when the field's type is spelled
//! out (`NaiveDate`, `Decimal`, `i32`: see `default_text.rs`, shared with
//! it). For a type it cannot tell from its tokens (an alias) it hands the
//! check to the compiler: [`DefaultOf`] says which kind of literal a type
//! takes (a number for a decimal, a string for a date), and
//! [`check_default`], evaluated in a constant, refuses a literal of the
//! right kind whose text is not a value of the type (a date that does not
//! exist, a decimal with more digits than the column's precision and
//! scale). The constant the macro generates panics with its message: the
//! compile error, shown on the literal. The
//! text accepted is the one form every backend stores and SQLite holds
//! exactly as the driver writes the type, so a default and a bound value
//! compare equal there too.

use crate::model::types::{FieldType, SqlType, ValueOf};

// The checks themselves, shared with the macro, which includes the file.
#[path = "default_text.rs"]
mod text;

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

/// A `default` literal as written, as the macro passes it.
#[doc(hidden)]
pub type Literal = text::Literal<'static>;

/// Refuses a `default` of field type `T` whose text is no value of it,
/// with the message to show: for a type the macro could not tell from its
/// tokens (an alias), which it checks itself otherwise. The generated
/// constant panics with the message, a compile error on the literal itself
/// (a panic in here would add notes pointing into this file). `decimal` is
/// the field's `(precision, scale)`, if declared.
#[doc(hidden)]
pub const fn check_default<T: FieldType>(
    literal: Literal,
    decimal: Option<(u8, u8)>,
) -> Result<(), &'static str> {
    let kind = match T::SQL_TYPE {
        SqlType::Decimal => text::Kind::Decimal,
        SqlType::Date => text::Kind::Date,
        SqlType::Time => text::Kind::Time,
        SqlType::DateTime | SqlType::DateTimeUtc => text::Kind::DateTime,
        _ => return Ok(()),
    };
    text::check(kind, literal, decimal)
}
