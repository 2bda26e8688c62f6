//! Opening driver connections: URLs parsed per backend, the settings every
//! new session starts with, and the open connection itself.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::error::{Error, Result};

/// Parsed connect options: the driver's, and the session settings applied
/// to every new connection.
#[derive(Clone, Debug)]
pub(crate) struct ConnectOptions {
    driver: Driver,
    /// An in-memory SQLite database (one per connection).
    memory: bool,
    pub(crate) settings: SessionSettings,
}

#[derive(Clone, Debug)]
enum Driver {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteConnectOptions),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgConnectOptions),
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlConnectOptions),
}

/// What every new session of a connection starts with.
#[derive(Clone, Debug, Default)]
pub(crate) struct SessionSettings {
    /// The database refuses writes (PostgreSQL `default_transaction_read_only`,
    /// MySQL `SET SESSION TRANSACTION READ ONLY`, SQLite opened read-only).
    pub(crate) read_only: bool,
    /// Longest a statement may run (PostgreSQL `statement_timeout`, MariaDB
    /// `max_statement_time`, MySQL `max_execution_time`, SQLite: interrupted
    /// by a progress handler).
    pub(crate) statement_timeout: Option<Duration>,
    /// Longest a statement waits for a lock (PostgreSQL `lock_timeout`,
    /// MySQL `innodb_lock_wait_timeout`, SQLite busy timeout).
    pub(crate) lock_timeout: Option<Duration>,
}

/// The URL with its password replaced, for messages.
pub(crate) fn redact(url: &str) -> String {
    // scheme://user:password@host -> scheme://user:***@host
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((auth, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

impl ConnectOptions {
    fn new(driver: Driver, memory: bool, read_only: bool) -> ConnectOptions {
        ConnectOptions {
            driver,
            memory,
            settings: SessionSettings {
                read_only,
                ..SessionSettings::default()
            },
        }
    }

    /// Parses `url` for the connection called `name`. A `read_only`
    /// connection opens sessions in which the database itself refuses writes.
    pub(crate) fn parse(name: &str, url: &str, read_only: bool) -> Result<ConnectOptions> {
        let invalid = |reason: String| Error::InvalidUrl {
            connection: name.to_owned(),
            url: redact(url),
            reason,
        };
        let Some(backend) = Backend::from_url(url) else {
            return Err(invalid(
                "expected a URL starting with sqlite:, postgres://, mysql:// or mariadb://".into(),
            ));
        };
        match backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let memory = url.contains(":memory:") || url.contains("mode=memory");
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .map_err(|e| invalid(e.to_string()))?
                    .foreign_keys(true);
                // A read-only database is opened read-only, and must exist.
                // (ATTACH inherits the read-only open flag: SQLite's
                // sqlite3_open_v2, "SQLITE_OPEN_READONLY".)
                let options = if read_only {
                    options.read_only(true).create_if_missing(false)
                } else {
                    options.create_if_missing(true)
                };
                Ok(ConnectOptions::new(
                    Driver::Sqlite(options),
                    memory,
                    read_only,
                ))
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let options = sqlx::postgres::PgConnectOptions::from_str(url)
                    .map_err(|e| invalid(e.to_string()))?;
                Ok(ConnectOptions::new(
                    Driver::Postgres(options),
                    false,
                    read_only,
                ))
            }
            #[cfg(feature = "mysql")]
            Backend::MySql => {
                let url = url
                    .strip_prefix("mariadb")
                    .map(|rest| format!("mysql{rest}"))
                    .unwrap_or_else(|| url.to_owned());
                sqlx::mysql::MySqlConnectOptions::from_str(&url)
                    .map(|o| ConnectOptions::new(Driver::MySql(o), false, read_only))
                    .map_err(|e| invalid(e.to_string()))
            }
            #[allow(unreachable_patterns)]
            other => Err(Error::BackendNotEnabled {
                connection: name.to_owned(),
                backend: other.name(),
                feature: other.feature(),
            }),
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match &self.driver {
            #[cfg(feature = "sqlite")]
            Driver::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Driver::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            Driver::MySql(_) => Backend::MySql,
        }
    }

    /// Whether this is an in-memory SQLite database (one per connection).
    pub(crate) fn is_memory(&self) -> bool {
        self.memory
    }
}

/// An open driver connection.
pub(crate) enum RawConn {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgConnection),
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlConnection),
}

/// What the server told of a new session, for cancelling its statements and
/// for reading its errors.
#[derive(Clone, Debug, Default)]
pub(crate) struct SessionInfo {
    /// The PostgreSQL backend's process id or the MySQL connection id: what
    /// a cancel request names (`pg_cancel_backend`, `KILL QUERY`).
    pub(crate) id: Option<u64>,
    /// MariaDB rather than MySQL: the statement timeout variable differs.
    pub(crate) mariadb: bool,
    /// MySQL `innodb_rollback_on_timeout`: a lock wait timeout rolls back
    /// the whole transaction, not only the statement.
    pub(crate) rollback_on_timeout: bool,
    /// SQLite: when the running statement must stop, read by the progress
    /// handler (see [`Deadline`]).
    pub(crate) deadline: Option<Deadline>,
}

/// A statement deadline shared with SQLite's progress handler, which
/// interrupts the statement (`SQLITE_INTERRUPT`) once it has passed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Deadline(Arc<AtomicU64>);

/// How many SQLite virtual machine instructions run between two checks of
/// the deadline: a few microseconds of work.
#[cfg(feature = "sqlite")]
const PROGRESS_OPS: i32 = 1000;

impl Deadline {
    /// Nanoseconds since the process's first use of a deadline; 0 means none.
    fn now() -> u64 {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        let epoch = *EPOCH.get_or_init(Instant::now);
        u64::try_from(epoch.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// The running statement must stop `after` from now (`None`: never).
    pub(crate) fn set(&self, after: Option<Duration>) {
        let at = match after {
            Some(d) => Self::now().saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            None => 0,
        };
        self.0.store(at, Ordering::Relaxed);
    }

    /// Stops the running statement at the next check.
    pub(crate) fn expire(&self) {
        self.0.store(1, Ordering::Relaxed);
    }

    /// Whether the statement may go on.
    #[cfg(feature = "sqlite")]
    fn may_continue(&self) -> bool {
        let at = self.0.load(Ordering::Relaxed);
        at == 0 || Self::now() < at
    }
}

impl RawConn {
    /// The backend of this connection.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            RawConn::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            RawConn::MySql(_) => Backend::MySql,
        }
    }

    /// Runs SQL without parameters (possibly several statements), ignoring
    /// what it returns: session settings, cancel requests.
    pub(crate) async fn run_plain(&mut self, sql: &str) -> std::result::Result<(), sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(c) => sqlx::raw_sql(sql).execute(&mut *c).await.map(drop),
            #[cfg(feature = "postgres")]
            RawConn::Postgres(c) => sqlx::raw_sql(sql).execute(&mut *c).await.map(drop),
            #[cfg(feature = "mysql")]
            RawConn::MySql(c) => sqlx::raw_sql(sql).execute(&mut *c).await.map(drop),
        }
    }

    /// Drops the driver's prepared statements.
    pub(crate) async fn clear_cached_statements(&mut self) -> std::result::Result<(), sqlx::Error> {
        use sqlx::Connection as _;
        match self {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(c) => c.clear_cached_statements().await,
            #[cfg(feature = "postgres")]
            RawConn::Postgres(c) => c.clear_cached_statements().await,
            #[cfg(feature = "mysql")]
            RawConn::MySql(c) => c.clear_cached_statements().await,
        }
    }

    /// Opens a connection and applies the session settings; returns what
    /// the server told of the session.
    pub(crate) async fn connect(
        options: &ConnectOptions,
    ) -> Result<(RawConn, SessionInfo), sqlx::Error> {
        use sqlx::ConnectOptions as _;
        let settings = &options.settings;
        match &options.driver {
            #[cfg(feature = "sqlite")]
            Driver::Sqlite(o) => {
                let o = match settings.lock_timeout {
                    Some(t) => o.clone().busy_timeout(t),
                    None => o.clone(),
                };
                let mut conn = o.connect().await?;
                let deadline = Deadline::default();
                let handler = deadline.clone();
                conn.lock_handle()
                    .await?
                    .set_progress_handler(PROGRESS_OPS, move || handler.may_continue());
                let info = SessionInfo {
                    deadline: Some(deadline),
                    ..SessionInfo::default()
                };
                Ok((RawConn::Sqlite(conn), info))
            }
            #[cfg(feature = "postgres")]
            Driver::Postgres(o) => {
                use sqlx::Row as _;
                // Sent in the startup packet: no extra round trip.
                let mut startup: Vec<(&str, String)> = Vec::new();
                if settings.read_only {
                    startup.push(("default_transaction_read_only", "on".into()));
                }
                if let Some(t) = settings.statement_timeout {
                    startup.push(("statement_timeout", millis(t).to_string()));
                }
                if let Some(t) = settings.lock_timeout {
                    startup.push(("lock_timeout", millis(t).to_string()));
                }
                let mut conn = if startup.is_empty() {
                    o.connect().await?
                } else {
                    o.clone().options(startup).connect().await?
                };
                // The backend's pid, for cancel requests (sqlx keeps the
                // protocol's BackendKeyData private).
                let pid: i32 = sqlx::query("SELECT pg_backend_pid()")
                    .fetch_one(&mut conn)
                    .await?
                    .try_get(0)?;
                let info = SessionInfo {
                    id: u64::try_from(pid).ok(),
                    ..SessionInfo::default()
                };
                Ok((RawConn::Postgres(conn), info))
            }
            #[cfg(feature = "mysql")]
            Driver::MySql(o) => {
                use sqlx::{Executor as _, Row as _};
                let mut conn = o.connect().await?;
                let row =
                    sqlx::query("SELECT CONNECTION_ID(), VERSION(), @@innodb_rollback_on_timeout")
                        .fetch_one(&mut conn)
                        .await?;
                let id: u64 = row.try_get(0)?;
                let version: String = row.try_get(1)?;
                let rollback_on_timeout: i64 = row.try_get(2)?;
                let info = SessionInfo {
                    id: Some(id),
                    mariadb: version.contains("MariaDB"),
                    rollback_on_timeout: rollback_on_timeout != 0,
                    deadline: None,
                };
                if let Some(set) = mysql_session_sql(&info, settings) {
                    conn.execute(sqlx::AssertSqlSafe(set)).await?;
                }
                if settings.read_only {
                    conn.execute("SET SESSION TRANSACTION READ ONLY").await?;
                }
                Ok((RawConn::MySql(conn), info))
            }
        }
    }
}

/// Whole milliseconds, at least 1 (0 turns PostgreSQL's timeouts off).
pub(crate) fn millis(d: Duration) -> u128 {
    d.as_millis().max(1)
}

#[cfg(feature = "mysql")]
/// `SET SESSION` of the statement and lock timeouts on MySQL/MariaDB, if any
/// is set. `innodb_lock_wait_timeout` is whole seconds (at least 1);
/// MariaDB's `max_statement_time` is seconds with a fraction, MySQL's
/// `max_execution_time` milliseconds (and applies to `SELECT` only).
pub(crate) fn mysql_session_sql(info: &SessionInfo, settings: &SessionSettings) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(t) = settings.statement_timeout {
        parts.push(statement_timeout_assignment(info, Some(t)));
    }
    if let Some(t) = settings.lock_timeout {
        parts.push(lock_timeout_assignment(Some(t)));
    }
    (!parts.is_empty()).then(|| format!("SET SESSION {}", parts.join(", ")))
}

/// `max_statement_time = ...` (MariaDB) or `max_execution_time = ...`
/// (MySQL); `None` sets the server's default back.
pub(crate) fn statement_timeout_assignment(info: &SessionInfo, t: Option<Duration>) -> String {
    match (info.mariadb, t) {
        (true, Some(t)) => format!("max_statement_time = {:.3}", t.as_secs_f64().max(0.001)),
        (false, Some(t)) => format!("max_execution_time = {}", millis(t)),
        (true, None) => "max_statement_time = DEFAULT".into(),
        (false, None) => "max_execution_time = DEFAULT".into(),
    }
}

/// `innodb_lock_wait_timeout = ..., lock_wait_timeout = ...`: row locks
/// (InnoDB) and table and metadata locks (`LOCK TABLES`, DDL), rounded up to
/// whole seconds (at least 1); `None` sets the server's defaults back. MySQL
/// manual, "Server System Variables" and "InnoDB Startup Options".
pub(crate) fn lock_timeout_assignment(t: Option<Duration>) -> String {
    match t {
        Some(t) => {
            let secs = (t.as_secs() + u64::from(t.subsec_nanos() > 0)).max(1);
            format!("innodb_lock_wait_timeout = {secs}, lock_wait_timeout = {secs}")
        }
        None => "innodb_lock_wait_timeout = DEFAULT, lock_wait_timeout = DEFAULT".into(),
    }
}
