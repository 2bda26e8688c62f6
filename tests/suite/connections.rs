// Named connections: routing by model, read-only at the database level, raw
// SQL by name, configuration from the environment, pool metrics. Rows are
// checked by looking in each database directly, not through the ORM.

use orm::prelude::*;
use orm::{Error, PoolOptions};
use orm_tests::models::{
    customer, ArchivedInvoice, Customer, Essentials, Legacy, LegacyCustomer, User, LEGACY_ROWS,
    LEGACY_SCHEMA,
};
use orm_tests::TestDb;

/// Three databases of this backend, as "db", "essentials" and "legacy".
struct Three {
    main: TestDb,
    essentials: TestDb,
    legacy: TestDb,
    db: orm::Database,
}

async fn three() -> Option<Three> {
    let main = crate::db().await?;
    let essentials = crate::db().await?;
    let legacy = crate::db().await?;
    legacy.direct_execute(LEGACY_SCHEMA).await;
    legacy.direct_execute(LEGACY_ROWS).await;
    let db = orm::Database::builder()
        .connection("db", &main.url)
        .connection("essentials", &essentials.url)
        .connection_with("legacy", &legacy.url, PoolOptions::new().max_connections(2))
        .build()
        .await
        .unwrap();
    db.create_table::<Customer>().await.unwrap();
    db.create_table::<User>().await.unwrap();
    Some(Three { main, essentials, legacy, db })
}

#[tokio::test]
async fn each_model_reads_and_writes_its_own_connection() {
    let Some(t) = three().await else { return };
    let db = &t.db;
    Customer::new("c@x.org", "Customer", 1).insert(db).await.unwrap();
    let user = User { uid: 0, email: "u@x.org".into(), name: "User".into() }.insert(db).await.unwrap();
    assert_eq!(User::get(db, user.uid).await.unwrap(), user);

    // Where the rows landed, seen directly.
    assert_eq!(t.main.direct_count("customers").await, Some(1));
    assert_eq!(t.main.direct_count("auser").await, None, "no auser table on db");
    assert_eq!(t.essentials.direct_count("auser").await, Some(1));
    assert_eq!(t.essentials.direct_count("customers").await, None, "no customers table on essentials");
    assert_eq!(t.legacy.direct_count("legacy_customers").await, Some(2));

    // The read-only model reads from its connection.
    let old = LegacyCustomer::query().order_by(orm_tests::models::legacy_customer::id).all(db).await.unwrap();
    assert_eq!(old.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["Old Ada", "Old Bob"]);
    assert_eq!(db.backend("essentials").unwrap(), db.backend("db").unwrap());
    assert!(db.is_read_only("legacy").unwrap());
    assert!(!db.is_read_only("essentials").unwrap());
}

#[tokio::test]
async fn transactions_stay_on_their_connection() {
    let Some(t) = three().await else { return };
    let db = &t.db;
    let mut tx = db.begin_on::<Essentials>().await.unwrap();
    User { uid: 0, email: "tx@x.org".into(), name: "Tx".into() }.insert(&mut tx).await.unwrap();
    assert_eq!(t.essentials.direct_count("auser").await, Some(0), "not visible before commit");
    tx.commit().await.unwrap();
    assert_eq!(t.essentials.direct_count("auser").await, Some(1));
    assert_eq!(t.main.direct_count("auser").await, None);
}

#[tokio::test]
async fn a_read_only_connection_refuses_raw_writes_and_keeps_its_rows() {
    let Some(t) = three().await else { return };
    let legacy = || t.db.connection("legacy").unwrap();
    for sql in [
        "INSERT INTO legacy_customers (id, name) VALUES (3, 'New')",
        "UPDATE legacy_customers SET name = 'Changed'",
        "DELETE FROM legacy_customers",
    ] {
        let err = orm::raw(sql).execute(legacy()).await.unwrap_err();
        assert!(matches!(&err, Error::ReadOnly { connection, .. } if connection == "legacy"), "{sql}: {err:?}");
    }
    // Inside a transaction on the read-only connection too.
    let mut tx = t.db.begin_on::<Legacy>().await.unwrap();
    let err = orm::raw("DELETE FROM legacy_customers").execute(&mut tx).await.unwrap_err();
    assert!(matches!(err, Error::ReadOnly { .. }), "{err:?}");
    drop(tx);
    // Nothing changed, seen directly; reads still work.
    assert_eq!(t.legacy.direct_count("legacy_customers").await, Some(2));
    let names: Vec<(String,)> = orm::raw("SELECT name FROM legacy_customers ORDER BY id")
        .fetch_all(legacy())
        .await
        .unwrap();
    assert_eq!(names, [("Old Ada".to_owned(),), ("Old Bob".to_owned(),)]);
    assert_eq!(LegacyCustomer::count(&t.db).await.unwrap(), 2);
}

#[tokio::test]
async fn a_read_only_model_on_a_writable_connection_is_still_readable() {
    let Some(t) = three().await else { return };
    t.main.direct_execute("CREATE TABLE archived_invoices (id BIGINT NOT NULL PRIMARY KEY, total DOUBLE PRECISION NOT NULL)").await;
    t.main.direct_execute("INSERT INTO archived_invoices (id, total) VALUES (7, 12.5)").await;
    let invoice = ArchivedInvoice::get(&t.db, 7).await.unwrap();
    assert_eq!(invoice.total, 12.5);
}

#[tokio::test]
async fn raw_sql_binds_values_and_decodes_models_and_tuples() {
    let Some(t) = three().await else { return };
    let db = &t.db;
    for (i, name) in ["Ada", "O'Brien; --", "Zed"].iter().enumerate() {
        Customer::new(&format!("{i}@x.org"), name, i as i32 * 10).insert(db).await.unwrap();
    }
    let (p1, p2) = match crate::KIND {
        orm_tests::Kind::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    let sql = format!("SELECT customer_id, email, name, nick_name, active, score FROM customers WHERE name = {p1} OR score > {p2} ORDER BY customer_id");
    let rows: Vec<Customer> = orm::raw(sql.clone())
        .bind("O'Brien; --".to_owned())
        .bind(15_i32)
        .fetch_all(db.connection("db").unwrap())
        .await
        .unwrap();
    assert_eq!(rows.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["O'Brien; --", "Zed"]);
    let pairs: Vec<(String, i32)> = orm::raw(format!("SELECT name, score FROM customers WHERE score >= {p1} ORDER BY score"))
        .bind(10_i32)
        .fetch_all(db.connection("db").unwrap())
        .await
        .unwrap();
    assert_eq!(pairs, [("O'Brien; --".to_owned(), 10), ("Zed".to_owned(), 20)]);
    let none: Option<(i64,)> = orm::raw(format!("SELECT customer_id FROM customers WHERE name = {p1}"))
        .bind("nobody".to_owned())
        .fetch_optional(db.connection("db").unwrap())
        .await
        .unwrap();
    assert_eq!(none, None);
    let done = orm::raw(format!("UPDATE customers SET score = {p1} WHERE score < {p2}"))
        .bind(1_i32)
        .bind(15_i32)
        .execute(db.connection("db").unwrap())
        .await
        .unwrap();
    assert_eq!(done.rows_affected, 2);
    assert_eq!(Customer::query().filter(customer::score.eq(1)).count(db).await.unwrap(), 2);
}

#[tokio::test]
async fn unknown_and_unconfigured_connections_are_typed_errors() {
    let Some(main) = crate::db().await else { return };
    let db = &main.db;
    let err = db.connection("nope").err().unwrap();
    assert!(matches!(&err, Error::NotConfigured { connection, .. } if connection == "nope"), "{err:?}");
    assert!(matches!(db.metrics("nope").unwrap_err(), Error::NotConfigured { .. }));
    // A model whose connection this database lacks.
    let err = User::find(db, 1).await.unwrap_err();
    assert!(matches!(&err, Error::NotConfigured { connection, .. } if connection == "essentials"), "{err:?}");
    assert!(err.to_string().contains("DATABASE_ESSENTIALS_URL"), "{err}");
    let err = db.validate().unwrap_err();
    assert!(matches!(err, Error::NotConfigured { .. }), "{err:?}");
}

#[tokio::test]
async fn configuration_from_the_environment() {
    let Some(t) = three().await else { return };
    let vars = |extra: &[(&str, &str)]| {
        let mut v: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), t.main.url.clone()),
            ("DATABASE_ESSENTIALS_URL".into(), t.essentials.url.clone()),
            ("DATABASE_LEGACY_URL".into(), t.legacy.url.clone()),
            ("DATABASE_ESSENTIALS_MAX_CONNECTIONS".into(), "3".into()),
            ("DATABASE_ACQUIRE_TIMEOUT".into(), "2.5".into()),
            ("DATABASE_LEGACY_IDLE_TIMEOUT".into(), "off".into()),
        ];
        for (k, val) in extra {
            v.retain(|(name, _)| name != k);
            if !val.is_empty() {
                v.push((k.to_string(), val.to_string()));
            }
        }
        move |name: &str| v.iter().find(|(k, _)| k == name).map(|(_, val)| val.clone())
    };
    let result = orm::Database::from_env_with(vars(&[])).await;
    if crate::KIND == orm_tests::Kind::Sqlite {
        // The test program has a Decimal model on "db": SQLite cannot hold it.
        let err = result.unwrap_err();
        assert!(matches!(&err, Error::UnsupportedType { context, .. } if context.contains("Price")), "{err:?}");
    } else {
        let db = result.unwrap();
        assert_eq!(db.metrics("essentials").unwrap().max_connections, 3);
        assert!(db.is_read_only("legacy").unwrap());
        assert_eq!(LegacyCustomer::count(&db).await.unwrap(), 2);
    }

    let err = orm::Database::from_env_with(vars(&[("DATABASE_ESSENTIALS_URL", "")])).await.unwrap_err();
    assert!(matches!(&err, Error::NotConfigured { connection, .. } if connection == "essentials"), "{err:?}");
    assert_eq!(
        err.to_string(),
        "connection `essentials` is not configured: set DATABASE_ESSENTIALS_URL (model `User` lives there)"
    );
    let err = orm::Database::from_env_with(vars(&[("DATABASE_ESSENTIALS_MAX_CONNECTIONS", "many")])).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidConfig { variable, .. } if variable == "DATABASE_ESSENTIALS_MAX_CONNECTIONS"), "{err:?}");
    let err = orm::Database::from_env_with(vars(&[("DATABASE_LEGACY_URL", "oracle://x")])).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidUrl { connection, .. } if connection == "legacy"), "{err:?}");
    let unreachable = match crate::KIND {
        orm_tests::Kind::Sqlite => "sqlite:///nonexistent-dir/x/y.db",
        orm_tests::Kind::Postgres => "postgres://postgres:secret@127.0.0.1:1/test",
        orm_tests::Kind::MySql => "mysql://root:secret@127.0.0.1:1/test",
    };
    let err = orm::Database::from_env_with(vars(&[("DATABASE_ESSENTIALS_URL", unreachable)])).await.unwrap_err();
    assert!(matches!(&err, Error::ConnectionLost { connection, .. } if connection == "essentials"), "{err:?}");
    assert!(!err.to_string().contains("secret"), "no password in messages: {err}");
}

#[tokio::test]
async fn pool_metrics_count_connections_and_statements() {
    let Some(t) = three().await else { return };
    let db = &t.db;
    let before = db.metrics("db").unwrap();
    assert_eq!(before.max_connections, 10);
    Customer::new("m@x.org", "M", 1).insert(db).await.unwrap();
    let _ = Customer::find(db, 1).await.unwrap();
    let _ = Customer::find(db, "x".len() as i64 + 1000).await.unwrap();
    let dup = Customer::new("m@x.org", "M", 1).insert(db).await;
    assert!(dup.is_err());
    let after = db.metrics("db").unwrap();
    // MySQL has no RETURNING: an insert reads its row back with a second statement.
    let insert = if crate::KIND == orm_tests::Kind::MySql { 2 } else { 1 };
    assert_eq!(after.queries - before.queries, insert + 3);
    assert_eq!(after.errors - before.errors, 1);
    assert_eq!(after.acquisitions - before.acquisitions, 4);
    assert_eq!(after.in_use, 0);
    assert_eq!(after.waiting, 0);
    assert!(after.size >= 1 && after.idle == after.size, "{after:?}");
    // Holding a transaction keeps one connection in use.
    let tx = db.begin().await.unwrap();
    assert_eq!(db.metrics("db").unwrap().in_use, 1);
    drop(tx);
    // A dropped transaction's rollback is sent at once, by a task of its
    // own; the connection is back in the pool as soon as it is done.
    let back = std::time::Instant::now();
    while db.metrics("db").unwrap().in_use != 0 {
        assert!(back.elapsed() < std::time::Duration::from_secs(5), "the rolled-back connection never came back");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(db.metrics("db").unwrap().size, after.size, "the connection was kept, not closed");
    // Other connections count separately.
    assert_eq!(db.metrics("essentials").unwrap().errors, 0);
}
