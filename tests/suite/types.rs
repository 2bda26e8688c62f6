// Every supported field type round-trips exactly, NULL included, and can be
// filtered on; a type the backend cannot hold is a typed error.

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use orm::prelude::*;
use orm::Error;
use orm_tests::models::{all_types, price, AllTypes, Price, Settings};
use rust_decimal::Decimal;
use std::str::FromStr;

fn sample(seed: i32) -> AllTypes {
    let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let time = NaiveTime::from_hms_micro_opt(23, 59, 58, 123_456).unwrap();
    AllTypes {
        id: 0,
        small: i16::MIN + seed as i16,
        int: i32::MAX - seed,
        big: i64::MIN + 1 + seed as i64,
        float: 1.5 + seed as f32,
        double: -2.25e100,
        flag: seed % 2 == 0,
        text: format!("text {seed} ✓"),
        bytes: vec![0, 1, 2, 255, seed as u8],
        date,
        time,
        local: date.and_time(time) + chrono::Duration::days(seed as i64),
        instant: Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap()
            + chrono::Duration::microseconds(678_901)
            + chrono::Duration::minutes(seed as i64),
        uuid: uuid::Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0 + seed as u128),
        json: serde_json::json!({"a": [1, 2, {"b": null}], "seed": seed}),
        settings: orm::Json(Settings { theme: "dark".into(), size: seed as u32 }),
        opt_small: Some(7),
        opt_big: Some(i64::MAX),
        opt_double: Some(0.5),
        opt_flag: Some(false),
        opt_text: Some(String::new()),
        opt_bytes: Some(Vec::new()),
        opt_date: Some(date),
        opt_instant: Some(Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap()),
        opt_uuid: Some(uuid::Uuid::nil()),
        opt_json: Some(serde_json::json!("just a string")),
    }
}

fn nulls(mut row: AllTypes) -> AllTypes {
    row.opt_small = None;
    row.opt_big = None;
    row.opt_double = None;
    row.opt_flag = None;
    row.opt_text = None;
    row.opt_bytes = None;
    row.opt_date = None;
    row.opt_instant = None;
    row.opt_uuid = None;
    row.opt_json = None;
    row
}

#[tokio::test]
async fn every_type_round_trips_with_and_without_null() {
    let Some(t) = crate::db().await else { return };
    let db = &t.db;
    db.create_table::<AllTypes>().await.unwrap();
    let full = sample(1).insert(db).await.unwrap();
    let empty = nulls(sample(2)).insert(db).await.unwrap();
    let mut expected = sample(1);
    expected.id = full.id;
    assert_eq!(full, expected);
    assert_eq!(AllTypes::get(db, full.id).await.unwrap(), expected);
    let mut expected = nulls(sample(2));
    expected.id = empty.id;
    assert_eq!(AllTypes::get(db, empty.id).await.unwrap(), expected);

    // Update every column to the other row's values, then read back.
    let mut swapped = nulls(sample(3));
    swapped.id = full.id;
    swapped.update(db).await.unwrap();
    assert_eq!(AllTypes::get(db, full.id).await.unwrap(), swapped);
    assert_eq!(AllTypes::insert_many(db, &[sample(4), nulls(sample(5))]).await.unwrap(), 2);
    assert_eq!(AllTypes::count(db).await.unwrap(), 4);
}

#[tokio::test]
async fn every_type_can_be_filtered_on() {
    let Some(t) = crate::db().await else { return };
    let db = &t.db;
    db.create_table::<AllTypes>().await.unwrap();
    let row = sample(1).insert(db).await.unwrap();
    nulls(sample(2)).insert(db).await.unwrap();
    let one = |n: i64| assert_eq!(n, 1);
    let q = AllTypes::query;
    one(q().filter(all_types::small.eq(row.small)).count(db).await.unwrap());
    one(q().filter(all_types::int.eq(row.int)).count(db).await.unwrap());
    one(q().filter(all_types::big.eq(row.big)).count(db).await.unwrap());
    one(q().filter(all_types::float.eq(row.float)).count(db).await.unwrap());
    one(q().filter(all_types::flag.eq(false)).count(db).await.unwrap());
    one(q().filter(all_types::text.eq(&row.text)).count(db).await.unwrap());
    one(q().filter(all_types::bytes.eq(row.bytes.as_slice())).count(db).await.unwrap());
    one(q().filter(all_types::uuid.eq(row.uuid)).count(db).await.unwrap());
    one(q().filter(all_types::instant.eq(row.instant)).count(db).await.unwrap());
    one(q().filter(all_types::local.eq(row.local)).count(db).await.unwrap());
    one(q().filter(all_types::opt_big.eq(i64::MAX)).count(db).await.unwrap());
    one(q().filter(all_types::opt_uuid.is_null()).count(db).await.unwrap());
    one(q().filter(all_types::opt_instant.lt(row.instant)).count(db).await.unwrap());
    // Dates compare as dates (on SQLite too, where they are ISO-8601 text).
    let later = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
    assert_eq!(q().filter(all_types::date.lt(later)).count(db).await.unwrap(), 2);
    assert_eq!(q().filter(all_types::flag).count(db).await.unwrap(), 1);
    let (min, max) = q()
        .select((all_types::date.min(), all_types::opt_date.max()))
        .one(db)
        .await
        .unwrap();
    assert_eq!((min, max), (Some(row.date), Some(row.date)));
}

#[tokio::test]
async fn decimals_are_exact_where_the_backend_has_them() {
    let Some(t) = crate::db().await else { return };
    let db = &t.db;
    if crate::KIND == orm_tests::Kind::Sqlite {
        // SQLite has no exact decimal: refused up front, never stored lossily.
        let err = db.create_table::<Price>().await.unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedType { rust_type: "Decimal", context, .. } if context.contains("amount")),
            "{err:?}"
        );
        assert!(err.to_string().contains("SQLite cannot store"), "{err}");
        let row = Price { id: 0, amount: Decimal::ONE, discount: None };
        let err = row.insert(db).await.unwrap_err();
        assert!(matches!(err, Error::UnsupportedType { .. }), "{err:?}");
        return;
    }
    db.create_table::<Price>().await.unwrap();
    let amount = Decimal::from_str("12345678901234567.0123456789").unwrap();
    let p = Price { id: 0, amount, discount: Some(Decimal::from_str("-0.5").unwrap()) }
        .insert(db)
        .await
        .unwrap();
    assert_eq!(p.amount, amount);
    Price { id: 0, amount: Decimal::from_str("0.1").unwrap(), discount: None }.insert(db).await.unwrap();
    let (sum, avg) = Price::query().select((price::amount.sum(), price::discount.avg())).one(db).await.unwrap();
    assert_eq!(sum, Some(amount + Decimal::from_str("0.1").unwrap()));
    assert_eq!(avg.map(|d| d.normalize()), Some(Decimal::from_str("-0.5").unwrap()));
    assert_eq!(Price::query().filter(price::amount.gt(Decimal::ONE)).count(db).await.unwrap(), 1);
}
