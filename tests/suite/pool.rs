// The pool: a statement cancelled mid-flight closes its connection instead of
// handing it on; waiting past the acquire timeout is a typed error that says
// why, also against a server that accepts connections and never answers (a
// proxy of the test's own, `orm_tests::proxy`); the gauges (size, idle,
// in_use, waiting) stay exact whatever is cancelled; min_connections are
// opened and kept, idle and old connections are closed in the background;
// connections held too long are reported; every connection has the pool's
// statement and lock timeouts. Each connection is told apart by a temporary
// table, which lives and dies with its connection; on PostgreSQL and MySQL
// the server's own list of sessions is checked too, not only the counters.

use std::time::Duration;

use orm::prelude::*;
use orm::{Error, PoolOptions};
use orm_tests::models::Customer;

async fn pool(options: PoolOptions) -> Option<(orm_tests::TestDb, orm::Database)> {
    let t = crate::db().await?;
    let db = orm::Database::builder()
        .connection_with("db", &t.url, options)
        .build()
        .await
        .unwrap();
    Some((t, db))
}

/// A statement that runs for about a second on each backend.
fn slow_sql() -> &'static str {
    match crate::KIND {
        orm_tests::Kind::Postgres => "SELECT pg_sleep(1)",
        orm_tests::Kind::MySql => "SELECT SLEEP(1)",
        orm_tests::Kind::Sqlite => {
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) SELECT COUNT(*) FROM c"
        }
    }
}

async fn mark_connection(db: &orm::Database) {
    orm::raw("CREATE TEMPORARY TABLE marker (x INTEGER)")
        .execute(db.connection("db").unwrap())
        .await
        .unwrap();
}

async fn marked(db: &orm::Database) -> bool {
    orm::raw("SELECT COUNT(*) FROM marker")
        .fetch_one::<(i64,)>(db.connection("db").unwrap())
        .await
        .is_ok()
}

#[tokio::test]
async fn a_statement_cancelled_mid_flight_closes_its_connection() {
    let Some((_t, db)) = pool(PoolOptions::new().max_connections(1)).await else { return };
    mark_connection(&db).await;
    assert!(marked(&db).await);
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        orm::raw(slow_sql()).execute(db.connection("db").unwrap()),
    )
    .await;
    assert!(cancelled.is_err(), "the statement should still be running");
    // Its statement is cancelled on the server in the background; until
    // then it still counts (open, and against the maximum).
    let m = eventually(Duration::from_secs(5), || async { db.metrics("db").unwrap() }, |m| (m.size, m.in_use) == (0, 0)).await;
    assert_eq!((m.size, m.in_use), (0, 0), "the busy connection was closed, not returned: {m:?}");
    // The next caller gets a fresh connection (no marker) that works.
    assert!(!marked(&db).await);
    let sql = match crate::KIND {
        orm_tests::Kind::Postgres => "SELECT CAST(42 AS BIGINT)",
        _ => "SELECT 42",
    };
    let (n,): (i64,) = orm::raw(sql).fetch_one(db.connection("db").unwrap()).await.unwrap();
    assert_eq!(n, 42);
}

#[tokio::test]
async fn waiting_past_the_acquire_timeout_is_a_typed_error() {
    let options = PoolOptions::new().max_connections(1).acquire_timeout(Duration::from_millis(100));
    let Some((_t, db)) = pool(options).await else { return };
    let tx = db.begin().await.unwrap();
    let started = std::time::Instant::now();
    let err = orm::raw("SELECT 1").execute(db.connection("db").unwrap()).await.unwrap_err();
    assert!(matches!(&err, Error::PoolTimeout { connection, .. } if connection == "db"), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(db.metrics("db").unwrap().timeouts, 1);
    drop(tx);
    orm::raw("SELECT 1").execute(db.connection("db").unwrap()).await.unwrap();
}

#[tokio::test]
async fn idle_connections_are_replaced_after_the_idle_timeout() {
    let options = PoolOptions::new().max_connections(1).idle_timeout(Some(Duration::from_millis(100)));
    let Some((_t, db)) = pool(options).await else { return };
    mark_connection(&db).await;
    assert!(marked(&db).await, "the same connection while it is used");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(!marked(&db).await, "a new connection after the idle timeout");
}

#[tokio::test]
async fn connections_are_replaced_after_their_lifetime() {
    let options = PoolOptions::new().max_connections(1).max_lifetime(Some(Duration::from_millis(150)));
    let Some((_t, db)) = pool(options).await else { return };
    mark_connection(&db).await;
    assert!(marked(&db).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!marked(&db).await);
}

#[tokio::test]
async fn many_tasks_share_a_small_pool() {
    let Some((_t, db)) = pool(PoolOptions::new().max_connections(3)).await else { return };
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64_i64 {
        let db = db.clone();
        tasks.spawn(async move {
            let (n,): (i64,) = orm::raw(match crate::KIND {
                orm_tests::Kind::Postgres => "SELECT $1::BIGINT * 2",
                _ => "SELECT ? * 2",
            })
            .bind(i)
            .fetch_one(db.connection("db").unwrap())
            .await
            .unwrap();
            assert_eq!(n, i * 2);
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let m = db.metrics("db").unwrap();
    assert!(m.size <= 3, "{m:?}");
    assert_eq!((m.in_use, m.waiting, m.timeouts, m.errors), (0, 0, 0, 0), "{m:?}");
}

// ---------------------------------------------------------------------------
// Shared helpers of the tests below.

/// A pool on the test database whose sessions the server can count
/// (`TestDb::server_sessions` with the returned tag); the test's own handle
/// is closed so that only this pool's connections are seen.
async fn watched_pool(options: PoolOptions) -> Option<(orm_tests::TestDb, orm::Database, String)> {
    let t = crate::db().await?;
    t.db.close();
    let tag = orm_tests::unique_name();
    let db = orm::Database::builder()
        .connection_with("db", &t.tagged_url(&tag), options)
        .build()
        .await
        .unwrap();
    Some((t, db, tag))
}

/// Probes every 20 ms until `done` holds of what `probe` gives or `limit`
/// passes; returns the last value either way, for the assertion.
async fn eventually<T, F>(limit: Duration, mut probe: impl FnMut() -> F, done: impl Fn(&T) -> bool) -> T
where
    F: std::future::Future<Output = T>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        let value = probe().await;
        if done(&value) || std::time::Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The gauges of the pool of "db": (size, idle, in_use, waiting).
fn gauges(db: &orm::Database) -> (u64, u64, u64, u64) {
    let m = db.metrics("db").unwrap();
    (m.size, m.idle, m.in_use, m.waiting)
}

/// Waits until the pool of "db" has `size` connections (all idle), the
/// maintenance task working in the background.
async fn wait_for_size(db: &orm::Database, size: u64, limit: Duration) {
    let seen = eventually(limit, || async { gauges(db) }, |g| *g == (size, size, 0, 0)).await;
    assert_eq!(seen, (size, size, 0, 0), "(size, idle, in_use, waiting) after {limit:?}");
}

/// Sessions the server has for `tag`, once they number `n` (or as they are
/// after 10 s); `None` on SQLite.
async fn server_sessions_once(t: &orm_tests::TestDb, tag: &str, n: usize) -> Option<Vec<i64>> {
    eventually(Duration::from_secs(10), || t.server_sessions(tag), |s| s.as_ref().is_none_or(|s| s.len() == n)).await
}

/// `n` transactions open at once, so that `n` connections are checked out.
async fn transactions(db: &orm::Database, n: usize) -> Vec<orm::Transaction<orm::DefaultConnection>> {
    let mut txs = Vec::new();
    for _ in 0..n {
        txs.push(db.begin().await.unwrap());
    }
    txs
}

async fn mark_in(tx: &mut orm::Transaction<orm::DefaultConnection>) {
    orm::raw("CREATE TEMPORARY TABLE marker (x INTEGER)").execute(&mut *tx).await.unwrap();
}

/// Whether the transaction's connection has the marker table; rolls the
/// transaction back (a failed statement aborts it on PostgreSQL).
async fn marked_then_rollback(mut tx: orm::Transaction<orm::DefaultConnection>) -> bool {
    let marked = orm::raw("SELECT COUNT(*) FROM marker").fetch_one::<(i64,)>(&mut tx).await.is_ok();
    tx.rollback().await.unwrap();
    marked
}

/// `n` connections of the pool at once: how many of them carry the marker.
async fn marked_connections(db: &orm::Database, n: usize) -> usize {
    let mut count = 0;
    for tx in transactions(db, n).await {
        count += usize::from(marked_then_rollback(tx).await);
    }
    count
}

/// Polls `future` once, then drops it; returns whether it had finished.
async fn poll_once<F: std::future::Future>(future: F) -> bool {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| std::task::Poll::Ready(future.as_mut().poll(cx).is_ready())).await
}

// ---------------------------------------------------------------------------
// A server that accepts connections and never answers.

/// Asserts `result` is a `PoolTimeout` with a cause, after at least
/// `limit` and well before 3 times it; returns the cause.
#[track_caller]
fn assert_timed_out<T: std::fmt::Debug>(result: orm::Result<T>, took: Duration, limit: Duration) -> String {
    let cause = match result {
        Err(Error::PoolTimeout { connection, waited, cause }) => {
            assert_eq!(connection, "db");
            assert!(waited >= limit, "waited {waited:?}, less than the acquire timeout {limit:?}");
            cause.expect("a PoolTimeout says why it timed out")
        }
        other => panic!("expected Error::PoolTimeout after {took:?}, got {other:?}"),
    };
    assert!(took >= limit, "gave up after {took:?}, before the acquire timeout {limit:?}");
    assert!(took < limit * 5 / 2, "gave up after {took:?}, far past the acquire timeout {limit:?}");
    cause
}

#[tokio::test]
async fn building_against_a_server_that_never_answers_times_out() {
    if crate::KIND == orm_tests::Kind::Sqlite {
        return; // no server
    }
    const LIMIT: Duration = Duration::from_secs(2);
    let Some(t) = crate::db().await else { return };
    let silent = orm_tests::proxy::Proxy::silent().await;
    let started = std::time::Instant::now();
    let built = tokio::time::timeout(
        LIMIT * 10,
        orm::Database::builder()
            .connection_with("db", &silent.url_for(&t.url), PoolOptions::new().acquire_timeout(LIMIT))
            .build(),
    )
    .await
    .expect("build() waited for ever on a server that never answers");
    let cause = assert_timed_out(built, started.elapsed(), LIMIT);
    assert!(cause.contains("opening a new connection did not finish in time"), "{cause}");
    assert!(silent.accepted() >= 1, "the server was reached");
}

#[tokio::test]
async fn an_acquisition_that_must_connect_to_a_server_that_stopped_answering_times_out() {
    if crate::KIND == orm_tests::Kind::Sqlite {
        return; // no server
    }
    const LIMIT: Duration = Duration::from_secs(2);
    let Some(t) = crate::db().await else { return };
    t.create_shop_tables().await;
    let proxy = orm_tests::proxy::Proxy::to(&t.url).await;
    let options = PoolOptions::new().max_connections(3).acquire_timeout(LIMIT);
    let db = orm::Database::builder().connection_with("db", &proxy.url_for(&t.url), options).build().await.unwrap();
    let customer = Customer::new("a@x.org", "A", 1).insert(&db).await.unwrap();
    // The pool's one connection is taken: the next caller must open one.
    let tx = db.begin().await.unwrap();
    proxy.stall_new_connections(true);
    let started = std::time::Instant::now();
    let found = tokio::time::timeout(LIMIT * 10, Customer::find(&db, customer.customer_id))
        .await
        .expect("find() waited for ever for a new connection");
    let cause = assert_timed_out(found, started.elapsed(), LIMIT);
    assert!(cause.contains("opening a new connection did not finish in time"), "{cause}");
    // Three callers at once, two connections left to open: two connect in
    // vain, the third waits for them; all give up in time, saying why.
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let db = db.clone();
        let id = customer.customer_id;
        callers.spawn(async move {
            let started = std::time::Instant::now();
            let r = tokio::time::timeout(LIMIT * 10, Customer::find(&db, id)).await;
            (started.elapsed(), r)
        });
    }
    while let Some(joined) = callers.join_next().await {
        let (took, r) = joined.unwrap();
        let cause = assert_timed_out(r.expect("find() waited for ever"), took, LIMIT);
        assert!(!cause.is_empty());
    }
    let (size, idle, in_use, waiting) = gauges(&db);
    assert_eq!((size, idle, in_use, waiting), (1, 0, 1, 0), "only the transaction's connection is open");
    assert_eq!(db.metrics("db").unwrap().timeouts, 4);
    // The server answers again: so does the pool.
    proxy.stall_new_connections(false);
    assert_eq!(Customer::find(&db, customer.customer_id).await.unwrap(), Some(customer));
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn when_every_connection_stays_in_use_the_timeout_says_so() {
    let limit = Duration::from_millis(300);
    let options = PoolOptions::new().max_connections(2).acquire_timeout(limit);
    let Some((_t, db)) = pool(options).await else { return };
    let _held = transactions(&db, 2).await;
    let started = std::time::Instant::now();
    let err = orm::raw("SELECT 1").execute(db.connection("db").unwrap()).await;
    let cause = assert_timed_out(err, started.elapsed(), limit);
    assert!(cause.contains("all 2 connections stayed in use"), "{cause}");
    assert_eq!(gauges(&db), (2, 0, 2, 0));
}

#[tokio::test]
async fn a_pool_timeout_message_reads_as_its_cause() {
    let limit = Duration::from_millis(100);
    let options = PoolOptions::new().max_connections(1).acquire_timeout(limit);
    let Some((_t, db)) = pool(options).await else { return };
    let _held = db.begin().await.unwrap();
    let err = orm::raw("SELECT 1").execute(db.connection("db").unwrap()).await.unwrap_err();
    let message = err.to_string();
    // The cause is why the caller waited in vain, not an error met while
    // connecting: no connection was being opened.
    assert!(message.contains("connections stayed in use"), "{message}");
    assert!(!message.contains("connect error"), "the message calls the cause a connect error: {message}");
}

// ---------------------------------------------------------------------------
// Exact gauges: size, idle, in_use, waiting.

#[tokio::test]
async fn cancelled_waiters_leave_the_gauges_exact() {
    const WAITERS: usize = 600;
    let Some((_t, db)) = pool(PoolOptions::new().max_connections(1)).await else { return };
    let tx = db.begin().await.unwrap();
    assert_eq!(gauges(&db), (1, 0, 1, 0));
    // One after the other, each given up after a few milliseconds.
    for _ in 0..WAITERS {
        let r = tokio::time::timeout(Duration::from_millis(2), orm::raw("SELECT 1").execute(db.connection("db").unwrap())).await;
        assert!(r.is_err(), "no connection was free: {r:?}");
    }
    assert_eq!(gauges(&db), (1, 0, 1, 0), "(size, idle, in_use, waiting) after {WAITERS} cancelled waiters");
    // All at once: counted while they wait, then cancelled (half by their
    // timeout, half by aborting their task).
    let mut waiters = tokio::task::JoinSet::new();
    for i in 0..WAITERS {
        let db = db.clone();
        let limit = if i % 2 == 0 { Duration::from_secs(1) } else { Duration::from_secs(60) };
        waiters.spawn(async move {
            tokio::time::timeout(limit, orm::raw("SELECT 1").execute(db.connection("db").unwrap())).await.is_err()
        });
    }
    let seen = eventually(Duration::from_secs(5), || async { gauges(&db) }, |g| g.3 == WAITERS as u64).await;
    assert_eq!(seen, (1, 0, 1, WAITERS as u64), "every waiter counted");
    let mut timed_out = 0;
    while timed_out < WAITERS / 2 {
        let joined = waiters.join_next().await.unwrap();
        assert!(joined.unwrap(), "a waiter got a connection while the transaction held it");
        timed_out += 1;
    }
    assert_eq!(gauges(&db), (1, 0, 1, (WAITERS / 2) as u64));
    waiters.abort_all();
    while waiters.join_next().await.is_some() {}
    assert_eq!(gauges(&db), (1, 0, 1, 0), "(size, idle, in_use, waiting) after every waiter was cancelled");
    tx.commit().await.unwrap();
    assert_eq!(gauges(&db), (1, 1, 0, 0), "(size, idle, in_use, waiting) after the transaction");
    orm::raw("SELECT 1").execute(db.connection("db").unwrap()).await.unwrap();
    let m = db.metrics("db").unwrap();
    assert_eq!((m.size, m.idle, m.in_use, m.waiting, m.timeouts), (1, 1, 0, 0, 0), "{m:?}");
}

#[tokio::test]
async fn a_statement_cancelled_mid_flight_leaves_the_gauges_exact() {
    let Some((t, db, tag)) = watched_pool(PoolOptions::new().max_connections(3)).await else { return };
    for tx in transactions(&db, 2).await {
        tx.commit().await.unwrap();
    }
    let held = db.begin().await.unwrap();
    assert_eq!(gauges(&db), (2, 1, 1, 0));
    let before = server_sessions_once(&t, &tag, 2).await;
    let cancelled = tokio::time::timeout(Duration::from_millis(100), orm::raw(slow_sql()).execute(db.connection("db").unwrap())).await;
    assert!(cancelled.is_err(), "the statement should still be running");
    // Closed once its statement is cancelled, in the background; counted until then.
    let seen = eventually(Duration::from_secs(5), || async { gauges(&db) }, |g| *g == (1, 0, 1, 0)).await;
    assert_eq!(seen, (1, 0, 1, 0), "(size, idle, in_use, waiting): the busy connection was closed");
    // The cancel request (SQLite: the interrupt) is sent in the background.
    let cancels = eventually(Duration::from_secs(5), || async { db.metrics("db").unwrap().cancels }, |n| *n == 1).await;
    assert_eq!(cancels, 1, "cancel requests sent");
    if let Some(before) = before {
        // Of the two sessions, the transaction's is left (the pool may have
        // opened another for the cancel request).
        let left = |now: &Option<Vec<i64>>| now.as_ref().unwrap().iter().filter(|s| before.contains(s)).count();
        let now = eventually(Duration::from_secs(10), || t.server_sessions(&tag), |now| left(now) == 1).await;
        assert_eq!(left(&now), 1, "the server still has the cancelled statement's connection: before {before:?}, now {now:?}");
    }
    held.commit().await.unwrap();
    assert_eq!(gauges(&db), (1, 1, 0, 0));
}

#[tokio::test]
async fn a_connection_cancelled_while_it_opens_leaves_the_gauges_exact() {
    let Some((t, db, tag)) = watched_pool(PoolOptions::new().max_connections(3)).await else { return };
    let held = db.begin().await.unwrap();
    assert_eq!(gauges(&db), (1, 0, 1, 0));
    for _ in 0..20 {
        // Polled once: far enough to start opening a connection (no idle
        // one is left), never to finish; then dropped.
        let finished = poll_once(orm::raw("SELECT 1").execute(db.connection("db").unwrap())).await;
        assert!(!finished, "a connection opened in one poll");
        assert_eq!(gauges(&db), (1, 0, 1, 0), "(size, idle, in_use, waiting) after a cancelled connect");
    }
    if let Some(sessions) = server_sessions_once(&t, &tag, 1).await {
        assert_eq!(sessions.len(), 1, "the server keeps connections the pool gave up opening: {sessions:?}");
    }
    held.commit().await.unwrap();
    assert_eq!(gauges(&db), (1, 1, 0, 0));
    // The pool still opens connections.
    let _two = transactions(&db, 2).await;
    assert_eq!(gauges(&db), (2, 0, 2, 0));
}

// ---------------------------------------------------------------------------
// min_connections, and closing in the background.

#[tokio::test]
async fn min_connections_are_opened_in_the_background() {
    let options = PoolOptions::new().min_connections(3);
    let Some((t, db, tag)) = watched_pool(options).await else { return };
    wait_for_size(&db, 3, Duration::from_secs(5)).await;
    // No more than the minimum, and they stay.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gauges(&db), (3, 3, 0, 0));
    if let Some(sessions) = server_sessions_once(&t, &tag, 3).await {
        assert_eq!(sessions.len(), 3, "the server's view: {sessions:?}");
    }
    assert_eq!(db.metrics("db").unwrap().acquisitions, 1, "only build() took a connection");
}

#[tokio::test]
async fn min_connections_opens_no_more_than_the_minimum() {
    // build() opens one connection while the maintenance task opens the
    // minimum: together they must not open more. (The race shows when a
    // connect takes longer than the maintenance task's first tick, about
    // a millisecond: PostgreSQL, SQLite, any server across a network.)
    let options = PoolOptions::new().min_connections(1);
    let Some((t, db, tag)) = watched_pool(options).await else { return };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(gauges(&db), (1, 1, 0, 0), "(size, idle, in_use, waiting) with min_connections(1), unused");
    if let Some(sessions) = server_sessions_once(&t, &tag, 1).await {
        assert_eq!(sessions.len(), 1, "the server's view: {sessions:?}");
    }
}

#[tokio::test]
async fn idle_connections_beyond_the_minimum_close_and_the_minimum_stays_open() {
    const IDLE: Duration = Duration::from_millis(300);
    let options = PoolOptions::new().min_connections(2).max_connections(4).idle_timeout(Some(IDLE));
    let Some((t, db, tag)) = watched_pool(options).await else { return };
    wait_for_size(&db, 2, Duration::from_secs(5)).await;
    // Four connections at once, each marked, then idle.
    let mut txs = transactions(&db, 4).await;
    for tx in &mut txs {
        mark_in(tx).await;
    }
    for tx in txs {
        tx.commit().await.unwrap();
    }
    assert_eq!(gauges(&db), (4, 4, 0, 0));
    // The two beyond the minimum close after the idle timeout; the pool
    // never falls below the minimum meanwhile.
    let started = std::time::Instant::now();
    let mut smallest = u64::MAX;
    while started.elapsed() < IDLE * 5 {
        let (size, ..) = gauges(&db);
        if started.elapsed() > IDLE * 3 {
            smallest = smallest.min(size);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(gauges(&db), (2, 2, 0, 0), "(size, idle, in_use, waiting) after the idle timeout");
    assert_eq!(smallest, 2, "the pool fell below min_connections after the idle timeout");
    let before = server_sessions_once(&t, &tag, 2).await;
    if let Some(sessions) = &before {
        assert_eq!(sessions.len(), 2, "the server's view: {sessions:?}");
    }
    // The two kept are two of the four used, kept open, not replaced each
    // idle timeout by new ones (min_connections: "kept open even when idle").
    tokio::time::sleep(IDLE * 3).await;
    if let Some(before) = before {
        let after = t.server_sessions(&tag).await.unwrap();
        assert_eq!(after, before, "the server's sessions changed: the minimum connections were closed and opened again");
    }
    assert_eq!(marked_connections(&db, 2).await, 2, "the minimum connections were replaced after the idle timeout");
}

#[tokio::test]
async fn connections_past_their_lifetime_are_replaced_up_to_the_minimum() {
    const LIFETIME: Duration = Duration::from_millis(500);
    let options = PoolOptions::new().min_connections(2).max_connections(4).idle_timeout(None).max_lifetime(Some(LIFETIME));
    let Some((t, db, tag)) = watched_pool(options).await else { return };
    wait_for_size(&db, 2, Duration::from_secs(5)).await;
    let mut txs = transactions(&db, 2).await;
    for tx in &mut txs {
        mark_in(tx).await;
    }
    for tx in txs {
        tx.commit().await.unwrap();
    }
    let first = server_sessions_once(&t, &tag, 2).await;
    tokio::time::sleep(LIFETIME * 4).await;
    wait_for_size(&db, 2, Duration::from_secs(5)).await;
    if let Some(first) = first {
        let now = server_sessions_once(&t, &tag, 2).await.unwrap();
        assert_eq!(now.len(), 2, "the server's view: {now:?}");
        let kept: Vec<&i64> = now.iter().filter(|s| first.contains(s)).collect();
        assert!(kept.is_empty(), "sessions {kept:?} outlived the lifetime of {LIFETIME:?} (before {first:?}, now {now:?})");
    }
    assert_eq!(marked_connections(&db, 2).await, 0, "a connection outlived its lifetime of {LIFETIME:?}");
}

#[tokio::test]
async fn idle_connections_close_in_the_background() {
    let options = PoolOptions::new().max_connections(3).idle_timeout(Some(Duration::from_millis(200)));
    let Some((t, db, tag)) = watched_pool(options).await else { return };
    let txs = transactions(&db, 3).await;
    if let Some(sessions) = server_sessions_once(&t, &tag, 3).await {
        assert_eq!(sessions.len(), 3, "the server's view: {sessions:?}");
    }
    for tx in txs {
        tx.commit().await.unwrap();
    }
    assert_eq!(gauges(&db), (3, 3, 0, 0));
    // Without any use of the pool.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(gauges(&db), (0, 0, 0, 0), "(size, idle, in_use, waiting) 1 s after the idle timeout of 200 ms");
    if let Some(sessions) = server_sessions_once(&t, &tag, 0).await {
        assert_eq!(sessions, Vec::<i64>::new(), "the server still has the idle connections");
    }
}

// ---------------------------------------------------------------------------
// Leak reports.

/// The pool's `tracing` events (target `orm::pool`).
struct PoolEvents;

impl PoolEvents {
    fn capture() -> (orm_tests::events::Events, orm_tests::events::Guard) {
        orm_tests::events::Events::capture("orm::pool")
    }
}

#[tokio::test]
async fn a_transaction_held_past_the_leak_threshold_is_reported() {
    let (events, _guard) = PoolEvents::capture();
    let options = PoolOptions::new().leak_threshold(Some(Duration::from_millis(100)));
    let Some((_t, db)) = pool(options).await else { return };
    let tx = db.begin().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    tx.commit().await.unwrap();
    assert_eq!(db.metrics("db").unwrap().leaks, 1);
    let warnings = events.warnings();
    assert_eq!(warnings.len(), 1, "one WARN of orm::pool: {warnings:#?}");
    let report = &warnings[0];
    assert!(report.contains("`db`"), "the report names the connection: {report}");
    assert!(report.contains("a_transaction_held_past_the_leak_threshold_is_reported"), "the report shows where the connection was taken: {report}");
    // Reported once, not at every check.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!((db.metrics("db").unwrap().leaks, events.warnings().len()), (1, 1));
}

#[tokio::test]
async fn a_statement_running_past_the_leak_threshold_is_reported() {
    let (events, _guard) = PoolEvents::capture();
    let options = PoolOptions::new().leak_threshold(Some(Duration::from_millis(100)));
    let Some((_t, db)) = pool(options).await else { return };
    orm::raw(slow_sql()).execute(db.connection("db").unwrap()).await.unwrap();
    assert_eq!(db.metrics("db").unwrap().leaks, 1);
    let warnings = events.warnings();
    assert_eq!(warnings.len(), 1, "one WARN of orm::pool: {warnings:#?}");
    assert!(warnings[0].contains("`db`"), "{}", warnings[0]);
    assert!(warnings[0].contains("a_statement_running_past_the_leak_threshold_is_reported"), "{}", warnings[0]);
}

#[tokio::test]
async fn connections_released_before_the_leak_threshold_are_never_reported() {
    let (events, _guard) = PoolEvents::capture();
    // Held for 10 ms, 100 times the threshold below: no slow machine makes it a leak.
    let options = PoolOptions::new().leak_threshold(Some(Duration::from_secs(1)));
    let Some((_t, db)) = pool(options).await else { return };
    for _ in 0..20 {
        orm::raw("SELECT 1").execute(db.connection("db").unwrap()).await.unwrap();
        let tx = db.begin().await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        tx.commit().await.unwrap();
    }
    // Several checks of the maintenance task (every half threshold).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(db.metrics("db").unwrap().leaks, 0);
    assert_eq!(events.warnings(), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// Statement and lock timeouts of every connection of a pool.

/// A statement that runs for about 5 seconds, or much longer on SQLite.
fn very_slow_sql() -> &'static str {
    match crate::KIND {
        orm_tests::Kind::Postgres => "SELECT pg_sleep(5)",
        // Not `SELECT SLEEP(5)`: MySQL's `max_execution_time` makes a lone
        // SLEEP return early without an error.
        orm_tests::Kind::MySql => "SELECT COUNT(*) FROM (SELECT 1 AS x UNION ALL SELECT 2) AS t WHERE SLEEP(2.5) = 0",
        orm_tests::Kind::Sqlite => {
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT COUNT(*) FROM c"
        }
    }
}

#[tokio::test]
async fn a_statement_past_the_statement_timeout_fails_and_its_connection_stays_usable() {
    const LIMIT: Duration = Duration::from_millis(500);
    let options = PoolOptions::new().max_connections(1).statement_timeout(Some(LIMIT));
    let Some((_t, db)) = pool(options).await else { return };
    mark_connection(&db).await;
    for _ in 0..2 {
        let started = std::time::Instant::now();
        let err = orm::raw(very_slow_sql()).execute(db.connection("db").unwrap()).await.unwrap_err();
        let took = started.elapsed();
        assert!(matches!(&err, Error::StatementTimeout { connection, .. } if connection == "db"), "{err:?}");
        assert!(took >= LIMIT - Duration::from_millis(20), "stopped after {took:?}, before the timeout of {LIMIT:?}");
        assert!(took < LIMIT + Duration::from_secs(3), "stopped after {took:?}, long after the timeout of {LIMIT:?}");
        assert!(marked(&db).await, "the connection was replaced after a statement timeout");
        assert_eq!(gauges(&db), (1, 1, 0, 0));
    }
    // In a transaction too; the transaction can still roll back.
    let mut tx = db.begin().await.unwrap();
    let err = orm::raw(very_slow_sql()).execute(&mut tx).await.unwrap_err();
    assert!(matches!(err, Error::StatementTimeout { .. }), "{err:?}");
    tx.rollback().await.unwrap();
    assert!(marked(&db).await);
    let m = db.metrics("db").unwrap();
    assert_eq!((m.size, m.idle, m.errors), (1, 1, 3), "{m:?}");
}

#[tokio::test]
async fn a_statement_waiting_past_the_lock_timeout_fails_and_its_connection_stays_usable() {
    const LIMIT: Duration = Duration::from_millis(300);
    // innodb_lock_wait_timeout counts whole seconds.
    let effective = if crate::KIND == orm_tests::Kind::MySql { Duration::from_secs(1) } else { LIMIT };
    let options = PoolOptions::new().max_connections(1).lock_timeout(Some(LIMIT));
    let Some((t, db)) = pool(options).await else { return };
    t.direct_execute("CREATE TABLE lockme (id INTEGER NOT NULL PRIMARY KEY, v INTEGER NOT NULL)").await;
    t.direct_execute("INSERT INTO lockme (id, v) VALUES (1, 0)").await;
    mark_connection(&db).await;
    // Another session holds the row's lock (SQLite: the database's write lock).
    let mut other = t.direct_connect().await;
    match crate::KIND {
        orm_tests::Kind::Sqlite => other.execute("BEGIN IMMEDIATE; UPDATE lockme SET v = 1 WHERE id = 1").await,
        _ => other.execute("BEGIN; UPDATE lockme SET v = 1 WHERE id = 1").await,
    }
    let update = "UPDATE lockme SET v = 2 WHERE id = 1";
    let started = std::time::Instant::now();
    let err = orm::raw(update).execute(db.connection("db").unwrap()).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(&err, Error::LockTimeout { connection, .. } if connection == "db"), "{err:?}");
    assert!(took >= effective - Duration::from_millis(20), "gave up after {took:?}, before the lock timeout of {effective:?}");
    assert!(took < effective + Duration::from_secs(3), "gave up after {took:?}, long after the lock timeout of {effective:?}");
    assert!(marked(&db).await, "the connection was replaced after a lock timeout");
    // Once the lock is released, the same statement goes through.
    other.execute("ROLLBACK").await;
    let done = orm::raw(update).execute(db.connection("db").unwrap()).await.unwrap();
    assert_eq!(done.rows_affected, 1);
    assert!(marked(&db).await);
    assert_eq!(gauges(&db), (1, 1, 0, 0));
}

#[tokio::test]
async fn dropping_the_database_closes_its_connections() {
    // Idle connections live inside the pool; the pool must not be kept
    // alive by them once the last `Database` handle is gone.
    let Some((t, db, tag)) = watched_pool(PoolOptions::new().min_connections(3)).await else { return };
    wait_for_size(&db, 3, Duration::from_secs(5)).await;
    let txs = transactions(&db, 2).await;
    for tx in txs {
        tx.commit().await.unwrap();
    }
    if let Some(sessions) = server_sessions_once(&t, &tag, 3).await {
        assert_eq!(sessions.len(), 3, "{sessions:?}");
    }
    drop(db);
    if let Some(sessions) = server_sessions_once(&t, &tag, 0).await {
        assert_eq!(sessions, Vec::<i64>::new(), "the server still has the dropped database's connections");
    }
}
