// Retries after transient errors, as a user meets them.
//
// A connection's `RetryPolicy` (`PoolOptions::retry`, or the
// `DATABASE_RETRY_*` variables) runs a single statement outside a
// transaction again after a transient error (a lock timeout, a lost
// connection, a pool timeout): reads always, writes and raw SQL only when
// the call is marked idempotent, nothing inside a transaction. The closure
// form of a transaction (`Database::transaction_with`) runs the whole
// transaction again after a serialization failure, a deadlock or a lock
// timeout; non-transient errors are never retried.
//
// The errors are real: a table lock held by a connection outside the ORM
// (the ORM's statements give up after their short lock wait), a session
// killed by an administrator (PostgreSQL, MySQL), a pool whose only
// connection is held, a concurrent transaction's commit, a deadlock. The
// attempts are counted with `Database::metrics` (`errors`: failed
// statements, `retries`: statements and transactions run again), the rows
// checked on another connection.

use std::future::Future;
use std::time::{Duration, Instant};

use orm::prelude::*;
use orm::{Error, IsolationLevel, PoolMetrics, PoolOptions, RetryPolicy, TransactionOptions};
use orm_tests::models::{customer, Customer};
use orm_tests::{Kind, TestDb};

/// How long a statement of the ORM waits for a lock before `LockTimeout`:
/// short, so that a blocked attempt fails fast. MySQL/MariaDB wait for a
/// table lock for `lock_wait_timeout` instead, which [`database_with`] sets.
const LOCK_WAIT: Duration = Duration::from_millis(50);

/// Added to the upper bounds of timings: the machine may be loaded.
const SLACK: Duration = Duration::from_secs(3);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A policy that keeps trying long enough for a test to remove the cause.
fn patient() -> RetryPolicy {
    RetryPolicy::new()
        .max_attempts(50)
        .initial_backoff(ms(20))
        .max_backoff(ms(100))
}

/// A test database with customers `a` (created first, so with the smallest
/// key) and `b`, both with score 0, and 20 more that only MySQL's deadlock
/// uses.
struct Setup {
    t: TestDb,
    a: Customer,
    b: Customer,
}

async fn setup() -> Option<Setup> {
    let t = crate::db().await?;
    t.db.create_table::<Customer>().await.unwrap();
    let a = Customer::new("a@x.org", "A", 0)
        .insert(&t.db)
        .await
        .unwrap();
    let b = Customer::new("b@x.org", "B", 0)
        .insert(&t.db)
        .await
        .unwrap();
    assert!(a.customer_id < b.customer_id);
    for i in 0..20 {
        Customer::new(&format!("more{i}@x.org"), "More", 0)
            .insert(&t.db)
            .await
            .unwrap();
    }
    Some(Setup { t, a, b })
}

/// A database on the test database whose connection "db" has a pool of one
/// (every call uses the same session until it is replaced), the short lock
/// wait, and `policy`.
async fn database(t: &TestDb, policy: RetryPolicy) -> orm::Database {
    database_with(
        t,
        PoolOptions::new()
            .max_connections(1)
            .lock_timeout(Some(LOCK_WAIT))
            .retry(policy),
    )
    .await
}

/// A database on the test database with `options` (a pool of one).
async fn database_with(t: &TestDb, options: PoolOptions) -> orm::Database {
    let db = orm::Database::builder()
        .connection_with("db", &t.url, options)
        .build()
        .await
        .unwrap();
    short_table_lock_wait(&db).await;
    db
}

/// MySQL/MariaDB: a statement waits for a table lock (`LOCK TABLES`) for
/// `lock_wait_timeout`, not for `innodb_lock_wait_timeout` (what
/// `PoolOptions::lock_timeout` sets): make it short on the session that a
/// pool of one keeps.
async fn short_table_lock_wait(db: &orm::Database) {
    if crate::KIND != Kind::MySql {
        return;
    }
    // MariaDB takes 0 (fail at once); MySQL's least is 1 second.
    let seconds = if is_mariadb(db).await { 0 } else { 1 };
    orm::raw(format!("SET SESSION lock_wait_timeout = {seconds}"))
        .execute(db.connection("db").unwrap())
        .await
        .unwrap();
}

/// A database on the test database for transactions: the server's own lock
/// waits, and `policy` on the connection.
async fn transaction_db(t: &TestDb, policy: RetryPolicy) -> orm::Database {
    orm::Database::builder()
        .connection_with("db", &t.url, PoolOptions::new().retry(policy))
        .build()
        .await
        .unwrap()
}

/// Whether the MySQL-protocol server is MariaDB.
async fn is_mariadb(db: &orm::Database) -> bool {
    let (version,): (String,) = orm::raw("SELECT VERSION()")
        .fetch_one(db.connection("db").unwrap())
        .await
        .unwrap();
    version.contains("MariaDB")
}

use orm_tests::within;

/// Whether this test is left out on the backend under test; says why.
fn not_on(kinds: &[Kind], why: &str) -> bool {
    orm_tests::not_on(crate::KIND, kinds, why)
}

/// Failed statements and retries counted on `db` since `before`.
fn since(db: &orm::Database, before: &PoolMetrics) -> (u64, u64) {
    let now = db.metrics("db").unwrap();
    (now.errors - before.errors, now.retries - before.retries)
}

/// Waits until `db` has counted `n` failed statements more than `before`.
async fn failures(db: &orm::Database, before: &PoolMetrics, n: u64) {
    let started = Instant::now();
    while db.metrics("db").unwrap().errors < before.errors + n {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{n} failed statement(s) never came"
        );
        tokio::time::sleep(ms(2)).await;
    }
}

/// Sets the score of customer `id`, on the database or in a transaction.
fn set_score<'e, E>(
    exec: E,
    id: i64,
    score: i32,
) -> impl Future<Output = orm::Result<u64>> + Send + 'e
where
    E: orm::routing::Executor<'e, <Customer as orm::Model>::Connection> + 'e,
{
    Customer::query()
        .filter(customer::customer_id.eq(id))
        .update()
        .set(customer::score, score)
        .execute(exec)
}

/// The score of customer `id`, read on the test's own database handle.
async fn score_of(t: &TestDb, id: i64) -> i32 {
    Customer::get(&t.db, id).await.unwrap().score
}

/// Placeholder `n` of raw SQL on this backend.
fn p(n: usize) -> String {
    match crate::KIND {
        Kind::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// The SQL that names the server session running it.
fn session_sql() -> &'static str {
    match crate::KIND {
        Kind::Postgres => "SELECT CAST(pg_backend_pid() AS BIGINT)",
        Kind::MySql => "SELECT CAST(CONNECTION_ID() AS SIGNED)",
        Kind::Sqlite => unreachable!("SQLite has no server sessions"),
    }
}

/// The server's id of the session that runs the next statement on `db`.
async fn session_id(db: &orm::Database) -> i64 {
    let (id,): (i64,) = orm::raw(session_sql())
        .fetch_one(db.connection("db").unwrap())
        .await
        .unwrap();
    id
}

/// A connection to the test database outside the ORM.
enum Direct {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
}

impl Direct {
    async fn connect(t: &TestDb) -> Direct {
        use sqlx::Connection;
        match t.kind {
            Kind::Sqlite => Direct::Sqlite(sqlx::SqliteConnection::connect(&t.url).await.unwrap()),
            Kind::Postgres => Direct::Postgres(sqlx::PgConnection::connect(&t.url).await.unwrap()),
            Kind::MySql => Direct::MySql(sqlx::MySqlConnection::connect(&t.url).await.unwrap()),
        }
    }

    /// Runs `sql` (possibly several statements, no parameters).
    async fn execute(&mut self, sql: &str) {
        let q = || sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()));
        let done = match self {
            Direct::Sqlite(c) => q().execute(c).await.map(drop),
            Direct::Postgres(c) => q().execute(c).await.map(drop),
            Direct::MySql(c) => q().execute(c).await.map(drop),
        };
        done.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The one integer `sql` returns, with `id` bound to its placeholder.
    async fn scalar(&mut self, sql: &str, id: i64) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        let value: Result<i64, sqlx::Error> = match self {
            Direct::Postgres(c) => sqlx::query_scalar(sql).bind(id).fetch_one(c).await,
            Direct::MySql(c) => sqlx::query_scalar(sql).bind(id).fetch_one(c).await,
            Direct::Sqlite(_) => unreachable!("SQLite has no server sessions"),
        };
        value.unwrap()
    }

    /// Ends server session `id` and waits until the server has closed it.
    async fn kill_session(&mut self, id: i64) {
        if let Direct::Postgres(_) = self {
            // With a timeout (PostgreSQL 14+) it waits for the backend to exit.
            let sql = "SELECT CASE WHEN pg_terminate_backend(CAST($1 AS INTEGER), 10000) THEN 1 ELSE 0 END::BIGINT";
            let done = self.scalar(sql, id).await;
            assert_eq!(done, 1, "backend {id} did not exit");
            return;
        }
        self.execute(&format!("KILL CONNECTION {id}")).await;
        let started = Instant::now();
        while self
            .scalar(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?",
                id,
            )
            .await
            > 0
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "session {id} never went away"
            );
            tokio::time::sleep(ms(20)).await;
        }
    }
}

/// A lock on the whole `customers` table, held by a connection outside the
/// ORM until released: every statement of the ORM on the table, reads
/// included, waits for it and fails with `LockTimeout` after its lock wait.
/// SQLite `BEGIN EXCLUSIVE` (the test database is in rollback-journal mode,
/// where that keeps readers out too); PostgreSQL `LOCK TABLE ... IN ACCESS
/// EXCLUSIVE MODE`; MySQL/MariaDB `LOCK TABLES ... WRITE`.
struct TableLock(Direct);

impl TableLock {
    async fn take(t: &TestDb) -> TableLock {
        let mut c = Direct::connect(t).await;
        c.execute(match t.kind {
            Kind::Sqlite => "BEGIN EXCLUSIVE",
            Kind::Postgres => "BEGIN; LOCK TABLE customers IN ACCESS EXCLUSIVE MODE",
            Kind::MySql => "LOCK TABLES customers WRITE",
        })
        .await;
        TableLock(c)
    }

    async fn release(mut self) {
        let sql = match self.0 {
            Direct::MySql(_) => "UNLOCK TABLES",
            _ => "COMMIT",
        };
        self.0.execute(sql).await;
    }

    /// Releases the lock as soon as `db` has counted one failed statement
    /// more than `before`: the first attempt meets the lock, a later one
    /// does not.
    fn release_after_first_failure(
        self,
        db: &orm::Database,
        before: &PoolMetrics,
    ) -> tokio::task::JoinHandle<()> {
        let db = db.clone();
        let before = before.clone();
        tokio::spawn(async move {
            failures(&db, &before, 1).await;
            self.release().await;
        })
    }
}

/// Each kind of call a user makes, on customer `a`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Call {
    /// `Customer::get(&db, id)`
    Get,
    /// `Customer::get(db.idempotent(), id)`: a read is retried anyway.
    GetIdempotent,
    /// `Customer::query().filter(..).all(&db)`
    Query,
    /// `row.update(&db)`
    Update,
    /// `row.update(db.idempotent())`
    UpdateIdempotent,
    /// `Customer::query().filter(..).update().set(..).execute(&db)`
    QueryUpdate,
    /// The same with `db.idempotent()`.
    QueryUpdateIdempotent,
    /// `orm::raw("SELECT ..").fetch_one(db.connection("db")?)`: raw SQL,
    /// even a read, is never retried unless marked idempotent.
    RawSelect,
    /// The same on `db.connection("db")?.idempotent()`.
    RawSelectIdempotent,
    /// `orm::raw("UPDATE ..").execute(db.connection("db")?)`
    RawUpdate,
    /// The same on `db.connection("db")?.idempotent()`.
    RawUpdateIdempotent,
}

impl Call {
    const ALL: [Call; 11] = [
        Call::Get,
        Call::GetIdempotent,
        Call::Query,
        Call::Update,
        Call::UpdateIdempotent,
        Call::QueryUpdate,
        Call::QueryUpdateIdempotent,
        Call::RawSelect,
        Call::RawSelectIdempotent,
        Call::RawUpdate,
        Call::RawUpdateIdempotent,
    ];

    /// Whether the policy may run it again: reads through the models, and
    /// what the caller marked idempotent.
    fn retried(self) -> bool {
        matches!(
            self,
            Call::Get
                | Call::GetIdempotent
                | Call::Query
                | Call::UpdateIdempotent
                | Call::QueryUpdateIdempotent
                | Call::RawSelectIdempotent
                | Call::RawUpdateIdempotent
        )
    }

    fn writes(self) -> bool {
        matches!(
            self,
            Call::Update
                | Call::UpdateIdempotent
                | Call::QueryUpdate
                | Call::QueryUpdateIdempotent
                | Call::RawUpdate
                | Call::RawUpdateIdempotent
        )
    }

    /// Runs the call on `row`: a read checks what it got, a write sets the
    /// row's score to `score`.
    async fn run(self, db: &orm::Database, row: &Customer, score: i32) -> orm::Result<()> {
        let id = row.customer_id;
        let mut changed = row.clone();
        changed.score = score;
        let by_key = || Customer::query().filter(customer::customer_id.eq(id));
        let raw_select = || {
            orm::raw(format!(
                "SELECT name FROM customers WHERE customer_id = {}",
                p(1)
            ))
            .bind(id)
        };
        let raw_update = || {
            orm::raw(format!(
                "UPDATE customers SET score = {} WHERE customer_id = {}",
                p(1),
                p(2)
            ))
            .bind(score)
            .bind(id)
        };
        match self {
            Call::Get => assert_eq!(Customer::get(db, id).await?.name, row.name),
            Call::GetIdempotent => {
                assert_eq!(Customer::get(db.idempotent(), id).await?.name, row.name)
            }
            Call::Query => {
                let rows = by_key().all(db).await?;
                let names: Vec<&str> = rows.iter().map(|c| c.name.as_str()).collect();
                assert_eq!(names, [row.name.as_str()]);
            }
            Call::Update => changed.update(db).await?,
            Call::UpdateIdempotent => changed.update(db.idempotent()).await?,
            Call::QueryUpdate => {
                assert_eq!(
                    by_key()
                        .update()
                        .set(customer::score, score)
                        .execute(db)
                        .await?,
                    1
                )
            }
            Call::QueryUpdateIdempotent => assert_eq!(
                by_key()
                    .update()
                    .set(customer::score, score)
                    .execute(db.idempotent())
                    .await?,
                1
            ),
            Call::RawSelect => {
                let (name,): (String,) = raw_select().fetch_one(db.connection("db")?).await?;
                assert_eq!(name, row.name);
            }
            Call::RawSelectIdempotent => {
                let (name,): (String,) = raw_select()
                    .fetch_one(db.connection("db")?.idempotent())
                    .await?;
                assert_eq!(name, row.name);
            }
            Call::RawUpdate => assert_eq!(
                raw_update()
                    .execute(db.connection("db")?)
                    .await?
                    .rows_affected,
                1
            ),
            Call::RawUpdateIdempotent => assert_eq!(
                raw_update()
                    .execute(db.connection("db")?.idempotent())
                    .await?
                    .rows_affected,
                1
            ),
        }
        Ok(())
    }
}

/// Runs `call` on customer `a` while the table is locked, and checks it as
/// a user would. A call that may be retried succeeds once the lock is
/// released after its first attempt, each of its failed attempts counted as
/// a retry, and its write is stored. Any other fails with the
/// `LockTimeout` of its single attempt, and its write is not stored (not
/// later either: `stored` is checked after the lock is gone).
async fn under_a_table_lock(
    s: &Setup,
    db: &orm::Database,
    call: Call,
    score: i32,
    stored: &mut i32,
) {
    let lock = TableLock::take(&s.t).await;
    let before = db.metrics("db").unwrap();
    if call.retried() {
        let release = lock.release_after_first_failure(db, &before);
        let result = within(&format!("{call:?}"), call.run(db, &s.a, score)).await;
        release.await.unwrap();
        result.unwrap_or_else(|e| {
            panic!("{call:?} was not retried after the lock was released: {e:?}")
        });
        let (errors, retries) = since(db, &before);
        assert!(
            errors >= 1 && retries == errors,
            "{call:?}: every failed attempt ({errors}) is retried and counted: {retries} retries"
        );
        if call.writes() {
            *stored = score;
        }
    } else {
        let result = within(&format!("{call:?}"), call.run(db, &s.a, score)).await;
        let counted = since(db, &before);
        lock.release().await;
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::LockTimeout { connection, .. } if connection == "db"),
            "{call:?}: {err:?}"
        );
        assert!(err.is_transient(), "{err:?}");
        assert_eq!(
            counted,
            (1, 0),
            "{call:?}: one attempt, no retry (errors, retries)"
        );
    }
    assert_eq!(
        score_of(&s.t, s.a.customer_id).await,
        *stored,
        "{call:?}: the score stored"
    );
}

#[tokio::test]
async fn a_read_that_meets_a_lock_timeout_is_retried_until_the_lock_is_gone() {
    let Some(s) = setup().await else { return };
    let plain = database(&s.t, RetryPolicy::none()).await;
    let db = database(&s.t, patient()).await;

    // Without a policy (the default) the read fails: the lock is real.
    let lock = TableLock::take(&s.t).await;
    let before = plain.metrics("db").unwrap();
    let err = within("the read", Customer::get(&plain, s.a.customer_id))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::LockTimeout { connection, .. } if connection == "db"),
        "{err:?}"
    );
    assert_eq!(
        since(&plain, &before),
        (1, 0),
        "one attempt (errors, retries)"
    );
    lock.release().await;

    let mut stored = 0;
    for call in [Call::Get, Call::GetIdempotent, Call::Query] {
        under_a_table_lock(&s, &db, call, 0, &mut stored).await;
    }
}

#[tokio::test]
async fn a_write_that_meets_a_lock_timeout_is_retried_only_when_marked_idempotent() {
    let Some(s) = setup().await else { return };
    let db = database(&s.t, patient()).await;
    let mut stored = 0;
    for (score, call) in [
        Call::Update,
        Call::UpdateIdempotent,
        Call::QueryUpdate,
        Call::QueryUpdateIdempotent,
    ]
    .into_iter()
    .enumerate()
    {
        under_a_table_lock(&s, &db, call, 11 + score as i32, &mut stored).await;
    }
    assert_eq!(stored, 14, "the last idempotent write is stored");
}

#[tokio::test]
async fn raw_sql_is_retried_only_when_marked_idempotent() {
    let Some(s) = setup().await else { return };
    let db = database(&s.t, patient()).await;
    let mut stored = 0;
    for (score, call) in [
        Call::RawSelect,
        Call::RawSelectIdempotent,
        Call::RawUpdate,
        Call::RawUpdateIdempotent,
    ]
    .into_iter()
    .enumerate()
    {
        under_a_table_lock(&s, &db, call, 21 + score as i32, &mut stored).await;
    }
    assert_eq!(stored, 24, "the idempotent raw update is stored");
}

#[tokio::test]
async fn after_a_lost_connection_reads_and_idempotent_writes_run_again_on_a_new_one() {
    if not_on(&[Kind::Sqlite], "no server sessions to kill") {
        return;
    }
    let Some(s) = setup().await else { return };
    let db = database_with(
        &s.t,
        PoolOptions::new()
            .max_connections(1)
            .retry(RetryPolicy::new().max_attempts(3)),
    )
    .await;
    let mut admin = Direct::connect(&s.t).await;
    let mut stored = 0;
    for (i, call) in Call::ALL.into_iter().enumerate() {
        let score = 30 + i as i32;
        // pg_terminate_backend, KILL CONNECTION: the pool's one session is
        // gone, which the next statement finds out.
        let killed = session_id(&db).await;
        admin.kill_session(killed).await;
        let before = db.metrics("db").unwrap();
        let result = within(&format!("{call:?}"), call.run(&db, &s.a, score)).await;
        if call.retried() {
            result
                .unwrap_or_else(|e| panic!("{call:?} was not retried on a new connection: {e:?}"));
            assert_eq!(
                since(&db, &before),
                (1, 1),
                "{call:?}: one failed attempt, one retry (errors, retries)"
            );
            assert_ne!(session_id(&db).await, killed, "{call:?}: a new session");
            if call.writes() {
                stored = score;
            }
        } else {
            let err = result.unwrap_err();
            assert!(
                matches!(&err, Error::ConnectionLost { connection, .. } if connection == "db"),
                "{call:?}: {err:?}"
            );
            assert_eq!(
                since(&db, &before),
                (1, 0),
                "{call:?}: one attempt, no retry (errors, retries)"
            );
        }
        assert_eq!(
            score_of(&s.t, s.a.customer_id).await,
            stored,
            "{call:?}: the score stored"
        );
    }
}

#[tokio::test]
async fn nothing_is_retried_inside_a_transaction() {
    let Some(s) = setup().await else { return };
    let a = s.a.customer_id;
    // The connection has a policy: outside a transaction, these would be retried.
    let db = database(&s.t, patient()).await;

    let mut tx = db.begin().await.unwrap();
    let mut sp = tx.savepoint().await.unwrap();
    let lock = TableLock::take(&s.t).await;
    let before = db.metrics("db").unwrap();
    let err = within("a read in a savepoint", Customer::get(&mut sp, a))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err:?}");
    assert_eq!(
        since(&db, &before),
        (1, 0),
        "one attempt, no retry (errors, retries)"
    );
    drop(sp);
    let before = db.metrics("db").unwrap();
    let err = within("a write in the transaction", set_score(&mut tx, a, 5))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err:?}");
    assert_eq!(
        since(&db, &before),
        (1, 0),
        "one attempt, no retry (errors, retries)"
    );
    // Rolled back explicitly, so that the pool's one session (whose short
    // table lock wait the MySQL test set) is the one the closure gets.
    tx.rollback().await.unwrap();

    // In the closure form too, a statement is not retried on its own: only
    // the whole transaction is, under the transaction's policy (none here).
    let before = db.metrics("db").unwrap();
    let mut runs = 0;
    let err = within(
        "a closure transaction",
        db.transaction_with(
            TransactionOptions::new().retry(RetryPolicy::none()),
            async |tx| {
                runs += 1;
                set_score(&mut *tx, a, 6).await
            },
        ),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err:?}");
    assert_eq!(runs, 1);
    assert_eq!(
        since(&db, &before),
        (1, 0),
        "one attempt, no retry (errors, retries)"
    );
    lock.release().await;
    assert_eq!(score_of(&s.t, a).await, 0, "nothing was written");
}

#[tokio::test]
async fn a_transaction_whose_connection_is_lost_is_not_continued_on_another() {
    if not_on(&[Kind::Sqlite], "no server sessions to kill") {
        return;
    }
    let Some(s) = setup().await else { return };
    let db = transaction_db(&s.t, patient()).await;
    let count = s.t.direct_count("customers").await.unwrap();
    let mut tx = db.begin().await.unwrap();
    Customer::new("c@x.org", "C", 7)
        .insert(&mut tx)
        .await
        .unwrap();
    let (killed,): (i64,) = orm::raw(session_sql()).fetch_one(&mut tx).await.unwrap();
    Direct::connect(&s.t).await.kill_session(killed).await;
    let before = db.metrics("db").unwrap();
    let err = within("a read in the transaction", Customer::count(&mut tx))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ConnectionLost { .. }), "{err:?}");
    assert_eq!(
        since(&db, &before),
        (1, 0),
        "one attempt, no retry (errors, retries)"
    );
    let commit = within("the commit", tx.commit()).await;
    assert!(
        commit.is_err(),
        "a transaction whose connection was lost cannot commit: {commit:?}"
    );
    assert_eq!(
        s.t.direct_count("customers").await,
        Some(count),
        "its insert is not stored"
    );
}

/// SQLite: write-ahead logging, in which a transaction that read keeps its
/// snapshot and cannot write once another connection has committed
/// (`SQLITE_BUSY_SNAPSHOT`). Set once per database file, before the
/// databases of the test are opened.
async fn snapshot_isolation(s: &Setup) {
    if crate::KIND == Kind::Sqlite {
        let (mode,): (String,) = orm::raw("PRAGMA journal_mode = WAL")
            .fetch_one(s.t.db.connection("db").unwrap())
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }
}

/// Runs on `db`, under `options`, the transaction "read `a`, then set the
/// scores of `a` and `b` to `a`'s plus one", and returns its result and the
/// attempt number each run saw. On its first run only, a concurrent
/// transaction gets in its way, so that this run fails with the backend's
/// transient error, and leaves `a` at 100:
/// - PostgreSQL (SERIALIZABLE) and SQLite (WAL): another connection sets
///   `a` to 100 and commits between the read and the write:
///   `SerializationFailure` (SQLSTATE 40001; `SQLITE_BUSY_SNAPSHOT`).
/// - MySQL/MariaDB: the read locks `a` (`for_update`); a rival adds 100 to
///   every other customer, then waits for `a` while this transaction waits
///   for `b`: `Deadlock` (1213), this transaction (which changed fewer rows)
///   chosen as the victim; the rival then adds 100 to `a` and commits.
async fn conflicting_transaction(
    s: &Setup,
    db: &orm::Database,
    options: TransactionOptions,
) -> (orm::Result<i32>, Vec<u32>) {
    let (a, b) = (s.a.customer_id, s.b.customer_id);
    let options = match crate::KIND {
        Kind::Postgres => options.isolation(IsolationLevel::Serializable),
        _ => options,
    };
    let mut attempts = Vec::new();
    let mut rival = None;
    let result = within(
        "the transaction",
        db.transaction_with(options, async |tx| {
            attempts.push(tx.attempt());
            let current = match crate::KIND {
                Kind::MySql => {
                    Customer::query()
                        .filter(customer::customer_id.eq(a))
                        .for_update()
                        .one(&mut *tx)
                        .await?
                        .score
                }
                _ => Customer::get(&mut *tx, a).await?.score,
            };
            if tx.attempt() == 1 {
                if crate::KIND == Kind::MySql {
                    let (me,): (i64,) = orm::raw(session_sql()).fetch_one(&mut *tx).await?;
                    let (locked, others_locked) = tokio::sync::oneshot::channel();
                    rival = Some(tokio::spawn(mysql_rival(s.t.url.clone(), a, me, locked)));
                    others_locked.await.unwrap();
                } else {
                    set_score(&s.t.db, a, 100).await.unwrap();
                }
            }
            set_score(&mut *tx, a, current + 1).await?;
            set_score(&mut *tx, b, current + 1).await?;
            Ok::<_, Error>(current + 1)
        }),
    )
    .await;
    if let Some(rival) = rival {
        within("the rival transaction", rival).await.unwrap();
    }
    (result, attempts)
}

/// MySQL/MariaDB: the rival of [`conflicting_transaction`]. It adds 100 to
/// every customer after `a` (more rows than its victim will have changed),
/// says so, waits (a while at most) until session `victim` waits for one of
/// those rows, then asks for `a`, closing the cycle, and commits once the
/// server has rolled the victim back.
async fn mysql_rival(url: String, a: i64, victim: i64, locked: tokio::sync::oneshot::Sender<()>) {
    use sqlx::Connection;
    let mut c = sqlx::MySqlConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN").execute(&mut c).await.unwrap();
    // `>`: under REPEATABLE READ the scan of `<>` would lock `a` too.
    sqlx::query("UPDATE customers SET score = score + 100 WHERE customer_id > ?")
        .bind(a)
        .execute(&mut c)
        .await
        .unwrap();
    locked.send(()).unwrap();
    // Either order closes the cycle, and the victim is the transaction that
    // changed fewer rows; waiting for the victim first makes this side the
    // one whose request the server finds the deadlock with. MariaDB
    // refreshes `INNODB_TRX` only when it was not read for 100 ms: poll
    // slower than that.
    for _ in 0..20 {
        tokio::time::sleep(ms(150)).await;
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT'",
        )
        .bind(victim)
        .fetch_one(&mut c)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
    }
    sqlx::query("UPDATE customers SET score = score + 100 WHERE customer_id = ?")
        .bind(a)
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::raw_sql("COMMIT").execute(&mut c).await.unwrap();
}

/// Sets the scores of `a` and `b` back to 0.
async fn reset_scores(s: &Setup) {
    set_score(&s.t.db, s.a.customer_id, 0).await.unwrap();
    set_score(&s.t.db, s.b.customer_id, 0).await.unwrap();
}

#[tokio::test]
async fn a_transaction_that_meets_a_conflict_runs_again_whole_under_its_retry_policy() {
    let Some(s) = setup().await else { return };
    snapshot_isolation(&s).await;
    let policy = RetryPolicy::new().max_attempts(3).initial_backoff(ms(20));
    let bare = transaction_db(&s.t, RetryPolicy::none()).await;
    let with_policy = transaction_db(&s.t, policy).await;
    for (db, options, what) in [
        (
            &bare,
            TransactionOptions::new().retry(policy),
            "TransactionOptions::retry",
        ),
        // The connection's policy is every transaction's default.
        (
            &with_policy,
            TransactionOptions::new(),
            "PoolOptions::retry",
        ),
    ] {
        reset_scores(&s).await;
        let before = db.metrics("db").unwrap();
        let (result, attempts) = conflicting_transaction(&s, db, options).await;
        assert_eq!(
            result.unwrap(),
            101,
            "{what}: the second run read the concurrent write"
        );
        assert_eq!(attempts, [1, 2], "{what}: run again once, and it knew");
        assert_eq!(
            db.metrics("db").unwrap().retries - before.retries,
            1,
            "{what}: one retry counted"
        );
        assert_eq!(
            (
                score_of(&s.t, s.a.customer_id).await,
                score_of(&s.t, s.b.customer_id).await
            ),
            (101, 101),
            "{what}: the second run's writes, over the concurrent one"
        );
    }
}

#[tokio::test]
async fn a_transaction_that_meets_a_conflict_is_not_run_again_without_a_retry_policy() {
    let Some(s) = setup().await else { return };
    snapshot_isolation(&s).await;
    let bare = transaction_db(&s.t, RetryPolicy::none()).await;
    let with_policy = transaction_db(&s.t, RetryPolicy::new().max_attempts(3)).await;
    for (db, options, what) in [
        (
            &bare,
            TransactionOptions::new(),
            "no policy anywhere (the default)",
        ),
        (
            &with_policy,
            TransactionOptions::new().retry(RetryPolicy::none()),
            "RetryPolicy::none() for the transaction",
        ),
    ] {
        reset_scores(&s).await;
        let before = db.metrics("db").unwrap();
        let (result, attempts) = conflicting_transaction(&s, db, options).await;
        let err = result.unwrap_err();
        match crate::KIND {
            Kind::MySql => assert!(matches!(err, Error::Deadlock { .. }), "{what}: {err:?}"),
            _ => assert!(
                matches!(err, Error::SerializationFailure { .. }),
                "{what}: {err:?}"
            ),
        }
        assert_eq!(attempts, [1], "{what}: run once");
        assert_eq!(
            db.metrics("db").unwrap().retries - before.retries,
            0,
            "{what}: no retry counted"
        );
        assert_eq!(
            score_of(&s.t, s.a.customer_id).await,
            100,
            "{what}: only the concurrent write is stored"
        );
        assert_ne!(
            score_of(&s.t, s.b.customer_id).await,
            1,
            "{what}: nothing of the failed run is stored"
        );
    }
}

#[tokio::test]
async fn a_closure_transaction_that_meets_a_lock_timeout_runs_again_whole() {
    let Some(s) = setup().await else { return };
    let a = s.a.customer_id;
    let db = database(&s.t, patient()).await;
    let lock = TableLock::take(&s.t).await;
    let before = db.metrics("db").unwrap();
    let release = lock.release_after_first_failure(&db, &before);
    let mut attempts = Vec::new();
    let result = within(
        "the transaction",
        db.transaction(async |tx| {
            attempts.push(tx.attempt());
            let current = Customer::get(&mut *tx, a).await?.score;
            set_score(&mut *tx, a, current + 1).await?;
            Ok::<_, Error>(current + 1)
        }),
    )
    .await;
    release.await.unwrap();
    assert_eq!(result.unwrap(), 1);
    let runs = attempts.len() as u32;
    assert!(runs >= 2, "run again after the lock timeout: {attempts:?}");
    assert_eq!(
        attempts,
        (1..=runs).collect::<Vec<_>>(),
        "each run knew its number"
    );
    let (errors, retries) = since(&db, &before);
    assert_eq!(
        (errors, retries),
        (u64::from(runs) - 1, u64::from(runs) - 1),
        "one failed statement per failed run, each run again (errors, retries)"
    );
    assert_eq!(score_of(&s.t, a).await, 1, "the last run's write, once");
}

#[tokio::test]
async fn errors_that_are_not_transient_are_never_retried() {
    let Some(s) = setup().await else { return };
    let a = s.a.customer_id;
    let db = transaction_db(&s.t, patient()).await;

    // A unique violation inside a transaction.
    let before = db.metrics("db").unwrap();
    let mut attempts = Vec::new();
    let err = db
        .transaction(async |tx| {
            attempts.push(tx.attempt());
            Customer::new("a@x.org", "A again", 1)
                .insert(&mut *tx)
                .await
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    assert!(!err.is_transient());
    assert_eq!(attempts, [1]);
    assert_eq!(since(&db, &before), (1, 0), "(errors, retries)");

    // An error of the application's own.
    #[derive(Debug)]
    enum Refusal {
        Database(Error),
        OutOfStock,
    }
    impl From<Error> for Refusal {
        fn from(e: Error) -> Self {
            Refusal::Database(e)
        }
    }
    let before = db.metrics("db").unwrap();
    let mut attempts = Vec::new();
    let refusal = db
        .transaction(async |tx| {
            attempts.push(tx.attempt());
            set_score(&mut *tx, a, 9).await?;
            Err::<(), _>(Refusal::OutOfStock)
        })
        .await
        .unwrap_err();
    match refusal {
        Refusal::OutOfStock => {}
        Refusal::Database(e) => panic!("the database failed, not the application: {e:?}"),
    }
    assert_eq!(attempts, [1]);
    assert_eq!(since(&db, &before), (0, 0), "(errors, retries)");
    assert_eq!(score_of(&s.t, a).await, 0, "rolled back");

    // A write marked idempotent, outside a transaction.
    let before = db.metrics("db").unwrap();
    let err = Customer::new("a@x.org", "A again", 1)
        .insert(db.idempotent())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    assert_eq!(since(&db, &before), (1, 0), "(errors, retries)");
    assert_eq!(s.t.direct_count("customers").await, Some(22));
}

/// Reads `a` on `db` while the table is locked: it fails with
/// `LockTimeout` after `attempts` attempts, each a failed statement, all
/// but the first a retry. Returns how long it took.
async fn failing_read(db: &orm::Database, a: i64, attempts: u64) -> Duration {
    let before = db.metrics("db").unwrap();
    let started = Instant::now();
    let err = within("the read", Customer::get(db, a)).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err:?}");
    assert_eq!(
        since(db, &before),
        (attempts, attempts - 1),
        "{attempts} attempts (errors, retries)"
    );
    took
}

#[tokio::test]
async fn pauses_between_attempts_double_from_the_initial_backoff_up_to_the_maximum() {
    let Some(s) = setup().await else { return };
    let a = s.a.customer_id;
    let once = database(&s.t, RetryPolicy::none()).await;
    let doubling = database(
        &s.t,
        RetryPolicy::new()
            .max_attempts(3)
            .initial_backoff(ms(50))
            .max_backoff(Duration::from_secs(1)),
    )
    .await;
    let capped = database(
        &s.t,
        RetryPolicy::new()
            .max_attempts(5)
            .initial_backoff(ms(100))
            .max_backoff(ms(100)),
    )
    .await;
    let lock = TableLock::take(&s.t).await;

    // What one failed attempt costs here and now (the lock wait, mostly).
    let attempt = failing_read(&once, a, 1).await;

    // Pauses of 50 then 100 ms, each plus a jitter of up to as much again.
    let took = failing_read(&doubling, a, 3).await;
    assert!(
        took >= ms(150),
        "{took:?}: the pauses alone are 50 + 100 ms at least"
    );
    assert!(
        took <= attempt * 3 + ms(300) + SLACK,
        "{took:?}: 3 attempts of about {attempt:?} and at most 300 ms of pauses"
    );

    // Four pauses of 100 ms (plus jitter), not 100, 200, 400, 800 ms.
    let took = failing_read(&capped, a, 5).await;
    assert!(
        took >= ms(400),
        "{took:?}: the pauses alone are 4 x 100 ms at least"
    );
    assert!(
        took < attempt * 5 + ms(1500),
        "{took:?}: 5 attempts of about {attempt:?} and at most 800 ms of pauses; without the maximum they would be 1500 ms at least"
    );
    lock.release().await;
}

#[tokio::test]
async fn after_the_last_attempt_its_own_error_is_returned() {
    let Some(s) = setup().await else { return };
    let a = s.a.customer_id;
    // Pauses of 300 ms and then 600 ms at least: time for the test to
    // change the cause of the failure before the third attempt.
    let db = database(
        &s.t,
        RetryPolicy::new()
            .max_attempts(3)
            .initial_backoff(ms(300))
            .max_backoff(Duration::from_secs(2)),
    )
    .await;
    let session = if crate::KIND == Kind::Sqlite {
        0
    } else {
        session_id(&db).await
    };
    let mut admin = Direct::connect(&s.t).await;
    let lock = TableLock::take(&s.t).await;
    let before = db.metrics("db").unwrap();
    let change = {
        let db = db.clone();
        let before = before.clone();
        tokio::spawn(async move {
            failures(&db, &before, 2).await;
            if crate::KIND == Kind::Sqlite {
                // The table is gone when the lock is.
                let mut lock = lock;
                lock.0.execute("DROP TABLE customers").await;
                lock.release().await;
            } else {
                // The session is gone.
                admin.kill_session(session).await;
                lock.release().await;
            }
        })
    };
    let err = within("the read", Customer::get(&db, a)).await.unwrap_err();
    change.await.unwrap();
    // Two lock timeouts, then the third attempt's error.
    match crate::KIND {
        Kind::Sqlite => assert!(
            matches!(&err, Error::Query { .. }) && err.to_string().contains("no such table"),
            "{err:?}"
        ),
        _ => assert!(matches!(err, Error::ConnectionLost { .. }), "{err:?}"),
    }
    assert_eq!(since(&db, &before), (3, 2), "3 attempts (errors, retries)");
}

#[tokio::test]
async fn a_read_that_gets_no_pooled_connection_in_time_is_retried() {
    let Some(s) = setup().await else { return };
    let a = s.a.customer_id;
    let options = || {
        PoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ms(100))
    };
    let plain = database_with(&s.t, options()).await;
    let db = database_with(&s.t, options().retry(patient())).await;

    // Without a policy: the pool timeout.
    let holder = plain.begin().await.unwrap();
    let err = within("the read", Customer::get(&plain, a))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PoolTimeout { .. }), "{err:?}");
    assert!(err.is_transient());
    drop(holder);

    // With one, the read waits out the transaction that holds the only connection.
    let holder = db.begin().await.unwrap();
    let before = db.metrics("db").unwrap();
    let release = {
        let db = db.clone();
        tokio::spawn(async move {
            while db.metrics("db").unwrap().timeouts == before.timeouts {
                tokio::time::sleep(ms(2)).await;
            }
            holder.commit().await.unwrap();
        })
    };
    let result = within("the read", Customer::get(&db, a)).await;
    release.await.unwrap();
    let customer =
        result.unwrap_or_else(|e| panic!("a read that met a pool timeout was not retried: {e:?}"));
    assert_eq!(customer.name, "A");
}

#[tokio::test]
async fn a_transaction_that_gets_no_pooled_connection_in_time_is_retried() {
    let Some(s) = setup().await else { return };
    let a = s.a.customer_id;
    let db = database_with(
        &s.t,
        PoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ms(100))
            .retry(patient()),
    )
    .await;
    let holder = db.begin().await.unwrap();
    let before = db.metrics("db").unwrap();
    let release = {
        let db = db.clone();
        let before = before.clone();
        tokio::spawn(async move {
            while db.metrics("db").unwrap().timeouts == before.timeouts {
                tokio::time::sleep(ms(2)).await;
            }
            holder.commit().await.unwrap();
        })
    };
    let mut attempts = Vec::new();
    let result = within(
        "the transaction",
        db.transaction(async |tx| {
            attempts.push(tx.attempt());
            Customer::get(&mut *tx, a).await
        }),
    )
    .await;
    release.await.unwrap();
    assert_eq!(result.unwrap().name, "A");
    // `begin` timed out one or more times; the closure ran once, knowing it.
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    let retries = db.metrics("db").unwrap().retries - before.retries;
    assert!(
        retries >= 1 && attempts[0] == retries as u32 + 1,
        "{attempts:?} after {retries} retries"
    );
}

#[tokio::test]
async fn a_stale_statement_is_prepared_again_once_without_a_retry_policy() {
    let Some(s) = setup().await else { return };
    let a = s.a.customer_id;
    let db = database(&s.t, RetryPolicy::none()).await;
    // The pool's one session prepares both statements.
    assert_eq!(Customer::get(&db, a).await.unwrap().name, "A");
    Customer::new("s1@x.org", "S1", 1)
        .insert(&db)
        .await
        .unwrap();
    // Another process changes the type of a selected column. PostgreSQL
    // then refuses the prepared statements ("cached plan must not change
    // result type"); the others prepare them again by themselves.
    let alter = match crate::KIND {
        Kind::Postgres => "ALTER TABLE customers ALTER COLUMN name TYPE VARCHAR(300)",
        Kind::MySql => "ALTER TABLE customers MODIFY name VARCHAR(300) NOT NULL",
        Kind::Sqlite => "ALTER TABLE customers ADD COLUMN extra INTEGER",
    };
    s.t.direct_execute(alter).await;
    let before = db.metrics("db").unwrap();
    assert_eq!(Customer::get(&db, a).await.unwrap().name, "A");
    // A write not marked idempotent: it never ran, so it may be sent again.
    Customer::new("s2@x.org", "S2", 2)
        .insert(&db)
        .await
        .unwrap();
    assert_eq!(
        db.metrics("db").unwrap().retries,
        before.retries,
        "preparing again is not a retry"
    );
    assert_eq!(
        s.t.direct_count("customers").await,
        Some(24),
        "each insert stored once"
    );
}

#[tokio::test]
async fn the_retry_policy_comes_from_the_environment() {
    let Some(s) = setup().await else { return };
    let a = s.a.customer_id;
    let url = s.t.url.clone();
    // Every connection this test program's models use, on the test database.
    let vars = |extra: &[(&str, &str)]| {
        let mut v: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), url.clone()),
            ("DATABASE_ESSENTIALS_URL".into(), url.clone()),
            ("DATABASE_LEGACY_URL".into(), url.clone()),
            ("DATABASE_MAX_CONNECTIONS".into(), "1".into()),
            ("DATABASE_LOCK_TIMEOUT".into(), "0.05".into()),
        ];
        v.extend(
            extra
                .iter()
                .map(|(k, val)| (k.to_string(), val.to_string())),
        );
        move |name: &str| {
            v.iter()
                .find(|(k, _)| k == name)
                .map(|(_, val)| val.clone())
        }
    };

    // Bad values are refused before anything connects, naming the variable.
    for (variable, value, connection) in [
        ("DATABASE_RETRY_ATTEMPTS", "0", "db"),
        ("DATABASE_RETRY_ATTEMPTS", "three", "db"),
        ("DATABASE_RETRY_ATTEMPTS", "-1", "db"),
        ("DATABASE_RETRY_BACKOFF", "fast", "db"),
        ("DATABASE_RETRY_BACKOFF", "-0.5", "db"),
        ("DATABASE_RETRY_MAX_BACKOFF", "soon", "db"),
        ("DATABASE_ESSENTIALS_RETRY_ATTEMPTS", "2.5", "essentials"),
    ] {
        let err = orm::Database::from_env_with(vars(&[(variable, value)]))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidConfig { connection: c, variable: var, value: val, .. }
                if c == connection && var == variable && val == value),
            "{variable}={value}: {err:?}"
        );
        assert!(err.to_string().contains(variable), "{err}");
    }

    if not_on(
        &[Kind::Sqlite],
        "this test program has a Decimal model on \"db\", which SQLite cannot hold, so `from_env` refuses the configuration",
    ) {
        return;
    }
    let from_env = |extra: &'static [(&'static str, &'static str)]| {
        let lookup = vars(extra);
        async move {
            let db = orm::Database::from_env_with(lookup).await.unwrap();
            short_table_lock_wait(&db).await;
            db
        }
    };
    let none = from_env(&[]).await;
    let two = from_env(&[("DATABASE_RETRY_ATTEMPTS", "2")]).await;
    let five = from_env(&[
        ("DATABASE_RETRY_ATTEMPTS", "5"),
        ("DATABASE_RETRY_BACKOFF", "0.1"),
        ("DATABASE_RETRY_MAX_BACKOFF", "0.1"),
    ])
    .await;
    let lock = TableLock::take(&s.t).await;
    let attempt = failing_read(&none, a, 1).await;
    failing_read(&two, a, 2).await;
    // Four pauses of 100 ms (plus jitter), not 100, 200, 400, 800 ms.
    let took = failing_read(&five, a, 5).await;
    assert!(
        took >= ms(400),
        "{took:?}: the pauses alone are 4 x 100 ms at least"
    );
    assert!(
        took < attempt * 5 + ms(1500),
        "{took:?}: 5 attempts of about {attempt:?} and at most 800 ms of pauses; without the maximum they would be 1500 ms at least"
    );
    lock.release().await;
}

// Found while testing retries: a transaction dropped without commit or
// rollback gives its pool permit back at once, while a background task
// still rolls its connection back and then returns it to the pool. On a
// pool of one, the next caller opens a second connection meanwhile (here
// the closure transaction of `nothing_is_retried_inside_a_transaction` got
// a new MySQL session, without the session's settings, until that test
// rolled back explicitly).

#[tokio::test]
async fn a_transaction_dropped_on_a_pool_of_one_never_makes_it_two_connections() {
    let Some(s) = setup().await else { return };
    let db = database_with(&s.t, PoolOptions::new().max_connections(1)).await;
    let mut tx = db.begin().await.unwrap();
    set_score(&mut tx, s.a.customer_id, 1).await.unwrap();
    drop(tx);
    // The next caller waits for the one connection, rolled back first.
    let mut tx = db.begin().await.unwrap();
    let during = db.metrics("db").unwrap();
    assert_eq!(
        score_of_in(&mut tx, s.a.customer_id).await,
        0,
        "rolled back"
    );
    tx.commit().await.unwrap();
    tokio::time::sleep(ms(200)).await;
    let after = db.metrics("db").unwrap();
    assert!(
        during.size <= 1 && after.size <= 1,
        "max_connections(1), yet {} connections open while the second transaction ran ({during:?}) and {} after ({after:?})",
        during.size,
        after.size
    );
}

/// The score of customer `id`, read in `tx`.
async fn score_of_in(tx: &mut orm::Transaction, id: i64) -> i32 {
    Customer::get(tx, id).await.unwrap().score
}
