//! The server restarts under load (`pg_ctl restart -m fast`), on a private
//! cluster of this test (`orm_tests::cluster`), never the shared server.
//!
//! Several tasks run model operations in a loop (insert, find, a filtered
//! count, a transaction) through a pool of 4 connections while the server
//! restarts. Each operation either succeeds with the right rows or fails
//! with a connection error (`ConnectionLost`, `PoolTimeout`); none hangs;
//! once the server is back the pool serves again within its acquire timeout;
//! each connection the restart killed fails one operation at most, and then
//! every task's operations succeed.
//!
//! A server that accepts connections but never answers them (its postmaster
//! suspended) costs a caller the acquire timeout and a connection error,
//! never a hang.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orm::prelude::*;
use orm::{Error, PoolOptions};
use orm_tests::cluster::Cluster;
use orm_tests::models::{order, Order};

/// Tasks running operations at once: more than the pool's connections, so
/// that some wait for one.
const TASKS: usize = 6;
const MAX_CONNECTIONS: u32 = 4;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How much later than the acquire timeout the pool may serve again after
/// the server is back: scheduling slack on a loaded machine.
const RECOVERY_MARGIN: Duration = Duration::from_secs(1);
/// An operation that takes this long hangs: well above the acquire timeout.
const HANG: Duration = Duration::from_secs(20);
/// Pauses between operations, longer after a failure (as a client backs
/// off), so that the tasks do not starve the server on two cores.
const PAUSE: Duration = Duration::from_millis(10);
const PAUSE_AFTER_FAILURE: Duration = Duration::from_millis(50);
/// After the pool serves again: time for the connections the restart killed
/// to be met and dropped, then the window in which everything must succeed.
const SETTLE: Duration = Duration::from_secs(2);
const FINAL_WINDOW: Duration = Duration::from_millis(1500);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Insert,
    Find,
    Count,
    Transaction,
}

enum Outcome {
    Ok,
    /// The operation returned this error: its variant name and message.
    Failed {
        kind: String,
        message: String,
    },
    /// The operation returned, with rows that are not the ones stored.
    Wrong(String),
    /// No answer within [`HANG`].
    Hung,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Failed { kind, message } => write!(f, "{kind}: {message}"),
            Outcome::Wrong(what) => write!(f, "wrong rows: {what}"),
            Outcome::Hung => write!(f, "no answer within {HANG:?}"),
        }
    }
}

struct Record {
    task: usize,
    op: Op,
    started: Instant,
    ended: Instant,
    outcome: Outcome,
}

/// The variant's name, from its `Debug` form (the enum is non-exhaustive),
/// and the message, with the SQLSTATE when the database sent one.
fn failed(e: &Error) -> Outcome {
    let debug = format!("{e:?}");
    let kind = debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned();
    let code = match e {
        Error::Query {
            source: sqlx::Error::Database(db),
            ..
        }
        | Error::ConnectionLost {
            source: sqlx::Error::Database(db),
            ..
        } => db.code().map(|c| format!(" [SQLSTATE {c}]")),
        _ => None,
    };
    Outcome::Failed {
        kind,
        message: format!("{e}{}", code.unwrap_or_default()).replace('\n', " "),
    }
}

/// One operation; `Ok(Some(..))` describes rows that are not what was stored.
async fn run(
    op: Op,
    db: &orm::Database,
    customer: i64,
    stored: &mut Vec<Order>,
) -> orm::Result<Option<String>> {
    match op {
        Op::Insert => {
            let n = stored.len() as f64;
            let row = Order::new(customer, "before", n, 1).insert(db).await?;
            stored.push(row);
        }
        Op::Find => {
            let Some(last) = stored.last() else {
                return Ok(None);
            };
            let found = Order::find(db, last.id).await?;
            if found.as_ref() != Some(last) {
                return Ok(Some(format!(
                    "find({}) gave {found:?}, stored {last:?}",
                    last.id
                )));
            }
        }
        Op::Count => {
            let n = Order::query()
                .filter(order::customer_id.eq(customer))
                .count(db)
                .await?;
            // Writes whose answer was lost may be stored too: at least these.
            if n < stored.len() as i64 {
                return Ok(Some(format!(
                    "count gave {n}, but {} rows were stored",
                    stored.len()
                )));
            }
        }
        Op::Transaction => {
            let mut tx = db.begin().await?;
            let row = Order::new(customer, "in tx", 0.5, 2)
                .insert(&mut tx)
                .await?;
            let found = Order::find(&mut tx, row.id).await?;
            if found.as_ref() != Some(&row) {
                return Ok(Some(format!(
                    "find({}) in the transaction gave {found:?}, stored {row:?}",
                    row.id
                )));
            }
            tx.commit().await?;
            stored.push(row);
        }
    }
    Ok(None)
}

async fn worker(
    task: usize,
    db: orm::Database,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Record>>>,
) {
    const OPS: [Op; 4] = [Op::Insert, Op::Find, Op::Count, Op::Transaction];
    let customer = 1000 + task as i64;
    let mut stored = Vec::new();
    for op in OPS.iter().copied().cycle() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let started = Instant::now();
        let outcome = match tokio::time::timeout(HANG, run(op, &db, customer, &mut stored)).await {
            Ok(Ok(None)) => Outcome::Ok,
            Ok(Ok(Some(wrong))) => Outcome::Wrong(wrong),
            Ok(Err(e)) => failed(&e),
            Err(_) => Outcome::Hung,
        };
        let pause = match outcome {
            Outcome::Ok => PAUSE,
            _ => PAUSE_AFTER_FAILURE,
        };
        let hung = matches!(outcome, Outcome::Hung);
        log.lock().unwrap().push(Record {
            task,
            op,
            started,
            ended: Instant::now(),
            outcome,
        });
        if hung {
            // Reported by the test; one hang per task is enough to see.
            break;
        }
        tokio::time::sleep(pause).await;
    }
}

/// When the server process started: changes with each restart.
async fn postmaster_start(db: &orm::Database) -> orm::Result<String> {
    let (t,): (String,) = orm::raw("SELECT CAST(pg_postmaster_start_time() AS TEXT)")
        .fetch_one(db.connection("db")?)
        .await?;
    Ok(t)
}

/// `t` relative to `zero`, signed, in seconds.
fn at(t: Instant, zero: Instant) -> String {
    if t >= zero {
        format!("+{:.3}s", (t - zero).as_secs_f64())
    } else {
        format!("-{:.3}s", (zero - t).as_secs_f64())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_recovers_from_a_server_restart_under_load() {
    let Some(cluster) = Cluster::new() else {
        return;
    };
    let cluster = Arc::new(cluster);
    let options = PoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT);
    let db = orm::Database::builder()
        .connection_with("db", &cluster.url(), options)
        .build()
        .await
        .unwrap();
    db.create_table::<Order>().await.unwrap();
    let first_start = postmaster_start(&db).await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::<Record>::new()));
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        tasks.spawn(worker(task, db.clone(), stop.clone(), log.clone()));
    }

    // Warm up: every task has done each operation twice, so the pool is
    // full of connections that the restart will kill.
    let warm_deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let warm = {
            let log = log.lock().unwrap();
            (0..TASKS).all(|t| {
                log.iter()
                    .filter(|r| r.task == t && matches!(r.outcome, Outcome::Ok))
                    .count()
                    >= 8
            })
        };
        if warm {
            break;
        }
        assert!(
            Instant::now() < warm_deadline,
            "the tasks did not warm up in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = db.metrics("db").unwrap();

    let down = Instant::now();
    let restarting = cluster.clone();
    let up = tokio::task::spawn_blocking(move || {
        restarting.restart();
        Instant::now()
    })
    .await
    .expect("pg_ctl restart");

    // Wait for the first success after the server is back (longer than
    // allowed, to report how long it really took).
    let recovered = loop {
        let first_ok = log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Ok) && r.ended >= up)
            .map(|r| r.ended)
            .min();
        if let Some(t) = first_ok {
            break Some(t);
        }
        if up.elapsed() > HANG {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    tokio::time::sleep(SETTLE).await;
    let final_from = Instant::now();
    tokio::time::sleep(FINAL_WINDOW).await;
    stop.store(true, Ordering::Relaxed);

    let mut faults: Vec<String> = Vec::new();
    let joined = tokio::time::timeout(HANG + Duration::from_secs(10), async {
        while let Some(r) = tasks.join_next().await {
            if let Err(e) = r {
                faults.push(format!("a task panicked: {e}"));
            }
        }
    })
    .await;
    if joined.is_err() {
        faults.push("tasks still running long after the test stopped them".into());
    }
    let after = db.metrics("db").unwrap();
    let second_start = postmaster_start(&db).await;

    let log = std::mem::take(&mut *log.lock().unwrap());
    let describe = |r: &Record| {
        format!(
            "task {} {:?} started {} ended {} (took {:.3}s): {}",
            r.task,
            r.op,
            at(r.started, down),
            at(r.ended, down),
            (r.ended - r.started).as_secs_f64(),
            r.outcome
        )
    };

    // A summary of what happened, printed whether or not the test passes.
    let phase = |r: &Record| {
        if r.ended < down {
            "before"
        } else if r.started < up {
            "during"
        } else if r.started < final_from {
            "after"
        } else {
            "final"
        }
    };
    let mut summary: std::collections::BTreeMap<(&str, String), usize> = Default::default();
    for r in &log {
        let what = match &r.outcome {
            Outcome::Ok => "ok".to_owned(),
            Outcome::Failed { kind, .. } => kind.clone(),
            Outcome::Wrong(_) => "wrong rows".to_owned(),
            Outcome::Hung => "hung".to_owned(),
        };
        *summary.entry((phase(r), what)).or_default() += 1;
    }
    println!(
        "restart: pg_ctl restart took {:.3}s (times below are from its start); server up at {}",
        (up - down).as_secs_f64(),
        at(up, down)
    );
    match recovered {
        Some(t) => println!(
            "first success after the server was up: {} ({:.3}s after up)",
            at(t, down),
            (t - up).as_secs_f64()
        ),
        None => println!("no success within {HANG:?} after the server was up"),
    }
    for ((phase, what), n) in &summary {
        println!("  {phase:>6} {what:<16} {n}");
    }
    println!("pool before the restart: {before:?}");
    println!("pool at the end:         {after:?}");
    let failures: Vec<&Record> = log
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Ok))
        .collect();
    for r in &failures {
        println!("  {}", describe(r));
    }

    // Every operation answered within HANG.
    for r in log.iter().filter(|r| matches!(r.outcome, Outcome::Hung)) {
        faults.push(format!("hung: {}", describe(r)));
    }
    // Answers are the rows stored, never others.
    for r in log
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Wrong(_)))
    {
        faults.push(format!("wrong rows: {}", describe(r)));
    }
    // Failures are connection errors, and only while the server restarts.
    for r in &failures {
        if let Outcome::Failed { kind, .. } = &r.outcome {
            if r.ended < down {
                faults.push(format!("failed before the restart: {}", describe(r)));
            } else if kind != "ConnectionLost" && kind != "PoolTimeout" {
                faults.push(format!(
                    "{kind}, not ConnectionLost or PoolTimeout: {}",
                    describe(r)
                ));
            }
        }
    }
    // The pool serves again within the acquire timeout once the server is up.
    match recovered {
        Some(t) if t - up <= ACQUIRE_TIMEOUT + RECOVERY_MARGIN => {}
        Some(t) => faults.push(format!(
            "the first success came {:.3}s after the server was up, more than the acquire timeout {ACQUIRE_TIMEOUT:?} + {RECOVERY_MARGIN:?}",
            (t - up).as_secs_f64()
        )),
        None => faults.push(format!(
            "no operation succeeded within {HANG:?} after the server was up"
        )),
    }
    // Each connection the restart killed fails one operation at most: once
    // the server is up, at most as many failures as the pool has connections.
    let after_up: Vec<&&Record> = failures
        .iter()
        .filter(|r| r.started >= up && matches!(r.outcome, Outcome::Failed { .. }))
        .collect();
    if after_up.len() > MAX_CONNECTIONS as usize {
        faults.push(format!(
            "{} operations started after the server was up failed, more than the {MAX_CONNECTIONS} connections the restart can have killed (a dead connection was handed out again)",
            after_up.len()
        ));
    }
    // The same, counted by the pool: statements that failed on a pooled
    // connection (a failed connect is no statement). Each connection the
    // restart killed fails one statement, then is closed; new ones work.
    let failed_statements = after.errors - before.errors;
    if failed_statements > u64::from(MAX_CONNECTIONS) {
        faults.push(format!(
            "{failed_statements} statements failed on pooled connections (pool metrics), but the restart can have killed {MAX_CONNECTIONS} at most ({} were open): a dead connection was handed out again after its first failure",
            before.size
        ));
    }
    // Then every task's operations succeed.
    for task in 0..TASKS {
        let last: Vec<&Record> = log
            .iter()
            .filter(|r| r.task == task && r.started >= final_from)
            .collect();
        if last.len() < 3 {
            faults.push(format!(
                "task {task} ran only {} operations in the last {FINAL_WINDOW:?}",
                last.len()
            ));
        }
        for r in last.iter().filter(|r| !matches!(r.outcome, Outcome::Ok)) {
            faults.push(format!(
                "{:.1}s after recovery: {}",
                (r.started - up).as_secs_f64(),
                describe(r)
            ));
        }
    }
    // The server really restarted.
    match second_start {
        Ok(t) if t != first_start => {}
        Ok(t) => faults.push(format!(
            "the server did not restart: started at {t} both times"
        )),
        Err(e) => faults.push(format!("after the test, a query failed: {e}")),
    }
    db.close();
    assert!(
        faults.is_empty(),
        "{} faults:\n{}\n--- server log ---\n{}",
        faults.len(),
        faults.join("\n"),
        cluster.log_tail(40)
    );
}

/// Whether `result` is what a caller should get from a server that never
/// answers: `PoolTimeout` after the acquire timeout (and well before twice
/// and a half of it), with a cause that says why, or `ConnectionLost`.
fn gave_up_in_time(result: &orm::Result<i64>, took: Duration, limit: Duration) -> bool {
    match result {
        Err(Error::PoolTimeout {
            cause: Some(cause), ..
        }) => {
            took >= limit
                && took < limit * 5 / 2
                && (cause.contains("opening a new connection did not finish in time")
                    || cause.contains("stayed in use"))
        }
        Err(Error::ConnectionLost { .. }) => took < limit * 5 / 2,
        _ => false,
    }
}

/// A server that accepts connections and never answers them (its
/// postmaster suspended): opening a connection gives up within the acquire
/// timeout with a connection error that says why, instead of waiting for
/// ever, at `build()` and in a pool that must open a new connection; the
/// gauges stay exact, and the pool serves again once the server answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_a_server_that_never_answers_gives_up_after_the_acquire_timeout() {
    const ACQUIRE: Duration = Duration::from_secs(2);
    const BOUND: Duration = Duration::from_secs(10);
    let Some(cluster) = Cluster::new() else {
        return;
    };
    // No idle connection survives: every operation opens one.
    let options = PoolOptions::new()
        .max_connections(2)
        .acquire_timeout(ACQUIRE)
        .idle_timeout(Some(Duration::from_millis(1)));
    let db = orm::Database::builder()
        .connection_with("db", &cluster.url(), options)
        .build()
        .await
        .unwrap();
    db.create_table::<Order>().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;

    let mut faults = Vec::new();
    {
        let _frozen = cluster.freeze();
        // Two callers open connections; a third waits for one of them.
        let mut tasks = tokio::task::JoinSet::new();
        for task in 0..3 {
            let db = db.clone();
            tasks.spawn(async move {
                let started = Instant::now();
                let result = tokio::time::timeout(BOUND, Order::count(&db)).await;
                (task, started.elapsed(), result)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let (task, took, result) = joined.expect("task");
            let outcome = match &result {
                Ok(Ok(n)) => format!("Ok({n})"),
                Ok(Err(e)) => failed(e).to_string(),
                Err(_) => format!("no answer within {BOUND:?}"),
            };
            println!(
                "frozen server: caller {task} after {:.3}s: {outcome}",
                took.as_secs_f64()
            );
            match result {
                Ok(result) if gave_up_in_time(&result, took, ACQUIRE) => {}
                _ => faults.push(format!(
                    "caller {task}: after {:.3}s (expected PoolTimeout with its cause after the acquire timeout {ACQUIRE:?}, or ConnectionLost, within 2.5 times it): {outcome}",
                    took.as_secs_f64()
                )),
            }
        }
        let m = db.metrics("db").unwrap();
        if (m.size, m.idle, m.in_use, m.waiting) != (0, 0, 0, 0) {
            faults.push(format!("gauges after the callers gave up: {m:?}"));
        }
        // A new pool cannot even be built: build() gives up the same way.
        let started = Instant::now();
        let built = tokio::time::timeout(
            BOUND,
            orm::Database::builder()
                .connection_with(
                    "db",
                    &cluster.url(),
                    PoolOptions::new().acquire_timeout(ACQUIRE),
                )
                .build(),
        )
        .await
        .map(|r| r.map(|_| 0));
        let took = started.elapsed();
        println!(
            "frozen server: build() after {:.3}s: {built:?}",
            took.as_secs_f64()
        );
        match built {
            Ok(built) if gave_up_in_time(&built, took, ACQUIRE) => {}
            other => faults.push(format!(
                "build() against the frozen server, after {:.3}s: {:?}",
                took.as_secs_f64(),
                other
            )),
        }
    }
    // Answering again: the pool serves within the acquire timeout.
    let started = Instant::now();
    match tokio::time::timeout(BOUND, Order::count(&db)).await {
        Ok(Ok(_)) if started.elapsed() <= ACQUIRE + RECOVERY_MARGIN => {}
        other => faults.push(format!(
            "after the server answers again, {:.3}s: {:?}",
            started.elapsed().as_secs_f64(),
            other.map(|r| r.map_err(|e| failed(&e).to_string()))
        )),
    }
    db.close();
    assert!(
        faults.is_empty(),
        "{} faults:\n{}",
        faults.len(),
        faults.join("\n")
    );
}
