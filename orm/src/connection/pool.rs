//! Connection pools owned by the crate.
//!
//! A [`Database`](crate::Database) keeps one pool per named connection. The
//! pool hands out [`PooledConn`] guards that go back on drop. Unlike sqlx's
//! own pool it sends nothing when a connection is taken out or put back: a
//! guard is marked *busy* while a statement is in flight, and a guard
//! dropped while busy (its future was cancelled mid-statement) is closed,
//! after a cancel request for its statement (PostgreSQL
//! `pg_cancel_backend`, MySQL `KILL QUERY`, SQLite interrupted by its
//! progress handler), instead of being handed to the next caller. A guard
//! dropped inside a transaction has the transaction rolled back at once, in
//! a background task, so that its locks are released promptly.
//!
//! The whole acquisition, opening a new connection included, ends within
//! the acquire timeout. A background task per pool closes idle and expired
//! connections, opens connections up to `min_connections`, and reports
//! connections held longer than the leak threshold.

use std::backtrace::Backtrace;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::classify::StatusCode;
use super::connect::{ConnectOptions, Pooler, RawConn, Server, SessionInfo};
use super::metrics::{
    ErrorKinds, Histogram, HistogramSnapshot, OperationDurations, OperationMetrics,
};
use super::retry::RetryPolicy;
use super::transaction::TxState;
use crate::backend::Backend;
use crate::error::{Error, Result};

/// Size, timeouts and policies of one connection's pool.
///
/// Every option has an environment variable too (see
/// [`Database::from_env`](crate::Database::from_env)).
#[derive(Clone, Debug)]
pub struct PoolOptions {
    pub(crate) max_connections: u32,
    pub(crate) min_connections: u32,
    pub(crate) acquire_timeout: Duration,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) statement_timeout: Option<Duration>,
    pub(crate) lock_timeout: Option<Duration>,
    pub(crate) leak_threshold: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    pub(crate) pooler: Pooler,
    pub(crate) slow_query_threshold: Option<Duration>,
    pub(crate) trace_parameters: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            statement_timeout: None,
            lock_timeout: None,
            leak_threshold: None,
            retry: RetryPolicy::none(),
            pooler: Pooler::Session,
            slow_query_threshold: None,
            trace_parameters: false,
        }
    }
}

impl PoolOptions {
    /// The defaults: at most 10 connections and none kept open, 30 s acquire
    /// timeout, 10 min idle timeout, 30 min lifetime, no statement or lock
    /// timeout (the server's defaults), no leak detection, no retries.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most connections open at once (at least 1).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Connections kept open even when idle (at most `max_connections`):
    /// the pool opens them in the background at start and after they close.
    pub fn min_connections(mut self, n: u32) -> Self {
        self.min_connections = n;
        self
    }

    /// How long an acquisition may take in all, opening a new connection
    /// included, before [`Error::PoolTimeout`].
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Close connections left unused this long (`None`: never).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Close connections this old (`None`: never).
    pub fn max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// The longest any statement on this connection may run before the
    /// server stops it with [`Error::StatementTimeout`] (`None` or zero: the
    /// server's default). PostgreSQL `statement_timeout` (sent at connect);
    /// MariaDB `max_statement_time`, MySQL `max_execution_time` (which MySQL
    /// applies to `SELECT` only); SQLite: the statement is interrupted.
    pub fn statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// The longest a statement waits for a lock before
    /// [`Error::LockTimeout`] (`None` or zero: the server's default). PostgreSQL
    /// `lock_timeout`; MySQL/MariaDB `innodb_lock_wait_timeout` and
    /// `lock_wait_timeout` (row, table and metadata locks; whole
    /// seconds, rounded up); SQLite busy timeout (sqlx's default: 5 s).
    pub fn lock_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Report a connection (or transaction) held longer than this, with a
    /// backtrace of where it was taken, as a `WARN` event of the `orm::pool`
    /// target and in [`PoolMetrics::leaks`] (`None`: off, the default;
    /// taking the backtrace costs some microseconds per acquisition).
    pub fn leak_threshold(mut self, threshold: Option<Duration>) -> Self {
        self.leak_threshold = threshold;
        self
    }

    /// How single statements outside transactions are retried after a
    /// transient error: reads always, writes only when the caller marks
    /// them idempotent ([`Database::idempotent`](crate::Database::idempotent));
    /// never inside a transaction. Default: [`RetryPolicy::none`]. It is
    /// also the default policy of [`Database::transaction`](crate::Database::transaction).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Report each statement that takes longer than `threshold` (`None`:
    /// off, the default) as a `WARN` event of target `orm::slow_query`
    /// with the fields `connection`, `model` (the model's Rust name, empty
    /// for raw SQL and migrations), `sql` (the text sent, with placeholders,
    /// never the bound values) and `duration_ms` (milliseconds, with a
    /// fraction). The duration is the statement's, from sending it to
    /// reading its last row, as in
    /// [`OperationMetrics::duration`](crate::OperationMetrics::duration);
    /// waiting for a pooled connection is not part of it. Takes a
    /// `Duration` or an `Option<Duration>`; the environment variable
    /// `<prefix>_SLOW_QUERY_THRESHOLD` sets it in seconds (or `off`).
    pub fn slow_query_threshold(mut self, threshold: impl Into<Option<Duration>>) -> Self {
        self.slow_query_threshold = threshold.into();
        self
    }

    /// Record each statement's bound values in its span (default `false`:
    /// values never leave the process through spans). When on, the span
    /// of a statement with at most [`TRACED_PARAMETERS`](crate::TRACED_PARAMETERS)
    /// (16) parameters gets `db.query.parameter.0`, `db.query.parameter.1`,
    /// ... (OpenTelemetry's database attributes: "a string representation
    /// of the parameter value", the key the 0-based index of its
    /// placeholder in `db.query.text`); a statement with more (an
    /// `insert_many` of many rows, a long `IN` list) gets none, as the
    /// conventions ask of batches. Values are written as text: numbers,
    /// text, dates and UUIDs as they print, bytes in PostgreSQL's hex form
    /// (`\x0a1b`), NULL as `NULL`, a PostgreSQL array as `{1,2,3}`. Values
    /// may hold personal data: turn this on where the spans' destination may
    /// keep it. Once any connection of the process turned it on, every
    /// statement's values are kept as text while it is built (one string a
    /// value); only spans of connections that turned it on show them. The
    /// environment variable `<prefix>_TRACE_PARAMETERS` sets it (`on` or
    /// `off`).
    pub fn trace_parameters(mut self, on: bool) -> Self {
        self.trace_parameters = on;
        self
    }

    /// What sits between this connection and its server (default:
    /// [`Pooler::Session`], nothing to work around). [`Pooler::Transaction`]
    /// is for PostgreSQL behind PgBouncer with `pool_mode = transaction`
    /// (see [`Pooler`] for what changes); the URL parameter
    /// `pooler=transaction` does the same. On another backend the
    /// connection is refused with [`Error::InvalidConfig`] when it is built.
    pub fn pooler(mut self, pooler: Pooler) -> Self {
        self.pooler = pooler;
        self
    }
}

struct Idle {
    // Boxed: a driver connection is large, and it moves in and out of the
    // idle list on every acquisition.
    raw: Box<RawConn>,
    info: SessionInfo,
    /// When the connection reaches its lifetime, if it has one.
    retire_at: Option<Instant>,
    /// When it is closed unless taken first: the idle timeout or the
    /// lifetime, whichever comes first. Deadlines are computed when a
    /// connection is put back, so taking one costs a comparison.
    expires_at: Option<Instant>,
    /// The statement cache generation the connection has seen.
    generation: u64,
    _open: Open,
}

/// Counters behind [`PoolMetrics`]; updated with relaxed atomics, read together.
#[derive(Default)]
pub(crate) struct Counters {
    open: AtomicU64,
    waiting: AtomicU64,
    acquisitions: AtomicU64,
    acquire_nanos: AtomicU64,
    timeouts: AtomicU64,
    pub(crate) queries: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) retries: AtomicU64,
    leaks: AtomicU64,
    pub(crate) cancels: AtomicU64,
    /// Connections being opened now (not yet counted in `open`).
    connecting: AtomicU64,
    /// How long acquisitions waited.
    acquire_times: Histogram,
    /// How long statements took, per operation.
    pub(crate) operations: OperationDurations,
    /// Failed statements by error kind.
    pub(crate) error_kinds: ErrorKinds,
}

/// Counts one open connection for as long as it lives. It holds the
/// counters, not the pool: idle connections live inside the pool, and a
/// reference back to it would keep a dropped pool (and its connections)
/// alive forever.
struct Open(Arc<Counters>);

impl Open {
    fn new(pool: &Arc<PoolInner>) -> Open {
        pool.counters.open.fetch_add(1, Ordering::Relaxed);
        Open(pool.counters.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts one caller waiting for a connection (or one connection being
/// opened) for as long as it lasts: a cancelled future stops counting when
/// it is dropped.
struct Waiting<'a>(&'a AtomicU64);

impl<'a> Waiting<'a> {
    fn new(gauge: &'a AtomicU64) -> Waiting<'a> {
        gauge.fetch_add(1, Ordering::Relaxed);
        Waiting(gauge)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A snapshot of one connection's pool, from [`Database::metrics`](crate::Database::metrics).
///
/// Ready for an exporter: each field names the OpenTelemetry instrument it
/// maps to (semantic conventions for database client metrics), with the
/// connection's name as the `db.client.connection.pool.name` attribute.
/// Gauges are read when the snapshot is taken; counters and histograms
/// count from the pool's start. A connection with replicas has one pool
/// per replica too ([`ReplicaMetrics::pool`](crate::ReplicaMetrics::pool)):
/// reads a replica served are counted there. Cache hits and misses are in
/// the cache's own metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolMetrics {
    /// The most connections the pool opens
    /// (`db.client.connection.max`, gauge).
    pub max_connections: u32,
    /// Connections open now (idle and in use).
    pub size: u64,
    /// Open connections waiting in the pool
    /// (`db.client.connection.count` with `db.client.connection.state` = `idle`).
    pub idle: u64,
    /// Connections checked out now
    /// (`db.client.connection.count` with `db.client.connection.state` = `used`).
    pub in_use: u64,
    /// Callers waiting for a connection now
    /// (`db.client.connection.pending_requests`, gauge).
    pub waiting: u64,
    /// Connections handed out since start.
    pub acquisitions: u64,
    /// Total time callers spent waiting for a connection (including connecting).
    pub acquire_time: Duration,
    /// How long each acquisition that got a connection waited, opening a
    /// new connection included (`db.client.connection.wait_time`,
    /// histogram, unit `s`).
    pub acquire_times: HistogramSnapshot,
    /// Acquisitions that gave up after the acquire timeout
    /// (`db.client.connection.timeouts`, counter).
    pub timeouts: u64,
    /// Statements run.
    pub queries: u64,
    /// Statements that failed.
    pub errors: u64,
    /// How long statements took, per operation (`SELECT`, `INSERT`, ...;
    /// only operations that ran): `db.client.operation.duration`
    /// (histogram, unit `s`) per `db.operation.name`. Statements sent
    /// through this crate's routing (models, queries, relations, raw SQL,
    /// migrations) are counted, one value per attempt.
    pub operations: Vec<OperationMetrics>,
    /// Failed attempts of statements (and of getting a connection for
    /// one) by [`Error::kind`], sorted by kind: a counter per `error.type`
    /// (OpenTelemetry's `db.client.operation.duration` records failures
    /// with that attribute; here they are counted on their own).
    pub errors_by_kind: Vec<(&'static str, u64)>,
    /// Statements and transactions run again after a transient error.
    pub retries: u64,
    /// Connections reported as held longer than the leak threshold.
    pub leaks: u64,
    /// Statements this crate stopped because they timed out or were
    /// abandoned: cancel requests sent (PostgreSQL `pg_cancel_backend`,
    /// MySQL `KILL QUERY`) and SQLite statements interrupted.
    pub cancels: u64,
}

/// Where each checked-out connection was taken, for leak reports.
#[derive(Default)]
struct Checkouts {
    next: u64,
    taken: HashMap<u64, Checkout>,
}

struct Checkout {
    at: Instant,
    backtrace: Backtrace,
    reported: bool,
}

pub(crate) struct PoolInner {
    pub(crate) name: String,
    pub(crate) backend: Backend,
    connect: ConnectOptions,
    pub(crate) options: PoolOptions,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Idle>>,
    closed: AtomicBool,
    pub(crate) counters: Arc<Counters>,
    read_only: bool,
    /// Bumped to make every connection drop its prepared statements before
    /// its next use (after a migration changed the schema).
    generation: AtomicU64,
    /// The last error met opening a connection, for [`Error::PoolTimeout`]'s cause.
    last_connect_error: Mutex<Option<String>>,
    /// A connection of its own for cancel requests, opened when first needed.
    control: tokio::sync::Mutex<Option<RawConn>>,
    checkouts: Mutex<Checkouts>,
    /// Why the pool's [`Pooler`] cannot work on this connection: every
    /// acquisition is refused with it.
    misconfigured: Option<String>,
    /// Its server, as spans report it.
    #[cfg_attr(not(feature = "spans"), allow(dead_code))]
    pub(crate) server: Server,
    /// What the query cache scopes this connection's entries and table
    /// versions by (see [`ConnectOptions::cache_scope`]): its name and
    /// where its database lives (`db/127.0.0.1:5432/shop`).
    pub(crate) cache_scope: String,
    /// A connection opened by this pool reported MariaDB rather than MySQL.
    pub(crate) mariadb: AtomicBool,
}

/// The pool of one named connection. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Pool(Arc<PoolInner>);

impl Pool {
    pub(crate) fn new(name: &str, mut connect: ConnectOptions, mut options: PoolOptions) -> Pool {
        if connect.is_memory() {
            // Every connection to `sqlite::memory:` is a separate, empty
            // database: keep exactly one, forever.
            options.max_connections = 1;
            options.min_connections = 0;
            options.idle_timeout = None;
            options.max_lifetime = None;
        }
        options.min_connections = options.min_connections.min(options.max_connections);
        // A zero timeout means none, as PostgreSQL's and MySQL's 0 do.
        options.statement_timeout = options.statement_timeout.filter(|t| !t.is_zero());
        options.lock_timeout = options.lock_timeout.filter(|t| !t.is_zero());
        connect.settings.statement_timeout = options.statement_timeout;
        connect.settings.lock_timeout = options.lock_timeout;
        let misconfigured = connect.set_pooler(options.pooler).err();
        if misconfigured.is_none() {
            options.pooler = connect.settings.pooler;
        }
        if options.trace_parameters {
            super::driver::show_parameters();
        }
        let read_only = connect.settings.read_only;
        let server = connect.server();
        let cache_scope = connect.cache_scope(name);
        Pool(Arc::new(PoolInner {
            name: name.to_owned(),
            backend: connect.backend(),
            permits: Arc::new(Semaphore::new(options.max_connections as usize)),
            connect,
            options,
            idle: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            counters: Arc::default(),
            read_only,
            generation: AtomicU64::new(0),
            last_connect_error: Mutex::new(None),
            control: tokio::sync::Mutex::new(None),
            checkouts: Mutex::new(Checkouts::default()),
            misconfigured,
            server,
            cache_scope,
            mariadb: AtomicBool::new(false),
        }))
    }

    pub(crate) fn name(&self) -> &str {
        &self.0.name
    }

    /// The query cache's scope of this connection (see `PoolInner::cache_scope`).
    pub(crate) fn cache_scope(&self) -> &str {
        &self.0.cache_scope
    }

    pub(crate) fn backend(&self) -> Backend {
        self.0.backend
    }

    pub(crate) fn read_only(&self) -> bool {
        self.0.read_only
    }

    pub(crate) fn options(&self) -> &PoolOptions {
        &self.0.options
    }

    pub(crate) fn inner(&self) -> &PoolInner {
        &self.0
    }

    /// Takes an idle connection or opens a new one; the whole of it ends
    /// within the acquire timeout.
    pub(crate) async fn acquire(&self) -> Result<PooledConn> {
        let inner = &self.0;
        if inner.closed.load(Ordering::Acquire) {
            return Err(inner.pool_closed());
        }
        if let Some(reason) = &inner.misconfigured {
            return Err(Error::InvalidConfig {
                connection: inner.name.clone(),
                variable: "PoolOptions::pooler".into(),
                value: format!("{:?}", inner.options.pooler),
                expected: format!("`Pooler::Session` on this connection ({reason})"),
            });
        }
        let started = Instant::now();
        let limit = inner.options.acquire_timeout;
        // Fast path: a free permit, without arming a timer (nor reading
        // the clock again: no time passed that is worth a clock read).
        let mut now = started;
        let permit = match inner.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(tokio::sync::TryAcquireError::Closed) => return Err(inner.pool_closed()),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                let _waiting = Waiting::new(&inner.counters.waiting);
                match Box::pin(tokio::time::timeout(
                    limit,
                    inner.permits.clone().acquire_owned(),
                ))
                .await
                {
                    Ok(Ok(permit)) => {
                        now = Instant::now();
                        permit
                    }
                    Ok(Err(_)) => return Err(inner.pool_closed()),
                    Err(_) => {
                        let cause = format!(
                            "all {} connections stayed in use",
                            inner.options.max_connections
                        );
                        return Err(inner.timed_out(started, cause));
                    }
                }
            }
        };
        let generation = inner.generation.load(Ordering::Relaxed);
        loop {
            let idle = inner.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some(idle) = idle else { break };
            // Past its lifetime, or idle too long and above the minimum:
            // closed (dropped) rather than handed out.
            let retired = idle.retire_at.is_some_and(|at| at <= now);
            let expired = idle.expires_at.is_some_and(|at| at <= now);
            if retired
                || (expired
                    && inner.counters.open.load(Ordering::Relaxed)
                        > u64::from(inner.options.min_connections))
            {
                continue;
            }
            let mut conn = PooledConn::new(self, idle.raw, idle.info, idle._open, permit);
            conn.retire_at = idle.retire_at;
            conn.generation = idle.generation;
            if conn.generation != generation {
                now = Instant::now();
                let remaining = limit.saturating_sub(now - started);
                match tokio::time::timeout(
                    remaining,
                    Box::pin(conn.clear_statement_cache(generation)),
                )
                .await
                {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(e),
                    Err(_) => {
                        return Err(inner.timed_out(
                            started,
                            "clearing a connection's prepared statements did not finish".into(),
                        ))
                    }
                }
                now = Instant::now();
            }
            self.count_acquisition(started, now);
            return Ok(conn);
        }
        let remaining = limit.saturating_sub(started.elapsed());
        let (raw, info) =
            match tokio::time::timeout(remaining, Box::pin(RawConn::connect(&inner.connect))).await
            {
                Ok(Ok(opened)) => opened,
                Ok(Err(source)) => {
                    *inner
                        .last_connect_error
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = Some(source.to_string());
                    return Err(Error::ConnectionLost {
                        connection: inner.name.clone(),
                        source,
                    });
                }
                Err(_) => {
                    let mut cause = String::from(
                        "opening a new connection did not finish in time (the server accepts \
                     connections but does not answer, or is overloaded)",
                    );
                    if let Some(last) = &*inner
                        .last_connect_error
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                    {
                        cause.push_str(&format!("; the last connect error was: {last}"));
                    }
                    return Err(inner.timed_out(started, cause));
                }
            };
        *inner
            .last_connect_error
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        let connected = Instant::now();
        if info.mariadb {
            inner.mariadb.store(true, Ordering::Relaxed);
        }
        self.count_acquisition(started, connected);
        let mut conn = PooledConn::new(self, Box::new(raw), info, Open::new(&self.0), permit);
        conn.retire_at = inner.options.max_lifetime.map(|t| connected + t);
        conn.generation = generation;
        Ok(conn)
    }

    fn count_acquisition(&self, started: Instant, now: Instant) {
        let c = &self.0.counters;
        c.acquisitions.fetch_add(1, Ordering::Relaxed);
        let waited = now.saturating_duration_since(started);
        let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        c.acquire_nanos.fetch_add(nanos, Ordering::Relaxed);
        c.acquire_times.record(waited);
    }

    /// A snapshot of the pool's state and counters.
    pub(crate) fn metrics(&self) -> PoolMetrics {
        let c = &self.0.counters;
        let size = c.open.load(Ordering::Relaxed);
        let idle = self.idle_count() as u64;
        PoolMetrics {
            max_connections: self.0.options.max_connections,
            size,
            idle,
            in_use: size.saturating_sub(idle),
            waiting: c.waiting.load(Ordering::Relaxed),
            acquisitions: c.acquisitions.load(Ordering::Relaxed),
            acquire_time: Duration::from_nanos(c.acquire_nanos.load(Ordering::Relaxed)),
            acquire_times: c.acquire_times.snapshot(),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            queries: c.queries.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            operations: c.operations.snapshot(),
            errors_by_kind: c.error_kinds.snapshot(),
            retries: c.retries.load(Ordering::Relaxed),
            leaks: c.leaks.load(Ordering::Relaxed),
            cancels: c.cancels.load(Ordering::Relaxed),
        }
    }

    /// Closes idle connections and refuses further acquisitions.
    pub(crate) fn close(&self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.permits.close();
        self.0
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Connections checked out now (each holds a permit until it is back in
    /// the pool or closed): what least-connections balancing compares.
    pub(crate) fn in_use(&self) -> usize {
        (self.0.options.max_connections as usize).saturating_sub(self.0.permits.available_permits())
    }

    /// Connections open and not checked out.
    pub(crate) fn idle_count(&self) -> usize {
        self.0.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Counts a statement or transaction run again after a transient error.
    pub(crate) fn count_retry(&self) {
        self.0.counters.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Starts the pool's background task, if there is a runtime to run it:
    /// it closes expired idle connections, keeps `min_connections` open and
    /// reports leaks; it ends with the pool. Called once the pool's first
    /// connection is open, so that the two never race to open the minimum.
    pub(crate) fn start_maintenance(&self) {
        let o = &self.0.options;
        let wanted = o.min_connections > 0
            || o.idle_timeout.is_some()
            || o.max_lifetime.is_some()
            || o.leak_threshold.is_some();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !wanted {
            return;
        }
        let period = [o.idle_timeout, o.max_lifetime, o.leak_threshold]
            .into_iter()
            .flatten()
            .map(|d| d / 2)
            .chain([Duration::from_secs(30)])
            .min()
            .unwrap_or(Duration::from_secs(30))
            .max(Duration::from_millis(20));
        let pool = Arc::downgrade(&self.0);
        runtime.spawn(maintain(pool, period));
    }
}

/// The background task of one pool (see [`Pool::start_maintenance`]).
async fn maintain(pool: Weak<PoolInner>, period: Duration) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = pool.upgrade() else { return };
        if inner.closed.load(Ordering::Acquire) {
            return;
        }
        let now = Instant::now();
        // Expired idle connections close here rather than when next met:
        // past their lifetime always; past their idle timeout only above
        // the minimum (the minimum's are kept, their idle deadline lifted).
        let expired: Vec<Idle> = {
            let mut idle = inner.idle.lock().unwrap_or_else(|e| e.into_inner());
            let mut open = inner.counters.open.load(Ordering::Relaxed);
            let min = u64::from(inner.options.min_connections);
            let mut gone = Vec::new();
            let mut kept = Vec::with_capacity(idle.len());
            for mut i in idle.drain(..) {
                let retired = i.retire_at.is_some_and(|at| at <= now);
                let expired = i.expires_at.is_some_and(|at| at <= now);
                if retired || (expired && open > min) {
                    open = open.saturating_sub(1);
                    gone.push(i);
                } else {
                    if expired {
                        i.expires_at = i.retire_at;
                    }
                    kept.push(i);
                }
            }
            *idle = kept;
            gone
        };
        drop(expired);
        inner.report_leaks(now);
        // Refill to the minimum, one connection at a time, never past the
        // maximum (each new connection holds a permit while it opens);
        // connections callers are opening count already.
        while inner.counters.open.load(Ordering::Relaxed)
            + inner.counters.connecting.load(Ordering::Relaxed)
            < u64::from(inner.options.min_connections)
        {
            let Ok(permit) = inner.permits.clone().try_acquire_owned() else {
                break;
            };
            let opening = Waiting::new(&inner.counters.connecting);
            let opened = tokio::time::timeout(
                inner.options.acquire_timeout,
                RawConn::connect(&inner.connect),
            )
            .await;
            drop(opening);
            let Ok(Ok((raw, info))) = opened else {
                if let Ok(Err(e)) = opened {
                    *inner
                        .last_connect_error
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
                }
                break;
            };
            let mut conn = PooledConn::new(
                &Pool(inner.clone()),
                Box::new(raw),
                info,
                Open::new(&inner),
                permit,
            );
            conn.retire_at = inner.options.max_lifetime.map(|t| Instant::now() + t);
            conn.generation = inner.generation.load(Ordering::Relaxed);
            drop(conn);
        }
        drop(inner);
    }
}

impl PoolInner {
    /// Whether sessions last one transaction only (see
    /// [`Pooler::Transaction`]).
    pub(crate) fn transaction_pooler(&self) -> bool {
        self.connect.transaction_pooler()
    }

    fn pool_closed(&self) -> Error {
        Error::PoolClosed {
            connection: self.name.clone(),
        }
    }

    fn timed_out(&self, started: Instant, cause: String) -> Error {
        self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
        Error::PoolTimeout {
            connection: self.name.clone(),
            waited: started.elapsed(),
            cause: Some(cause),
        }
    }

    /// Reports, once each, the connections held past the leak threshold.
    fn report_leaks(&self, now: Instant) {
        let Some(threshold) = self.options.leak_threshold else {
            return;
        };
        let mut checkouts = self.checkouts.lock().unwrap_or_else(|e| e.into_inner());
        for c in checkouts.taken.values_mut() {
            let held = now.saturating_duration_since(c.at);
            if c.reported || held < threshold {
                continue;
            }
            c.reported = true;
            self.counters.leaks.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                target: "orm::pool",
                connection = %self.name,
                held_ms = held.as_millis() as u64,
                "a connection of `{}` has been held for {:?}, longer than the leak threshold of {:?} \
                 (a transaction or an operation that is never finished or dropped?); it was taken at:\n{}",
                self.name,
                held,
                threshold,
                caller_frames(&c.backtrace),
            );
        }
    }

    /// Sends a cancel request for the statement running in `session`, on a
    /// connection of its own, bounded by the acquire timeout. SQLite's
    /// statement is interrupted by its progress handler instead.
    pub(crate) async fn cancel(&self, session: &SessionInfo) {
        if let Some(deadline) = &session.deadline {
            deadline.expire();
            self.counters.cancels.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Some(id) = session.id else { return };
        let sql = match self.backend {
            // PostgreSQL 9.1 manual, "Server Signaling Functions".
            Backend::Postgres => format!("SELECT pg_cancel_backend({id})"),
            // MySQL manual, "KILL Statement".
            Backend::MySql => format!("KILL QUERY {id}"),
            Backend::Sqlite => return,
        };
        self.counters.cancels.fetch_add(1, Ordering::Relaxed);
        let sent = tokio::time::timeout(self.options.acquire_timeout, async {
            let mut control = self.control.lock().await;
            if control.is_none() {
                *control = Some(RawConn::connect(&self.connect).await?.0);
            }
            let Some(conn) = control.as_mut() else {
                return Ok(());
            };
            let outcome = conn.run_plain(&sql).await;
            if outcome.is_err() {
                *control = None;
            }
            outcome
        })
        .await;
        if !matches!(sent, Ok(Ok(()))) {
            tracing::debug!(target: "orm::pool", connection = %self.name, "a cancel request could not be sent");
        }
    }
}

/// The frames of `backtrace` in the caller's code: not the standard
/// library's, tokio's or this crate's.
fn caller_frames(backtrace: &Backtrace) -> String {
    let text = backtrace.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let symbol = line.trim_start().split_once(": ").map(|(_, s)| s);
        let Some(symbol) = symbol else { continue };
        let foreign = [
            "std::", "core::", "tokio::", "orm::", "<orm::", "alloc::", "futures_", "<core::",
            "<std::", "<tokio::", "<alloc::", "__rust", "<F as ", "<T as ",
        ]
        .iter()
        .any(|p| symbol.starts_with(p));
        if foreign {
            continue;
        }
        out.push(symbol.to_owned());
        if let Some(at) = lines
            .get(i + 1)
            .filter(|l| l.trim_start().starts_with("at "))
        {
            out.push(format!("    {}", at.trim()));
        }
        if out.len() >= 8 {
            break;
        }
    }
    if out.is_empty() {
        text
    } else {
        out.join("\n")
    }
}

/// A connection checked out of a pool; it goes back when dropped.
pub struct PooledConn {
    raw: Option<Box<RawConn>>,
    pub(crate) info: SessionInfo,
    open: Option<Open>,
    /// Set while a statement is in flight: a guard dropped in that state is
    /// closed (after a cancel request), never reused.
    pub(crate) busy: bool,
    /// Set when the connection must not be reused: it broke, or the
    /// server's transaction state is no longer what the driver believes.
    pub(crate) broken: bool,
    /// Set when the connection must be closed when released, though it
    /// still works now (a read-only connection that ran raw SQL).
    pub(crate) retire: bool,
    retire_at: Option<Instant>,
    generation: u64,
    /// The transaction in progress, as this crate tracks it.
    pub(crate) tx: TxState,
    /// Through a transaction pooler: the server process of the
    /// transaction in progress (the session's is of no use: the next
    /// transaction may run on another).
    pub(crate) server_pid: Option<u64>,
    /// Through a transaction pooler: a statement's own transaction is
    /// open (see `needs_own_transaction`); dropped in this state, the
    /// connection is closed as if it were mid-statement.
    pub(crate) own_transaction: bool,
    checkout: Option<u64>,
    pub(crate) pool: Arc<PoolInner>,
    /// Held until the connection is back in the pool or closed: a
    /// connection being rolled back or cancelled in the background still
    /// counts against `max_connections`.
    permit: Option<OwnedSemaphorePermit>,
    /// The code the database sent with the last statement's error, if any.
    pub(crate) status_code: Option<StatusCode>,
    /// How long the last statement took, from sending it to reading its
    /// last row (zero if it was refused before it was sent).
    pub(crate) statement_time: Duration,
}

impl PooledConn {
    fn new(
        pool: &Pool,
        raw: Box<RawConn>,
        info: SessionInfo,
        open: Open,
        permit: OwnedSemaphorePermit,
    ) -> PooledConn {
        let checkout = pool.0.options.leak_threshold.map(|_| {
            let mut c = pool.0.checkouts.lock().unwrap_or_else(|e| e.into_inner());
            c.next += 1;
            let id = c.next;
            c.taken.insert(
                id,
                Checkout {
                    at: Instant::now(),
                    backtrace: Backtrace::force_capture(),
                    reported: false,
                },
            );
            id
        });
        PooledConn {
            raw: Some(raw),
            info,
            open: Some(open),
            busy: false,
            broken: false,
            retire: false,
            retire_at: None,
            generation: 0,
            tx: TxState::default(),
            server_pid: None,
            own_transaction: false,
            checkout,
            pool: pool.0.clone(),
            permit: Some(permit),
            status_code: None,
            statement_time: Duration::ZERO,
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        self.pool.backend
    }

    pub(crate) fn connection_name(&self) -> &str {
        &self.pool.name
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.pool.counters
    }

    /// Whether the connection opens read-only sessions.
    pub(crate) fn read_only(&self) -> bool {
        self.pool.read_only
    }

    /// The session a cancel request for the running statement names:
    /// through a transaction pooler, the server process of the transaction
    /// in progress (none is known outside one).
    pub(crate) fn cancel_target(&self) -> SessionInfo {
        let mut info = self.info.clone();
        if self.pool.transaction_pooler() {
            info.id = self.server_pid;
        }
        info
    }

    pub(crate) fn raw(&mut self) -> &mut RawConn {
        // `raw` is only taken in `drop`.
        self.raw.as_mut().expect("connection used after release")
    }

    /// Closes the connection instead of returning it to the pool.
    pub(crate) fn discard(&mut self) {
        self.broken = true;
    }

    /// Drops the connection's prepared statements, then records `generation`.
    async fn clear_statement_cache(&mut self, generation: u64) -> Result<()> {
        self.busy = true;
        let cleared = self.raw().clear_cached_statements().await;
        self.busy = false;
        match cleared {
            Ok(()) => {
                self.generation = generation;
                Ok(())
            }
            Err(source) => {
                self.broken = true;
                Err(Error::ConnectionLost {
                    connection: self.pool.name.clone(),
                    source,
                })
            }
        }
    }

    /// Makes every connection of the pool, this one included, drop its
    /// prepared statements before it is next taken from the pool: a schema
    /// change can make them wrong (PostgreSQL "cached plan must not change
    /// result type").
    pub(crate) fn schema_changed(&self) {
        self.pool.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops this connection's prepared statements now and every other
    /// connection's before its next use.
    pub(crate) async fn clear_all_statement_caches(&mut self) -> Result<()> {
        let generation = self.pool.generation.fetch_add(1, Ordering::Relaxed) + 1;
        self.clear_statement_cache(generation).await
    }
}

impl Drop for PooledConn {
    fn drop(&mut self) {
        if let Some(id) = self.checkout.take() {
            self.pool
                .checkouts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .taken
                .remove(&id);
        }
        let (Some(raw), Some(open)) = (self.raw.take(), self.open.take()) else {
            return;
        };
        let pool = self.pool.clone();
        let tx = std::mem::take(&mut self.tx);
        let back = Back {
            info: self.cancel_target(),
            open,
            retire_at: self.retire_at,
            generation: self.generation,
            restore: tx.restore.clone(),
            permit: self.permit.take(),
        };
        if (self.busy || self.own_transaction) && !pool.connect.is_memory() {
            // A statement is in flight (its future was dropped): stop it on
            // the server, then close the connection.
            abandon(pool, raw, back);
            return;
        }
        if self.busy {
            // The one connection of an in-memory SQLite database holds the
            // database itself: interrupt the statement and keep it.
            if let Some(deadline) = &back.info.deadline {
                deadline.expire();
            }
            release_after_rollback(pool, raw, back);
            return;
        }
        if self.broken || pool.closed.load(Ordering::Acquire) {
            return;
        }
        if self.retire {
            // Closed: the server rolls back whatever the session still had
            // open when its socket closes.
            return;
        }
        if raw.transaction_depth() > 0 || back.restore.is_some() {
            if tx.ended_by_server() {
                // The server already rolled the transaction back; the
                // driver still counts it: never reuse such a connection.
                return;
            }
            // Dropped inside a transaction (an error returned early, a
            // panic, a cancelled future between statements): roll back now,
            // so that its locks are released promptly, then return it.
            release_after_rollback(pool, raw, back);
            return;
        }
        put_back(&pool, raw, back);
    }
}

/// What a released connection keeps besides the driver connection.
struct Back {
    info: SessionInfo,
    open: Open,
    retire_at: Option<Instant>,
    generation: u64,
    /// Session settings to put back first (a transaction's, MySQL and SQLite).
    restore: Option<String>,
    /// The pool's permit, released when the connection is back or closed.
    permit: Option<OwnedSemaphorePermit>,
}

/// Returns an idle connection to the pool, unless it is past its lifetime.
fn put_back(pool: &Arc<PoolInner>, raw: Box<RawConn>, back: Back) {
    let now = Instant::now();
    if back.retire_at.is_some_and(|at| at <= now) || pool.closed.load(Ordering::Acquire) {
        return;
    }
    let idle_deadline = pool.options.idle_timeout.map(|t| now + t);
    let expires_at = match (idle_deadline, back.retire_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    pool.idle
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Idle {
            raw,
            info: back.info,
            retire_at: back.retire_at,
            expires_at,
            generation: back.generation,
            _open: back.open,
        });
    // The permit goes after the connection is in the idle list, so that the
    // caller it wakes finds it there.
    drop(back.permit);
}

/// A connection dropped inside a transaction: the rollback is sent now, by
/// a task of its own, and the connection goes back once it is done (or is
/// closed if it fails). SQLite's worker thread runs a queued rollback at
/// once. Without a runtime the connection is closed, which makes the
/// server roll back.
fn release_after_rollback(pool: Arc<PoolInner>, mut raw: Box<RawConn>, back: Back) {
    if pool.backend == Backend::Sqlite && back.restore.is_none() {
        raw.start_rollback_all();
        put_back(&pool, raw, back);
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        if pool.connect.is_memory() {
            raw.start_rollback_all();
            put_back(&pool, raw, back);
        }
        return;
    };
    let limit = pool.options.acquire_timeout;
    runtime.spawn(async move {
        let cleaned = tokio::time::timeout(limit, async {
            raw.rollback_all().await?;
            if let Some(restore) = &back.restore {
                raw.run_plain(restore).await?;
            }
            Ok::<(), sqlx::Error>(())
        })
        .await;
        if matches!(cleaned, Ok(Ok(()))) {
            put_back(&pool, raw, back);
        }
    });
}

/// A connection dropped mid-statement: a cancel request for the statement,
/// then the connection is closed. Without a runtime it is closed at once
/// (SQLite's statement is still interrupted).
fn abandon(pool: Arc<PoolInner>, raw: Box<RawConn>, back: Back) {
    if let Some(deadline) = &back.info.deadline {
        deadline.expire();
        pool.counters.cancels.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    // Counted (open, and against the maximum) until it is closed.
    runtime.spawn(async move {
        pool.cancel(&back.info).await;
        drop(raw);
        drop(back);
    });
}
