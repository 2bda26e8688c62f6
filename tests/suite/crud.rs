// CRUD by key on every backend: find, get, all, insert (returning the stored
// row), insert many, update, delete, count, exists.

use orm::prelude::*;
use orm::Error;
use orm_tests::models::{customer, order, Customer, Order, Tag};

async fn setup() -> Option<orm_tests::TestDb> {
    let t = crate::db().await?;
    t.create_shop_tables().await;
    Some(t)
}

#[tokio::test]
async fn insert_returns_the_stored_row_with_its_generated_key() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let ada = Customer::new("ada@example.com", "Ada", 10).insert(db).await.unwrap();
    let bob = Customer::new("bob@example.com", "Bob", 20).insert(db).await.unwrap();
    assert!(ada.customer_id > 0);
    assert_eq!(bob.customer_id, ada.customer_id + 1);
    assert_eq!(ada.email, "ada@example.com");
    assert_eq!(Customer::find(db, ada.customer_id).await.unwrap(), Some(ada.clone()));
    assert_eq!(Customer::get(db, bob.customer_id).await.unwrap(), bob);
}

#[tokio::test]
async fn find_of_a_missing_key_is_none_and_get_is_not_found() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    assert_eq!(Customer::find(db, 42).await.unwrap(), None);
    let err = Customer::get(db, 42).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { model: "Customer" }), "{err:?}");
}

#[tokio::test]
async fn a_supplied_string_key_round_trips() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let tag = Tag { code: "rust".into(), label: "Rust".into() };
    assert_eq!(tag.insert(db).await.unwrap(), tag);
    assert_eq!(Tag::find(db, "rust").await.unwrap(), Some(tag.clone()));
    assert_eq!(Tag::find(db, "go").await.unwrap(), None);
    // Same key again: a typed unique violation, and the first row unchanged.
    let dup = Tag { code: "rust".into(), label: "Other".into() };
    let err = dup.insert(db).await.unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    assert_eq!(Tag::get(db, "rust").await.unwrap().label, "Rust");
}

#[tokio::test]
async fn unique_columns_refuse_duplicates_with_a_typed_error() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    Customer::new("same@example.com", "A", 1).insert(db).await.unwrap();
    let err = Customer::new("same@example.com", "B", 2).insert(db).await.unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    assert_eq!(Customer::count(db).await.unwrap(), 1);
}

#[tokio::test]
async fn all_returns_rows_in_key_order() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    for (i, name) in ["c", "a", "b"].iter().enumerate() {
        Customer::new(&format!("{name}@x.org"), name, i as i32).insert(db).await.unwrap();
    }
    let names: Vec<String> = Customer::all(db).await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["c", "a", "b"]);
}

#[tokio::test]
async fn update_writes_every_column_by_key() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut c = Customer::new("u@x.org", "Before", 1).insert(db).await.unwrap();
    let other = Customer::new("o@x.org", "Other", 2).insert(db).await.unwrap();
    c.name = "After".into();
    c.nickname = Some("nick".into());
    c.active = false;
    c.score = 99;
    c.update(db).await.unwrap();
    assert_eq!(Customer::get(db, c.customer_id).await.unwrap(), c);
    assert_eq!(Customer::get(db, other.customer_id).await.unwrap(), other);
    // Writing the same values again still finds the row.
    c.update(db).await.unwrap();
}

#[tokio::test]
async fn update_of_a_missing_row_is_not_found() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut ghost = Customer::new("ghost@x.org", "Ghost", 0);
    ghost.customer_id = 12345;
    let err = ghost.update(db).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(Customer::count(db).await.unwrap(), 0);
}

#[tokio::test]
async fn delete_by_row_and_by_key() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let a = Customer::new("a@x.org", "A", 1).insert(db).await.unwrap();
    let b = Customer::new("b@x.org", "B", 2).insert(db).await.unwrap();
    a.delete(db).await.unwrap();
    assert!(matches!(a.delete(db).await.unwrap_err(), Error::NotFound { .. }));
    assert!(Customer::delete_by_key(db, b.customer_id).await.unwrap());
    assert!(!Customer::delete_by_key(db, b.customer_id).await.unwrap());
    assert_eq!(Customer::count(db).await.unwrap(), 0);
}

#[tokio::test]
async fn create_takes_the_row_by_value() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let o = Order::create(db, Order::new(1, "new", 9.5, 3)).await.unwrap();
    assert_eq!(o.status, "new");
    assert_eq!(Order::get(db, o.id).await.unwrap(), o);
}

#[tokio::test]
async fn column_defaults_apply_to_rows_written_without_the_column() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    // A row written by other means (raw SQL) leaves `active` and `status` out.
    let backend = t.db.backend("db").unwrap();
    let (c, o) = match backend {
        orm::Backend::MySql => ("INSERT INTO customers (email, name, score) VALUES ('d@x.org', 'D', 1)", "INSERT INTO orders (customer_id, total, quantity) VALUES (1, 2.5, 1)"),
        _ => ("INSERT INTO \"customers\" (\"email\", \"name\", \"score\") VALUES ('d@x.org', 'D', 1)", "INSERT INTO \"orders\" (\"customer_id\", \"total\", \"quantity\") VALUES (1, 2.5, 1)"),
    };
    raw(&t, c).await;
    raw(&t, o).await;
    let customer = Customer::query().one(db).await.unwrap();
    assert!(customer.active);
    assert_eq!(customer.nickname, None);
    let order = Order::query().one(db).await.unwrap();
    assert_eq!(order.status, "pending");
}

async fn raw(t: &orm_tests::TestDb, sql: &'static str) {
    use sqlx::Connection;
    match t.kind {
        orm_tests::Kind::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&t.url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        orm_tests::Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(&t.url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        orm_tests::Kind::MySql => {
            let mut c = sqlx::MySqlConnection::connect(&t.url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    }
}

#[tokio::test]
async fn insert_many_writes_every_row_in_one_statement() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let rows: Vec<Customer> = (0..250)
        .map(|i| Customer::new(&format!("m{i}@x.org"), &format!("M{i}"), i))
        .collect();
    assert_eq!(Customer::insert_many(db, &rows).await.unwrap(), 250);
    assert_eq!(Customer::count(db).await.unwrap(), 250);
    let m7 = Customer::query().filter(customer::email.eq("m7@x.org")).one(db).await.unwrap();
    assert_eq!((m7.name.as_str(), m7.score), ("M7", 7));
    assert_eq!(Customer::insert_many(db, &[]).await.unwrap(), 0);
}

#[tokio::test]
async fn insert_many_past_the_parameter_limit_is_chunked_and_atomic() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    // 6 columns a row: 12,000 rows need 72,000 parameters, over every backend's limit.
    let mut rows: Vec<Order> = (0..12_000).map(|i| Order::new(i, "bulk", 1.0, 1)).collect();
    assert_eq!(Order::insert_many(db, &rows).await.unwrap(), 12_000);
    assert_eq!(Order::count(db).await.unwrap(), 12_000);

    // A failure in the last chunk leaves nothing of the batch behind.
    Customer::new("taken@x.org", "T", 0).insert(db).await.unwrap();
    let mut customers: Vec<Customer> = (0..15_000)
        .map(|i| Customer::new(&format!("c{i}@x.org"), "C", 0))
        .collect();
    customers.push(Customer::new("taken@x.org", "dup", 0));
    let err = Customer::insert_many(db, &customers).await.unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    assert_eq!(Customer::count(db).await.unwrap(), 1);
    rows.clear();
}

#[tokio::test]
async fn count_and_exists() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    assert_eq!(Order::count(db).await.unwrap(), 0);
    assert!(!Order::query().exists(db).await.unwrap());
    Order::new(1, "a", 1.0, 1).insert(db).await.unwrap();
    Order::new(1, "b", 2.0, 1).insert(db).await.unwrap();
    assert_eq!(Order::count(db).await.unwrap(), 2);
    assert!(Order::query().filter(order::status.eq("b")).exists(db).await.unwrap());
    assert!(!Order::query().filter(order::status.eq("c")).exists(db).await.unwrap());
}

#[tokio::test]
async fn save_inserts_new_rows_and_updates_stored_ones() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut c = Customer::new("s@x.org", "New", 1);
    c.save(db).await.unwrap();
    assert!(c.customer_id > 0, "the generated key is written back");
    assert_eq!(Customer::count(db).await.unwrap(), 1);
    c.name = "Saved again".into();
    c.save(db).await.unwrap();
    assert_eq!(Customer::count(db).await.unwrap(), 1);
    assert_eq!(Customer::get(db, c.customer_id).await.unwrap().name, "Saved again");
    // A supplied key not in the table is inserted; one in the table, updated.
    let mut tag = Tag { code: "t1".into(), label: "One".into() };
    tag.save(db).await.unwrap();
    tag.label = "Uno".into();
    tag.save(db).await.unwrap();
    assert_eq!(Tag::get(db, "t1").await.unwrap().label, "Uno");
    assert_eq!(Tag::count(db).await.unwrap(), 1);
    // An `auto` key of its own that is not in the table is kept, never
    // replaced by a generated one, and the generator moves past it.
    let mut own = Customer::new("own@x.org", "Own key", 1);
    own.customer_id = 50;
    own.save(db).await.unwrap();
    assert_eq!(own.customer_id, 50);
    assert_eq!(Customer::get(db, 50).await.unwrap().name, "Own key");
    let next = Customer::new("next@x.org", "Next", 1).insert(db).await.unwrap();
    assert_eq!(next.customer_id, 51);
}

#[tokio::test]
async fn a_text_over_its_max_length_is_refused_the_same_on_every_backend() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    // `status` is `max_length = 20`: 20 characters (not bytes) fit, 21 do not.
    let fits = "é".repeat(20);
    let stored = Order::new(1, &fits, 1.0, 1).insert(db).await.unwrap();
    assert_eq!(Order::get(db, stored.id).await.unwrap().status, fits);
    let err = Order::new(1, &"x".repeat(21), 1.0, 1).insert(db).await.unwrap_err();
    assert!(matches!(err, Error::ValueTooLong { .. }), "{err:?}");
    let err = Order::query()
        .update()
        .set(order::status, "y".repeat(21))
        .execute(db)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ValueTooLong { .. }), "{err:?}");
    assert_eq!(Order::get(db, stored.id).await.unwrap().status, fits, "nothing changed");
    assert_eq!(Order::count(db).await.unwrap(), 1);
}

/// Rows with their own keys (fixtures, imports, a legacy copy) keep them,
/// and the table's generator moves past them on every backend: the next
/// plain insert gets the largest key + 1, never a key already taken.
#[tokio::test]
async fn rows_inserted_with_their_keys_keep_them_and_the_next_key_follows() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let with_key = |id: i64, email: &str| Customer { customer_id: id, ..Customer::new(email, "Imported", 1) };
    let imported = [with_key(10, "a@x.org"), with_key(30, "b@x.org"), with_key(20, "c@x.org")];
    assert_eq!(Customer::insert_with_keys(db, &imported).await.unwrap(), 3);
    let ids: Vec<i64> = Customer::all(db).await.unwrap().into_iter().map(|c| c.customer_id).collect();
    assert_eq!(ids, [10, 20, 30], "the given keys, not generated ones");
    assert_eq!(Customer::get(db, 30).await.unwrap().email, "b@x.org");
    let next = Customer::new("next@x.org", "Next", 1).insert(db).await.unwrap();
    assert_eq!(next.customer_id, 31, "the generator moved past the given keys");

    // A key below those taken leaves the generator where it is.
    Customer::insert_with_keys(db, &[with_key(5, "d@x.org")]).await.unwrap();
    let after = Customer::new("after@x.org", "After", 1).insert(db).await.unwrap();
    assert_eq!(after.customer_id, 32);

    // A key that is taken is a unique violation, and nothing of the batch stays.
    let err = Customer::insert_with_keys(db, &[with_key(40, "e@x.org"), with_key(10, "f@x.org")]).await.unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    assert_eq!(Customer::find(db, 40).await.unwrap(), None);
    // A key of 0 means "not inserted yet" (MySQL would generate one): refused, nothing sent.
    let err = Customer::insert_with_keys(db, &[with_key(0, "g@x.org")]).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidQuery { message } if message.contains("key 0")), "{err:?}");
    assert_eq!(Customer::count(db).await.unwrap(), 6);
    assert_eq!(Customer::insert_with_keys(db, &[]).await.unwrap(), 0);
}

/// Many rows with keys, past the parameter limit: chunked, all or none,
/// and the generator moves past the largest.
#[tokio::test]
async fn many_rows_with_their_keys_are_chunked_and_the_generator_follows() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let rows: Vec<Order> = (0..12_000).map(|i| Order { id: 100 + i, ..Order::new(i, "bulk", 1.0, 1) }).collect();
    assert_eq!(Order::insert_with_keys(db, &rows).await.unwrap(), 12_000);
    let next = Order::new(1, "next", 1.0, 1).insert(db).await.unwrap();
    assert_eq!(next.id, 12_100);
}
