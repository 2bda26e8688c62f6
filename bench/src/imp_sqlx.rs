//! Raw sqlx: on a bare connection (the floor for anything built on sqlx)
//! and through sqlx's own `Pool`. Hand-written SQL, tuples decoded by
//! position, the same statements the ORMs send.

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, Connection};

use crate::common::{checksum, Bench, Db, Loaded, NewUser, ReportRow, UserRow};

type UserTuple = (i32, String, Option<String>);
type PostTuple = (i32, i32, String, Option<String>);

fn placeholders(db: Db, from: usize, n: usize) -> String {
    (0..n)
        .map(|i| match db {
            Db::Postgres => format!("${}", from + i),
            Db::Sqlite => "?".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fixed statements, as `'static` strings: what a careful hand-written
/// program sends, with no per-call formatting.
fn fixed(db: Db, which: &str) -> &'static str {
    match (db, which) {
        (Db::Postgres, "medium") => "SELECT users.id, users.name, users.hair_color, posts.id, posts.user_id, posts.title, posts.body FROM users LEFT JOIN posts ON posts.user_id = users.id WHERE users.hair_color = $1",
        (Db::Sqlite, "medium") => "SELECT users.id, users.name, users.hair_color, posts.id, posts.user_id, posts.title, posts.body FROM users LEFT JOIN posts ON posts.user_id = users.id WHERE users.hair_color = ?",
        (Db::Postgres, "find") => "SELECT id, name, hair_color FROM users WHERE id = $1",
        (Db::Sqlite, "find") => "SELECT id, name, hair_color FROM users WHERE id = ?",
        (Db::Postgres, "update") => "UPDATE users SET name = $1 WHERE id = $2",
        (Db::Sqlite, "update") => "UPDATE users SET name = ? WHERE id = ?",
        (Db::Postgres, "insert_one") => "INSERT INTO users (name, hair_color) VALUES ($1, NULL) RETURNING id",
        (Db::Sqlite, "insert_one") => "INSERT INTO users (name, hair_color) VALUES (?, NULL) RETURNING id",
        // The statement the ORM renders for its typed report query, on both
        // backends (no parameters).
        (_, "report") => REPORT,
        _ => unreachable!("no statement {which}"),
    }
}

/// The report: users -> posts -> comments, grouped per user, with the count
/// and its rank.
pub const REPORT: &str = "SELECT \"users\".\"name\", COUNT(\"comments\".\"id\"), \
    RANK() OVER (ORDER BY COUNT(\"comments\".\"id\") DESC) \
    FROM \"users\" INNER JOIN \"posts\" ON \"users\".\"id\" = \"posts\".\"user_id\" \
    INNER JOIN \"comments\" ON \"posts\".\"id\" = \"comments\".\"post_id\" \
    GROUP BY \"users\".\"id\", \"users\".\"name\" \
    ORDER BY COUNT(\"comments\".\"id\") DESC, \"users\".\"id\" ASC";

fn user(t: UserTuple) -> UserRow {
    UserRow {
        id: t.0,
        name: t.1,
        hair_color: t.2,
    }
}

/// One struct per (database, bare or pooled): the same code through a macro,
/// since sqlx's executors differ by type.
macro_rules! sqlx_bench {
    ($name:ident, $db:expr, $conn:ty, |$s:ident| $exec:expr) => {
        pub struct $name {
            pub conn: $conn,
        }

        impl Bench for $name {
            async fn trivial(&mut self) -> (usize, String) {
                let $s = self;
                let rows: Vec<UserTuple> = sqlx::query_as("SELECT id, name, hair_color FROM users")
                    .fetch_all($exec)
                    .await
                    .unwrap();
                let users: Vec<UserRow> = rows.into_iter().map(user).collect();
                (users.len(), users.last().map(|u| u.name.clone()).unwrap_or_default())
            }

            async fn medium(&mut self) -> (usize, usize) {
                let $s = self;
                type Row = (i32, String, Option<String>, Option<i32>, Option<i32>, Option<String>, Option<String>);
                let rows: Vec<Row> = sqlx::query_as(fixed($db, "medium"))
                    .bind("black")
                    .fetch_all($exec)
                    .await
                    .unwrap();
                let pairs: Vec<(UserRow, Option<PostTuple>)> = rows
                    .into_iter()
                    .map(|r| {
                        let post = match (r.3, r.4, r.5) {
                            (Some(id), Some(user_id), Some(title)) => Some((id, user_id, title, r.6)),
                            _ => None,
                        };
                        (user((r.0, r.1, r.2)), post)
                    })
                    .collect();
                (pairs.len(), pairs.iter().filter(|(_, p)| p.is_some()).count())
            }

            async fn insert(&mut self, users: &[NewUser]) -> usize {
                let $s = self;
                let groups: Vec<String> = (0..users.len())
                    .map(|i| format!("({})", placeholders($db, 2 * i + 1, 2)))
                    .collect();
                let sql = format!("INSERT INTO users (name, hair_color) VALUES {}", groups.join(", "));
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for u in users {
                    q = q.bind(&u.name).bind(&u.hair_color);
                }
                q.execute($exec).await.unwrap().rows_affected() as usize
            }

            async fn associations(&mut self) -> Loaded {
                let $s = self;
                let users: Vec<UserTuple> = sqlx::query_as("SELECT id, name, hair_color FROM users ORDER BY id")
                    .fetch_all($exec)
                    .await
                    .unwrap();
                let ids: Vec<i32> = users.iter().map(|u| u.0).collect();
                let sql = format!(
                    "SELECT id, user_id, title, body FROM posts WHERE user_id IN ({}) ORDER BY id",
                    placeholders($db, 1, ids.len())
                );
                let mut q = sqlx::query_as::<_, PostTuple>(AssertSqlSafe(sql));
                for id in &ids {
                    q = q.bind(id);
                }
                let posts = q.fetch_all($exec).await.unwrap();
                let post_ids: Vec<i32> = posts.iter().map(|p| p.0).collect();
                let sql = format!(
                    "SELECT id, post_id, text FROM comments WHERE post_id IN ({}) ORDER BY id",
                    placeholders($db, 1, post_ids.len())
                );
                let mut q = sqlx::query_as::<_, (i32, i32, String)>(AssertSqlSafe(sql));
                for id in &post_ids {
                    q = q.bind(id);
                }
                let comments = q.fetch_all($exec).await.unwrap();
                let mut comments_of: HashMap<i32, Vec<i32>> = HashMap::new();
                for c in comments {
                    comments_of.entry(c.1).or_default().push(c.0);
                }
                let mut posts_of: HashMap<i32, Vec<(i32, Vec<i32>)>> = HashMap::new();
                for p in posts {
                    let cs = comments_of.remove(&p.0).unwrap_or_default();
                    posts_of.entry(p.1).or_default().push((p.0, cs));
                }
                let shape: Vec<_> = users
                    .iter()
                    .map(|u| (u.0, posts_of.remove(&u.0).unwrap_or_default()))
                    .collect();
                checksum(&shape)
            }

            async fn find(&mut self, id: i32) -> UserRow {
                let $s = self;
                let row: UserTuple = sqlx::query_as(fixed($db, "find")).bind(id).fetch_one($exec).await.unwrap();
                user(row)
            }

            async fn update(&mut self, id: i32, name: &str) {
                let $s = self;
                sqlx::query(fixed($db, "update")).bind(name).bind(id).execute($exec).await.unwrap();
            }

            async fn transaction(&mut self, id: i32, name: &str) {
                let $s = self;
                let mut tx = ($exec).begin().await.unwrap();
                let _: (i32,) = sqlx::query_as(fixed($db, "insert_one")).bind(name).fetch_one(&mut *tx).await.unwrap();
                sqlx::query(fixed($db, "update")).bind(name).bind(id).execute(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
            }

            async fn savepoint(&mut self, id: i32, name: &str) {
                let $s = self;
                let mut tx = ($exec).begin().await.unwrap();
                let _: (i32,) = sqlx::query_as(fixed($db, "insert_one")).bind(name).fetch_one(&mut *tx).await.unwrap();
                // A transaction begun on a transaction is a SAVEPOINT.
                let mut sp = sqlx::Acquire::begin(&mut tx).await.unwrap();
                sqlx::query(fixed($db, "update")).bind(name).bind(id).execute(&mut *sp).await.unwrap();
                sp.commit().await.unwrap();
                tx.commit().await.unwrap();
            }

            /// sqlx has no closure API: its explicit form, the floor of the
            /// closure-form row (run for the bare connection only).
            async fn transaction_closure(&mut self, id: i32, name: &str) {
                self.transaction(id, name).await
            }

            async fn report(&mut self) -> Vec<ReportRow> {
                let $s = self;
                sqlx::query_as(fixed($db, "report")).fetch_all($exec).await.unwrap()
            }
        }
    };
}

sqlx_bench!(SqliteBare, Db::Sqlite, sqlx::SqliteConnection, |s| &mut s
    .conn);
sqlx_bench!(SqlitePool, Db::Sqlite, sqlx::SqlitePool, |s| &s.conn);
sqlx_bench!(PgBare, Db::Postgres, sqlx::PgConnection, |s| &mut s.conn);
sqlx_bench!(PgPool, Db::Postgres, sqlx::PgPool, |s| &s.conn);

pub async fn sqlite_bare(url: &str) -> SqliteBare {
    SqliteBare {
        conn: sqlx::SqliteConnection::connect(url).await.unwrap(),
    }
}

pub async fn sqlite_pool(url: &str, size: u32) -> SqlitePool {
    SqlitePool {
        conn: sqlx::pool::PoolOptions::new()
            .max_connections(size)
            .connect(url)
            .await
            .unwrap(),
    }
}

pub async fn pg_bare(url: &str) -> PgBare {
    PgBare {
        conn: sqlx::PgConnection::connect(url).await.unwrap(),
    }
}

pub async fn pg_pool(url: &str, size: u32) -> PgPool {
    PgPool {
        conn: sqlx::pool::PoolOptions::new()
            .max_connections(size)
            .connect(url)
            .await
            .unwrap(),
    }
}
