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

/// What sits between a connection and its database server, and so how
/// long a server session stays the client's own.
///
/// Given by the URL's `pooler` parameter (`postgres://.../db?pooler=transaction`)
/// or by [`PoolOptions::pooler`](crate::PoolOptions::pooler); when both
/// are given, [`Pooler::Transaction`] wins.
///
/// # Through PgBouncer in transaction mode
///
/// PgBouncer with `pool_mode = transaction` lends a server session to a
/// client for one transaction at a time (PgBouncer manual, "pool_mode";
/// its "Feature matrix" lists what a session loses). With
/// [`Pooler::Transaction`] a PostgreSQL connection relies on nothing that
/// lives longer than a transaction:
///
/// - Statements are prepared unnamed and never cached (PgBouncer 1.18
///   does not carry protocol-level prepared statements between server
///   sessions). A statement with bound values is sent in two protocol
///   exchanges (parse and describe, then bind and execute); outside a
///   transaction the two could reach different server sessions, so such
///   a statement runs inside a `BEGIN` .. `COMMIT` of its own: four round
///   trips instead of one or two. Group statements in a transaction to
///   pay for it once.
/// - The connection's statement timeout, lock timeout and read-only mode
///   are set per transaction (`SET LOCAL statement_timeout`, `SET LOCAL
///   lock_timeout`, `BEGIN READ ONLY`), never per session, and a URL with
///   session `options` is refused. DDL outside a transaction
///   ([`Database::create_table`](crate::Database::create_table)) goes in
///   one simple-query message, which PgBouncer keeps on one server
///   session, in a transaction of its own only when such a setting has to
///   be applied. [`raw`](crate::raw()) statements are sent with the
///   extended protocol, so always in a transaction: `VACUUM` or `CREATE
///   INDEX CONCURRENTLY` fail ("cannot run inside a transaction block"):
///   run those on a direct connection.
/// - Cancel requests (`pg_cancel_backend`, for a statement past its time
///   limit or abandoned by a dropped future) name the server process that
///   runs the transaction, read in it (`pg_backend_pid()`, one more round
///   trip per explicit transaction), never one read earlier, which by then
///   may serve another client. DDL sent outside a transaction without a
///   transaction of its own has no known process: if its future is
///   dropped it is not cancelled (it runs until done, or until the
///   server's statement timeout).
/// - Migrations take their lock per transaction (`pg_advisory_xact_lock`; the
///   migration runner does it, for every PostgreSQL connection).
/// - PgBouncer itself keeps `TimeZone`, `DateStyle`, `client_encoding` and
///   `application_name` per client. Anything else a raw statement sets
///   for the session (`SET`, session advisory locks, `LISTEN`, temporary
///   tables, `PREPARE`) is lost or leaks to other clients: keep to `SET
///   LOCAL` and transaction-level locks. A read-only connection is read-only
///   per transaction only: raw SQL that ends its transaction (`COMMIT`) can
///   write; connect it with a role that has no write privileges.
///
/// PgBouncer must accept sqlx's startup packet as it is: nothing to
/// configure there (with this option sqlx does not send
/// `extra_float_digits`). Cancel requests need a free server session:
/// give the pool a `reserve_pool_size`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pooler {
    /// No pooler, or one that gives each client a server session of its
    /// own while it is connected (PgBouncer `pool_mode = session`): the
    /// default. URL: `pooler=session`.
    #[default]
    Session,
    /// A pooler that lends a server session for one transaction at a time
    /// (PgBouncer `pool_mode = transaction`): PostgreSQL only. URL:
    /// `pooler=transaction`.
    Transaction,
}

/// The URL query parameter that names the [`Pooler`].
const POOLER_PARAM: &str = "pooler";

/// `url` without its `pooler` parameter, and that parameter's value if
/// it has one; an error message when it has two.
fn take_pooler_param(url: &str) -> std::result::Result<(String, Option<String>), String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut value = None;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=').unwrap_or((pair, "")) {
            (POOLER_PARAM, v) if value.is_some() => {
                return Err(format!(
                    "`{POOLER_PARAM}` is given twice (the second time as `{v}`)"
                ))
            }
            (POOLER_PARAM, v) => value = Some(v.to_owned()),
            _ => kept.push(pair),
        }
    }
    let url = match kept.is_empty() {
        true => base.to_owned(),
        false => format!("{base}?{}", kept.join("&")),
    };
    Ok((url, value))
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
    /// What sits between the connection and the server.
    pub(crate) pooler: Pooler,
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
    ///
    /// [`Error::InvalidUrl`] when the driver refuses the URL, when its
    /// `pooler` parameter is not `session` or `transaction` or is given
    /// twice, when `pooler=transaction` names another backend than
    /// PostgreSQL, and when a `pooler=transaction` URL sets session
    /// `options` (they would not survive a transaction; see [`Pooler`]).
    pub(crate) fn parse(name: &str, url: &str, read_only: bool) -> Result<ConnectOptions> {
        let invalid = |reason: String| Error::InvalidUrl {
            connection: name.to_owned(),
            url: redact(url),
            reason,
        };
        let (stripped, pooler) = take_pooler_param(url).map_err(invalid)?;
        let pooler = match pooler.as_deref() {
            None | Some("session") => Pooler::Session,
            Some("transaction") => Pooler::Transaction,
            Some("statement") => {
                return Err(invalid(
                    "`pooler=statement` is not supported: a pooler in statement mode cannot run \
                     transactions; use PgBouncer's `pool_mode = transaction` and `pooler=transaction`"
                        .into(),
                ))
            }
            Some(other) => {
                return Err(invalid(format!(
                    "unknown `pooler` value `{other}`: expected `session` (no pooler, or one in session \
                     mode) or `transaction` (PgBouncer's `pool_mode = transaction`)"
                )))
            }
        };
        let mut options = ConnectOptions::parse_driver(name, &stripped, read_only, &invalid)?;
        if pooler == Pooler::Transaction {
            options.use_transaction_pooler().map_err(invalid)?;
        }
        Ok(options)
    }

    /// Sets the connection up for a pooler in transaction mode (see
    /// [`Pooler::Transaction`]); the reason it cannot be, for the URL's error.
    fn use_transaction_pooler(&mut self) -> std::result::Result<(), String> {
        match &mut self.driver {
            #[cfg(feature = "postgres")]
            Driver::Postgres(o) => {
                if let Some(options) = o.get_options() {
                    return Err(format!(
                        "`pooler=transaction` with session `options` ({options}): a pooler in transaction \
                         mode does not keep session settings; set them on the server (`ALTER ROLE ... SET`, \
                         PgBouncer's `connect_query`) or use the connection's own options"
                    ));
                }
                // PgBouncer refuses startup parameters it does not track
                // ("unsupported startup parameter"), and a statement
                // prepared under a name would be missing, or another
                // client's, on the next server session.
                *o = o
                    .clone()
                    .extra_float_digits(None)
                    .statement_cache_capacity(0);
                self.settings.pooler = Pooler::Transaction;
                Ok(())
            }
            #[allow(unreachable_patterns)]
            _ => Err(format!(
                "`pooler=transaction` is for PostgreSQL behind PgBouncer; this is a {} URL",
                self.backend().name()
            )),
        }
    }

    fn parse_driver(
        name: &str,
        url: &str,
        read_only: bool,
        invalid: &dyn Fn(String) -> Error,
    ) -> Result<ConnectOptions> {
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

    /// Where statements go, as OpenTelemetry names it: `db.namespace`
    /// (the database; SQLite: the file, or `main` in memory),
    /// `server.address` and `server.port` (none for SQLite).
    pub(crate) fn server(&self) -> Server {
        match &self.driver {
            #[cfg(feature = "sqlite")]
            Driver::Sqlite(o) => Server {
                namespace: match self.memory {
                    true => "main".to_owned(),
                    false => o.get_filename().display().to_string(),
                },
                address: None,
                port: None,
            },
            #[cfg(feature = "postgres")]
            Driver::Postgres(o) => Server {
                namespace: o.get_database().unwrap_or(o.get_username()).to_owned(),
                address: Some(o.get_host().to_owned()),
                port: Some(o.get_port()),
            },
            #[cfg(feature = "mysql")]
            Driver::MySql(o) => Server {
                namespace: o.get_database().unwrap_or_default().to_owned(),
                address: Some(o.get_host().to_owned()),
                port: Some(o.get_port()),
            },
        }
    }

    /// What the query cache scopes connection `name`'s entries and table
    /// versions by, so that two databases never share them, even in one
    /// Redis namespace: the name and the database where it lives, the
    /// server's host and port and the database's name, or a SQLite file's
    /// absolute path; an in-memory SQLite database, which no other pool
    /// sees, gets a scope of its own (process and pool). Processes that
    /// share invalidations through Redis must therefore spell the server
    /// the same way (`127.0.0.1` and `localhost` are two scopes).
    pub(crate) fn cache_scope(&self, name: &str) -> String {
        static POOLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let server = self.server();
        match (&server.address, server.port) {
            (Some(host), Some(port)) => format!("{name}/{host}:{port}/{}", server.namespace),
            _ if self.memory => format!(
                "{name}/memory:{}:{}",
                std::process::id(),
                POOLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
            _ => {
                let path = std::path::Path::new(&server.namespace);
                let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
                format!("{name}/sqlite:{}", path.display())
            }
        }
    }

    /// Whether this is an in-memory SQLite database (one per connection).
    pub(crate) fn is_memory(&self) -> bool {
        self.memory
    }

    /// Whether sessions last one transaction only (see [`Pooler::Transaction`]).
    pub(crate) fn transaction_pooler(&self) -> bool {
        self.settings.pooler == Pooler::Transaction
    }

    /// Applies a [`Pooler`] given by [`PoolOptions::pooler`](crate::PoolOptions::pooler);
    /// the reason when this connection's backend cannot go through it.
    pub(crate) fn set_pooler(&mut self, pooler: Pooler) -> std::result::Result<(), String> {
        match pooler {
            Pooler::Session => Ok(()),
            Pooler::Transaction if self.transaction_pooler() => Ok(()),
            Pooler::Transaction => self.use_transaction_pooler(),
        }
    }
}

/// What a connection's statements report of their server (see
/// [`ConnectOptions::server`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct Server {
    /// The database (PostgreSQL: the user's when the URL names none).
    pub(crate) namespace: String,
    #[cfg_attr(not(feature = "spans"), allow(dead_code))]
    pub(crate) address: Option<String>,
    #[cfg_attr(not(feature = "spans"), allow(dead_code))]
    pub(crate) port: Option<u16>,
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
            Driver::Postgres(o) if settings.pooler == Pooler::Transaction => {
                // Nothing per session: the settings are applied per
                // transaction, and the server process is read in each
                // transaction (see `Pooler::Transaction`).
                let conn = o.connect().await?;
                Ok((RawConn::Postgres(conn), SessionInfo::default()))
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
