//! The database handle: named connections, each with its pool.
//!
//! Configure from the environment ([`Database::from_env`], which lists the
//! variables) or in code ([`Database::builder`]).

use std::sync::Arc;
use std::time::Duration;

use super::names::{self, env_prefix, ConnectionName, DefaultConnection};
use super::session::{CallOptions, Operation, Session};
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
}

struct Inner {
    // A handful of entries: a linear scan beats hashing the name.
    pools: Vec<Pool>,
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

    pub(crate) fn pool(&self, name: &str) -> Result<&Pool> {
        self.inner
            .pools
            .iter()
            .find(|p| p.name() == name)
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
        self.inner.pools.iter().map(Pool::name)
    }

    /// The connection called `name`, for raw SQL ([`crate::raw()`]).
    /// [`Error::NotConfigured`] if there is none.
    pub fn connection(&self, name: &str) -> Result<NamedConnection<'_>> {
        Ok(NamedConnection {
            pool: self.pool(name)?,
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

    /// Pool metrics of the connection called `name`.
    pub fn metrics(&self, name: &str) -> Result<PoolMetrics> {
        self.pool(name).map(Pool::metrics)
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
        let conn = self.pool(C::NAME)?.acquire().await?;
        Transaction::begin(conn, &options).await
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
        for pool in &self.inner.pools {
            pool.close();
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
}

/// A connection of a [`Database`], picked by name: where raw SQL and
/// migrations run ([`Database::connection`]).
#[derive(Clone)]
pub struct NamedConnection<'a> {
    pool: &'a Pool,
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

    /// Whether the connection opens read-only sessions.
    pub fn is_read_only(&self) -> bool {
        self.pool.read_only()
    }
    /// The connection's name.
    pub fn name(&self) -> &'a str {
        self.pool.name()
    }

    /// The connection's backend.
    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// A pooled connection for `op`.
    pub(crate) fn session(
        self,
        op: &Operation,
    ) -> impl std::future::Future<Output = Result<Session<'a>>> + Send + 'a {
        let _ = op;
        Session::owned(self.pool, self.call)
    }
}

/// Pool options from `<prefix>_MAX_CONNECTIONS`, `_ACQUIRE_TIMEOUT`,
/// `_IDLE_TIMEOUT` and `_MAX_LIFETIME`.
fn pool_options_from(
    name: &str,
    prefix: &str,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<PoolOptions> {
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
    ] {
        if let Some((var, v)) = read(suffix) {
            options = set(options, optional_seconds(&var, &v)?);
        }
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
    Ok(options)
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_map();
        for pool in &self.inner.pools {
            d.entry(&pool.name(), &pool.backend());
        }
        d.finish()
    }
}

/// Builds a [`Database`] with several named connections.
#[derive(Default)]
pub struct DatabaseBuilder {
    connections: Vec<(String, String, PoolOptions)>,
    read_only: Vec<String>,
}

impl DatabaseBuilder {
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
        let options = pool_options_from(name, &env_prefix(name), lookup)?;
        Ok(self.connection_with(name, url, options))
    }

    /// Opens connection `name` in read-only sessions, as if it had been
    /// declared `read_only` (a declared one always is).
    pub fn read_only(mut self, name: &str) -> Self {
        self.read_only.push(name.to_owned());
        self
    }

    /// Parses every URL and opens one connection of each, so that a bad URL
    /// or an unreachable server is reported now, naming its connection.
    pub async fn build(self) -> Result<Database> {
        let mut pools: Vec<Pool> = Vec::with_capacity(self.connections.len());
        for (name, url, options) in self.connections {
            if pools.iter().any(|p| p.name() == name) {
                return Err(Error::InvalidUrl {
                    connection: name,
                    url: redact(&url),
                    reason: "the connection is configured twice".into(),
                });
            }
            let read_only = self.read_only.contains(&name) || names::declared_read_only(&name);
            let connect = ConnectOptions::parse(&name, &url, read_only)?;
            let pool = Pool::new(&name, connect, options);
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
            pools.push(pool);
        }
        if let Some(unknown) = self
            .read_only
            .iter()
            .find(|n| !pools.iter().any(|p| p.name() == n.as_str()))
        {
            return Err(Error::NotConfigured {
                connection: unknown.clone(),
                hint: "`read_only` names a connection the builder does not have".into(),
            });
        }
        Ok(Database {
            inner: Arc::new(Inner { pools }),
        })
    }
}
