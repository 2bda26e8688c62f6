//! The query cache's store shared by several processes: Redis (feature
//! `redis`).
//!
//! Every process that points at the same Redis and namespace shares the
//! cached results and, what matters more, the table versions: a write
//! committed through one process bumps the version of its tables in Redis,
//! and every process's next lookup of a result that read one of them misses.
//!
//! What is kept in Redis, and how Redis must be configured: [`RedisOptions`].
//!
//! Every command is bounded by [`RedisOptions::response_timeout`]: a Redis
//! that is down, unreachable or stalled makes the command fail with
//! [`Error::Cache`] within that time, and the cache layer then reads from
//! the database. The connection is re-established by the `redis` crate's
//! connection manager, on the first command after it was lost.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};

use super::store::{BoxFuture, Store, StoreUsage};
use super::CacheOptions;
use crate::connection::connect::redact;
use crate::{Error, Result};

/// The namespace used when none is given.
const DEFAULT_NAMESPACE: &str = "orm";
/// The response timeout used when none is given.
const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// The `backend` of the errors this store returns.
const BACKEND: &str = "redis";

/// Where the query cache keeps its entries when they are shared by several
/// processes: a Redis server (feature `redis`), its key namespace, and how
/// long a command may wait for Redis. Given to
/// [`CacheOptions::redis`](crate::CacheOptions::redis).
///
/// What is kept in Redis, under the namespace `{ns}` ([`namespace`](Self::namespace)):
///
/// | key | value | written by |
/// | --- | --- | --- |
/// | `{ns}:v:{connection}:{table}` | the table's version, an integer (missing: 0) | `INCR`, never expires; `{connection}` is the connection's name and where its database lives (`db/127.0.0.1:5432/shop`) |
/// | `{ns}:e:{sha256}` | an encoded result | `SET ... PX {ttl}` |
///
/// where `{sha256}` is the lower-case hex SHA-256 of the cache key (which
/// holds the connection name, the SQL, the bound values and the versions of
/// the tables read): a key of fixed length, however long the SQL.
///
/// Version keys have no expiry, and must not be evicted: a version that
/// went back to 0 could make a result stored before the first bump
/// reachable again. Run the Redis with `maxmemory-policy` `noeviction` or
/// one of the `volatile-*` policies, which evict only keys with an expiry
/// (the results); Redis manual, "Key eviction".
///
/// ```
/// use std::time::Duration;
///
/// let options = orm::RedisOptions::new("redis://:secret@127.0.0.1:6379/0")
///     .namespace("shop")
///     .response_timeout(Duration::from_millis(250));
/// // The password never shows in messages.
/// assert!(!format!("{options:?}").contains("secret"));
/// ```
#[derive(Clone)]
pub struct RedisOptions {
    url: String,
    namespace: String,
    response_timeout: Duration,
}

impl RedisOptions {
    /// Options for the Redis server at `url`, with the namespace `orm` and
    /// a response timeout of 1 s.
    ///
    /// `url` is a `redis://[[user]:password@]host[:port][/db]` URL (or
    /// `redis+unix:///path`), as the `redis` crate reads it; TLS
    /// (`rediss://`) is not compiled in. A URL it cannot read is refused
    /// when the cache connects, with [`Error::Cache`].
    pub fn new(url: impl Into<String>) -> RedisOptions {
        RedisOptions {
            url: url.into(),
            namespace: DEFAULT_NAMESPACE.to_owned(),
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
        }
    }

    /// The prefix of every key this cache writes (default `orm`), so that
    /// applications sharing one Redis do not see each other's entries or
    /// versions. Processes that must see each other's invalidations use the
    /// same namespace. An empty namespace is refused when the cache
    /// connects, with [`Error::Cache`].
    pub fn namespace(mut self, namespace: impl Into<String>) -> RedisOptions {
        self.namespace = namespace.into();
        self
    }

    /// The longest a command (and connecting, and reconnecting) may wait
    /// for Redis (default 1 s); past it the command fails with
    /// [`Error::Cache`] and the query reads from the database. Zero is
    /// refused when the cache connects, with [`Error::Cache`].
    pub fn response_timeout(mut self, timeout: Duration) -> RedisOptions {
        self.response_timeout = timeout;
        self
    }
}

impl fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOptions")
            .field("url", &redact(&self.url))
            .field("namespace", &self.namespace)
            .field("response_timeout", &self.response_timeout)
            .finish()
    }
}

impl CacheOptions {
    /// Keeps the query cache in the Redis of `options` instead of this
    /// process's memory, so that every process using the same Redis and
    /// namespace shares the cached results and sees the others'
    /// invalidations at once (feature `redis`).
    ///
    /// Redis is connected when the database is built
    /// ([`DatabaseBuilder::build`](crate::DatabaseBuilder::build)), which
    /// fails with [`Error::Cache`] if the URL cannot be read or Redis does
    /// not answer within the response timeout. Later, a Redis that is down
    /// or slow fails no read: each read that cannot reach it within the
    /// response timeout goes to the database, and the error is counted in
    /// [`CacheMetrics::errors`](crate::CacheMetrics::errors). A write whose
    /// invalidation cannot reach Redis is stored all the same; this process
    /// then reads that connection without the cache, and invalidates the
    /// whole connection once Redis answers again. Other processes that
    /// still reach Redis learn nothing of that write until then: they may
    /// serve entries it made stale, for up to their TTL.
    /// [`max_bytes`](Self::max_bytes) does not apply: Redis's own
    /// `maxmemory` bounds it (see the [`RedisOptions`] notes on eviction),
    /// and [`CacheMetrics`](crate::CacheMetrics)'s `entries` and `bytes`
    /// stay 0.
    ///
    /// ```
    /// # async fn demo() -> orm::Result<()> {
    /// let db = orm::Database::builder()
    ///     .connection("db", "sqlite::memory:")
    ///     .cache(orm::CacheOptions::new().redis(orm::RedisOptions::new("redis://127.0.0.1:6379/")))
    ///     .build()
    ///     .await?;
    /// # let _ = db; Ok(()) }
    /// ```
    pub fn redis(mut self, options: RedisOptions) -> CacheOptions {
        self.redis = Some(options);
        self
    }
}

/// `options` with its Redis store connected, if it names one.
pub(crate) async fn connect_store(mut options: CacheOptions) -> Result<CacheOptions> {
    match options.redis.take() {
        Some(redis) => Ok(options.store(BACKEND, Arc::new(connect(redis).await?))),
        None => Ok(options),
    }
}

/// The query cache's store in Redis; see the [module docs](self).
pub(crate) struct RedisStore {
    /// Cheap to clone: one multiplexed connection, re-established on its own.
    manager: ConnectionManager,
    namespace: String,
    /// The URL with its password replaced, for messages.
    url: String,
    timeout: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the manager: its client would print the password.
        f.debug_struct("RedisStore")
            .field("url", &self.url)
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Connects to the Redis of `options`, within its response timeout.
///
/// Errors: [`Error::Cache`] when the URL cannot be read, the namespace is
/// empty, the timeout is zero, or Redis cannot be reached (refused, or no
/// answer within the timeout); the message names the URL (password
/// removed) and what happened.
pub(crate) async fn connect(options: RedisOptions) -> Result<RedisStore> {
    let url = redact(&options.url);
    let fail = |message: String| Error::Cache {
        backend: BACKEND,
        message: format!("{url}: {message}"),
    };
    if options.namespace.is_empty() {
        return Err(fail("the namespace is empty".into()));
    }
    if options.response_timeout.is_zero() {
        return Err(fail("the response timeout is zero".into()));
    }
    let client = redis::Client::open(options.url.as_str())
        .map_err(|e| fail(format!("invalid Redis URL: {e}")))?;
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(options.response_timeout))
        .set_connection_timeout(Some(options.response_timeout))
        // No retries inside one attempt: a command must not wait through a
        // series of backoffs. After a failure the manager tries again on
        // the next command, one attempt at a time.
        .set_number_of_retries(0);
    let manager = bounded(
        options.response_timeout,
        ConnectionManager::new_with_config(client, config),
    )
    .await
    .map_err(|e| {
        fail(format!(
            "cannot connect: {}",
            e.describe(options.response_timeout)
        ))
    })?;
    Ok(RedisStore {
        manager,
        namespace: options.namespace,
        url,
        timeout: options.response_timeout,
    })
}

/// Why a command failed: Redis answered with an error or the connection
/// failed, or no answer came in time.
enum Failure {
    Redis(redis::RedisError),
    TimedOut,
}

impl Failure {
    fn describe(&self, timeout: Duration) -> String {
        match self {
            Failure::Redis(e) if e.is_timeout() => format!("no answer within {timeout:?}"),
            Failure::Redis(e) => e.to_string(),
            Failure::TimedOut => format!("no answer within {timeout:?}"),
        }
    }
}

/// `fut`, cut off after `timeout`. The connection manager bounds each
/// command and connection attempt itself; this also bounds waiting for a
/// reconnection in progress.
async fn bounded<T>(
    timeout: Duration,
    fut: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Failure::Redis(e)),
        Err(_) => Err(Failure::TimedOut),
    }
}

impl RedisStore {
    /// Runs `command` (named `what` in errors) on the connection, within
    /// the response timeout.
    async fn run<T, F>(&self, what: &str, command: impl FnOnce(ConnectionManager) -> F) -> Result<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        bounded(self.timeout, command(self.manager.clone()))
            .await
            .map_err(|e| Error::Cache {
                backend: BACKEND,
                message: format!("{}: {what} failed: {}", self.url, e.describe(self.timeout)),
            })
    }

    /// The key of the version of `table` of `connection`. Names holding
    /// `:` could make two pairs share a key; they would then share their
    /// version, which invalidates more, never less.
    fn version_key(&self, connection: &str, table: &str) -> String {
        format!("{}:v:{connection}:{table}", self.namespace)
    }

    /// The key of the entry stored under the cache key `key`.
    fn entry_key(&self, key: &[u8]) -> String {
        format!("{}:e:{:x}", self.namespace, Sha256::digest(key))
    }
}

/// `ttl` in whole milliseconds for `SET ... PX`: rounded up (Redis refuses
/// 0), and capped far below the largest expiry Redis accepts.
fn ttl_millis(ttl: Duration) -> u64 {
    const MAX: u64 = i64::MAX as u64 / 2;
    let millis = ttl.as_nanos().div_ceil(1_000_000);
    u64::try_from(millis).unwrap_or(MAX).clamp(1, MAX)
}

impl Store for RedisStore {
    /// One `MGET` of the version keys; a missing key is version 0
    /// (Redis commands, MGET: "nil" for a key that does not exist).
    fn versions<'a>(
        &'a self,
        connection: &'a str,
        tables: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<u64>>> {
        Box::pin(async move {
            if tables.is_empty() {
                return Ok(Vec::new());
            }
            let keys: Vec<String> = tables
                .iter()
                .map(|table| self.version_key(connection, table))
                .collect();
            let versions: Vec<Option<u64>> = self
                .run("MGET", |mut c| async move {
                    redis::cmd("MGET").arg(&keys).query_async(&mut c).await
                })
                .await?;
            Ok(versions
                .into_iter()
                .map(Option::unwrap_or_default)
                .collect())
        })
    }

    /// `GET` of the entry key.
    fn get<'a>(&'a self, key: &'a [u8]) -> BoxFuture<'a, Result<Option<Arc<[u8]>>>> {
        Box::pin(async move {
            let key = self.entry_key(key);
            let value: Option<Vec<u8>> = self
                .run("GET", |mut c| async move {
                    redis::cmd("GET").arg(&key).query_async(&mut c).await
                })
                .await?;
            Ok(value.map(Arc::from))
        })
    }

    /// `SET key value PX ttl` (Redis commands, SET: `PX` is the expiry in
    /// milliseconds); `ttl` rounded up to a whole millisecond.
    fn put<'a>(
        &'a self,
        key: &'a [u8],
        value: Arc<[u8]>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let key = self.entry_key(key);
            let millis = ttl_millis(ttl);
            self.run("SET PX", |mut c| async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(&*value)
                    .arg("PX")
                    .arg(millis)
                    .query_async(&mut c)
                    .await
            })
            .await
        })
    }

    /// `INCR` of each version key in one `MULTI`/`EXEC` transaction (Redis
    /// commands, INCR: a missing key counts as 0; Redis manual,
    /// "Transactions": all or none are applied, and no other client's
    /// command runs in between).
    fn invalidate<'a>(
        &'a self,
        connection: &'a str,
        tables: &'a [&'a str],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if tables.is_empty() {
                return Ok(());
            }
            let mut pipe = redis::pipe();
            pipe.atomic();
            for table in tables {
                pipe.incr(self.version_key(connection, table), 1).ignore();
            }
            self.run("MULTI/EXEC of INCR", |mut c| async move {
                pipe.query_async(&mut c).await
            })
            .await
        })
    }

    /// Unknown (`None`): Redis holds the entries of every process, with
    /// their own expiry, and counting one namespace's keys takes a scan of
    /// the whole keyspace.
    fn usage(&self) -> StoreUsage {
        StoreUsage::default()
    }
}

#[cfg(test)]
mod tests;
