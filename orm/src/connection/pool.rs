//! Connection pools owned by the crate.
//!
//! A [`Database`](crate::Database) keeps one pool per named connection. The
//! pool hands out [`PooledConn`] guards that go back on drop. Unlike sqlx's
//! own pool it sends nothing when a connection is taken out or put back: a
//! guard is marked *busy* while a statement or transaction is in flight, and
//! a guard dropped while busy (its future was cancelled mid-query) or after a
//! connection error is closed instead of being handed to the next caller.
//! Connections past their idle timeout or lifetime are closed when met.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::connect::{ConnectOptions, RawConn};
use crate::backend::Backend;
use crate::error::{Error, Result};

/// Size and timeouts of one connection's pool.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    pub(crate) max_connections: u32,
    pub(crate) acquire_timeout: Duration,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_lifetime: Option<Duration>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
        }
    }
}

impl PoolOptions {
    /// The defaults: 10 connections, 30 s acquire timeout, 10 min idle timeout, 30 min lifetime.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most connections open at once (at least 1).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long a caller waits for a free connection before [`Error::PoolTimeout`].
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Close connections left unused this long (`None`: never).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Close connections this old when they are next released (`None`: never).
    pub fn max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.max_lifetime = lifetime;
        self
    }
}

struct Idle {
    // Boxed: a driver connection is large, and it moves in and out of the
    // idle list on every acquisition.
    raw: Box<RawConn>,
    /// When the connection reaches its lifetime, if it has one.
    retire_at: Option<Instant>,
    /// When it is closed unless taken first: the idle timeout or the
    /// lifetime, whichever comes first. Deadlines are computed when a
    /// connection is put back, so taking one costs a comparison.
    expires_at: Option<Instant>,
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
}

/// Counts one open connection for as long as it lives.
struct Open(Arc<PoolInner>);

impl Open {
    fn new(pool: &Arc<PoolInner>) -> Open {
        pool.counters.open.fetch_add(1, Ordering::Relaxed);
        Open(pool.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.counters.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A snapshot of one connection's pool, from [`Database::metrics`](crate::Database::metrics).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolMetrics {
    /// The most connections the pool opens.
    pub max_connections: u32,
    /// Connections open now (idle and in use).
    pub size: u64,
    /// Open connections waiting in the pool.
    pub idle: u64,
    /// Connections checked out now.
    pub in_use: u64,
    /// Callers waiting for a connection now.
    pub waiting: u64,
    /// Connections handed out since start.
    pub acquisitions: u64,
    /// Total time callers spent waiting for a connection (including connecting).
    pub acquire_time: Duration,
    /// Acquisitions that gave up after the acquire timeout.
    pub timeouts: u64,
    /// Statements run.
    pub queries: u64,
    /// Statements that failed.
    pub errors: u64,
}

pub(crate) struct PoolInner {
    pub(crate) name: String,
    pub(crate) backend: Backend,
    connect: ConnectOptions,
    options: PoolOptions,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Idle>>,
    closed: AtomicBool,
    pub(crate) counters: Counters,
    read_only: bool,
}

/// The pool of one named connection. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Pool(Arc<PoolInner>);

impl Pool {
    pub(crate) fn new(
        name: &str,
        connect: ConnectOptions,
        mut options: PoolOptions,
        read_only: bool,
    ) -> Pool {
        if connect.is_memory() {
            // Every connection to `sqlite::memory:` is a separate, empty
            // database: keep exactly one, forever.
            options.max_connections = 1;
            options.idle_timeout = None;
            options.max_lifetime = None;
        }
        Pool(Arc::new(PoolInner {
            name: name.to_owned(),
            backend: connect.backend(),
            permits: Arc::new(Semaphore::new(options.max_connections as usize)),
            connect,
            options,
            idle: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            counters: Counters::default(),
            read_only,
        }))
    }

    pub(crate) fn name(&self) -> &str {
        &self.0.name
    }

    pub(crate) fn backend(&self) -> Backend {
        self.0.backend
    }

    pub(crate) fn read_only(&self) -> bool {
        self.0.read_only
    }

    /// Takes an idle connection or opens a new one, waiting at most the acquire timeout.
    pub(crate) async fn acquire(&self) -> Result<PooledConn> {
        let inner = &self.0;
        if inner.closed.load(Ordering::Acquire) {
            return Err(Error::PoolClosed {
                connection: inner.name.clone(),
            });
        }
        let started = Instant::now();
        let counters = &inner.counters;
        // Fast path: a free permit, without arming a timer.
        let permit = match inner.permits.clone().try_acquire_owned() {
            Ok(permit) => Ok(Ok(permit)),
            Err(tokio::sync::TryAcquireError::Closed) => Ok(Err(())),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                counters.waiting.fetch_add(1, Ordering::Relaxed);
                let waited = tokio::time::timeout(
                    inner.options.acquire_timeout,
                    inner.permits.clone().acquire_owned(),
                )
                .await
                .map(|r| r.map_err(drop));
                counters.waiting.fetch_sub(1, Ordering::Relaxed);
                waited
            }
        };
        let permit = match permit {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => {
                return Err(Error::PoolClosed {
                    connection: inner.name.clone(),
                })
            }
            Err(_) => {
                counters.timeouts.fetch_add(1, Ordering::Relaxed);
                return Err(Error::PoolTimeout {
                    connection: inner.name.clone(),
                    waited: started.elapsed(),
                    cause: None,
                });
            }
        };
        let now = Instant::now();
        loop {
            let idle = inner.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some(idle) = idle else { break };
            if idle.expires_at.is_some_and(|at| at <= now) {
                continue;
            }
            self.count_acquisition(started, now);
            return Ok(PooledConn {
                raw: Some(idle.raw),
                open: Some(idle._open),
                retire_at: idle.retire_at,
                busy: false,
                pool: self.0.clone(),
                _permit: permit,
            });
        }
        let raw =
            RawConn::connect(&inner.connect)
                .await
                .map_err(|source| Error::ConnectionLost {
                    connection: inner.name.clone(),
                    source,
                })?;
        let connected = Instant::now();
        self.count_acquisition(started, connected);
        Ok(PooledConn {
            raw: Some(Box::new(raw)),
            open: Some(Open::new(&self.0)),
            retire_at: inner.options.max_lifetime.map(|t| connected + t),
            busy: false,
            pool: self.0.clone(),
            _permit: permit,
        })
    }

    fn count_acquisition(&self, started: Instant, now: Instant) {
        let c = &self.0.counters;
        c.acquisitions.fetch_add(1, Ordering::Relaxed);
        let nanos =
            u64::try_from(now.saturating_duration_since(started).as_nanos()).unwrap_or(u64::MAX);
        c.acquire_nanos.fetch_add(nanos, Ordering::Relaxed);
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
            timeouts: c.timeouts.load(Ordering::Relaxed),
            queries: c.queries.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
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

    /// Connections open and not checked out.
    pub(crate) fn idle_count(&self) -> usize {
        self.0.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// A connection checked out of a pool; it goes back when dropped.
pub struct PooledConn {
    raw: Option<Box<RawConn>>,
    open: Option<Open>,
    /// Set while a statement or transaction is in flight: a guard dropped in
    /// that state is closed, never reused.
    pub(crate) busy: bool,
    retire_at: Option<Instant>,
    pool: Arc<PoolInner>,
    _permit: OwnedSemaphorePermit,
}

impl PooledConn {
    pub(crate) fn backend(&self) -> Backend {
        self.pool.backend
    }

    pub(crate) fn connection_name(&self) -> &str {
        &self.pool.name
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.pool.counters
    }

    pub(crate) fn raw(&mut self) -> &mut RawConn {
        // `raw` is only taken in `drop`.
        self.raw.as_mut().expect("connection used after release")
    }

    /// Closes the connection instead of returning it to the pool.
    pub(crate) fn discard(&mut self) {
        self.busy = true;
    }
}

impl Drop for PooledConn {
    fn drop(&mut self) {
        let (Some(raw), Some(open)) = (self.raw.take(), self.open.take()) else {
            return;
        };
        if self.busy || self.pool.closed.load(Ordering::Acquire) {
            return;
        }
        let now = Instant::now();
        if self.retire_at.is_some_and(|at| at <= now) {
            return;
        }
        let idle_deadline = self.pool.options.idle_timeout.map(|t| now + t);
        let expires_at = match (idle_deadline, self.retire_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.pool
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Idle {
                raw,
                retire_at: self.retire_at,
                expires_at,
                _open: open,
            });
    }
}
