//! Finds users by primary key on PostgreSQL in a loop, through one of three
//! handles, for a profiler (issue 13's routing cost):
//! `valgrind --tool=callgrind target/release/profile_replica off 1300`.
//! `plain`: `Database` with connection "db" only; `off`: the same server
//! also as its one replica (weight 1), read-your-writes off; `sticky`: the
//! same with the default 2-second sticky window and no write. Every read of
//! `off` and `sticky` goes to the replica's pool (checked at the end). The
//! replica health check runs once an hour here, so that it does not add
//! its statements to the count. Setting up is the same for all three; the
//! difference between two call counts is what the calls cost.
//! PostgreSQL: ORM_BENCH_POSTGRES_URL (default
//! postgres://postgres@127.0.0.1:5432/test), in a schema `orm_profile_<pid>`
//! (dropped at the end).

// The benchmark's own modules: the same model and code as the timed harness.
#[allow(dead_code)]
#[path = "../common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../imp_orm.rs"]
mod imp_orm;

use std::time::Duration;

use common::{Bench, Db};
use sqlx::{AssertSqlSafe, Connection};

fn main() {
    let arg = |i: usize, d: &str| std::env::args().nth(i).unwrap_or_else(|| d.into());
    let which = arg(1, "off");
    let n: usize = arg(2, "1000").parse().expect("a number of finds");
    let mode = match which.as_str() {
        "plain" => None,
        "off" => Some(orm::ReadYourWrites::Off),
        "sticky" => Some(orm::ReadYourWrites::default()),
        other => {
            eprintln!("unknown handle {other:?}: plain, off or sticky");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let base = std::env::var("ORM_BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let schema = format!("orm_profile_{}", std::process::id());
        let mut c = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        )))
        .execute(&mut c)
        .await
        .unwrap();
        let url = format!("{base}?options=-c%20search_path%3D{schema}");
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let users: Vec<String> = (1..=50).map(|u| format!("('User {u}', NULL)")).collect();
        sqlx::raw_sql(AssertSqlSafe(format!(
            "{} INSERT INTO users (name, hair_color) VALUES {};",
            common::schema(Db::Postgres),
            users.join(", ")
        )))
        .execute(&mut c)
        .await
        .unwrap();
        let builder = orm::Database::builder().connection_with(
            "db",
            &url,
            orm::PoolOptions::new().max_connections(10),
        );
        let db = match mode {
            None => builder.build().await.unwrap(),
            Some(mode) => builder
                .replica("db", &url)
                .replication(
                    "db",
                    orm::ReplicationOptions::new()
                        .read_your_writes(mode)
                        .check_interval(Duration::from_secs(3600)),
                )
                .build()
                .await
                .unwrap(),
        };
        let mut b = imp_orm::Orm { db };
        let primary_before = b.db.metrics("db").unwrap().queries;
        let t = std::time::Instant::now();
        for i in 0..n {
            let id = (i % 50) as i32 + 1;
            assert_eq!(b.find(id).await.id, id);
        }
        let per = t.elapsed() / n as u32;
        if let Some(m) = b.db.replication_metrics("db").unwrap() {
            assert_eq!(m.replicas[0].reads, n as u64, "{m:?}");
            assert_eq!(b.db.metrics("db").unwrap().queries, primary_before);
        }
        sqlx::raw_sql(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&mut c)
            .await
            .unwrap();
        eprintln!("{which}: {per:?} per find");
    });
}
