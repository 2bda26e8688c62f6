// Errors provoked on the real server arrive as their own kinds: a
// serialization failure, a deadlock, a lock timeout, a statement timeout or
// cancel, an aborted transaction, a connection the server killed. Each test
// asserts the exact variant, and what the user sees afterwards (the rows
// kept, the connection replaced or kept). Kinds a backend cannot produce
// are left out on that backend, with the reason.

use std::sync::Arc;
use std::time::Duration;

use orm::prelude::*;
use orm::{Error, PoolOptions};
use orm_tests::models::{customer, Customer};
use orm_tests::Kind;

/// A test database with two customers, `a` and `b` (score 0), whose rows
/// the tests lock.
async fn setup() -> Option<(orm_tests::TestDb, i64, i64)> {
    let t = crate::db().await?;
    t.db.create_table::<Customer>().await.unwrap();
    let a = Customer::new("a@x.org", "A", 0).insert(&t.db).await.unwrap();
    let b = Customer::new("b@x.org", "B", 0).insert(&t.db).await.unwrap();
    Some((t, a.customer_id, b.customer_id))
}

/// A database on the same server whose connection "db" has a pool of one,
/// so that successive calls use the same session until it is replaced.
async fn single_connection(t: &orm_tests::TestDb) -> orm::Database {
    orm::Database::builder()
        .connection_with("db", &t.url, PoolOptions::new().max_connections(1))
        .build()
        .await
        .unwrap()
}

use orm_tests::within;

/// Sets the score of customer `id`, on the database or in a transaction.
fn set_score<'e, E>(exec: E, id: i64, score: i32) -> impl std::future::Future<Output = orm::Result<u64>> + Send + 'e
where
    E: orm::routing::Executor<'e, <Customer as orm::Model>::Connection> + 'e,
{
    Customer::query().filter(customer::customer_id.eq(id)).update().set(customer::score, score).execute(exec)
}

async fn score(db: &orm::Database, id: i64) -> i32 {
    Customer::get(db, id).await.unwrap().score
}

/// The server's id of the session that runs the next statement on `db`.
async fn session_id(db: &orm::Database) -> orm::Result<i64> {
    let sql = match crate::KIND {
        Kind::Postgres => "SELECT CAST(pg_backend_pid() AS BIGINT)",
        Kind::MySql => "SELECT CAST(CONNECTION_ID() AS SIGNED)",
        Kind::Sqlite => unreachable!("SQLite has no server sessions"),
    };
    let (id,): (i64,) = orm::raw(sql).fetch_one(db.connection("db")?).await?;
    Ok(id)
}

/// Whether the MySQL-protocol server is MariaDB.
async fn is_mariadb(db: &orm::Database) -> bool {
    let (version,): (String,) = orm::raw("SELECT VERSION()").fetch_one(db.connection("db").unwrap()).await.unwrap();
    version.contains("MariaDB")
}

/// A connection of its own to the test database, outside the ORM: the
/// administrator who kills or cancels sessions.
enum Admin {
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
}

impl Admin {
    async fn connect(t: &orm_tests::TestDb) -> Admin {
        use sqlx::Connection;
        match t.kind {
            Kind::Postgres => Admin::Postgres(sqlx::PgConnection::connect(&t.url).await.unwrap()),
            Kind::MySql => Admin::MySql(sqlx::MySqlConnection::connect(&t.url).await.unwrap()),
            Kind::Sqlite => unreachable!("SQLite has no server sessions"),
        }
    }

    /// Ends session `id` and waits until the server has closed it.
    async fn kill_session(&mut self, id: i64) {
        match self {
            Admin::Postgres(c) => {
                // With a timeout (PostgreSQL 14+) it waits for the backend to exit.
                let done: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 10000)")
                    .bind(i32::try_from(id).unwrap())
                    .fetch_one(&mut *c)
                    .await
                    .unwrap();
                assert!(done, "backend {id} did not exit");
            }
            Admin::MySql(c) => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("KILL CONNECTION {id}"))).execute(&mut *c).await.unwrap();
                self.wait_for(id, Seen::Gone).await;
            }
        }
    }

    /// Cancels the statement session `id` is running, once it runs one.
    async fn cancel_statement(&mut self, id: i64) {
        self.wait_for(id, Seen::Sleeping).await;
        match self {
            Admin::Postgres(c) => {
                let sent: bool = sqlx::query_scalar("SELECT pg_cancel_backend($1)")
                    .bind(i32::try_from(id).unwrap())
                    .fetch_one(&mut *c)
                    .await
                    .unwrap();
                assert!(sent);
            }
            Admin::MySql(c) => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("KILL QUERY {id}"))).execute(&mut *c).await.unwrap();
            }
        }
    }

    /// Polls the server's session list until it shows session `id` as `seen`.
    async fn wait_for(&mut self, id: i64, seen: Seen) {
        for _ in 0..1200 {
            let listed: i64 = match self {
                Admin::Postgres(c) => {
                    let sql = match seen {
                        Seen::Gone => "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1",
                        Seen::Sleeping => {
                            "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query LIKE '%pg_sleep%'"
                        }
                    };
                    sqlx::query_scalar(sql).bind(i32::try_from(id).unwrap()).fetch_one(&mut *c).await.unwrap()
                }
                Admin::MySql(c) => {
                    let sql = match seen {
                        Seen::Gone => "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?",
                        Seen::Sleeping => {
                            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE '%SLEEP(%'"
                        }
                    };
                    sqlx::query_scalar(sql).bind(id).fetch_one(&mut *c).await.unwrap()
                }
            };
            if listed == (seen == Seen::Sleeping) as i64 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("session {id} was never seen {seen:?}");
    }
}

/// A state of a server session, as its session list shows it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Seen {
    /// No longer listed.
    Gone,
    /// Running a sleep.
    Sleeping,
}

/// Whether this test is left out on the backend under test; says why.
fn not_on(kinds: &[Kind], why: &str) -> bool {
    orm_tests::not_on(crate::KIND, kinds, why)
}

#[tokio::test]
async fn a_write_that_conflicts_with_a_concurrent_commit_is_a_serialization_failure() {
    let Some((t, a, _)) = setup().await else { return };
    let db = &t.db;
    // What makes the conflict an error rather than a lost update, sent
    // first in each transaction.
    let isolation = match crate::KIND {
        Kind::Postgres => Some("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
        // MariaDB 10.6.18+/10.11.8+: REPEATABLE READ that refuses to write
        // a row changed since the transaction's read view (error 1020).
        Kind::MySql if is_mariadb(db).await => Some("SET SESSION innodb_snapshot_isolation = ON"),
        Kind::MySql => {
            not_on(&[Kind::MySql], "MySQL has no snapshot isolation that fails a write (MariaDB's 1020)");
            return;
        }
        Kind::Sqlite => {
            // In WAL mode a reader keeps its snapshot; one that then writes
            // after another connection committed gets SQLITE_BUSY_SNAPSHOT.
            let (mode,): (String,) =
                orm::raw("PRAGMA journal_mode = WAL").fetch_one(db.connection("db").unwrap()).await.unwrap();
            assert_eq!(mode, "wal");
            None
        }
    };
    // Both transactions read the row, then both write it.
    let mut first = db.begin().await.unwrap();
    let mut second = db.begin().await.unwrap();
    if let Some(isolation) = isolation {
        orm::raw(isolation).execute(&mut first).await.unwrap();
        orm::raw(isolation).execute(&mut second).await.unwrap();
    }
    assert_eq!(Customer::get(&mut first, a).await.unwrap().score, 0);
    assert_eq!(Customer::get(&mut second, a).await.unwrap().score, 0);
    assert_eq!(set_score(&mut first, a, 1).await.unwrap(), 1);
    first.commit().await.unwrap();

    let err = within("the conflicting write", set_score(&mut second, a, 2)).await.unwrap_err();
    assert!(matches!(&err, Error::SerializationFailure { connection, .. } if connection == "db"), "{err:?}");
    assert!(err.is_transient() && !err.is_connection_error(), "{err:?}");
    drop(second);
    assert_eq!(score(db, a).await, 1, "the first transaction's write is kept, the second's is not");
}

#[tokio::test]
async fn two_transactions_locking_rows_in_opposite_orders_are_a_deadlock_for_one() {
    // One writer at a time: a second writer waits or gets SQLITE_BUSY (see
    // the lock timeout test); it never holds a lock the first one needs.
    if not_on(&[Kind::Sqlite], "one writer at a time, no deadlock") {
        return;
    }
    let Some((t, a, b)) = setup().await else { return };
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let transfer = |first: i64, second: i64, value: i32| {
        let db = t.db.clone();
        let barrier = barrier.clone();
        tokio::spawn(async move {
            let mut tx = db.begin().await?;
            set_score(&mut tx, first, value).await?;
            // Both hold their first row before either asks for its second.
            barrier.wait().await;
            set_score(&mut tx, second, value).await?;
            tx.commit().await
        })
    };
    let one = transfer(a, b, 1);
    let two = transfer(b, a, 2);
    let results = within("the deadlock", async { [one.await.unwrap(), two.await.unwrap()] }).await;

    let deadlocks: Vec<&Error> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(deadlocks.len(), 1, "exactly one transaction is chosen as the victim: {results:?}");
    let err = deadlocks[0];
    assert!(matches!(err, Error::Deadlock { connection, .. } if connection == "db"), "{err:?}");
    assert!(err.is_transient() && !err.is_connection_error(), "{err:?}");
    // The survivor committed both rows; nothing of the victim is stored.
    let winner = if results[0].is_ok() { 1 } else { 2 };
    assert_eq!((score(&t.db, a).await, score(&t.db, b).await), (winner, winner));
}

#[tokio::test]
async fn waiting_for_a_row_lock_past_the_lock_timeout_is_a_lock_timeout() {
    let Some((t, a, _)) = setup().await else { return };
    let db = &t.db;
    let mut holder = db.begin().await.unwrap();
    assert_eq!(set_score(&mut holder, a, 1).await.unwrap(), 1);

    let mut waiter = db.begin().await.unwrap();
    let short_wait = match crate::KIND {
        Kind::Postgres => "SET LOCAL lock_timeout = '100ms'",
        // Whole seconds only.
        Kind::MySql => "SET SESSION innodb_lock_wait_timeout = 1",
        Kind::Sqlite => "PRAGMA busy_timeout = 100",
    };
    orm::raw(short_wait).execute(&mut waiter).await.unwrap();
    let err = within("the lock wait", set_score(&mut waiter, a, 2)).await.unwrap_err();
    assert!(matches!(&err, Error::LockTimeout { connection, .. } if connection == "db"), "{err:?}");
    assert!(err.is_transient() && !err.is_connection_error(), "{err:?}");
    drop(waiter);

    within("the holder's commit", holder.commit()).await.unwrap();
    assert_eq!(score(db, a).await, 1);
}

#[tokio::test]
async fn a_statement_past_its_statement_timeout_is_a_statement_timeout() {
    // SQLITE_INTERRUPT needs sqlite3_interrupt or a progress handler, which
    // the ORM does not expose (its code is unit-tested in classify).
    if not_on(&[Kind::Sqlite], "no statement timeout to set") {
        return;
    }
    let Some((t, _, _)) = setup().await else { return };
    let db = &t.db;
    let err = match crate::KIND {
        Kind::Postgres => {
            let mut tx = db.begin().await.unwrap();
            orm::raw("SET LOCAL statement_timeout = 100").execute(&mut tx).await.unwrap();
            within("the timeout", orm::raw("SELECT pg_sleep(2)").execute(&mut tx)).await.unwrap_err()
        }
        Kind::MySql => {
            let sql = if is_mariadb(db).await {
                // MariaDB 10.11 answers error 1969 (ER_STATEMENT_TIMEOUT).
                "SET STATEMENT max_statement_time = 0.1 FOR SELECT SLEEP(2)"
            } else {
                // MySQL's error 3024 (not run here: the test server is MariaDB).
                "SELECT /*+ MAX_EXECUTION_TIME(100) */ SLEEP(2)"
            };
            within("the timeout", orm::raw(sql).execute(db.connection("db").unwrap())).await.unwrap_err()
        }
        Kind::Sqlite => unreachable!(),
    };
    assert!(
        matches!(&err, Error::StatementTimeout { connection, sql, .. }
            if connection == "db" && (sql.contains("SLEEP(2)") || sql.contains("pg_sleep(2)"))),
        "{err:?}"
    );
    assert!(!err.is_transient() && !err.is_connection_error(), "{err:?}");
    assert_eq!(Customer::count(db).await.unwrap(), 2, "the connection stays usable");
}

#[tokio::test]
async fn a_statement_cancelled_by_the_server_is_a_statement_timeout_and_keeps_its_connection() {
    if not_on(&[Kind::Sqlite], "no server to cancel from") {
        return;
    }
    let Some((t, _, _)) = setup().await else { return };
    let db = single_connection(&t).await;
    let session = session_id(&db).await.unwrap();
    let sleep = match crate::KIND {
        Kind::Postgres => "SELECT pg_sleep(30)",
        _ => "SELECT SLEEP(30)",
    };
    let running = {
        let db = db.clone();
        tokio::spawn(async move { orm::raw(sleep).execute(db.connection("db").unwrap()).await })
    };
    // pg_cancel_backend (SQLSTATE 57014); KILL QUERY (error 1317).
    Admin::connect(&t).await.cancel_statement(session).await;
    let err = within("the cancel", running).await.unwrap().unwrap_err();
    assert!(matches!(&err, Error::StatementTimeout { connection, sql, .. } if connection == "db" && sql == sleep), "{err:?}");
    assert!(!err.is_connection_error(), "{err:?}");
    // Only the statement was stopped: the same session serves the next call.
    assert_eq!(session_id(&db).await.unwrap(), session);
}

#[tokio::test]
async fn a_statement_after_a_failed_one_in_a_postgres_transaction_is_transaction_aborted() {
    // MySQL/MariaDB and SQLite undo only the failed statement; the
    // transaction goes on.
    if not_on(&[Kind::MySql, Kind::Sqlite], "a failed statement does not abort the transaction") {
        return;
    }
    let Some((t, _, _)) = setup().await else { return };
    let db = &t.db;
    let mut tx = db.begin().await.unwrap();
    let err = Customer::new("a@x.org", "A again", 1).insert(&mut tx).await.unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    let err = Customer::count(&mut tx).await.unwrap_err();
    assert!(matches!(&err, Error::TransactionAborted { connection } if connection == "db"), "{err:?}");
    drop(tx);
    assert_eq!(Customer::count(db).await.unwrap(), 2);
}

/// Kills the session of a pool of one, idle or in the middle of a
/// statement, then checks what its user sees: one `ConnectionLost`, the
/// dead connection closed, and the next call on a new session.
async fn a_killed_session_costs_one_error(mid_statement: bool) {
    let Some((t, _, _)) = setup().await else { return };
    let db = single_connection(&t).await;
    let killed = session_id(&db).await.unwrap();
    let mut admin = Admin::connect(&t).await;
    let before = db.metrics("db").unwrap();
    assert_eq!(before.size, 1, "{before:?}");

    // pg_terminate_backend: FATAL 57P01 is read by the next call, or by
    // the running one. KILL CONNECTION: MariaDB 10.11 closes the socket
    // (an I/O error) whether or not a statement runs.
    let err = if mid_statement {
        let sleep = match crate::KIND {
            Kind::Postgres => "SELECT pg_sleep(30)",
            _ => "SELECT SLEEP(30)",
        };
        let running = {
            let db = db.clone();
            tokio::spawn(async move { orm::raw(sleep).execute(db.connection("db").unwrap()).await })
        };
        admin.wait_for(killed, Seen::Sleeping).await;
        admin.kill_session(killed).await;
        within("the killed statement", running).await.unwrap().unwrap_err()
    } else {
        admin.kill_session(killed).await;
        within("the call on the killed session", Customer::count(&db)).await.unwrap_err()
    };
    assert!(matches!(&err, Error::ConnectionLost { connection, .. } if connection == "db"), "{err:?}");
    assert!(err.is_connection_error() && err.is_transient(), "{err:?}");
    let after_error = db.metrics("db").unwrap();
    assert_eq!((after_error.size, after_error.idle), (0, 0), "the dead connection was closed, not pooled: {after_error:?}");

    // The next call gets a new session and works.
    assert_eq!(Customer::count(&db).await.unwrap(), 2);
    let replaced = session_id(&db).await.unwrap();
    assert_ne!(replaced, killed);
    let m = db.metrics("db").unwrap();
    assert_eq!((m.size, m.errors - before.errors), (1, 1), "one error, one new connection: {m:?}");
}

#[tokio::test]
async fn an_idle_session_killed_by_the_server_costs_one_connection_lost_and_is_replaced() {
    if not_on(&[Kind::Sqlite], "no server to kill sessions") {
        return;
    }
    a_killed_session_costs_one_error(false).await;
}

#[tokio::test]
async fn a_session_killed_mid_statement_costs_one_connection_lost_and_is_replaced() {
    if not_on(&[Kind::Sqlite], "no server to kill sessions") {
        return;
    }
    a_killed_session_costs_one_error(true).await;
}
