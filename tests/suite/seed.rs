// Seeders on every backend: they run in dependency order (a later seeder
// reads what an earlier one wrote), production is refused unless forced, and
// a failing seeder stops the run. Checked by counting rows in the database.

use orm::migrate::seed::{Seeder, Seeders};
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
