//! One application, three backends at once: "db" on PostgreSQL,
//! "essentials" on MySQL, "legacy" on SQLite (read-only), and a saga that
//! writes to PostgreSQL, MySQL and a writable SQLite "audit" connection. Runs
//! when both `ORM_TEST_POSTGRES_URL` and `ORM_TEST_MYSQL_URL` are set.

use std::sync::{Arc, Mutex};

use orm::prelude::*;
use orm::saga::Failure;
use orm::{Backend, Error, Saga};
use orm_tests::models::{
    order, Customer, Essentials, LegacyCustomer, Order, User, LEGACY_ROWS, LEGACY_SCHEMA,
};
use orm_tests::{Kind, TestDb};

mod portable;

orm::connections! {
    /// A writable SQLite database, for the saga.
    pub Audit = "audit";
}

/// What happened, on the "audit" connection.
#[orm::model(table = "audit_log", connection = Audit)]
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(max_length = 200)]
    pub event: String,
}

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

#[tokio::test]
async fn a_saga_across_three_backends_is_undone_on_each() {
    let Some(main) = TestDb::of(Kind::Postgres).await else {
        return;
    };
    let Some(essentials) = TestDb::of(Kind::MySql).await else {
        return;
    };
    let audit = TestDb::sqlite().await;
    // Declared after the test databases, so dropped (its pools closed)
    // before them, even when an assertion fails.
    let db = orm::Database::builder()
        .connection("db", &main.url)
        .connection("essentials", &essentials.url)
        .connection("audit", &audit.url)
        .build()
        .await
        .unwrap();
    assert_eq!(db.backend("audit").unwrap(), Backend::Sqlite);
    db.create_table::<Customer>().await.unwrap();
    db.create_table::<Order>().await.unwrap();
    db.create_table::<User>().await.unwrap();
    db.create_table::<AuditEntry>().await.unwrap();

    let log: Arc<Mutex<Vec<&str>>> = Arc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let err = Saga::new("onboard")
        .step(
            "customer",
            |db| async move { Customer::new("ada@x.org", "Ada", 1).insert(&db).await },
            move |db, customer: Customer| async move {
                l1.lock().unwrap().push("customer");
                customer.delete(&db).await
            },
        )
        .step(
            "user",
            |db| async move {
                User {
                    uid: 0,
                    email: "ada@x.org".into(),
                    name: "Ada".into(),
                }
                .insert(&db)
                .await
            },
            move |db, user: User| async move {
                l2.lock().unwrap().push("user");
                user.delete(&db).await
            },
        )
        .step(
            "audit",
            |db| async move {
                let mut tx = db.begin_on::<Audit>().await?;
                let entry = AuditEntry {
                    id: 0,
                    event: "onboarded ada@x.org".into(),
                }
                .insert(&mut tx)
                .await?;
                tx.commit().await?;
                Ok(entry)
            },
            move |db, entry: AuditEntry| async move {
                l3.lock().unwrap().push("audit");
                entry.delete(&db).await
            },
        )
        .step(
            "first order",
            |db| async move {
                // One transaction on PostgreSQL: the order, then a customer
                // whose email the first step took. Nothing of it stays.
                let mut tx = db.begin().await?;
                Order::new(1, "placed", 25.0, 1).insert(&mut tx).await?;
                Customer::new("ada@x.org", "Ada again", 2)
                    .insert(&mut tx)
                    .await?;
                tx.commit().await
            },
            |_, ()| async { Ok(()) },
        )
        .run(&db)
        .await
        .unwrap_err();

    // Undone last first, each on its own backend.
    assert_eq!(*log.lock().unwrap(), ["audit", "user", "customer"]);
    assert_eq!(main.direct_count("customers").await, Some(0));
    assert_eq!(main.direct_count("orders").await, Some(0));
    assert_eq!(essentials.direct_count("auser").await, Some(0));
    assert_eq!(audit.direct_count("audit_log").await, Some(0));

    assert_eq!(
        (err.failed_step(), err.failed_step_index()),
        ("first order", 3)
    );
    assert!(
        matches!(err.cause(), Failure::Error(Error::UniqueViolation { .. })),
        "{err:?}"
    );
    assert!(err.is_fully_compensated());
    let report = err.to_string();
    assert!(
        report.starts_with(
            "saga `onboard`: step 4 of 4 (`first order`) failed: unique constraint violated: "
        ),
        "{report}"
    );
    assert!(
        report.ends_with(
            "\n  compensated step 3 (`audit`)\n  compensated step 2 (`user`)\n  compensated step 1 (`customer`)"
        ),
        "{report}"
    );
}
