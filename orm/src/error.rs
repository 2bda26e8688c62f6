//! The one error type of the crate.
//!
//! Every fallible operation returns [`Error`]. Its variants are the cases a
//! caller may want to tell apart (a missing row, a unique violation, a pool
//! that timed out); the underlying driver error is kept as the `source`.

use std::time::Duration;

/// Result type used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to a database through this crate.
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
    #[error("connection `{connection}`: timed out after {waited:?} waiting for a pooled connection{}", cause.as_ref().map(|c| format!(" (last connect error: {c})")).unwrap_or_default())]
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

    /// The server could not be reached, or the connection broke mid-query.
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

    /// A value could not be encoded for the database.
    #[error("cannot encode a value of `{rust_type}`: {message}")]
    Encode {
        /// The Rust type.
        rust_type: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// Whether retrying the same operation on a fresh connection may succeed.
    pub fn is_connection_error(&self) -> bool {
        matches!(
            self,
            Error::ConnectionLost { .. } | Error::PoolTimeout { .. }
        )
    }
}
