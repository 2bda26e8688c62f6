// The query cache kept in Redis and shared by two `Database` handles built
// separately, as two processes of one application would be: a write
// through one is seen by the other's cached reads right after it is
// stored; a rolled-back write invalidates nothing; a Redis that goes down
// fails no read. Each test uses a Redis namespace of its own, deleted when
// it ends, so tests running at once on one Redis never share entries.

use std::time::{Duration, Instant};

use orm::prelude::*;
use orm::{CacheOptions, RedisOptions};
use orm_tests::proxy::Proxy;
use orm_tests::{redis_url, RedisNamespace, TestDb};

#[orm::model(table = "shared_notes")]
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SharedNote {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(max_length = 100)]
    pub body: String,
}

fn note(body: &str) -> SharedNote {
    SharedNote {
        id: 0,
        body: body.to_owned(),
    }
}

/// A handle on the test database whose query cache is in the Redis at
/// `redis`, under `namespace`.
async fn handle(t: &TestDb, redis: &str, namespace: &str) -> Database {
    Database::builder()
        .connection("db", &t.url)
        .cache(CacheOptions::new().redis(RedisOptions::new(redis).namespace(namespace)))
        .build()
        .await
        .expect("a database with its cache in Redis")
}

/// The test database, with the table, and the Redis URL; `None` (skipped)
/// when either is not configured.
async fn setup() -> Option<(TestDb, String, RedisNamespace)> {
    let redis = redis_url()?;
    let t = crate::db().await?;
    t.db.create_table::<SharedNote>().await.unwrap();
    let namespace = RedisNamespace::new(&redis);
    Some((t, redis, namespace))
}

/// Every note's body, through `db`'s cache.
async fn bodies(db: &Database) -> Vec<String> {
    let notes = SharedNote::query()
        .order_by(shared_note::id.asc())
        .cached()
        .all(db)
        .await
        .unwrap();
    notes.into_iter().map(|n| n.body).collect()
}

#[tokio::test]
async fn a_write_through_one_handle_is_seen_by_the_others_cached_reads_after_commit() {
    let Some((t, redis, namespace)) = setup().await else { return };
    let ns = namespace.name();
    let writer = handle(&t, &redis, ns).await;
    let reader = handle(&t, &redis, ns).await;

    // The reader's result is cached: its second read sends no statement...
    assert_eq!(bodies(&reader).await, Vec::<String>::new());
    assert_eq!(bodies(&reader).await, Vec::<String>::new());
    assert_eq!((reader.cache_metrics().hits, reader.cache_metrics().misses), (1, 1));
    // ...and the writer finds that entry in Redis too.
    assert_eq!(bodies(&writer).await, Vec::<String>::new());
    assert_eq!(writer.cache_metrics().hits, 1);

    // A write outside a transaction: stored, then its table invalidated.
    note("first").insert(&writer).await.unwrap();
    assert_eq!(bodies(&reader).await, ["first"]);

    // Inside a transaction: invalidated when the commit has returned.
    let mut tx = writer.begin().await.unwrap();
    note("second").insert(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(bodies(&reader).await, ["first", "second"]);
    assert_eq!(reader.cache_metrics().misses, 3);
    assert_eq!(reader.cache_metrics().errors, 0);
    assert_eq!(writer.cache_metrics().invalidations, 2);
}

#[tokio::test]
async fn a_rolled_back_write_invalidates_nothing() {
    let Some((t, redis, namespace)) = setup().await else { return };
    let ns = namespace.name();
    let writer = handle(&t, &redis, ns).await;
    let reader = handle(&t, &redis, ns).await;
    note("kept").insert(&writer).await.unwrap();
    assert_eq!(bodies(&reader).await, ["kept"]);

    let mut tx = writer.begin().await.unwrap();
    note("rolled back").insert(&mut tx).await.unwrap();
    tx.rollback().await.unwrap();

    // The reader's entry is still served: no miss, no statement.
    assert_eq!(bodies(&reader).await, ["kept"]);
    assert_eq!((reader.cache_metrics().hits, reader.cache_metrics().misses), (1, 1));
    assert_eq!(writer.cache_metrics().invalidations, 1); // the insert before, only
}

#[tokio::test]
async fn with_redis_down_reads_and_writes_go_to_the_database() {
    let Some((t, redis, namespace)) = setup().await else { return };
    let ns = namespace.name();
    let proxy = Proxy::to(&redis).await;
    let db = handle(&t, &proxy.url_for(&redis), ns).await;
    note("before").insert(&db).await.unwrap();
    assert_eq!(bodies(&db).await, ["before"]);

    // Redis goes away: its connection is closed and its port refuses.
    drop(proxy);
    let started = Instant::now();
    assert_eq!(bodies(&db).await, ["before"]);
    // A write is stored although its invalidation cannot reach Redis, and
    // this handle then reads it from the database.
    note("while down").insert(&db).await.unwrap();
    assert_eq!(bodies(&db).await, ["before", "while down"]);
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    let metrics = db.cache_metrics();
    assert!(metrics.errors >= 2, "{metrics:?}");
    assert_eq!(metrics.hits, 0, "{metrics:?}");
}

#[tokio::test]
async fn two_databases_behind_one_connection_name_never_share_entries() {
    // Two in-memory SQLite databases, both the connection `db`, sharing one
    // Redis namespace (as test runs or tenants would): what one caches is
    // not the other's.
    let Some(redis) = redis_url() else { return };
    let namespace = RedisNamespace::new(&redis);
    let open = || async {
        let db = Database::builder()
            .connection("db", "sqlite::memory:")
            .cache(CacheOptions::new().redis(RedisOptions::new(&redis).namespace(namespace.name())))
            .build()
            .await
            .expect("an in-memory database with its cache in Redis");
        db.create_table::<SharedNote>().await.unwrap();
        db
    };
    let (a, b) = (open().await, open().await);
    note("only in a").insert(&a).await.unwrap();
    assert_eq!(bodies(&a).await, ["only in a"]);
    assert_eq!(bodies(&a).await, ["only in a"]);
    assert_eq!(a.cache_metrics().hits, 1, "a's read is cached");
    assert_eq!(bodies(&b).await, Vec::<String>::new(), "b reads its own database");
    assert_eq!(b.cache_metrics().hits, 0);
}
