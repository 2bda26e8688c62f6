//! Driver errors sorted into the crate's [`Error`] kinds, per backend.

use crate::backend::Backend;
use crate::error::Error;

/// The error an operation on `connection` running `sql` maps a driver error to.
pub(crate) fn classify(backend: Backend, connection: &str, sql: &str, err: sqlx::Error) -> Error {
    use sqlx::error::ErrorKind;
    match &err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => Error::ConnectionLost {
            connection: connection.to_owned(),
            source: err,
        },
        sqlx::Error::Database(db) => {
            let message = db.message().to_owned();
            let constraint = db.constraint().map(str::to_owned);
            if is_read_only_refusal(backend, db.as_ref()) {
                return Error::ReadOnly {
                    connection: connection.to_owned(),
                    message,
                };
            }
            if is_too_long(backend, db.as_ref()) {
                return Error::ValueTooLong { message };
            }
            match db.kind() {
                ErrorKind::UniqueViolation => Error::UniqueViolation {
                    constraint,
                    message,
                },
                ErrorKind::ForeignKeyViolation => Error::ForeignKeyViolation {
                    constraint,
                    message,
                },
                ErrorKind::NotNullViolation => Error::NotNullViolation { message },
                _ => Error::Query {
                    sql: sql.to_owned(),
                    source: err,
                },
            }
        }
        sqlx::Error::ColumnDecode { index, .. } => Error::Decode {
            column: index.clone(),
            rust_type: "?",
            source: err,
        },
        _ => Error::Query {
            sql: sql.to_owned(),
            source: err,
        },
    }
}

/// PostgreSQL and MySQL/MariaDB report SQLSTATE 22001 (string data right
/// truncation); SQLite fails the `max_length_<column>` CHECK constraint that
/// the schema adds for `max_length` (SQLITE_CONSTRAINT_CHECK, 275).
fn is_too_long(backend: Backend, db: &dyn sqlx::error::DatabaseError) -> bool {
    match backend {
        Backend::Sqlite => {
            db.code().as_deref() == Some("275") && db.message().contains("max_length_")
        }
        Backend::Postgres | Backend::MySql => db.code().as_deref() == Some("22001"),
    }
}

/// PostgreSQL and MySQL/MariaDB report SQLSTATE 25006 (read-only transaction);
/// SQLite reports SQLITE_READONLY (8) or one of its extended codes.
fn is_read_only_refusal(backend: Backend, db: &dyn sqlx::error::DatabaseError) -> bool {
    let code = db.code();
    match backend {
        Backend::Sqlite => code
            .and_then(|c| c.parse::<i64>().ok())
            .is_some_and(|c| c & 0xff == 8),
        Backend::Postgres | Backend::MySql => code.as_deref() == Some("25006"),
    }
}
