//! Read replicas on real streaming replication: a private primary and
//! standbys made with `pg_basebackup -R` (`orm_tests::cluster`), started and
//! stopped by each test, never the shared server.
//!
//! - With replay delayed (`recovery_min_apply_delay`), a read right after a
//!   write through a plain connection to the replica is stale (the lag is
//!   real); through the ORM with the sticky window, and with causal tokens
//!   (on many handles at once, and handed to another handle as text), every
//!   one of 1,000 write-then-read rounds sees its write.
//! - A replica killed under load: no read fails, reads move to the other
//!   replica, and the replica takes reads again once it is back.
//! - A replica measured further behind than the lag limit takes no reads
//!   until it catches up.
//! - Balancing: 10,000 reads over weights 3:1 land within 5% of 75/25;
//!   least connections sends fewer reads to a replica slowed with `pg_sleep`.

use std::time::{Duration, Instant};

use orm::prelude::*;
use orm::{Balancing, ReadYourWrites, ReplicationOptions};
use orm_tests::cluster::Cluster;
use orm_tests::models::Customer;
use orm_tests::replica_checks::{
    concurrent_rounds_mostly_on_the_replica, customer, kill_under_load_then_rejoin, replica_reads,
    sequential_rounds,
};

/// A primary and its standbys; dropped, every server stops.
struct Topology {
    primary: Cluster,
    replicas: Vec<Cluster>,
}

/// Starts a primary with the `customers` table and one standby per entry
/// of `replicas` (its extra settings), and waits until each has the table.
async fn topology(replicas: &[&[(&str, &str)]]) -> Option<Topology> {
    // PostgreSQL tests are not enabled unless the server is configured.
    crate::db().await?;
    let primary = Cluster::builder().setting("wal_level", "replica").start()?;
    let db = orm::Database::connect(&primary.url()).await.unwrap();
    db.create_table::<Customer>().await.unwrap();
    db.close();
    let mut out = Vec::new();
    for settings in replicas {
        let mut b = Cluster::builder().base_backup_of(&primary);
        for (k, v) in *settings {
            b = b.setting(k, v);
        }
        out.push(b.start()?);
    }
    Some(Topology {
        primary,
        replicas: out,
    })
}

impl Topology {
    async fn database(&self, options: ReplicationOptions, weights: &[u32]) -> orm::Database {
        let mut b = orm::Database::builder().connection("db", &self.primary.url());
        for (r, w) in self
            .replicas
            .iter()
            .zip(weights.iter().chain(std::iter::repeat(&1)))
        {
            b = b.weighted_replica("db", &r.url(), *w);
        }
        b.replication("db", options).build().await.unwrap()
    }
}

/// A view of the primary whose rows take 50 ms to read on the standby
/// named `slow` (its `cluster_name`), and no time elsewhere.
#[orm::model(table = "paced")]
#[derive(Clone, Debug)]
pub struct Paced {
    #[orm(primary_key)]
    pub id: i64,
}

async fn sqlx_connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection as _;
    sqlx::PgConnection::connect(url).await.unwrap()
}

/// Waits (30 s at most) until `count_sql` on the server at `url` counts at
/// least one row: a standby has replayed what the test wrote.
async fn wait_until(url: &str, count_sql: &'static str) {
    let mut conn = sqlx_connect(url).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let count: i64 = sqlx::query_scalar(count_sql)
            .fetch_one(&mut conn)
            .await
            .unwrap_or(0);
        if count >= 1 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} never replayed what `{count_sql}` looks for"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const ROUNDS: usize = 1_000;
const DELAY: &str = "300ms";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_after_a_write_sees_it_with_the_sticky_window_or_a_causal_token() {
    let Some(t) = topology(&[&[("recovery_min_apply_delay", DELAY)]]).await else {
        return;
    };

    // Without read-your-writes the lag shows: most reads right after a write miss it.
    let off = t
        .database(
            ReplicationOptions::new().read_your_writes(ReadYourWrites::Off),
            &[],
        )
        .await;
    let mut stale = 0;
    for i in 0..20 {
        let c = customer(i).insert(&off).await.unwrap();
        if Customer::find(&off, c.customer_id).await.unwrap().is_none() {
            stale += 1;
        }
    }
    assert!(
        stale >= 15,
        "only {stale} of 20 reads were stale: the replay delay did not show"
    );
    assert_eq!(replica_reads(&off), [20], "every read went to the replica");

    // Sticky window: 1,000 rounds, each on a handle of its own, all see their write.
    let sticky = t
        .database(
            ReplicationOptions::new()
                .read_your_writes(ReadYourWrites::StickyWindow(Duration::from_secs(2))),
            &[],
        )
        .await;
    sequential_rounds(&sticky, ROUNDS, 10_000).await;
    assert_eq!(
        replica_reads(&sticky),
        [0],
        "inside the window every read went to the primary"
    );

    // Causal tokens: 1,000 rounds on 50 handles at once; the reads go to the
    // replica once it has replayed the write, and all see it.
    let causal = t
        .database(
            ReplicationOptions::new().read_your_writes(ReadYourWrites::CausalToken {
                wait: Duration::from_secs(5),
            }),
            &[],
        )
        .await;
    concurrent_rounds_mostly_on_the_replica(&causal, 50, ROUNDS, 20_000).await;

    // A token handed over as text (another process, an HTTP header) works the same.
    let writer = causal.new_handle();
    let c = customer(30_000).insert(&writer).await.unwrap();
    let text = writer.causal_token().to_string();
    assert!(!text.is_empty() && text.len() < 100, "{text}");
    let reader = causal.with_causal_token(&text.parse().unwrap()).unwrap();
    assert_eq!(
        Customer::find(&reader, c.customer_id).await.unwrap(),
        Some(c)
    );
    // A handle without the token does not wait for it, and misses the write.
    let c = customer(30_001).insert(&writer).await.unwrap();
    assert_eq!(
        Customer::find(&causal.new_handle(), c.customer_id)
            .await
            .unwrap(),
        None
    );

    // Reads inside a transaction stay on the primary.
    let before = replica_reads(&causal);
    let mut tx = causal.begin().await.unwrap();
    assert!(Customer::find(&mut tx, c.customer_id)
        .await
        .unwrap()
        .is_some());
    tx.commit().await.unwrap();
    assert_eq!(replica_reads(&causal), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_under_load_costs_no_read_and_comes_back() {
    let Some(t) = topology(&[&[], &[]]).await else {
        return;
    };
    let db = t
        .database(
            ReplicationOptions::new()
                .read_your_writes(ReadYourWrites::Off)
                .balancing(Balancing::RoundRobin)
                .check_interval(Duration::from_millis(200))
                .circuit_breaker(1, Duration::from_millis(500), Duration::from_secs(2)),
            &[],
        )
        .await;
    let c = customer(1).insert(&db).await.unwrap();
    for r in &t.replicas {
        wait_until(&r.url(), "SELECT COUNT(*) FROM customers").await;
    }

    kill_under_load_then_rejoin(
        &db,
        c.customer_id,
        || t.replicas[0].kill(),
        || t.replicas[0].start(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_and_least_connections_spread_the_reads() {
    let Some(t) = topology(&[&[("cluster_name", "'slow'")], &[("cluster_name", "'fast'")]]).await
    else {
        return;
    };

    // Weighted 3:1 over 10,000 reads, from 8 tasks at once.
    let db = t
        .database(
            ReplicationOptions::new()
                .read_your_writes(ReadYourWrites::Off)
                .balancing(Balancing::Weighted),
            &[3, 1],
        )
        .await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                for _ in 0..1_250 {
                    Customer::count(&db).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let [a, b] = replica_reads(&db)[..] else {
        panic!()
    };
    assert_eq!(a + b, 10_000);
    let share = a as f64 / 10_000.0;
    assert!((share - 0.75).abs() < 0.05, "3:1 gave {a} and {b}");

    // Least connections: the replica whose reads sleep 50 ms gets fewer of them.
    let mut primary = sqlx_connect(&t.primary.url()).await;
    sqlx::raw_sql(
        "CREATE VIEW paced AS SELECT 1::bigint AS id \
         FROM pg_sleep(CASE WHEN current_setting('cluster_name') = 'slow' THEN 0.05 ELSE 0 END)",
    )
    .execute(&mut primary)
    .await
    .unwrap();
    for r in &t.replicas {
        wait_until(
            &r.url(),
            "SELECT COUNT(*) FROM pg_views WHERE viewname = 'paced'",
        )
        .await;
    }
    let mut shares = Vec::new();
    for balancing in [Balancing::RoundRobin, Balancing::LeastConnections] {
        let db = t
            .database(
                ReplicationOptions::new()
                    .read_your_writes(ReadYourWrites::Off)
                    .balancing(balancing),
                &[],
            )
            .await;
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    for _ in 0..40 {
                        let rows = Paced::query().all(&db).await.unwrap();
                        assert_eq!(rows.len(), 1);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let [slow, fast] = replica_reads(&db)[..] else {
            panic!()
        };
        assert_eq!(slow + fast, 320);
        shares.push((balancing, slow, fast));
    }
    let (_, rr_slow, rr_fast) = shares[0];
    let (_, lc_slow, lc_fast) = shares[1];
    assert_eq!((rr_slow, rr_fast), (160, 160), "round robin ignores speed");
    assert!(
        lc_slow * 2 < lc_fast,
        "least connections sent {lc_slow} reads to the slow replica and {lc_fast} to the fast one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_measured_behind_the_lag_limit_takes_no_reads() {
    let Some(t) = topology(&[&[("recovery_min_apply_delay", "1s")]]).await else {
        return;
    };
    let db = t
        .database(
            ReplicationOptions::new()
                .read_your_writes(ReadYourWrites::Off)
                .max_lag(Some(Duration::from_millis(200)))
                .check_interval(Duration::from_millis(100)),
            &[],
        )
        .await;
    // Idle, the replica has replayed all it received: lag 0, it takes reads.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = Customer::count(&db).await.unwrap();
    assert_eq!(replica_reads(&db), [1]);

    // A steady stream of writes, each replayed a second late: the health
    // check measures the lag, and reads go to the primary.
    let writer = {
        let db = db.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                customer(40_000 + i).insert(&db).await.unwrap();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = db.replication_metrics("db").unwrap().unwrap();
        if m.replicas[0]
            .lag
            .is_some_and(|l| l > Duration::from_millis(200))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the lag was never measured: {m:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = db.replication_metrics("db").unwrap().unwrap();
    let n = Customer::count(&db).await.unwrap();
    let after = db.replication_metrics("db").unwrap().unwrap();
    assert_eq!(
        after.replicas[0].reads, before.replicas[0].reads,
        "the lagging replica took a read"
    );
    assert_eq!(after.primary_fallbacks, before.primary_fallbacks + 1);
    assert!(n >= 1, "the primary answered with its rows");
    writer.await.unwrap();

    // Caught up again (lag back to 0), it takes reads again.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let _ = Customer::count(&db).await.unwrap();
        if db.replication_metrics("db").unwrap().unwrap().replicas[0].reads
            > after.replicas[0].reads
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the replica never took reads again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
