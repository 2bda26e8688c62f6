//! Shared helpers of the integration tests: one isolated database per test on
//! each backend, and the models the suites use.
//!
//! Each backend's test binary (`sqlite/`, `postgres/`, `mysql/`) includes the
//! same suite files from `suite/`; only the way a test database is made
//! differs. PostgreSQL and MySQL run when `ORM_TEST_POSTGRES_URL` and
//! `ORM_TEST_MYSQL_URL` are set; with `ORM_TEST_REQUIRE_ALL=1` (as CI sets)
//! a missing variable fails the test instead of skipping it. The Redis
//! query cache's tests run when `ORM_TEST_REDIS_URL` is set, alike.
//!
//! Tests that stop or restart PostgreSQL do it on a private server of their
//! own, from [`cluster`], never on the shared one; MariaDB's counterpart is
//! [`mariadb_cluster`], and [`replication`] makes a primary with replicas
//! of either.

pub mod blog;
pub mod catalog;
pub mod cluster;
pub mod direct;
pub mod events;
pub mod mariadb_cluster;
pub mod models;
pub mod music;
pub mod pgbouncer;
mod private_server;
pub mod proxy;
pub mod replica_checks;
pub mod replication;

use std::sync::atomic::{AtomicUsize, Ordering};

use orm::Database;

/// The variable naming the PostgreSQL server for the tests.
pub const POSTGRES_VAR: &str = "ORM_TEST_POSTGRES_URL";
/// The variable naming the MySQL/MariaDB server for the tests.
pub const MYSQL_VAR: &str = "ORM_TEST_MYSQL_URL";
/// The variable naming the Redis server of the query cache's tests (the
/// `orm` crate's own Redis store tests read it too).
pub const REDIS_VAR: &str = "ORM_TEST_REDIS_URL";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A name no other test (in this or another process) uses.
pub fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("orm_t_{}_{n}_{nanos}", std::process::id())
}

/// Waits for `fut`, failing the test instead of hanging when it never
/// finishes (60 s: generous, the machine may be loaded).
pub async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(60), fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: no result within 60 s"))
}

/// Whether a test is left out on backend `kind` (one of `kinds`); says why.
pub fn not_on(kind: Kind, kinds: &[Kind], why: &str) -> bool {
    let skip = kinds.contains(&kind);
    if skip {
        eprintln!("not applicable on {kind:?}: {why}");
    }
    skip
}

/// Which backend a test database is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    MySql,
}

/// A database of its own for one test, dropped when the test ends (also when
/// it panics).
pub struct TestDb {
    pub db: Database,
    pub kind: Kind,
    /// The URL the test database is reachable at.
    pub url: String,
    cleanup: Option<Cleanup>,
}

enum Cleanup {
    File(std::path::PathBuf),
    Postgres { admin_url: String, schema: String },
    MySql { admin_url: String, database: String },
}

fn server_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("ORM_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1") {
                panic!(
                    "{var} is not set, and ORM_TEST_REQUIRE_ALL=1 forbids skipping this backend"
                );
            }
            eprintln!("skipped: set {var} to run this test on that backend");
            None
        }
    }
}

/// The Redis URL of the query cache's tests, or `None` (the reason
/// printed) when it is not set; with `ORM_TEST_REQUIRE_ALL=1` a missing
/// URL fails the test. Tests share the server: each uses a
/// [`RedisNamespace`] of its own and never flushes it.
pub fn redis_url() -> Option<String> {
    server_url(REDIS_VAR)
}

/// A Redis key namespace no other test uses; its keys are deleted when it
/// is dropped (also when the test panics).
pub struct RedisNamespace {
    url: String,
    name: String,
}

impl RedisNamespace {
    /// A fresh namespace on the Redis at `url`.
    pub fn new(url: &str) -> RedisNamespace {
        RedisNamespace {
            url: url.to_owned(),
            name: unique_name(),
        }
    }

    /// Its name, for `RedisOptions::namespace`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for RedisNamespace {
    fn drop(&mut self) {
        // Synchronous: Drop cannot await, and a few keys take a moment.
        let Ok(mut c) = redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection())
        else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.name))
            .query(&mut c)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&keys).query(&mut c);
        }
    }
}

impl TestDb {
    /// A fresh SQLite database in a temporary file.
    pub async fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
        let url = format!("sqlite://{}", path.display());
        let db = Database::connect(&url).await.expect("open sqlite");
        TestDb {
            db,
            kind: Kind::Sqlite,
            url,
            cleanup: Some(Cleanup::File(path)),
        }
    }

    /// A fresh schema on the PostgreSQL server, or `None` when none is configured.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = server_url(POSTGRES_VAR)?;
        let schema = unique_name();
        let mut admin = connect_pg(&admin_url).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
            .execute(&mut admin)
            .await
            .expect("create schema");
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
        let db = Database::connect(&url).await.expect("connect postgres");
        Some(TestDb {
            db,
            kind: Kind::Postgres,
            url,
            cleanup: Some(Cleanup::Postgres { admin_url, schema }),
        })
    }

    /// A fresh database on the MySQL server, or `None` when none is configured.
    pub async fn mysql() -> Option<TestDb> {
        TestDb::mysql_in_charset("").await
    }

    /// A fresh MySQL database whose default character set is `charset`
    /// (the server's default when empty), or `None` when none is configured.
    pub async fn mysql_in_charset(charset: &str) -> Option<TestDb> {
        let admin_url = server_url(MYSQL_VAR)?;
        let database = unique_name();
        let mut admin = connect_mysql(&admin_url).await;
        let options = match charset {
            "" => String::new(),
            charset => format!(" CHARACTER SET {charset}"),
        };
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE `{database}`{options}"
        )))
        .execute(&mut admin)
        .await
        .expect("create database");
        let url = replace_database(&admin_url, &database);
        let db = Database::connect(&url).await.expect("connect mysql");
        Some(TestDb {
            db,
            kind: Kind::MySql,
            url,
            cleanup: Some(Cleanup::MySql {
                admin_url,
                database,
            }),
        })
    }
}

impl TestDb {
    /// The PostgreSQL schema of this test (its tables are there), if it is on PostgreSQL.
    pub fn schema(&self) -> Option<&str> {
        match &self.cleanup {
            Some(Cleanup::Postgres { schema, .. }) => Some(schema),
            _ => None,
        }
    }

    /// Runs `sql` on the test database directly with sqlx, bypassing the ORM.
    pub async fn direct_execute(&self, sql: &str) {
        use sqlx::Connection;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.kind {
            Kind::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
            Kind::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
            Kind::MySql => {
                let mut c = sqlx::MySqlConnection::connect(&self.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
        }
    }

    /// Rows in `table`, counted directly with sqlx; `None` when there is no such table.
    pub async fn direct_count(&self, table: &str) -> Option<i64> {
        use sqlx::Connection;
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
        match self.kind {
            Kind::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut c).await.ok()
            }
            Kind::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut c).await.ok()
            }
            Kind::MySql => {
                let mut c = sqlx::MySqlConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut c).await.ok()
            }
        }
    }

    /// A connection to the test database of its own, with sqlx, bypassing
    /// the ORM: to hold a lock, or to look at the server's view.
    pub async fn direct_connect(&self) -> DirectConn {
        use sqlx::Connection;
        match self.kind {
            Kind::Sqlite => {
                DirectConn::Sqlite(sqlx::SqliteConnection::connect(&self.url).await.unwrap())
            }
            Kind::Postgres => {
                DirectConn::Postgres(sqlx::PgConnection::connect(&self.url).await.unwrap())
            }
            Kind::MySql => {
                DirectConn::MySql(sqlx::MySqlConnection::connect(&self.url).await.unwrap())
            }
        }
    }

    /// The test database's URL, with sessions tagged `tag` where the server
    /// shows a tag (PostgreSQL `application_name`), for
    /// [`server_sessions`](Self::server_sessions).
    pub fn tagged_url(&self, tag: &str) -> String {
        match self.kind {
            Kind::Postgres => {
                let sep = if self.url.contains('?') { '&' } else { '?' };
                format!("{}{sep}application_name={tag}", self.url)
            }
            Kind::Sqlite | Kind::MySql => self.url.clone(),
        }
    }

    /// The sessions the server has open for [`tagged_url`](Self::tagged_url)
    /// (`tag`), by session id, sorted: PostgreSQL backends with that
    /// `application_name`; MySQL/MariaDB connections using this test's
    /// database (close [`db`](Self::db) first, it uses it too). `None` on
    /// SQLite, which has no server.
    pub async fn server_sessions(&self, tag: &str) -> Option<Vec<i64>> {
        let sql = match self.kind {
            Kind::Sqlite => return None,
            Kind::Postgres => format!(
                "SELECT CAST(pid AS BIGINT) FROM pg_stat_activity WHERE application_name = '{tag}' ORDER BY pid"
            ),
            Kind::MySql => "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST \
                 WHERE DB = DATABASE() AND ID <> CONNECTION_ID() ORDER BY ID"
                .to_owned(),
        };
        Some(self.direct_connect().await.fetch_i64s(&sql).await)
    }

    /// Creates the tables of `Customer`, `Order` and `Tag`, which several suites use.
    pub async fn create_shop_tables(&self) {
        self.db.create_table::<models::Customer>().await.unwrap();
        self.db.create_table::<models::Order>().await.unwrap();
        self.db.create_table::<models::Tag>().await.unwrap();
    }

    /// A fresh test database of the given backend.
    pub async fn of(kind: Kind) -> Option<TestDb> {
        match kind {
            Kind::Sqlite => Some(TestDb::sqlite().await),
            Kind::Postgres => TestDb::postgres().await,
            Kind::MySql => TestDb::mysql().await,
        }
    }
}

/// A connection to a test database with sqlx, outside the ORM's pools
/// ([`TestDb::direct_connect`]).
pub enum DirectConn {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
}

impl DirectConn {
    /// Runs `sql` (several statements allowed, no parameters); panics if it fails.
    pub async fn execute(&mut self, sql: &str) {
        let text = sqlx::AssertSqlSafe(sql.to_owned());
        let done = match self {
            DirectConn::Sqlite(c) => sqlx::raw_sql(text).execute(c).await.map(drop),
            DirectConn::Postgres(c) => sqlx::raw_sql(text).execute(c).await.map(drop),
            DirectConn::MySql(c) => sqlx::raw_sql(text).execute(c).await.map(drop),
        };
        done.unwrap_or_else(|e| panic!("direct `{sql}`: {e}"));
    }

    /// The first column of every row of `sql`, a `BIGINT`.
    pub async fn fetch_i64s(&mut self, sql: &str) -> Vec<i64> {
        self.fetch_column(sql).await
    }

    /// The first column of every row of `sql`, a text.
    pub async fn fetch_strings(&mut self, sql: &str) -> Vec<String> {
        self.fetch_column(sql).await
    }

    async fn fetch_column<T>(&mut self, sql: &str) -> Vec<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
        T: for<'r> sqlx::Decode<'r, sqlx::MySql> + sqlx::Type<sqlx::MySql>,
        T: Send + Unpin,
    {
        let text = sqlx::AssertSqlSafe(sql.to_owned());
        let rows = match self {
            DirectConn::Sqlite(c) => sqlx::query_scalar(text).fetch_all(c).await,
            DirectConn::Postgres(c) => sqlx::query_scalar(text).fetch_all(c).await,
            DirectConn::MySql(c) => sqlx::query_scalar(text).fetch_all(c).await,
        };
        rows.unwrap_or_else(|e| panic!("direct `{sql}`: {e}"))
    }
}

async fn connect_pg(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {url}: {e}"))
}

async fn connect_mysql(url: &str) -> sqlx::MySqlConnection {
    use sqlx::Connection;
    sqlx::MySqlConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach MySQL at {url}: {e}"))
}

/// `mysql://u@h:p/test?x` -> `mysql://u@h:p/<database>?x`
fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[after_scheme..]
        .find('/')
        .map(|i| i + after_scheme)
        .unwrap_or(base.len());
    let mut out = format!("{}/{database}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.db.close();
        let Some(cleanup) = self.cleanup.take() else {
            return;
        };
        // Drop cannot await: clean up on a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                match cleanup {
                    Cleanup::File(path) => {
                        for suffix in ["", "-wal", "-shm", "-journal"] {
                            let mut p = path.clone().into_os_string();
                            p.push(suffix);
                            let _ = std::fs::remove_file(p);
                        }
                    }
                    // A session of the test may still hold locks on its
                    // tables: a transaction whose background rollback has
                    // not run yet, because this drop blocks the test's
                    // (single-threaded) runtime until the cleanup is done.
                    // End those sessions first, so that the drop never waits.
                    Cleanup::Postgres { admin_url, schema } => {
                        let mut c = connect_pg(&admin_url).await;
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l \
                             JOIN pg_class c ON c.oid = l.relation \
                             JOIN pg_namespace n ON n.oid = c.relnamespace \
                             WHERE n.nspname = '{schema}' AND l.pid <> pg_backend_pid(); \
                             SET lock_timeout = '30s'; \
                             DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
                        )))
                        .execute(&mut c)
                        .await;
                    }
                    Cleanup::MySql {
                        admin_url,
                        database,
                    } => {
                        let mut c = connect_mysql(&admin_url).await;
                        let sessions: Vec<i64> = sqlx::query_scalar(
                            "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
                        )
                        .bind(&database)
                        .fetch_all(&mut c)
                        .await
                        .unwrap_or_default();
                        for id in sessions {
                            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("KILL CONNECTION {id}")))
                                .execute(&mut c)
                                .await;
                        }
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                            "SET SESSION lock_wait_timeout = 30; DROP DATABASE IF EXISTS `{database}`"
                        )))
                        .execute(&mut c)
                        .await;
                    }
                }
            });
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database_of_a_mysql_url() {
        assert_eq!(
            super::replace_database("mysql://root@127.0.0.1:3306/test", "x"),
            "mysql://root@127.0.0.1:3306/x"
        );
        assert_eq!(
            super::replace_database("mysql://root@h/test?ssl-mode=disabled", "x"),
            "mysql://root@h/x?ssl-mode=disabled"
        );
    }
}
