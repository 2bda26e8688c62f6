//! The ORM through PgBouncer in transaction mode (`?pooler=transaction`),
//! on a PgBouncer of each test's own (`orm_tests::pgbouncer`) in front of
//! the shared server, with 2 server sessions for 16 client connections, so
//! that server sessions really pass from client to client.
//!
//! - Model operations, relation loads, transactions (commit, rollback, a
//!   savepoint) and an `IN` list run from 16 tasks at once, with the right
//!   rows every time; every statement ran on one of PgBouncer's 2 server
//!   sessions while the ORM had more client connections than that open.
//! - Without the option the same load fails (named prepared statements
//!   meet other clients' server sessions): the harness really shares them.
//! - Statement and lock timeouts are per transaction, never left on a
//!   server session another client gets; a statement past its time limit
//!   is cancelled on its own server process, never another client's.
//! - Migrations: two runners at once apply each migration once, and no
//!   lock outlives the run.
//! - A bad `pooler` value, or the option on another backend, is refused.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orm::prelude::*;
use orm::{Database, Error, PoolOptions, Pooler};
use orm_tests::blog::{author, post, Author, Post};
use orm_tests::models::{customer, Customer};
use orm_tests::pgbouncer::PgBouncer;
use orm_tests::TestDb;

/// PgBouncer's server sessions (`default_pool_size`).
const SERVER_SESSIONS: u32 = 2;
/// Tasks at once, each with a client connection of the ORM's pool.
const TASKS: usize = 16;
const ROUNDS: usize = 12;

/// A test schema on the shared server, a PgBouncer whose server sessions
/// start in it, and the ORM connected through it with `?pooler=transaction`.
async fn through_pgbouncer(options: PoolOptions) -> Option<(TestDb, PgBouncer, Database)> {
    through_pgbouncer_of(SERVER_SESSIONS, options).await
}

/// [`through_pgbouncer`] with `sessions` server sessions.
async fn through_pgbouncer_of(
    sessions: u32,
    options: PoolOptions,
) -> Option<(TestDb, PgBouncer, Database)> {
    let t = crate::db().await?;
    let bouncer = PgBouncer::builder()
        .pool_size(sessions)
        .search_path(t.schema().expect("a PostgreSQL test schema"))
        .start()?;
    let url = format!("{}?pooler=transaction", bouncer.url());
    let db = Database::builder()
        .connection_with("db", &url, options)
        .build()
        .await
        .unwrap_or_else(|e| panic!("connect through pgbouncer: {e}\n{}", bouncer.log_tail(20)));
    Some((t, bouncer, db))
}

fn clients() -> PoolOptions {
    PoolOptions::new().max_connections(TASKS as u32)
}

/// The server process that ran a statement.
async fn server_pid(db: &Database) -> i64 {
    let (pid,): (i64,) = orm::raw("SELECT CAST(pg_backend_pid() AS BIGINT)")
        .fetch_one(db.connection("db").unwrap())
        .await
        .unwrap();
    pid
}

/// One task's round of the suite's operations; returns the server
/// processes it saw. Every result is checked against what was written.
async fn round(db: &Database, task: usize, round: usize) -> BTreeSet<i64> {
    let tag = format!("{task}-{round}");
    let mut pids = BTreeSet::new();

    // CRUD.
    let mut c = Customer::new(&format!("{tag}@x.org"), &tag, task as i32)
        .insert(db)
        .await
        .unwrap();
    assert_eq!(
        Customer::find(db, c.customer_id).await.unwrap(),
        Some(c.clone())
    );
    c.name = format!("{tag}-renamed");
    c.update(db).await.unwrap();
    assert_eq!(
        Customer::find(db, c.customer_id)
            .await
            .unwrap()
            .unwrap()
            .name,
        c.name
    );
    pids.insert(server_pid(db).await);

    // A relation, lazily and in a batch.
    let a = Author::create(
        db,
        Author {
            id: 0,
            name: tag.clone(),
        },
    )
    .await
    .unwrap();
    let mut posts = Vec::new();
    for n in 1..=2 {
        let title = format!("{tag}-{n}");
        let post = Post {
            id: 0,
            author_id: a.id,
            title,
        };
        posts.push(Post::create(db, post).await.unwrap());
    }
    let (p1, p2) = (posts[0].clone(), posts[1].clone());
    assert_eq!(p1.author(db).await.unwrap(), a);
    let loaded = author::posts
        .load(std::slice::from_ref(&a), db)
        .await
        .unwrap();
    assert_eq!(loaded, [vec![p1.clone(), p2.clone()]]);
    let authors = post::author
        .load(&[p1.clone(), p2.clone()], db)
        .await
        .unwrap();
    assert_eq!(authors, [a.clone(), a.clone()]);

    // A transaction that commits, with a savepoint rolled back inside it.
    let mut tx = db.begin().await.unwrap();
    let kept = Customer::new(&format!("{tag}-kept@x.org"), "kept", 1)
        .insert(&mut tx)
        .await
        .unwrap();
    {
        let mut sp = tx.savepoint().await.unwrap();
        Customer::new(&format!("{tag}-undone@x.org"), "undone", 1)
            .insert(&mut sp)
            .await
            .unwrap();
        sp.rollback().await.unwrap();
    }
    assert_eq!(
        Customer::find(&mut tx, kept.customer_id).await.unwrap(),
        Some(kept.clone())
    );
    tx.commit().await.unwrap();
    assert_eq!(
        Customer::find(db, kept.customer_id).await.unwrap(),
        Some(kept.clone())
    );

    // A transaction that rolls back.
    let mut tx = db.begin().await.unwrap();
    let gone = Customer::new(&format!("{tag}-gone@x.org"), "gone", 1)
        .insert(&mut tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(Customer::find(db, gone.customer_id).await.unwrap(), None);

    // A query with an IN list.
    let ids = [c.customer_id, kept.customer_id, gone.customer_id];
    let mut found: Vec<i64> = Customer::query()
        .filter(customer::customer_id.is_in(ids))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.customer_id)
        .collect();
    found.sort();
    assert_eq!(found, [c.customer_id, kept.customer_id]);

    // Delete.
    kept.delete(db).await.unwrap();
    assert_eq!(Customer::find(db, kept.customer_id).await.unwrap(), None);
    pids.insert(server_pid(db).await);
    pids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crud_relations_and_transactions_pass_with_server_sessions_shared() {
    let Some((t, bouncer, db)) = through_pgbouncer(clients()).await else {
        return;
    };
    db.create_table::<Customer>().await.unwrap();
    db.create_table::<Author>().await.unwrap();
    db.create_table::<Post>().await.unwrap();
    let db = Arc::new(db);
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut pids = BTreeSet::new();
                for r in 0..ROUNDS {
                    pids.extend(round(&db, task, r).await);
                }
                pids
            })
        })
        .collect();
    let mut pids = BTreeSet::new();
    for task in tasks {
        let seen = orm_tests::within("a task's rounds", task).await;
        pids.extend(seen.unwrap_or_else(|e| panic!("{e}\n{}", bouncer.log_tail(20))));
    }
    let open = db.metrics("db").unwrap();
    assert!(
        open.size > u64::from(SERVER_SESSIONS),
        "the ORM had more client connections open than PgBouncer has server sessions: {open:?}"
    );
    assert!(
        pids.len() <= SERVER_SESSIONS as usize,
        "every statement ran on one of PgBouncer's {SERVER_SESSIONS} server sessions: {pids:?}"
    );
    // What the rows say, read directly: each round kept its renamed
    // customer, its author and two posts, and nothing else.
    let rounds = (TASKS * ROUNDS) as i64;
    assert_eq!(t.direct_count("customers").await, Some(rounds));
    assert_eq!(
        t.direct_count("customers WHERE name LIKE '%-renamed'")
            .await,
        Some(rounds)
    );
    assert_eq!(t.direct_count("authors").await, Some(rounds));
    assert_eq!(t.direct_count("posts").await, Some(2 * rounds));
    assert_eq!(open.errors, 0, "no statement failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_the_option_named_statements_break_on_shared_server_sessions() {
    let Some((t, bouncer, db)) = through_pgbouncer(clients()).await else {
        return;
    };
    customers_to_read(&db).await;
    // A PgBouncer that lets sqlx's startup packet in as it is (as many
    // are set up), connected to as if it were the server.
    drop(bouncer);
    let bouncer = PgBouncer::builder()
        .pool_size(SERVER_SESSIONS)
        .search_path(t.schema().unwrap())
        .ignore_startup_parameters("extra_float_digits")
        .start()
        .unwrap();
    let plain = Arc::new(
        Database::builder()
            .connection_with("db", &bouncer.url(), clients())
            .build()
            .await
            .unwrap(),
    );
    let failed = concurrent_reads(plain).await;
    assert!(failed > 0, "named prepared statements went through PgBouncer unharmed: is it really sharing server sessions?");
    drop(t);
}

/// The customers [`concurrent_reads`] reads, in a new table.
async fn customers_to_read(db: &Database) {
    db.create_table::<Customer>().await.unwrap();
    for i in 0..TASKS {
        let c = Customer::new(&format!("{i}@x.org"), "c", i as i32);
        c.insert(db).await.unwrap();
    }
}

/// Reads of the customers `1..=TASKS` (customer `i + 1` has score `i`)
/// from [`TASKS`] tasks at once, [`ROUNDS`] each: how many failed or read
/// the wrong rows.
async fn concurrent_reads(db: Arc<Database>) -> usize {
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut failed = 0;
                for _ in 0..ROUNDS {
                    let by_key = Customer::find(&*db, (i + 1) as i64).await;
                    let by_score = Customer::query()
                        .filter(customer::score.eq(i as i32))
                        .all(&*db)
                        .await;
                    match (by_key, by_score) {
                        (Ok(Some(a)), Ok(b)) if a.score == i as i32 && b == [a.clone()] => {}
                        _ => failed += 1,
                    }
                }
                failed
            })
        })
        .collect();
    let mut failed = 0;
    for task in tasks {
        failed += orm_tests::within("a task's reads", task).await.unwrap();
    }
    failed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn timeouts_are_per_transaction_and_cancels_reach_the_right_server_process() {
    let Some(t) = crate::db().await else { return };
    let schema = t.schema().unwrap().to_owned();
    // One reserve session: a cancel request needs a server session while
    // both others are busy (see `Pooler`).
    let Some(bouncer) = PgBouncer::builder()
        .pool_size(SERVER_SESSIONS)
        .reserve_pool_size(1)
        .search_path(&schema)
        .start()
    else {
        return;
    };
    let url = format!("{}?pooler=transaction", bouncer.url());
    let timed = PoolOptions::new()
        .statement_timeout(Some(Duration::from_millis(300)))
        .lock_timeout(Some(Duration::from_millis(200)));
    let limited = Database::builder()
        .connection_with("db", &url, timed)
        .build()
        .await
        .unwrap();
    let plain = Database::builder()
        .connection_with("db", &url, clients())
        .build()
        .await
        .unwrap();

    // The pool's statement timeout stops a statement, in and out of a transaction.
    let err = orm::raw("SELECT pg_sleep(3)")
        .execute(limited.connection("db").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StatementTimeout { .. }), "{err:?}");
    let mut tx = limited.begin().await.unwrap();
    let err = orm::raw("SELECT pg_sleep(3)")
        .execute(&mut tx)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StatementTimeout { .. }), "{err:?}");
    drop(tx);

    // The pool's lock timeout.
    limited.create_table::<Customer>().await.unwrap();
    let mut holder = plain.begin().await.unwrap();
    orm::raw("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();
    let err = Customer::count(&limited).await.unwrap_err();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err:?}");
    holder.rollback().await.unwrap();

    // Neither reached a server session that another client gets next:
    // every server session PgBouncer has still has the server's defaults.
    for _ in 0..3 * SERVER_SESSIONS {
        let mut tx = plain.begin().await.unwrap();
        let (statement, lock): (String, String) = orm::raw(
            "SELECT current_setting('statement_timeout'), current_setting('lock_timeout')",
        )
        .fetch_one(&mut tx)
        .await
        .unwrap();
        assert_eq!(
            (statement.as_str(), lock.as_str()),
            ("0", "0"),
            "a session setting leaked"
        );
        tx.commit().await.unwrap();
    }

    // A statement past the caller's limit is cancelled on its own server
    // process, while another client's statement runs on the other one.
    let other = {
        let plain = plain.clone();
        tokio::spawn(async move {
            orm::raw("SELECT pg_sleep(1.5)")
                .execute(plain.connection("db").unwrap())
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let limit = Duration::from_millis(300);
    let err = orm::raw("SELECT pg_sleep(10)")
        .execute(plain.connection("db").unwrap().statement_timeout(limit))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StatementTimeout { .. }), "{err:?}");
    assert_prompt(started);
    other
        .await
        .unwrap()
        .expect("the other client's statement was not cancelled");
    assert!(
        plain.metrics("db").unwrap().cancels >= 1,
        "a cancel request was sent"
    );

    // A transaction's deadline stops its statement, and the transaction.
    let started = Instant::now();
    let mut tx = plain
        .begin_with(orm::TransactionOptions::new().timeout(limit))
        .await
        .unwrap();
    let err = orm::raw("SELECT pg_sleep(10)").execute(&mut tx).await;
    assert!(matches!(err, Err(Error::Timeout { .. })), "{err:?}");
    assert_prompt(started);
    assert!(matches!(tx.commit().await, Err(Error::Timeout { .. })));
}

/// A statement stopped for its time limit stopped well before its 10 s
/// sleep, and before the 5 s this crate waits for a cancel to work.
fn assert_prompt(started: Instant) {
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "stopped late: {took:?}");
}

mod migrations {
    use super::*;
    use orm::migrate::{rollback, run, status, Column, Migration, Operation, Table};
    use orm::SqlType;

    fn migrations() -> Vec<Migration> {
        let table =
            |name: &str| Table::new(name, Column::new("id", SqlType::BigInt).auto_increment());
        vec![
            Migration::new("0001_create_gadgets")
                .up(Operation::CreateTable {
                    table: table("gadgets"),
                })
                // Long enough for the second runner to arrive during the first.
                .up(Operation::sql_for_all("SELECT pg_sleep(0.5)"))
                .down(Operation::DropTable {
                    table: table("gadgets"),
                }),
            Migration::new("0002_create_widgets")
                .up(Operation::CreateTable {
                    table: table("widgets"),
                })
                .down(Operation::DropTable {
                    table: table("widgets"),
                }),
        ]
    }

    /// Advisory locks held on the server now.
    /// Advisory locks held on this test schema's migration key (the
    /// runner's `hashtext(current_schema() || '.orm_migrations')`): other
    /// tests on the shared server hold locks of their own meanwhile.
    async fn advisory_locks(t: &TestDb) -> i64 {
        t.direct()
            .await
            .scalar(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 \
                 AND objid::bigint = (hashtext(current_schema() || '.orm_migrations')::bigint & 4294967295)",
            )
            .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_runners_through_pgbouncer_apply_each_migration_once_and_leave_no_lock() {
        // Three server sessions and other clients' statements meanwhile, so
        // that a runner's statements do not all find the same session free:
        // a session lock would be taken on one and released (or not) on another.
        let Some((t, bouncer, db)) = through_pgbouncer_of(3, clients()).await else {
            return;
        };
        let other = Database::builder()
            .connection_with(
                "db",
                &format!("{}?pooler=transaction", bouncer.url()),
                clients(),
            )
            .build()
            .await
            .unwrap();
        let busy = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let noise: Vec<_> = (0..4)
            .map(|_| {
                let (db, busy) = (db.clone(), busy.clone());
                tokio::spawn(async move {
                    while busy.load(std::sync::atomic::Ordering::Relaxed) {
                        server_pid(&db).await;
                    }
                })
            })
            .collect();
        let all = migrations();
        let runs = async { tokio::join!(run(&db, "db", &all), run(&other, "db", &all)) };
        let (a, b) = orm_tests::within("two migration runs", runs).await;
        busy.store(false, std::sync::atomic::Ordering::Relaxed);
        for task in noise {
            task.await.unwrap();
        }
        let (a, b) = (a.unwrap(), b.unwrap());
        let mut applied: Vec<String> = a.iter().chain(&b).cloned().collect();
        applied.sort();
        assert_eq!(
            applied,
            ["0001_create_gadgets", "0002_create_widgets"],
            "{a:?} {b:?}"
        );
        assert_eq!(
            advisory_locks(&t).await,
            0,
            "the migration lock outlived the run"
        );
        assert!(
            run(&db, "db", &all).await.unwrap().is_empty(),
            "nothing pending"
        );
        assert_eq!(status(&other, "db").await.unwrap().len(), 2);
        assert_eq!(rollback(&db, "db", &all, None).await.unwrap().len(), 2);
        assert_eq!(
            advisory_locks(&t).await,
            0,
            "the migration lock outlived the rollback"
        );
        assert_eq!(t.direct_count("gadgets").await, None);
        assert!(status(&db, "db").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_failing_migration_through_pgbouncer_keeps_the_ones_before_it() {
        let Some((t, _bouncer, db)) = through_pgbouncer(clients()).await else {
            return;
        };
        let mut all = migrations();
        all[1] = all[1]
            .clone()
            .up(Operation::sql_for_all("SELECT * FROM no_such_table"));
        let err = run(&db, "db", &all).await.unwrap_err();
        assert!(
            matches!(&err, Error::Migration { message } if message.contains("0002_create_widgets")),
            "{err:?}"
        );
        let names: Vec<String> = status(&db, "db")
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, ["0001_create_gadgets"]);
        assert_eq!(
            t.direct_count("gadgets").await,
            Some(0),
            "the first migration is committed"
        );
        assert_eq!(
            t.direct_count("widgets").await,
            None,
            "the failed one left nothing"
        );
        assert_eq!(advisory_locks(&t).await, 0);
    }
}

#[tokio::test]
async fn a_bad_pooler_value_is_refused_naming_the_connection() {
    let Ok(url) = std::env::var(orm_tests::POSTGRES_VAR) else {
        return;
    };
    for (value, says) in [
        ("bogus", "unknown `pooler` value `bogus`"),
        ("statement", "cannot run transactions"),
    ] {
        let err = Database::connect(&format!("{url}?pooler={value}"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidUrl { connection, reason, .. } if connection == "db" && reason.contains(says)),
            "{value}: {err}"
        );
    }
    let err = Database::connect(&format!("{url}?pooler=transaction&pooler=session"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidUrl { reason, .. } if reason.contains("twice")),
        "{err}"
    );
    // Session options would be lost between transactions.
    let err = Database::connect(&format!(
        "{url}?options=-c%20search_path%3Dx&pooler=transaction"
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidUrl { reason, .. } if reason.contains("options")),
        "{err}"
    );
    // PostgreSQL only: by URL and by the builder.
    let err = Database::connect("sqlite::memory:?pooler=transaction")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidUrl { reason, .. } if reason.contains("PostgreSQL")),
        "{err}"
    );
    let err = Database::builder()
        .connection_with(
            "db",
            "sqlite::memory:",
            PoolOptions::new().pooler(Pooler::Transaction),
        )
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidConfig { connection, .. } if connection == "db"),
        "{err}"
    );
    // `session` is the default, spelled out.
    Database::connect(&format!("{url}?pooler=session"))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_builder_option_works_like_the_url_parameter() {
    let Some(t) = crate::db().await else { return };
    let Some(bouncer) = PgBouncer::builder()
        .search_path(t.schema().unwrap())
        .start()
    else {
        return;
    };
    let db = Database::builder()
        .connection_with("db", &bouncer.url(), clients().pooler(Pooler::Transaction))
        .build()
        .await
        .unwrap();
    customers_to_read(&db).await;
    assert_eq!(
        concurrent_reads(Arc::new(db)).await,
        0,
        "reads failed or read wrong rows"
    );
}

#[tokio::test]
async fn a_read_only_connection_is_read_only_in_every_transaction() {
    let Some((t, bouncer, db)) = through_pgbouncer(clients()).await else {
        return;
    };
    db.create_table::<Customer>().await.unwrap();
    let url = format!("{}?pooler=transaction", bouncer.url());
    let reader = Database::builder()
        .connection_with("db", &url, clients())
        .read_only("db")
        .build()
        .await
        .unwrap();
    let insert =
        "INSERT INTO customers (email, name, active, score) VALUES ('r@x.org', 'r', true, 1)";
    for _ in 0..3 * SERVER_SESSIONS {
        let err = orm::raw(insert)
            .execute(reader.connection("db").unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ReadOnly { .. }), "{err:?}");
    }
    let mut tx = reader.begin().await.unwrap();
    let err = orm::raw(insert).execute(&mut tx).await.unwrap_err();
    assert!(matches!(err, Error::ReadOnly { .. }), "{err:?}");
    drop(tx);
    // The writable connection, on the same server sessions, still writes.
    for _ in 0..3 * SERVER_SESSIONS {
        let (on,): (String,) = orm::raw("SELECT current_setting('transaction_read_only')")
            .fetch_one(db.connection("db").unwrap())
            .await
            .unwrap();
        assert_eq!(
            on, "off",
            "read-only leaked to another client's transaction"
        );
    }
    orm::raw(insert)
        .execute(db.connection("db").unwrap())
        .await
        .unwrap();
    assert_eq!(t.direct_count("customers").await, Some(1));
}
