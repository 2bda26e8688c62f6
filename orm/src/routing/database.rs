//! The database handle: named connections, each with its pool.
//!
//! Configure from the environment ([`Database::from_env`], which lists the
//! variables) or in code ([`Database::builder`]).

use std::sync::Arc;
use std::time::Duration;

use super::names::{self, env_prefix, ConnectionName, DefaultConnection};
use super::session::{Operation, Session};
use super::transaction::Transaction;
use crate::backend::Backend;
use crate::connection::connect::{redact, ConnectOptions};
use crate::connection::pool::{Pool, PoolMetrics, PoolOptions};
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
    pub fn connection(&self, name: &str) -> Result<NamedConnection<'_>> {
        Ok(NamedConnection {
            pool: self.pool(name)?,
        })
    }

    /// Pool metrics of the connection called `name`.
    pub fn metrics(&self, name: &str) -> Result<PoolMetrics> {
        self.pool(name).map(Pool::metrics)
    }

    /// Opens a transaction on the default connection.
    pub async fn begin(&self) -> Result<Transaction<DefaultConnection>> {
        self.begin_on::<DefaultConnection>().await
    }

    /// Opens a transaction on connection `C`. It can run statements only for
    /// models on `C`: passing it for a model on another connection does not
    /// compile.
    pub async fn begin_on<C: ConnectionName>(&self) -> Result<Transaction<C>> {
        let conn = self.pool(C::NAME)?.acquire().await?;
        Transaction::begin(conn).await
    }

    /// Closes every pool; later operations fail with [`Error::PoolClosed`].
    pub fn close(&self) {
        for pool in &self.inner.pools {
            pool.close();
        }
    }
}

/// A connection of a [`Database`], picked by name: where raw SQL and
/// migrations run ([`Database::connection`]).
#[derive(Clone)]
pub struct NamedConnection<'a> {
    pool: &'a Pool,
}

impl<'a> NamedConnection<'a> {
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
        async move { Ok(Session::owned(self.pool.acquire().await?)) }
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
    let seconds = |variable: &str, value: &str| -> Result<Duration> {
        value
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .ok_or_else(|| invalid(variable, value, "a number of seconds"))
    };
    let mut options = PoolOptions::default();
    let var = format!("{prefix}_MAX_CONNECTIONS");
    if let Some(v) = lookup(&var) {
        let n = v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| invalid(&var, &v, "a whole number from 1"))?;
        options = options.max_connections(n);
    }
    let var = format!("{prefix}_ACQUIRE_TIMEOUT");
    if let Some(v) = lookup(&var) {
        options = options.acquire_timeout(seconds(&var, &v)?);
    }
    for (suffix, set) in [
        (
            "_IDLE_TIMEOUT",
            PoolOptions::idle_timeout as fn(PoolOptions, Option<Duration>) -> PoolOptions,
        ),
        ("_MAX_LIFETIME", PoolOptions::max_lifetime),
    ] {
        let var = format!("{prefix}{suffix}");
        if let Some(v) = lookup(&var) {
            let value = match v.trim() {
                "off" | "none" | "never" => None,
                _ => Some(seconds(&var, &v)?),
            };
            options = set(options, value);
        }
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
            let pool = Pool::new(&name, connect, options, read_only);
            // Opening one connection proves the URL and the server; it goes
            // straight into the pool for the first caller.
            drop(pool.acquire().await?);
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
