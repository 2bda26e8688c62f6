//! Runs the report workload (issue 12) in a loop on one implementation, for
//! a profiler: `valgrind --tool=callgrind target/release/profile_report orm
//! sqlite 300` (`orm`, `sqlx`, or on SQLite `sqlx-stream`: raw sqlx read a
//! row at a time with `fetch`, as the ORM reads; `sqlx-progress`: raw sqlx
//! with a SQLite progress handler, as the ORM sets one; `sqlx-pool`: through
//! sqlx's pool; `sqlite` or `postgres`; how many calls).
//! Setting up is the same for both; the difference between two call counts
//! is what the calls cost. PostgreSQL: ORM_BENCH_POSTGRES_URL (default
//! postgres://postgres@127.0.0.1:5432/test), in a schema `orm_profile_<pid>`
//! (dropped at the end).

// The benchmark's own modules: the same models, statements and code as
// the timed harness (each binary uses only part of them).
#[allow(dead_code)]
#[path = "../common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../imp_orm.rs"]
mod imp_orm;
#[allow(dead_code)]
#[path = "../imp_sqlx.rs"]
mod imp_sqlx;

use common::{Bench, Db, ReportRow};
use sqlx::{AssertSqlSafe, Connection};

/// The benchmark's data (`reset_report` in main.rs), in one statement per
/// table: many small statements in one `raw_sql` are slow under callgrind.
fn data(db: Db) -> String {
    let users: Vec<String> = (1..=100).map(|u| format!("('User {u}', NULL)")).collect();
    let posts: Vec<String> = (1..=100)
        .flat_map(|u| (0..10).map(move |p| format!("({u}, 'Post {p} by {u}')")))
        .collect();
    let comments: Vec<String> = (1..=1000)
        .flat_map(|post| (0..10).map(move |c| format!("({post}, 'Comment {c} on {post}')")))
        .collect();
    format!(
        "{} INSERT INTO users (name, hair_color) VALUES {};
         INSERT INTO posts (user_id, title) VALUES {};
         INSERT INTO comments (post_id, text) VALUES {}; {};",
        common::schema(db),
        users.join(", "),
        posts.join(", "),
        comments.join(", "),
        common::THIN_FOR_REPORT
    )
}

fn main() {
    let arg = |i: usize, d: &str| std::env::args().nth(i).unwrap_or_else(|| d.into());
    let which = arg(1, "orm");
    let backend = arg(2, "sqlite");
    let n: usize = arg(3, "300").parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let url = if backend == "postgres" {
            let base = std::env::var("ORM_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let mut c = sqlx::PgConnection::connect(&base).await.unwrap();
            // One schema (one file for SQLite) per process, so that runs
            // side by side do not share tables.
            let schema = format!("orm_profile_{}", std::process::id());
            sqlx::raw_sql(AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            )))
            .execute(&mut c)
            .await
            .unwrap();
            let url = format!("{base}?options=-c%20search_path%3D{schema}");
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(AssertSqlSafe(data(Db::Postgres)))
                .execute(&mut c)
                .await
                .unwrap();
            url
        } else {
            let path =
                std::env::temp_dir().join(format!("orm-profile-report-{}.db", std::process::id()));
            let _ = std::fs::remove_file(&path);
            let url = format!("sqlite://{}?mode=rwc", path.display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(AssertSqlSafe(format!(
                "BEGIN; {} COMMIT;",
                data(Db::Sqlite)
            )))
            .execute(&mut c)
            .await
            .unwrap();
            url
        };
        let t = std::time::Instant::now();
        let mut rows = 0;
        if which == "orm" {
            let mut b = imp_orm::Orm::connect(&url, 10).await;
            for _ in 0..n {
                rows = b.report().await.len();
            }
        } else if which == "sqlx-pool" {
            // Raw sqlx through sqlx's own pool, as the harness's "sqlx (pool)".
            let mut b = imp_sqlx::sqlite_pool(&url, 10).await;
            for _ in 0..n {
                rows = b.report().await.len();
            }
        } else if which == "sqlx-progress" {
            // Raw sqlx with a progress handler, as the ORM installs one on
            // each SQLite connection for statement deadlines.
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            c.lock_handle()
                .await
                .unwrap()
                .set_progress_handler(1000, || true);
            for _ in 0..n {
                let r: Vec<ReportRow> = sqlx::query_as(imp_sqlx::REPORT)
                    .fetch_all(&mut c)
                    .await
                    .unwrap();
                rows = r.len();
            }
        } else if which == "sqlx-stream" {
            // Raw sqlx read as the ORM reads: `fetch` and a row at a time.
            use futures_util::TryStreamExt;
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            for _ in 0..n {
                let mut r: Vec<ReportRow> = Vec::new();
                let mut stream = sqlx::query_as::<_, ReportRow>(imp_sqlx::REPORT).fetch(&mut c);
                while let Some(row) = stream.try_next().await.unwrap() {
                    r.push(row);
                }
                rows = r.len();
            }
        } else if backend == "postgres" {
            let mut b = imp_sqlx::pg_bare(&url).await;
            for _ in 0..n {
                rows = b.report().await.len();
            }
        } else {
            let mut b = imp_sqlx::sqlite_bare(&url).await;
            for _ in 0..n {
                rows = b.report().await.len();
            }
        }
        assert_eq!(rows, 86);
        if let Some(schema) = url.split("search_path%3D").nth(1) {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut c)
                .await
                .unwrap();
        } else {
            let _ = std::fs::remove_file(
                url.trim_start_matches("sqlite://")
                    .trim_end_matches("?mode=rwc"),
            );
        }
        eprintln!(
            "{which} on {backend}: {:?} per report",
            t.elapsed() / n as u32
        );
    });
}
