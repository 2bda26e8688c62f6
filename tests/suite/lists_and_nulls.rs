// `eq(None)` / `ne(None)` are NULL checks; `is_in` takes lists of any
// length (one array parameter on PostgreSQL, one JSON parameter beyond
// 1,000 values on SQLite and MySQL), matching the rows a short list would.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use orm::prelude::*;
use orm::Condition;
use orm_tests::models::{all_types, order, price, AllTypes, Customer, Order, Price};
use rust_decimal::Decimal;
use std::str::FromStr;

async fn orders() -> Option<orm_tests::TestDb> {
    let t = crate::db().await?;
    t.db.create_table::<Customer>().await.unwrap();
    t.db.create_table::<Order>().await.unwrap();
    let mut rows = vec![
        Order::new(1, "pending", 10.0, 1),
        Order::new(2, "PENDING", 20.0, 1),
        Order::new(3, "shipped", 30.0, 1),
        Order::new(4, "pending ", 40.0, 1),
    ];
    rows[0].note = Some("gift".into());
    rows[2].note = Some(String::new());
    Order::insert_many(&t.db, &rows).await.unwrap();
    Some(t)
}

/// The totals of the orders `condition` keeps: any condition on `Order`
/// (`and`/`or` of two give a condition over `Both<Order, Order>`).
async fn totals<F: orm::query::Filter<Order, I>, I>(t: &orm_tests::TestDb, condition: F) -> Vec<f64> {
    let rows = Order::query().filter(condition).order_by(order::id).all(&t.db).await.unwrap();
    rows.iter().map(|o| o.total).collect()
}

#[tokio::test]
async fn eq_none_is_null_and_ne_none_is_not_null() {
    let Some(t) = orders().await else { return };
    assert_eq!(totals(&t, order::note.eq(None)).await, [20.0, 40.0]);
    assert_eq!(totals(&t, order::note.ne(None)).await, [10.0, 30.0]);
    // An `Option` that happens to be `None` means the same.
    let maybe: Option<String> = None;
    assert_eq!(totals(&t, order::note.eq(maybe.clone())).await, [20.0, 40.0]);
    assert_eq!(totals(&t, order::note.ne(&maybe)).await, [10.0, 30.0]);
    // And one that is `Some` compares the value, as before.
    let gift = Some(String::from("gift"));
    assert_eq!(totals(&t, order::note.eq(gift.clone())).await, [10.0]);
    assert_eq!(totals(&t, order::note.ne(&gift)).await, [30.0]);
    assert_eq!(totals(&t, order::note.eq("")).await, [30.0]);
    // Inside other conditions too.
    assert_eq!(totals(&t, !order::note.eq(None).or(order::total.gt(35.0))).await, [10.0, 30.0]);
    // `set(.., None)` still writes NULL.
    let n = Order::query().filter(order::total.eq(10.0)).update().set(order::note, None).execute(&t.db).await.unwrap();
    assert_eq!(n, 1);
    assert_eq!(totals(&t, order::note.eq(None)).await, [10.0, 20.0, 40.0]);
}

/// `Some` of an owned value, a plain value, a reference and `None` are what
/// an `Option<String>` column takes.
#[tokio::test]
async fn option_columns_take_owned_plain_borrowed_and_none() {
    let Some(t) = orders().await else { return };
    let db = &t.db;
    let by_total = |total: f64| Order::query().filter(order::total.eq(total));
    by_total(20.0).update().set(order::note, "gift").execute(db).await.unwrap();
    let owned = String::from("card");
    by_total(30.0).update().set(order::note, &owned).execute(db).await.unwrap();
    by_total(40.0).update().set(order::note, Some(owned.clone())).execute(db).await.unwrap();
    by_total(10.0).update().set(order::note, None).execute(db).await.unwrap();
    assert_eq!(totals(&t, order::note.eq("gift")).await, [20.0]);
    assert_eq!(totals(&t, order::note.eq(Some(owned.clone()))).await, [30.0, 40.0]);
    assert_eq!(totals(&t, order::note.is_in(["gift", "card"])).await, [20.0, 30.0, 40.0]);
    assert_eq!(totals(&t, order::note.eq(None)).await, [10.0]);
}

/// 100,000 keys that match nothing, around the ones that do.
fn many_ids(matching: &[i64]) -> Vec<i64> {
    let mut ids: Vec<i64> = (1_000..101_000).collect();
    ids.extend_from_slice(matching);
    ids
}

#[tokio::test]
async fn is_in_with_100_000_values_on_every_backend() {
    let Some(t) = orders().await else { return };
    assert_eq!(totals(&t, order::customer_id.is_in(many_ids(&[1, 3]))).await, [10.0, 30.0]);
    assert_eq!(totals(&t, order::customer_id.is_not_in(many_ids(&[1, 3]))).await, [20.0, 40.0]);
    assert_eq!(totals(&t, order::customer_id.is_in(many_ids(&[]))).await, Vec::<f64>::new());
    assert_eq!(totals(&t, order::customer_id.is_not_in(many_ids(&[]))).await, [10.0, 20.0, 30.0, 40.0]);
    // Combined with other parameters, before and after the list.
    let both = order::total.gt(15.0).and(order::customer_id.is_in(many_ids(&[1, 3, 4]))).and(order::quantity.eq(1));
    assert_eq!(totals(&t, both).await, [30.0, 40.0]);
    // Empty lists: nothing, or everything.
    assert_eq!(totals(&t, order::customer_id.is_in(Vec::<i64>::new())).await, Vec::<f64>::new());
    assert_eq!(totals(&t, order::customer_id.is_not_in(Vec::<i64>::new())).await, [10.0, 20.0, 30.0, 40.0]);
}

#[tokio::test]
async fn long_text_lists_compare_bytes_as_short_ones_do() {
    let Some(t) = orders().await else { return };
    for extra in [0, 100_000] {
        // Neither another case nor a trailing space matches (MySQL's
        // default collations would match both).
        let mut statuses: Vec<String> = (0..extra).map(|i| format!("status {i} é")).collect();
        statuses.extend(["Pending".to_owned(), "pending".to_owned(), "shipped  ".to_owned()]);
        assert_eq!(totals(&t, order::status.is_in(&statuses)).await, [10.0], "{extra} more values");
        assert_eq!(totals(&t, order::status.is_not_in(&statuses)).await, [20.0, 30.0, 40.0], "{extra} more");
        statuses.push("pending ".to_owned());
        assert_eq!(totals(&t, order::status.is_in(&statuses)).await, [10.0, 40.0], "{extra} more values");
    }
    // Nullable text, with `None` in the list: NULL matches nothing, as in SQL.
    let notes: Vec<Option<String>> = (0..5_000).map(|i| Some(format!("{i}"))).chain([Some("gift".into()), None]).collect();
    assert_eq!(totals(&t, order::note.is_in(notes.clone())).await, [10.0]);
    assert_eq!(totals(&t, order::note.is_not_in(notes)).await, Vec::<f64>::new());
}

/// Long lists of every type find the row a one-value list finds.
#[tokio::test]
async fn long_lists_of_every_type() {
    let Some(t) = crate::db().await else { return };
    let db = &t.db;
    db.create_table::<AllTypes>().await.unwrap();
    let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let time = chrono::NaiveTime::from_hms_micro_opt(23, 59, 58, 123_456).unwrap();
    let instant = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap() + Duration::microseconds(678_901);
    let row = AllTypes {
        id: 0,
        small: -7,
        int: 70_000,
        big: i64::MIN + 1,
        float: 1.1,
        double: -2.25e100,
        flag: true,
        text: "text ✓".into(),
        bytes: vec![0, 1, 255],
        date,
        time,
        local: date.and_time(time),
        instant,
        uuid: uuid::Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0),
        json: serde_json::json!({"a": 1}),
        settings: orm::Json(orm_tests::models::Settings { theme: "dark".into(), size: 1 }),
        opt_small: None,
        opt_big: Some(5),
        opt_double: None,
        opt_flag: None,
        opt_text: None,
        opt_bytes: Some(vec![9]),
        opt_date: None,
        opt_instant: None,
        opt_uuid: None,
        opt_json: None,
    }
    .insert(db)
    .await
    .unwrap();
    let n = 2_000;
    let count = |c: Condition<AllTypes>| AllTypes::query().filter(c).count(db);
    macro_rules! check {
        ($count:ident, $col:expr, $value:expr, $other:expr) => {{
            let mut list: Vec<_> = (0..n).map($other).collect();
            list.push($value);
            assert_eq!($count($col.is_in(list.clone())).await.unwrap(), 1, "{}", stringify!($col));
            assert_eq!($count($col.is_not_in(list.clone())).await.unwrap(), 0, "{}", stringify!($col));
            list.pop();
            assert_eq!($count($col.is_in(list)).await.unwrap(), 0, "{}", stringify!($col));
        }};
    }
    check!(count, all_types::small, row.small, |i: i32| i as i16);
    check!(count, all_types::int, row.int, |i: i32| i);
    check!(count, all_types::big, row.big, |i: i32| i as i64);
    check!(count, all_types::float, row.float, |i: i32| i as f32 + 0.5);
    check!(count, all_types::double, row.double, |i: i32| i as f64);
    check!(count, all_types::flag, true, |_: i32| false);
    check!(count, all_types::text, row.text.clone(), |i: i32| format!("text {i}"));
    check!(count, all_types::bytes, row.bytes.clone(), |i: i32| i.to_be_bytes().to_vec());
    check!(count, all_types::date, row.date, |i: i32| date + Duration::days(i as i64 + 1));
    check!(count, all_types::time, row.time, |i: i32| chrono::NaiveTime::from_num_seconds_from_midnight_opt(i as u32, 0).unwrap());
    check!(count, all_types::local, row.local, |i: i32| row.local + Duration::seconds(i as i64 + 1));
    check!(count, all_types::instant, row.instant, |i: i32| row.instant + Duration::seconds(i as i64 + 1));
    check!(count, all_types::uuid, row.uuid, |i: i32| uuid::Uuid::from_u128(i as u128));
    check!(count, all_types::opt_big, row.opt_big, |i: i32| Some(i as i64 + 10));
    check!(count, all_types::opt_bytes, row.opt_bytes.clone(), |i: i32| Some(vec![i as u8, 1, 2]));
    if crate::KIND == orm_tests::Kind::Sqlite {
        return; // no decimals on SQLite (see types.rs)
    }
    db.create_table::<Price>().await.unwrap();
    let amount = Decimal::from_str("12345678901234567.0123456789").unwrap();
    Price { id: 0, amount, discount: Some(Decimal::from_str("-0.5").unwrap()) }.insert(db).await.unwrap();
    let count = |c: Condition<Price>| Price::query().filter(c).count(db);
    check!(count, price::amount, amount, |i: i32| Decimal::from(i) + Decimal::from_str("0.0000000001").unwrap());
    check!(count, price::discount, Some(Decimal::from_str("-0.50").unwrap()), |i: i32| Some(Decimal::from(-i)));
}
