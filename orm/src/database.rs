//! The database handle: named connections, each with its pool.
//!
//! Configure from the environment ([`Database::from_env`], which lists the
//! variables) or in code ([`Database::builder`]).

use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use crate::conn::{sql_owned, ConnectOptions};
use crate::error::{Error, Result};
use crate::model::{ConnectionName, DefaultConnection, Model};
use crate::pool::{Pool, PoolMetrics, PoolOptions};
use crate::registry::{self, env_prefix};
use crate::transaction::Transaction;

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

    /// Opens every connection that is declared (`orm::connections!`) or used
    /// by a model, from the process environment, then checks the models: see
    /// [`validate`](Self::validate).
    ///
    /// The environment has one family of variables per connection: for the
    /// default connection `db`,
    ///
    /// | variable | meaning |
    /// | --- | --- |
    /// | `DATABASE_URL` | the URL (required) |
    /// | `DATABASE_MAX_CONNECTIONS` | pool size (default 10) |
    /// | `DATABASE_ACQUIRE_TIMEOUT` | seconds to wait for a connection (default 30) |
    /// | `DATABASE_IDLE_TIMEOUT` | seconds before an unused connection closes (default 600; `off`) |
    /// | `DATABASE_MAX_LIFETIME` | seconds a connection lives (default 1800; `off`) |
    ///
    /// and for a connection named `essentials` the same with `DATABASE_ESSENTIALS_`
    /// in place of `DATABASE_` (`DATABASE_ESSENTIALS_URL`, ...).
    pub async fn from_env() -> Result<Database> {
        Database::from_env_with(|name| std::env::var(name).ok()).await
    }

    /// [`from_env`](Self::from_env), reading variables through `lookup`.
    pub async fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Database> {
        let mut names: Vec<&'static str> = registry::connections()
            .map(|c| c.name)
            .chain(registry::models().map(|m| m.schema.connection))
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut builder = Database::builder();
        for name in names {
            let prefix = env_prefix(name);
            let Some(url) = lookup(&format!("{prefix}_URL")) else {
                if let Some(model) = registry::models().find(|m| m.schema.connection == name) {
                    return Err(Error::NotConfigured {
                        connection: name.to_owned(),
                        hint: format!("set {prefix}_URL (model `{}` lives there)", model.model),
                    });
                }
                continue;
            };
            let options = pool_options_from(name, &prefix, &lookup)?;
            builder = builder.connection_with(name, &url, options);
        }
        let db = builder.build().await?;
        db.validate()?;
        Ok(db)
    }

    /// Checks every model in the program against the configured connections:
    /// its connection must be configured, and its backend must hold each of
    /// its column types. [`from_env`](Self::from_env) calls this.
    pub fn validate(&self) -> Result<()> {
        // Missing connections first: they are the likelier mistake.
        for model in registry::models() {
            if self.pool(model.schema.connection).is_err() {
                return Err(Error::NotConfigured {
                    connection: model.schema.connection.to_owned(),
                    hint: format!(
                        "set {}_URL, or add it to the builder (model `{}` lives there)",
                        env_prefix(model.schema.connection),
                        model.model
                    ),
                });
            }
        }
        for model in registry::models() {
            let backend = self.pool(model.schema.connection)?.backend();
            if let Some((column, rust_type)) = model.schema.unsupported_column(backend) {
                return Err(Error::UnsupportedType {
                    backend: backend.name(),
                    rust_type,
                    context: format!(
                        " (column `{column}` of model `{}`, table `{}`)",
                        model.model, model.schema.name
                    ),
                });
            }
        }
        Ok(())
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
    pub fn connection(&self, name: &str) -> Result<crate::raw::NamedConnection<'_>> {
        Ok(crate::raw::NamedConnection::new(self.pool(name)?))
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

    /// Creates model `M`'s table (and its indexes) from its schema, unless it
    /// exists. Migrations generated from the models supersede this helper.
    pub async fn create_table<M: Model>(&self) -> Result<()> {
        let pool = self.pool(<M::Connection as ConnectionName>::NAME)?;
        let backend = pool.backend();
        check_types::<M>(backend)?;
        let mut conn = pool.acquire().await?;
        if crate::crud::table_exists(&mut conn, M::SCHEMA.name).await? {
            return Ok(());
        }
        // PostgreSQL and SQLite run DDL in transactions: the table and its
        // indexes appear together or not at all. MySQL commits each statement.
        let transactional = backend != Backend::MySql;
        if transactional {
            conn.begin().await?;
        }
        for sql in M::SCHEMA.create_sql(backend, false) {
            if let Err(e) = conn.execute_script(sql_owned(sql)).await {
                if transactional {
                    conn.rollback().await?;
                }
                return Err(e);
            }
        }
        if transactional {
            conn.commit().await?;
        }
        Ok(())
    }

    /// Drops model `M`'s table if it exists.
    pub async fn drop_table<M: Model>(&self) -> Result<()> {
        let pool = self.pool(<M::Connection as ConnectionName>::NAME)?;
        let sql = M::SCHEMA.drop_sql(pool.backend(), true);
        pool.acquire().await?.execute_script(sql_owned(sql)).await
    }

    /// Closes every pool; later operations fail with [`Error::PoolClosed`].
    pub fn close(&self) {
        for pool in &self.inner.pools {
            pool.close();
        }
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

/// Refuses a model whose column types the backend cannot store.
pub(crate) fn check_types<M: Model>(backend: Backend) -> Result<()> {
    match M::SCHEMA.unsupported_column(backend) {
        Some((column, rust_type)) => Err(Error::UnsupportedType {
            backend: backend.name(),
            rust_type,
            context: format!(" (column `{column}` of model `{}`)", M::NAME),
        }),
        None => Ok(()),
    }
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
                    url: crate::conn::redact(&url),
                    reason: "the connection is configured twice".into(),
                });
            }
            let read_only = self.read_only.contains(&name) || registry::declared_read_only(&name);
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
