//! The read-replica checks that PostgreSQL's and MariaDB's replication tests
//! share (`tests/postgres/replication.rs`, `tests/mysql/replication.rs`):
//! write-then-read rounds, and a replica killed under a steady read load.
//! Each backend's test starts its own servers and says how to kill and
//! restart a replica.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orm::prelude::*;
use orm::{BreakerState, Database};

use crate::models::Customer;

/// Customer `i`, with a unique email.
pub fn customer(i: usize) -> Customer {
    Customer::new(&format!("c{i}@x.org"), &format!("c{i}"), i as i32)
}

/// Reads per replica of connection `db`, in configuration order.
pub fn replica_reads(db: &Database) -> Vec<u64> {
    let m = db.replication_metrics("db").unwrap().unwrap();
    m.replicas.iter().map(|r| r.reads).collect()
}

/// `rounds` write-then-read rounds, one after another, each on a handle of
/// its own (customers `first..`): every read sees its write.
pub async fn sequential_rounds(db: &Database, rounds: usize, first: usize) {
    for i in 0..rounds {
        let h = db.new_handle();
        let c = customer(first + i).insert(&h).await.unwrap();
        assert_eq!(
            Customer::find(&h, c.customer_id).await.unwrap().as_ref(),
            Some(&c),
            "round {i}"
        );
    }
}

/// `rounds` write-then-read rounds spread over `tasks` handles running at
/// once (customers `first..`): every read sees its write. Then checks where
/// the reads went: the one replica, unless it was out of rotation for a
/// moment (a health check that failed on a loaded machine) or did not catch
/// up within the wait; then the primary, and the read still saw its write.
pub async fn concurrent_rounds_mostly_on_the_replica(
    db: &Database,
    tasks: usize,
    rounds: usize,
    first: usize,
) {
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let h = db.new_handle();
            tokio::spawn(async move {
                for round in 0..rounds / tasks {
                    let c = customer(first + task * 100 + round)
                        .insert(&h)
                        .await
                        .unwrap();
                    let seen = Customer::find(&h, c.customer_id).await.unwrap();
                    assert_eq!(seen.as_ref(), Some(&c), "task {task} round {round}");
                }
            })
        })
        .collect();
    for task in handles {
        task.await.unwrap();
    }
    let m = db.replication_metrics("db").unwrap().unwrap();
    assert_eq!(
        m.replicas[0].reads + m.primary_fallbacks + m.causal_fallbacks,
        rounds as u64,
        "{m:?}"
    );
    assert!(
        m.replicas[0].reads >= rounds as u64 / 2,
        "most reads went to the replica: {m:?}"
    );
}

/// With four tasks reading customer `id` from `db` (two replicas, round
/// robin) in a loop, `kill` the first replica: no read fails, its breaker
/// opens and the second takes the reads; `restart` it: it takes reads again
/// within 30 s.
pub async fn kill_under_load_then_rejoin(
    db: &Database,
    id: i64,
    kill: impl FnOnce(),
    restart: impl FnOnce(),
) {
    let reads = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (db, reads, stop) = (db.clone(), reads.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let row = Customer::find(&db, id).await;
                    assert!(
                        matches!(row, Ok(Some(_))),
                        "a read failed or missed: {row:?}"
                    );
                    reads.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let m = db.replication_metrics("db").unwrap().unwrap();
    assert_ne!(m.replicas[0].state, BreakerState::Closed, "{m:?}");
    let on_second = m.replicas[1].reads;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        db.replication_metrics("db").unwrap().unwrap().replicas[1].reads > on_second,
        "the other replica takes the reads"
    );

    restart();
    let before = db.replication_metrics("db").unwrap().unwrap().replicas[0].reads;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = db.replication_metrics("db").unwrap().unwrap();
        if m.replicas[0].state == BreakerState::Closed && m.replicas[0].reads > before {
            break;
        }
        assert!(Instant::now() < deadline, "replica 1 did not rejoin: {m:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.expect("no read failed");
    }
    assert!(reads.load(Ordering::Relaxed) > 100);
}
