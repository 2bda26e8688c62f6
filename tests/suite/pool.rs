// The pool: a statement cancelled mid-flight closes its connection instead of
// handing it on; waiting past the acquire timeout is a typed error; idle and
// old connections are replaced. Each connection is told apart by a
// temporary table, which lives and dies with its connection.

use std::time::Duration;

use orm::{Error, PoolOptions};

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
    let m = db.metrics("db").unwrap();
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
