//! The models the suites use: a key that is not `id`, a supplied string key,
//! renamed columns, defaults, nullable columns, and every supported type.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[orm::model(table = "customers")]
#[derive(Clone, Debug, PartialEq)]
pub struct Customer {
    #[orm(primary_key, auto)]
    pub customer_id: i64,
    #[orm(unique, max_length = 200)]
    pub email: String,
    pub name: String,
    #[orm(column = "nick_name")]
    pub nickname: Option<String>,
    #[orm(default = true)]
    pub active: bool,
    #[orm(index)]
    pub score: i32,
}

impl Customer {
    /// A customer with everything but the email defaulted.
    pub fn new(email: &str, name: &str, score: i32) -> Customer {
        Customer {
            customer_id: 0,
            email: email.to_owned(),
            name: name.to_owned(),
            nickname: None,
            active: true,
            score,
        }
    }
}

#[orm::model]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(index)]
    pub customer_id: i64,
    #[orm(default = "pending", max_length = 20)]
    pub status: String,
    pub total: f64,
    pub quantity: i16,
    pub note: Option<String>,
}

impl Order {
    pub fn new(customer_id: i64, status: &str, total: f64, quantity: i16) -> Order {
        Order {
            id: 0,
            customer_id,
            status: status.to_owned(),
            total,
            quantity,
            note: None,
        }
    }
}

/// A key the application supplies.
#[orm::model(table = "tags")]
#[derive(Clone, Debug, PartialEq)]
pub struct Tag {
    #[orm(primary_key, max_length = 64)]
    pub code: String,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub theme: String,
    pub size: u32,
}

/// One column of every supported type SQLite can hold, plus nullable twins.
#[orm::model(table = "all_types")]
#[derive(Clone, Debug, PartialEq)]
pub struct AllTypes {
    #[orm(primary_key, auto)]
    pub id: i32,
    pub small: i16,
    pub int: i32,
    pub big: i64,
    pub float: f32,
    pub double: f64,
    pub flag: bool,
    pub text: String,
    pub bytes: Vec<u8>,
    pub date: NaiveDate,
    pub time: NaiveTime,
    pub local: NaiveDateTime,
    pub instant: DateTime<Utc>,
    pub uuid: Uuid,
    pub json: serde_json::Value,
    pub settings: orm::Json<Settings>,
    pub opt_small: Option<i16>,
    pub opt_big: Option<i64>,
    pub opt_double: Option<f64>,
    pub opt_flag: Option<bool>,
    pub opt_text: Option<String>,
    pub opt_bytes: Option<Vec<u8>>,
    pub opt_date: Option<NaiveDate>,
    pub opt_instant: Option<DateTime<Utc>>,
    pub opt_uuid: Option<Uuid>,
    pub opt_json: Option<serde_json::Value>,
}

/// Exact decimals: PostgreSQL and MySQL only.
#[orm::model(table = "prices")]
#[derive(Clone, Debug, PartialEq)]
pub struct Price {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub amount: Decimal,
    pub discount: Option<Decimal>,
}

orm::connections! {
    /// The default connection, under the name the application uses.
    pub Main = "db";
    /// Shared users and departments.
    pub Essentials = "essentials";
    /// The old system: read, never written.
    pub Legacy = "legacy", read_only;
}

/// A user of the shared "essentials" database.
#[orm::model(table = "auser", connection = Essentials, has_many(tickets = crate::blog::ticket::user_id))]
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    #[orm(primary_key, auto)]
    pub uid: i64,
    #[orm(unique, max_length = 120)]
    pub email: String,
    pub name: String,
}

/// A customer of the old system, on the read-only "legacy" connection.
#[orm::model(table = "legacy_customers", connection = Legacy)]
#[derive(Clone, Debug, PartialEq)]
pub struct LegacyCustomer {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
}

/// An archived invoice: on the default connection, but a read-only model.
#[orm::model(table = "archived_invoices", read_only)]
#[derive(Clone, Debug, PartialEq)]
pub struct ArchivedInvoice {
    #[orm(primary_key)]
    pub id: i64,
    pub total: f64,
}

/// The legacy table, created and filled directly (never through the ORM).
pub const LEGACY_SCHEMA: &str =
    "CREATE TABLE legacy_customers (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL)";
pub const LEGACY_ROWS: &str =
    "INSERT INTO legacy_customers (id, name) VALUES (1, 'Old Ada'), (2, 'Old Bob')";

/// Every field type but `Decimal` (which SQLite refuses), each nullable:
/// the rows of the value round-trip tests.
#[orm::model(table = "samples")]
#[derive(Clone, Debug, Default)]
pub struct Sample {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub small: Option<i16>,
    pub int: Option<i32>,
    pub big: Option<i64>,
    pub single: Option<f32>,
    pub double: Option<f64>,
    pub flag: Option<bool>,
    pub text: Option<String>,
    pub bytes: Option<Vec<u8>>,
    pub date: Option<NaiveDate>,
    pub time: Option<NaiveTime>,
    pub local: Option<NaiveDateTime>,
    pub instant: Option<DateTime<Utc>>,
    pub uuid: Option<Uuid>,
    pub json: Option<serde_json::Value>,
}

/// Floats in required columns.
#[orm::model(table = "floats")]
#[derive(Clone, Debug)]
pub struct Floats {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub single: f32,
    pub double: f64,
}

/// Decimals with and without a declared precision and scale (PostgreSQL
/// and MySQL only).
#[orm::model(table = "amounts")]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Amount {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub any: Option<Decimal>,
    #[orm(precision = 12, scale = 2)]
    pub money: Option<Decimal>,
    #[orm(precision = 5)]
    pub whole: Option<Decimal>,
    #[orm(precision = 28, scale = 28)]
    pub fraction: Option<Decimal>,
}

/// A country keyed by its code, on tables the test creates by hand with a
/// collation that ignores case (a legacy database): see [`COUNTRY_TABLES`].
#[orm::model(
    table = "countries",
    has_many(cities = city::country_code),
    has_one(capital = capital::country_code),
    many_to_many(languages = country_language::country_code -> country_language::language_code)
)]
#[derive(Clone, Debug, PartialEq)]
pub struct Country {
    #[orm(primary_key, max_length = 10)]
    pub code: String,
    pub name: String,
}

#[orm::model(table = "cities")]
#[derive(Clone, Debug, PartialEq)]
pub struct City {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Country, relation = "country", max_length = 10)]
    pub country_code: String,
    pub name: String,
}

#[orm::model(table = "capitals")]
#[derive(Clone, Debug, PartialEq)]
pub struct Capital {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Country, relation = "country", max_length = 10)]
    pub country_code: String,
    pub name: String,
}

#[orm::model(table = "languages")]
#[derive(Clone, Debug, PartialEq)]
pub struct Language {
    #[orm(primary_key, max_length = 10)]
    pub code: String,
    pub name: String,
}

#[orm::model(table = "country_languages")]
#[derive(Clone, Debug, PartialEq)]
pub struct CountryLanguage {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Country, relation = "country", max_length = 10)]
    pub country_code: String,
    #[orm(belongs_to = Language, relation = "language", max_length = 10)]
    pub language_code: String,
}

/// The tables of [`Country`] and its relations as a legacy database has
/// them: text keys under a collation that ignores case, per backend (SQLite
/// `NOCASE`; PostgreSQL a nondeterministic ICU collation; MySQL/MariaDB
/// `utf8mb4_general_ci`, which also ignores trailing spaces), with foreign
/// keys where the backend checks them by that collation.
pub fn country_tables(kind: crate::Kind) -> String {
    let (text, serial, head) = match kind {
        crate::Kind::Sqlite => ("TEXT COLLATE NOCASE", "INTEGER PRIMARY KEY AUTOINCREMENT", String::new()),
        crate::Kind::Postgres => (
            "VARCHAR(10) COLLATE ci",
            "BIGSERIAL PRIMARY KEY",
            "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);"
                .to_owned(),
        ),
        crate::Kind::MySql => (
            "VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
            "BIGINT AUTO_INCREMENT PRIMARY KEY",
            String::new(),
        ),
    };
    format!(
        "{head}
         CREATE TABLE countries (code {text} NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL);
         CREATE TABLE languages (code {text} NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL);
         CREATE TABLE cities (id {serial}, country_code {text} NOT NULL, name VARCHAR(100) NOT NULL,
             FOREIGN KEY (country_code) REFERENCES countries (code));
         CREATE TABLE capitals (id {serial}, country_code {text} NOT NULL, name VARCHAR(100) NOT NULL,
             FOREIGN KEY (country_code) REFERENCES countries (code));
         CREATE TABLE country_languages (id {serial}, country_code {text} NOT NULL, language_code {text} NOT NULL,
             FOREIGN KEY (country_code) REFERENCES countries (code),
             FOREIGN KEY (language_code) REFERENCES languages (code));"
    )
}
