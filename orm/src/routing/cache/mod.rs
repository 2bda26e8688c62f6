//! The query cache: results of reads kept by their SQL and bound values,
//! never served once the call that wrote a table they read (through the
//! ORM) has returned, or its transaction's commit has. In the moment
//! between the database storing a write and the write's call bumping the
//! versions, another task's hit may still return the old result.
//!
//! Opt-in per query ([`Select::cached`](crate::Select::cached),
//! [`cached_for`](crate::Select::cached_for)), per model for lookups by key
//! (`#[orm::model(cache(ttl = 60))]`: `find` and `get`), and per raw read
//! that names its tables ([`Raw::tables`](crate::Raw::tables), then
//! [`cached`](crate::Raw::cached)).
//!
//! A key is the connection's name, the SQL text, every bound value, and the
//! current *version* of each table the read reads (its model, its joins, its
//! subqueries and CTEs) and of the connection's schema. A write through the
//! ORM bumps its tables' versions when it is stored: at once outside a
//! transaction, after the outermost commit inside one (a rollback bumps
//! nothing). A bumped version makes every entry that read the table
//! unreachable; the entries themselves age out (TTL, size bound). Versions
//! are read *before* the query runs, so a read that began before a commit
//! and stores its result after it stores it under the old versions, where
//! no later read looks. A migration bumps the schema version: every entry
//! of the connection goes.
//!
//! Not covered: writes that do not pass through the ORM (another program,
//! `psql`, a trigger, raw SQL that does not name its tables) invalidate
//! nothing; such entries are served until their TTL passes.
//!
//! Reads inside a transaction never use the cache (their snapshot may hold
//! the transaction's own uncommitted writes). Cached reads on a connection
//! with replicas send their misses to the primary, so what is cached is
//! committed data, never a lagging replica's.
//!
//! Concurrent misses of one key in one process run the query once; the
//! others wait for its result. If that query fails, its caller gets the
//! error and each waiter runs the query itself. A store that fails (Redis
//! down) is never the read's failure: the error is counted
//! ([`CacheMetrics::errors`]), logged once, and the read goes to the
//! database.

pub(crate) mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;
pub(crate) mod store;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use sqlx::SqlStr;

use self::store::Store;
use super::consistency::HandleState;
use super::database::{Connection, Database};
use super::session::{CallOptions, Operation, Session};
use crate::backend::Backend;
use crate::connection::driver::Args;
use crate::error::{Error, Result};

/// The pseudo-table whose version every key of a connection includes: a
/// migration bumps it, and with it every entry of the connection.
pub(crate) const SCHEMA_TABLE: &str = "*";

/// Results a cached read can return: encoded with serde into MessagePack
/// for the store. Implemented for every type that is `Serialize` and
/// `Deserialize`: derive both on a model (or a selected tuple's types) to
/// cache it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be cached",
    label = "cached results must be `serde::Serialize` and `serde::Deserialize`",
    note = "derive `serde::Serialize` and `serde::Deserialize` for `{Self}` to cache it"
)]
pub trait Cacheable: serde::Serialize + serde::de::DeserializeOwned + Send + 'static {}

// Not recommended: a type missing both serde derives is then reported once,
// as not `Cacheable` (whose message names both), not once for each derive.
#[diagnostic::do_not_recommend]
impl<T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static> Cacheable for T {}

/// Options of a [`Database`](crate::Database)'s query cache; see
/// [`DatabaseBuilder::cache`](crate::DatabaseBuilder::cache).
///
/// ```
/// use std::time::Duration;
/// let options = orm::CacheOptions::new()
///     .max_bytes(16 << 20)
///     .default_ttl(Duration::from_secs(30));
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct CacheOptions {
    pub(crate) max_bytes: u64,
    pub(crate) default_ttl: Duration,
    /// The store, when not the in-process one (a Redis store).
    pub(crate) store: Option<(&'static str, Arc<dyn Store>)>,
    /// The Redis to connect to when the database is built
    /// ([`CacheOptions::redis`]).
    #[cfg(feature = "redis")]
    pub(crate) redis: Option<redis::RedisOptions>,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            max_bytes: 64 << 20,
            default_ttl: Duration::from_secs(60),
            store: None,
            #[cfg(feature = "redis")]
            redis: None,
        }
    }
}

impl std::fmt::Debug for CacheOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let store = self.store.as_ref().map_or("memory", |(n, _)| n);
        #[cfg(feature = "redis")]
        let store = self.redis.as_ref().map_or(store, |_| "redis");
        f.debug_struct("CacheOptions")
            .field("max_bytes", &self.max_bytes)
            .field("default_ttl", &self.default_ttl)
            .field("store", &store)
            .finish()
    }
}

impl CacheOptions {
    /// The defaults: an in-process store of at most 64 MiB, entries kept 60 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most bytes (keys and encoded values) the in-process store holds;
    /// past it, the entries least likely to be used again are evicted
    /// (moka's TinyLFU policy). Default 64 MiB.
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Keeps entries in `store` (named `backend` in logs) instead of this
    /// process's memory: for the stores behind cargo features.
    #[allow(dead_code)] // the first caller is the Redis store
    pub(crate) fn store(mut self, backend: &'static str, store: Arc<dyn Store>) -> Self {
        self.store = Some((backend, store));
        self
    }

    /// How long an entry of [`cached()`](crate::Select::cached) (and of a
    /// raw read's `cached()`) is served: the bound on how stale a result
    /// can be after a write that bypassed the ORM. Default 60 s.
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = ttl;
        self
    }
}

/// What a [`Database`](crate::Database)'s query cache did since it was
/// built ([`Database::cache_metrics`](crate::Database::cache_metrics)).
/// Counts are over every connection of the database and every handle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheMetrics {
    /// Cached reads answered from the store, without a statement (reads).
    pub hits: u64,
    /// Cached reads that ran their query (reads), including those that
    /// bypassed the store (a store error, a connection whose invalidation
    /// failed).
    pub misses: u64,
    /// Tables invalidated: one per table per write (or commit) that bumped
    /// its version, and one per migration of a connection (tables).
    pub invalidations: u64,
    /// Entries the store holds, as far as it can tell cheaply (the
    /// in-process store's count is updated asynchronously, so it may lag
    /// by a few operations); 0 when the store cannot tell. Entries of
    /// invalidated tables stay counted until they expire or are evicted.
    pub entries: u64,
    /// Bytes of keys and values the store holds, with the same caveats as
    /// `entries` (bytes).
    pub bytes: u64,
    /// Store failures: a get, put, version read or invalidation that
    /// failed, or a value that could not be encoded or decoded. Reads went
    /// to the database instead.
    pub errors: u64,
    /// Misses that waited for the same query of another caller instead of
    /// sending their own (counted in `hits` too, as no statement was sent
    /// for them).
    pub coalesced: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    invalidations: AtomicU64,
    errors: AtomicU64,
    coalesced: AtomicU64,
}

/// What a query that was run for several waiters produced: its encoded
/// result, or `None` if it failed.
type Filled = Option<Arc<[u8]>>;

/// The query cache of one [`Database`](crate::Database), shared by its
/// clones and handles. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Cache {
    shared: Arc<Shared>,
}

struct Shared {
    store: Arc<dyn Store>,
    backend: &'static str,
    default_ttl: Duration,
    counters: Counters,
    /// Keys whose query is running now, and where its result will be sent.
    inflight: Mutex<HashMap<Vec<u8>, watch::Receiver<Option<Filled>>>>,
    /// Connections whose invalidation failed: their reads bypass the cache
    /// until an invalidation of them succeeds.
    degraded: Mutex<HashSet<String>>,
    /// A store error was logged already (it is logged once, then counted).
    logged: AtomicBool,
    /// Bumped by every failed or interrupted invalidation: a retry task
    /// lets a connection use the cache again only if none came after its
    /// own successful invalidation began.
    failures: AtomicU64,
}

/// How results of type `O` are encoded for the store and decoded back.
pub(crate) struct Codec<O> {
    encode: fn(&O) -> Result<Vec<u8>>,
    decode: fn(&[u8]) -> Result<O>,
}

impl<O> Clone for Codec<O> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<O> Copy for Codec<O> {}

impl<O: Cacheable> Codec<O> {
    /// serde into MessagePack ([`encode`], [`decode`]).
    pub(crate) fn serde() -> Codec<O> {
        Codec {
            encode: encode::<O>,
            decode: decode::<O>,
        }
    }
}

/// What `#[orm::model(cache(ttl = N))]` makes of a model: lookups by key
/// (`find`, `get`) are cached for `ttl`.
#[doc(hidden)]
pub struct ModelCache<M> {
    pub(crate) ttl: Duration,
    pub(crate) codec: Codec<Option<M>>,
}

/// The cache of a model whose lookups by key are kept `ttl_seconds`; the
/// model must be [`Cacheable`] (the macro calls this with the span of
/// `cache`, so that a missing serde derive is reported there).
#[doc(hidden)]
pub fn model_cache<M: Cacheable>(ttl_seconds: u64) -> ModelCache<M> {
    ModelCache {
        ttl: Duration::from_secs(ttl_seconds),
        codec: Codec::serde(),
    }
}

/// A value encoded for the store (MessagePack, with field names, so that a
/// model's fields round-trip whatever their serde attributes).
pub(crate) fn encode<O: Cacheable>(value: &O) -> Result<Vec<u8>> {
    rmp_serde::to_vec_named(value).map_err(|e| Error::Cache {
        backend: "encode",
        message: format!("cannot encode a `{}`: {e}", std::any::type_name::<O>()),
    })
}

/// A value read back from the store.
pub(crate) fn decode<O: Cacheable>(bytes: &[u8]) -> Result<O> {
    rmp_serde::from_slice(bytes).map_err(|e| Error::Cache {
        backend: "decode",
        message: format!(
            "cannot decode a cached `{}`: {e}",
            std::any::type_name::<O>()
        ),
    })
}

impl Cache {
    /// The cache `options` describe: the in-process store unless another
    /// was given.
    pub(crate) fn new(options: &CacheOptions) -> Cache {
        let (backend, store) = match &options.store {
            Some((name, store)) => (*name, store.clone()),
            None => (
                "memory",
                Arc::new(memory::MemoryStore::new(options.max_bytes)) as Arc<dyn Store>,
            ),
        };
        Cache {
            shared: Arc::new(Shared {
                store,
                backend,
                default_ttl: options.default_ttl,
                counters: Counters::default(),
                inflight: Mutex::default(),
                degraded: Mutex::default(),
                logged: AtomicBool::new(false),
                failures: AtomicU64::new(0),
            }),
        }
    }

    /// [`new`](Self::new), once its store is connected: a Redis store
    /// ([`CacheOptions::redis`]) is connected here, and one that cannot be
    /// reached is [`Error::Cache`].
    pub(crate) async fn open(options: CacheOptions) -> Result<Cache> {
        #[cfg(feature = "redis")]
        let options = redis::connect_store(options).await?;
        Ok(Cache::new(&options))
    }

    /// The TTL of a read that asked for none.
    pub(crate) fn default_ttl(&self) -> Duration {
        self.shared.default_ttl
    }

    /// The cache's metrics now.
    pub(crate) fn metrics(&self) -> CacheMetrics {
        let c = &self.shared.counters;
        let usage = self.shared.store.usage();
        CacheMetrics {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            invalidations: c.invalidations.load(Ordering::Relaxed),
            entries: usage.entries.unwrap_or(0),
            bytes: usage.bytes.unwrap_or(0),
            errors: c.errors.load(Ordering::Relaxed),
            coalesced: c.coalesced.load(Ordering::Relaxed),
        }
    }

    /// The start of a key: the connection and the SQL, each prefixed by its
    /// length; the bound values ([`Value::encode_key`](crate::Value)) go
    /// after it, then [`read`](Self::read) appends the tables' versions.
    pub(crate) fn key(connection: &str, sql: &str) -> Vec<u8> {
        let mut key = Vec::with_capacity(16 + connection.len() + sql.len());
        for part in [connection, sql] {
            key.extend_from_slice(&(part.len() as u32).to_le_bytes());
            key.extend_from_slice(part.as_bytes());
        }
        key
    }

    fn store_failed(&self, what: &str, error: &Error) {
        self.shared.counters.errors.fetch_add(1, Ordering::Relaxed);
        if !self.shared.logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "orm::cache",
                store = self.shared.backend,
                "the query cache's store failed to {what} ({error}); such reads go to the database \
                 (further store errors are counted in `cache_metrics().errors`, not logged)"
            );
        }
    }

    fn is_degraded(&self, connection: &str) -> bool {
        let degraded = self
            .shared
            .degraded
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        !degraded.is_empty() && degraded.contains(connection)
    }

    /// A cached read of `tables` of `connection` whose key begins with
    /// `key` ([`Cache::key`] and the bound values): the stored result if
    /// there is one, otherwise `run`'s, stored for `ttl`. Concurrent misses
    /// of the same key run `run` once. Errors are `run`'s only.
    pub(crate) async fn read<O, Fut>(
        &self,
        connection: &str,
        tables: &[&str],
        ttl: Duration,
        key: Vec<u8>,
        codec: Codec<O>,
        run: impl FnOnce() -> Fut,
    ) -> Result<O>
    where
        Fut: Future<Output = Result<O>>,
    {
        let Codec { encode, decode } = codec;
        let counters = &self.shared.counters;
        if self.is_degraded(connection) {
            counters.misses.fetch_add(1, Ordering::Relaxed);
            return run().await;
        }
        let mut all = Vec::with_capacity(tables.len() + 1);
        all.extend_from_slice(tables);
        all.push(SCHEMA_TABLE);
        let mut key = key;
        match self.shared.store.versions(connection, &all).await {
            Ok(versions) => {
                key.push(b'#');
                for v in versions {
                    key.extend_from_slice(&v.to_le_bytes());
                }
            }
            Err(e) => {
                self.store_failed("read the tables' versions", &e);
                counters.misses.fetch_add(1, Ordering::Relaxed);
                return run().await;
            }
        }
        match self.shared.store.get(&key).await {
            Ok(Some(bytes)) => match decode(&bytes) {
                Ok(value) => {
                    counters.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(value);
                }
                Err(e) => self.store_failed("decode a value", &e),
            },
            Ok(None) => {}
            Err(e) => {
                self.store_failed("get a value", &e);
                counters.misses.fetch_add(1, Ordering::Relaxed);
                return run().await;
            }
        }
        // A miss: run the query, unless a caller is running it already.
        let waiting = {
            let mut inflight = self
                .shared
                .inflight
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            match inflight.get(&key) {
                Some(rx) => Err(rx.clone()),
                None => {
                    let (tx, rx) = watch::channel(None);
                    inflight.insert(key.clone(), rx);
                    Ok(tx)
                }
            }
        };
        let tx = match waiting {
            Ok(tx) => tx,
            Err(mut rx) => {
                // `Err`: the runner was dropped (cancelled) without a result.
                if let Ok(filled) = rx.wait_for(Option::is_some).await {
                    if let Some(Some(bytes)) = filled.clone() {
                        drop(filled);
                        if let Ok(value) = decode(&bytes) {
                            counters.hits.fetch_add(1, Ordering::Relaxed);
                            counters.coalesced.fetch_add(1, Ordering::Relaxed);
                            return Ok(value);
                        }
                    }
                }
                // The runner's query failed or was cancelled: run it here.
                counters.misses.fetch_add(1, Ordering::Relaxed);
                return run().await;
            }
        };
        // Removes the key from `inflight` however this ends (a result, an
        // error, the caller dropping the future); waiters then see the
        // sender gone, or the result.
        let _running = Running {
            cache: self,
            key: &key,
        };
        // Another caller's query may have stored its result between this
        // caller's miss and its claim of the key.
        if let Ok(Some(bytes)) = self.shared.store.get(&key).await {
            if let Ok(value) = decode(&bytes) {
                tx.send_replace(Some(Some(bytes)));
                counters.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(value);
            }
        }
        counters.misses.fetch_add(1, Ordering::Relaxed);
        let result = run().await;
        let filled = match &result {
            Ok(value) => match encode(value) {
                Ok(bytes) => {
                    let bytes: Arc<[u8]> = bytes.into();
                    if let Err(e) = self.shared.store.put(&key, bytes.clone(), ttl).await {
                        self.store_failed("store a value", &e);
                    }
                    Some(bytes)
                }
                Err(e) => {
                    self.store_failed("encode a value", &e);
                    None
                }
            },
            Err(_) => None,
        };
        tx.send_replace(Some(filled));
        result
    }

    /// After writes to `tables` of `connection` were stored: bumps their
    /// versions. A store that fails does not fail the write (it is
    /// stored): the error is logged and counted, the connection's reads
    /// bypass the cache from now on, and a background task invalidates the
    /// whole connection (its schema version) with backoff until the store
    /// takes it; then its reads use the cache again.
    pub(crate) async fn invalidate(&self, connection: &str, tables: &[&str]) {
        if tables.is_empty() {
            return;
        }
        match self.shared.store.invalidate(connection, tables).await {
            Ok(()) => {
                self.shared
                    .counters
                    .invalidations
                    .fetch_add(tables.len() as u64, Ordering::Relaxed);
            }
            Err(e) => self.invalidation_failed(connection, &e),
        }
    }

    fn invalidation_failed(&self, connection: &str, error: &Error) {
        self.shared.counters.errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            target: "orm::cache",
            store = self.shared.backend,
            connection = %connection,
            "the query cache could not invalidate tables of connection `{connection}` after a write \
             ({error}); the write is stored, and this process reads `{connection}` without the \
             cache until its entries can be invalidated"
        );
        self.degrade(connection);
    }

    /// A write on `connection` may have been stored without its tables
    /// being invalidated (its future was dropped with the statement in
    /// flight): as after a failed invalidation, this process reads the
    /// connection without the cache until the whole connection is
    /// invalidated in the background.
    pub(crate) fn write_interrupted(&self, connection: &str) {
        tracing::debug!(
            target: "orm::cache",
            connection = %connection,
            "a write on `{connection}` was dropped with its statement in flight; the connection's cached entries are invalidated"
        );
        self.degrade(connection);
    }

    /// Stops serving `connection` from the cache in this process and, once
    /// per episode, starts a task that invalidates the whole connection
    /// (its schema version) with backoff until the store takes it; the
    /// connection uses the cache again only if no failure was recorded
    /// after that task's successful attempt began. The task holds the
    /// cache weakly: it stops when the database is dropped.
    fn degrade(&self, connection: &str) {
        self.shared.failures.fetch_add(1, Ordering::SeqCst);
        let first = self
            .shared
            .degraded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(connection.to_owned());
        if !first {
            return; // a retry task runs already
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let shared = Arc::downgrade(&self.shared);
        let connection = connection.to_owned();
        runtime.spawn(async move {
            use backon::Retryable as _;
            loop {
                let policy = backon::ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(100))
                    .with_max_delay(Duration::from_secs(10))
                    .with_jitter()
                    .without_max_times();
                // The failures recorded before this attempt began.
                let mut seen = 0;
                let attempt = || {
                    let shared = shared.upgrade();
                    if let Some(s) = &shared {
                        seen = s.failures.load(Ordering::SeqCst);
                    }
                    let connection = connection.clone();
                    async move {
                        match shared {
                            // The database is gone: nothing left to serve.
                            None => Ok(false),
                            Some(s) => s
                                .store
                                .invalidate(&connection, &[SCHEMA_TABLE])
                                .await
                                .map(|()| true),
                        }
                    }
                };
                let invalidated = attempt
                    .retry(policy)
                    .sleep(tokio::time::sleep)
                    .notify(|_, _| {
                        if let Some(s) = shared.upgrade() {
                            s.counters.errors.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                    .await;
                let Some(s) = shared.upgrade() else { return };
                if !matches!(invalidated, Ok(true)) {
                    return;
                }
                s.counters.invalidations.fetch_add(1, Ordering::Relaxed);
                let mut degraded = s.degraded.lock().unwrap_or_else(|e| e.into_inner());
                // A failure after this attempt began: its write may have
                // committed after the store applied the invalidation.
                if s.failures.load(Ordering::SeqCst) != seen {
                    continue;
                }
                degraded.remove(&connection);
                drop(degraded);
                tracing::info!(
                    target: "orm::cache",
                    connection = %connection,
                    "the query cache invalidated connection `{connection}`; its reads use the cache again"
                );
                return;
            }
        });
    }
}

/// A write outside a transaction that the cache must hear of however it
/// ends: settled once its outcome was handed to the cache; dropped
/// unsettled (the caller's future was cancelled with the statement in
/// flight, which the server may still apply), the connection is
/// invalidated in the background ([`Cache::write_interrupted`]).
pub(crate) struct PendingWrite<'a> {
    cache: &'a Cache,
    connection: &'a str,
}

impl<'a> PendingWrite<'a> {
    pub(crate) fn new(cache: &'a Cache, connection: &'a str) -> PendingWrite<'a> {
        PendingWrite { cache, connection }
    }

    /// The write's outcome reached the cache: nothing to do when dropped.
    pub(crate) fn settle(pending: &mut Option<PendingWrite<'_>>) {
        if let Some(p) = pending.take() {
            std::mem::forget(p);
        }
    }
}

impl Drop for PendingWrite<'_> {
    fn drop(&mut self) {
        self.cache.write_interrupted(self.connection);
    }
}

/// The running query of a key: removes it from the in-flight map when
/// dropped.
struct Running<'a> {
    cache: &'a Cache,
    key: &'a [u8],
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.cache
            .shared
            .inflight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(self.key);
    }
}

/// Where a cached read runs its query on a miss: a database handle (not a
/// transaction), with the caller's per-call options. Misses go to the
/// primary: what is cached is committed data, never a lagging replica's.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct CacheRoute<'e> {
    pub(crate) connection: &'e Connection,
    pub(crate) handle: &'e HandleState,
    pub(crate) call: CallOptions,
}

impl<'e> CacheRoute<'e> {
    /// The route of `db`'s connection `name` (`None` if there is none: the
    /// uncached path then reports it).
    pub(crate) fn of(db: &'e Database, name: &str, call: CallOptions) -> Option<CacheRoute<'e>> {
        Some(CacheRoute {
            connection: db.named(name).ok()?,
            handle: db.handle(),
            call,
        })
    }

    /// A cached read `op` of the connection, kept for `ttl` (the cache's
    /// default if `None`): `render` renders it for the backend (the SQL,
    /// its arguments, and its bound values encoded for the key), `run`
    /// runs it on the session when the cache has no result.
    pub(crate) async fn read<O, Fut>(
        self,
        op: &Operation,
        ttl: Option<Duration>,
        codec: Codec<O>,
        render: impl FnOnce(Backend) -> Result<(SqlStr, Args, Vec<u8>)>,
        run: impl FnOnce(Session<'e>, SqlStr, Args) -> Fut,
    ) -> Result<O>
    where
        Fut: Future<Output = Result<O>>,
    {
        let call = CallOptions {
            primary: true,
            ..self.call
        };
        let session = Session::routed(self.connection, self.handle, op.access, call).await?;
        let (sql, args, values) = render(session.backend())?;
        let connection = self.connection.pool.cache_scope();
        let mut key = Cache::key(connection, sql.as_str());
        key.extend_from_slice(&values);
        // The Rust type the rows decode into: two reads of the same SQL into
        // different types (an integer read as `f64`) never share an entry.
        let type_name = std::any::type_name::<O>();
        key.extend_from_slice(&(type_name.len() as u32).to_le_bytes());
        key.extend_from_slice(type_name.as_bytes());
        let cache = &self.connection.cache;
        let ttl = ttl.unwrap_or_else(|| cache.default_ttl());
        cache
            .read(connection, &op.tables, ttl, key, codec, move || {
                run(session, sql, args)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::memory::MemoryStore;
    use super::*;
    use crate::model::types::Value;

    fn encoded(values: &[Value]) -> Vec<u8> {
        let mut key = Vec::new();
        for v in values {
            v.encode_key(&mut key);
        }
        key
    }

    #[test]
    fn bound_values_encode_unambiguously() {
        let text = |s: &str| Value::Text(s.to_owned());
        let distinct = [
            encoded(&[text("ab"), text("c")]),
            encoded(&[text("a"), text("bc")]),
            encoded(&[text("abc")]),
            encoded(&[Value::I32(1)]),
            encoded(&[Value::I64(1)]),
            encoded(&[Value::Bytes(b"1".to_vec())]),
            encoded(&[text("1")]),
            encoded(&[Value::F64(0.0)]),
            encoded(&[Value::F64(-0.0)]),
            encoded(&[Value::Null(|_| Ok(()))]),
            encoded(&[]),
        ];
        for (i, a) in distinct.iter().enumerate() {
            for b in &distinct[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // NULLs of two column types are the same key.
        let null_i64: fn(&mut Args) -> Result<()> = |_| Ok(());
        let null_text: fn(&mut Args) -> Result<()> = |_| Err(Error::NotFound { model: "x" });
        assert_eq!(
            encoded(&[Value::Null(null_i64)]),
            encoded(&[Value::Null(null_text)])
        );
        // The SQL and the connection are length-prefixed too.
        assert_ne!(Cache::key("db", "SELECT 1"), Cache::key("db2", "ELECT 1"));
    }

    #[tokio::test]
    async fn the_memory_store_versions_tables_per_connection_and_expires_entries() {
        let store = MemoryStore::new(1 << 20);
        assert_eq!(store.versions("db", &["a", "b"]).await.unwrap(), [0, 0]);
        store.invalidate("db", &["a"]).await.unwrap();
        store.invalidate("db", &["a"]).await.unwrap();
        assert_eq!(store.versions("db", &["a", "b"]).await.unwrap(), [2, 0]);
        assert_eq!(store.versions("other", &["a"]).await.unwrap(), [0]);

        store
            .put(b"k", Arc::from(&b"v"[..]), Duration::from_millis(50))
            .await
            .unwrap();
        assert_eq!(store.get(b"k").await.unwrap().as_deref(), Some(&b"v"[..]));
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(store.get(b"k").await.unwrap(), None, "expired");
    }

    /// A read of key `q` of table `t`, answered by `run` on a miss.
    async fn read_q<F: Future<Output = Result<i64>>>(
        cache: &Cache,
        run: impl FnOnce() -> F,
    ) -> Result<i64> {
        let key = Cache::key("db", "q");
        let ttl = Duration::from_secs(60);
        cache
            .read("db", &["t"], ttl, key, Codec::serde(), run)
            .await
    }

    #[tokio::test]
    async fn a_failed_query_is_not_cached_and_its_error_is_the_callers() {
        let cache = Cache::new(&CacheOptions::new());
        let failed = read_q(&cache, || async { Err(Error::NotFound { model: "t" }) }).await;
        assert!(matches!(failed, Err(Error::NotFound { .. })));
        assert_eq!(read_q(&cache, || async { Ok(7) }).await.unwrap(), 7);
        let hit = read_q(&cache, || async { panic!("served from the cache") }).await;
        assert_eq!(hit.unwrap(), 7);
        let m = cache.metrics();
        assert_eq!((m.hits, m.misses, m.errors), (1, 2, 0));
    }
}
