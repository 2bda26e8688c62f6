//! Transaction control on a pooled connection: begin with options, commit
//! and rollback, savepoints for nesting (the depth is the driver's), and
//! the state this crate keeps so that a commit never reports success for
//! writes that were not stored.
//!
//! What a failed statement does to a transaction differs per backend:
//!
//! - PostgreSQL aborts the transaction: every later statement fails with
//!   SQLSTATE 25P02 and `COMMIT` quietly rolls back (PostgreSQL manual,
//!   "Transactions" tutorial; `COMMIT` reports `ROLLBACK`). This crate
//!   records the failure and refuses the transaction's later statements and
//!   its commit with [`Error::TransactionAborted`], rolling it back. Rolling
//!   back to a savepoint taken before the failure clears it.
//! - MySQL/MariaDB and SQLite undo only the failed statement and keep the
//!   transaction going, except where the server rolls the whole transaction
//!   back itself: InnoDB on a deadlock (and on a lock wait timeout with
//!   `innodb_rollback_on_timeout`), SQLite on some errors (an interrupt, a
//!   full disk; "Response To Errors Within A Transaction" in SQLite's
//!   `lang_transaction`). Then this crate too refuses what follows with
//!   [`Error::TransactionAborted`], and closes the connection afterwards.

use std::time::{Duration, Instant};

use super::conn::{sql_static, Fail};
use super::connect::{
    lock_timeout_assignment, millis, statement_timeout_assignment, RawConn, SessionInfo,
};
use super::pool::PooledConn;
use crate::backend::Backend;
use crate::error::{Error, Result};

/// One arm per backend, with `$tm` naming that backend's transaction manager.
macro_rules! each_tm {
    ($raw:expr, $c:ident, $tm:ident => $body:expr) => {{
        #[allow(unused_imports)]
        use sqlx_core::transaction::TransactionManager as _;
        match $raw {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite($c) => {
                use sqlx::sqlite::SqliteTransactionManager as $tm;
                $body
            }
            #[cfg(feature = "postgres")]
            RawConn::Postgres($c) => {
                use sqlx::postgres::PgTransactionManager as $tm;
                $body
            }
            #[cfg(feature = "mysql")]
            RawConn::MySql($c) => {
                use sqlx::mysql::MySqlTransactionManager as $tm;
                $body
            }
        }
    }};
}

/// The isolation level of a transaction (SQL standard, "SET TRANSACTION").
///
/// What each backend really does:
/// - PostgreSQL: `ReadUncommitted` behaves as `ReadCommitted`;
///   `RepeatableRead` is snapshot isolation; `Serializable` is serializable
///   snapshot isolation, which can fail with
///   [`Error::SerializationFailure`] (PostgreSQL manual, "Transaction
///   Isolation"). Default: `ReadCommitted`.
/// - MySQL/MariaDB (InnoDB): all four; `Serializable` makes plain reads
///   take shared locks, so conflicts show as [`Error::Deadlock`] or
///   [`Error::LockTimeout`] (MySQL manual, "Transaction Isolation Levels").
///   Default: `RepeatableRead`.
/// - SQLite: every transaction is serializable whatever is asked (the
///   standard allows a stronger level); choose how it locks with
///   [`SqliteBegin`] instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsolationLevel {
    /// May see other transactions' uncommitted writes (MySQL only).
    ReadUncommitted,
    /// Each statement sees what was committed before it began.
    ReadCommitted,
    /// Every statement sees the snapshot taken at the transaction's first statement.
    RepeatableRead,
    /// As if the transactions ran one after another.
    Serializable,
}

impl IsolationLevel {
    fn sql(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "READ UNCOMMITTED",
            IsolationLevel::ReadCommitted => "READ COMMITTED",
            IsolationLevel::RepeatableRead => "REPEATABLE READ",
            IsolationLevel::Serializable => "SERIALIZABLE",
        }
    }
}

/// How a SQLite transaction takes the database's lock (SQLite "BEGIN
/// TRANSACTION": deferred, immediate, exclusive).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SqliteBegin {
    /// Locks on first read (shared) and first write (reserved); a reader
    /// that later writes can fail with [`Error::LockTimeout`] or
    /// [`Error::SerializationFailure`] (the default).
    #[default]
    Deferred,
    /// Takes the write lock at once: the transaction never fails for a lock
    /// later, and other writers wait (up to the lock timeout).
    Immediate,
    /// As `Immediate`; in WAL mode the same, otherwise readers wait too.
    Exclusive,
}

/// Options of one transaction; see [`Database::begin_with`](crate::Database::begin_with).
///
/// ```
/// use std::time::Duration;
/// use orm::{IsolationLevel, RetryPolicy, TransactionOptions};
/// let options = TransactionOptions::new()
///     .isolation(IsolationLevel::Serializable)
///     .timeout(Duration::from_secs(5))
///     .lock_timeout(Duration::from_millis(500))
///     .retry(RetryPolicy::new().max_attempts(5));
/// # let _ = options;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TransactionOptions {
    pub(crate) isolation: Option<IsolationLevel>,
    pub(crate) read_only: bool,
    pub(crate) sqlite_begin: SqliteBegin,
    pub(crate) timeout: Option<Duration>,
    pub(crate) statement_timeout: Option<Duration>,
    pub(crate) lock_timeout: Option<Duration>,
    pub(crate) retry: Option<super::retry::RetryPolicy>,
}

impl TransactionOptions {
    /// The backend's defaults: its default isolation level, read-write
    /// (read-only on a read-only connection), no deadline.
    pub fn new() -> Self {
        Self::default()
    }

    /// The isolation level (see [`IsolationLevel`] for what each backend does).
    pub fn isolation(mut self, level: IsolationLevel) -> Self {
        self.isolation = Some(level);
        self
    }

    /// A read-only transaction: the database refuses its writes with
    /// [`Error::ReadOnly`]. PostgreSQL and MySQL `READ ONLY` transactions;
    /// SQLite `PRAGMA query_only` for the transaction's length.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// How a SQLite transaction locks (ignored on other backends).
    pub fn sqlite_begin(mut self, begin: SqliteBegin) -> Self {
        self.sqlite_begin = begin;
        self
    }

    /// A deadline for the whole transaction, from `begin`: a statement or
    /// commit after it fails with [`Error::Timeout`] and the transaction is
    /// rolled back; a statement running when it passes is cancelled. So
    /// that a transaction whose owner stopped using it (a task stuck
    /// elsewhere) does not hold its locks past the deadline, the server
    /// ends a session left idle that long: PostgreSQL
    /// `idle_in_transaction_session_timeout`, MySQL `wait_timeout` (whole
    /// seconds). SQLite has no such backstop: its lock is released when the
    /// transaction is dropped.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// The longest each statement of the transaction may run
    /// ([`Error::StatementTimeout`]): PostgreSQL `SET LOCAL
    /// statement_timeout`; MariaDB `max_statement_time` and MySQL
    /// `max_execution_time` for the transaction's length; SQLite: the
    /// statement is interrupted.
    pub fn statement_timeout(mut self, limit: Duration) -> Self {
        self.statement_timeout = Some(limit);
        self
    }

    /// The longest each statement waits for a lock ([`Error::LockTimeout`]):
    /// PostgreSQL `SET LOCAL lock_timeout`; MySQL `innodb_lock_wait_timeout`
    /// and `lock_wait_timeout` (whole seconds, rounded up) and SQLite's busy timeout for the
    /// transaction's length.
    pub fn lock_timeout(mut self, limit: Duration) -> Self {
        self.lock_timeout = Some(limit);
        self
    }

    /// How [`Database::transaction_with`](crate::Database::transaction_with)
    /// retries the whole transaction after a transient error (default: the
    /// connection's [`PoolOptions::retry`](crate::PoolOptions::retry)).
    pub fn retry(mut self, policy: super::retry::RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The retry policy, if one was given.
    pub fn retry_policy(&self) -> Option<super::retry::RetryPolicy> {
        self.retry
    }
}

/// Why a transaction can no longer commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Abort {
    /// A statement at this depth failed (PostgreSQL): rolling back this
    /// level (to its savepoint) clears it.
    Failed(usize),
    /// The server rolled the whole transaction back by itself; the driver
    /// still counts it, so the connection is closed when released.
    EndedByServer,
    /// The deadline passed: the whole transaction is rolled back.
    Deadline(Duration),
    /// Raw SQL ended the transaction (`COMMIT` and the like): what it had
    /// written was committed; the connection is closed when released.
    EndedByRaw,
}

/// The transaction in progress on a connection, as this crate tracks it
/// (the depth is the driver's).
#[derive(Debug, Default)]
pub(crate) struct TxState {
    pub(crate) aborted: Option<Abort>,
    /// A transient error (serialization failure, deadlock, lock timeout)
    /// happened in this transaction: running it again may succeed.
    pub(crate) transient: bool,
    /// When the transaction's deadline passes, and the limit it was given.
    pub(crate) deadline: Option<(Instant, Duration)>,
    /// A statement limit this crate enforces itself (SQLite).
    pub(crate) statement_timeout: Option<Duration>,
    /// The transaction's lock timeout (SQLite: the busy timeout to go
    /// back to after a statement with a shorter limit).
    pub(crate) lock_timeout: Option<Duration>,
    /// Raw SQL ran in this transaction (on a writable connection): commit
    /// and rollback check that the transaction is still open first.
    pub(crate) raw_ran: bool,
    /// A statement that may write (a write operation, or raw SQL) ran in
    /// this transaction: its commit counts as a write for read-your-writes.
    pub(crate) wrote: bool,
    /// The tables its writes touched: the query cache invalidates them
    /// when the transaction commits (not before; not on a rollback).
    pub(crate) written: Vec<&'static str>,
    /// Session settings to put back when the transaction ends (MySQL, SQLite).
    pub(crate) restore: Option<String>,
    /// The transaction's `tracing` span, the parent of its statements'
    /// (see `routing::trace`); it ends when the state is dropped. Boxed:
    /// every pooled connection carries the state, and every statement's
    /// future the connection.
    #[cfg(feature = "spans")]
    pub(crate) span: Option<Box<tracing::Span>>,
}

impl TxState {
    /// Records that a write of `tables` ran in this transaction (or may
    /// have): the query cache invalidates them when it commits.
    pub(crate) fn note_written(&mut self, tables: &[&'static str]) {
        for table in tables {
            if !self.written.contains(table) {
                self.written.push(table);
            }
        }
    }

    /// Whether the server has already ended the transaction.
    pub(crate) fn ended_by_server(&self) -> bool {
        self.aborted == Some(Abort::EndedByServer)
    }
}

impl RawConn {
    /// The transaction depth: 0 outside a transaction, 1 inside, more inside savepoints.
    pub(crate) fn transaction_depth(&self) -> usize {
        each_tm!(self, c, tm => tm::get_transaction_depth(c))
    }

    /// Rolls back every level of the transaction.
    pub(crate) async fn rollback_all(&mut self) -> std::result::Result<(), sqlx::Error> {
        while self.transaction_depth() > 0 {
            each_tm!(self, c, tm => tm::rollback(c).await)?;
        }
        Ok(())
    }

    /// Queues a rollback of every level (SQLite's worker thread runs it at
    /// once; the other drivers send it before their next statement).
    pub(crate) fn start_rollback_all(&mut self) {
        for _ in 0..self.transaction_depth() {
            each_tm!(self, c, tm => tm::start_rollback(c));
        }
    }
}

/// The statement that opens a transaction with `options`, and the one that
/// puts the session back afterwards (MySQL and SQLite settings have no
/// transaction-local form). Through a transaction `pooler` the session
/// has none of the connection's settings: the transaction sets the pool's
/// timeouts itself (PostgreSQL only).
fn begin_sql(
    backend: Backend,
    info: &SessionInfo,
    read_only_connection: bool,
    options: &TransactionOptions,
    pool_statement_timeout: Option<Duration>,
    pool_lock_timeout: Option<Duration>,
    pooler: bool,
) -> (String, Option<String>) {
    let read_only = options.read_only || read_only_connection;
    match backend {
        // PostgreSQL manual, "BEGIN", "SET TRANSACTION" and "SET" (LOCAL):
        // one simple-query round trip for all of it.
        Backend::Postgres => {
            let mut sql = String::from("BEGIN");
            if let Some(level) = options.isolation {
                sql.push_str(" ISOLATION LEVEL ");
                sql.push_str(level.sql());
            }
            if read_only {
                sql.push_str(" READ ONLY");
            }
            let per_statement = options
                .statement_timeout
                .or(pool_statement_timeout.filter(|_| pooler));
            let statement = match (per_statement, options.timeout) {
                (Some(s), Some(d)) => Some(s.min(d)),
                (s, d) => s.or(d),
            };
            if let Some(t) = statement {
                sql.push_str(&format!("; SET LOCAL statement_timeout = {}", millis(t)));
            }
            let lock = options
                .lock_timeout
                .or(pool_lock_timeout.filter(|_| pooler));
            if let Some(t) = lock {
                sql.push_str(&format!("; SET LOCAL lock_timeout = {}", millis(t)));
            }
            if let Some(t) = options.timeout {
                sql.push_str(&format!(
                    "; SET LOCAL idle_in_transaction_session_timeout = {}",
                    millis(t)
                ));
            }
            (sql, None)
        }
        // MySQL manual, "START TRANSACTION" and "SET TRANSACTION": the
        // isolation level is set for the next transaction only.
        Backend::MySql => {
            let mut sql = String::new();
            let mut set = Vec::new();
            let mut restore = Vec::new();
            if let Some(t) = options.statement_timeout {
                set.push(statement_timeout_assignment(info, Some(t)));
                restore.push(statement_timeout_assignment(info, pool_statement_timeout));
            }
            if let Some(t) = options.lock_timeout {
                set.push(lock_timeout_assignment(Some(t)));
                restore.push(lock_timeout_assignment(pool_lock_timeout));
            }
            if let Some(t) = options.timeout {
                // The server's backstop for a transaction its owner stopped
                // using: a session idle longer than the deadline is closed,
                // which rolls the transaction back (MySQL manual,
                // "wait_timeout"; whole seconds, rounded up).
                let secs = (t.as_secs() + u64::from(t.subsec_nanos() > 0)).max(1);
                set.push(format!("wait_timeout = {secs}"));
                restore.push("wait_timeout = DEFAULT".to_owned());
            }
            if !set.is_empty() {
                sql.push_str(&format!("SET SESSION {}; ", set.join(", ")));
            }
            if let Some(level) = options.isolation {
                sql.push_str(&format!(
                    "SET TRANSACTION ISOLATION LEVEL {}; ",
                    level.sql()
                ));
            }
            sql.push_str("START TRANSACTION");
            if read_only {
                sql.push_str(" READ ONLY");
            }
            let restore =
                (!restore.is_empty()).then(|| format!("SET SESSION {}", restore.join(", ")));
            (sql, restore)
        }
        // SQLite "BEGIN TRANSACTION" and "PRAGMA query_only", "PRAGMA busy_timeout".
        Backend::Sqlite => {
            // sqlx's default busy timeout is 5 s.
            let normal = pool_lock_timeout.unwrap_or(Duration::from_secs(5));
            let held = options.lock_timeout.unwrap_or(normal);
            // BEGIN IMMEDIATE waits for the write lock: no longer than any
            // limit of the transaction's (set before it, to count for it).
            let begin = [Some(held), options.statement_timeout, options.timeout]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(held);
            let mut sql = String::new();
            let mut restore = Vec::new();
            if begin != normal {
                sql.push_str(&format!("PRAGMA busy_timeout = {}; ", millis(begin)));
            }
            sql.push_str(match options.sqlite_begin {
                SqliteBegin::Deferred => "BEGIN DEFERRED",
                SqliteBegin::Immediate => "BEGIN IMMEDIATE",
                SqliteBegin::Exclusive => "BEGIN EXCLUSIVE",
            });
            if held != begin {
                sql.push_str(&format!("; PRAGMA busy_timeout = {}", millis(held)));
            }
            if held != normal || begin != normal {
                restore.push(format!("PRAGMA busy_timeout = {}", millis(normal)));
            }
            if options.read_only && !read_only_connection {
                sql.push_str("; PRAGMA query_only = 1");
                restore.push("PRAGMA query_only = 0".to_owned());
            }
            let restore = (!restore.is_empty()).then(|| restore.join("; "));
            (sql, restore)
        }
    }
}

impl PooledConn {
    /// The transaction depth: 0 outside a transaction, 1 inside, more inside savepoints.
    pub(crate) fn transaction_depth(&mut self) -> usize {
        self.raw().transaction_depth()
    }

    /// Refuses a statement (or savepoint) in a transaction that can no
    /// longer commit, or past its deadline.
    pub(crate) fn check_transaction(&mut self) -> Result<()> {
        if self.transaction_depth() == 0 {
            return Ok(());
        }
        if let Some((at, limit)) = self.tx.deadline {
            if Instant::now() >= at && self.tx.aborted.is_none() {
                self.tx.aborted = Some(Abort::Deadline(limit));
            }
        }
        match self.tx.aborted {
            None => Ok(()),
            Some(Abort::Deadline(limit)) => Err(Error::Timeout {
                connection: self.connection_name().to_owned(),
                limit,
            }),
            Some(Abort::EndedByRaw) => Err(self.ended_by_raw()),
            Some(_) => Err(Error::TransactionAborted {
                connection: self.connection_name().to_owned(),
            }),
        }
    }

    /// Whether the connection can take a statement: not broken, not left
    /// mid-statement by a cancelled future (inside a transaction, whose
    /// state is then unknown: it is rolled back when released), and its
    /// transaction can still commit.
    pub(crate) fn check_usable(&mut self) -> Result<()> {
        if self.busy {
            return Err(Error::TransactionAborted {
                connection: self.connection_name().to_owned(),
            });
        }
        self.check_transaction()?;
        if self.broken {
            return Err(self.lost());
        }
        Ok(())
    }

    /// Opens a transaction with `options`, or a savepoint inside one
    /// (options then must be the defaults: they belong to the transaction).
    pub(crate) async fn begin(&mut self, options: &TransactionOptions) -> Result<()> {
        self.check_usable()?;
        let depth = self.transaction_depth();
        let statement = if depth == 0 {
            let (sql, restore) = begin_sql(
                self.backend(),
                &self.info,
                self.read_only(),
                options,
                self.pool.options.statement_timeout,
                self.pool.options.lock_timeout,
                self.pool.transaction_pooler(),
            );
            self.server_pid = None;
            self.tx = super::transaction::TxState {
                deadline: options.timeout.map(|t| (Instant::now() + t, t)),
                statement_timeout: options.statement_timeout,
                lock_timeout: options.lock_timeout,
                restore,
                ..Default::default()
            };
            // The plain `BEGIN` stays the driver's own statement (a
            // `'static` string, no allocation).
            (sql != "BEGIN" && sql != "BEGIN DEFERRED" && sql != "START TRANSACTION")
                .then(|| super::conn::sql_owned(sql))
        } else {
            None
        };
        self.busy = true;
        let result =
            each_tm!(self.raw(), c, tm => tm::begin(c, statement).await).map_err(Fail::Driver);
        let result = self.finish(&sql_static("BEGIN"), result);
        if result.is_err() && depth == 0 {
            // The session settings were changed only if BEGIN ran; put them
            // back in any case, or close the connection.
            self.end_transaction().await;
        }
        if result.is_ok() && depth == 0 && self.pool.transaction_pooler() {
            // The server process this transaction runs on, for cancel
            // requests: it is the client's until the transaction ends.
            self.busy = true;
            let pid = self.raw().server_pid().await;
            self.busy = false;
            match pid {
                Ok(pid) => self.server_pid = Some(pid),
                Err(e) => {
                    let _ = self.rollback().await;
                    return Err(self.control_failed("SELECT pg_backend_pid()", e));
                }
            }
        }
        result
    }

    /// Commits the transaction, or releases the innermost savepoint. A
    /// transaction that can no longer commit is rolled back instead and
    /// the error says why.
    pub(crate) async fn commit(&mut self) -> Result<()> {
        if self.busy {
            // Left mid-statement by a cancelled future: never commit an
            // unknown state (it is rolled back when released).
            return Err(Error::TransactionAborted {
                connection: self.connection_name().to_owned(),
            });
        }
        if self.broken && !self.tx.ended_by_server() {
            return Err(self.lost());
        }
        let depth = self.transaction_depth();
        if depth == 0 {
            return Ok(());
        }
        if depth == 1 {
            self.check_raw_end().await;
        }
        if let Err(refused) = self.check_transaction() {
            // Whether the rollback goes through or the connection is
            // closed for failing it (the server then rolls back), nothing
            // is stored: the refusal is what the caller needs to know.
            let _ = self.rollback().await;
            return Err(refused);
        }
        self.busy = true;
        let result = each_tm!(self.raw(), c, tm => tm::commit(c).await).map_err(Fail::Driver);
        let result = self.finish(&sql_static("COMMIT"), result);
        if depth == 1 && result.is_ok() {
            self.end_transaction().await;
        }
        if depth == 1 && result.is_err() && self.pool.transaction_pooler() {
            // The driver still counts a transaction the server ended: a
            // later statement would not be put in a transaction of its own,
            // and could reach another client's server session.
            self.broken = true;
        }
        match result {
            // Lost with COMMIT on its way: its outcome is unknown (a lost
            // RELEASE SAVEPOINT loses the whole transaction: rolled back).
            Err(Error::ConnectionLost { connection, source }) if depth == 1 => {
                Err(Error::TransactionResolutionUnknown { connection, source })
            }
            other => other,
        }
    }

    /// Rolls back the transaction, or to the innermost savepoint.
    pub(crate) async fn rollback(&mut self) -> Result<()> {
        let depth = self.transaction_depth();
        if depth == 0 || self.busy {
            // Busy: left mid-statement by a cancelled future; the
            // connection is closed when released, which rolls back.
            return Ok(());
        }
        if depth == 1 {
            self.check_raw_end().await;
        }
        match self.tx.aborted {
            Some(Abort::EndedByServer) if depth == 1 => {
                // Nothing is left on the server to roll back, and nothing
                // was stored; the driver's count is stale, so the connection
                // is closed when released.
                self.broken = true;
                return Ok(());
            }
            // A savepoint cannot be rolled back to: the transaction it was
            // in is gone, and the one around it cannot go on.
            Some(Abort::EndedByServer) => {
                return Err(Error::TransactionAborted {
                    connection: self.connection_name().to_owned(),
                })
            }
            // What was written before the raw statement is stored: a
            // rollback cannot undo it, and must not say it did.
            Some(Abort::EndedByRaw) => return Err(self.ended_by_raw()),
            _ => {}
        }
        if self.broken {
            return Err(self.lost());
        }
        self.busy = true;
        let result = each_tm!(self.raw(), c, tm => tm::rollback(c).await).map_err(Fail::Driver);
        let result = self.finish(&sql_static("ROLLBACK"), result);
        match result {
            Ok(()) => {
                match self.tx.aborted {
                    Some(Abort::Failed(at)) if at >= depth => self.tx.aborted = None,
                    Some(Abort::Deadline(_)) if depth == 1 => self.tx.aborted = None,
                    _ => {}
                }
                if depth == 1 {
                    self.end_transaction().await;
                }
                Ok(())
            }
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    /// Queues a rollback of the innermost level (a savepoint dropped without
    /// commit): sent before the connection's next statement.
    pub(crate) fn start_rollback(&mut self) {
        let depth = self.transaction_depth();
        if depth == 0 || self.tx.ended_by_server() {
            return;
        }
        each_tm!(self.raw(), c, tm => tm::start_rollback(c));
        if matches!(self.tx.aborted, Some(Abort::Failed(at)) if at >= depth) {
            self.tx.aborted = None;
        }
    }

    /// The transaction has ended: puts session settings back and forgets it.
    async fn end_transaction(&mut self) {
        self.server_pid = None;
        let tx = std::mem::take(&mut self.tx);
        if let Some(restore) = tx.restore {
            if self.raw().run_plain(&restore).await.is_err() {
                self.broken = true;
            }
        }
    }

    /// Records what a failed statement did to the transaction it ran in.
    pub(crate) async fn note_failure(&mut self, error: &Error, from_server: bool) {
        let depth = self.transaction_depth();
        if depth == 0 {
            return;
        }
        if error.is_transient() {
            self.tx.transient = true;
        }
        if self.tx.aborted.is_some() || !from_server {
            return;
        }
        let aborted = match self.backend() {
            Backend::Postgres => Some(Abort::Failed(depth)),
            Backend::MySql => match error {
                Error::Deadlock { .. } => Some(Abort::EndedByServer),
                Error::LockTimeout { .. } if self.info.rollback_on_timeout => {
                    Some(Abort::EndedByServer)
                }
                _ => None,
            },
            Backend::Sqlite => self
                .raw()
                .sqlite_in_autocommit()
                .await
                .then_some(Abort::EndedByServer),
        };
        if aborted == Some(Abort::EndedByServer) {
            self.broken = true;
        }
        if aborted.is_some() {
            self.tx.aborted = aborted;
        }
    }

    /// Runs a raw statement. Its text is never read, so what it does to
    /// the session is checked by its effects:
    ///
    /// - On a writable connection, inside a transaction, the commit and
    ///   the rollback first ask the server whether the transaction is still
    ///   open (one more round trip, only for transactions that ran raw
    ///   SQL). If a raw statement ended it (`COMMIT`, `ROLLBACK`, `START
    ///   TRANSACTION`, or MySQL DDL, which commits implicitly), what it
    ///   wrote was committed and what followed was autocommitted: both
    ///   refuse with [`Error::InvalidQuery`] saying so, never `Ok`.
    /// - On a read-only connection, inside a transaction, the statement
    ///   runs in a savepoint rolled back right after it, which also undoes
    ///   PostgreSQL `SET`s; a statement that ended the transaction is caught
    ///   there, and the transaction refuses what follows. Outside one, the
    ///   session's read-only default refuses writes. Either way the
    ///   connection is closed when released, so no session state a caller
    ///   set in raw SQL (MySQL session variables are not transactional;
    ///   PostgreSQL advisory locks and `PREPARE` are not either) reaches the
    ///   next caller. SQLite's read-only connections are opened read-only
    ///   and need none of this.
    pub(crate) async fn run_raw<T, D>(
        &mut self,
        statement: super::conn::Statement<D>,
        limit: Option<Duration>,
    ) -> Result<super::conn::Fetched<T>>
    where
        D: FnMut(crate::connection::driver::RowRef<'_>) -> Result<T> + Send,
    {
        let read_only = self.read_only() && self.backend() != Backend::Sqlite;
        let outer = self.transaction_depth();
        if !read_only {
            if outer > 0 {
                self.tx.raw_ran = true;
            }
            return self.run(statement, limit).await;
        }
        self.retire = true;
        if outer == 0 {
            return self.run(statement, limit).await;
        }
        self.begin(&TransactionOptions::new()).await?;
        let result = self.run(statement, limit).await;
        if self.tx.ended_by_server() || matches!(&result, Err(e) if e.is_connection_error()) {
            // The server rolled everything back (a MySQL deadlock) or the
            // connection is gone: the statement's own error says so.
            return result;
        }
        if self.rollback().await.is_err() || self.broken {
            self.broken = true;
            self.tx.aborted = Some(Abort::EndedByRaw);
            return Err(self.ended_by_raw());
        }
        result
    }

    /// Whether the server still has this connection's transaction open,
    /// asked after raw SQL ran in it: PostgreSQL (a `SAVEPOINT` is refused
    /// outside a transaction block, SQLSTATE 25P01), MariaDB
    /// `@@in_transaction`, MySQL `information_schema.INNODB_TRX`, SQLite
    /// `sqlite3_get_autocommit`.
    async fn still_in_transaction(&mut self) -> bool {
        let sql = match (self.backend(), self.info.mariadb) {
            (Backend::Sqlite, _) => return !self.raw().sqlite_in_autocommit().await,
            (Backend::Postgres, _) => {
                return self
                    .raw()
                    .run_plain("SAVEPOINT orm_probe; RELEASE SAVEPOINT orm_probe")
                    .await
                    .is_ok();
            }
            (Backend::MySql, true) => "SELECT CAST(@@in_transaction AS SIGNED)",
            (Backend::MySql, false) => {
                "SELECT CAST(COUNT(*) AS SIGNED) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = CONNECTION_ID()"
            }
        };
        let statement = super::conn::Statement {
            sql: sql_static(sql),
            args: None,
            fetch: super::conn::Fetch::Optional(|row: crate::connection::driver::RowRef<'_>| {
                crate::connection::driver::get_i64(row, 0)
            }),
        };
        // If the question itself fails, the transaction is not known to be
        // open: assume it ended.
        matches!(self.run(statement, None).await, Ok(super::conn::Fetched::Optional(Some(n))) if n != 0)
    }

    /// Before a commit or rollback of a transaction that ran raw SQL: a
    /// transaction the raw SQL ended is [`Abort::EndedByRaw`].
    async fn check_raw_end(&mut self) {
        if self.tx.raw_ran && self.tx.aborted.is_none() && !self.still_in_transaction().await {
            self.tx.aborted = Some(Abort::EndedByRaw);
            self.broken = true;
        }
    }

    fn ended_by_raw(&self) -> Error {
        Error::InvalidQuery {
            message: format!(
                "raw SQL ended this transaction on connection `{}` (COMMIT, ROLLBACK, START \
                 TRANSACTION, or MySQL DDL, which commits implicitly): what it wrote before that was \
                 committed, and nothing after it ran in the transaction",
                self.connection_name()
            ),
        }
    }

    pub(crate) fn lost(&self) -> Error {
        Error::ConnectionLost {
            connection: self.connection_name().to_owned(),
            source: sqlx::Error::Protocol(
                "the connection was closed after an earlier error; open a new transaction".into(),
            ),
        }
    }
}

impl PooledConn {
    /// Whether a statement sent now runs in a transaction of its own (see
    /// [`Pooler`](super::connect::Pooler)): through a transaction pooler,
    /// outside a transaction, a statement with values (its two protocol
    /// exchanges must reach one server session), and SQL without values
    /// that has settings to apply (a read-only connection, the pool's
    /// timeouts) or a time limit (whose cancel request must name its
    /// server process).
    pub(crate) fn needs_own_transaction(&mut self, script: bool, limit: Option<Duration>) -> bool {
        if !self.pool.transaction_pooler() || self.transaction_depth() > 0 {
            return false;
        }
        let o = &self.pool.options;
        !script
            || self.read_only()
            || o.statement_timeout.is_some()
            || o.lock_timeout.is_some()
            || limit.is_some()
    }

    /// Statements are prepared under a name and cached by the driver,
    /// except through a transaction pooler, where the next transaction may
    /// run on a server session that does not have them.
    pub(crate) fn prepares_named(&self) -> bool {
        !self.pool.transaction_pooler()
    }

    /// Opens the transaction of [`needs_own_transaction`](Self::needs_own_transaction)
    /// and reads its server process in the same round trip. Until
    /// [`close_own_transaction`](Self::close_own_transaction) the
    /// connection is closed if it is dropped, never reused.
    pub(crate) async fn open_own_transaction(&mut self) -> Result<()> {
        let (begin, _) = begin_sql(
            self.backend(),
            &self.info,
            self.read_only(),
            &TransactionOptions::default(),
            self.pool.options.statement_timeout,
            self.pool.options.lock_timeout,
            true,
        );
        self.own_transaction = true;
        match self.raw().begin_reading_pid(&begin).await {
            Ok(pid) => {
                self.server_pid = Some(pid);
                Ok(())
            }
            Err(e) => Err(self.control_failed(&begin, e)),
        }
    }

    /// Commits (`commit`) or rolls back the transaction of
    /// [`open_own_transaction`](Self::open_own_transaction). A failed
    /// rollback closes the connection; a failed commit is the statement's
    /// error (a deferred constraint, a serialization failure, a lost
    /// connection: then whether it committed is unknown, as for any
    /// statement lost on its way).
    pub(crate) async fn close_own_transaction(&mut self, commit: bool) -> Result<()> {
        if !self.own_transaction {
            return Ok(());
        }
        if self.broken {
            // Closed when released, which rolls the transaction back.
            return match commit {
                true => Err(self.lost()),
                false => Ok(()),
            };
        }
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        let ended = self.raw().run_plain(sql).await;
        self.server_pid = None;
        match ended {
            Ok(()) => {
                self.own_transaction = false;
                Ok(())
            }
            Err(e) => {
                let error = self.control_failed(sql, e);
                if commit && !error.is_connection_error() {
                    // The server rolled it back and is ready for more.
                    self.own_transaction = false;
                } else {
                    self.broken = true;
                }
                Err(error)
            }
        }
    }

    /// A transaction-control statement of this crate failed: its error,
    /// and a lost connection is closed.
    fn control_failed(&mut self, sql: &str, e: sqlx::Error) -> Error {
        let error = super::classify::classify(self.backend(), self.connection_name(), sql, e);
        if error.is_connection_error() {
            self.broken = true;
        }
        error
    }
}

impl RawConn {
    /// PostgreSQL: runs `begin` (simple-query SQL that opens a transaction)
    /// and `SELECT pg_backend_pid()` in one message; returns the server
    /// process, which is this client's until the transaction ends.
    async fn begin_reading_pid(&mut self, begin: &str) -> std::result::Result<u64, sqlx::Error> {
        self.read_pid(&format!("{begin}; SELECT pg_backend_pid()"))
            .await
    }

    /// PostgreSQL: the server process of the transaction in progress.
    async fn server_pid(&mut self) -> std::result::Result<u64, sqlx::Error> {
        self.read_pid("SELECT pg_backend_pid()").await
    }

    /// The value of the last row `sql` returns, a process id.
    async fn read_pid(&mut self, sql: &str) -> std::result::Result<u64, sqlx::Error> {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Postgres(c) => {
                use sqlx::Row as _;
                let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_all(&mut *c)
                    .await?;
                let pid: i32 = match rows.last() {
                    Some(row) => row.try_get(0)?,
                    None => return Err(sqlx::Error::RowNotFound),
                };
                u64::try_from(pid).map_err(|e| sqlx::Error::Decode(Box::new(e)))
            }
            #[allow(unreachable_patterns)]
            _ => Err(sqlx::Error::Protocol(format!(
                "`{sql}`: a server process is read on PostgreSQL only"
            ))),
        }
    }
}

impl RawConn {
    /// SQLite: sets the busy timeout (how long a statement waits for the
    /// database's lock) on the handle, without a statement
    /// (`sqlite3_busy_timeout`).
    pub(crate) async fn sqlite_busy_timeout(&mut self, limit: Duration) {
        match self {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(c) => {
                if let Ok(mut handle) = c.lock_handle().await {
                    let ms = i32::try_from(millis(limit)).unwrap_or(i32::MAX);
                    let db = handle.as_raw_handle();
                    // SAFETY: the handle is locked out of the worker thread
                    // for the length of the call, as sqlx's `lock_handle`
                    // requires; `sqlite3_busy_timeout` only sets the
                    // connection's busy handler.
                    unsafe { libsqlite3_sys::sqlite3_busy_timeout(db.as_ptr(), ms) };
                }
            }
            #[allow(unreachable_patterns)]
            _ => {
                let _ = limit;
            }
        }
    }

    /// SQLite: whether the connection is outside any transaction
    /// (`sqlite3_get_autocommit`), which tells whether an error ended it.
    async fn sqlite_in_autocommit(&mut self) -> bool {
        match self {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(c) => match c.lock_handle().await {
                Ok(mut handle) => {
                    let db = handle.as_raw_handle();
                    // SAFETY: the handle is locked out of the worker thread
                    // for the length of the call, as sqlx's `lock_handle`
                    // requires, and `sqlite3_get_autocommit` only reads the
                    // connection's flag.
                    unsafe { libsqlite3_sys::sqlite3_get_autocommit(db.as_ptr()) != 0 }
                }
                Err(_) => true,
            },
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
}

impl PooledConn {
    /// Whether the session's database role could write, where the backend
    /// can tell: PostgreSQL (superuser, or a write or create privilege on a
    /// table, schema or the database: `has_table_privilege`,
    /// `has_schema_privilege`, `has_database_privilege`) and MySQL/MariaDB
    /// (a global, database or table privilege that writes, from
    /// `information_schema`). SQLite read-only connections are opened
    /// read-only: `false`.
    pub(crate) async fn role_can_write(&mut self) -> Result<bool> {
        let sql = match self.backend() {
            Backend::Sqlite => return Ok(false),
            Backend::Postgres => {
                "SELECT CAST(CAST((SELECT rolsuper FROM pg_roles WHERE rolname = current_user) \
                 OR has_database_privilege(current_database(), 'CREATE') \
                 OR EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname NOT LIKE 'pg\\_%' \
                    AND n.nspname <> 'information_schema' AND has_schema_privilege(n.oid, 'CREATE')) \
                 OR EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT LIKE 'pg\\_%' \
                    AND n.nspname <> 'information_schema' \
                    AND has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')) AS INTEGER) AS BIGINT)"
            }
            Backend::MySql => {
                "SELECT CAST(EXISTS (SELECT 1 FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = @orm_grantee \
                    AND PRIVILEGE_TYPE IN ('INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'ALTER', 'SUPER')) \
                 OR EXISTS (SELECT 1 FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = @orm_grantee \
                    AND TABLE_SCHEMA = DATABASE() AND PRIVILEGE_TYPE IN ('INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'ALTER')) \
                 OR EXISTS (SELECT 1 FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = @orm_grantee \
                    AND TABLE_SCHEMA = DATABASE() AND PRIVILEGE_TYPE IN ('INSERT', 'UPDATE', 'DELETE')) AS SIGNED)"
            }
        };
        if self.backend() == Backend::MySql {
            // information_schema names the grantee 'user'@'host'.
            self.raw()
                .run_plain(
                    "SET @orm_grantee = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', \
                     SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')",
                )
                .await
                .map_err(|source| Error::ConnectionLost {
                    connection: self.connection_name().to_owned(),
                    source,
                })?;
        }
        let statement = super::conn::Statement {
            sql: sql_static(sql),
            args: None,
            fetch: super::conn::Fetch::Optional(|row: crate::connection::driver::RowRef<'_>| {
                crate::connection::driver::get_i64(row, 0)
            }),
        };
        match self.run(statement, None).await? {
            super::conn::Fetched::Optional(Some(n)) => Ok(n != 0),
            _ => Ok(false),
        }
    }
}
