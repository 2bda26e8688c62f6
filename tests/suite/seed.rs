// Seeders on every backend: they run in dependency order (a later seeder
// reads what an earlier one wrote), production is refused unless forced, a
// failing seeder stops the run, progress reaches the reporter in order, and
// `seed --dry-run` runs nothing. Checked by counting rows in the database.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use orm::migrate::seed::{SeedReporter, Seeder, Seeders};
use orm::prelude::*;
use orm::Error;
use orm_tests::models::{Customer, Order, Tag};

async fn setup() -> Option<orm_tests::TestDb> {
    let t = crate::db().await?;
    t.create_shop_tables().await;
    Some(t)
}

/// Three customers, and two orders for each customer found in the database.
/// `orders` is added first, so only its dependency puts it second.
fn shop() -> Seeders {
    Seeders::new()
        .add(
            Seeder::new("orders", |db| {
                Box::pin(async move {
                    for c in Customer::all(db).await? {
                        for total in [10.0, 20.0] {
                            Order::new(c.customer_id, "paid", total, 1)
                                .insert(db)
                                .await?;
                        }
                    }
                    Ok(())
                })
            })
            .after("customers"),
        )
        .add(Seeder::new("customers", |db| {
            Box::pin(async move {
                for name in ["ada", "bob", "cy"] {
                    Customer::new(&format!("{name}@example.com"), name, 1)
                        .insert(db)
                        .await?;
                }
                Ok(())
            })
        }))
}

#[tokio::test]
async fn seeders_run_in_dependency_order_and_read_what_ran_before() {
    let Some(t) = setup().await else { return };
    let mut reported = Vec::new();
    let ran = shop()
        .run_reporting(&t.db, "development", false, &mut |name, _| {
            reported.push(name.to_owned())
        })
        .await
        .unwrap();
    assert_eq!(ran, ["customers", "orders"]);
    assert_eq!(reported, ["customers", "orders"]);
    assert_eq!(t.direct_count("customers").await, Some(3));
    assert_eq!(t.direct_count("orders").await, Some(6));
    let customers: Vec<i64> = Customer::all(&t.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.customer_id)
        .collect();
    for order in Order::all(&t.db).await.unwrap() {
        assert!(customers.contains(&order.customer_id), "{order:?}");
    }
}

#[tokio::test]
async fn production_is_refused_and_nothing_is_written() {
    let Some(t) = setup().await else { return };
    for env in ["production", "prod"] {
        let err = shop().run(&t.db, env, false).await.unwrap_err();
        match &err {
            Error::Seed { message } => assert!(message.contains("pass `--force`"), "{message}"),
            other => panic!("expected a seed error, got {other:?}"),
        }
    }
    assert_eq!(t.direct_count("customers").await, Some(0));
    assert_eq!(t.direct_count("orders").await, Some(0));
}

#[tokio::test]
async fn force_seeds_production() {
    let Some(t) = setup().await else { return };
    let ran = shop().run(&t.db, "production", true).await.unwrap();
    assert_eq!(ran, ["customers", "orders"]);
    assert_eq!(t.direct_count("customers").await, Some(3));
    assert_eq!(t.direct_count("orders").await, Some(6));
}

#[tokio::test]
async fn seeders_left_out_of_the_environment_do_not_run() {
    let Some(t) = setup().await else { return };
    let seeders = shop().add(
        Seeder::new("tags", |db| {
            Box::pin(async move {
                Tag {
                    code: "demo".into(),
                    label: "Demo".into(),
                }
                .insert(db)
                .await?;
                Ok(())
            })
        })
        .only_in(&["staging"]),
    );
    let ran = seeders.run(&t.db, "test", false).await.unwrap();
    assert_eq!(ran, ["customers", "orders"]);
    assert_eq!(t.direct_count("tags").await, Some(0));
    assert_eq!(t.direct_count("orders").await, Some(6));
}

#[tokio::test]
async fn a_failing_seeder_stops_the_ones_after_it() {
    let Some(t) = setup().await else { return };
    let seeders = shop()
        .add(
            Seeder::new("duplicate_customer", |db| {
                Box::pin(async move {
                    Customer::new("ada@example.com", "Ada again", 2)
                        .insert(db)
                        .await?;
                    Ok(())
                })
            })
            .after("orders"),
        )
        .add(
            Seeder::new("tags", |db| {
                Box::pin(async move {
                    Tag {
                        code: "rust".into(),
                        label: "Rust".into(),
                    }
                    .insert(db)
                    .await?;
                    Ok(())
                })
            })
            .after("duplicate_customer"),
        );
    let err = seeders.run(&t.db, "development", false).await.unwrap_err();
    match &err {
        Error::Seed { message } => {
            assert!(
                message
                    .starts_with("seeder `duplicate_customer` failed: unique constraint violated"),
                "{message}"
            );
            assert!(
                message.contains(
                    "ran before it, their data kept: `customers`, `orders`; not run: `tags`"
                ),
                "{message}"
            );
        }
        other => panic!("expected a seed error, got {other:?}"),
    }
    // The seeders before it ran and their rows stay; the one after never ran.
    assert_eq!(t.direct_count("customers").await, Some(3));
    assert_eq!(t.direct_count("orders").await, Some(6));
    assert_eq!(t.direct_count("tags").await, Some(0));
}

/// Every report of a run, as a line; `.1` counts the progress reports
/// handed over so far, for a seeder to check while it runs.
#[derive(Default)]
struct Recorder(Vec<String>, Arc<AtomicUsize>);

impl SeedReporter for Recorder {
    fn started(&mut self, seeder: &str) {
        self.0.push(format!("start {seeder}"));
    }
    fn total(&mut self, seeder: &str, rows: u64) {
        self.0.push(format!("{seeder} total {rows}"));
        self.1.fetch_add(1, Ordering::SeqCst);
    }
    fn advanced(&mut self, seeder: &str, rows: u64) {
        self.0.push(format!("{seeder} +{rows}"));
        self.1.fetch_add(1, Ordering::SeqCst);
    }
    fn finished(&mut self, seeder: &str, _took: Duration) {
        self.0.push(format!("done {seeder}"));
    }
    fn failed(&mut self, seeder: &str, _took: Duration) {
        self.0.push(format!("failed {seeder}"));
    }
}

#[tokio::test]
async fn progress_from_other_tasks_and_failed_seeders_reaches_the_reporter_in_order() {
    let Some(t) = setup().await else { return };
    let mut reporter = Recorder::default();
    let delivered = reporter.1.clone();
    let seeders = Seeders::new()
        .add(Seeder::with_progress("split", move |_db, progress| {
            let delivered = delivered.clone();
            Box::pin(async move {
                progress.set_total(30);
                // A clone moved to another task reports too, while the seeder waits for it.
                let other = progress.clone();
                tokio::spawn(async move { other.advance(10) }).await.map_err(|e| Error::Seed { message: e.to_string() })?;
                tokio::task::yield_now().await;
                // Handed over while the seeder runs, not at its end: a bar moves.
                let seen = delivered.load(Ordering::SeqCst);
                if seen != 2 {
                    return Err(Error::Seed { message: format!("{seen} reports handed over, not 2") });
                }
                progress.advance(20);
                Ok(())
            })
        }))
        .add(Seeder::new("plain", |_db| Box::pin(async { Ok(()) })))
        .add(Seeder::with_progress("broken", |db, progress| {
            Box::pin(async move {
                progress.set_total(2);
                Customer::new("ada@example.com", "ada", 1).insert(db).await?;
                progress.advance(1);
                Customer::new("ada@example.com", "ada again", 1).insert(db).await?;
                progress.advance(1);
                Ok(())
            })
        }));
    let err = seeders.run_with_reporter(&t.db, "test", false, &mut reporter).await.unwrap_err();
    assert!(err.to_string().contains("seeder `broken` failed: unique constraint violated"), "{err}");
    assert_eq!(
        reporter.0,
        [
            "start split",
            "split total 30",
            "split +10",
            "split +20",
            "done split",
            "start plain",
            "done plain",
            "start broken",
            "broken total 2",
            "broken +1",
            "failed broken",
        ]
    );
    assert_eq!(t.direct_count("customers").await, Some(1));
    // Refused before any seeder starts: nothing reported, nothing written.
    let mut reporter = Recorder::default();
    assert!(seeders.run_with_reporter(&t.db, "production", false, &mut reporter).await.is_err());
    assert_eq!(reporter.0, [""; 0]);
    assert_eq!(t.direct_count("customers").await, Some(1));
}

#[tokio::test]
async fn progress_reaches_the_reporter_in_order_while_rows_are_written() {
    let Some(t) = setup().await else { return };
    let seeders = shop().add(
        Seeder::with_progress("paid_orders", |db, progress| {
            Box::pin(async move {
                let customers = Customer::all(db).await?;
                progress.set_total(customers.len() as u64 * 2);
                for c in customers {
                    for total in [5.0, 7.5] {
                        Order::new(c.customer_id, "paid", total, 1).insert(db).await?;
                    }
                    progress.advance(2);
                }
                Ok(())
            })
        })
        .after("customers"),
    );
    let mut reporter = Recorder::default();
    let ran = seeders.run_with_reporter(&t.db, "development", false, &mut reporter).await.unwrap();
    assert_eq!(ran, ["customers", "orders", "paid_orders"]);
    assert_eq!(
        reporter.0,
        [
            "start customers",
            "done customers",
            "start orders",
            "done orders",
            "start paid_orders",
            "paid_orders total 6",
            "paid_orders +2",
            "paid_orders +2",
            "paid_orders +2",
            "done paid_orders",
        ]
    );
    assert_eq!(t.direct_count("orders").await, Some(12));
}

#[tokio::test]
async fn seed_dry_run_runs_nothing_and_writes_nothing() {
    let Some(t) = setup().await else { return };
    // Seeders that write to this backend's test database whatever the
    // command line connects to, and count their runs.
    let runs = Arc::new(AtomicUsize::new(0));
    let seeder = |name: &'static str, email: &'static str| {
        let (db, runs) = (t.db.clone(), runs.clone());
        Seeder::new(name, move |_| {
            let (db, runs) = (db.clone(), runs.clone());
            Box::pin(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Customer::new(email, name, 1).insert(&db).await?;
                Ok(())
            })
        })
    };
    let seeders = Seeders::new().add(seeder("second", "b@example.com").after("first")).add(seeder("first", "a@example.com"));
    let root = std::env::temp_dir().join(orm_tests::unique_name());
    let cli = |words: &[&str]| orm::migrate::cli::main_with(root.clone(), &seeders, words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>());
    assert_eq!(cli(&["seed", "--dry-run"]).await, 0);
    assert_eq!(cli(&["seed", "--dry-run", "--force"]).await, 0);
    assert_eq!(cli(&["seed", "--help"]).await, 0);
    assert_eq!(runs.load(Ordering::SeqCst), 0, "a dry run runs no seeder");
    assert_eq!(t.direct_count("customers").await, Some(0));
    assert!(!root.exists(), "a dry run writes no file");
    // A broken list is an error even in a dry run.
    let broken = Seeders::new().add(Seeder::new("orders", |_| Box::pin(async { Ok(()) })).after("customer"));
    let code = orm::migrate::cli::main_with(&root, &broken, ["seed".to_owned(), "--dry-run".to_owned()]).await;
    assert_eq!(code, 1);
    // The same seeders, run for real, write (so the counts above could fail).
    assert_eq!(seeders.run(&t.db, "development", false).await.unwrap(), ["first", "second"]);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(t.direct_count("customers").await, Some(2));
}
