//! The one error type of the crate.
//!
//! Every fallible operation returns [`Error`]. Its variants are the cases a
//! caller may want to tell apart (a missing row, a unique violation, a pool
//! that timed out); the underlying driver error is kept as the `source`.

use std::time::Duration;

/// Result type used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to a database through this crate.
///
/// An error the database reports is sorted by its code on every backend
/// alike (PostgreSQL's SQLSTATE, the MySQL/MariaDB error number, SQLite's
/// extended result code): each variant below lists the codes it stands
/// for, and one the crate does not sort is [`Error::Query`], with the
/// driver's error as its `source`. [`is_transient`](Error::is_transient)
/// says whether running the operation again may succeed, and
/// [`is_connection_error`](Error::is_connection_error) whether the
/// connection itself failed; such a connection is closed rather than
/// handed to the next caller.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A row looked up by key (or with [`first`](crate::query::Select::first)
    /// where a row was required) does not exist.
    #[error("no `{model}` row with that key was found")]
    NotFound {
        /// The model's Rust name.
        model: &'static str,
    },

    /// A connection that the application uses has no configuration.
    #[error("connection `{connection}` is not configured: {hint}")]
    NotConfigured {
        /// The connection's name.
        connection: String,
        /// What to do about it.
        hint: String,
    },

    /// A connection URL could not be understood.
    #[error("connection `{connection}`: invalid database URL `{url}`: {reason}")]
    InvalidUrl {
        /// The connection's name.
        connection: String,
        /// The URL with any password removed.
        url: String,
        /// Why it was refused.
        reason: String,
    },

    /// A configuration variable has a value that cannot be used.
    #[error("connection `{connection}`: {variable}={value:?} is invalid: expected {expected}")]
    InvalidConfig {
        /// The connection's name.
        connection: String,
        /// The variable.
        variable: String,
        /// Its value.
        value: String,
        /// What it should be.
        expected: String,
    },

    /// The URL names a backend whose cargo feature is not enabled.
    #[error("connection `{connection}` uses {backend}, but the `{feature}` feature of `orm` is not enabled")]
    BackendNotEnabled {
        /// The connection's name.
        connection: String,
        /// The backend the URL asks for.
        backend: &'static str,
        /// The cargo feature to enable.
        feature: &'static str,
    },

    /// A column type that the connection's backend cannot hold.
    #[error("{backend} cannot store a value of Rust type `{rust_type}`{context}")]
    UnsupportedType {
        /// The backend's name.
        backend: &'static str,
        /// The Rust type.
        rust_type: &'static str,
        /// Where the type was met, e.g. " (column `price` of `orders`)".
        context: String,
    },

    /// A value that the connection's backend cannot store exactly: it would
    /// be stored as another value (SQLite stores a NaN as NULL; MySQL rounds
    /// a decimal to its column's scale), or the server would refuse it
    /// (PostgreSQL text cannot hold the character U+0000, SQLSTATE 22021).
    /// Found when the value is bound, before any statement is sent, so
    /// nothing was written. Which values each backend refuses is in the
    /// README's "Field types".
    #[error("{backend} cannot store the `{rust_type}` value {value}{}: {reason}", column.as_ref().map(|c| format!(" in column {c}")).unwrap_or_default())]
    UnrepresentableValue {
        /// The backend's name.
        backend: &'static str,
        /// The Rust type of the value.
        rust_type: &'static str,
        /// The value, as Rust's `Debug` shows it (long values shortened).
        value: String,
        /// The column, as `` `table`.`column` ``, when the value was bound
        /// for one (a model's insert or update, or an update's `set`); `None`
        /// for a filter's operand.
        column: Option<String>,
        /// Why the backend cannot store it, and what it can store.
        reason: String,
    },

    /// An insert or update broke a unique constraint.
    #[error("unique constraint violated: {message}")]
    UniqueViolation {
        /// The constraint's name, when the database reports it.
        constraint: Option<String>,
        /// The database's message.
        message: String,
    },

    /// An insert, update or delete broke a foreign key.
    #[error("foreign key violated: {message}")]
    ForeignKeyViolation {
        /// The constraint's name, when the database reports it.
        constraint: Option<String>,
        /// The database's message.
        message: String,
    },

    /// A `NOT NULL` column was given no value.
    #[error("not-null constraint violated: {message}")]
    NotNullViolation {
        /// The database's message.
        message: String,
    },

    /// The database refused a write because the session is read-only.
    #[error("connection `{connection}` is read-only: {message}")]
    ReadOnly {
        /// The connection's name.
        connection: String,
        /// The database's message.
        message: String,
    },

    /// No pooled connection became free within the acquire timeout.
    #[error("connection `{connection}`: timed out after {waited:?} waiting for a pooled connection{}", cause.as_ref().map(|c| format!(": {c}")).unwrap_or_default())]
    PoolTimeout {
        /// The connection's name.
        connection: String,
        /// How long the caller waited.
        waited: Duration,
        /// The last error met while opening a new connection, if any.
        cause: Option<String>,
    },

    /// The pool has been closed.
    #[error("connection `{connection}`: the pool is closed")]
    PoolClosed {
        /// The connection's name.
        connection: String,
    },

    /// The server could not be reached, or the connection broke mid-query,
    /// or the server ended the session: an I/O or protocol failure;
    /// PostgreSQL SQLSTATE class 08 (`connection_exception`), 57P01
    /// (`admin_shutdown`, e.g. `pg_terminate_backend`), 57P02
    /// (`crash_shutdown`), 57P03 (`cannot_connect_now`), or any error of
    /// severity `FATAL` or `PANIC`; MySQL/MariaDB errors 1927
    /// (`ER_CONNECTION_KILLED`, `KILL CONNECTION`), 1053
    /// (`ER_SERVER_SHUTDOWN`), 2006 and 2013 (`CR_SERVER_GONE_ERROR`,
    /// `CR_SERVER_LOST`), or SQLSTATE class 08. The connection is closed,
    /// never handed to the next caller, so a killed connection costs one
    /// error; the next operation runs on a fresh connection.
    #[error("connection `{connection}`: database unreachable or connection lost: {source}")]
    ConnectionLost {
        /// The connection's name.
        connection: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// A statement failed for another reason.
    #[error("query failed: {source}\n  sql: {sql}")]
    Query {
        /// The SQL that was sent.
        sql: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// A value read from the database could not be turned into its Rust type.
    #[error("cannot decode column {column} into `{rust_type}`: {source}")]
    Decode {
        /// The column's position or name.
        column: String,
        /// The Rust type asked for.
        rust_type: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// A text longer than its column's `max_length` (SQLSTATE 22001 on
    /// PostgreSQL and MySQL; the length check the schema adds on SQLite).
    #[error("value too long: {message}")]
    ValueTooLong {
        /// The database's message.
        message: String,
    },

    /// A migration cannot be generated, applied or rolled back.
    #[error("migration: {message}")]
    Migration {
        /// What is wrong and how to repair it.
        message: String,
    },

    /// A diagram of the models cannot be drawn (no snapshot folder, an
    /// unknown connection, Graphviz not installed).
    #[error("diagram: {message}")]
    Diagram {
        /// What is wrong and how to repair it.
        message: String,
    },

    /// Seeders cannot be ordered or run, or one of them failed.
    #[error("seed: {message}")]
    Seed {
        /// What is wrong and how to repair it.
        message: String,
    },

    /// A query that cannot be run as built.
    #[error("invalid query: {message}")]
    InvalidQuery {
        /// What is wrong and how to fix it.
        message: String,
    },

    /// A keyset pagination cursor (see [`Cursor`](crate::query::Cursor))
    /// that cannot be used: not a cursor this crate wrote (not base64url,
    /// cut short, altered), or written for another query (another model,
    /// other ordering columns, directions or NULL placement). Nothing was
    /// sent. A client that sends one should start again from the first page.
    #[error("invalid cursor: {reason}")]
    InvalidCursor {
        /// Why it was refused.
        reason: String,
    },

    /// A [`CausalToken`](crate::CausalToken) that cannot be used: not text
    /// this crate wrote (cut short, altered), or naming a connection this
    /// [`Database`](crate::Database) does not have. Nothing was sent.
    #[error("invalid causal token: {reason}")]
    InvalidCausalToken {
        /// Why it was refused.
        reason: String,
    },

    /// A replication question the ORM asked a server (the primary's
    /// position after a write, a replica's replay position or lag) got no
    /// usable answer: replication is not set up the way the backend's
    /// read-your-writes needs (MariaDB/MySQL: binary logging with GTIDs).
    /// Operations do not return it (their own work succeeded): it is logged
    /// (target `orm::replicas`) and the handle reads from the primary
    /// instead.
    #[error("connection `{connection}`: replication: {message}")]
    Replication {
        /// The connection's name.
        connection: String,
        /// What was wrong.
        message: String,
        /// The statement that asked, if one was sent.
        sql: Option<String>,
    },

    /// A serializable (or repeatable-read) transaction could not be
    /// serialized with a concurrent one and was rolled back: run it again.
    /// PostgreSQL SQLSTATE 40001 (`serialization_failure`); MariaDB error
    /// 1020 (`ER_CHECKREAD`, "record has changed since last read", with
    /// `innodb_snapshot_isolation` on); SQLite `SQLITE_BUSY_SNAPSHOT` (517,
    /// in WAL mode), a read transaction that cannot become a write because
    /// another connection wrote since it began.
    #[error("connection `{connection}`: could not serialize access due to a concurrent transaction: {message}")]
    SerializationFailure {
        /// The connection's name.
        connection: String,
        /// The database's message.
        message: String,
    },

    /// Two transactions waited on each other's locks; the database rolled
    /// one back (this one): run it again. PostgreSQL SQLSTATE 40P01
    /// (`deadlock_detected`); MySQL/MariaDB error 1213 (`ER_LOCK_DEADLOCK`,
    /// after which InnoDB has rolled back the whole transaction).
    #[error("connection `{connection}`: {message} (this transaction was rolled back to break the deadlock; run it again)")]
    Deadlock {
        /// The connection's name.
        connection: String,
        /// The database's message.
        message: String,
    },

    /// A lock could not be taken in time (or at once, with `nowait()`).
    /// PostgreSQL SQLSTATE 55P03 (`lock_not_available`, from `lock_timeout`
    /// or `NOWAIT`); MySQL/MariaDB errors 1205 (`ER_LOCK_WAIT_TIMEOUT`,
    /// `innodb_lock_wait_timeout`, and MariaDB's `NOWAIT`) and 3572
    /// (`ER_LOCK_NOWAIT`, MySQL's `NOWAIT`); SQLite `SQLITE_BUSY` (5) with
    /// its extended codes `SQLITE_BUSY_RECOVERY` (261) and
    /// `SQLITE_BUSY_TIMEOUT` (773), after the busy timeout, and
    /// `SQLITE_LOCKED` (6) with `SQLITE_LOCKED_SHAREDCACHE` (262) and
    /// `SQLITE_LOCKED_VTAB` (518).
    #[error("connection `{connection}`: lock not available: {message}")]
    LockTimeout {
        /// The connection's name.
        connection: String,
        /// The database's message.
        message: String,
    },

    /// A statement ran past its statement timeout (or was cancelled) and
    /// was stopped by the database. PostgreSQL SQLSTATE 57014
    /// (`query_canceled`, from `statement_timeout` or a cancel request);
    /// MariaDB error 1969 (`ER_STATEMENT_TIMEOUT`, `max_statement_time`);
    /// MySQL 3024 (`ER_QUERY_TIMEOUT`, `max_execution_time`); MySQL/MariaDB
    /// 1317 (`ER_QUERY_INTERRUPTED`, `KILL QUERY`); SQLite
    /// `SQLITE_INTERRUPT` (9). Not transient: the same statement would
    /// run as long again.
    #[error(
        "connection `{connection}`: statement timed out or was cancelled: {message}\n  sql: {sql}"
    )]
    StatementTimeout {
        /// The connection's name.
        connection: String,
        /// The database's message.
        message: String,
        /// The SQL that was sent.
        sql: String,
    },

    /// The transaction can no longer commit: a statement inside it failed
    /// and the database aborted it (PostgreSQL: SQLSTATE 25P02,
    /// `in_failed_sql_transaction`, refuses every statement until
    /// rollback). MySQL/MariaDB also roll a whole transaction back on a
    /// deadlock, but report that statement as [`Error::Deadlock`]. The
    /// transaction has been (or is being) rolled back; nothing of it is
    /// stored. Roll back to a savepoint taken before the failing statement
    /// to go on portably.
    #[error("connection `{connection}`: the transaction was aborted by an earlier failed statement and has been rolled back: nothing in it was stored")]
    TransactionAborted {
        /// The connection's name.
        connection: String,
    },

    /// The connection was lost while `COMMIT` was on its way: the server may
    /// have committed the transaction or not, and the client cannot know
    /// (SQLSTATE 08007, `transaction_resolution_unknown`). Not transient:
    /// running the transaction again may store its writes twice; check
    /// what the database holds first, or make the transaction idempotent.
    #[error("connection `{connection}`: the connection was lost during COMMIT: the transaction may or may not have been committed ({source})")]
    TransactionResolutionUnknown {
        /// The connection's name.
        connection: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// A transaction ran past its deadline ([`TransactionOptions::timeout`](crate::TransactionOptions::timeout))
    /// and was rolled back.
    #[error("connection `{connection}`: the transaction ran past its deadline of {limit:?} and was rolled back")]
    Timeout {
        /// The connection's name.
        connection: String,
        /// The deadline the transaction was given.
        limit: Duration,
    },

    /// A statement binds more parameters than the backend's protocol
    /// carries (PostgreSQL and MySQL: 65,535, an unsigned 16-bit count;
    /// SQLite: 32,766, `SQLITE_MAX_VARIABLE_NUMBER`). Refused before
    /// anything is sent: the connection stays usable.
    #[error("a statement on {backend} can bind at most {max} parameters, and this one binds {count}: split the list (e.g. several `is_in` filters, or `insert_many`, which splits by itself)")]
    TooManyParameters {
        /// The backend's name.
        backend: &'static str,
        /// Parameters the statement binds.
        count: usize,
        /// The most the backend accepts.
        max: usize,
    },

    /// A value could not be encoded for the database.
    #[error("cannot encode a value of `{rust_type}`: {message}")]
    Encode {
        /// The Rust type.
        rust_type: &'static str,
        /// What went wrong.
        message: String,
    },

    /// The query cache's store failed (Redis unreachable, a value that
    /// cannot be encoded or decoded). A cached read never fails for this:
    /// the cache counts the error ([`CacheMetrics::errors`](crate::CacheMetrics::errors))
    /// and reads from the database instead; the variant is what a store
    /// reports to the cache layer.
    #[error("query cache ({backend}): {message}")]
    Cache {
        /// What failed: the store (`"memory"` or `"redis"`), or `"encode"` /
        /// `"decode"` for a value MessagePack could not write or read.
        backend: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// A stable snake_case name of the error's kind, one per variant
    /// (`unique_violation`, `pool_timeout`, `connection_lost`, ...): the
    /// variant's name in snake case. It is the value of the OpenTelemetry
    /// attribute `error.type` on a failed statement's span (semantic
    /// conventions, "Recording errors": a low-cardinality identifier of
    /// the error class) and the key of the per-kind error counts in
    /// [`PoolMetrics::errors_by_kind`](crate::PoolMetrics::errors_by_kind).
    /// A name never changes once released; new variants add new names.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::NotConfigured { .. } => "not_configured",
            Error::InvalidUrl { .. } => "invalid_url",
            Error::InvalidConfig { .. } => "invalid_config",
            Error::BackendNotEnabled { .. } => "backend_not_enabled",
            Error::UnsupportedType { .. } => "unsupported_type",
            Error::UnrepresentableValue { .. } => "unrepresentable_value",
            Error::UniqueViolation { .. } => "unique_violation",
            Error::ForeignKeyViolation { .. } => "foreign_key_violation",
            Error::NotNullViolation { .. } => "not_null_violation",
            Error::ReadOnly { .. } => "read_only",
            Error::PoolTimeout { .. } => "pool_timeout",
            Error::PoolClosed { .. } => "pool_closed",
            Error::ConnectionLost { .. } => "connection_lost",
            Error::Query { .. } => "query",
            Error::Decode { .. } => "decode",
            Error::ValueTooLong { .. } => "value_too_long",
            Error::Migration { .. } => "migration",
            Error::Diagram { .. } => "diagram",
            Error::Seed { .. } => "seed",
            Error::InvalidQuery { .. } => "invalid_query",
            Error::InvalidCursor { .. } => "invalid_cursor",
            Error::InvalidCausalToken { .. } => "invalid_causal_token",
            Error::Replication { .. } => "replication",
            Error::SerializationFailure { .. } => "serialization_failure",
            Error::Deadlock { .. } => "deadlock",
            Error::LockTimeout { .. } => "lock_timeout",
            Error::StatementTimeout { .. } => "statement_timeout",
            Error::TransactionAborted { .. } => "transaction_aborted",
            Error::TransactionResolutionUnknown { .. } => "transaction_resolution_unknown",
            Error::Timeout { .. } => "timeout",
            Error::TooManyParameters { .. } => "too_many_parameters",
            Error::Encode { .. } => "encode",
            Error::Cache { .. } => "cache",
        }
    }

    /// Names `column` of `table` in an [`Error::UnrepresentableValue`] that
    /// names no column yet; other errors are returned as they are.
    pub(crate) fn in_column(mut self, table: &str, column: &str) -> Error {
        if let Error::UnrepresentableValue {
            column: c @ None, ..
        } = &mut self
        {
            *c = Some(format!("`{table}`.`{column}`"));
        }
        self
    }

    /// Whether the connection itself failed (lost, or none could be had in
    /// time), rather than the statement: retrying on a fresh connection
    /// may succeed.
    pub fn is_connection_error(&self) -> bool {
        matches!(
            self,
            Error::ConnectionLost { .. } | Error::PoolTimeout { .. }
        )
    }

    /// Whether a prepared statement outlived a change of the schema it was
    /// prepared against: PostgreSQL's "cached plan must not change result
    /// type" (SQLSTATE 0A000) and the like; preparing it again fixes it.
    pub(crate) fn is_stale_statement(&self) -> bool {
        let Error::Query {
            source: sqlx::Error::Database(db),
            ..
        } = self
        else {
            return false;
        };
        let message = db.message();
        db.code().as_deref() == Some("0A000")
            && message.contains("cached plan must not change result type")
    }

    /// Whether running the same operation again, unchanged, may succeed:
    /// a serialization failure, a deadlock, a lock timeout, a lost
    /// connection or a pool timeout. A transaction should be retried whole
    /// ([`Database::transaction_with`](crate::Database::transaction_with)
    /// with a [`RetryPolicy`](crate::RetryPolicy) does it).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::SerializationFailure { .. }
                | Error::Deadlock { .. }
                | Error::LockTimeout { .. }
                | Error::ConnectionLost { .. }
                | Error::PoolTimeout { .. }
        )
    }
}
