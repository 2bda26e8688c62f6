//! Runs this ORM and its peers side by side, interleaved, in one process,
//! and reports medians and ratios to raw sqlx on a bare connection.
//!
//!     cargo run --release              # quick mode (under 3 minutes)
//!     cargo run --release -- --full    # more rounds and sizes
//!     cargo run --release -- --write   # also write bench-results.md
//!     cargo run --release -- --check   # answers only, no timing (CI)
//!     cargo run --release -- --report  # only the report workload (issue 12)
//!     cargo run --release -- --replicas # only the read-replica routing cost (issue 13)
//!
//! PostgreSQL: ORM_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test);
//! the tables live in a schema `orm_bench` that the run recreates
//! (ORM_BENCH_SCHEMA names another, for runs side by side on one server:
//! each would drop the other's tables).

mod common;
mod imp_diesel;
mod imp_orm;
mod imp_seaorm;
mod imp_sqlx;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use common::{Bench, Db, Loaded, NewUser, ReportRow, UserRow};
use sqlx::{AssertSqlSafe, Connection};

/// One implementation, by value: the harness dispatches with a `match`.
/// (Not boxed: a box would add an indirection to the timed calls of one
/// implementation only.)
#[allow(clippy::large_enum_variant)]
enum Imp {
    Orm(imp_orm::Orm),
    /// This ORM with the same server as primary and as one replica, reads
    /// routed to the replica with read-your-writes off.
    OrmReplica(imp_orm::Orm),
    /// The same with the default sticky window (no write through the
    /// handle, so every read still goes to the replica after the check).
    OrmReplicaSticky(imp_orm::Orm),
    SqliteBare(imp_sqlx::SqliteBare),
    SqlitePool(imp_sqlx::SqlitePool),
    PgBare(imp_sqlx::PgBare),
    PgPool(imp_sqlx::PgPool),
    DieselSqlite(imp_diesel::Diesel<diesel::SqliteConnection>),
    DieselPg(imp_diesel::Diesel<diesel::PgConnection>),
    DieselAsync(imp_diesel::DieselAsync),
    SeaOrm(imp_seaorm::SeaOrm),
}

macro_rules! on {
    ($imp:expr, $b:ident => $e:expr) => {
        match $imp {
            Imp::Orm($b) => $e,
            Imp::OrmReplica($b) => $e,
            Imp::OrmReplicaSticky($b) => $e,
            Imp::SqliteBare($b) => $e,
            Imp::SqlitePool($b) => $e,
            Imp::PgBare($b) => $e,
            Imp::PgPool($b) => $e,
            Imp::DieselSqlite($b) => $e,
            Imp::DieselPg($b) => $e,
            Imp::DieselAsync($b) => $e,
            Imp::SeaOrm($b) => $e,
        }
    };
}

impl Imp {
    fn name(&self) -> &'static str {
        match self {
            Imp::Orm(_) => "orm",
            Imp::OrmReplica(_) => "orm, replica",
            Imp::OrmReplicaSticky(_) => "orm, replica, sticky",
            Imp::SqliteBare(_) | Imp::PgBare(_) => "sqlx (bare)",
            Imp::SqlitePool(_) | Imp::PgPool(_) => "sqlx (pool)",
            Imp::DieselSqlite(_) | Imp::DieselPg(_) => "diesel",
            Imp::DieselAsync(_) => "diesel-async",
            Imp::SeaOrm(_) => "sea-orm",
        }
    }

    /// Whether the library has what `op` measures: sqlx has no closure API
    /// (its explicit form runs on the bare connection, as the floor).
    fn has(&self, op: Op) -> bool {
        match self {
            // Only reads: a write would put the sticky handle's reads on
            // the primary for its window.
            Imp::OrmReplica(_) | Imp::OrmReplicaSticky(_) => matches!(op, Op::Find),
            Imp::SqlitePool(_) | Imp::PgPool(_) => !matches!(op, Op::TransactionClosure),
            _ => true,
        }
    }
}

/// What one call of a workload returned, to compare implementations.
#[derive(Debug, PartialEq)]
enum Answer {
    Trivial(usize, String),
    Medium(usize, usize),
    Count(usize),
    Loaded(Loaded),
    User(UserRow),
    Report(Vec<ReportRow>),
    Done,
    /// A write, with what raw sqlx read back after it: how many users it
    /// added, and the user it renamed.
    Wrote {
        returned: Box<Answer>,
        users_added: usize,
        user: UserRow,
    },
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Trivial,
    Medium,
    Insert(usize),
    Associations,
    Find,
    Update,
    Transaction,
    Savepoint,
    TransactionClosure,
    Report,
}

impl Op {
    fn writes(self) -> bool {
        matches!(
            self,
            Op::Insert(_) | Op::Update | Op::Transaction | Op::Savepoint | Op::TransactionClosure
        )
    }
}

async fn run(imp: &mut Imp, op: Op, inserts: &[NewUser], i: usize) -> Answer {
    let id = (i % 50) as i32 + 1;
    on!(imp, b => match op {
        Op::Trivial => {
            let (n, last) = b.trivial().await;
            Answer::Trivial(n, last)
        }
        Op::Medium => {
            let (n, with) = b.medium().await;
            Answer::Medium(n, with)
        }
        Op::Insert(n) => Answer::Count(b.insert(&inserts[..n]).await),
        Op::Associations => Answer::Loaded(b.associations().await),
        Op::Find => Answer::User(b.find(id).await),
        Op::Update => {
            b.update(id, "renamed").await;
            Answer::Done
        }
        Op::Transaction => {
            b.transaction(id, "tx").await;
            Answer::Done
        }
        Op::Savepoint => {
            b.savepoint(id, "sp").await;
            Answer::Done
        }
        Op::TransactionClosure => {
            b.transaction_closure(id, "closure").await;
            Answer::Done
        }
        Op::Report => Answer::Report(b.report().await),
    })
}

/// One call of `op` by `imps[k]`, as `run(.., 0)` makes it (on user 1); for
/// a write, with what raw sqlx (`imps[0]`) reads back around it.
async fn answer(imps: &mut [Imp], k: usize, op: Op, inserts: &[NewUser]) -> Answer {
    if !op.writes() {
        return run(&mut imps[k], op, inserts, 0).await;
    }
    let before = on!(&mut imps[0], b => {
        // A name that no workload writes, so that the rename shows.
        b.update(1, "before").await;
        b.trivial().await.0
    });
    let returned = Box::new(run(&mut imps[k], op, inserts, 0).await);
    let (after, user) = on!(&mut imps[0], b => (b.trivial().await.0, b.find(1).await));
    Answer::Wrote {
        returned,
        users_added: after - before,
        user,
    }
}

struct Config {
    rounds: usize,
    /// Target length of one timed sample.
    sample: Duration,
    sizes: Vec<usize>,
    insert_sizes: Vec<usize>,
    write: bool,
    /// `--check`: every answer checked once, nothing timed.
    check: bool,
    /// `--report`: only the report workload.
    report_only: bool,
    /// `--replicas`: only the read-replica workload (PostgreSQL).
    replicas_only: bool,
}

struct Cell {
    workload: String,
    /// Median time per operation of each implementation, by name.
    medians: Vec<(&'static str, Duration)>,
    /// Each implementation's time per operation in each round, in the
    /// order of `medians`.
    rounds: Vec<Vec<Duration>>,
}

/// The data of Diesel's suite: `n` users with alternating hair colors; for
/// associations, 100 users x 10 posts x 10 comments.
async fn reset(admin: &mut Admin, users: usize, with_posts: bool) {
    admin.exec(&admin.schema()).await;
    let mut sql = String::new();
    for chunk in (0..users).collect::<Vec<_>>().chunks(500) {
        sql.clear();
        sql.push_str("INSERT INTO users (name, hair_color) VALUES ");
        for (k, i) in chunk.iter().enumerate() {
            let color = if i % 2 == 0 { "'black'" } else { "'brown'" };
            let _ = write!(
                sql,
                "{}('User {i}', {color})",
                if k > 0 { ", " } else { "" }
            );
        }
        admin.exec(&sql).await;
    }
    if with_posts {
        for u in 1..=users {
            let mut sql = String::from("INSERT INTO posts (user_id, title, body) VALUES ");
            for p in 0..10 {
                let _ = write!(
                    sql,
                    "{}({u}, 'Post {p} by {u}', NULL)",
                    if p > 0 { ", " } else { "" }
                );
            }
            admin.exec(&sql).await;
        }
        let posts = users * 10;
        for p in 1..=posts {
            let mut sql = String::from("INSERT INTO comments (post_id, text) VALUES ");
            for c in 0..10 {
                let _ = write!(
                    sql,
                    "{}({p}, 'Comment {c} on {p}')",
                    if c > 0 { ", " } else { "" }
                );
            }
            admin.exec(&sql).await;
        }
    }
}

/// The data of the report workload: the associations' 100 users x 10 posts
/// x 10 comments, thinned so that user u keeps u % 7 comments on each of
/// their posts: 0 to 60 comments a user, 14 or 15 users on each count, so
/// that the rank has ties and gaps. (Post ids run 10(u-1)+1..=10u for user u,
/// comment ids 10(p-1)+1..=10p for post p, as `reset` inserts them.)
async fn reset_report(admin: &mut Admin) {
    reset(admin, 100, true).await;
    admin.exec(common::THIN_FOR_REPORT).await;
}

enum Admin {
    Sqlite(sqlx::SqliteConnection),
    Pg(sqlx::PgConnection),
}

impl Admin {
    async fn exec(&mut self, sql: &str) {
        let sql = AssertSqlSafe(sql.to_owned());
        match self {
            Admin::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
            Admin::Pg(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
        }
        .expect("admin statement");
    }

    fn schema(&self) -> String {
        common::schema(match self {
            Admin::Sqlite(_) => Db::Sqlite,
            Admin::Pg(_) => Db::Postgres,
        })
    }
}

async fn implementations(db: Db, url: &str, sqlite_path: &str) -> Vec<Imp> {
    let pool = 10;
    match db {
        Db::Sqlite => vec![
            Imp::SqliteBare(imp_sqlx::sqlite_bare(url).await),
            Imp::Orm(imp_orm::Orm::connect(url, pool).await),
            Imp::SqlitePool(imp_sqlx::sqlite_pool(url, pool).await),
            Imp::DieselSqlite(imp_diesel::sqlite(sqlite_path)),
            Imp::SeaOrm(imp_seaorm::connect(url, pool).await),
        ],
        Db::Postgres => vec![
            Imp::PgBare(imp_sqlx::pg_bare(url).await),
            Imp::Orm(imp_orm::Orm::connect(url, pool).await),
            Imp::PgPool(imp_sqlx::pg_pool(url, pool).await),
            Imp::DieselPg(imp_diesel::postgres(url)),
            Imp::DieselAsync(imp_diesel::postgres_async(url).await),
            Imp::SeaOrm(imp_seaorm::connect(url, pool).await),
        ],
    }
}

/// The benchmark runs on CPU 0 (see `main`) and the PostgreSQL server
/// processes on CPU 1: otherwise each connection's speed depends on which
/// core its server process happened to land on, and the results on a
/// two-core machine come out bimodal. Only processes named `postgres` (the
/// server's), not every command line that mentions it.
async fn pin_server_processes() {
    server_affinity("1");
}

/// Gives the server processes every CPU again (when the run ends, also on a
/// panic), so that the server does not stay pinned for whoever uses it next.
struct UnpinServer;

impl Drop for UnpinServer {
    fn drop(&mut self) {
        let online = std::fs::read_to_string("/sys/devices/system/cpu/online")
            .unwrap_or_else(|_| "0-1023".into());
        server_affinity(online.trim());
    }
}

fn server_affinity(cpus: &str) {
    let Ok(out) = std::process::Command::new("pgrep")
        .args(["-x", "postgres"])
        .output()
    else {
        return;
    };
    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let _ = std::process::Command::new("taskset")
            .args(["-p", "-c", cpus, pid])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Checks every implementation's answer against raw sqlx's, warms up, then
/// times interleaved rounds; returns the median time per operation (none
/// with `--check`). An implementation without the feature is left out.
async fn measure(
    all: &mut [Imp],
    op: Op,
    inserts: &[NewUser],
    cfg: &Config,
    label: String,
) -> Cell {
    let expected = answer(all, 0, op, inserts).await;
    for k in 1..all.len() {
        if !all[k].has(op) {
            continue;
        }
        let got = answer(all, k, op, inserts).await;
        assert_eq!(
            got,
            expected,
            "{} gave another answer than raw sqlx for {label}",
            all[k].name()
        );
    }
    if cfg.check {
        eprintln!("  {label}: answers agree");
        return Cell {
            workload: label,
            medians: Vec::new(),
            rounds: Vec::new(),
        };
    }
    let mut imps: Vec<&mut Imp> = all.iter_mut().filter(|imp| imp.has(op)).collect();
    // Warm-up, and how many calls make one sample of about `cfg.sample`.
    let mut iters = Vec::new();
    for imp in imps.iter_mut() {
        let t = Instant::now();
        let mut n = 0;
        while t.elapsed() < cfg.sample / 2 || n < 3 {
            run(imp, op, inserts, n).await;
            n += 1;
        }
        let per = t.elapsed() / n as u32;
        iters.push(((cfg.sample.as_nanos() / per.as_nanos().max(1)) as usize).clamp(1, 10_000));
    }
    let mut samples: Vec<Vec<Duration>> = imps.iter().map(|_| Vec::new()).collect();
    for round in 0..cfg.rounds {
        pin_server_processes().await;
        // Rotate the order so that no implementation always runs first.
        for k in 0..imps.len() {
            let i = (k + round) % imps.len();
            let t = Instant::now();
            for call in 0..iters[i] {
                run(&mut *imps[i], op, inserts, call).await;
            }
            samples[i].push(t.elapsed() / iters[i] as u32);
        }
    }
    let medians = imps
        .iter()
        .zip(&samples)
        .map(|(imp, s)| (imp.name(), median(s.clone())))
        .collect();
    eprintln!("  {label}: done");
    Cell {
        workload: label,
        medians,
        rounds: samples,
    }
}

/// 1, 16 and 256 tasks sharing a pool of 10, each task finding users by key.
async fn pool_contention(db: Db, url: &str, tasks: usize, cfg: &Config) -> Cell {
    let per_task = 200 / tasks.min(200) + 4;
    let orm = imp_orm::Orm::connect(url, 10).await;
    let sea = imp_seaorm::connect(url, 10).await;
    let (pg_pool, sqlite_pool) = match db {
        Db::Postgres => (Some(imp_sqlx::pg_pool(url, 10).await.conn), None),
        Db::Sqlite => (None, Some(imp_sqlx::sqlite_pool(url, 10).await.conn)),
    };
    let mut bare_pg = match db {
        Db::Postgres => Some(imp_sqlx::pg_bare(url).await),
        Db::Sqlite => None,
    };
    let mut bare_sqlite = match db {
        Db::Sqlite => Some(imp_sqlx::sqlite_bare(url).await),
        Db::Postgres => None,
    };
    let names = ["sqlx (bare)", "orm", "sqlx (pool)", "sea-orm"];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    // Round 0 warms up; `--check` runs only that one.
    let rounds = if cfg.check { 1 } else { cfg.rounds.max(3) + 1 };
    for round in 0..rounds {
        for (k, sample) in samples.iter_mut().enumerate() {
            let t = Instant::now();
            let mut set = tokio::task::JoinSet::new();
            match k {
                // The floor: the same number of finds, one after another on one bare connection.
                0 => {
                    for i in 0..tasks * per_task {
                        let id = (i % 50) as i32 + 1;
                        if let Some(b) = bare_pg.as_mut() {
                            b.find(id).await;
                        }
                        if let Some(b) = bare_sqlite.as_mut() {
                            b.find(id).await;
                        }
                    }
                }
                1 => {
                    for task in 0..tasks {
                        let db = orm.db.clone();
                        set.spawn(async move {
                            for i in 0..per_task {
                                let id = ((task + i) % 50) as i32 + 1;
                                use orm::prelude::*;
                                imp_orm::User::get(&db, id).await.unwrap();
                            }
                        });
                    }
                }
                2 => {
                    for task in 0..tasks {
                        let pg = pg_pool.clone();
                        let lite = sqlite_pool.clone();
                        set.spawn(async move {
                            for i in 0..per_task {
                                let id = ((task + i) % 50) as i32 + 1;
                                if let Some(p) = &pg {
                                    let _: (i32, String, Option<String>) = sqlx::query_as(
                                        "SELECT id, name, hair_color FROM users WHERE id = $1",
                                    )
                                    .bind(id)
                                    .fetch_one(p)
                                    .await
                                    .unwrap();
                                }
                                if let Some(p) = &lite {
                                    let _: (i32, String, Option<String>) = sqlx::query_as(
                                        "SELECT id, name, hair_color FROM users WHERE id = ?",
                                    )
                                    .bind(id)
                                    .fetch_one(p)
                                    .await
                                    .unwrap();
                                }
                            }
                        });
                    }
                }
                _ => {
                    for task in 0..tasks {
                        let db = sea.db.clone();
                        set.spawn(async move {
                            use sea_orm::EntityTrait;
                            for i in 0..per_task {
                                let id = ((task + i) % 50) as i32 + 1;
                                imp_seaorm::user::Entity::find_by_id(id)
                                    .one(&db)
                                    .await
                                    .unwrap()
                                    .unwrap();
                            }
                        });
                    }
                }
            }
            while let Some(done) = set.join_next().await {
                done.expect("a task failed");
            }
            if round > 0 {
                sample.push(t.elapsed() / (tasks * per_task) as u32);
            }
        }
    }
    // Every task finished; nothing is left checked out of our pool.
    let m = orm.db.metrics("db").unwrap();
    assert_eq!((m.in_use, m.waiting, m.timeouts), (0, 0, 0), "{m:?}");
    assert!(m.size <= 10, "{m:?}");
    eprintln!(
        "  pool, {tasks} tasks: done ({} connections open, {} acquisitions)",
        m.size, m.acquisitions
    );
    if cfg.check {
        return Cell {
            workload: format!("pool: {tasks} tasks, 10 connections"),
            medians: Vec::new(),
            rounds: Vec::new(),
        };
    }
    Cell {
        workload: format!("pool: {tasks} tasks, 10 connections"),
        medians: names
            .iter()
            .copied()
            .zip(samples.iter().cloned().map(median))
            .collect(),
        rounds: samples,
    }
}

/// Issue 13's figure: the same find by primary key on PostgreSQL through a
/// plain connection and through a connection whose one replica (weight 1)
/// is the same server as its primary, so that only routing differs: with
/// read-your-writes off, and with the default sticky window and no write
/// (the per-read consistency check included). Raw sqlx on a bare connection
/// runs alongside as the floor. Returns its own section of the report: each
/// time, and the replica rows' ratio to the plain ORM, as the ratio of the
/// medians and as the median of the ratios within a round (taken minutes
/// apart, two medians can drift; two samples of one round cannot much).
async fn replicas_section(url: &str, inserts: &[NewUser], cfg: &Config) -> String {
    let pool = 10;
    let mut imps = vec![
        Imp::PgBare(imp_sqlx::pg_bare(url).await),
        Imp::Orm(imp_orm::Orm::connect(url, pool).await),
        Imp::OrmReplica(
            imp_orm::Orm::connect_with_replica(url, pool, orm::ReadYourWrites::Off).await,
        ),
        Imp::OrmReplicaSticky(
            imp_orm::Orm::connect_with_replica(url, pool, orm::ReadYourWrites::default()).await,
        ),
    ];
    let routed = |imp: &Imp| match imp {
        Imp::OrmReplica(o) | Imp::OrmReplicaSticky(o) => Some(o.db.clone()),
        _ => None,
    };
    let primary_queries = |db: &orm::Database| db.metrics("db").unwrap().queries;
    let before: Vec<Option<u64>> = imps
        .iter()
        .map(|i| routed(i).map(|db| primary_queries(&db)))
        .collect();
    let label = "find by primary key, through a replica".to_owned();
    let cell = measure(&mut imps, Op::Find, inserts, cfg, label).await;
    // Every read of the replica handles went to the replica, none to the
    // primary: otherwise the figure would not measure routing.
    for (imp, before) in imps.iter().zip(before) {
        let (Some(db), Some(before)) = (routed(imp), before) else {
            continue;
        };
        let m = db.replication_metrics("db").unwrap().expect("a replica");
        assert!(
            m.replicas[0].reads > 0 && m.primary_fallbacks == 0,
            "{}: {m:?}",
            imp.name()
        );
        assert_eq!(
            primary_queries(&db),
            before,
            "{}: a read went to the primary",
            imp.name()
        );
    }
    if cfg.check {
        return "PostgreSQL: every read through the replica handles went to the replica\n".into();
    }
    let plain = cell
        .medians
        .iter()
        .position(|(n, _)| *n == "orm")
        .expect("the plain ORM ran");
    let mut out = format!(
        "\n### PostgreSQL, read replicas (issue 13)\n\n\
         {} rounds; ratios to the plain orm: of the medians, and the median of the \
         ratios within each round (range over rounds in brackets)\n\n\
         | {} | median | ratio of medians | median of round ratios |\n|---|---:|---:|---:|\n",
        cfg.rounds, cell.workload
    );
    for (k, (name, d)) in cell.medians.iter().enumerate() {
        let per_round: Vec<f64> = cell.rounds[k]
            .iter()
            .zip(&cell.rounds[plain])
            .map(|(x, a)| x.as_secs_f64() / a.as_secs_f64())
            .collect();
        let mut sorted = per_round.clone();
        sorted.sort_by(f64::total_cmp);
        let _ = writeln!(
            out,
            "| {name} | {} | {:.3}x | {:.3}x ({:.2}-{:.2}) |",
            fmt_time(*d),
            d.as_secs_f64() / cell.medians[plain].1.as_secs_f64(),
            sorted[sorted.len() / 2],
            sorted[0],
            sorted[sorted.len() - 1],
        );
    }
    out
}

fn fmt_time(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

fn table(db: Db, cells: &[Cell]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for c in cells {
        for (n, _) in &c.medians {
            if !names.contains(n) {
                names.push(n);
            }
        }
    }
    let mut out = format!("\n### {}\n\n| workload |", db.name());
    for n in &names {
        let _ = write!(out, " {n} |");
    }
    out.push_str("\n|---|");
    for _ in &names {
        out.push_str("---:|");
    }
    out.push('\n');
    for c in cells {
        let base = c
            .medians
            .iter()
            .find(|(n, _)| *n == "sqlx (bare)")
            .map(|(_, d)| *d);
        let _ = write!(out, "| {} |", c.workload);
        for n in &names {
            match c.medians.iter().find(|(m, _)| m == n) {
                Some((_, d)) => {
                    let ratio = base
                        .map(|b| d.as_secs_f64() / b.as_secs_f64())
                        .unwrap_or(f64::NAN);
                    let _ = write!(out, " {} ({ratio:.2}x) |", fmt_time(*d));
                }
                None => out.push_str(" - |"),
            }
        }
        out.push('\n');
    }
    out
}

async fn bench_backend(db: Db, cfg: &Config) -> String {
    let sqlite_path = std::env::temp_dir().join("orm-bench.db");
    let (url, mut admin) = match db {
        Db::Sqlite => {
            let _ = std::fs::remove_file(&sqlite_path);
            let url = format!("sqlite://{}?mode=rwc", sqlite_path.display());
            let admin = Admin::Sqlite(sqlx::SqliteConnection::connect(&url).await.unwrap());
            (url, admin)
        }
        Db::Postgres => {
            let base = std::env::var("ORM_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let mut c = sqlx::PgConnection::connect(&base)
                .await
                .expect("PostgreSQL for the benchmark");
            let schema = std::env::var("ORM_BENCH_SCHEMA").unwrap_or_else(|_| "orm_bench".into());
            if schema.is_empty()
                || !schema
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                eprintln!("ORM_BENCH_SCHEMA={schema:?}: expected lower-case letters, digits and _");
                std::process::exit(2);
            }
            sqlx::raw_sql(AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            )))
            .execute(&mut c)
            .await
            .unwrap();
            let sep = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
            (
                url.clone(),
                Admin::Pg(sqlx::PgConnection::connect(&url).await.unwrap()),
            )
        }
    };
    eprintln!("{}:", db.name());
    let inserts: Vec<NewUser> = (0..100)
        .map(|i| NewUser {
            name: format!("New {i}"),
            hair_color: if i % 2 == 0 {
                Some("black".into())
            } else {
                None
            },
        })
        .collect();
    let mut cells = Vec::new();
    if cfg.replicas_only {
        reset(&mut admin, 100, false).await;
        return replicas_section(&url, &inserts, cfg).await;
    }
    if cfg.report_only {
        report_cell(
            db,
            &mut admin,
            &url,
            &sqlite_path,
            &inserts,
            cfg,
            &mut cells,
        )
        .await;
        return finish(db, cfg, &cells);
    }
    for &n in &cfg.sizes {
        reset(&mut admin, n, false).await;
        let mut imps = implementations(db, &url, &sqlite_path.display().to_string()).await;
        cells.push(
            measure(
                &mut imps,
                Op::Trivial,
                &inserts,
                cfg,
                format!("trivial query, {n} users"),
            )
            .await,
        );
        cells.push(
            measure(
                &mut imps,
                Op::Medium,
                &inserts,
                cfg,
                format!("medium query (left join), {n} users"),
            )
            .await,
        );
    }
    reset(&mut admin, 100, true).await;
    let mut imps = implementations(db, &url, &sqlite_path.display().to_string()).await;
    cells.push(
        measure(
            &mut imps,
            Op::Associations,
            &inserts,
            cfg,
            "associations 100 x 10 x 10".into(),
        )
        .await,
    );
    cells.push(
        measure(
            &mut imps,
            Op::Find,
            &inserts,
            cfg,
            "find by primary key".into(),
        )
        .await,
    );
    let replicas = match db {
        Db::Postgres => replicas_section(&url, &inserts, cfg).await,
        Db::Sqlite => String::new(),
    };
    cells.push(
        measure(
            &mut imps,
            Op::Update,
            &inserts,
            cfg,
            "update by primary key".into(),
        )
        .await,
    );
    cells.push(
        measure(
            &mut imps,
            Op::Transaction,
            &inserts,
            cfg,
            "transaction of two writes".into(),
        )
        .await,
    );
    cells.push(
        measure(
            &mut imps,
            Op::Savepoint,
            &inserts,
            cfg,
            "savepoint in a transaction".into(),
        )
        .await,
    );
    cells.push(
        measure(
            &mut imps,
            Op::TransactionClosure,
            &inserts,
            cfg,
            "transaction of two writes, closure form".into(),
        )
        .await,
    );
    for &n in &cfg.insert_sizes {
        cells.push(
            measure(
                &mut imps,
                Op::Insert(n),
                &inserts,
                cfg,
                format!("insert {n} users"),
            )
            .await,
        );
    }
    drop(imps);
    report_cell(
        db,
        &mut admin,
        &url,
        &sqlite_path,
        &inserts,
        cfg,
        &mut cells,
    )
    .await;
    reset(&mut admin, 100, false).await;
    for tasks in [1, 16, 256] {
        cells.push(pool_contention(db, &url, tasks, cfg).await);
    }
    finish(db, cfg, &cells) + &replicas
}

/// The report workload, on its own data (`reset_report`).
async fn report_cell(
    db: Db,
    admin: &mut Admin,
    url: &str,
    sqlite_path: &std::path::Path,
    inserts: &[NewUser],
    cfg: &Config,
    cells: &mut Vec<Cell>,
) {
    reset_report(admin).await;
    let mut imps = implementations(db, url, &sqlite_path.display().to_string()).await;
    cells.push(
        measure(
            &mut imps,
            Op::Report,
            inserts,
            cfg,
            "report: 3-table join, group, rank()".into(),
        )
        .await,
    );
}

fn finish(db: Db, cfg: &Config, cells: &[Cell]) -> String {
    if cfg.check {
        return format!(
            "{}: {} workloads, every answer as raw sqlx's\n",
            db.name(),
            cells.len()
        );
    }
    table(db, cells)
}

// One thread for the harness: on two cores, worker threads of the runtime
// would compete with the SQLite driver's own threads and add noise.
fn main() {
    for a in std::env::args().skip(1) {
        if !["--full", "--write", "--check", "--report", "--replicas"].contains(&a.as_str()) {
            eprintln!(
                "unknown argument {a:?}; usage: orm-bench [--full] [--write] [--check] [--report] [--replicas]"
            );
            std::process::exit(2);
        }
    }
    // Re-run pinned to CPU 0 (with its SQLite driver threads), leaving CPU 1
    // to the database server; see `pin_server_processes`. Not for `--check`,
    // which times nothing.
    let check = std::env::args().any(|a| a == "--check");
    if !check && std::env::var_os("ORM_BENCH_PINNED").is_none() {
        let exe = std::env::current_exe().expect("own path");
        let status = std::process::Command::new("taskset")
            .arg("-c")
            .arg("0")
            .arg(exe)
            .args(std::env::args().skip(1))
            .env("ORM_BENCH_PINNED", "1")
            .status();
        match status {
            Ok(s) => std::process::exit(s.code().unwrap_or(1)),
            Err(e) => eprintln!("taskset unavailable ({e}): running unpinned"),
        }
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(bench());
}

async fn bench() {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--full");
    let cfg = Config {
        rounds: if full { 31 } else { 15 },
        sample: Duration::from_millis(if full { 40 } else { 12 }),
        sizes: vec![1, 10, 100, 1000, 10_000],
        insert_sizes: vec![1, 10, 25, 50, 100],
        write: args.iter().any(|a| a == "--write"),
        check: args.iter().any(|a| a == "--check"),
        report_only: args.iter().any(|a| a == "--report"),
        replicas_only: args.iter().any(|a| a == "--replicas"),
    };
    let _unpin = (!cfg.check).then_some(UnpinServer);
    let started = Instant::now();
    let mut report = String::new();
    // Replicas need a server: SQLite has none.
    let backends: &[Db] = if cfg.replicas_only {
        &[Db::Postgres]
    } else {
        &[Db::Sqlite, Db::Postgres]
    };
    for &db in backends {
        report.push_str(&bench_backend(db, &cfg).await);
    }
    println!("{report}");
    eprintln!("finished in {:.0?}", started.elapsed());
    if cfg.write && !cfg.check {
        std::fs::write("bench-results.md", &report).unwrap();
        eprintln!("wrote bench/bench-results.md");
    }
}
