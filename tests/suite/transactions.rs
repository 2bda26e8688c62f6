// Transactions: commit, rollback, rollback on drop and on panic, and every
// model operation running inside one.

use orm::prelude::*;
use orm_tests::models::{customer, Customer};

async fn setup() -> Option<orm_tests::TestDb> {
    let t = crate::db().await?;
    t.db.create_table::<Customer>().await.unwrap();
    Some(t)
}

#[tokio::test]
async fn commit_makes_writes_visible() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut tx = db.begin().await.unwrap();
    let c = Customer::new("t@x.org", "T", 1).insert(&mut tx).await.unwrap();
    assert_eq!(Customer::find(&mut tx, c.customer_id).await.unwrap(), Some(c.clone()));
    tx.commit().await.unwrap();
    assert_eq!(Customer::find(db, c.customer_id).await.unwrap(), Some(c));
}

#[tokio::test]
async fn uncommitted_writes_are_invisible_outside() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut tx = db.begin().await.unwrap();
    Customer::new("hidden@x.org", "H", 1).insert(&mut tx).await.unwrap();
    assert_eq!(Customer::count(&mut tx).await.unwrap(), 1);
    assert_eq!(Customer::count(db).await.unwrap(), 0);
    tx.rollback().await.unwrap();
    assert_eq!(Customer::count(db).await.unwrap(), 0);
}

#[tokio::test]
async fn rollback_undoes_every_kind_of_write() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut kept = Customer::new("kept@x.org", "Kept", 1).insert(db).await.unwrap();
    let doomed = Customer::new("doomed@x.org", "Doomed", 2).insert(db).await.unwrap();

    let mut tx = db.begin().await.unwrap();
    Customer::new("new@x.org", "New", 3).insert(&mut tx).await.unwrap();
    Customer::insert_many(&mut tx, &[Customer::new("m1@x.org", "M", 4), Customer::new("m2@x.org", "M", 5)])
        .await
        .unwrap();
    kept.name = "Changed".into();
    kept.update(&mut tx).await.unwrap();
    doomed.delete(&mut tx).await.unwrap();
    let n = Customer::query()
        .filter(customer::name.eq("M"))
        .update()
        .set(customer::score, 100)
        .execute(&mut tx)
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(Customer::query().filter(customer::score.eq(100)).delete(&mut tx).await.unwrap(), 2);
    assert_eq!(Customer::all(&mut tx).await.unwrap().len(), 2);
    assert!(Customer::query().filter(customer::name.eq("Changed")).exists(&mut tx).await.unwrap());
    assert!(Customer::query().filter(customer::name.eq("New")).first(&mut tx).await.unwrap().is_some());
    tx.rollback().await.unwrap();

    let names: Vec<String> = Customer::all(db).await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["Kept", "Doomed"]);
}

#[tokio::test]
async fn dropping_a_transaction_rolls_it_back_and_the_connection_stays_usable() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    for i in 0..20 {
        let mut tx = db.begin().await.unwrap();
        Customer::new(&format!("d{i}@x.org"), "D", i).insert(&mut tx).await.unwrap();
        drop(tx);
    }
    assert_eq!(Customer::count(db).await.unwrap(), 0);
    // An error path that returns early with `?` rolls back the same way.
    async fn fails(db: &orm::Database) -> orm::Result<()> {
        let mut tx = db.begin().await?;
        Customer::new("e@x.org", "E", 1).insert(&mut tx).await?;
        Customer::new("e@x.org", "E again", 2).insert(&mut tx).await?;
        tx.commit().await
    }
    assert!(matches!(fails(db).await.unwrap_err(), orm::Error::UniqueViolation { .. }));
    assert_eq!(Customer::count(db).await.unwrap(), 0);
    Customer::new("after@x.org", "After", 1).insert(db).await.unwrap();
    assert_eq!(Customer::count(db).await.unwrap(), 1);
}

#[tokio::test]
async fn a_panic_inside_a_transaction_rolls_it_back() {
    let Some(t) = setup().await else { return };
    let db = t.db.clone();
    let task = tokio::spawn(async move {
        let mut tx = db.begin().await.unwrap();
        Customer::new("p@x.org", "P", 1).insert(&mut tx).await.unwrap();
        panic!("boom inside the transaction");
    });
    assert!(task.await.unwrap_err().is_panic());
    assert_eq!(Customer::count(&t.db).await.unwrap(), 0);
    Customer::new("p@x.org", "P", 1).insert(&t.db).await.unwrap();
}

// ---------------------------------------------------------------------------
// A commit never reports success for writes that were not stored.

use std::time::{Duration, Instant};

use orm::{Error, IsolationLevel, PoolOptions, RetryPolicy, SqliteBegin, TransactionOptions};
use orm_tests::Kind;

use orm_tests::within;

/// Whether this test is left out on the backend under test; says why.
fn not_on(kinds: &[Kind], why: &str) -> bool {
    orm_tests::not_on(crate::KIND, kinds, why)
}

/// Customers with this name, seen by a session of the test's own.
async fn seen(direct: &mut orm_tests::direct::Direct, name: &str) -> i64 {
    direct.scalar(&format!("SELECT COUNT(*) FROM customers WHERE name = '{name}'")).await
}

#[tokio::test]
async fn a_failed_statement_in_a_transaction_never_lets_commit_lie() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    Customer::new("taken@x.org", "Before", 1).insert(db).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    Customer::new("a@x.org", "a", 1).insert(&mut tx).await.unwrap();
    // The caller ignores the failure of the second insert.
    let dup = Customer::new("taken@x.org", "dup", 1).insert(&mut tx).await.unwrap_err();
    assert!(matches!(dup, Error::UniqueViolation { .. }), "{dup:?}");
    let committed = tx.commit().await;
    let mut direct = t.direct().await;
    match crate::KIND {
        // PostgreSQL aborted the transaction: row "a" is not stored, and
        // commit says so instead of returning Ok.
        Kind::Postgres => {
            assert!(matches!(&committed, Err(Error::TransactionAborted { connection }) if connection == "db"), "{committed:?}");
            assert_eq!(seen(&mut direct, "a").await, 0);
        }
        // MySQL and SQLite undo only the failed statement and go on.
        Kind::MySql | Kind::Sqlite => {
            committed.unwrap();
            assert_eq!(seen(&mut direct, "a").await, 1);
        }
    }
    // The pool hands out a connection outside any transaction afterwards.
    Customer::new("after@x.org", "after", 1).insert(db).await.unwrap();
    assert_eq!(seen(&mut direct, "after").await, 1);
}

#[tokio::test]
async fn after_an_aborting_failure_the_transaction_refuses_statements_without_sending_them() {
    if not_on(&[Kind::MySql, Kind::Sqlite], "a failed statement does not abort the transaction there") {
        return;
    }
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut tx = db.begin().await.unwrap();
    let _ = orm::raw("SELECT * FROM no_such_table").execute(&mut tx).await.unwrap_err();
    let before = db.metrics("db").unwrap().queries;
    let refused = Customer::count(&mut tx).await.unwrap_err();
    assert!(matches!(refused, Error::TransactionAborted { .. }), "{refused:?}");
    assert_eq!(db.metrics("db").unwrap().queries, before, "refused without a round trip");
    // Commit rolls back and says why; rollback is plain Ok.
    assert!(matches!(tx.commit().await, Err(Error::TransactionAborted { .. })));
    assert_eq!(Customer::count(db).await.unwrap(), 0);
}

#[tokio::test]
async fn rolling_back_a_savepoint_after_a_failure_lets_the_transaction_commit() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    Customer::new("taken@x.org", "Before", 1).insert(db).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    Customer::new("a@x.org", "a", 1).insert(&mut tx).await.unwrap();
    let mut sp = tx.savepoint().await.unwrap();
    let dup = Customer::new("taken@x.org", "dup", 1).insert(&mut sp).await.unwrap_err();
    assert!(matches!(dup, Error::UniqueViolation { .. }), "{dup:?}");
    sp.rollback().await.unwrap();
    Customer::new("b@x.org", "b", 1).insert(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let mut direct = t.direct().await;
    assert_eq!((seen(&mut direct, "a").await, seen(&mut direct, "b").await, seen(&mut direct, "dup").await), (1, 1, 0));
}

#[tokio::test]
async fn committing_a_savepoint_that_failed_on_postgres_rolls_it_back_and_the_outer_goes_on() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    Customer::new("taken@x.org", "Before", 1).insert(db).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    Customer::new("a@x.org", "a", 1).insert(&mut tx).await.unwrap();
    let mut sp = tx.savepoint().await.unwrap();
    Customer::new("in@x.org", "in", 1).insert(&mut sp).await.unwrap();
    let _ = Customer::new("taken@x.org", "dup", 1).insert(&mut sp).await.unwrap_err();
    let released = sp.commit().await;
    tx.commit().await.unwrap();
    let mut direct = t.direct().await;
    assert_eq!(seen(&mut direct, "a").await, 1);
    if crate::KIND == Kind::Postgres {
        assert!(matches!(released, Err(Error::TransactionAborted { .. })), "{released:?}");
        assert_eq!(seen(&mut direct, "in").await, 0, "the savepoint was rolled back");
    } else {
        released.unwrap();
        assert_eq!(seen(&mut direct, "in").await, 1);
    }
}

#[tokio::test]
async fn savepoints_nest_to_any_depth_and_roll_back_on_drop() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut tx = db.begin().await.unwrap();
    Customer::new("d0@x.org", "d0", 0).insert(&mut tx).await.unwrap();
    {
        let mut s1 = tx.savepoint().await.unwrap();
        Customer::new("d1@x.org", "d1", 1).insert(&mut s1).await.unwrap();
        {
            let mut s2 = s1.savepoint().await.unwrap();
            Customer::new("d2@x.org", "d2", 2).insert(&mut s2).await.unwrap();
            {
                let mut s3 = s2.savepoint().await.unwrap();
                Customer::new("d3@x.org", "d3", 3).insert(&mut s3).await.unwrap();
                let mut s4 = s3.savepoint().await.unwrap();
                Customer::new("d4@x.org", "d4", 4).insert(&mut s4).await.unwrap();
                drop(s4); // rolled back
                s3.commit().await.unwrap();
            }
            assert_eq!(Customer::count(&mut s2).await.unwrap(), 4);
            s2.rollback().await.unwrap(); // d2 and d3 go
        }
        assert_eq!(Customer::count(&mut s1).await.unwrap(), 2);
        s1.commit().await.unwrap();
    }
    tx.commit().await.unwrap();
    let names: Vec<String> = Customer::all(db).await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["d0", "d1"]);
}

// ---------------------------------------------------------------------------
// A dropped transaction releases its locks at once.

/// The time from dropping a transaction that updated row `id` (as `drop`
/// does) to another session's update of that row succeeding.
async fn release_after<F: FnOnce(orm::Transaction)>(t: &orm_tests::TestDb, drop_it: F) -> Duration {
    let db = &t.db;
    let id = Customer::new("locked@x.org", "locked", 0).insert(db).await.unwrap().customer_id;
    let mut direct = t.direct().await;
    if crate::KIND == Kind::MySql {
        direct.execute("SET SESSION innodb_lock_wait_timeout = 30").await.unwrap();
    }
    let mut tx = db.begin().await.unwrap();
    Customer::query().filter(customer::customer_id.eq(id)).update().set(customer::score, 1).execute(&mut tx).await.unwrap();
    let waiter = tokio::spawn(async move {
        let started = Instant::now();
        direct.execute(&format!("UPDATE customers SET score = 2 WHERE customer_id = {id}")).await.unwrap();
        (Instant::now(), started)
    });
    // Let the other session queue up behind the row lock.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "the other session should be waiting for the lock");
    let dropped = Instant::now();
    drop_it(tx);
    let (done, _) = within("the other session's update", waiter).await.unwrap();
    assert_eq!(Customer::get(db, id).await.unwrap().score, 2, "the dropped transaction's update was undone");
    done.saturating_duration_since(dropped)
}

#[tokio::test]
async fn a_dropped_transaction_releases_its_row_lock_within_200_ms() {
    let Some(t) = setup().await else { return };
    let waited = release_after(&t, drop).await;
    assert!(waited < Duration::from_millis(200), "the lock was held {waited:?} after the drop");
}

#[tokio::test]
async fn a_transaction_dropped_by_a_panic_releases_its_row_lock_within_200_ms() {
    let Some(t) = setup().await else { return };
    let waited = release_after(&t, |tx| {
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _held = tx;
            panic!("application bug while the transaction is open");
        }));
        assert!(panicked.is_err());
    })
    .await;
    assert!(waited < Duration::from_millis(200), "the lock was held {waited:?} after the panic");
}

#[tokio::test]
async fn the_normal_path_sends_nothing_beyond_the_statements() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let insert = if crate::KIND == Kind::MySql { 2 } else { 1 };
    let before = db.metrics("db").unwrap().queries;
    let mut tx = db.begin().await.unwrap();
    Customer::new("n@x.org", "n", 1).insert(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let _ = Customer::find(db, 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // BEGIN, the insert, COMMIT, the find: nothing on taking or returning a connection.
    assert_eq!(db.metrics("db").unwrap().queries - before, 3 + insert);
}

// ---------------------------------------------------------------------------
// Statements too large for the protocol, stale statements, timeouts.

#[tokio::test]
async fn too_many_parameters_is_a_typed_error_and_the_connection_stays() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    Customer::new("p@x.org", "p", 1).insert(db).await.unwrap();
    let max = match crate::KIND {
        Kind::Sqlite => 32_766,
        Kind::Postgres | Kind::MySql => 65_535,
    };
    let size = db.metrics("db").unwrap().size;
    // A typed `is_in` list of any length fits (one array or JSON parameter).
    let too_many: Vec<i64> = (0..=max as i64).collect();
    assert_eq!(Customer::query().filter(customer::customer_id.is_in(too_many)).count(db).await.unwrap(), 1);
    let raw = (0..=max).fold(orm::raw("SELECT 1"), |q, i| q.bind(i as i64));
    let err = raw.execute(db.connection("db").unwrap()).await.unwrap_err();
    assert!(matches!(err, Error::TooManyParameters { count, max: m, .. } if count == max + 1 && m == max), "{err:?}");
    assert!(!err.is_connection_error() && !err.is_transient());
    // Exactly the maximum is sent, and the connection was never lost.
    let just: Vec<i64> = (0..max as i64).collect();
    assert_eq!(Customer::query().filter(customer::customer_id.is_in(just)).count(db).await.unwrap(), 1);
    assert_eq!(db.metrics("db").unwrap().size, size);
}

#[tokio::test]
async fn a_column_type_changed_by_another_process_does_not_break_pooled_statements() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    Customer::new("s@x.org", "stale", 1).insert(db).await.unwrap();
    assert_eq!(Customer::get(db, 1).await.unwrap().name, "stale");
    // Another process changes the type of a selected column.
    let alter = match crate::KIND {
        Kind::Postgres => "ALTER TABLE customers ALTER COLUMN name TYPE VARCHAR(300)",
        Kind::MySql => "ALTER TABLE customers MODIFY name VARCHAR(300) NOT NULL",
        Kind::Sqlite => "ALTER TABLE customers ADD COLUMN extra INTEGER",
    };
    t.direct().await.execute(alter).await.unwrap();
    assert_eq!(Customer::get(db, 1).await.unwrap().name, "stale");
    Customer::new("s2@x.org", "after", 2).insert(db).await.unwrap();
    assert_eq!(Customer::count(db).await.unwrap(), 2);
}

#[tokio::test]
async fn after_a_migration_every_pooled_connection_prepares_its_statements_again() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    Customer::new("s@x.org", "stale", 1).insert(db).await.unwrap();
    // Four connections, each with its statements prepared.
    let held: Vec<_> = futures_util_join(db, 4).await;
    drop(held);
    assert!(db.metrics("db").unwrap().size >= 2);
    let before = orm::migrate::Snapshot::of_connection("db");
    let change = orm::migrate::Operation::Sql {
        sql: None,
        postgres: Some("ALTER TABLE customers ALTER COLUMN name TYPE VARCHAR(300)".into()),
        mysql: Some("ALTER TABLE customers MODIFY name VARCHAR(300) NOT NULL".into()),
        sqlite: Some("ALTER TABLE customers ADD COLUMN extra INTEGER".into()),
    };
    orm::migrate::apply(db, "db", &before, &[change]).await.unwrap();
    let errors = db.metrics("db").unwrap().errors;
    for _ in 0..3 {
        let names: Vec<String> = futures_util_join(db, 4).await;
        assert!(names.iter().all(|n| n == "stale"), "{names:?}");
    }
    assert_eq!(db.metrics("db").unwrap().errors, errors, "no statement failed after the migration");
}

/// Reads customer 1's name on `n` connections at once (each its own).
async fn futures_util_join(db: &orm::Database, n: usize) -> Vec<String> {
    let mut txs = Vec::new();
    for _ in 0..n {
        txs.push(db.begin().await.unwrap());
    }
    let mut names = Vec::new();
    for tx in &mut txs {
        names.push(Customer::get(&mut *tx, 1).await.unwrap().name);
    }
    for tx in txs {
        tx.commit().await.unwrap();
    }
    names
}

/// A statement that runs for about `secs` seconds on each backend.
fn slow_sql(secs: u32) -> String {
    match crate::KIND {
        Kind::Postgres => format!("SELECT CAST(pg_sleep({secs}) AS TEXT) IS NULL"),
        Kind::MySql => format!("SELECT SLEEP({secs})"),
        Kind::Sqlite => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {}) SELECT COUNT(*) FROM c",
            secs as u64 * 20_000_000
        ),
    }
}

#[tokio::test]
async fn a_statement_past_the_call_timeout_is_stopped_on_the_server() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let started = Instant::now();
    let err = orm::raw(slow_sql(5))
        .execute(db.connection("db").unwrap().statement_timeout(Duration::from_millis(300)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StatementTimeout { .. }), "{err:?}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(4), "{took:?}");
    assert_eq!(db.metrics("db").unwrap().cancels, 1);
    // A model operation through the per-call handle too.
    let _ = Customer::count(db.with_statement_timeout(Duration::from_secs(5))).await.unwrap();
    // The connection is still good.
    assert_eq!(Customer::count(db).await.unwrap(), 0);
}

#[tokio::test]
async fn an_abandoned_statement_is_stopped_on_the_server() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let abandoned = tokio::time::timeout(Duration::from_millis(300), orm::raw(slow_sql(10)).execute(db.connection("db").unwrap())).await;
    assert!(abandoned.is_err(), "the statement should still have been running");
    let mut direct = t.direct().await;
    let probe = match crate::KIND {
        Kind::Postgres => Some("SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(10)%' AND state = 'active' AND pid <> pg_backend_pid()"),
        Kind::MySql => Some("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SLEEP(10)%' AND ID <> CONNECTION_ID()"),
        Kind::Sqlite => None,
    };
    let stopped = Instant::now();
    match probe {
        Some(probe) => loop {
            if direct.scalar(probe).await == 0 {
                break;
            }
            assert!(stopped.elapsed() < Duration::from_secs(3), "the abandoned statement is still running");
            tokio::time::sleep(Duration::from_millis(20)).await;
        },
        None => {
            // SQLite: the interrupted statement no longer holds the database.
            direct.execute("INSERT INTO customers (email, name, score) VALUES ('w@x.org', 'w', 1)").await.unwrap();
            assert!(stopped.elapsed() < Duration::from_secs(3));
        }
    }
    assert_eq!(db.metrics("db").unwrap().cancels, 1);
}

// ---------------------------------------------------------------------------
// Transaction options.

#[tokio::test]
async fn a_read_only_transaction_refuses_writes_and_the_connection_writes_again_after() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let mut tx = db.begin_with(TransactionOptions::new().read_only()).await.unwrap();
    assert_eq!(Customer::count(&mut tx).await.unwrap(), 0);
    let err = Customer::new("ro@x.org", "ro", 1).insert(&mut tx).await.unwrap_err();
    assert!(matches!(err, Error::ReadOnly { .. }), "{err:?}");
    drop(tx);
    tokio::time::sleep(Duration::from_millis(50)).await;
    Customer::new("rw@x.org", "rw", 1).insert(db).await.unwrap();
    assert_eq!(Customer::count(db).await.unwrap(), 1);
}

#[tokio::test]
async fn read_committed_sees_a_concurrent_commit_and_repeatable_read_does_not() {
    if not_on(&[Kind::Sqlite], "every SQLite transaction is serializable") {
        return;
    }
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let id = Customer::new("iso@x.org", "iso", 1).insert(db).await.unwrap().customer_id;
    for (level, sees_new) in [(IsolationLevel::ReadCommitted, true), (IsolationLevel::RepeatableRead, false)] {
        let mut tx = db.begin_with(TransactionOptions::new().isolation(level)).await.unwrap();
        let first = Customer::get(&mut tx, id).await.unwrap().score;
        let next = first + 1;
        t.direct().await.execute(&format!("UPDATE customers SET score = {next} WHERE customer_id = {id}")).await.unwrap();
        let again = Customer::get(&mut tx, id).await.unwrap().score;
        assert_eq!(again == next, sees_new, "{level:?}: {first} then {again}");
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn past_its_deadline_a_transaction_is_a_timeout_and_stores_nothing() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    // A statement after the deadline.
    let mut tx = db.begin_with(TransactionOptions::new().timeout(Duration::from_millis(300))).await.unwrap();
    Customer::new("late@x.org", "late", 1).insert(&mut tx).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let err = Customer::count(&mut tx).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { limit, .. } if limit == Duration::from_millis(300)), "{err:?}");
    assert!(matches!(tx.commit().await, Err(Error::Timeout { .. })));
    assert_eq!(Customer::count(db).await.unwrap(), 0);
    // A statement running when the deadline passes is stopped.
    let mut tx = db.begin_with(TransactionOptions::new().timeout(Duration::from_millis(400))).await.unwrap();
    Customer::new("late@x.org", "late", 1).insert(&mut tx).await.unwrap();
    let started = Instant::now();
    let err = orm::raw(slow_sql(5)).execute(&mut tx).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(matches!(tx.commit().await, Err(Error::Timeout { .. })));
    assert_eq!(Customer::count(db).await.unwrap(), 0);
}

#[tokio::test]
async fn a_transaction_statement_timeout_applies_inside_it_only() {
    let Some(t) = setup().await else { return };
    let db = &orm::Database::builder()
        .connection_with("db", &t.url, PoolOptions::new().max_connections(1))
        .build()
        .await
        .unwrap();
    let mut tx = db.begin_with(TransactionOptions::new().statement_timeout(Duration::from_millis(300))).await.unwrap();
    let err = orm::raw(slow_sql(5)).execute(&mut tx).await.unwrap_err();
    assert!(matches!(err, Error::StatementTimeout { .. }), "{err:?}");
    drop(tx);
    // On the same (only) connection, afterwards: no limit.
    let started = Instant::now();
    orm::raw(slow_sql(1)).execute(db.connection("db").unwrap()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[tokio::test]
async fn a_transaction_lock_timeout_turns_a_long_wait_into_lock_timeout() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let id = Customer::new("l@x.org", "l", 1).insert(db).await.unwrap().customer_id;
    let mut holder = t.direct().await;
    let lock = match crate::KIND {
        Kind::Sqlite => "BEGIN IMMEDIATE".to_owned(),
        Kind::Postgres => format!("BEGIN; UPDATE customers SET score = 5 WHERE customer_id = {id}"),
        Kind::MySql => format!("START TRANSACTION; UPDATE customers SET score = 5 WHERE customer_id = {id}"),
    };
    holder.execute(&lock).await.unwrap();
    let mut tx = db.begin_with(TransactionOptions::new().lock_timeout(Duration::from_millis(200))).await.unwrap();
    let started = Instant::now();
    let err = Customer::query()
        .filter(customer::customer_id.eq(id))
        .update()
        .set(customer::score, 6)
        .execute(&mut tx)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err:?}");
    // MySQL counts the lock wait in whole seconds (rounded up).
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    drop(tx);
    holder.execute("ROLLBACK").await.unwrap();
}

#[tokio::test]
async fn an_immediate_sqlite_transaction_takes_the_write_lock_at_begin() {
    if not_on(&[Kind::Postgres, Kind::MySql], "a SQLite begin mode") {
        return;
    }
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let tx = db
        .begin_with(TransactionOptions::new().sqlite_begin(SqliteBegin::Immediate))
        .await
        .unwrap();
    let mut other = t.direct().await;
    other.execute("PRAGMA busy_timeout = 100").await.unwrap();
    let refused = other.execute("INSERT INTO customers (email, name, score) VALUES ('o@x.org', 'o', 1)").await;
    assert!(refused.is_err(), "the write lock was not taken at begin");
    tx.commit().await.unwrap();
    other.execute("INSERT INTO customers (email, name, score) VALUES ('o@x.org', 'o', 1)").await.unwrap();
}

// ---------------------------------------------------------------------------
// The closure form.

#[tokio::test]
async fn the_closure_form_commits_on_ok_and_rolls_back_on_err() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    let id = db
        .transaction(async |tx| {
            let c = Customer::new("c@x.org", "c", 1).insert(&mut *tx).await?;
            assert_eq!(tx.attempt(), 1);
            Ok::<_, Error>(c.customer_id)
        })
        .await
        .unwrap();
    assert!(Customer::find(db, id).await.unwrap().is_some());

    #[derive(Debug)]
    enum AppError {
        #[allow(dead_code)] // shown by Debug only
        Db(Error),
        OutOfStock,
    }
    impl From<Error> for AppError {
        fn from(e: Error) -> Self {
            AppError::Db(e)
        }
    }
    let failed = db
        .transaction(async |tx| {
            Customer::new("rolled@x.org", "rolled", 1).insert(&mut *tx).await?;
            Err::<(), _>(AppError::OutOfStock)
        })
        .await;
    assert!(matches!(failed, Err(AppError::OutOfStock)));
    assert!(matches!(Customer::query().filter(customer::name.eq("rolled")).count(db).await, Ok(0)));
    let _ = AppError::Db(Error::NotFound { model: "x" });
}

#[tokio::test]
async fn a_panic_inside_the_closure_leaves_no_rows_and_a_healthy_pool() {
    let Some(t) = setup().await else { return };
    let db = t.db.clone();
    let task = tokio::spawn(async move {
        db.transaction(async |tx| {
            Customer::new("p@x.org", "panicked", 1).insert(&mut *tx).await?;
            if tx.attempt() > 0 {
                panic!("application bug inside the transaction");
            }
            Ok::<_, Error>(())
        })
        .await
    });
    assert!(task.await.unwrap_err().is_panic());
    let db = &t.db;
    let back = Instant::now();
    while db.metrics("db").unwrap().in_use != 0 {
        assert!(back.elapsed() < Duration::from_secs(5), "the connection never came back");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(t.direct().await.scalar("SELECT COUNT(*) FROM customers").await, 0);
    for i in 0..20 {
        Customer::new(&format!("h{i}@x.org"), "healthy", i).insert(db).await.unwrap();
    }
    assert_eq!(Customer::count(db).await.unwrap(), 20);
}

#[tokio::test]
async fn eight_tasks_incrementing_one_row_in_serializable_transactions_reach_exactly_400() {
    let Some(t) = setup().await else { return };
    let id = Customer::new("counter@x.org", "counter", 0).insert(&t.db).await.unwrap().customer_id;
    let options = TransactionOptions::new()
        .isolation(IsolationLevel::Serializable)
        .lock_timeout(Duration::from_secs(10))
        .retry(
            RetryPolicy::new()
                .max_attempts(200)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(50)),
        );
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let db = t.db.clone();
        tasks.spawn(async move {
            // Spawned: the closure owns what it uses (`async move`), so that
            // its future is `Send`.
            let retried = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
            for _ in 0..50 {
                let retried = retried.clone();
                db.transaction_with(options, async move |tx| {
                    if tx.attempt() > 1 {
                        retried.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    let mut c = Customer::get(&mut *tx, id).await?;
                    c.score += 1;
                    c.update(&mut *tx).await
                })
                .await
                .unwrap();
            }
            retried.load(std::sync::atomic::Ordering::Relaxed)
        });
    }
    let mut retried = 0;
    while let Some(r) = within("the counter tasks", tasks.join_next()).await {
        retried += r.unwrap();
    }
    assert_eq!(Customer::get(&t.db, id).await.unwrap().score, 400);
    assert_eq!(t.db.metrics("db").unwrap().retries as u32, retried);
    eprintln!("{:?}: {retried} retried runs", crate::KIND);
}

// ---------------------------------------------------------------------------
// Outcomes the caller cannot see directly: a commit lost on the way, a raw
// statement that ends the transaction, a server that rolled back alone.

#[tokio::test]
async fn a_connection_lost_during_commit_is_an_unknown_outcome_never_retried() {
    if not_on(&[Kind::Sqlite], "SQLite has no connection to lose") {
        return;
    }
    let Some(t) = setup().await else { return };
    let proxy = orm_tests::proxy::Proxy::to(&t.url).await;
    let db = orm::Database::builder()
        .connection_with("db", &proxy.url_for(&t.url), PoolOptions::new().max_connections(1))
        .build()
        .await
        .unwrap();
    // Explicit form: the commit reached the server, its answer did not come back.
    let mut tx = db.begin().await.unwrap();
    Customer::new("lost@x.org", "lost-commit", 1).insert(&mut tx).await.unwrap();
    proxy.cut_after_next_request();
    let err = tx.commit().await.unwrap_err();
    assert!(matches!(err, Error::TransactionResolutionUnknown { .. }), "{err:?}");
    assert!(!err.is_transient(), "running it again may store it twice");
    let mut direct = t.direct().await;
    assert_eq!(seen(&mut direct, "lost-commit").await, 1, "the server did commit: the outcome was unknown, not a failure");
    // The closure form does not run the transaction again, whatever its policy.
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = attempts.clone();
    let armed = &proxy;
    let result = db
        .transaction_with(TransactionOptions::new().retry(RetryPolicy::new().max_attempts(5)), async move |tx| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Customer::new(&format!("c{}@x.org", tx.attempt()), "closure-commit", 1).insert(&mut *tx).await?;
            armed.cut_after_next_request();
            Ok::<_, Error>(())
        })
        .await;
    assert!(matches!(result, Err(Error::TransactionResolutionUnknown { .. })), "{result:?}");
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(seen(&mut direct, "closure-commit").await, 1, "stored once, never twice");
}

#[tokio::test]
async fn raw_sql_that_ends_the_transaction_makes_commit_and_rollback_say_so() {
    let Some(t) = setup().await else { return };
    let db = &t.db;
    for ending in ["COMMIT", "ROLLBACK"] {
        for finish_with_commit in [false, true] {
            let tag = format!("{ending}-{finish_with_commit}");
            let mut tx = db.begin().await.unwrap();
            Customer::new(&format!("a-{tag}@x.org"), &format!("before-{tag}"), 1).insert(&mut tx).await.unwrap();
            orm::raw(ending).execute(&mut tx).await.unwrap();
            // Autocommitted from here on: the ORM cannot see it yet.
            Customer::new(&format!("b-{tag}@x.org"), &format!("after-{tag}"), 1).insert(&mut tx).await.unwrap();
            let finished = if finish_with_commit { tx.commit().await } else { tx.rollback().await };
            let err = finished.unwrap_err();
            assert!(
                matches!(&err, Error::InvalidQuery { message } if message.contains("raw SQL ended this transaction")),
                "{tag}: {err:?}"
            );
            let mut direct = t.direct().await;
            let before = if ending == "COMMIT" { 1 } else { 0 };
            assert_eq!(
                (seen(&mut direct, &format!("before-{tag}")).await, seen(&mut direct, &format!("after-{tag}")).await),
                (before, 1),
                "{tag}: what the message says was written is what is stored"
            );
        }
    }
    // A transaction that ran raw SQL and stayed open commits normally, and
    // the pool hands out clean connections afterwards.
    let mut tx = db.begin().await.unwrap();
    orm::raw("UPDATE customers SET score = 7").execute(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    Customer::new("c@x.org", "clean", 1).insert(db).await.unwrap();
    let mut direct = t.direct().await;
    assert_eq!(seen(&mut direct, "clean").await, 1);
    // Six rows from the rounds above: two written before a raw COMMIT, four after the raw statement.
    assert_eq!(direct.scalar("SELECT COUNT(*) FROM customers WHERE score = 7").await, 6);
}

#[tokio::test]
async fn mysql_ddl_in_a_transaction_commits_it_and_the_transaction_says_so() {
    if not_on(&[Kind::Sqlite, Kind::Postgres], "DDL commits implicitly only on MySQL") {
        return;
    }
    let Some(t) = setup().await else { return };
    let db = &t.db;
    #[derive(Debug)]
    enum Shop {
        Db(Error),
        OutOfStock,
    }
    impl From<Error> for Shop {
        fn from(e: Error) -> Self {
            Shop::Db(e)
        }
    }
    let result = db
        .transaction(async |tx| {
            Customer::new("e@x.org", "before-ddl", 1).insert(&mut *tx).await?;
            orm::raw("CREATE TABLE implicit_commit (x INT)").execute(&mut *tx).await?;
            Customer::new("f@x.org", "after-ddl", 1).insert(&mut *tx).await?;
            Err::<(), _>(Shop::OutOfStock)
        })
        .await;
    // The closure's own error would say nothing was stored; the caller
    // learns instead that the transaction was ended and its writes stored.
    assert!(matches!(&result, Err(Shop::Db(Error::InvalidQuery { message })) if message.contains("implicitly")), "{result:?}");
    let mut direct = t.direct().await;
    assert_eq!((seen(&mut direct, "before-ddl").await, seen(&mut direct, "after-ddl").await), (1, 1));
}

#[tokio::test]
async fn a_savepoint_cannot_be_rolled_back_to_after_the_server_rolled_everything_back() {
    if not_on(&[Kind::Postgres, Kind::MySql], "SQLite rolls back the whole transaction on an interrupt") {
        return;
    }
    let Some(t) = setup().await else { return };
    let db = &t.db;
    Customer::new("pre@x.org", "pre", 1).insert(db).await.unwrap();
    let mut tx = db.begin_with(TransactionOptions::new().statement_timeout(Duration::from_millis(200))).await.unwrap();
    Customer::new("outer@x.org", "outer", 1).insert(&mut tx).await.unwrap();
    let mut sp = tx.savepoint().await.unwrap();
    // A long write, interrupted: SQLite rolls back the whole transaction.
    let long_write = "INSERT INTO customers (email, name, score) \
        SELECT 'w' || x || '@x.org', 'w', 1 FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000000) SELECT x FROM c)";
    let err = orm::raw(long_write).execute(&mut sp).await.unwrap_err();
    assert!(matches!(err, Error::StatementTimeout { .. }), "{err:?}");
    let back = sp.rollback().await.unwrap_err();
    assert!(matches!(back, Error::TransactionAborted { .. }), "{back:?}");
    assert!(matches!(tx.commit().await, Err(Error::TransactionAborted { .. })));
    assert_eq!(Customer::count(db).await.unwrap(), 1);
}

#[tokio::test]
async fn on_sqlite_every_limit_bounds_a_wait_for_the_database_lock() {
    if not_on(&[Kind::Postgres, Kind::MySql], "SQLite's lock waits") {
        return;
    }
    let Some(t) = setup().await else { return };
    let db = &orm::Database::builder()
        .connection_with("db", &t.url, PoolOptions::new().lock_timeout(Some(Duration::from_secs(20))))
        .build()
        .await
        .unwrap();
    let mut holder = t.direct().await;
    holder.execute("BEGIN IMMEDIATE").await.unwrap();
    let insert = || Customer::new("w@x.org", "waiter", 1);
    // A deadline.
    let started = Instant::now();
    let mut tx = db.begin_with(TransactionOptions::new().timeout(Duration::from_millis(500))).await.unwrap();
    let err = insert().insert(&mut tx).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    drop(tx);
    // A lock timeout, with the write lock taken at BEGIN.
    let started = Instant::now();
    let err = db
        .begin_with(TransactionOptions::new().lock_timeout(Duration::from_millis(500)).sqlite_begin(SqliteBegin::Immediate))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    // A per-call statement timeout.
    let started = Instant::now();
    let err = insert().insert(db.with_statement_timeout(Duration::from_millis(500))).await.unwrap_err();
    assert!(matches!(err, Error::StatementTimeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    holder.execute("ROLLBACK").await.unwrap();
    // The connection's own lock timeout is back: a short wait succeeds.
    insert().insert(db).await.unwrap();
}

#[tokio::test]
async fn a_transaction_its_owner_stopped_using_releases_its_locks_after_its_deadline() {
    if not_on(&[Kind::Sqlite], "SQLite's lock is released when the transaction is dropped, and nothing ends it before") {
        return;
    }
    let Some(t) = setup().await else { return };
    let db = t.db.clone();
    let id = Customer::new("s@x.org", "stuck", 0).insert(&db).await.unwrap().customer_id;
    // The owner locks a row, then waits forever on something else.
    let owner = tokio::spawn(async move {
        let mut tx = db.begin_with(TransactionOptions::new().timeout(Duration::from_secs(1))).await.unwrap();
        Customer::query().filter(customer::customer_id.eq(id)).update().set(customer::score, 1).execute(&mut tx).await.unwrap();
        std::future::pending::<()>().await;
        drop(tx);
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut other = t.direct().await;
    if crate::KIND == Kind::MySql {
        other.execute("SET SESSION innodb_lock_wait_timeout = 30").await.unwrap();
    }
    let started = Instant::now();
    other.execute(&format!("UPDATE customers SET score = 2 WHERE customer_id = {id}")).await.unwrap();
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(4), "the stuck transaction held its lock {waited:?}");
    owner.abort();
}
