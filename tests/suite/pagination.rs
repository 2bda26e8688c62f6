// Keyset (cursor) pagination on every backend: paging through a query in
// pages of any size returns the rows of `all()` with the same ordering,
// exactly once each, in order, for one or several sort keys in mixed
// directions, NULLs placed either way, text in byte order, every field type
// as a key; the cursor crosses a text round trip and is refused (a typed
// error, nothing sent) when it belongs to another query or was altered;
// 100,000 rows paged while another task inserts rows return every existing
// row once and each new row at most once.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveTime};
use orm::prelude::*;
use orm::{Backend, Cursor, Error, Ordering, Select};
use orm_tests::models::{customer, order, price, sample, Customer, Order, Price, Sample};

/// Every row of `query()`, page by page, each cursor sent through its text
/// form as a client would; checks that every page but the last is full.
async fn page_through<M, O, G>(
    db: &orm::Database,
    size: u64,
    query: impl Fn() -> Select<M, O, orm::query::NoLock, M, G>,
) -> Vec<O>
where
    M: orm::Model<Connection = orm::DefaultConnection>,
    O: Send + 'static,
{
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = query().page(size).after(cursor.take()).all(db).await.unwrap();
        assert!(page.rows.len() as u64 <= size);
        let full = page.rows.len() as u64 == size;
        out.extend(page.rows);
        match page.next {
            Some(next) => {
                assert!(full, "a page before the last is full");
                cursor = Some(next.to_string().parse().unwrap());
            }
            None => return out,
        }
    }
}

fn ids(orders: &[Order]) -> Vec<i64> {
    orders.iter().map(|o| o.id).collect()
}

/// Orders with ties in every column, NULL notes, and texts that MySQL's
/// default collations would call equal ("a", "A", "a ").
async fn setup() -> Option<orm_tests::TestDb> {
    let t = crate::db().await?;
    t.db.create_table::<Customer>().await.unwrap();
    t.db.create_table::<Order>().await.unwrap();
    let statuses = ["a", "A", "a ", "b", "é", "", "B"];
    let notes = [None, Some("x"), Some("X"), None, Some("x ")];
    let rows: Vec<Order> = (0..60)
        .map(|i: i64| {
            let mut o = Order::new(i % 4, statuses[(i % 7) as usize], [1.5, 0.1 + 0.2, 0.3, -4.0][(i % 3) as usize], (i % 5) as i16);
            o.note = notes[(i % 5) as usize].map(str::to_owned);
            o
        })
        .collect();
    Order::insert_many(&t.db, &rows).await.unwrap();
    Some(t)
}

async fn same_as_all(db: &orm::Database, what: &str, query: impl Fn() -> Select<Order>) {
    let all = ids(&query().all(db).await.unwrap());
    assert_eq!(all.len(), 60);
    for size in [1, 2, 7, 59, 60, 61] {
        let paged = ids(&page_through(db, size, &query).await);
        assert_eq!(paged, all, "{what}, pages of {size}");
    }
}

#[tokio::test]
async fn pages_return_the_rows_of_all_in_order_exactly_once() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    same_as_all(db, "key only", Order::query).await;
    same_as_all(db, "total desc", || Order::query().order_by(order::total.desc())).await;
    same_as_all(db, "status (bytes)", || Order::query().order_by(order::status)).await;
    same_as_all(db, "status desc, total", || Order::query().order_by(order::status.desc()).order_by(order::total)).await;
    same_as_all(db, "customer, status desc, quantity", || {
        Order::query().order_by(order::customer_id).order_by(order::status.desc()).order_by(order::quantity.asc())
    })
    .await;
    same_as_all(db, "note (NULLs first)", || Order::query().order_by(order::note)).await;
    same_as_all(db, "note desc (NULLs last)", || Order::query().order_by(order::note.desc())).await;
    same_as_all(db, "note NULLs last", || Order::query().order_by(order::note.asc().nulls_last())).await;
    same_as_all(db, "note desc NULLs first", || Order::query().order_by(order::note.desc().nulls_first())).await;
    same_as_all(db, "note desc NULLs first, total desc, id desc", || {
        Order::query().order_by(order::note.desc().nulls_first()).order_by(order::total.desc()).order_by(order::id.desc())
    })
    .await;
    same_as_all(db, "quantity, note NULLs last, status", || {
        Order::query().order_by(order::quantity).order_by(order::note.asc().nulls_last()).order_by(order::status)
    })
    .await;
    // With a filter, which the cursor's condition joins.
    let filtered = || Order::query().filter(order::quantity.ge(2)).order_by(order::note.desc()).order_by(order::total);
    let all = ids(&filtered().all(db).await.unwrap());
    assert_eq!(all.len(), 36);
    assert_eq!(ids(&page_through(db, 5, filtered).await), all);
}

#[tokio::test]
async fn a_selection_pages_with_its_own_columns() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let query = || Order::query().select((order::id, order::total)).order_by(order::total.desc()).order_by(order::status);
    let all = query().all(db).await.unwrap();
    let paged = page_through(db, 4, query).await;
    assert_eq!(paged, all);
    // The sort keys are read from columns added after the selection.
    let first = query().page(4).all(db).await.unwrap();
    assert_eq!(first.rows, all[..4]);
}

#[tokio::test]
async fn an_empty_result_is_one_empty_page() {
    let Some(t) = setup().await else { return };
    let page = Order::query().filter(order::quantity.gt(100)).page(10).all(&t.db).await.unwrap();
    assert!(page.rows.is_empty());
    assert!(page.next.is_none());
}

#[tokio::test]
async fn a_cursor_of_another_query_or_altered_is_refused() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let by_total = || Order::query().order_by(order::total);
    let cursor = by_total().page(5).all(db).await.unwrap().next.unwrap();

    let refused = |result: orm::Result<orm::Page<Order>>| match result {
        Err(Error::InvalidCursor { reason }) => reason,
        Err(other) => panic!("expected InvalidCursor, got {other:?}"),
        Ok(_) => panic!("expected InvalidCursor, got a page"),
    };
    // Another direction, another key, another model: refused.
    let reason = refused(Order::query().order_by(order::total.desc()).page(5).after(cursor.clone()).all(db).await);
    assert!(reason.contains("another query"), "{reason}");
    assert!(reason.contains("`total` DESC, `id` ASC"), "{reason}");
    refused(Order::query().order_by(order::quantity).page(5).after(cursor.clone()).all(db).await);
    refused(Order::query().order_by(order::note.asc().nulls_last()).page(5).after(cursor.clone()).all(db).await);
    match Customer::query().order_by(customer::score).page(5).after(cursor.clone()).all(db).await {
        Err(Error::InvalidCursor { .. }) => {}
        other => panic!("expected InvalidCursor, got {other:?}"),
    }
    // The same sort keys with another filter: a valid position.
    let page = by_total().filter(order::quantity.eq(1)).page(5).after(cursor.clone()).all(db).await.unwrap();
    assert!(!page.rows.is_empty());

    // Altered or cut short: refused when parsed.
    let token = cursor.to_string();
    let mut altered = token.clone().into_bytes();
    let middle = altered.len() / 2;
    altered[middle] = if altered[middle] == b'A' { b'B' } else { b'A' };
    for text in [String::from_utf8(altered).unwrap(), token[..token.len() - 3].to_owned(), "%%".into(), String::new()] {
        match text.parse::<Cursor>() {
            Err(Error::InvalidCursor { .. }) => {}
            other => panic!("{text:?}: expected InvalidCursor, got {other:?}"),
        }
    }
    // Through serde, as a field of a request.
    let json = serde_json::to_string(&cursor).unwrap();
    assert_eq!(json, format!("\"{token}\""));
    let back: Cursor = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cursor);
    assert!(serde_json::from_str::<Cursor>("\"AAAA\"").is_err());
}

#[tokio::test]
async fn what_cannot_be_paged_is_refused_before_anything_is_sent() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let invalid = |result: orm::Result<orm::Page<Order>>| match result {
        Err(Error::InvalidQuery { message }) => message,
        Err(other) => panic!("expected InvalidQuery, got {other:?}"),
        Ok(_) => panic!("expected InvalidQuery, got a page"),
    };
    let m = invalid(Order::query().page(0).all(db).await);
    assert!(m.contains("page size of 0"), "{m}");
    let m = invalid(Order::query().limit(5).page(2).all(db).await);
    assert!(m.contains("`limit` or `offset`"), "{m}");
    let m = invalid(Order::query().offset(5).page(2).all(db).await);
    assert!(m.contains("`limit` or `offset`"), "{m}");
    let m = invalid(Order::query().order_by(order::total.sum()).page(2).all(db).await);
    assert!(m.contains("sorts by an expression"), "{m}");
    match Order::query().group_by(order::status).select(order::status).page(2).all(db).await {
        Err(Error::InvalidQuery { message }) => assert!(message.contains("grouped"), "{message}"),
        other => panic!("expected InvalidQuery, got {other:?}"),
    }
    match Sample::query().order_by(sample::json).page(2).all(db).await {
        Err(Error::InvalidQuery { message }) => assert!(message.contains("JSON column `json`"), "{message}"),
        other => panic!("expected InvalidQuery, got {other:?}"),
    }
}

#[tokio::test]
async fn the_statement_of_a_page_on_each_backend() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    // The third row's note is NULL: after it come the other NULLs (by key)
    // and every note that is not NULL.
    let cursor = Order::query().order_by(order::status.desc()).order_by(order::note).page(3).all(db).await.unwrap().next.unwrap();
    let query = || Order::query().order_by(order::status.desc()).order_by(order::note).page(3).after(cursor.clone());
    let columns = |q: &str| {
        ["id", "customer_id", "status", "total", "quantity", "note"]
            .map(|c| format!("{q}orders{q}.{q}{c}{q}"))
            .join(", ")
    };
    assert_eq!(
        query().sql(Backend::Postgres).unwrap(),
        format!(
            r#"SELECT {} FROM "orders" WHERE (("orders"."status" COLLATE "C" <= $1) AND (("orders"."status" COLLATE "C" < $2) OR (("orders"."status" COLLATE "C" = $3) AND (("orders"."note" IS NOT NULL) OR (("orders"."note" IS NULL) AND ("orders"."id" > $4)))))) ORDER BY "orders"."status" COLLATE "C" DESC, "orders"."note" COLLATE "C" ASC NULLS FIRST, "orders"."id" ASC LIMIT 4"#,
            columns("\"")
        )
    );
    assert_eq!(
        query().sql(Backend::Sqlite).unwrap(),
        format!(
            r#"SELECT {} FROM "orders" WHERE (("orders"."status" COLLATE BINARY <= ?) AND (("orders"."status" COLLATE BINARY < ?) OR (("orders"."status" COLLATE BINARY = ?) AND (("orders"."note" IS NOT NULL) OR (("orders"."note" IS NULL) AND ("orders"."id" > ?)))))) ORDER BY "orders"."status" COLLATE BINARY DESC, "orders"."note" COLLATE BINARY ASC NULLS FIRST, "orders"."id" ASC LIMIT 4"#,
            columns("\"")
        )
    );
    assert_eq!(
        query().sql(Backend::MySql).unwrap(),
        format!(
            "SELECT {} FROM `orders` WHERE ((CAST(`orders`.`status` AS BINARY) <= CAST(? AS BINARY)) AND ((CAST(`orders`.`status` AS BINARY) < CAST(? AS BINARY)) OR ((CAST(`orders`.`status` AS BINARY) = CAST(? AS BINARY)) AND ((`orders`.`note` IS NOT NULL) OR ((`orders`.`note` IS NULL) AND (`orders`.`id` > ?)))))) ORDER BY CAST(`orders`.`status` AS BINARY) DESC, CAST(`orders`.`note` AS BINARY) ASC, `orders`.`id` ASC LIMIT 4",
            columns("`")
        )
    );
}

/// Samples whose every column repeats a few values (NULL among them),
/// each chosen so that a value read back inexactly would land on a
/// neighbour: adjacent floats, microseconds, texts equal under a collation.
fn samples() -> Vec<Sample> {
    let day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let time = NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap();
    let at = day.and_time(time);
    let near_03 = f64::from_bits(0.3f64.to_bits() + 1);
    (0..30)
        .map(|i: usize| Sample {
            id: 0,
            small: [None, Some(-1), Some(i16::MAX)][i % 3],
            int: [Some(7), None, Some(-7), Some(7)][i % 4],
            big: [Some(i64::MIN), Some(0), None, Some(i64::MAX), Some(1)][i % 5],
            single: [None, Some(0.1f32), Some(f32::from_bits(0.1f32.to_bits() + 1))][i % 3],
            double: [Some(0.3), None, Some(near_03), Some(-1e300)][i % 4],
            flag: [Some(true), None, Some(false)][i % 3],
            text: [Some("a"), Some("A"), None, Some("a "), Some("é"), Some("")][i % 6].map(str::to_owned),
            bytes: [Some(vec![0]), Some(vec![0, 0]), None, Some(vec![255]), Some(vec![])][i % 5].clone(),
            date: [Some(day), None, Some(day.succ_opt().unwrap())][i % 3],
            time: [Some(time), Some(NaiveTime::from_hms_micro_opt(23, 59, 59, 999_998).unwrap()), None][i % 3],
            local: [None, Some(at), Some(at - chrono::Duration::microseconds(1))][i % 3],
            instant: [Some(at.and_utc()), Some((at + chrono::Duration::microseconds(1)).and_utc()), None, Some(at.and_utc())][i % 4],
            uuid: [Some(uuid::Uuid::from_u128(1)), None, Some(uuid::Uuid::from_u128(u128::MAX))][i % 3],
            json: None,
        })
        .collect()
}

#[tokio::test]
async fn every_field_type_is_a_key_whose_value_round_trips() {
    let Some(t) = crate::db().await else { return };
    let db = &t.db;
    db.create_table::<Sample>().await.unwrap();
    Sample::insert_many(db, &samples()).await.unwrap();
    macro_rules! each_order {
        ($($column:ident),+) => {$(
            let orders: [(&str, fn() -> Ordering<Sample>); 4] = [
                ("asc", || sample::$column.asc()),
                ("desc", || sample::$column.desc()),
                ("asc nulls last", || sample::$column.asc().nulls_last()),
                ("desc nulls first", || sample::$column.desc().nulls_first()),
            ];
            for (name, ordering) in orders {
                let query = || Sample::query().order_by(ordering());
                let all: Vec<i64> = query().all(db).await.unwrap().iter().map(|s| s.id).collect();
                assert_eq!(all.len(), 30);
                let paged: Vec<i64> = page_through(db, 4, query).await.iter().map(|s| s.id).collect();
                assert_eq!(paged, all, "{} {name}", stringify!($column));
            }
        )+};
    }
    each_order!(small, int, big, single, double, flag, text, bytes, date, time, local, instant, uuid);
}

#[tokio::test]
async fn decimal_keys_round_trip_exactly() {
    let Some(t) = crate::db().await else { return };
    if orm_tests::not_on(crate::KIND, &[orm_tests::Kind::Sqlite], "SQLite has no exact decimal") {
        return;
    }
    let db = &t.db;
    db.create_table::<Price>().await.unwrap();
    let amounts = ["0.1", "0.10", "0.1000000001", "-3", "12345678.9876543210"];
    let rows: Vec<Price> = (0..20)
        .map(|i| Price {
            id: 0,
            amount: amounts[i % 5].parse().unwrap(),
            discount: [None, Some("0.0000000001".parse().unwrap()), Some("0".parse().unwrap())][i % 3],
        })
        .collect();
    Price::insert_many(db, &rows).await.unwrap();
    for query in [
        (|| Price::query().order_by(price::amount.desc())) as fn() -> Select<Price>,
        || Price::query().order_by(price::discount).order_by(price::amount),
        || Price::query().order_by(price::discount.desc().nulls_first()).order_by(price::amount.desc()),
    ] {
        let all: Vec<i64> = query().all(db).await.unwrap().iter().map(|p| p.id).collect();
        let paged: Vec<i64> = page_through(db, 3, query).await.iter().map(|p| p.id).collect();
        assert_eq!(paged, all);
    }
}

#[tokio::test]
async fn a_hundred_thousand_rows_paged_while_rows_are_inserted() {
    let Some(t) = crate::db().await else { return };
    let db = t.db.clone();
    db.create_table::<Order>().await.unwrap();
    const ROWS: i64 = 100_000;
    let statuses = ["new", "paid", "sent"];
    for start in (0..ROWS).step_by(10_000) {
        let batch: Vec<Order> = (start..start + 10_000)
            .map(|i| Order::new(i % 7, statuses[(i % 3) as usize], (i % 1000) as f64 / 4.0, (i % 50) as i16))
            .collect();
        Order::insert_many(&db, &batch).await.unwrap();
    }
    let existing: HashSet<i64> = Order::query().select(order::id).all(&db).await.unwrap().into_iter().collect();
    assert_eq!(existing.len() as i64, ROWS);

    // Another task inserts rows, at every position of the order, until
    // the pages are read.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let inserter = tokio::spawn({
        let (db, done) = (db.clone(), done.clone());
        async move {
            let mut inserted = 0usize;
            let mut n = 0i64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let batch: Vec<Order> = (0..20)
                    .map(|_| {
                        n += 1;
                        Order::new(-1, "late", ((n * 7919) % 1000) as f64 / 4.0, ((n * 31) % 50) as i16)
                    })
                    .collect();
                Order::insert_many(&db, &batch).await.unwrap();
                inserted += batch.len();
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            inserted
        }
    });

    let query = || Order::query().order_by(order::quantity.desc()).order_by(order::total);
    let mut seen: HashMap<i64, u32> = HashMap::new();
    let mut cursor: Option<Cursor> = None;
    let mut pages = 0;
    let mut last: Option<(i16, f64, i64)> = None;
    loop {
        let page = query().page(1000).after(cursor.take()).all(&db).await.unwrap();
        pages += 1;
        for o in &page.rows {
            *seen.entry(o.id).or_default() += 1;
            // Each row after the one before it, in the query's order.
            let position = (o.quantity, o.total, o.id);
            if let Some(before) = last {
                assert!(
                    (-position.0, position.1, position.2) > (-before.0, before.1, before.2),
                    "{position:?} after {before:?}"
                );
            }
            last = Some(position);
        }
        match page.next {
            Some(next) => cursor = Some(next.to_string().parse().unwrap()),
            None => break,
        }
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let inserted = inserter.await.unwrap();
    assert!(inserted > 0, "rows were inserted while paging");
    assert!(pages >= 100, "{pages} pages");
    for id in &existing {
        assert_eq!(seen.get(id), Some(&1), "existing row {id} once");
    }
    let new: Vec<i64> = seen.keys().filter(|id| !existing.contains(id)).copied().collect();
    assert!(seen.values().all(|&n| n == 1), "no row twice");
    assert!(new.len() <= inserted, "only inserted rows are new");
    let late = Order::query().filter(order::customer_id.eq(-1)).count(&db).await.unwrap();
    assert_eq!(late as usize, inserted);
}
