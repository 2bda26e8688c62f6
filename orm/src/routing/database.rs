//! The database handle: named connections, each with its pool.
//!
//! Configure from the environment ([`Database::from_env`], which lists the
//! variables) or in code ([`Database::builder`]).

use std::sync::Arc;
use std::time::Duration;

use super::cache::{Cache, CacheMetrics, CacheOptions, CacheRoute};
use super::consistency::{CausalToken, HandleState};
use super::names::{self, env_prefix, ConnectionName, DefaultConnection};
use super::replicas::{ReplicaSet, ReplicationMetrics, ReplicationOptions};
use super::session::{Access, CallOptions, Operation, Session};
use super::transaction::Transaction;
use crate::backend::Backend;
use crate::connection::connect::{redact, ConnectOptions};
use crate::connection::pool::{Pool, PoolMetrics, PoolOptions};
use crate::connection::retry::RetryPolicy;
use crate::connection::transaction::TransactionOptions;
use crate::error::{Error, Result};

/// A handle on every database connection the application uses.
///
/// Cheap to clone (an `Arc` inside) and `Send + Sync`: build it once at
/// start-up and share it. Model operations take `&Database` and run on the
/// connection their model names.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
/// let db = orm::Database::connect("sqlite::memory:").await?;
/// assert_eq!(db.backend("db")?, orm::Backend::Sqlite);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
    /// What this handle remembers of its writes, for read-your-writes on
    /// connections with replicas: shared by clones, fresh for
    /// [`new_handle`](Database::new_handle).
    handle: Arc<HandleState>,
}

struct Inner {
    // A handful of entries: a linear scan beats hashing the name.
    connections: Vec<Connection>,
    cache: Cache,
}

/// One named connection: its primary's pool and its replicas, if any.
pub(crate) struct Connection {
    pub(crate) pool: Pool,
    pub(crate) replicas: Option<Arc<ReplicaSet>>,
    /// The database's query cache (the same for every connection).
    pub(crate) cache: Cache,
}

impl Database {
    /// Opens the default connection (`"db"`) at `url`, checking that the
    /// server answers.
    pub async fn connect(url: &str) -> Result<Database> {
        Database::builder()
            .connection(DefaultConnection::NAME, url)
            .build()
            .await
    }

    /// A builder for several named connections.
    pub fn builder() -> DatabaseBuilder {
        DatabaseBuilder::default()
    }

    /// The primary's pool of the connection called `name`.
    pub(crate) fn pool(&self, name: &str) -> Result<&Pool> {
        self.named(name).map(|c| &c.pool)
    }

    /// The connection called `name`, with its replicas.
    pub(crate) fn named(&self, name: &str) -> Result<&Connection> {
        self.inner
            .connections
            .iter()
            .find(|c| c.pool.name() == name)
            .ok_or_else(|| Error::NotConfigured {
                connection: name.to_owned(),
                hint: format!(
                    "set {}_URL, or add it with `Database::builder().connection(\"{name}\", url)`",
                    env_prefix(name)
                ),
            })
    }

    /// The backend of the connection called `name`.
    pub fn backend(&self, name: &str) -> Result<Backend> {
        self.pool(name).map(Pool::backend)
    }

    /// Whether the connection called `name` opens read-only sessions.
    pub fn is_read_only(&self, name: &str) -> Result<bool> {
        self.pool(name).map(Pool::read_only)
    }

    /// The names of the configured connections.
    pub fn connection_names(&self) -> impl Iterator<Item = &str> {
        self.inner.connections.iter().map(|c| c.pool.name())
    }

    /// The connection called `name`, for raw SQL ([`crate::raw()`]).
    /// [`Error::NotConfigured`] if there is none.
    pub fn connection(&self, name: &str) -> Result<NamedConnection<'_>> {
        Ok(NamedConnection {
            connection: self.named(name)?,
            handle: &self.handle,
            call: CallOptions::default(),
        })
    }

    /// This handle with per-call options: pass the [`Call`] where a model
    /// operation takes an executor.
    pub fn call(&self) -> Call<'_> {
        Call {
            db: self,
            options: CallOptions::default(),
        }
    }

    /// Marks the operation it is passed to as safe to run twice, so that a
    /// write is retried under the connection's
    /// [`retry policy`](PoolOptions::retry) too (reads always are):
    /// `product.update(db.idempotent()).await?`.
    pub fn idempotent(&self) -> Call<'_> {
        self.call().idempotent()
    }

    /// Bounds each statement of the operation it is passed to by `limit`:
    /// when it passes, the statement is cancelled on the server (PostgreSQL
    /// `pg_cancel_backend`, MySQL `KILL QUERY`, SQLite interrupt) and the
    /// operation fails with [`Error::StatementTimeout`].
    pub fn with_statement_timeout(&self, limit: Duration) -> Call<'_> {
        self.call().statement_timeout(limit)
    }

    /// What the query cache did: hits, misses, invalidations, entries and
    /// bytes held, store errors, coalesced misses (see [`CacheMetrics`]).
    /// Shared by every connection and handle of the database.
    pub fn cache_metrics(&self) -> CacheMetrics {
        self.inner.cache.metrics()
    }

    /// What this handle remembers of its writes.
    pub(crate) fn handle(&self) -> &HandleState {
        &self.handle
    }

    /// Pool metrics of the connection called `name`.
    pub fn metrics(&self, name: &str) -> Result<PoolMetrics> {
        self.pool(name).map(Pool::metrics)
    }

    /// What the replicas of the connection called `name` did: per replica
    /// its breaker, lag, reads and pool; and how many reads went to the
    /// primary because no replica could take them.
    /// [`Error::NotConfigured`] if there is no such connection; `Ok(None)`
    /// if it has no replicas.
    pub fn replication_metrics(&self, name: &str) -> Result<Option<ReplicationMetrics>> {
        Ok(self.named(name)?.replicas.as_ref().map(|s| s.metrics()))
    }

    /// Runs the operation it is passed to on the primary, even if it is a
    /// read of a connection with replicas: `Order::find(db.on_primary(), id)`.
    pub fn on_primary(&self) -> Call<'_> {
        self.call().on_primary()
    }

    /// A handle on the same connections and pools, with read-your-writes
    /// state of its own: its writes send only its own reads to the primary
    /// (sticky window) or to caught-up replicas (causal token). Clones of a
    /// handle share its state; make one per request, per user session or
    /// per job.
    pub fn new_handle(&self) -> Database {
        Database {
            inner: self.inner.clone(),
            handle: Arc::default(),
        }
    }

    /// A [new handle](Self::new_handle) that starts from `token`: its reads
    /// of each connection the token names go to a replica that has replayed
    /// the token's position (waiting for one up to the connection's causal
    /// wait in causal-token mode, 1 second in the others) or to the primary. Use it to read your
    /// writes in another process: the token came from
    /// [`causal_token`](Self::causal_token) there, through an HTTP header
    /// or a job's payload.
    ///
    /// [`Error::InvalidCausalToken`] if the token names a connection this
    /// database does not have, or holds a position of another backend than
    /// that connection's.
    pub fn with_causal_token(&self, token: &CausalToken) -> Result<Database> {
        for (name, position) in token.positions() {
            let backend = self
                .named(name)
                .map_err(|_| Error::InvalidCausalToken {
                    reason: format!("it names connection `{name}`, which is not configured"),
                })?
                .pool
                .backend();
            if position.backend() != backend {
                return Err(Error::InvalidCausalToken {
                    reason: format!(
                        "its position for connection `{name}` is not a {backend} position"
                    ),
                });
            }
        }
        Ok(Database {
            inner: self.inner.clone(),
            handle: Arc::new(HandleState::from_token(token)),
        })
    }

    /// The primary's positions after this handle's writes (and those of
    /// the token it started from), on connections with replicas in
    /// [`ReadYourWrites::CausalToken`](crate::ReadYourWrites::CausalToken) mode: give it to another process's
    /// [`with_causal_token`](Self::with_causal_token) so that its reads see
    /// these writes. Empty if there were none.
    pub fn causal_token(&self) -> CausalToken {
        self.handle.token()
    }

    /// The session for an operation `op` on the connection called `name`:
    /// the primary, or a replica for a read (see [`Session::routed`]).
    pub(crate) fn session_for<'e>(
        &'e self,
        name: &str,
        op: &Operation,
        call: CallOptions,
    ) -> Result<impl std::future::Future<Output = Result<Session<'e>>> + Send + 'e> {
        let connection = self.named(name)?;
        Ok(Session::routed(connection, &self.handle, op.access, call))
    }

    /// Opens a transaction on the default connection.
    pub async fn begin(&self) -> Result<Transaction<DefaultConnection>> {
        self.begin_on_with::<DefaultConnection>(TransactionOptions::new())
            .await
    }

    /// Opens a transaction on the default connection with `options`
    /// (isolation level, read-only, deadline, timeouts).
    pub async fn begin_with(
        &self,
        options: TransactionOptions,
    ) -> Result<Transaction<DefaultConnection>> {
        self.begin_on_with::<DefaultConnection>(options).await
    }

    /// Opens a transaction on connection `C`. It can run statements only for
    /// models on `C`: passing it for a model on another connection does not
    /// compile.
    pub async fn begin_on<C: ConnectionName>(&self) -> Result<Transaction<C>> {
        self.begin_on_with::<C>(TransactionOptions::new()).await
    }

    /// Opens a transaction on connection `C` with `options`.
    pub async fn begin_on_with<C: ConnectionName>(
        &self,
        options: TransactionOptions,
    ) -> Result<Transaction<C>> {
        let connection = self.named(C::NAME)?;
        let conn = connection.pool.acquire().await?;
        let replication = connection
            .replicas
            .as_ref()
            .map(|set| (set.clone(), self.handle.clone()));
        Transaction::begin(conn, &options, replication, self.inner.cache.clone()).await
    }

    /// Runs `work` in a transaction on the default connection: commits when
    /// it returns `Ok`, rolls back when it returns `Err` or panics. With the
    /// connection's [retry policy](PoolOptions::retry) (none by default) the
    /// whole transaction runs again after a transient failure: a
    /// serialization failure (SQLSTATE 40001), a deadlock (40P01, MySQL
    /// 1213), a lock timeout, a lost connection. `work` may then run more
    /// than once: keep effects outside the database out of it;
    /// [`Transaction::attempt`] tells which run it is.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
    /// # let db = orm::Database::connect("sqlite::memory:").await?;
    /// let n: i64 = db
    ///     .transaction(async |tx| {
    ///         let (n,): (i64,) = orm::raw("SELECT 41 + 1").fetch_one(&mut *tx).await?;
    ///         Ok::<_, orm::Error>(n)
    ///     })
    ///     .await?;
    /// assert_eq!(n, 42);
    /// # Ok(()) }
    /// ```
    pub async fn transaction<T, E>(
        &self,
        work: impl AsyncFnMut(&mut Transaction<DefaultConnection>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<Error>,
    {
        self.transaction_on::<DefaultConnection, T, E>(TransactionOptions::new(), work)
            .await
    }

    /// [`transaction`](Self::transaction) with `options`: isolation level,
    /// deadline, timeouts, and the retry policy
    /// ([`TransactionOptions::retry`]).
    pub async fn transaction_with<T, E>(
        &self,
        options: TransactionOptions,
        work: impl AsyncFnMut(&mut Transaction<DefaultConnection>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<Error>,
    {
        self.transaction_on::<DefaultConnection, T, E>(options, work)
            .await
    }

    /// [`transaction_with`](Self::transaction_with) on connection `C`:
    /// `db.transaction_on::<Essentials, _, _>(TransactionOptions::new(), async |tx| ...)`,
    /// or name the type in the closure: `async |tx: &mut Transaction<Essentials>| ...`.
    pub async fn transaction_on<C, T, E>(
        &self,
        options: TransactionOptions,
        mut work: impl AsyncFnMut(&mut Transaction<C>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        C: ConnectionName,
        E: From<Error>,
    {
        let pool = self.pool(C::NAME)?;
        let policy = options.retry_policy().unwrap_or(pool.options().retry);
        let mut pauses = policy.pauses();
        let mut attempt = 1;
        loop {
            let (outcome, retryable) = match self.begin_on_with::<C>(options).await {
                Err(e) => {
                    let transient = e.is_transient();
                    (Err(E::from(e)), transient)
                }
                Ok(mut tx) => {
                    tx.set_attempt(attempt);
                    match work(&mut tx).await {
                        Ok(value) => {
                            let transient = tx.saw_transient();
                            match tx.commit().await {
                                Ok(()) => return Ok(value),
                                Err(e) => {
                                    let retryable = e.is_transient()
                                        || (transient
                                            && matches!(e, Error::TransactionAborted { .. }));
                                    (Err(E::from(e)), retryable)
                                }
                            }
                        }
                        Err(e) => {
                            let transient = tx.saw_transient();
                            match tx.rollback().await {
                                // Raw SQL ended the transaction and its
                                // writes were committed: that outweighs the
                                // closure's own error, which says nothing of it.
                                Err(ended @ Error::InvalidQuery { .. }) => {
                                    return Err(E::from(ended))
                                }
                                // A failed rollback closes the connection,
                                // which rolls back too.
                                _ => (Err(e), transient),
                            }
                        }
                    }
                }
            };
            let pause = if retryable { pauses.next() } else { None };
            let Some(pause) = pause else { return outcome };
            pool.count_retry();
            attempt += 1;
            tokio::time::sleep(pause).await;
        }
    }

    /// Closes every pool; later operations fail with [`Error::PoolClosed`].
    pub fn close(&self) {
        for c in &self.inner.connections {
            c.pool.close();
            for r in c.replicas.iter().flat_map(|s| s.replicas.iter()) {
                r.pool.close();
            }
        }
    }
}

/// A [`Database`] handle with options for one call
/// ([`Database::call`], [`Database::idempotent`],
/// [`Database::with_statement_timeout`]); an executor like `&Database`.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    pub(crate) db: &'a Database,
    pub(crate) options: CallOptions,
}

impl<'a> Call<'a> {
    /// Marks the operation as safe to run twice: a write is retried after a
    /// transient error under the connection's [retry policy](PoolOptions::retry).
    pub fn idempotent(mut self) -> Self {
        self.options.idempotent = true;
        self
    }

    /// Bounds each statement by `limit` ([`Error::StatementTimeout`]; the
    /// statement is cancelled on the server).
    pub fn statement_timeout(mut self, limit: Duration) -> Self {
        self.options.statement_timeout = Some(limit);
        self
    }

    /// Sends the operation to the primary, even a read of a connection
    /// with replicas.
    pub fn on_primary(mut self) -> Self {
        self.options.primary = true;
        self
    }
}

/// A connection of a [`Database`], picked by name: where raw SQL and
/// migrations run ([`Database::connection`]).
#[derive(Clone)]
pub struct NamedConnection<'a> {
    connection: &'a Connection,
    handle: &'a HandleState,
    call: CallOptions,
}

impl<'a> NamedConnection<'a> {
    /// Marks the raw statement as safe to run twice: it is retried after a
    /// transient error under the connection's [retry policy](PoolOptions::retry)
    /// (raw SQL is otherwise never retried: its text is not read, so it
    /// counts as a write).
    pub fn idempotent(mut self) -> Self {
        self.call.idempotent = true;
        self
    }

    /// Bounds the statement by `limit` ([`Error::StatementTimeout`]; the
    /// statement is cancelled on the server).
    pub fn statement_timeout(mut self, limit: Duration) -> Self {
        self.call.statement_timeout = Some(limit);
        self
    }

    /// Says that the raw statement only reads, so that on a connection
    /// with replicas it goes to a replica like a typed read (raw SQL
    /// otherwise goes to the primary: its text is never read to find out).
    /// A statement marked so that writes fails with [`Error::ReadOnly`]:
    /// replica sessions are read-only (PostgreSQL
    /// `default_transaction_read_only`, SQLSTATE 25006; MySQL/MariaDB `SET
    /// SESSION TRANSACTION READ ONLY`, error 1792), whatever the account's
    /// privileges. Raw reads are not retried under the retry policy.
    pub fn read(mut self) -> Self {
        self.call.read = true;
        self
    }

    /// Sends the raw statement to the primary (the default for raw SQL;
    /// undoes [`read`](Self::read)).
    pub fn on_primary(mut self) -> Self {
        self.call.read = false;
        self.call.primary = true;
        self
    }

    /// Whether the connection opens read-only sessions.
    pub fn is_read_only(&self) -> bool {
        self.connection.pool.read_only()
    }

    /// Where a cached raw read on this connection runs.
    pub(crate) fn cache_route(&self) -> CacheRoute<'a> {
        CacheRoute {
            connection: self.connection,
            handle: self.handle,
            call: self.call,
        }
    }
    /// The connection's name.
    pub fn name(&self) -> &'a str {
        self.connection.pool.name()
    }

    /// The connection's backend.
    pub fn backend(&self) -> Backend {
        self.connection.pool.backend()
    }

    /// A pooled connection for `op`: the primary's, or a replica's for a
    /// read marked with [`read`](Self::read).
    pub(crate) fn session(
        self,
        op: &Operation,
    ) -> impl std::future::Future<Output = Result<Session<'a>>> + Send + 'a {
        let access = if self.call.read {
            Access::Read
        } else {
            op.access
        };
        Session::routed(self.connection, self.handle, access, self.call)
    }
}

/// What the environment configures for one connection besides its URL.
struct EnvConfig {
    pool: PoolOptions,
    /// Replica URLs and weights.
    replicas: Vec<(String, u32)>,
    replication: ReplicationOptions,
}

/// The most numbered replica variables read (`<prefix>_REPLICA_1_URL` ...).
const MAX_NUMBERED_REPLICAS: u32 = 32;

/// Pool options from `<prefix>_MAX_CONNECTIONS`, `_ACQUIRE_TIMEOUT`,
/// `_IDLE_TIMEOUT`, `_MAX_LIFETIME`, ...; replicas from `_REPLICA_URLS`
/// (and `_REPLICA_WEIGHTS`) or `_REPLICA_<n>_URL` (and `_REPLICA_<n>_WEIGHT`),
/// with their options (see [`ReplicationOptions`]).
fn config_from_env(
    name: &str,
    prefix: &str,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<EnvConfig> {
    let invalid = |variable: &str, value: &str, expected: &str| Error::InvalidConfig {
        connection: name.to_owned(),
        variable: variable.to_owned(),
        value: value.to_owned(),
        expected: expected.to_owned(),
    };
    let read = |suffix: &str| {
        let var = format!("{prefix}{suffix}");
        lookup(&var).map(|v| (var, v))
    };
    let seconds = |variable: &str, value: &str| -> Result<Duration> {
        value
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .ok_or_else(|| invalid(variable, value, "a number of seconds"))
    };
    // A number of seconds, or `off` (also `none`, `never`) for none.
    let optional_seconds = |variable: &str, value: &str| -> Result<Option<Duration>> {
        match value.trim() {
            "off" | "none" | "never" => Ok(None),
            _ => seconds(variable, value)
                .map(Some)
                .map_err(|_| invalid(variable, value, "a number of seconds, or `off`")),
        }
    };
    let count = |variable: &str, value: &str, min: u32| -> Result<u32> {
        value
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= min)
            .ok_or_else(|| invalid(variable, value, &format!("a whole number from {min}")))
    };
    let mut options = PoolOptions::default();
    if let Some((var, v)) = read("_MAX_CONNECTIONS") {
        options = options.max_connections(count(&var, &v, 1)?);
    }
    if let Some((var, v)) = read("_MIN_CONNECTIONS") {
        options = options.min_connections(count(&var, &v, 0)?);
    }
    if let Some((var, v)) = read("_ACQUIRE_TIMEOUT") {
        options = options.acquire_timeout(seconds(&var, &v)?);
    }
    type Set = fn(PoolOptions, Option<Duration>) -> PoolOptions;
    for (suffix, set) in [
        ("_IDLE_TIMEOUT", PoolOptions::idle_timeout as Set),
        ("_MAX_LIFETIME", PoolOptions::max_lifetime),
        ("_STATEMENT_TIMEOUT", PoolOptions::statement_timeout),
        ("_LOCK_TIMEOUT", PoolOptions::lock_timeout),
        ("_LEAK_THRESHOLD", PoolOptions::leak_threshold),
        ("_SLOW_QUERY_THRESHOLD", |o, t| o.slow_query_threshold(t)),
    ] {
        if let Some((var, v)) = read(suffix) {
            options = set(options, optional_seconds(&var, &v)?);
        }
    }
    if let Some((var, v)) = read("_TRACE_PARAMETERS") {
        let on = match v.trim() {
            "on" | "true" | "1" => true,
            "off" | "false" | "0" => false,
            _ => return Err(invalid(&var, &v, "`on` or `off`")),
        };
        options = options.trace_parameters(on);
    }
    let mut retry = RetryPolicy::new();
    let mut retrying = false;
    if let Some((var, v)) = read("_RETRY_ATTEMPTS") {
        retry = retry.max_attempts(count(&var, &v, 1)?);
        retrying = true;
    }
    if let Some((var, v)) = read("_RETRY_BACKOFF") {
        retry = retry.initial_backoff(seconds(&var, &v)?);
        retrying = true;
    }
    if let Some((var, v)) = read("_RETRY_MAX_BACKOFF") {
        retry = retry.max_backoff(seconds(&var, &v)?);
        retrying = true;
    }
    if retrying {
        options = options.retry(retry);
    }
    let mut replicas: Vec<(String, u32)> = Vec::new();
    if let Some((var, urls)) = read("_REPLICA_URLS") {
        let urls: Vec<String> = urls
            .split(',')
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect();
        if urls.is_empty() {
            return Err(invalid(&var, "", "replica URLs separated by commas"));
        }
        let weights = match read("_REPLICA_WEIGHTS") {
            None => vec![1; urls.len()],
            Some((wvar, w)) => {
                let weights = w
                    .split(',')
                    .map(|x| count(&wvar, x, 1))
                    .collect::<Result<Vec<u32>>>()?;
                if weights.len() != urls.len() {
                    return Err(invalid(
                        &wvar,
                        &w,
                        &format!("{} weights, one per URL of {var}", urls.len()),
                    ));
                }
                weights
            }
        };
        replicas.extend(urls.into_iter().zip(weights));
    }
    for n in 1..=MAX_NUMBERED_REPLICAS {
        let url = read(&format!("_REPLICA_{n}_URL"));
        let weight = read(&format!("_REPLICA_{n}_WEIGHT"));
        match (url, weight) {
            (Some((_, url)), None) => replicas.push((url, 1)),
            (Some((_, url)), Some((wvar, w))) => replicas.push((url, count(&wvar, &w, 1)?)),
            (None, Some((wvar, w))) => {
                return Err(invalid(
                    &wvar,
                    &w,
                    &format!("a weight only beside {prefix}_REPLICA_{n}_URL, which is not set"),
                ))
            }
            (None, None) => {}
        }
    }
    let replication = ReplicationOptions::from_env(&read, &seconds, &invalid)?;
    Ok(EnvConfig {
        pool: options,
        replicas,
        replication,
    })
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_map();
        for c in &self.inner.connections {
            d.entry(&c.pool.name(), &c.pool.backend());
        }
        d.finish()
    }
}

/// Builds a [`Database`] with several named connections.
#[derive(Default)]
pub struct DatabaseBuilder {
    connections: Vec<(String, String, PoolOptions)>,
    read_only: Vec<String>,
    /// Connection name, replica URL, weight.
    replicas: Vec<(String, String, u32)>,
    replication: Vec<(String, ReplicationOptions)>,
    cache: Option<CacheOptions>,
}

impl DatabaseBuilder {
    /// The query cache's options (store, size, default TTL); without this,
    /// [`CacheOptions::new`]'s defaults: an in-process store of 64 MiB.
    /// Nothing is cached unless a read asks for it (see
    /// [`Select::cached`](crate::Select::cached)).
    pub fn cache(mut self, options: CacheOptions) -> Self {
        self.cache = Some(options);
        self
    }

    /// Adds connection `name` at `url` with default pool options.
    pub fn connection(self, name: &str, url: &str) -> Self {
        self.connection_with(name, url, PoolOptions::default())
    }

    /// Adds connection `name` at `url` with `options`.
    pub fn connection_with(mut self, name: &str, url: &str, options: PoolOptions) -> Self {
        self.connections
            .push((name.to_owned(), url.to_owned(), options));
        self
    }

    /// Adds connection `name` at `url`, with pool options from the
    /// variables `<prefix>_MAX_CONNECTIONS`, ... (see
    /// [`Database::from_env`]).
    pub(crate) fn connection_from_env(
        self,
        name: &str,
        url: &str,
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let config = config_from_env(name, &env_prefix(name), lookup)?;
        let mut builder = self.connection_with(name, url, config.pool);
        if !config.replicas.is_empty() {
            for (replica, weight) in config.replicas {
                builder = builder.weighted_replica(name, &replica, weight);
            }
            builder = builder.replication(name, config.replication);
        }
        Ok(builder)
    }

    /// Adds a read replica of connection `name` at `url`, with weight 1:
    /// reads of models on `name` go to its replicas (see
    /// [`ReplicationOptions`]), writes and transactions to `name`'s own URL.
    /// The replica must be on the same backend as the primary, and not
    /// SQLite: [`build`](Self::build) refuses either with
    /// [`Error::InvalidConfig`] naming the connection, and a replica of a
    /// connection the builder does not have with [`Error::NotConfigured`].
    /// A replica that cannot be reached at start-up is not an error: `build`
    /// waits up to the acquire timeout for it, then starts it out of
    /// rotation. Replica sessions are read-only, so the database refuses
    /// writes there too. Replicas take the primary's pool options.
    pub fn replica(self, name: &str, url: &str) -> Self {
        self.weighted_replica(name, url, 1)
    }

    /// [`replica`](Self::replica) with a weight for
    /// [`Balancing::Weighted`](crate::Balancing::Weighted) (at least 1): a
    /// replica of weight 3 takes three reads for every one of a replica of
    /// weight 1. A weight of 0 counts as 1.
    pub fn weighted_replica(mut self, name: &str, url: &str, weight: u32) -> Self {
        self.replicas
            .push((name.to_owned(), url.to_owned(), weight.max(1)));
        self
    }

    /// How connection `name` uses its replicas (balancing, read-your-writes,
    /// lag limit, breaker); the defaults otherwise.
    pub fn replication(mut self, name: &str, options: ReplicationOptions) -> Self {
        self.replication.retain(|(n, _)| n != name);
        self.replication.push((name.to_owned(), options));
        self
    }

    /// Opens connection `name` in read-only sessions, as if it had been
    /// declared `read_only` (a declared one always is).
    pub fn read_only(mut self, name: &str) -> Self {
        self.read_only.push(name.to_owned());
        self
    }

    /// Parses every URL and opens one connection of each, so that a bad URL
    /// or an unreachable server is reported now, naming its connection.
    /// The query cache's Redis, when it has one, is connected first: one
    /// that cannot be reached is [`Error::Cache`].
    pub async fn build(self) -> Result<Database> {
        let cache = Cache::open(self.cache.unwrap_or_default()).await?;
        let mut pools: Vec<Connection> = Vec::with_capacity(self.connections.len());
        for (name, url, options) in self.connections {
            if pools.iter().any(|p| p.pool.name() == name) {
                return Err(Error::InvalidUrl {
                    connection: name,
                    url: redact(&url),
                    reason: "the connection is configured twice".into(),
                });
            }
            let read_only = self.read_only.contains(&name) || names::declared_read_only(&name);
            let connect = ConnectOptions::parse(&name, &url, read_only)?;
            let pool = Pool::new(&name, connect, options.clone());
            // Opening one connection proves the URL and the server; it goes
            // straight into the pool for the first caller.
            let mut conn = pool.acquire().await?;
            let can_write = if read_only {
                conn.role_can_write().await
            } else {
                Ok(false)
            };
            if let Err(e) = &can_write {
                tracing::warn!(
                    target: "orm::connection",
                    connection = %name,
                    "could not check whether the role of read-only connection `{name}` can write: {e}"
                );
            }
            if can_write.unwrap_or(false) {
                tracing::warn!(
                    target: "orm::connection",
                    connection = %name,
                    "connection `{name}` is declared read-only, but its database role can write: \
                     the ORM refuses writes and opens read-only sessions, but only a role without \
                     write privileges stops SQL written by an attacker; connect it with such a role"
                );
            }
            drop(conn);
            pool.start_maintenance();
            let replicas =
                open_replicas(&name, &pool, &options, &self.replicas, &self.replication).await?;
            pools.push(Connection {
                pool,
                replicas,
                cache: cache.clone(),
            });
        }
        if let Some((name, _, _)) = self
            .replicas
            .iter()
            .find(|(n, _, _)| !pools.iter().any(|p| p.pool.name() == n.as_str()))
        {
            return Err(Error::NotConfigured {
                connection: name.clone(),
                hint: "`replica` names a connection the builder does not have".into(),
            });
        }
        if let Some(unknown) = self
            .read_only
            .iter()
            .find(|n| !pools.iter().any(|p| p.pool.name() == n.as_str()))
        {
            return Err(Error::NotConfigured {
                connection: unknown.clone(),
                hint: "`read_only` names a connection the builder does not have".into(),
            });
        }
        Ok(Database {
            inner: Arc::new(Inner {
                connections: pools,
                cache,
            }),
            handle: Arc::default(),
        })
    }
}

/// Opens the replicas configured for connection `name`, whose primary is
/// `primary`: each must be on the primary's backend (and not SQLite). A
/// replica that cannot be reached now is not an error: it starts out of
/// rotation (its breaker open) and the health check brings it in when it
/// answers; until one does, reads go to the primary.
async fn open_replicas(
    name: &str,
    primary: &Pool,
    options: &PoolOptions,
    all: &[(String, String, u32)],
    replication: &[(String, ReplicationOptions)],
) -> Result<Option<Arc<ReplicaSet>>> {
    let mine: Vec<&(String, String, u32)> = all.iter().filter(|(n, _, _)| n == name).collect();
    if mine.is_empty() {
        return Ok(None);
    }
    let invalid = |url: &str, reason: String| Error::InvalidConfig {
        connection: name.to_owned(),
        variable: format!("replica {}", redact(url)),
        value: redact(url),
        expected: reason,
    };
    if primary.backend() == Backend::Sqlite {
        return Err(invalid(
            &mine[0].1,
            "no replica: SQLite is a file in this process, with no replication; copy the file \
             and open it as a connection of its own (`read_only`) if a read-only copy is wanted"
                .into(),
        ));
    }
    let mut pools = Vec::with_capacity(mine.len());
    for (_, url, weight) in mine {
        let connect = ConnectOptions::parse(name, url, true)?;
        if connect.backend() != primary.backend() {
            return Err(invalid(
                url,
                format!(
                    "a replica on the primary's backend ({}), not {}",
                    primary.backend(),
                    connect.backend()
                ),
            ));
        }
        let mut replica_options = options.clone();
        replica_options.min_connections = 0;
        pools.push((
            Pool::new(name, connect, replica_options),
            *weight,
            redact(url),
        ));
    }
    let replication = replication
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, o)| *o)
        .unwrap_or_default();
    let set = Arc::new(ReplicaSet::new(pools, replication));
    for replica in &set.replicas {
        match replica.pool.acquire().await {
            Ok(conn) => drop(conn),
            Err(e) => {
                replica.failed();
                tracing::warn!(
                    target: "orm::replicas",
                    connection = %name,
                    "replica {} of connection `{name}` cannot be reached ({e}); its reads go to the other replicas or the primary until it answers",
                    replica.url()
                );
            }
        }
        replica.pool.start_maintenance();
    }
    set.start_checks();
    Ok(Some(set))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn replicas_from_the_environment() {
        let c = config_from_env("db", "DATABASE", &lookup(&[])).unwrap();
        assert!(c.replicas.is_empty());
        let c = config_from_env(
            "db",
            "DATABASE",
            &lookup(&[
                ("DATABASE_REPLICA_URLS", "postgres://a/x, postgres://b/x"),
                ("DATABASE_REPLICA_WEIGHTS", "3,1"),
                ("DATABASE_REPLICA_1_URL", "postgres://c/x"),
                ("DATABASE_REPLICA_2_URL", "postgres://d/x"),
                ("DATABASE_REPLICA_2_WEIGHT", "5"),
            ]),
        )
        .unwrap();
        let got: Vec<(&str, u32)> = c.replicas.iter().map(|(u, w)| (u.as_str(), *w)).collect();
        assert_eq!(
            got,
            [
                ("postgres://a/x", 3),
                ("postgres://b/x", 1),
                ("postgres://c/x", 1),
                ("postgres://d/x", 5)
            ]
        );
        let c = config_from_env(
            "essentials",
            "DATABASE_ESSENTIALS",
            &lookup(&[("DATABASE_ESSENTIALS_REPLICA_URLS", "mysql://a/x")]),
        )
        .unwrap();
        assert_eq!(c.replicas, [("mysql://a/x".to_owned(), 1)]);
        for (bad, var) in [
            (
                &[
                    ("DATABASE_REPLICA_URLS", "postgres://a/x,postgres://b/x"),
                    ("DATABASE_REPLICA_WEIGHTS", "3"),
                ][..],
                "DATABASE_REPLICA_WEIGHTS",
            ),
            (
                &[
                    ("DATABASE_REPLICA_URLS", "postgres://a/x"),
                    ("DATABASE_REPLICA_WEIGHTS", "0"),
                ][..],
                "DATABASE_REPLICA_WEIGHTS",
            ),
            (
                &[("DATABASE_REPLICA_URLS", " , ")][..],
                "DATABASE_REPLICA_URLS",
            ),
            (
                &[("DATABASE_REPLICA_3_WEIGHT", "2")][..],
                "DATABASE_REPLICA_3_WEIGHT",
            ),
            (
                &[("DATABASE_MAX_REPLICA_LAG", "soon")][..],
                "DATABASE_MAX_REPLICA_LAG",
            ),
        ] {
            let pairs: &'static [(&'static str, &'static str)] = bad;
            let err = config_from_env("db", "DATABASE", &lookup(pairs))
                .err()
                .unwrap();
            assert!(
                matches!(&err, Error::InvalidConfig { variable, connection, .. } if variable == var && connection == "db"),
                "{err:?}"
            );
        }
    }
}
