// `#[orm(default = ...)]` for decimals and for dates and times: a row
// inserted without the column gets the default, whether the column came
// with CREATE TABLE or was added by a migration over existing rows, and
// the migration's snapshot reads back without a change.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use orm::migrate::{diff, run, Migration, Snapshot};
use orm::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;

mod v1 {
    #[orm::model(table = "schedules")]
    #[derive(Clone, Debug, PartialEq)]
    pub struct Schedule {
        #[orm(primary_key, auto)]
        pub id: i64,
        pub name: String,
    }
}

mod v2 {
    use super::*;

    #[orm::model(table = "schedules")]
    #[derive(Clone, Debug, PartialEq)]
    pub struct Schedule {
        #[orm(primary_key, auto)]
        pub id: i64,
        pub name: String,
        #[orm(default = "2024-02-29")]
        pub due: NaiveDate,
        #[orm(default = "09:30:00.250")]
        pub starts: NaiveTime,
        #[orm(default = "2024-01-31 23:59:58.123456")]
        pub local: NaiveDateTime,
        #[orm(default = "2024-01-31 09:30:00")]
        pub instant: DateTime<Utc>,
        #[orm(default = "1999-12-31")]
        pub maybe: Option<NaiveDate>,
    }
}

mod prices {
    use super::*;

    #[orm::model(table = "priced")]
    #[derive(Clone, Debug, PartialEq)]
    pub struct Priced {
        #[orm(primary_key, auto)]
        pub id: i64,
        pub name: String,
        #[orm(default = 0)]
        pub zero: Decimal,
        #[orm(default = "0.00", precision = 10, scale = 2)]
        pub paid: Decimal,
        #[orm(default = 1.5)]
        pub rate: Decimal,
        #[orm(default = "-12345678901234567.0123456789")]
        pub big: Option<Decimal>,
    }
}

fn expected_dates() -> (NaiveDate, NaiveTime, NaiveDateTime, DateTime<Utc>, Option<NaiveDate>) {
    (
        NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
        NaiveTime::from_hms_milli_opt(9, 30, 0, 250).unwrap(),
        NaiveDate::from_ymd_opt(2024, 1, 31).unwrap().and_hms_micro_opt(23, 59, 58, 123_456).unwrap(),
        Utc.with_ymd_and_hms(2024, 1, 31, 9, 30, 0).unwrap(),
        NaiveDate::from_ymd_opt(1999, 12, 31),
    )
}

fn dates_of(s: &v2::Schedule) -> (NaiveDate, NaiveTime, NaiveDateTime, DateTime<Utc>, Option<NaiveDate>) {
    (s.due, s.starts, s.local, s.instant, s.maybe)
}

async fn insert_name(t: &orm_tests::TestDb, table: &str, name: &str) {
    let sql = format!("INSERT INTO {table} (name) VALUES ('{name}')");
    orm::raw(&sql).execute(t.db.connection("db").unwrap()).await.unwrap();
}

#[tokio::test]
async fn date_and_time_defaults_fill_rows_in_created_and_altered_tables() {
    let Some(t) = crate::db().await else { return };
    let db = &t.db;
    let one = Snapshot::of([v1::Schedule::SCHEMA]);
    let two = Snapshot::of([v2::Schedule::SCHEMA]);
    let create = Migration { name: "0001_create".into(), up: diff(&Snapshot::default(), &one).0, down: Vec::new() };
    run(db, "db", std::slice::from_ref(&create)).await.unwrap();
    insert_name(&t, "schedules", "before").await;
    // ALTER TABLE ADD COLUMN with each default, over a row.
    let (up, down) = diff(&one, &two);
    assert!(!up.is_empty());
    let add = Migration { name: "0002_add_dates".into(), up, down };
    run(db, "db", &[create, add]).await.unwrap();
    insert_name(&t, "schedules", "after").await;
    let rows = v2::Schedule::query().order_by(v2::schedule::id).all(db).await.unwrap();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(dates_of(row), expected_dates(), "{}", row.name);
    }
    // Stored as a bound value is (on SQLite: the same text), so filters find them.
    let (due, starts, local, instant, maybe) = expected_dates();
    let q = v2::Schedule::query;
    let filtered = q()
        .filter(v2::schedule::due.eq(due))
        .filter(v2::schedule::starts.eq(starts))
        .filter(v2::schedule::local.eq(local))
        .filter(v2::schedule::instant.eq(instant))
        .filter(v2::schedule::maybe.eq(maybe))
        .count(db)
        .await
        .unwrap();
    assert_eq!(filtered, 2);

    // CREATE TABLE with the defaults.
    v2::Schedule::query().delete(db).await.unwrap();
    orm::raw("DROP TABLE schedules").execute(db.connection("db").unwrap()).await.unwrap();
    db.create_table::<v2::Schedule>().await.unwrap();
    insert_name(&t, "schedules", "created").await;
    let row = q().one(db).await.unwrap();
    assert_eq!(dates_of(&row), expected_dates());
    let catalog = t.catalog_columns("schedules").await;
    let due = catalog.iter().find(|c| c.name == "due").unwrap();
    assert!(due.default.as_deref().unwrap_or("").contains("2024-02-29"), "{due:?}");

    // The snapshot a migration file holds reads back as the models' own.
    let text = serde_json::to_string(&two).unwrap();
    let read: Snapshot = serde_json::from_str(&text).unwrap();
    let (up, down) = diff(&read, &Snapshot::of([v2::Schedule::SCHEMA]));
    assert!(up.is_empty() && down.is_empty(), "{up:?}");
}

#[tokio::test]
async fn decimal_defaults_fill_rows_where_the_backend_has_decimals() {
    let Some(t) = crate::db().await else { return };
    let db = &t.db;
    if crate::KIND == orm_tests::Kind::Sqlite {
        // SQLite has no exact decimal (see types.rs): refused, defaults or not.
        assert!(db.create_table::<prices::Priced>().await.is_err());
        return;
    }
    db.create_table::<prices::Priced>().await.unwrap();
    insert_name(&t, "priced", "defaults").await;
    let row = prices::Priced::query().one(db).await.unwrap();
    assert_eq!(row.zero, Decimal::ZERO);
    assert_eq!(row.paid, Decimal::ZERO);
    assert_eq!(row.rate, Decimal::from_str("1.5").unwrap());
    assert_eq!(row.big, Some(Decimal::from_str("-12345678901234567.0123456789").unwrap()));
    // Added over rows by a migration too.
    let before = Snapshot::of([prices::Priced::SCHEMA]);
    let mut without = before.clone();
    without.tables.get_mut("priced").unwrap().columns.retain(|c| c.name != "rate");
    let (drop, _) = diff(&before, &without);
    let (add, _) = diff(&without, &before);
    orm::migrate::apply(db, "db", &before, &drop).await.unwrap();
    orm::migrate::apply(db, "db", &without, &add).await.unwrap();
    let rates = prices::Priced::query().select(prices::priced::rate).all(db).await.unwrap();
    assert_eq!(rates, [Decimal::from_str("1.5").unwrap()]);
    let text = serde_json::to_string(&before).unwrap();
    let read: Snapshot = serde_json::from_str(&text).unwrap();
    assert!(diff(&read, &Snapshot::of([prices::Priced::SCHEMA])).0.is_empty());
}
