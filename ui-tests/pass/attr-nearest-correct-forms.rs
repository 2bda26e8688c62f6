// The nearest correct form of each attribute and shape rule compiles: well-formed
// attributes and indexes, one of each key, `auto` on an integer key, decimals
// within their size, and defaults written as each type takes them.
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;

// unknown-attribute/, duplicate-attribute/: keys spelled right, given once,
// with values of their kind; indexes listing fields of the model, each once.
#[orm::model(table = "customers", index(name, email), unique(email, region))]
pub struct Customer {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 120)]
    pub name: String,
    #[orm(unique, column = "email_address")]
    pub email: String,
    #[orm(default = "eu", max_length = 2)]
    pub region: String,
    #[orm(index)]
    pub note: Option<String>,
}

// conflicting-attribute/, primary-key/: one plain key, `auto` on it without a
// default, `unique` or `index` alone elsewhere, one column per field.
#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i32,
    #[orm(default = 0)]
    pub counter: i64,
    #[orm(unique)]
    pub code: String,
    #[orm(index)]
    pub name: String,
    #[orm(column = "shown_name")]
    pub display_name: String,
}

// unsupported-type/: `auto` on each integer type, `max_length` on text,
// a map stored as JSON.
#[orm::model]
pub struct Counter {
    #[orm(primary_key, auto)]
    pub id: i16,
    #[orm(max_length = 10)]
    pub label: Option<String>,
    pub attributes: orm::Json<HashMap<String, String>>,
}

#[orm::model]
pub struct Membership {
    #[orm(primary_key)]
    pub code: String,
    #[orm(unique)]
    pub user_id: i64,
}

// decimal-size/: sizes within range, `scale` with `precision` and at most it.
#[orm::model(table = "prices")]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(precision = 1)]
    pub digit: Decimal,
    #[orm(precision = 65)]
    pub wide: Decimal,
    #[orm(precision = 30, scale = 28)]
    pub fine: Decimal,
    #[orm(precision = 6, scale = 6)]
    pub fraction: Decimal,
    #[orm(precision = 12, scale = 2)]
    pub amount: Option<Decimal>,
}

// default-value/: each default written as its type takes it.
#[orm::model]
pub struct Shift {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(default = "2024-01-31")]
    pub due: NaiveDate,
    #[orm(default = "09:30:00")]
    pub starts: NaiveTime,
    #[orm(default = "09:30:00.500")]
    pub ends: NaiveTime,
    #[orm(default = "2024-01-31 09:30:00")]
    pub planned: NaiveDateTime,
    #[orm(default = "2024-01-31 07:30:00")]
    pub at: DateTime<Utc>,
    #[orm(default = "1.23", precision = 6, scale = 2)]
    pub amount: Decimal,
    #[orm(default = 1234, precision = 6, scale = 2)]
    pub list: Decimal,
    #[orm(default = "12.50")]
    pub tax: Decimal,
    #[orm(default = 0.1234567890)]
    pub rate: Decimal,
    #[orm(default = "12345678901234567.89")]
    pub big: Decimal,
}

fn main() {}
