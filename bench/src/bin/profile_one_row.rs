//! Runs one workload in a loop on one implementation, for a profiler:
//! `valgrind --tool=callgrind target/release/profile_one_row orm`.

use orm::prelude::*;
use sqlx::Connection;

#[orm::model(table = "users")]
#[derive(Clone, Debug)]
pub struct User {
    #[orm(primary_key, auto)]
    pub id: i32,
    pub name: String,
    pub hair_color: Option<String>,
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "orm".into());
    let n: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let path = std::env::temp_dir().join("orm-profile.db");
        let _ = std::fs::remove_file(&path);
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let mut admin = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, hair_color TEXT); INSERT INTO users (name, hair_color) VALUES ('User 0', 'black')")
            .execute(&mut admin)
            .await
            .unwrap();
        let t = std::time::Instant::now();
        if which == "orm" {
            let db = orm::Database::connect(&url).await.unwrap();
            for _ in 0..n {
                let users = User::query().all(&db).await.unwrap();
                assert_eq!(users.len(), 1);
            }
        } else {
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            for _ in 0..n {
                let rows: Vec<(i32, String, Option<String>)> =
                    sqlx::query_as("SELECT id, name, hair_color FROM users").fetch_all(&mut c).await.unwrap();
                assert_eq!(rows.len(), 1);
            }
        }
        eprintln!("{which}: {:?} per query", t.elapsed() / n as u32);
    });
}
