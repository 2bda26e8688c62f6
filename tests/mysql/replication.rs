//! Read replicas on real MariaDB replication (GTID): a private primary and
//! replicas started by each test (`orm_tests::mariadb_cluster`), never the
//! shared server.
//!
//! - Replication paused: a read right after a write through a plain routed
//!   connection is stale (the lag is real); with the sticky window every one
//!   of 1,000 write-then-read rounds sees its write.
//! - Replication delayed (`MASTER_DELAY`): with causal tokens (`@@last_gtid`,
//!   `MASTER_GTID_WAIT`) every one of 1,000 rounds, on 50 handles at once,
//!   sees its write, read from the replica; a token handed over as text too.
//! - A replica killed under load: no read fails, and it takes reads again
//!   once it is back.

use std::time::Duration;

use orm::prelude::*;
use orm::{Balancing, ReadYourWrites, ReplicationOptions};
use orm_tests::models::Customer;
use orm_tests::replica_checks::{
    concurrent_rounds_mostly_on_the_replica, customer, kill_under_load_then_rejoin, replica_reads,
    sequential_rounds,
};
use orm_tests::replication::MariaDbReplication;

const ROUNDS: usize = 1_000;

/// A primary with the `customers` table and `replicas` caught-up replicas.
async fn topology(replicas: usize) -> Option<MariaDbReplication> {
    // MySQL tests are not enabled unless the server is configured.
    crate::db().await?;
    let t = tokio::task::spawn_blocking(move || {
        MariaDbReplication::builder().replicas(replicas).start()
    })
    .await
    .unwrap()?;
    let db = orm::Database::connect(&t.primary.url()).await.unwrap();
    db.create_table::<Customer>().await.unwrap();
    let pos = t.primary.gtid_current_pos();
    for r in &t.replicas {
        assert!(
            r.wait_for_gtid(&pos, Duration::from_secs(30)),
            "replica never got the table"
        );
    }
    Some(t)
}

async fn database(t: &MariaDbReplication, options: ReplicationOptions) -> orm::Database {
    let mut b = orm::Database::builder().connection("db", &t.primary.url());
    for r in &t.replicas {
        b = b.replica("db", &r.url());
    }
    b.replication("db", options).build().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_after_a_write_sees_it_with_the_sticky_window_or_a_causal_token() {
    let Some(t) = topology(1).await else { return };
    let replica = &t.replicas[0];

    // Applying paused: the lag is real, a routed read right after a write misses it.
    replica.pause_apply();
    let off = database(
        &t,
        ReplicationOptions::new().read_your_writes(ReadYourWrites::Off),
    )
    .await;
    for i in 0..10 {
        let c = customer(i).insert(&off).await.unwrap();
        assert_eq!(
            Customer::find(&off, c.customer_id).await.unwrap(),
            None,
            "round {i}: the replica applies nothing now"
        );
    }
    assert_eq!(replica_reads(&off), [10]);

    // Sticky window: every read after a handle's write goes to the primary.
    let sticky = database(
        &t,
        ReplicationOptions::new()
            .read_your_writes(ReadYourWrites::StickyWindow(Duration::from_secs(2))),
    )
    .await;
    sequential_rounds(&sticky, ROUNDS, 10_000).await;
    assert_eq!(replica_reads(&sticky), [0]);
    replica.resume_apply();

    // Causal tokens with replication delayed by a second: reads wait on the
    // replica (MASTER_GTID_WAIT) and see their write there.
    replica.set_delay(1);
    let causal = database(
        &t,
        ReplicationOptions::new().read_your_writes(ReadYourWrites::CausalToken {
            wait: Duration::from_secs(10),
        }),
    )
    .await;
    concurrent_rounds_mostly_on_the_replica(&causal, 50, ROUNDS, 20_000).await;

    // Handed over as text.
    let writer = causal.new_handle();
    let c = customer(30_000).insert(&writer).await.unwrap();
    let reader = causal
        .with_causal_token(&writer.causal_token().to_string().parse().unwrap())
        .unwrap();
    assert_eq!(
        Customer::find(&reader, c.customer_id).await.unwrap(),
        Some(c)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_under_load_costs_no_read_and_comes_back() {
    let Some(t) = topology(2).await else { return };
    let db = database(
        &t,
        ReplicationOptions::new()
            .read_your_writes(ReadYourWrites::Off)
            .balancing(Balancing::RoundRobin)
            .check_interval(Duration::from_millis(200))
            .circuit_breaker(1, Duration::from_millis(500), Duration::from_secs(2)),
    )
    .await;
    let c = customer(1).insert(&db).await.unwrap();
    let pos = t.primary.gtid_current_pos();
    for r in &t.replicas {
        assert!(r.wait_for_gtid(&pos, Duration::from_secs(30)));
    }
    kill_under_load_then_rejoin(
        &db,
        c.customer_id,
        || t.replicas[0].kill(),
        || t.replicas[0].start(),
    )
    .await;
    // The health check measured the replicas' lag (`SHOW SLAVE STATUS`).
    let m = db.replication_metrics("db").unwrap().unwrap();
    assert!(m.replicas[1].lag.is_some(), "{m:?}");
}
