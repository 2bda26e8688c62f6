// Sagas across two connections ("db" and "essentials", two databases of this
// backend): every step succeeds; the last step fails and the others are
// undone, last first; a failing compensation is reported and the others still
// run; a step's application error; panics; cancellation. Rows are checked in
// each database directly, not through the ORM.

use std::sync::{Arc, Mutex};

use orm::prelude::*;
use orm::saga::Failure;
use orm::{Error, Saga};
use orm_tests::models::{Customer, Order, User};
use orm_tests::TestDb;

/// Two databases of this backend, as "db" (customers, orders) and
/// "essentials" (users).
struct Two {
    main: TestDb,
    essentials: TestDb,
    db: orm::Database,
}

async fn two() -> Option<Two> {
    let main = crate::db().await?;
    let essentials = crate::db().await?;
    let db = orm::Database::builder()
        .connection("db", &main.url)
        .connection("essentials", &essentials.url)
        .build()
        .await
        .unwrap();
    db.create_table::<Customer>().await.unwrap();
    db.create_table::<Order>().await.unwrap();
    db.create_table::<User>().await.unwrap();
    Some(Two { main, essentials, db })
}

impl Drop for Two {
    /// Closes this handle's pools before the test databases are dropped
    /// (fields drop in declaration order): a connection of it still inside a
    /// transaction (a step's, dropped on error and being rolled back) would
    /// make MySQL's `DROP DATABASE` wait for its locks.
    fn drop(&mut self) {
        self.db.close();
    }
}

impl Two {
    /// Rows in customers and orders (on "db") and auser (on "essentials").
    async fn counts(&self) -> (i64, i64, i64) {
        (
            self.main.direct_count("customers").await.unwrap(),
            self.main.direct_count("orders").await.unwrap(),
            self.essentials.direct_count("auser").await.unwrap(),
        )
    }
}

/// The compensations that ran, in the order they ran.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<&'static str>>>);

impl Log {
    fn record(&self, step: &'static str) {
        self.0.lock().unwrap().push(step);
    }
    fn entries(&self) -> Vec<&'static str> {
        self.0.lock().unwrap().clone()
    }
}

/// An application's error: its own refusals, and the ORM's errors.
#[derive(Debug)]
enum AppError {
    Db(Error),
    PaymentRefused,
    OutOfStock { sku: &'static str },
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError::Db(e)
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Db(e) => e.fmt(f),
            AppError::PaymentRefused => f.write_str("the payment was refused"),
            AppError::OutOfStock { sku } => write!(f, "{sku} is out of stock"),
        }
    }
}

impl std::error::Error for AppError {}

/// A bug: panics with `message` as its payload.
fn bug<T>(message: &'static str) -> T {
    std::panic::panic_any(message)
}

fn user(email: &str) -> User {
    User { uid: 0, email: email.into(), name: "Ada".into() }
}

/// "create customer" on "db" and "create user" on "essentials", each
/// compensated by deleting its row and recording that it ran.
fn two_steps<E>(name: &'static str, log: &Log) -> Saga<E>
where
    E: From<Error> + Send + 'static,
{
    let (l1, l2) = (log.clone(), log.clone());
    Saga::<E>::with_error_type(name)
        .step(
            "create customer",
            |db| async move { Ok(Customer::new("ada@x.org", "Ada", 1).insert(&db).await?) },
            move |db, customer: Customer| async move {
                l1.record("create customer");
                Ok(customer.delete(&db).await?)
            },
        )
        .step(
            "create user",
            |db| async move { Ok(user("ada@x.org").insert(&db).await?) },
            move |db, user: User| async move {
                l2.record("create user");
                Ok(user.delete(&db).await?)
            },
        )
}

#[tokio::test]
async fn when_every_step_succeeds_no_compensation_runs_and_the_outputs_are_returned() {
    let Some(t) = two().await else { return };
    let log = Log::default();
    let l3 = log.clone();
    let mut outputs = two_steps::<Error>("checkout", &log)
        .step(
            "place order",
            |db| async move { Order::new(1, "placed", 25.0, 1).insert(&db).await },
            move |db, order: Order| async move {
                l3.record("place order");
                order.delete(&db).await
            },
        )
        .run(&t.db)
        .await
        .unwrap();

    assert_eq!(log.entries(), Vec::<&str>::new());
    assert_eq!(t.counts().await, (1, 1, 1));
    assert_eq!(outputs.steps().collect::<Vec<_>>(), ["create customer", "create user", "place order"]);
    let customer = outputs.take::<Customer>("create customer").unwrap();
    assert_eq!(Customer::get(&t.db, customer.customer_id).await.unwrap(), customer);
    let user = outputs.get::<User>("create user").unwrap();
    assert_eq!(User::get(&t.db, user.uid).await.unwrap(), *user);
    assert_eq!(outputs.get::<Order>("place order").unwrap().status, "placed");
}

#[tokio::test]
async fn when_the_last_step_fails_the_completed_steps_are_undone_last_first() {
    let Some(t) = two().await else { return };
    let log = Log::default();
    let err = two_steps::<Error>("checkout", &log)
        .step(
            "place order",
            |db| async move {
                // One transaction: the order, then a customer whose email
                // step 1 already took. The step fails and leaves nothing.
                let mut tx = db.begin().await?;
                Order::new(1, "placed", 25.0, 1).insert(&mut tx).await?;
                Customer::new("ada@x.org", "Ada again", 2).insert(&mut tx).await?;
                tx.commit().await
            },
            |_, ()| async { bug("the failed step is not compensated") },
        )
        .run(&t.db)
        .await
        .unwrap_err();

    // Step 2 undone before step 1.
    assert_eq!(log.entries(), ["create user", "create customer"]);
    assert_eq!(t.counts().await, (0, 0, 0));

    assert_eq!(err.saga(), "checkout");
    assert_eq!((err.failed_step(), err.failed_step_index()), ("place order", 2));
    assert!(matches!(err.cause(), Failure::Error(Error::UniqueViolation { .. })), "{err:?}");
    assert_eq!(err.compensated().collect::<Vec<_>>(), ["create user", "create customer"]);
    assert_eq!(err.compensation_failures().count(), 0);
    assert!(err.is_fully_compensated());
    let steps: Vec<(usize, &str, bool)> =
        err.compensations().iter().map(|c| (c.index(), c.step(), c.succeeded())).collect();
    assert_eq!(steps, [(1, "create user", true), (0, "create customer", true)]);
    let report = err.to_string();
    assert!(
        report.starts_with("saga `checkout`: step 3 of 3 (`place order`) failed: unique constraint violated: "),
        "{report}"
    );
    assert!(
        report.ends_with("\n  compensated step 2 (`create user`)\n  compensated step 1 (`create customer`)"),
        "{report}"
    );
    // The saga's error is a std error whose source is the step's error.
    let source = std::error::Error::source(&err).unwrap();
    assert!(matches!(source.downcast_ref::<Error>(), Some(Error::UniqueViolation { .. })));
}

#[tokio::test]
async fn a_failing_compensation_is_reported_and_the_others_still_run() {
    let Some(t) = two().await else { return };
    let log = Log::default();
    let err = two_steps::<AppError>("checkout", &log)
        .step(
            "charge",
            |db| async move {
                // Someone else removes the user meanwhile, so its
                // compensation will not find it; then the payment fails.
                User::query().delete(&db).await?;
                Err::<(), _>(AppError::PaymentRefused)
            },
            |_, ()| async { Ok(()) },
        )
        .run(&t.db)
        .await
        .unwrap_err();

    // Both compensations ran, although the first one failed.
    assert_eq!(log.entries(), ["create user", "create customer"]);
    assert_eq!(t.counts().await, (0, 0, 0));

    assert!(matches!(err.cause().error(), Some(AppError::PaymentRefused)));
    assert!(!err.is_fully_compensated());
    assert_eq!(err.compensated().collect::<Vec<_>>(), ["create customer"]);
    let failures: Vec<_> = err.compensation_failures().collect();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].0, "create user");
    assert!(
        matches!(failures[0].1, Failure::Error(AppError::Db(Error::NotFound { model: "User" }))),
        "{:?}",
        failures[0].1
    );
    assert_eq!(
        err.to_string(),
        "saga `checkout`: step 3 of 3 (`charge`) failed: the payment was refused\n  \
         compensation of step 2 (`create user`) failed: no `User` row with that key was found\n  \
         compensated step 1 (`create customer`)"
    );
}

#[tokio::test]
async fn a_step_returns_the_applications_own_error() {
    let Some(t) = two().await else { return };
    let log = Log::default();
    let l = log.clone();
    let err = Saga::<AppError>::with_error_type("restock")
        .step(
            "create customer",
            |db| async move { Ok(Customer::new("ada@x.org", "Ada", 1).insert(&db).await?) },
            move |db, customer: Customer| async move {
                l.record("create customer");
                Ok(customer.delete(&db).await?)
            },
        )
        .step(
            "reserve",
            |db| async move {
                let mut tx = db.begin().await?;
                Order::new(1, "reserved", 10.0, 3).insert(&mut tx).await?;
                // A business rule refuses: `tx` is dropped, rolling back.
                Err::<Order, _>(AppError::OutOfStock { sku: "KB-01" })
            },
            |db, order: Order| async move { Ok(order.delete(&db).await?) },
        )
        .step("never runs", |_| async { bug("after a failed step, no step runs") }, |_, ()| async { Ok(()) })
        .run(&t.db)
        .await
        .unwrap_err();

    assert_eq!(log.entries(), ["create customer"]);
    assert_eq!(t.counts().await, (0, 0, 0));
    assert_eq!((err.failed_step(), err.failed_step_index()), ("reserve", 1));
    let AppError::OutOfStock { sku } = err.cause().error().unwrap() else { panic!("{err:?}") };
    assert_eq!(*sku, "KB-01");
    assert_eq!(
        err.to_string(),
        "saga `restock`: step 2 of 3 (`reserve`) failed: KB-01 is out of stock\n  \
         compensated step 1 (`create customer`)"
    );
    let source = std::error::Error::source(&err).unwrap();
    assert!(matches!(source.downcast_ref::<AppError>(), Some(AppError::OutOfStock { .. })));

    // When the first step fails there is nothing to compensate.
    let err = Saga::<AppError>::with_error_type("nothing")
        .step("refused", |_| async { Err::<(), _>(AppError::PaymentRefused) }, |_, ()| async { Ok(()) })
        .run(&t.db)
        .await
        .unwrap_err();
    assert!(err.compensations().is_empty() && err.is_fully_compensated());
    assert_eq!(err.to_string(), "saga `nothing`: step 1 of 1 (`refused`) failed: the payment was refused");
}

#[tokio::test]
async fn panics_in_steps_and_compensations_are_caught_and_reported() {
    let Some(t) = two().await else { return };
    let log = Log::default();
    let l = log.clone();
    let err = Saga::new("checkout")
        .step(
            "create customer",
            |db| async move { Customer::new("ada@x.org", "Ada", 1).insert(&db).await },
            move |db, customer: Customer| async move {
                l.record("create customer");
                customer.delete(&db).await
            },
        )
        .step(
            "create user",
            |db| async move { user("ada@x.org").insert(&db).await },
            |_, _: User| async { bug("bug in the compensation") },
        )
        .step(
            "place order",
            |db| async move {
                let mut tx = db.begin().await?;
                Order::new(1, "placed", 25.0, 1).insert(&mut tx).await?;
                if tx.commit().await.is_ok() {
                    panic!("bug in the step");
                }
                Ok(())
            },
            |_, ()| async { Ok(()) },
        )
        .run(&t.db)
        .await
        .unwrap_err();

    // The step's panic is the cause; the user's compensation panicked and
    // the customer's still ran.
    assert_eq!(log.entries(), ["create customer"]);
    assert_eq!(t.counts().await, (0, 1, 1), "the order committed, the user was not undone");
    assert!(err.cause().is_panic());
    assert_eq!(err.cause().panic().unwrap().message(), "bug in the step");
    assert!(std::error::Error::source(&err).is_none());
    assert_eq!(
        err.to_string(),
        "saga `checkout`: step 3 of 3 (`place order`) failed: panicked: bug in the step\n  \
         compensation of step 2 (`create user`) failed: panicked: bug in the compensation\n  \
         compensated step 1 (`create customer`)"
    );

    // The caller may resume the step's panic, with its payload.
    let Failure::Panic(panic) = err.into_cause() else { unreachable!() };
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| panic.resume())).unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"bug in the step"));

    // The pools are fine afterwards.
    Customer::new("after@x.org", "After", 1).insert(&t.db).await.unwrap();
    assert_eq!(t.main.direct_count("customers").await, Some(1));
}

#[tokio::test]
async fn a_saga_dropped_mid_way_runs_no_compensation() {
    let Some(t) = two().await else { return };
    let log = Log::default();
    let l = log.clone();
    let saga = Saga::new("checkout")
        .step(
            "create customer",
            |db| async move { Customer::new("ada@x.org", "Ada", 1).insert(&db).await },
            move |db, customer: Customer| async move {
                l.record("create customer");
                customer.delete(&db).await
            },
        )
        .step(
            "wait forever",
            |db| async move {
                let mut tx = db.begin().await?;
                Order::new(1, "placed", 25.0, 1).insert(&mut tx).await?;
                std::future::pending::<()>().await;
                tx.commit().await
            },
            |_, ()| async { Ok(()) },
        );
    let timed_out = tokio::time::timeout(std::time::Duration::from_millis(300), saga.run(&t.db)).await;
    assert!(timed_out.is_err());

    // Step 1 stays done, nothing compensated; the step in flight rolled back.
    assert_eq!(log.entries(), Vec::<&str>::new());
    assert_eq!(t.counts().await, (1, 0, 0));
}
