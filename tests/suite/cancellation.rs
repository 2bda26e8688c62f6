// Futures dropped at every await point of begin, a statement, a savepoint,
// commit and rollback, 1,000 times each: afterwards no pooled connection is
// ever handed out inside a transaction, and no uncommitted row is ever
// visible. The drop point is chosen by polling the operation a given number
// of times and dropping it if it is still pending, so every await point is
// reached as the count goes round.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use orm::prelude::*;
use orm::PoolOptions;
use orm_tests::direct::Direct;
use orm_tests::models::{customer, Customer};

/// Polls the inner future at most `left` times; still pending then, it is
/// dropped (`None`).
struct CancelAfter<F> {
    inner: Pin<Box<F>>,
    left: u32,
}

fn cancel_after<F: Future>(polls: u32, inner: F) -> CancelAfter<F> {
    CancelAfter { inner: Box::pin(inner), left: polls }
}

impl<F: Future> Future for CancelAfter<F> {
    type Output = Option<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        match self.inner.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready(Some(v)),
            Poll::Pending if self.left == 0 => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Point {
    Begin,
    Statement,
    Savepoint,
    Commit,
    Rollback,
}

const ROUNDS: usize = 1000;
/// The drop point goes round 1..=MAX_POLLS polls.
const MAX_POLLS: u32 = 8;

async fn visible(direct: &mut Direct, name: &str) -> i64 {
    direct.scalar(&format!("SELECT COUNT(*) FROM customers WHERE name = '{name}'")).await
}

fn row(name: &str, n: usize) -> Customer {
    Customer::new(&format!("{name}-{n}@x.org"), name, 1)
}

async fn storm(point: Point) {
    let Some(t) = crate::db().await else { return };
    t.db.create_table::<Customer>().await.unwrap();
    let db = orm::Database::builder()
        .connection_with("db", &t.url, PoolOptions::new().max_connections(3))
        .build()
        .await
        .unwrap();
    let mut direct = t.direct().await;
    let mut completed = 0;
    for i in 0..ROUNDS {
        let polls = (i as u32 % MAX_POLLS) + 1;
        let name = format!("{point:?}{i}");
        // What may be visible of this round's rows: nothing, unless the
        // commit went through (then all of them).
        let mut may_be_committed = false;
        let mut committed = false;
        match point {
            Point::Begin => {
                if let Some(tx) = cancel_after(polls, db.begin()).await {
                    completed += 1;
                    let mut tx = tx.unwrap();
                    row(&name, 0).insert(&mut tx).await.unwrap();
                    drop(tx);
                }
            }
            Point::Statement => {
                let mut tx = db.begin().await.unwrap();
                if let Some(r) = cancel_after(polls, row(&name, 0).insert(&mut tx)).await {
                    completed += 1;
                    r.unwrap();
                }
                drop(tx);
            }
            Point::Savepoint => {
                let mut tx = db.begin().await.unwrap();
                row(&name, 0).insert(&mut tx).await.unwrap();
                if let Some(sp) = cancel_after(polls, tx.savepoint()).await {
                    completed += 1;
                    let mut sp = sp.unwrap();
                    row(&name, 1).insert(&mut sp).await.unwrap();
                    drop(sp);
                }
                drop(tx);
            }
            Point::Commit => {
                let mut tx = db.begin().await.unwrap();
                row(&name, 0).insert(&mut tx).await.unwrap();
                row(&name, 1).insert(&mut tx).await.unwrap();
                may_be_committed = true;
                if let Some(r) = cancel_after(polls, tx.commit()).await {
                    completed += 1;
                    r.unwrap();
                    committed = true;
                }
            }
            Point::Rollback => {
                let mut tx = db.begin().await.unwrap();
                row(&name, 0).insert(&mut tx).await.unwrap();
                if let Some(r) = cancel_after(polls, tx.rollback()).await {
                    completed += 1;
                    r.unwrap();
                }
            }
        }
        // The pool never hands out a connection inside a transaction: a
        // write through it is visible to another session at once.
        let marker = format!("{name}m");
        row(&marker, 0).insert(&db).await.unwrap();
        assert_eq!(visible(&mut direct, &marker).await, 1, "round {i}: a pooled connection was inside a transaction");
        // No uncommitted row is ever visible: all of a transaction or none.
        let seen = visible(&mut direct, &name).await;
        match (committed, may_be_committed) {
            (true, _) => assert_eq!(seen, 2, "round {i}: a committed transaction is missing rows"),
            (false, true) => assert!(seen == 0 || seen == 2, "round {i}: {seen} rows of a two-row transaction"),
            (false, false) => assert_eq!(seen, 0, "round {i}: {seen} uncommitted rows visible"),
        }
    }
    // Every connection comes back (rollbacks of dropped transactions run in
    // the background) and every gauge is exact.
    let started = Instant::now();
    loop {
        let m = db.metrics("db").unwrap();
        if m.in_use == 0 {
            assert_eq!((m.waiting, m.idle), (0, m.size), "{m:?}");
            assert!(m.size <= 3, "{m:?}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "connections never came back: {m:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Only marker rows remain, and committed transactions' rows.
    let stray = Customer::query().filter(!customer::name.ends_with("m")).count(&db).await.unwrap();
    if point != Point::Commit {
        assert_eq!(stray, 0);
    }
    eprintln!("{:?} {point:?}: {completed} of {ROUNDS} operations finished before their drop point", crate::KIND);
    assert!(completed > 0 && completed < ROUNDS, "the drop points missed the operation: {completed} completed");
    db.close();
}

#[tokio::test]
async fn futures_dropped_during_begin() {
    storm(Point::Begin).await;
}

#[tokio::test]
async fn futures_dropped_during_a_statement() {
    storm(Point::Statement).await;
}

#[tokio::test]
async fn futures_dropped_during_a_savepoint() {
    storm(Point::Savepoint).await;
}

#[tokio::test]
async fn futures_dropped_during_commit() {
    storm(Point::Commit).await;
}

#[tokio::test]
async fn futures_dropped_during_rollback() {
    storm(Point::Rollback).await;
}
