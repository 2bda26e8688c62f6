//! One-row finds by primary key on a SQLite file, in a loop:
//!
//!     cargo run --release -- orm 20000     # the ORM, no subscriber
//!     cargo run --release -- spans 20000   # the ORM, a subscriber recording every span field
//!     cargo run --release -- raw 20000     # raw sqlx, the same statement
//!
//! Prints the time per find. Under callgrind, the difference between two
//! counts of finds gives the instructions of one
//! (`valgrind --tool=callgrind target/release/tracing-overhead orm 1300`, then 300).

use std::fmt::Write as _;

use orm::prelude::*;
use sqlx::Connection as _;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::Layer;

#[orm::model(table = "users")]
#[derive(Clone, Debug)]
pub struct User {
    #[orm(primary_key, auto)]
    pub id: i32,
    pub name: String,
    pub hair_color: Option<String>,
}

/// Reads every field of every span, created or recorded, into text: what
/// an exporter does at the least.
struct ReadEveryField;

#[derive(Default)]
struct Text(String);

impl tracing::field::Visit for Text {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        let _ = write!(self.0, "{}={value} ", field.name());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl<S: tracing::Subscriber> Layer<S> for ReadEveryField {
    fn on_new_span(&self, attrs: &tracing::span::Attributes<'_>, _: &tracing::Id, _: Context<'_, S>) {
        let mut text = Text::default();
        attrs.record(&mut text);
        std::hint::black_box(text.0);
    }
    fn on_record(&self, _: &tracing::Id, values: &tracing::span::Record<'_>, _: Context<'_, S>) {
        let mut text = Text::default();
        values.record(&mut text);
        std::hint::black_box(text.0);
    }
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "orm".into());
    let n: u32 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(5000);
    if which == "spans" {
        let subscriber = tracing_subscriber::registry().with(ReadEveryField);
        tracing::subscriber::set_global_default(subscriber).unwrap();
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let path = std::env::temp_dir().join(format!("tracing-overhead-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let mut admin = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, hair_color TEXT); INSERT INTO users (name, hair_color) VALUES ('User 0', 'black')")
            .execute(&mut admin)
            .await
            .unwrap();
        let t = std::time::Instant::now();
        if which == "raw" {
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            for _ in 0..n {
                let row: Option<(i32, String, Option<String>)> =
                    sqlx::query_as("SELECT \"users\".\"id\", \"users\".\"name\", \"users\".\"hair_color\" FROM \"users\" WHERE \"users\".\"id\" = ?")
                        .bind(1)
                        .fetch_optional(&mut c)
                        .await
                        .unwrap();
                assert!(row.is_some());
            }
        } else {
            let db = orm::Database::connect(&url).await.unwrap();
            if std::env::var_os("ORM_FUTURE_SIZE").is_some() {
                eprintln!("a find's future: {} bytes; a pooled connection: {} bytes", std::mem::size_of_val(&User::find(&db, 1)), std::mem::size_of::<orm::PooledConn>());
            }
            for _ in 0..n {
                let user = User::find(&db, 1).await.unwrap();
                assert!(user.is_some());
            }
        }
        eprintln!("{which}: {:?} per find", t.elapsed() / n);
        let _ = std::fs::remove_file(&path);
    });
}
