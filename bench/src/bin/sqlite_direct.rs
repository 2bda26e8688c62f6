//! The experiment behind "closing the gap to Diesel" in BENCHMARKS.md: run
//! SQLite in-process on a thread per connection, step every row and decode
//! it there, and hand the decoded result back in one message, instead of
//! sqlx's worker thread sending each row across a channel. Compares that
//! prototype with raw sqlx and Diesel on the trivial query.
//!
//!     cargo run --release --bin sqlite_direct

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use libsqlite3_sys as ffi;
use sqlx::Connection as _;

#[derive(Debug, PartialEq, Queryable)]
struct UserRow {
    id: i32,
    name: String,
    hair_color: Option<String>,
}

diesel::table! {
    users (id) {
        id -> Integer,
        name -> Text,
        hair_color -> Nullable<Text>,
    }
}

type Job = Box<dyn FnOnce(*mut ffi::sqlite3) + Send>;

/// A SQLite connection owned by one thread that runs whole statements.
struct Direct {
    jobs: mpsc::Sender<Job>,
}

struct Stmt(*mut ffi::sqlite3_stmt);

thread_local! {
    // Prepared statements of this thread's connection, by SQL text.
    static STATEMENTS: RefCell<HashMap<&'static str, Stmt>> = RefCell::new(HashMap::new());
}

impl Direct {
    fn open(path: &str) -> Direct {
        let (jobs, rx) = mpsc::channel::<Job>();
        let path = CString::new(path).unwrap();
        std::thread::spawn(move || {
            let mut db = std::ptr::null_mut();
            let flags = ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_NOMUTEX;
            // SAFETY: a valid path and out-pointer; the handle stays on this thread.
            let rc =
                unsafe { ffi::sqlite3_open_v2(path.as_ptr(), &mut db, flags, std::ptr::null()) };
            assert_eq!(rc, ffi::SQLITE_OK);
            for job in rx {
                job(db);
            }
        });
        Direct { jobs }
    }

    /// Runs `sql` and decodes every row on the connection's thread.
    async fn users(&self, sql: &'static str) -> Vec<UserRow> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |db| {
                let rows = STATEMENTS.with(|cache| {
                    let mut cache = cache.borrow_mut();
                    let stmt = cache.entry(sql).or_insert_with(|| {
                        let text = CString::new(sql).unwrap();
                        let mut stmt = std::ptr::null_mut();
                        // SAFETY: valid handle and text; the statement lives as long as the thread.
                        let rc = unsafe {
                            ffi::sqlite3_prepare_v3(
                                db,
                                text.as_ptr(),
                                -1,
                                ffi::SQLITE_PREPARE_PERSISTENT,
                                &mut stmt,
                                std::ptr::null_mut(),
                            )
                        };
                        assert_eq!(rc, ffi::SQLITE_OK);
                        Stmt(stmt)
                    });
                    let mut rows = Vec::new();
                    // SAFETY: the statement belongs to this thread's connection.
                    unsafe {
                        while ffi::sqlite3_step(stmt.0) == ffi::SQLITE_ROW {
                            let text = |i| {
                                let p = ffi::sqlite3_column_text(stmt.0, i);
                                (!p.is_null()).then(|| {
                                    CStr::from_ptr(p.cast()).to_string_lossy().into_owned()
                                })
                            };
                            rows.push(UserRow {
                                id: ffi::sqlite3_column_int(stmt.0, 0),
                                name: text(1).unwrap_or_default(),
                                hair_color: text(2),
                            });
                        }
                        ffi::sqlite3_reset(stmt.0);
                    }
                    rows
                });
                let _ = tx.send(rows);
            }))
            .unwrap();
        rx.await.unwrap()
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let path = std::env::temp_dir().join("orm-direct.db");
    let _ = std::fs::remove_file(&path);
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut sqlx_conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, hair_color TEXT)")
        .execute(&mut sqlx_conn)
        .await
        .unwrap();
    let mut diesel_conn = diesel::SqliteConnection::establish(&path.display().to_string()).unwrap();
    let direct = Direct::open(&path.display().to_string());
    let sql = "SELECT id, name, hair_color FROM users";
    println!("| users | sqlx (bare) | diesel | in-process prototype |\n|---:|---:|---:|---:|");
    let mut have = 0;
    for n in [1, 100, 10_000] {
        let mut insert = String::from("INSERT INTO users (name, hair_color) VALUES ");
        for i in have..n {
            insert.push_str(&format!(
                "{}('User {i}', {})",
                if i > have { ", " } else { "" },
                if i % 2 == 0 { "'black'" } else { "NULL" }
            ));
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(insert))
            .execute(&mut sqlx_conn)
            .await
            .unwrap();
        have = n;
        let expected: Vec<UserRow> = users::table.load(&mut diesel_conn).unwrap();
        assert_eq!(direct.users(sql).await, expected);
        let calls = (20_000 / n).max(5);
        let mut times = [Vec::new(), Vec::new(), Vec::new()];
        for _round in 0..15 {
            let t = Instant::now();
            for _ in 0..calls {
                let rows: Vec<(i32, String, Option<String>)> =
                    sqlx::query_as(sql).fetch_all(&mut sqlx_conn).await.unwrap();
                assert_eq!(rows.len(), n);
            }
            times[0].push(t.elapsed() / calls as u32);
            let t = Instant::now();
            for _ in 0..calls {
                let rows: Vec<UserRow> = users::table.load(&mut diesel_conn).unwrap();
                assert_eq!(rows.len(), n);
            }
            times[1].push(t.elapsed() / calls as u32);
            let t = Instant::now();
            for _ in 0..calls {
                assert_eq!(direct.users(sql).await.len(), n);
            }
            times[2].push(t.elapsed() / calls as u32);
        }
        let [a, b, c] = times.map(median);
        let r = |d: Duration| d.as_secs_f64() / a.as_secs_f64();
        println!(
            "| {n} | {a:.1?} (1.00x) | {b:.1?} ({:.2}x) | {c:.1?} ({:.2}x) |",
            r(b),
            r(c)
        );
    }
}
