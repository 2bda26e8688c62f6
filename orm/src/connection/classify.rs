//! Driver errors sorted into the crate's [`Error`] kinds, per backend.
//!
//! Two steps. [`Signals::of`] reads what a driver error says about itself:
//! its SQLSTATE (PostgreSQL, MySQL) or extended result code (SQLite), the
//! MySQL/MariaDB error number, and whether PostgreSQL ended the session
//! with it (severity `FATAL` or `PANIC`). [`kind`] then decides the kind
//! from those alone: a pure function, so the whole table is checked code by
//! code without a server, and [`classify`] only builds the error.
//!
//! A kind that means the connection is gone ([`Error::ConnectionLost`])
//! matters beyond the message: the statement layer (`PooledConn::finish`)
//! discards a connection whose error
//! [`is_connection_error`](Error::is_connection_error), so a connection the
//! server killed costs exactly one error, never a second one for the next
//! caller that would have been handed the dead connection.

use crate::backend::Backend;
use crate::error::Error;

/// What a database error reports about itself, as [`kind`] reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Signals<'a> {
    /// The SQLSTATE on PostgreSQL and MySQL/MariaDB; on SQLite the extended
    /// result code in decimal (sqlx's `DatabaseError::code`).
    pub(crate) code: Option<&'a str>,
    /// The MySQL/MariaDB error number (`MySqlDatabaseError::number`). Its
    /// SQLSTATEs are too coarse to tell kinds apart: 1213 (deadlock) is
    /// 40001, 1205 and 1020 are HY000, 1317 and 1927 are both 70100.
    pub(crate) number: Option<u16>,
    /// PostgreSQL severity `FATAL` or `PANIC`: the server ends the session
    /// after sending the error, whatever its code.
    pub(crate) fatal: bool,
}

/// The kinds that [`kind`] recognises from codes. Unique, foreign-key and
/// not-null violations come from sqlx's own `ErrorKind` instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    ConnectionLost,
    SerializationFailure,
    Deadlock,
    LockTimeout,
    StatementTimeout,
    TransactionAborted,
    ReadOnly,
    ValueTooLong,
}

/// The kind a database error of `backend` with these signals stands for;
/// `None` for the rest. Each variant of [`Error`] lists its codes, and this
/// is the one place that reads them.
pub(crate) fn kind(backend: Backend, s: Signals<'_>) -> Option<Kind> {
    match backend {
        Backend::Postgres => postgres(s),
        Backend::MySql => mysql(s),
        Backend::Sqlite => sqlite(s),
    }
}

/// PostgreSQL: SQLSTATEs of "Appendix A. PostgreSQL Error Codes".
fn postgres(s: Signals<'_>) -> Option<Kind> {
    if s.fatal {
        return Some(Kind::ConnectionLost);
    }
    let code = s.code?;
    // Class 08: connection_exception.
    if code.starts_with("08") {
        return Some(Kind::ConnectionLost);
    }
    Some(match code {
        // admin_shutdown (pg_terminate_backend, smart/fast shutdown),
        // crash_shutdown, cannot_connect_now. Sent as FATAL, so met above
        // too; listed for servers and proxies that send them otherwise.
        "57P01" | "57P02" | "57P03" => Kind::ConnectionLost,
        "40001" => Kind::SerializationFailure, // serialization_failure
        "40P01" => Kind::Deadlock,             // deadlock_detected
        "55P03" => Kind::LockTimeout,          // lock_not_available
        "57014" => Kind::StatementTimeout,     // query_canceled
        "25P02" => Kind::TransactionAborted,   // in_failed_sql_transaction
        "25006" => Kind::ReadOnly,             // read_only_sql_transaction
        "22001" => Kind::ValueTooLong,         // string_data_right_truncation
        _ => return None,
    })
}

/// MySQL/MariaDB: the error number first, then the SQLSTATE.
fn mysql(s: Signals<'_>) -> Option<Kind> {
    if let Some(kind) = s.number.and_then(mysql_number) {
        return Some(kind);
    }
    let code = s.code?;
    // Class 08: 08S01 (communication error, e.g. ER_NET_PACKET_TOO_LARGE,
    // after which the server closes the connection), 08004.
    if code.starts_with("08") {
        return Some(Kind::ConnectionLost);
    }
    match code {
        "25006" => Some(Kind::ReadOnly),
        "22001" => Some(Kind::ValueTooLong),
        _ => None,
    }
}

/// MySQL/MariaDB error numbers: the MySQL server and client error
/// references, and MariaDB's error code reference.
fn mysql_number(number: u16) -> Option<Kind> {
    Some(match number {
        // ER_SERVER_SHUTDOWN; ER_CONNECTION_KILLED (MariaDB, `KILL
        // CONNECTION`); the client errors CR_SERVER_GONE_ERROR and
        // CR_SERVER_LOST, should a proxy send them as an error packet.
        1053 | 1927 | 2006 | 2013 => Kind::ConnectionLost,
        // ER_LOCK_DEADLOCK: InnoDB has rolled back the whole transaction.
        1213 => Kind::Deadlock,
        // ER_LOCK_WAIT_TIMEOUT (`innodb_lock_wait_timeout`; also MariaDB's
        // `NOWAIT` and `WAIT n`); ER_LOCK_NOWAIT (MySQL 8.0 `NOWAIT`).
        1205 | 3572 => Kind::LockTimeout,
        // ER_QUERY_INTERRUPTED (`KILL QUERY`); ER_STATEMENT_TIMEOUT (MariaDB
        // `max_statement_time`); ER_QUERY_TIMEOUT (MySQL `max_execution_time`).
        1317 | 1969 | 3024 => Kind::StatementTimeout,
        // ER_CHECKREAD: MariaDB's snapshot isolation
        // (`innodb_snapshot_isolation`) found a row changed since this
        // transaction's read view.
        1020 => Kind::SerializationFailure,
        _ => return None,
    })
}

/// SQLite: "Result and Error Codes". The low 8 bits of an extended result
/// code are its primary code, so a family is matched whole.
fn sqlite(s: Signals<'_>) -> Option<Kind> {
    const BUSY: i32 = 5;
    const LOCKED: i32 = 6;
    const READONLY: i32 = 8;
    const INTERRUPT: i32 = 9;
    const BUSY_SNAPSHOT: i32 = BUSY | (2 << 8);
    let code: i32 = s.code?.parse().ok()?;
    match code {
        // A read transaction that cannot become a write one: another
        // connection wrote since it began (WAL mode). Waiting cannot help;
        // only running the transaction again can.
        BUSY_SNAPSHOT => Some(Kind::SerializationFailure),
        // BUSY (5), BUSY_RECOVERY (261), BUSY_TIMEOUT (773): the busy
        // timeout ran out. LOCKED (6), LOCKED_SHAREDCACHE (262),
        // LOCKED_VTAB (518): a conflict within the same process.
        c if c & 0xff == BUSY || c & 0xff == LOCKED => Some(Kind::LockTimeout),
        INTERRUPT => Some(Kind::StatementTimeout),
        c if c & 0xff == READONLY => Some(Kind::ReadOnly),
        _ => None,
    }
}

impl<'a> Signals<'a> {
    /// Reads the signals of a database error; `code` is its
    /// `DatabaseError::code`, borrowed from the caller.
    fn of(db: &dyn sqlx::error::DatabaseError, code: Option<&'a str>) -> Signals<'a> {
        #[allow(unused_mut)]
        let mut s = Signals {
            code,
            ..Signals::default()
        };
        #[cfg(feature = "postgres")]
        if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
            use sqlx::postgres::PgSeverity;
            s.fatal = matches!(pg.severity(), PgSeverity::Fatal | PgSeverity::Panic);
        }
        #[cfg(feature = "mysql")]
        if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
            s.number = Some(my.number());
        }
        let _ = db;
        s
    }
}

/// The code a database error reports, as OpenTelemetry's
/// `db.response.status_code` wants it: PostgreSQL's SQLSTATE, the
/// MySQL/MariaDB error number, SQLite's extended result code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatusCode {
    SqlState([u8; 5]),
    Number(i32),
}

impl std::fmt::Display for StatusCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusCode::SqlState(code) => f.write_str(std::str::from_utf8(code).unwrap_or("?????")),
            StatusCode::Number(n) => write!(f, "{n}"),
        }
    }
}

/// The status code of a driver error, if the database sent one.
pub(crate) fn status_code(backend: Backend, err: &sqlx::Error) -> Option<StatusCode> {
    let sqlx::Error::Database(db) = err else {
        return None;
    };
    let code = db.code();
    let signals = Signals::of(db.as_ref(), code.as_deref());
    match backend {
        Backend::MySql if signals.number.is_some() => {
            signals.number.map(|n| StatusCode::Number(n.into()))
        }
        Backend::Sqlite => code?.parse().ok().map(StatusCode::Number),
        _ => code?.as_bytes().try_into().ok().map(StatusCode::SqlState),
    }
}

/// The error an operation on `connection` running `sql` maps a driver error to.
pub(crate) fn classify(backend: Backend, connection: &str, sql: &str, err: sqlx::Error) -> Error {
    match &err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => Error::ConnectionLost {
            connection: connection.to_owned(),
            source: err,
        },
        sqlx::Error::Database(db) => {
            let code = db.code();
            let kind = kind(backend, Signals::of(db.as_ref(), code.as_deref()));
            database_error(kind, backend, connection, sql, err)
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

/// Builds the error for a database error `err` of the given kind.
fn database_error(
    kind: Option<Kind>,
    backend: Backend,
    connection: &str,
    sql: &str,
    err: sqlx::Error,
) -> Error {
    use sqlx::error::ErrorKind;
    let sqlx::Error::Database(db) = &err else {
        unreachable!("database_error is given database errors only")
    };
    let message = db.message().to_owned();
    let connection = connection.to_owned();
    match kind {
        Some(Kind::ConnectionLost) => {
            return Error::ConnectionLost {
                connection,
                source: err,
            }
        }
        Some(Kind::SerializationFailure) => {
            return Error::SerializationFailure {
                connection,
                message,
            }
        }
        Some(Kind::Deadlock) => {
            return Error::Deadlock {
                connection,
                message,
            }
        }
        Some(Kind::LockTimeout) => {
            return Error::LockTimeout {
                connection,
                message,
            }
        }
        Some(Kind::StatementTimeout) => {
            return Error::StatementTimeout {
                connection,
                message,
                sql: sql.to_owned(),
            }
        }
        Some(Kind::TransactionAborted) => return Error::TransactionAborted { connection },
        Some(Kind::ReadOnly) => {
            return Error::ReadOnly {
                connection,
                message,
            }
        }
        Some(Kind::ValueTooLong) => return Error::ValueTooLong { message },
        None => {}
    }
    if backend == Backend::Sqlite && is_max_length_check(db.code().as_deref(), &message) {
        return Error::ValueTooLong { message };
    }
    let constraint = db.constraint().map(str::to_owned);
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

/// SQLite has no length limit of its own: the schema adds a CHECK named
/// `max_length_<column>` for `max_length`, and breaking it is
/// SQLITE_CONSTRAINT_CHECK (275) naming that check. SQLite reports no
/// constraint name apart from the message, hence the message test.
fn is_max_length_check(code: Option<&str>, message: &str) -> bool {
    code == Some("275") && message.contains("max_length_")
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    /// A database error with a given code, standing in for a driver's.
    #[derive(Debug)]
    struct Reported(Option<String>);

    impl std::fmt::Display for Reported {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "reported {:?}", self.0)
        }
    }

    impl std::error::Error for Reported {}

    impl sqlx::error::DatabaseError for Reported {
        fn message(&self) -> &str {
            "the server's message"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            self.0.as_deref().map(Cow::Borrowed)
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    const SQL: &str = "UPDATE t SET x = 1";

    /// The error a database error with these signals becomes: the kind
    /// from the table, then the error built from it, as `classify` does.
    fn classified(backend: Backend, s: Signals<'_>) -> Error {
        let err = sqlx::Error::Database(Box::new(Reported(s.code.map(str::to_owned))));
        database_error(kind(backend, s), backend, "db", SQL, err)
    }

    fn code(code: &str) -> Signals<'_> {
        Signals {
            code: Some(code),
            ..Signals::default()
        }
    }

    /// The kind of a built error, read back from its variant, with the
    /// fields a caller relies on checked on the way.
    fn kind_of(err: &Error) -> Option<Kind> {
        let named = |c: &String| c == "db";
        Some(match err {
            Error::ConnectionLost { connection, .. } if named(connection) => Kind::ConnectionLost,
            Error::SerializationFailure {
                connection,
                message,
            } if named(connection) => {
                assert_eq!(message, "the server's message");
                Kind::SerializationFailure
            }
            Error::Deadlock {
                connection,
                message,
            } if named(connection) => {
                assert_eq!(message, "the server's message");
                Kind::Deadlock
            }
            Error::LockTimeout {
                connection,
                message,
            } if named(connection) => {
                assert_eq!(message, "the server's message");
                Kind::LockTimeout
            }
            Error::StatementTimeout {
                connection,
                message,
                sql,
            } if named(connection) => {
                assert_eq!(
                    (message.as_str(), sql.as_str()),
                    ("the server's message", SQL)
                );
                Kind::StatementTimeout
            }
            Error::TransactionAborted { connection } if named(connection) => {
                Kind::TransactionAborted
            }
            Error::ReadOnly { connection, .. } if named(connection) => Kind::ReadOnly,
            Error::ValueTooLong { .. } => Kind::ValueTooLong,
            _ => return None,
        })
    }

    /// Checks one row of a table: the variant, and whether the error says
    /// it is worth retrying and whether the connection is gone.
    fn check(err: Error, want: Kind, transient: bool, connection_error: bool, case: &str) {
        assert_eq!(kind_of(&err), Some(want), "{case}: {err:?}");
        assert_eq!(
            err.is_transient(),
            transient,
            "{case}: is_transient of {err:?}"
        );
        assert_eq!(
            err.is_connection_error(),
            connection_error,
            "{case}: is_connection_error of {err:?}"
        );
    }

    #[test]
    fn postgres_sqlstates() {
        use Kind::*;
        let table = [
            ("40001", SerializationFailure, true, false),
            ("40P01", Deadlock, true, false),
            ("55P03", LockTimeout, true, false),
            ("57014", StatementTimeout, false, false),
            ("25P02", TransactionAborted, false, false),
            ("57P01", ConnectionLost, true, true),
            ("57P02", ConnectionLost, true, true),
            ("57P03", ConnectionLost, true, true),
            ("08000", ConnectionLost, true, true),
            ("08003", ConnectionLost, true, true),
            ("08006", ConnectionLost, true, true),
            ("08P01", ConnectionLost, true, true),
            ("25006", ReadOnly, false, false),
            ("22001", ValueTooLong, false, false),
        ];
        for (sqlstate, want, transient, lost) in table {
            let case = format!("PostgreSQL {sqlstate}");
            check(
                classified(Backend::Postgres, code(sqlstate)),
                want,
                transient,
                lost,
                &case,
            );
            // The same through `classify`, which reads the code itself.
            let err = sqlx::Error::Database(Box::new(Reported(Some(sqlstate.into()))));
            let via_classify = classify(Backend::Postgres, "db", SQL, err);
            check(via_classify, want, transient, lost, &case);
        }
    }

    #[test]
    fn postgres_fatal_or_panic_severity_is_a_lost_connection_whatever_the_code() {
        // 57P01 from pg_terminate_backend, an internal error, 25P03
        // (idle_in_transaction_session_timeout), even a code that is
        // otherwise a serialization failure: the session is over.
        for sqlstate in [
            Some("57P01"),
            Some("XX000"),
            Some("25P03"),
            Some("40001"),
            None,
        ] {
            let s = Signals {
                code: sqlstate,
                number: None,
                fatal: true,
            };
            let case = format!("FATAL {sqlstate:?}");
            check(
                classified(Backend::Postgres, s),
                Kind::ConnectionLost,
                true,
                true,
                &case,
            );
        }
    }

    #[test]
    fn postgres_sqlstates_of_other_errors_are_left_to_sqlx_kinds_or_query() {
        for sqlstate in [
            "23505", "23503", "23502", "42P01", "42601", "22012", "40002", "57000",
        ] {
            assert_eq!(kind(Backend::Postgres, code(sqlstate)), None, "{sqlstate}");
            let err = classified(Backend::Postgres, code(sqlstate));
            assert!(
                matches!(&err, Error::Query { sql, .. } if sql == SQL),
                "{sqlstate}: {err:?}"
            );
            assert!(!err.is_transient() && !err.is_connection_error());
        }
        assert_eq!(kind(Backend::Postgres, Signals::default()), None);
    }

    #[test]
    fn mysql_error_numbers() {
        use Kind::*;
        // Each with the SQLSTATE the server sends along.
        let table = [
            (1213, "40001", Deadlock, true, false),
            (1205, "HY000", LockTimeout, true, false),
            (3572, "HY000", LockTimeout, true, false),
            (1969, "70100", StatementTimeout, false, false),
            (3024, "HY000", StatementTimeout, false, false),
            (1317, "70100", StatementTimeout, false, false),
            (1020, "HY000", SerializationFailure, true, false),
            (1927, "70100", ConnectionLost, true, true),
            (1053, "08S01", ConnectionLost, true, true),
            (2006, "HY000", ConnectionLost, true, true),
            (2013, "HY000", ConnectionLost, true, true),
            // ER_NET_PACKET_TOO_LARGE: class 08, the server hangs up after it.
            (1153, "08S01", ConnectionLost, true, true),
            // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION, ER_DATA_TOO_LONG.
            (1792, "25006", ReadOnly, false, false),
            (1406, "22001", ValueTooLong, false, false),
        ];
        for (number, sqlstate, want, transient, lost) in table {
            let s = Signals {
                code: Some(sqlstate),
                number: Some(number),
                fatal: false,
            };
            let case = format!("MySQL {number} ({sqlstate})");
            check(classified(Backend::MySql, s), want, transient, lost, &case);
        }
    }

    #[test]
    fn mysql_numbers_decide_over_sqlstates() {
        let mysql = |number, sqlstate| {
            kind(
                Backend::MySql,
                Signals {
                    code: Some(sqlstate),
                    number: Some(number),
                    fatal: false,
                },
            )
        };
        // 1213 carries SQLSTATE 40001 and is a deadlock, not a
        // serialization failure; 1317 and 1927 share 70100.
        assert_eq!(mysql(1213, "40001"), Some(Kind::Deadlock));
        assert_eq!(mysql(1317, "70100"), Some(Kind::StatementTimeout));
        assert_eq!(mysql(1927, "70100"), Some(Kind::ConnectionLost));
        // A duplicate key (sqlx's kind), a syntax error, and MariaDB's
        // 4031 (a trigger error; MySQL's 4031 is a client timeout).
        for (number, sqlstate) in [
            (1062, "23000"),
            (1064, "42000"),
            (4031, "HY000"),
            (1614, "XA102"),
        ] {
            assert_eq!(mysql(number, sqlstate), None, "MySQL {number} ({sqlstate})");
        }
        // 40001 without a known number is left alone on MySQL.
        assert_eq!(kind(Backend::MySql, code("40001")), None);
    }

    #[test]
    fn sqlite_result_codes() {
        use Kind::*;
        let table = [
            (5, "BUSY", LockTimeout, true, false),
            (261, "BUSY_RECOVERY", LockTimeout, true, false),
            (773, "BUSY_TIMEOUT", LockTimeout, true, false),
            (517, "BUSY_SNAPSHOT", SerializationFailure, true, false),
            (6, "LOCKED", LockTimeout, true, false),
            (262, "LOCKED_SHAREDCACHE", LockTimeout, true, false),
            (518, "LOCKED_VTAB", LockTimeout, true, false),
            (9, "INTERRUPT", StatementTimeout, false, false),
            (8, "READONLY", ReadOnly, false, false),
            (264, "READONLY_RECOVERY", ReadOnly, false, false),
            (520, "READONLY_CANTLOCK", ReadOnly, false, false),
            (776, "READONLY_ROLLBACK", ReadOnly, false, false),
            (1032, "READONLY_DBMOVED", ReadOnly, false, false),
        ];
        for (number, name, want, transient, lost) in table {
            let case = format!("SQLite {number} (SQLITE_{name})");
            let text = number.to_string();
            check(
                classified(Backend::Sqlite, code(&text)),
                want,
                transient,
                lost,
                &case,
            );
            let err = sqlx::Error::Database(Box::new(Reported(Some(text))));
            check(
                classify(Backend::Sqlite, "db", SQL, err),
                want,
                transient,
                lost,
                &case,
            );
        }
    }

    #[test]
    fn sqlite_codes_of_other_errors_are_no_kind() {
        // ERROR, CONSTRAINT_CHECK, CONSTRAINT_UNIQUE, IOERR_READ, CORRUPT.
        for number in [1, 275, 2067, 266, 11] {
            assert_eq!(
                kind(Backend::Sqlite, code(&number.to_string())),
                None,
                "{number}"
            );
        }
        assert_eq!(kind(Backend::Sqlite, code("not a number")), None);
        // "5" is SQLite's BUSY and no SQLSTATE elsewhere.
        assert_eq!(kind(Backend::Postgres, code("5")), None);
    }

    #[test]
    fn the_sqlite_max_length_check_is_value_too_long_and_other_checks_are_not() {
        let named = |message: &str| {
            #[derive(Debug)]
            struct Check(String);
            impl std::fmt::Display for Check {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(&self.0)
                }
            }
            impl std::error::Error for Check {}
            impl sqlx::error::DatabaseError for Check {
                fn message(&self) -> &str {
                    &self.0
                }
                fn code(&self) -> Option<Cow<'_, str>> {
                    Some("275".into())
                }
                fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
                    self
                }
                fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
                    self
                }
                fn into_error(
                    self: Box<Self>,
                ) -> Box<dyn std::error::Error + Send + Sync + 'static> {
                    self
                }
                fn kind(&self) -> sqlx::error::ErrorKind {
                    sqlx::error::ErrorKind::CheckViolation
                }
            }
            let err = sqlx::Error::Database(Box::new(Check(message.to_owned())));
            classify(Backend::Sqlite, "db", SQL, err)
        };
        let too_long = named("CHECK constraint failed: max_length_email");
        assert!(
            matches!(too_long, Error::ValueTooLong { .. }),
            "{too_long:?}"
        );
        let other = named("CHECK constraint failed: positive_score");
        assert!(matches!(other, Error::Query { .. }), "{other:?}");
    }

    #[test]
    fn io_failures_are_a_lost_connection() {
        let io = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "eof");
        for err in [sqlx::Error::Io(io), sqlx::Error::WorkerCrashed] {
            let got = classify(Backend::Postgres, "db", SQL, err);
            check(got, Kind::ConnectionLost, true, true, "I/O");
        }
    }
}
