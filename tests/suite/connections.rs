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
        // The test program has Decimal models on "db" (`Price`, `Amount`):
        // SQLite cannot hold them.
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedType { rust_type: "Decimal", context, .. }
                if context.contains("Price") || context.contains("Amount")),
            "{err:?}"
        );
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

/// A lookup of the variables `pairs`, as `from_env_with` takes.
fn lookup(pairs: Vec<(&str, String)>) -> impl Fn(&str) -> Option<String> {
    let pairs: Vec<(String, String)> = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    move |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// The three URLs of `t`, as `DATABASE_URL`, `DATABASE_ESSENTIALS_URL`, `DATABASE_LEGACY_URL`.
fn urls(t: &Three) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", t.main.url.clone()),
        ("DATABASE_ESSENTIALS_URL", t.essentials.url.clone()),
        ("DATABASE_LEGACY_URL", t.legacy.url.clone()),
    ]
}

/// The server's id of the session a statement on connection `name` runs in.
async fn session_id(db: &orm::Database, name: &str) -> i64 {
    let sql = match crate::KIND {
        orm_tests::Kind::Postgres => "SELECT CAST(pg_backend_pid() AS BIGINT)",
        _ => "SELECT CAST(CONNECTION_ID() AS SIGNED)",
    };
    orm::raw(sql).fetch_one::<(i64,)>(db.connection(name).unwrap()).await.unwrap().0
}

/// Session settings as the server reports them on a pooled connection of
/// `name`: (statement timeout, lock timeout), in the server's own words.
async fn server_timeouts(db: &orm::Database, name: &str) -> (String, String) {
    let sql = match crate::KIND {
        orm_tests::Kind::Postgres => "SELECT current_setting('statement_timeout'), current_setting('lock_timeout')".to_owned(),
        _ => {
            let (version,): (String,) = orm::raw("SELECT VERSION()").fetch_one(db.connection(name).unwrap()).await.unwrap();
            let statement = if version.contains("MariaDB") { "@@max_statement_time" } else { "@@max_execution_time" };
            format!("SELECT CAST({statement} AS CHAR), CAST(@@innodb_lock_wait_timeout AS CHAR)")
        }
    };
    orm::raw(sql).fetch_one(db.connection(name).unwrap()).await.unwrap()
}

#[tokio::test]
async fn every_pool_option_from_the_environment_takes_effect() {
    use std::time::{Duration, Instant};
    let Some(t) = three().await else { return };
    let mut vars = urls(&t);
    vars.extend([
        ("DATABASE_MIN_CONNECTIONS", "2".to_owned()),
        ("DATABASE_STATEMENT_TIMEOUT", "1.5".to_owned()),
        ("DATABASE_LOCK_TIMEOUT", "2".to_owned()),
        ("DATABASE_LEAK_THRESHOLD", "0.1".to_owned()),
        ("DATABASE_RETRY_ATTEMPTS", "4".to_owned()),
        ("DATABASE_RETRY_BACKOFF", "0.25".to_owned()),
        ("DATABASE_RETRY_MAX_BACKOFF", "0.25".to_owned()),
        ("DATABASE_ESSENTIALS_MAX_CONNECTIONS", "1".to_owned()),
        ("DATABASE_ESSENTIALS_ACQUIRE_TIMEOUT", "0.3".to_owned()),
        ("DATABASE_ESSENTIALS_IDLE_TIMEOUT", "0.2".to_owned()),
        ("DATABASE_MAX_LIFETIME", "1".to_owned()),
        ("DATABASE_IDLE_TIMEOUT", "off".to_owned()),
    ]);
    let result = orm::Database::from_env_with(lookup(vars)).await;
    if crate::KIND == orm_tests::Kind::Sqlite {
        // Every value was accepted; then the Decimal model on "db" stops it
        // (see configuration_from_the_environment).
        let err = result.unwrap_err();
        assert!(matches!(err, Error::UnsupportedType { .. }), "{err:?}");
        return;
    }
    let db = result.unwrap();

    // _MIN_CONNECTIONS: opened in the background, on "db" only.
    let deadline = Instant::now() + Duration::from_secs(5);
    while db.metrics("db").unwrap().size < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(db.metrics("db").unwrap().size >= 2, "{:?}", db.metrics("db").unwrap());
    assert_eq!(db.metrics("essentials").unwrap().size, 1);

    // _STATEMENT_TIMEOUT and _LOCK_TIMEOUT, as the server sees them; the
    // other connections keep the server's defaults.
    let expected = match crate::KIND {
        orm_tests::Kind::Postgres => ("1500ms", "2s"),
        // MariaDB's max_statement_time is in seconds, MySQL's max_execution_time in ms.
        _ if server_timeouts(&db, "db").await.0.contains('.') => ("1.500000", "2"),
        _ => ("1500", "2"),
    };
    assert_eq!(server_timeouts(&db, "db").await, (expected.0.to_owned(), expected.1.to_owned()));
    let essentials = server_timeouts(&db, "essentials").await;
    assert_ne!(essentials.0, expected.0, "the statement timeout of \"db\" leaked to \"essentials\"");

    // _MAX_CONNECTIONS and _ACQUIRE_TIMEOUT of "essentials".
    assert_eq!(db.metrics("essentials").unwrap().max_connections, 1);
    let tx = db.begin_on::<Essentials>().await.unwrap();
    let started = Instant::now();
    let err = orm::raw("SELECT 1").execute(db.connection("essentials").unwrap()).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, Error::PoolTimeout { .. }), "{err:?}");
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(3), "{took:?}");
    tx.commit().await.unwrap();

    // _IDLE_TIMEOUT of "essentials": its connection closes in the background.
    assert_eq!(db.metrics("essentials").unwrap().size, 1);
    let deadline = Instant::now() + Duration::from_secs(3);
    while db.metrics("essentials").unwrap().size > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(db.metrics("essentials").unwrap().size, 0, "the idle timeout of 0.2 s closed nothing in 3 s");

    // _MAX_LIFETIME of "db" (no idle timeout): the same session until it
    // is a second old, then another. (Not on the read-only "legacy": raw
    // SQL there closes its connection afterwards, by design.)
    let first = session_id(&db, "db").await;
    assert_eq!(session_id(&db, "db").await, first);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_ne!(session_id(&db, "db").await, first, "a session outlived its lifetime of 1 s");

    // _LEAK_THRESHOLD of "db".
    assert_eq!(db.metrics("db").unwrap().leaks, 0);
    let tx = db.begin().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    tx.commit().await.unwrap();
    assert_eq!(db.metrics("db").unwrap().leaks, 1);
    assert_eq!(db.metrics("essentials").unwrap().leaks, 0);

    // _RETRY_ATTEMPTS, _RETRY_BACKOFF, _RETRY_MAX_BACKOFF: a transaction
    // that meets a locked row each time runs 4 times, 0.25 s apart plus
    // jitter (without the maximum, the third pause would be 1 s or more).
    let row = Customer::new("locked@x.org", "Locked", 1).insert(&db).await.unwrap();
    let locked = || Customer::query().filter(customer::customer_id.eq(row.customer_id));
    let mut holder = db.begin().await.unwrap();
    locked().for_update().all(&mut holder).await.unwrap();
    let mut starts = Vec::new();
    let result = db
        .transaction(async |tx| {
            starts.push(Instant::now());
            locked().for_update().nowait().all(tx).await.map(drop)
        })
        .await;
    assert!(matches!(result, Err(Error::LockTimeout { .. })), "{result:?}");
    holder.rollback().await.unwrap();
    assert_eq!(starts.len(), 4, "attempts");
    for pair in starts.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(250) && gap < Duration::from_millis(900), "{gap:?} between attempts");
    }
    assert_eq!(db.metrics("db").unwrap().retries, 3);
}

#[tokio::test]
async fn bad_pool_option_values_from_the_environment_are_named() {
    let Some(t) = three().await else { return };
    const WHOLE_FROM_1: &str = "a whole number from 1";
    const WHOLE_FROM_0: &str = "a whole number from 0";
    const SECONDS: &str = "a number of seconds";
    let cases: &[(&str, &str, &str, &str)] = &[
        // (variable, bad value, connection, what the error says is expected)
        ("DATABASE_MAX_CONNECTIONS", "0", "db", WHOLE_FROM_1),
        ("DATABASE_MAX_CONNECTIONS", "many", "db", WHOLE_FROM_1),
        ("DATABASE_ESSENTIALS_MAX_CONNECTIONS", "2.5", "essentials", WHOLE_FROM_1),
        ("DATABASE_MIN_CONNECTIONS", "-1", "db", WHOLE_FROM_0),
        ("DATABASE_LEGACY_MIN_CONNECTIONS", "two", "legacy", WHOLE_FROM_0),
        ("DATABASE_ACQUIRE_TIMEOUT", "soon", "db", SECONDS),
        ("DATABASE_ACQUIRE_TIMEOUT", "-1", "db", SECONDS),
        ("DATABASE_ACQUIRE_TIMEOUT", "off", "db", SECONDS),
        ("DATABASE_IDLE_TIMEOUT", "10m", "db", SECONDS),
        ("DATABASE_MAX_LIFETIME", "forever", "db", SECONDS),
        ("DATABASE_STATEMENT_TIMEOUT", "5s", "db", SECONDS),
        ("DATABASE_ESSENTIALS_STATEMENT_TIMEOUT", "-3", "essentials", SECONDS),
        ("DATABASE_LOCK_TIMEOUT", "NaN", "db", SECONDS),
        ("DATABASE_LEGACY_LOCK_TIMEOUT", "1e30", "legacy", SECONDS),
        ("DATABASE_LEAK_THRESHOLD", "inf", "db", SECONDS),
        ("DATABASE_SLOW_QUERY_THRESHOLD", "100ms", "db", SECONDS),
        ("DATABASE_TRACE_PARAMETERS", "yes please", "db", "`on` or `off`"),
        ("DATABASE_RETRY_ATTEMPTS", "0", "db", WHOLE_FROM_1),
        ("DATABASE_RETRY_ATTEMPTS", "3.5", "db", WHOLE_FROM_1),
        ("DATABASE_RETRY_BACKOFF", "fast", "db", SECONDS),
        ("DATABASE_RETRY_MAX_BACKOFF", "-0.5", "db", SECONDS),
    ];
    let mut faults = Vec::new();
    for &(variable, value, connection, expected) in cases {
        let mut vars = urls(&t);
        vars.push((variable, value.to_owned()));
        let err = match orm::Database::from_env_with(lookup(vars)).await {
            Err(e) => e,
            Ok(_) => {
                faults.push(format!("{variable}={value:?} was accepted"));
                continue;
            }
        };
        let Error::InvalidConfig { connection: c, variable: v, value: got, expected: e } = &err else {
            faults.push(format!("{variable}={value:?}: not InvalidConfig: {err:?}"));
            continue;
        };
        if (c.as_str(), v.as_str(), got.as_str()) != (connection, variable, value) {
            faults.push(format!("{variable}={value:?}: names connection {c:?}, variable {v:?}, value {got:?}"));
        }
        if !e.starts_with(expected) {
            faults.push(format!("{variable}={value:?}: expected {e:?}, not {expected:?}"));
        }
        let message = err.to_string();
        if !message.contains(variable) || !message.contains(e.as_str()) {
            faults.push(format!("{variable}={value:?}: the message lacks the variable or what is expected: {message}"));
        }
    }
    assert!(faults.is_empty(), "{} of {} bad values:\n{}", faults.len(), cases.len(), faults.join("\n"));
}

#[tokio::test]
async fn a_bad_timeout_from_the_environment_says_that_off_is_accepted_too() {
    let Some(t) = three().await else { return };
    let mut faults = Vec::new();
    for suffix in ["_IDLE_TIMEOUT", "_MAX_LIFETIME", "_STATEMENT_TIMEOUT", "_LOCK_TIMEOUT", "_LEAK_THRESHOLD", "_SLOW_QUERY_THRESHOLD"] {
        let variable = format!("DATABASE{suffix}");
        let mut vars = urls(&t);
        vars.push((&variable, "never ever".to_owned()));
        match orm::Database::from_env_with(lookup(vars)).await {
            Err(Error::InvalidConfig { expected, .. }) if expected.contains("off") => {}
            Err(e) => faults.push(format!("{variable}: {e}")),
            Ok(_) => faults.push(format!("{variable}: \"never ever\" was accepted")),
        }
    }
    assert!(faults.is_empty(), "the message for a bad value of a timeout that may be `off` does not say so:\n{}", faults.join("\n"));
}

// ---------------------------------------------------------------------------
// Raw SQL cannot make a read-only connection writable, for its caller or
// for any later caller of the same pooled session.

/// A database whose read-only "legacy" connection has a pool of one, so
/// that a second call would get the first call's session if it were reused.
async fn legacy_of_one(t: &Three) -> orm::Database {
    orm::Database::builder()
        .connection("db", &t.main.url)
        .connection("essentials", &t.essentials.url)
        .connection_with("legacy", &t.legacy.url, PoolOptions::new().max_connections(1))
        .build()
        .await
        .unwrap()
}

/// Statements that try to make the session writable, per backend.
fn escapes() -> &'static [&'static str] {
    match crate::KIND {
        orm_tests::Kind::Postgres => &[
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
            "SET default_transaction_read_only = off",
            "BEGIN READ WRITE",
            "SELECT set_config('default_transaction_read_only', 'off', false)",
        ],
        orm_tests::Kind::MySql => &[
            "SET SESSION TRANSACTION READ WRITE",
            "SET SESSION tx_read_only = 0",
            "START TRANSACTION READ WRITE",
        ],
        orm_tests::Kind::Sqlite => &["PRAGMA query_only = 0"],
    }
}

const INSERT_LEGACY: &str = "INSERT INTO legacy_customers (id, name) VALUES (9, 'Escaped')";

#[tokio::test]
async fn raw_sql_cannot_make_a_read_only_connection_writable() {
    let Some(t) = three().await else { return };
    let db = legacy_of_one(&t).await;
    for escape in escapes() {
        // The escape itself may run or be refused; what matters is that no
        // write follows it, on this call or the next.
        let _ = orm::raw(*escape).execute(db.connection("legacy").unwrap()).await;
        let err = orm::raw(INSERT_LEGACY).execute(db.connection("legacy").unwrap()).await.unwrap_err();
        assert!(matches!(err, Error::ReadOnly { .. }), "after `{escape}`: {err:?}");
    }
    assert_eq!(t.legacy.direct_count("legacy_customers").await, Some(2));
}

#[tokio::test]
async fn raw_sql_inside_a_read_only_transaction_cannot_escape_it() {
    let Some(t) = three().await else { return };
    let db = legacy_of_one(&t).await;
    for escape in escapes() {
        let mut tx = db.begin_on::<Legacy>().await.unwrap();
        let _ = orm::raw(*escape).execute(&mut tx).await;
        // Refused by the server, or (MySQL, where `START TRANSACTION` ends
        // the transaction it runs in) by the ORM, which saw its
        // transaction end under it.
        let err = orm::raw(INSERT_LEGACY).execute(&mut tx).await.unwrap_err();
        assert!(
            matches!(err, Error::ReadOnly { .. } | Error::TransactionAborted { .. } | Error::InvalidQuery { .. }),
            "after `{escape}` in a transaction: {err:?}"
        );
        let _ = tx.commit().await;
        let err = orm::raw(INSERT_LEGACY).execute(db.connection("legacy").unwrap()).await.unwrap_err();
        assert!(matches!(err, Error::ReadOnly { .. }), "after `{escape}` and commit: {err:?}");
    }
    // Ending the transaction from raw SQL, then writing in autocommit.
    if crate::KIND != orm_tests::Kind::Sqlite {
        let mut tx = db.begin_on::<Legacy>().await.unwrap();
        let _ = orm::raw(escapes()[0]).execute(&mut tx).await;
        let ended = orm::raw("COMMIT").execute(&mut tx).await.unwrap_err();
        assert!(matches!(ended, Error::InvalidQuery { .. }), "{ended:?}");
        let err = orm::raw(INSERT_LEGACY).execute(&mut tx).await.unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { .. }), "{err:?}");
        drop(tx);
    }
    assert_eq!(t.legacy.direct_count("legacy_customers").await, Some(2));
    // The pool still serves the connection.
    assert_eq!(LegacyCustomer::count(&db).await.unwrap(), 2);
}

#[tokio::test]
async fn session_state_set_in_raw_sql_on_a_read_only_connection_never_reaches_the_next_caller() {
    let Some(t) = three().await else { return };
    let db = legacy_of_one(&t).await;
    let (set, probe) = match crate::KIND {
        orm_tests::Kind::Postgres => ("SET application_name = 'leaked'", "SELECT current_setting('application_name')"),
        orm_tests::Kind::MySql => ("SET @leaked = 'leaked'", "SELECT CAST(COALESCE(@leaked, '') AS CHAR)"),
        orm_tests::Kind::Sqlite => ("PRAGMA cache_size = 12345", "SELECT CAST(cache_size AS TEXT) FROM pragma_cache_size"),
    };
    orm::raw(set).execute(db.connection("legacy").unwrap()).await.unwrap();
    let (seen,): (String,) = orm::raw(probe).fetch_one(db.connection("legacy").unwrap()).await.unwrap();
    if crate::KIND == orm_tests::Kind::Sqlite {
        // SQLite read-only connections are opened read-only: their session
        // state cannot write, so they are not closed after raw SQL.
        return;
    }
    assert!(!seen.contains("leaked"), "the next caller saw {seen:?}");
}

#[tokio::test]
async fn attaching_another_sqlite_file_does_not_make_a_read_only_connection_writable() {
    if crate::KIND != orm_tests::Kind::Sqlite {
        return;
    }
    let Some(t) = three().await else { return };
    let other = std::env::temp_dir().join(format!("{}.db", orm_tests::unique_name()));
    let attach = format!("ATTACH DATABASE '{}' AS other", other.display());
    let legacy = || t.db.connection("legacy").unwrap();
    let attached = orm::raw(attach).execute(legacy()).await;
    if attached.is_ok() {
        let err = orm::raw("CREATE TABLE other.t (x INTEGER)").execute(legacy()).await.unwrap_err();
        assert!(matches!(err, Error::ReadOnly { .. } | Error::Query { .. }), "{err:?}");
    }
    let _ = std::fs::remove_file(other);
}

#[tokio::test]
async fn a_read_only_connection_whose_role_can_write_is_reported_at_start() {
    if crate::KIND == orm_tests::Kind::Sqlite {
        return; // opened read-only: its role cannot write
    }
    let Some(t) = three().await else { return };
    // The test servers' users (postgres, root) can write everything.
    let (events, _guard) = orm_tests::events::Events::capture("orm::connection");
    let db = legacy_of_one(&t).await;
    let warnings = events.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("`legacy`") && warnings[0].contains("role"), "{}", warnings[0]);
    drop(db);
}
