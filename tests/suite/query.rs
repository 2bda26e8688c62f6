// The typed query DSL on every backend: comparisons, IN, BETWEEN, LIKE with
// escaping, NULL checks, and/or/not, ordering, limit/offset, selections,
// aggregates, group by/having, updates and deletes by query.

use orm::prelude::*;
use orm::{count_all, not, Error};
use orm_tests::models::{customer, order, Customer, Order};

/// Orders: (customer, status, total, quantity)
const ORDERS: &[(i64, &str, f64, i16)] = &[
    (1, "pending", 10.0, 1),
    (1, "shipped", 25.5, 2),
    (2, "pending", 40.0, 4),
    (2, "cancelled", 5.0, 1),
    (3, "shipped", 100.0, 10),
];

async fn setup() -> Option<orm_tests::TestDb> {
    let t = crate::db().await?;
    t.db.create_table::<Customer>().await.unwrap();
    t.db.create_table::<Order>().await.unwrap();
    let rows: Vec<Order> = ORDERS
        .iter()
        .map(|&(c, s, t, q)| Order::new(c, s, t, q))
        .collect();
    Order::insert_many(&t.db, &rows).await.unwrap();
    Some(t)
}

fn totals(orders: &[Order]) -> Vec<f64> {
    orders.iter().map(|o| o.total).collect()
}

#[tokio::test]
async fn comparisons() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let q = || Order::query().order_by(order::id);
    assert_eq!(totals(&q().filter(order::status.eq("pending")).all(db).await.unwrap()), [10.0, 40.0]);
    assert_eq!(totals(&q().filter(order::status.ne("pending")).all(db).await.unwrap()), [25.5, 5.0, 100.0]);
    assert_eq!(totals(&q().filter(order::total.lt(25.5)).all(db).await.unwrap()), [10.0, 5.0]);
    assert_eq!(totals(&q().filter(order::total.le(25.5)).all(db).await.unwrap()), [10.0, 25.5, 5.0]);
    assert_eq!(totals(&q().filter(order::total.gt(40.0)).all(db).await.unwrap()), [100.0]);
    assert_eq!(totals(&q().filter(order::total.ge(40.0)).all(db).await.unwrap()), [40.0, 100.0]);
    let status = String::from("shipped");
    assert_eq!(totals(&q().filter(order::status.eq(&status)).all(db).await.unwrap()), [25.5, 100.0]);
}

#[tokio::test]
async fn in_between_and_boolean_logic() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let q = || Order::query().order_by(order::id);
    let got = q().filter(order::customer_id.is_in([1, 3])).all(db).await.unwrap();
    assert_eq!(totals(&got), [10.0, 25.5, 100.0]);
    let got = q().filter(order::customer_id.is_not_in(vec![1, 3])).all(db).await.unwrap();
    assert_eq!(totals(&got), [40.0, 5.0]);
    assert!(q().filter(order::customer_id.is_in(Vec::<i64>::new())).all(db).await.unwrap().is_empty());
    assert_eq!(q().filter(order::customer_id.is_not_in(Vec::<i64>::new())).count(db).await.unwrap(), 5);
    let got = q().filter(order::total.between(10.0, 40.0)).all(db).await.unwrap();
    assert_eq!(totals(&got), [10.0, 25.5, 40.0]);
    let got = q()
        .filter(order::status.eq("pending").or(order::quantity.ge(10)))
        .all(db)
        .await
        .unwrap();
    assert_eq!(totals(&got), [10.0, 40.0, 100.0]);
    let got = q()
        .filter(not(order::status.eq("pending")).and(order::customer_id.eq(2)))
        .all(db)
        .await
        .unwrap();
    assert_eq!(totals(&got), [5.0]);
    // Several filters combine with AND.
    let got = q().filter(order::customer_id.eq(1)).filter(!order::status.eq("pending")).all(db).await.unwrap();
    assert_eq!(totals(&got), [25.5]);
}

#[tokio::test]
async fn null_checks() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    Order::query()
        .filter(order::total.gt(30.0))
        .update()
        .set(order::note, "big")
        .execute(db)
        .await
        .unwrap();
    assert_eq!(Order::query().filter(order::note.is_null()).count(db).await.unwrap(), 3);
    let big = Order::query().filter(order::note.is_not_null()).order_by(order::id).all(db).await.unwrap();
    assert_eq!(totals(&big), [40.0, 100.0]);
    assert_eq!(Order::query().filter(order::note.eq("big")).count(db).await.unwrap(), 2);
    // Setting a nullable column back to NULL.
    Order::query().update().set(order::note, None::<String>).execute(db).await.unwrap();
    assert_eq!(Order::query().filter(order::note.is_null()).count(db).await.unwrap(), 5);
}

#[tokio::test]
async fn like_contains_and_prefixes_escape_wildcards() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    for (i, name) in ["50% off", "50 percent", "a_b", "axb", "back\\slash", "bang!", "it's"].iter().enumerate() {
        Customer::new(&format!("{i}@x.org"), name, i as i32).insert(db).await.unwrap();
    }
    let names = |rows: Vec<Customer>| rows.into_iter().map(|c| c.name).collect::<Vec<_>>();
    let q = || Customer::query().order_by(customer::customer_id);
    assert_eq!(names(q().filter(customer::name.contains("%")).all(db).await.unwrap()), ["50% off"]);
    assert_eq!(names(q().filter(customer::name.starts_with("50%")).all(db).await.unwrap()), ["50% off"]);
    assert_eq!(names(q().filter(customer::name.contains("_")).all(db).await.unwrap()), ["a_b"]);
    assert_eq!(names(q().filter(customer::name.ends_with("!")).all(db).await.unwrap()), ["bang!"]);
    assert_eq!(names(q().filter(customer::name.contains("\\")).all(db).await.unwrap()), ["back\\slash"]);
    assert_eq!(names(q().filter(customer::name.contains("'")).all(db).await.unwrap()), ["it's"]);
    // `like` keeps the caller's wildcards.
    assert_eq!(names(q().filter(customer::name.like("a_b")).all(db).await.unwrap()), ["a_b", "axb"]);
    assert_eq!(names(q().filter(customer::name.like("bang!")).all(db).await.unwrap()), ["bang!"]);
    assert_eq!(names(q().filter(customer::name.like("50%")).all(db).await.unwrap()), ["50% off", "50 percent"]);
}

#[tokio::test]
async fn ordering_limit_offset_and_first() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let by_status_then_total = Order::query()
        .order_by(order::status)
        .order_by(order::total.desc())
        .all(db)
        .await
        .unwrap();
    assert_eq!(totals(&by_status_then_total), [5.0, 40.0, 10.0, 100.0, 25.5]);
    let page = Order::query().order_by(order::total.asc()).limit(2).offset(1).all(db).await.unwrap();
    assert_eq!(totals(&page), [10.0, 25.5]);
    let rest = Order::query().order_by(order::total).offset(3).all(db).await.unwrap();
    assert_eq!(totals(&rest), [40.0, 100.0]);
    let top = Order::query().order_by(order::total.desc()).first(db).await.unwrap().unwrap();
    assert_eq!(top.total, 100.0);
    assert!(Order::query().filter(order::total.gt(1000.0)).first(db).await.unwrap().is_none());
    let err = Order::query().filter(order::total.gt(1000.0)).one(db).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { model: "Order" }), "{err:?}");
    assert_eq!(Order::query().limit(2).count(db).await.unwrap(), 2);
}

#[tokio::test]
async fn selecting_columns_into_tuples() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let rows: Vec<(String, f64)> = Order::query()
        .select((order::status, order::total))
        .filter(order::customer_id.eq(1))
        .order_by(order::id)
        .all(db)
        .await
        .unwrap();
    assert_eq!(rows, [("pending".to_owned(), 10.0), ("shipped".to_owned(), 25.5)]);
    let ids: Vec<i64> = Order::query().select(order::customer_id).order_by(order::id).all(db).await.unwrap();
    assert_eq!(ids, [1, 1, 2, 2, 3]);
    let one: (i64, i16, Option<String>) = Order::query()
        .select((order::id, order::quantity, order::note))
        .order_by(order::id.desc())
        .one(db)
        .await
        .unwrap();
    assert_eq!((one.1, one.2), (10, None));
}

#[tokio::test]
async fn aggregates_have_typed_results() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let (n, rows, total, quantity, avg, min, max) = Order::query()
        .select((
            order::id.count(),
            count_all(),
            order::total.sum(),
            order::quantity.sum(),
            order::quantity.avg(),
            order::total.min(),
            order::status.max(),
        ))
        .one(db)
        .await
        .unwrap();
    assert_eq!((n, rows), (5, 5));
    assert_eq!(total, Some(180.5));
    assert_eq!(quantity, Some(18_i64));
    assert_eq!(avg, Some(3.6));
    assert_eq!(min, Some(5.0));
    assert_eq!(max.as_deref(), Some("shipped"));
    // Over no rows: counts are zero, the rest NULL.
    let (n, sum, min) = Order::query()
        .filter(order::total.gt(1e9))
        .select((order::id.count(), order::total.sum(), order::quantity.min()))
        .one(db)
        .await
        .unwrap();
    assert_eq!((n, sum, min), (0, None, None));
}

#[tokio::test]
async fn group_by_and_having() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let per_status: Vec<(String, i64, Option<f64>)> = Order::query()
        .select((order::status, count_all(), order::total.sum()))
        .group_by(order::status)
        .order_by(order::status)
        .all(db)
        .await
        .unwrap();
    assert_eq!(
        per_status,
        [
            ("cancelled".to_owned(), 1, Some(5.0)),
            ("pending".to_owned(), 2, Some(50.0)),
            ("shipped".to_owned(), 2, Some(125.5)),
        ]
    );
    let busy: Vec<i64> = Order::query()
        .select(order::customer_id)
        .group_by(order::customer_id)
        .having(count_all().ge(2).and(order::total.sum().gt(Some(40.0))))
        .order_by(order::customer_id)
        .all(db)
        .await
        .unwrap();
    assert_eq!(busy, [2]);
    assert_eq!(Order::query().group_by(order::customer_id).count(db).await.unwrap(), 3);
}

#[tokio::test]
async fn update_and_delete_by_query() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let n = Order::query()
        .filter(order::status.eq("pending"))
        .update()
        .set(order::status, "paid")
        .set(order::quantity, 7)
        .execute(db)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let paid: Vec<(f64, i16)> = Order::query()
        .select((order::total, order::quantity))
        .filter(order::status.eq("paid"))
        .order_by(order::id)
        .all(db)
        .await
        .unwrap();
    assert_eq!(paid, [(10.0, 7), (40.0, 7)]);
    assert_eq!(Order::query().filter(order::status.eq("shipped")).count(db).await.unwrap(), 2);

    // An update without `set` does not compile: ui-tests/queries/update-without-set.rs.

    let gone = Order::query().filter(order::total.lt(20.0)).delete(db).await.unwrap();
    assert_eq!(gone, 2);
    assert_eq!(Order::count(db).await.unwrap(), 3);
    assert_eq!(Order::query().delete(db).await.unwrap(), 3);
    assert_eq!(Order::count(db).await.unwrap(), 0);
}

/// Strings that break SQL built by concatenation: each must be stored and
/// found exactly, through every path a value takes (insert, update by key,
/// update by query, filters, insert many).
const HOSTILE: &[&str] = &[
    "O'Reilly",
    "'; DROP TABLE customers; --",
    "\"double\" `back` quotes",
    "semi;colon -- comment /* block */",
    "100% _under_score_ !bang \\back\\slash",
    "unicode: ünïcødé 日本語 🦀 \u{200b}zero-width",
    "$1 ? :name @p1",
    "line\nbreak\ttab\r",
];

/// The first 100 characters: emails are `max_length = 200`.
fn short(s: &str) -> String {
    s.chars().take(100).collect()
}

#[tokio::test]
async fn hostile_strings_are_stored_and_found_exactly() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let long = "x'y\"z;".repeat(20_000);
    let mut all: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
    all.push(long);
    for (i, text) in all.iter().enumerate() {
        let c = Customer {
            customer_id: 0,
            email: format!("h{i}@x.org"),
            name: text.clone(),
            nickname: Some(text.clone()),
            active: true,
            score: i as i32,
        }
        .insert(db)
        .await
        .unwrap();
        assert_eq!(&c.name, text);
        let found = Customer::query().filter(customer::name.eq(text)).all(db).await.unwrap();
        assert_eq!(found.len(), 1, "filter by {text:?}");
        assert_eq!(found[0].nickname.as_ref(), Some(text));
        let by_list = Customer::query().filter(customer::name.is_in([text, "other"])).count(db);
        assert_eq!(by_list.await.unwrap(), 1);
        let by_range = Customer::query().filter(customer::name.between(text, text)).count(db);
        assert_eq!(by_range.await.unwrap(), 1);
        // SQLite refuses LIKE patterns over 50,000 bytes (SQLITE_MAX_LIKE_PATTERN_LENGTH).
        if text.len() < 50_000 || crate::KIND != orm_tests::Kind::Sqlite {
            assert_eq!(Customer::query().filter(customer::name.contains(text)).count(db).await.unwrap(), 1);
            assert_eq!(Customer::query().filter(customer::name.starts_with(text)).count(db).await.unwrap(), 1);
        } else {
            // Refused before it is sent, with a typed error.
            let err = Customer::query().filter(customer::name.contains(text)).count(db).await.unwrap_err();
            assert!(matches!(&err, Error::InvalidQuery { message } if message.contains("SQLITE_MAX_LIKE_PATTERN_LENGTH")), "{err:?}");
        }
        // Update by key and by query with the value reversed.
        let reversed: String = text.chars().rev().collect();
        let mut c = c;
        c.nickname = Some(reversed.clone());
        c.update(db).await.unwrap();
        assert_eq!(Customer::get(db, c.customer_id).await.unwrap().nickname, Some(reversed.clone()));
        Customer::query()
            .filter(customer::nickname.eq(&reversed))
            .update()
            .set(customer::name, &reversed)
            .execute(db)
            .await
            .unwrap();
        assert_eq!(Customer::get(db, c.customer_id).await.unwrap().name, reversed);
    }
    assert_eq!(Customer::count(db).await.unwrap(), all.len() as i64);
    // The table is still there and whole.
    let many: Vec<Customer> = all
        .iter()
        .enumerate()
        .map(|(i, s)| Customer::new(&format!("{}{i}", short(s)), s, 0))
        .collect();
    Customer::insert_many(db, &many).await.unwrap();
    for (i, s) in all.iter().enumerate() {
        let email = format!("{}{i}", short(s));
        let c = Customer::query().filter(customer::email.eq(&email)).one(db).await.unwrap();
        assert_eq!(&c.name, s);
    }
}

/// NULLs sort as `None` does in Rust (first ascending, last descending) on
/// every backend, and `nulls_first()` / `nulls_last()` place them either way.
#[tokio::test]
async fn nulls_sort_the_same_on_every_backend() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    for (id, note) in [(1, "b"), (2, "a"), (5, "c")] {
        Order::query().filter(order::id.eq(id)).update().set(order::note, note).execute(db).await.unwrap();
    }
    let notes = |q: orm::Select<Order>| async move {
        q.order_by(order::id).all(db).await.unwrap().into_iter().map(|o| o.note).collect::<Vec<_>>()
    };
    let (a, b, c) = (Some("a".to_owned()), Some("b".to_owned()), Some("c".to_owned()));
    assert_eq!(notes(Order::query().order_by(order::note)).await, [None, None, a.clone(), b.clone(), c.clone()]);
    assert_eq!(notes(Order::query().order_by(order::note.asc())).await, [None, None, a.clone(), b.clone(), c.clone()]);
    assert_eq!(notes(Order::query().order_by(order::note.desc())).await, [c.clone(), b.clone(), a.clone(), None, None]);
    assert_eq!(notes(Order::query().order_by(order::note.asc().nulls_last())).await, [a.clone(), b.clone(), c.clone(), None, None]);
    assert_eq!(notes(Order::query().order_by(order::note.desc().nulls_first())).await, [None, None, c.clone(), b.clone(), a.clone()]);
    assert_eq!(notes(Order::query().order_by(order::note.asc().nulls_first())).await, [None, None, a.clone(), b.clone(), c.clone()]);
    assert_eq!(notes(Order::query().order_by(order::note.desc().nulls_last())).await, [c.clone(), b.clone(), a.clone(), None, None]);
    // The same as Rust's own sort of the values.
    let mut sorted: Vec<Option<String>> = Order::all(db).await.unwrap().into_iter().map(|o| o.note).collect();
    sorted.sort();
    assert_eq!(notes(Order::query().order_by(order::note)).await, sorted);
    // With a limit, the rows the placement puts first.
    let first = Order::query().order_by(order::note.asc().nulls_last()).first(db).await.unwrap().unwrap();
    assert_eq!(first.note, a);
    // An aggregate can be NULL too: groups whose notes are all NULL.
    let per_customer: Vec<(i64, Option<String>)> = Order::query()
        .select((order::customer_id, order::note.max()))
        .group_by(order::customer_id)
        .order_by(order::note.max().desc().nulls_first())
        .all(db)
        .await
        .unwrap();
    assert_eq!(per_customer, [(2, None), (3, c), (1, b)]);
}

/// Text compares and sorts by its bytes on every backend, as `str` does
/// in Rust, whatever the column's collation: case and trailing spaces count.
#[tokio::test]
async fn text_compares_and_sorts_byte_by_byte() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let words = ["apple", "Apple", "APPLE", "apple ", "banana", "éclair", "Zebra"];
    for (i, name) in words.iter().enumerate() {
        Customer::new(&format!("{i}@x.org"), name, i as i32).insert(db).await.unwrap();
    }
    let names = |rows: Vec<Customer>| rows.into_iter().map(|c| c.name).collect::<Vec<_>>();
    let q = || Customer::query().order_by(customer::customer_id);
    assert_eq!(names(q().filter(customer::name.eq("apple")).all(db).await.unwrap()), ["apple"]);
    assert_eq!(names(q().filter(customer::name.eq("apple ")).all(db).await.unwrap()), ["apple "]);
    assert_eq!(q().filter(customer::name.ne("apple")).count(db).await.unwrap(), 6);
    assert_eq!(names(q().filter(customer::name.is_in(["APPLE", "zebra"])).all(db).await.unwrap()), ["APPLE"]);
    assert_eq!(names(q().filter(customer::name.between("a", "b")).all(db).await.unwrap()), ["apple", "apple "]);
    assert_eq!(names(q().filter(customer::name.gt("apple")).all(db).await.unwrap()), ["apple ", "banana", "éclair"]);
    assert_eq!(names(q().filter(customer::name.lt("B")).all(db).await.unwrap()), ["Apple", "APPLE"]);
    let mut sorted: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    sorted.sort();
    let by_name = Customer::query().order_by(customer::name).all(db).await.unwrap();
    assert_eq!(names(by_name), sorted);
    sorted.reverse();
    assert_eq!(names(Customer::query().order_by(customer::name.desc()).all(db).await.unwrap()), sorted);
    let (min, max) = Customer::query().select((customer::name.min(), customer::name.max())).one(db).await.unwrap();
    assert_eq!((min.as_deref(), max.as_deref()), (Some("APPLE"), Some("éclair")));
    // Grouping keeps case and trailing spaces apart.
    let groups: Vec<(String, i64)> = Customer::query()
        .select((customer::name, count_all()))
        .group_by(customer::name)
        .order_by(customer::name)
        .all(db)
        .await
        .unwrap();
    assert_eq!(groups.len(), words.len());
}

/// `like` and its literal forms are case-sensitive on every backend;
/// `ilike` and the `_ci` forms ignore ASCII case everywhere, and the case of
/// other letters where the backend knows it (not SQLite).
#[tokio::test]
async fn like_is_case_sensitive_and_ilike_is_not() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    for (i, name) in ["apple pie", "Apple", "APPLE", "École", "snake_case", "x\\y", "fr "].iter().enumerate() {
        Customer::new(&format!("{i}@x.org"), name, i as i32).insert(db).await.unwrap();
    }
    let names = |rows: Vec<Customer>| rows.into_iter().map(|c| c.name).collect::<Vec<_>>();
    let q = || Customer::query().order_by(customer::customer_id);
    assert_eq!(names(q().filter(customer::name.like("app%")).all(db).await.unwrap()), ["apple pie"]);
    assert_eq!(names(q().filter(customer::name.like("A_PLE")).all(db).await.unwrap()), ["APPLE"]);
    assert_eq!(names(q().filter(customer::name.contains("PP")).all(db).await.unwrap()), ["APPLE"]);
    assert_eq!(names(q().filter(customer::name.starts_with("App")).all(db).await.unwrap()), ["Apple"]);
    assert_eq!(names(q().filter(customer::name.ends_with("ple")).all(db).await.unwrap()), ["Apple"]);
    assert_eq!(names(q().filter(customer::name.like("_cole")).all(db).await.unwrap()), ["École"]);
    assert!(q().filter(customer::name.like("école")).all(db).await.unwrap().is_empty());
    // No escape character in `like`: a backslash is itself, `_` a wildcard.
    assert_eq!(names(q().filter(customer::name.like("x\\y")).all(db).await.unwrap()), ["x\\y"]);
    assert_eq!(names(q().filter(customer::name.like("%e_c%")).all(db).await.unwrap()), ["snake_case"]);
    // Trailing spaces count in a pattern (also under MySQL's PAD SPACE).
    assert!(q().filter(customer::name.like("fr")).all(db).await.unwrap().is_empty());
    assert_eq!(names(q().filter(customer::name.like("fr ")).all(db).await.unwrap()), ["fr "]);

    assert_eq!(names(q().filter(customer::name.ilike("app%")).all(db).await.unwrap()), ["apple pie", "Apple", "APPLE"]);
    assert_eq!(names(q().filter(customer::name.contains_ci("PP")).all(db).await.unwrap()), ["apple pie", "Apple", "APPLE"]);
    assert_eq!(names(q().filter(customer::name.starts_with_ci("apple")).all(db).await.unwrap()), ["apple pie", "Apple", "APPLE"]);
    assert_eq!(names(q().filter(customer::name.ends_with_ci("E_CASE")).all(db).await.unwrap()), ["snake_case"]);
    assert!(q().filter(customer::name.ends_with_ci("e-case")).all(db).await.unwrap().is_empty());
    // Letters beyond ASCII: folded by PostgreSQL and MySQL; SQLite folds
    // ASCII only, so there a pattern with such a letter is refused before
    // anything is sent, never a smaller answer.
    for pattern in ["ÉCOLE", "école", "%É%"] {
        let found = q().filter(customer::name.ilike(pattern)).all(db).await;
        if crate::KIND == orm_tests::Kind::Sqlite {
            let err = found.unwrap_err();
            assert!(matches!(&err, Error::InvalidQuery { message } if message.contains("ASCII")), "{err:?}");
        } else {
            assert_eq!(names(found.unwrap()), ["École"], "{pattern}");
        }
    }
    let err = q().filter(customer::name.contains_ci("σ")).count(db).await;
    assert_eq!(err.is_err(), crate::KIND == orm_tests::Kind::Sqlite, "{err:?}");
    // Letters without case (digits, CJK, emoji) are fine everywhere.
    assert_eq!(q().filter(customer::name.contains_ci("漢🦀")).count(db).await.unwrap(), 0);
}

/// A sum of integers beyond `i64` is an error on every backend, never a
/// clamped value (MySQL's `CAST(.. AS SIGNED)` would give `i64::MAX`).
#[tokio::test]
async fn an_integer_sum_beyond_i64_is_an_error_everywhere() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let big = [Order::new(i64::MAX - 1, "x", 1.0, 1), Order::new(i64::MAX - 1, "x", 1.0, 1)];
    Order::insert_many(db, &big).await.unwrap();
    let err = Order::query().select(order::customer_id.sum()).one(db).await.unwrap_err();
    assert!(matches!(err, Error::Query { .. }), "{err:?}");
    // Below the limit, exact.
    let sum = Order::query().filter(order::customer_id.lt(100)).select(order::customer_id.sum()).one(db).await.unwrap();
    assert_eq!(sum, Some(9));
    let sum = Order::query().filter(order::status.eq("x")).filter(order::id.lt(7)).select(order::customer_id.sum()).one(db).await.unwrap();
    assert_eq!(sum, Some(i64::MAX - 1));
}
