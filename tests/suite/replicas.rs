// Read replicas, routed: a stand-in replica is a second test database on the
// same server holding other rows, so every read shows where it went. Real
// replication (lag, causal tokens, killing a replica) is in
// tests/replication/, on servers the tests start.

use std::time::Duration;

use orm::prelude::*;
use orm::{Balancing, BreakerState, Error, ReadYourWrites, ReplicationOptions};
use orm_tests::models::{customer, Customer};
use orm_tests::proxy::Proxy;
use orm_tests::{Kind, TestDb};

/// A primary and stand-in replicas, each with a `customers` table whose
/// rows name the database (`primary`, `replica 1`, ...).
struct Stand {
    primary: TestDb,
    replicas: Vec<TestDb>,
}

async fn stand(replicas: usize) -> Option<Stand> {
    if crate::KIND == Kind::Sqlite {
        return None;
    }
    let primary = crate::db().await?;
    primary.create_shop_tables().await;
    Customer::new("p@x.org", "primary", 1).insert(&primary.db).await.unwrap();
    let mut out = Vec::new();
    for i in 1..=replicas {
        let r = crate::db().await?;
        r.create_shop_tables().await;
        Customer::new("r@x.org", &format!("replica {i}"), 1).insert(&r.db).await.unwrap();
        out.push(r);
    }
    Some(Stand { primary, replicas: out })
}

impl Stand {
    async fn database(&self, options: ReplicationOptions) -> orm::Database {
        let mut b = orm::Database::builder().connection("db", &self.primary.url);
        for r in &self.replicas {
            b = b.replica("db", &r.url);
        }
        b.replication("db", options).build().await.unwrap()
    }
}

async fn names_on(db: &orm::Database) -> Vec<String> {
    let rows = Customer::query().order_by(customer::name).all(db).await.unwrap();
    rows.into_iter().map(|c| c.name).collect()
}

fn off() -> ReplicationOptions {
    ReplicationOptions::new().read_your_writes(ReadYourWrites::Off)
}

#[tokio::test]
async fn reads_go_to_the_replica_and_everything_else_to_the_primary() {
    let Some(s) = stand(1).await else { return };
    let db = s.database(off()).await;

    // Typed reads: queries, lookups by key, counts.
    assert_eq!(names_on(&db).await, ["replica 1"]);
    assert_eq!(Customer::get(&db, 1).await.unwrap().name, "replica 1");
    assert_eq!(Customer::count(&db).await.unwrap(), 1);

    // Writes go to the primary.
    let c = Customer::new("new@x.org", "written", 2).insert(&db).await.unwrap();
    assert_eq!(s.primary.direct_count("customers").await, Some(2));
    assert_eq!(s.replicas[0].direct_count("customers").await, Some(1));
    Customer::query().filter(customer::customer_id.eq(c.customer_id)).update().set(customer::score, 3).execute(&db).await.unwrap();
    assert_eq!(Customer::get(db.on_primary(), c.customer_id).await.unwrap().score, 3);

    // Pinned reads, and reads inside a transaction, go to the primary.
    let pinned = Customer::query().order_by(customer::name).all(db.on_primary()).await.unwrap();
    assert_eq!(pinned.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["primary", "written"]);
    let mut tx = db.begin().await.unwrap();
    let in_tx = Customer::query().order_by(customer::name).all(&mut tx).await.unwrap();
    assert_eq!(in_tx.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["primary", "written"]);
    tx.commit().await.unwrap();

    // Raw SQL goes to the primary unless the caller says it reads.
    let sql = "SELECT name FROM customers ORDER BY name";
    let raw: Vec<(String,)> = orm::raw(sql).fetch_all(db.connection("db").unwrap()).await.unwrap();
    assert_eq!(raw, [("primary".to_owned(),), ("written".to_owned(),)]);
    let raw: Vec<(String,)> = orm::raw(sql).fetch_all(db.connection("db").unwrap().read()).await.unwrap();
    assert_eq!(raw, [("replica 1".to_owned(),)]);

    let m = db.replication_metrics("db").unwrap().expect("db has replicas");
    assert_eq!(m.replicas.len(), 1);
    assert_eq!(m.replicas[0].state, BreakerState::Closed);
    assert_eq!(m.replicas[0].reads, 4, "{m:?}");
    assert_eq!(m.primary_fallbacks, 0);
    assert!(!m.replicas[0].url.is_empty());
    assert_eq!(db.replication_metrics("db").unwrap().unwrap().replicas[0].pool.errors, 0);
}

#[tokio::test]
async fn the_replica_refuses_writes_sent_to_it_as_reads() {
    let Some(s) = stand(1).await else { return };
    let db = s.database(off()).await;
    // Raw SQL marked as a read that writes: the replica's session is read-only.
    let err = orm::raw("INSERT INTO customers (email, name, active, score) VALUES ('w@x.org', 'w', TRUE, 1)")
        .execute(db.connection("db").unwrap().read())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ReadOnly { .. }), "{err:?}");
    assert_eq!(s.replicas[0].direct_count("customers").await, Some(1));
}

#[tokio::test]
async fn the_sticky_window_sends_a_handles_reads_to_the_primary_after_its_write() {
    let Some(s) = stand(1).await else { return };
    let window = Duration::from_millis(700);
    let db = s.database(ReplicationOptions::new().read_your_writes(ReadYourWrites::StickyWindow(window))).await;
    assert_eq!(names_on(&db).await, ["replica 1"]);
    let other = db.new_handle();
    Customer::new("s@x.org", "sticky", 1).insert(&db).await.unwrap();
    // This handle (and its clones) read their write; another handle does not wait for it.
    assert_eq!(names_on(&db).await, ["primary", "sticky"]);
    assert_eq!(names_on(&db.clone()).await, ["primary", "sticky"]);
    assert_eq!(names_on(&other).await, ["replica 1"]);
    tokio::time::sleep(window + Duration::from_millis(100)).await;
    assert_eq!(names_on(&db).await, ["replica 1"], "after the window, reads go back to the replica");

    // A committed transaction that wrote opens the window too; one that only read does not.
    let mut tx = db.begin().await.unwrap();
    let _ = Customer::count(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(names_on(&db).await, ["replica 1"]);
    let mut tx = db.begin().await.unwrap();
    Customer::new("t@x.org", "in a transaction", 1).insert(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(names_on(&db).await, ["in a transaction", "primary", "sticky"]);
}

#[tokio::test]
async fn a_replica_that_goes_away_is_taken_out_and_no_read_fails() {
    let Some(s) = stand(2).await else { return };
    let proxy = Proxy::to(&s.replicas[0].url).await;
    let db = orm::Database::builder()
        .connection("db", &s.primary.url)
        .replica("db", &proxy.url_for(&s.replicas[0].url))
        .replica("db", &s.replicas[1].url)
        .replication("db", off().balancing(Balancing::RoundRobin).circuit_breaker(1, Duration::from_secs(60), Duration::from_secs(60)))
        .build()
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.extend(names_on(&db).await);
    }
    seen.sort();
    assert_eq!(seen, ["replica 1", "replica 1", "replica 2", "replica 2"]);

    drop(proxy); // the first replica's connections are cut and new ones refused
    for _ in 0..20 {
        assert_eq!(names_on(&db).await, ["replica 2"], "every read works, on the other replica");
    }
    let m = db.replication_metrics("db").unwrap().unwrap();
    assert_eq!(m.replicas[0].state, BreakerState::Open, "{m:?}");
    assert!(m.replicas[0].failovers >= 1, "{m:?}");
    assert_eq!(m.replicas[1].state, BreakerState::Closed);
    assert_eq!(m.primary_fallbacks, 0);
}

#[tokio::test]
async fn with_no_replica_reachable_reads_go_to_the_primary_and_the_metrics_say_so() {
    let Some(s) = stand(0).await else { return };
    let dead = match crate::KIND {
        Kind::Postgres => "postgres://postgres:secret@127.0.0.1:1/test",
        _ => "mysql://root:secret@127.0.0.1:1/test",
    };
    let db = orm::Database::builder()
        .connection("db", &s.primary.url)
        .replica("db", dead)
        .replication("db", off())
        .build()
        .await
        .expect("an unreachable replica does not stop start-up");
    for _ in 0..3 {
        assert_eq!(names_on(&db).await, ["primary"]);
    }
    let m = db.replication_metrics("db").unwrap().unwrap();
    assert_eq!(m.replicas[0].state, BreakerState::Open);
    assert_eq!(m.primary_fallbacks, 3, "{m:?}");
    assert!(!m.replicas[0].url.contains("secret"), "no password in metrics: {}", m.replicas[0].url);
}

#[tokio::test]
async fn weighted_balancing_follows_the_weights() {
    let Some(s) = stand(2).await else { return };
    let db = orm::Database::builder()
        .connection("db", &s.primary.url)
        .weighted_replica("db", &s.replicas[0].url, 3)
        .weighted_replica("db", &s.replicas[1].url, 1)
        .replication("db", off())
        .build()
        .await
        .unwrap();
    let reads = 2_000;
    for _ in 0..reads {
        let _ = Customer::count(&db).await.unwrap();
    }
    let m = db.replication_metrics("db").unwrap().unwrap();
    let (a, b) = (m.replicas[0].reads as f64, m.replicas[1].reads as f64);
    assert_eq!(a + b, reads as f64);
    assert!((a / (a + b) - 0.75).abs() < 0.05, "3:1 weights gave {a} and {b} reads");
}

#[tokio::test]
async fn causal_tokens_are_checked_against_the_connections() {
    let Some(s) = stand(1).await else { return };
    let db = s.database(ReplicationOptions::new().read_your_writes(ReadYourWrites::CausalToken { wait: Duration::from_millis(50) })).await;
    assert!(db.causal_token().is_empty());
    // A token naming another connection, or another backend's position, is refused.
    let other_backend = match crate::KIND {
        Kind::Postgres => "W1siZGIiLCJtYXJpYWRiOjAtMS01Il1d", // [["db","mariadb:0-1-5"]]
        _ => "W1siZGIiLCJwZzowLzE2QjM3NDgiXV0",               // [["db","pg:0/16B3748"]]
    };
    let token: orm::CausalToken = other_backend.parse().unwrap();
    assert!(matches!(db.with_causal_token(&token), Err(Error::InvalidCausalToken { .. })));
    let token: orm::CausalToken = "W1sibm9uZSIsInBnOjAvMSJdXQ".parse().unwrap(); // [["none","pg:0/1"]]
    let err = db.with_causal_token(&token).unwrap_err();
    assert!(err.to_string().contains("`none`"), "{err}");
}

#[tokio::test]
async fn replica_configuration_mistakes_are_start_up_errors() {
    // SQLite has no replication.
    let file = std::env::temp_dir().join(format!("{}.db", orm_tests::unique_name()));
    let url = format!("sqlite://{}", file.display());
    let err = orm::Database::builder().connection("db", &url).replica("db", &url).build().await.unwrap_err();
    assert!(matches!(&err, Error::InvalidConfig { connection, .. } if connection == "db"), "{err:?}");
    assert!(err.to_string().contains("SQLite"), "{err}");
    let _ = std::fs::remove_file(&file);

    // A replica on another backend than its primary.
    if let Some(t) = crate::db().await {
        if t.kind != Kind::Sqlite {
            let other = match t.kind {
                Kind::Postgres => "mysql://root@127.0.0.1:3306/test",
                _ => "postgres://postgres@127.0.0.1:5432/test",
            };
            let err = orm::Database::builder().connection("db", &t.url).replica("db", other).build().await.unwrap_err();
            assert!(matches!(&err, Error::InvalidConfig { connection, .. } if connection == "db"), "{err:?}");
        }
    }
    // A replica of a connection that does not exist.
    let err = orm::Database::builder().connection("db", "sqlite::memory:").replica("nope", "sqlite::memory:").build().await.unwrap_err();
    assert!(matches!(&err, Error::NotConfigured { connection, .. } if connection == "nope"), "{err:?}");
}
