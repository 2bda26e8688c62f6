//! A read under a retry policy outlasts a short outage of the server: the
//! server stops while the pool holds an idle connection, the read starts,
//! and the server is back a second later. The connection the stop killed
//! fails the first attempt (`ConnectionLost`); the attempts after it find
//! the server refusing connections (`ConnectionLost` again, transient too)
//! until it is back. On a private cluster of this test
//! (`orm_tests::cluster`), never the shared server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use orm::prelude::*;
use orm::{PoolOptions, RetryPolicy};
use orm_tests::cluster::Cluster;
use orm_tests::models::Customer;

/// How long the server stays down while the read retries.
const OUTAGE: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_read_under_a_retry_policy_outlasts_a_server_restart() {
    let Some(cluster) = Cluster::new() else {
        return;
    };
    let cluster = Arc::new(cluster);
    // Up to 40 attempts, pauses from 100 ms to 500 ms: some 15 s or more,
    // well past the outage and the time the server takes to start.
    let policy = RetryPolicy::new()
        .max_attempts(40)
        .initial_backoff(Duration::from_millis(100))
        .max_backoff(Duration::from_millis(500));
    let db = orm::Database::builder()
        .connection_with(
            "db",
            &cluster.url(),
            PoolOptions::new()
                .max_connections(2)
                .acquire_timeout(Duration::from_secs(5))
                .retry(policy),
        )
        .build()
        .await
        .unwrap();
    db.create_table::<Customer>().await.unwrap();
    Customer::new("a@x.org", "A", 1).insert(&db).await.unwrap();
    assert_eq!(Customer::count(&db).await.unwrap(), 1);
    assert!(
        db.metrics("db").unwrap().idle >= 1,
        "an idle pooled connection"
    );

    let stopping = cluster.clone();
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();
    let before = db.metrics("db").unwrap();
    let starter = {
        let cluster = cluster.clone();
        tokio::spawn(async move {
            tokio::time::sleep(OUTAGE).await;
            tokio::task::spawn_blocking(move || cluster.start())
                .await
                .unwrap();
        })
    };
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(120), Customer::count(&db))
        .await
        .expect("the read: no result within 120 s");
    let took = started.elapsed();
    tokio::time::timeout(Duration::from_secs(120), starter)
        .await
        .expect("the server did not start within 120 s")
        .unwrap();
    let after = db.metrics("db").unwrap();
    let count = result.unwrap_or_else(|e| {
        panic!(
            "the read gave up after {took:?} ({} failed statements, {} retries) while the server was down for {OUTAGE:?}: {e:?}",
            after.errors - before.errors,
            after.retries - before.retries,
        )
    });
    assert_eq!(count, 1);
    assert!(took >= OUTAGE, "{took:?}: it waited for the server");
    assert!(after.retries > before.retries, "{after:?}");
}
