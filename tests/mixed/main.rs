//! One application, three backends at once: "db" on PostgreSQL,
//! "essentials" on MySQL, "legacy" on SQLite (read-only). Runs when both
//! `ORM_TEST_POSTGRES_URL` and `ORM_TEST_MYSQL_URL` are set.

use orm::prelude::*;
use orm::{Backend, Error};
use orm_tests::models::{
    order, Customer, Essentials, LegacyCustomer, Order, User, LEGACY_ROWS, LEGACY_SCHEMA,
};
use orm_tests::{Kind, TestDb};

#[tokio::test]
async fn models_on_three_backends_in_one_process() {
    let Some(main) = TestDb::of(Kind::Postgres).await else {
        return;
    };
    let Some(essentials) = TestDb::of(Kind::MySql).await else {
        return;
    };
    let legacy = TestDb::sqlite().await;
    legacy.direct_execute(LEGACY_SCHEMA).await;
    legacy.direct_execute(LEGACY_ROWS).await;

    let db = orm::Database::builder()
        .connection("db", &main.url)
        .connection("essentials", &essentials.url)
        .connection("legacy", &legacy.url)
        .build()
        .await
        .unwrap();
    assert_eq!(db.backend("db").unwrap(), Backend::Postgres);
    assert_eq!(db.backend("essentials").unwrap(), Backend::MySql);
    assert_eq!(db.backend("legacy").unwrap(), Backend::Sqlite);
    db.create_table::<Customer>().await.unwrap();
    db.create_table::<Order>().await.unwrap();
    db.create_table::<User>().await.unwrap();

    // An order on PostgreSQL for a user on MySQL.
    let user = User {
        uid: 0,
        email: "ada@x.org".into(),
        name: "Ada".into(),
    }
    .insert(&db)
    .await
    .unwrap();
    let order = Order::new(user.uid, "pending", 99.5, 1)
        .insert(&db)
        .await
        .unwrap();
    let buyer = User::get(&db, order.customer_id).await.unwrap();
    assert_eq!(buyer, user);
    assert_eq!(main.direct_count("orders").await, Some(1));
    assert_eq!(main.direct_count("auser").await, None);
    assert_eq!(essentials.direct_count("auser").await, Some(1));
    assert_eq!(essentials.direct_count("orders").await, None);

    // A transaction on MySQL, committed; one on PostgreSQL, rolled back.
    let mut tx = db.begin_on::<Essentials>().await.unwrap();
    User {
        uid: 0,
        email: "bob@x.org".into(),
        name: "Bob".into(),
    }
    .insert(&mut tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    Order::new(user.uid, "draft", 1.0, 1)
        .insert(&mut tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(essentials.direct_count("auser").await, Some(2));
    assert_eq!(
        Order::query()
            .filter(order::status.eq("draft"))
            .count(&db)
            .await
            .unwrap(),
        0
    );

    // The SQLite legacy database: readable, and it refuses writes itself.
    assert_eq!(LegacyCustomer::count(&db).await.unwrap(), 2);
    let err = orm::raw("DELETE FROM legacy_customers")
        .execute(db.connection("legacy").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ReadOnly { .. }), "{err:?}");
    assert_eq!(legacy.direct_count("legacy_customers").await, Some(2));

    // Raw SQL on each, in each dialect.
    let (n,): (i64,) = orm::raw("SELECT COUNT(*) FROM orders WHERE total > $1")
        .bind(10.0_f64)
        .fetch_one(db.connection("db").unwrap())
        .await
        .unwrap();
    assert_eq!(n, 1);
    let names: Vec<(String,)> = orm::raw("SELECT name FROM auser WHERE uid > ? ORDER BY uid")
        .bind(0_i64)
        .fetch_all(db.connection("essentials").unwrap())
        .await
        .unwrap();
    assert_eq!(names, [("Ada".to_owned(),), ("Bob".to_owned(),)]);
}
