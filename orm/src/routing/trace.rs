//! What every statement reports of itself: a `tracing` span named and
//! attributed after OpenTelemetry's database semantic conventions, a `WARN`
//! event when it is slower than its connection's threshold, and its
//! duration in the connection's histograms.
//!
//! [`Session::run`](super::Session) and [`Session::stream`](super::Session)
//! call [`Attempt::start`] before each attempt of a statement and
//! [`Attempt::finish`] after it; transactions call [`begin_transaction`]
//! and [`end_transaction`]. Nothing here reads SQL text to learn what a
//! statement does: the [`Operation`] says it.
//!
//! # Spans (cargo feature `spans`, on by default)
//!
//! One span per attempt of a statement: name `db.query`, target
//! `orm::query`, level `INFO`, OpenTelemetry span kind client
//! (`otel.kind`). Its `otel.name` is the query summary (`SELECT orders`),
//! which `tracing-opentelemetry` exports as the span's name. Attributes
//! (OpenTelemetry semantic conventions for database client spans, stable
//! names):
//!
//! | field | value |
//! | --- | --- |
//! | `db.system.name` | `sqlite`, `postgresql`, `mysql` or `mariadb` |
//! | `db.namespace` | the database (SQLite: the file, or `main` in memory) |
//! | `db.collection.name` | the first table of the operation (none for raw SQL that names no tables with [`Raw::tables`](crate::Raw::tables)) |
//! | `db.operation.name` | `SELECT`, `INSERT`, `UPDATE`, `DELETE`; `RAW` for raw SQL, `MIGRATE` for migrations (this crate's names: it never reads SQL text) |
//! | `db.query.summary` | the operation and its tables: `SELECT orders customers` |
//! | `db.query.text` | the SQL sent, with placeholders: bound values are never in it |
//! | `db.query.parameter.<n>` | only on connections that opted in with [`PoolOptions::trace_parameters`](crate::PoolOptions::trace_parameters): the value bound to placeholder `n` (0-based), as text, for statements of at most [`TRACED_PARAMETERS`] parameters |
//! | `server.address`, `server.port` | the server (not for SQLite) |
//! | `db.response.returned_rows` | rows returned, for statements that return rows |
//! | `db.response.status_code` | on failure, the code the database sent: SQLSTATE (PostgreSQL), error number (MySQL/MariaDB), extended result code (SQLite) |
//! | `error.type` | on failure, [`Error::kind`] (`unique_violation`, ...); `otel.status_code` is then `ERROR` |
//! | `orm.connection` | the connection's name |
//! | `orm.model` | the model's Rust name (none for raw SQL and migrations) |
//! | `orm.role` | `primary` or `replica` |
//! | `orm.attempt` | 1, then 2, ... for each run of a retried statement (a span each) |
//!
//! A transaction is a span too: name `db.transaction`, target
//! `orm::transaction`, from `BEGIN` to its commit, rollback or drop, with
//! `orm.connection`, `orm.attempt` (the run of
//! [`Database::transaction`](crate::Database::transaction)), the server
//! attributes above, and `orm.outcome` (`commit`, `rollback`, or
//! `unknown` when the connection was lost during `COMMIT`); `error.type`
//! if its end failed. Its statements' spans are its children whatever
//! span the caller's code is in. A savepoint is not a span: opening,
//! releasing and rolling one back are `DEBUG` events of target
//! `orm::transaction` inside the transaction's span, with `orm.depth`.
//!
//! Field values are computed only when a subscriber wants the span: with
//! none, a statement pays a check of an atomic flag. A statement's span is
//! not entered while the statement runs (entering it on every poll would
//! cost as much again): it is a leaf, and events sent meanwhile have the
//! caller's span as their parent.

use std::time::Duration;

use crate::connection::driver::Args;
use crate::connection::pool::{Pool, PoolInner, PooledConn};
use crate::error::Error;

use super::session::Operation;

/// The most parameters a statement may have for its span to show them
/// (`db.query.parameter.0` to `db.query.parameter.15`), on connections
/// that opted in with [`PoolOptions::trace_parameters`](crate::PoolOptions::trace_parameters):
/// a `tracing` span's fields are fixed where it is declared, and a
/// statement with more is a batch (a many-row insert, a long `IN` list),
/// whose parameters OpenTelemetry's conventions say not to record.
pub const TRACED_PARAMETERS: usize = 16;

/// One attempt of a statement: timed, and traced in a span when the
/// `spans` feature is on and a subscriber wants it.
pub(crate) struct Attempt {
    /// Boxed, and only when a subscriber wants it: the attempt lives in
    /// every statement's future across its `.await`, where a span's 40
    /// bytes would be copied each time the future moves.
    #[cfg(feature = "spans")]
    span: Option<Box<tracing::Span>>,
}

/// How an attempt ended: rows returned (`None`: a statement that returns
/// none), or the error.
pub(crate) type Outcome<'a> = Result<Option<usize>, &'a Error>;

impl Attempt {
    /// Starts attempt number `attempt` of a statement of `op` on `conn`
    /// (on a replica's pool if `on_replica`), whose values are `args`
    /// (`None` on an attempt after the first that keeps none).
    #[cfg_attr(not(feature = "spans"), allow(unused_variables))]
    pub(crate) fn start(
        conn: &mut PooledConn,
        op: &Operation,
        sql: &str,
        args: Option<&Args>,
        on_replica: bool,
        attempt: u32,
    ) -> Attempt {
        // The connection times the statement (it has a clock running
        // anyway): a statement refused before it is sent takes no time.
        conn.status_code = None;
        conn.statement_time = Duration::ZERO;
        Attempt {
            // The check is here, not in `statement`, so that a process
            // without a subscriber does not even pay for the call.
            #[cfg(feature = "spans")]
            span: spans::wanted()
                .then(|| {
                    spans::statement(
                        &conn.pool,
                        conn.tx.span.as_deref(),
                        op,
                        sql,
                        args,
                        on_replica,
                        attempt,
                    )
                })
                .flatten()
                .map(Box::new),
        }
    }

    /// Ends the attempt on `conn`: the statement's duration goes to the
    /// pool's histogram of `op`'s verb and, past the pool's slow-query
    /// threshold, to a `WARN` event; a failure is counted by kind; the
    /// span gets the outcome (and the database's code of an error).
    pub(crate) fn finish(self, conn: &PooledConn, op: &Operation, sql: &str, outcome: Outcome<'_>) {
        let (pool, elapsed) = (&*conn.pool, conn.statement_time);
        pool.counters.operations.record(op.verb, elapsed);
        if let Err(e) = outcome {
            pool.counters.error_kinds.count(e.kind());
        }
        if let Some(threshold) = pool.options.slow_query_threshold {
            if elapsed > threshold {
                slow(pool, op, sql, elapsed, threshold);
            }
        }
        #[cfg(feature = "spans")]
        if let Some(span) = &self.span {
            spans::outcome(span, conn.status_code, outcome);
        }
    }
}

/// No connection could be had for attempt `attempt` of a statement of
/// `op` on `pool`: counted by kind, and a span of its own that ends at once.
#[cfg_attr(not(feature = "spans"), allow(unused_variables))]
pub(crate) fn acquire_failed(
    pool: &Pool,
    op: &Operation,
    on_replica: bool,
    attempt: u32,
    error: &Error,
) {
    let pool = pool.inner();
    pool.counters.error_kinds.count(error.kind());
    #[cfg(feature = "spans")]
    {
        let span = spans::statement(pool, None, op, "", None, on_replica, attempt)
            .unwrap_or_else(tracing::Span::none);
        spans::outcome(&span, None, Err(error));
    }
}

/// The `WARN` event of a statement slower than its connection's threshold.
fn slow(pool: &PoolInner, op: &Operation, sql: &str, elapsed: Duration, threshold: Duration) {
    tracing::warn!(
        target: "orm::slow_query",
        connection = %pool.name,
        model = op.model,
        sql,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        "slow statement on `{}`: {elapsed:?}, over the threshold of {threshold:?}",
        pool.name,
    );
}

/// The span of a transaction, while it is being opened or ended (it is
/// kept in the connection's transaction state meanwhile); nothing without
/// the `spans` feature.
pub(crate) struct TransactionSpan(#[cfg(feature = "spans")] tracing::Span);

/// A transaction (depth 0 to 1) opens on `conn`: its span starts, with
/// `attempt` as `orm.attempt`. Called before `BEGIN`, so that the span
/// covers it; [`transaction_begun`] keeps the span with the transaction.
#[cfg_attr(not(feature = "spans"), allow(unused_variables))]
pub(crate) fn begin_transaction(conn: &PooledConn, attempt: u32) -> TransactionSpan {
    TransactionSpan(
        #[cfg(feature = "spans")]
        spans::transaction(&conn.pool, attempt),
    )
}

/// `BEGIN` ran on `conn` (`result`): the transaction keeps `span`, or
/// the span ends with the error.
#[cfg_attr(not(feature = "spans"), allow(unused_variables))]
pub(crate) fn transaction_begun(
    conn: &mut PooledConn,
    span: TransactionSpan,
    result: &Result<(), Error>,
) {
    #[cfg(feature = "spans")]
    match result {
        Ok(()) => conn.tx.span = Some(Box::new(span.0)),
        Err(e) => spans::ended(&span.0, "rollback", Some(e)),
    }
}

/// The run of [`Database::transaction`](crate::Database::transaction)
/// the transaction on `conn` is (its span was opened as the first).
#[cfg_attr(not(feature = "spans"), allow(unused_variables))]
pub(crate) fn transaction_attempt(conn: &PooledConn, attempt: u32) {
    #[cfg(feature = "spans")]
    if let Some(span) = conn.tx.span.as_deref().filter(|_| attempt > 1) {
        span.record("orm.attempt", attempt);
    }
}

/// Before a commit or rollback on `conn`: the transaction's span if it is
/// the transaction that ends (depth 1), taken out of its state (which
/// ending forgets); a savepoint's end leaves it in place (an empty span).
#[cfg_attr(not(feature = "spans"), allow(unused_variables))]
pub(crate) fn ending_transaction(conn: &mut PooledConn) -> TransactionSpan {
    TransactionSpan(
        #[cfg(feature = "spans")]
        match conn.transaction_depth() {
            1 => conn
                .tx
                .span
                .take()
                .map_or_else(tracing::Span::none, |span| *span),
            _ => tracing::Span::none(),
        },
    )
}

/// The transaction whose span is `span` ended: committed (`commit`
/// true and `result` Ok), or rolled back, with `result`'s error if any.
#[cfg_attr(not(feature = "spans"), allow(unused_variables))]
pub(crate) fn end_transaction(span: TransactionSpan, commit: bool, result: &Result<(), Error>) {
    #[cfg(feature = "spans")]
    {
        let outcome = match (commit, result) {
            (true, Ok(())) => "commit",
            (true, Err(Error::TransactionResolutionUnknown { .. })) => "unknown",
            _ => "rollback",
        };
        spans::ended(&span.0, outcome, result.as_ref().err());
    }
}

/// A savepoint at `depth` was opened, released or rolled back (`what`) in
/// the transaction on `conn`: a `DEBUG` event in the transaction's span.
#[cfg_attr(not(feature = "spans"), allow(unused_variables))]
pub(crate) fn savepoint(conn: &PooledConn, depth: usize, what: &'static str) {
    #[cfg(feature = "spans")]
    tracing::event!(
        target: "orm::transaction",
        parent: conn.tx.span.as_deref().and_then(tracing::Span::id),
        tracing::Level::DEBUG,
        orm.depth = depth,
        "savepoint {what}"
    );
}

/// `db.query.summary`: the verb and the tables (`SELECT orders
/// customers`), written when a subscriber asks (no string is built
/// otherwise).
pub(crate) struct Summary<'a>(pub(crate) &'a Operation);

impl std::fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.verb)?;
        for t in self.0.tables.iter() {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}

#[cfg(feature = "spans")]
mod spans {
    use tracing::field::{display, Empty};

    use super::{Args, Error, Operation, Outcome, PoolInner, Summary, TRACED_PARAMETERS};
    use crate::backend::Backend;
    use crate::connection::classify::StatusCode;

    /// `db.system.name` of the semantic conventions' registry.
    fn system(pool: &PoolInner) -> &'static str {
        match pool.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
            Backend::MySql if pool.mariadb.load(std::sync::atomic::Ordering::Relaxed) => "mariadb",
            Backend::MySql => "mysql",
        }
    }

    /// Whether a span could be wanted at all: some `tracing` dispatcher
    /// was ever set. Without one, the span macros' disabled path still
    /// builds the fields for the `log` crate (the `log` feature of
    /// `tracing`, which sqlx turns on) and logs entering and dropping the
    /// span: about 500 instructions a statement, a quarter of the ORM's
    /// own cost of a one-row find. An empty span costs none of it.
    #[inline]
    pub(super) fn wanted() -> bool {
        tracing::dispatcher::has_been_set()
    }

    /// The span of one attempt of a statement (`None` when no subscriber
    /// wants it); its parent is the transaction's span (`transaction`) if
    /// any, else the current span.
    pub(super) fn statement(
        pool: &PoolInner,
        transaction: Option<&tracing::Span>,
        op: &Operation,
        sql: &str,
        args: Option<&Args>,
        on_replica: bool,
        attempt: u32,
    ) -> Option<tracing::Span> {
        if !wanted() {
            return None;
        }
        let span = tracing::info_span!(
            target: "orm::query",
            parent: transaction
                .and_then(tracing::Span::id)
                .or_else(|| tracing::Span::current().id()),
            "db.query",
            otel.name = %Summary(op),
            otel.kind = "client",
            otel.status_code = Empty,
            db.system.name = system(pool),
            db.namespace = pool.server.namespace.as_str(),
            db.collection.name = op.tables.first().copied(),
            db.operation.name = op.verb,
            db.query.summary = %Summary(op),
            db.query.text = (!sql.is_empty()).then_some(sql),
            server.address = pool.server.address.as_deref(),
            server.port = pool.server.port,
            db.response.returned_rows = Empty,
            db.response.status_code = Empty,
            error.type = Empty,
            orm.connection = pool.name.as_str(),
            orm.model = (!op.model.is_empty()).then_some(op.model),
            orm.role = if on_replica { "replica" } else { "primary" },
            orm.attempt = attempt,
            "db.query.parameter.0" = Empty,
            "db.query.parameter.1" = Empty,
            "db.query.parameter.2" = Empty,
            "db.query.parameter.3" = Empty,
            "db.query.parameter.4" = Empty,
            "db.query.parameter.5" = Empty,
            "db.query.parameter.6" = Empty,
            "db.query.parameter.7" = Empty,
            "db.query.parameter.8" = Empty,
            "db.query.parameter.9" = Empty,
            "db.query.parameter.10" = Empty,
            "db.query.parameter.11" = Empty,
            "db.query.parameter.12" = Empty,
            "db.query.parameter.13" = Empty,
            "db.query.parameter.14" = Empty,
            "db.query.parameter.15" = Empty,
        );
        if span.is_none() {
            // Disabled for this subscriber: nothing to keep.
            return None;
        }
        if pool.options.trace_parameters {
            parameters(&span, args);
        }
        Some(span)
    }

    /// The names of the fields of [`TRACED_PARAMETERS`] parameters.
    const PARAMETER_FIELDS: [&str; TRACED_PARAMETERS] = [
        "db.query.parameter.0",
        "db.query.parameter.1",
        "db.query.parameter.2",
        "db.query.parameter.3",
        "db.query.parameter.4",
        "db.query.parameter.5",
        "db.query.parameter.6",
        "db.query.parameter.7",
        "db.query.parameter.8",
        "db.query.parameter.9",
        "db.query.parameter.10",
        "db.query.parameter.11",
        "db.query.parameter.12",
        "db.query.parameter.13",
        "db.query.parameter.14",
        "db.query.parameter.15",
    ];

    /// Records the statement's values (`args`, kept as text because the
    /// connection opted in) as `db.query.parameter.<n>`, when there are
    /// at most [`TRACED_PARAMETERS`].
    fn parameters(span: &tracing::Span, args: Option<&Args>) {
        let Some(shown) = args.and_then(Args::shown) else {
            return;
        };
        if shown.len() <= TRACED_PARAMETERS {
            for (field, value) in PARAMETER_FIELDS.iter().zip(shown) {
                span.record(*field, value.as_str());
            }
        }
    }

    /// Records how an attempt ended on its span.
    pub(super) fn outcome(span: &tracing::Span, status: Option<StatusCode>, outcome: Outcome<'_>) {
        if span.is_disabled() {
            return;
        }
        match outcome {
            Ok(Some(rows)) => {
                span.record("db.response.returned_rows", rows as u64);
            }
            Ok(None) => {}
            Err(e) => {
                failed(span, e);
                if let Some(code) = status {
                    span.record("db.response.status_code", display(code));
                }
            }
        }
    }

    fn failed(span: &tracing::Span, e: &Error) {
        span.record("error.type", e.kind());
        span.record("otel.status_code", "ERROR");
    }

    /// The span of a transaction.
    pub(super) fn transaction(pool: &PoolInner, attempt: u32) -> tracing::Span {
        if !wanted() {
            return tracing::Span::none();
        }
        tracing::info_span!(
            target: "orm::transaction",
            "db.transaction",
            otel.kind = "client",
            otel.status_code = Empty,
            db.system.name = system(pool),
            db.namespace = pool.server.namespace.as_str(),
            server.address = pool.server.address.as_deref(),
            server.port = pool.server.port,
            orm.connection = pool.name.as_str(),
            orm.attempt = attempt,
            orm.outcome = Empty,
            error.type = Empty,
        )
    }

    /// Records how a transaction ended on its span.
    pub(super) fn ended(span: &tracing::Span, outcome: &'static str, error: Option<&Error>) {
        span.record("orm.outcome", outcome);
        if let Some(e) = error {
            failed(span, e);
        }
    }
}
