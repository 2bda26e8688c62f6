//! Connection pools owned by the crate.
//!
//! A [`Database`](crate::Database) keeps one pool per named connection. The
//! pool hands out [`PooledConn`] guards that go back on drop. Unlike sqlx's
//! own pool it sends nothing when a connection is taken out or put back: a
//! guard is marked *busy* while a statement or transaction is in flight, and
//! a guard dropped while busy (its future was cancelled mid-query) or after a
//! connection error is closed instead of being handed to the next caller.
//! Connections past their idle timeout or lifetime are closed when met.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::backend::Backend;
use crate::conn::{ConnectOptions, RawConn};
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
    raw: RawConn,
    created: Instant,
    since: Instant,
}

pub(crate) struct PoolInner {
    pub(crate) name: String,
    pub(crate) backend: Backend,
    connect: ConnectOptions,
    options: PoolOptions,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Idle>>,
    closed: AtomicBool,
}

/// The pool of one named connection. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Pool(Arc<PoolInner>);

impl Pool {
    pub(crate) fn new(name: &str, connect: ConnectOptions, mut options: PoolOptions) -> Pool {
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
        }))
    }

    pub(crate) fn name(&self) -> &str {
        &self.0.name
    }

    pub(crate) fn backend(&self) -> Backend {
        self.0.backend
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
        let permit = match tokio::time::timeout(
            inner.options.acquire_timeout,
            inner.permits.clone().acquire_owned(),
        )
        .await
        {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => {
                return Err(Error::PoolClosed {
                    connection: inner.name.clone(),
                })
            }
            Err(_) => {
                return Err(Error::PoolTimeout {
                    connection: inner.name.clone(),
                    waited: started.elapsed(),
                    cause: None,
                })
            }
        };
        let now = Instant::now();
        loop {
            let idle = inner.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some(idle) = idle else { break };
            if self.expired(idle.created, idle.since, now) {
                drop(idle.raw);
                continue;
            }
            return Ok(PooledConn {
                raw: Some(idle.raw),
                created: idle.created,
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
        Ok(PooledConn {
            raw: Some(raw),
            created: Instant::now(),
            busy: false,
            pool: self.0.clone(),
            _permit: permit,
        })
    }

    fn expired(&self, created: Instant, since: Instant, now: Instant) -> bool {
        let o = &self.0.options;
        o.idle_timeout.is_some_and(|t| now - since >= t)
            || o.max_lifetime.is_some_and(|t| now - created >= t)
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
    raw: Option<RawConn>,
    created: Instant,
    /// Set while a statement or transaction is in flight: a guard dropped in
    /// that state is closed, never reused.
    pub(crate) busy: bool,
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
        let Some(raw) = self.raw.take() else { return };
        if self.busy || self.pool.closed.load(Ordering::Acquire) {
            return;
        }
        let now = Instant::now();
        if self
            .pool
            .options
            .max_lifetime
            .is_some_and(|t| now - self.created >= t)
        {
            return;
        }
        self.pool
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Idle {
                raw,
                created: self.created,
                since: now,
            });
    }
}
