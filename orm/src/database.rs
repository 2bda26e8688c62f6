//! The database handle: named connections, each with its pool.

use std::sync::Arc;

use crate::backend::Backend;
use crate::conn::{sql_owned, ConnectOptions};
use crate::error::{Error, Result};
use crate::model::{ConnectionName, DefaultConnection, Model};
use crate::pool::{Pool, PoolOptions};
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

    /// Opens the default connection from the `DATABASE_URL` variable.
    pub async fn from_env() -> Result<Database> {
        let url = std::env::var("DATABASE_URL").map_err(|_| Error::NotConfigured {
            connection: DefaultConnection::NAME.to_owned(),
            hint: "set DATABASE_URL".to_owned(),
        })?;
        Database::connect(&url).await
    }

    pub(crate) fn pool(&self, name: &str) -> Result<&Pool> {
        self.inner
            .pools
            .iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| Error::NotConfigured {
                connection: name.to_owned(),
                hint: format!("add it with `Database::builder().connection(\"{name}\", url)`"),
            })
    }

    /// The backend of the connection called `name`.
    pub fn backend(&self, name: &str) -> Result<Backend> {
        self.pool(name).map(Pool::backend)
    }

    /// Opens a transaction on the default connection.
    pub async fn begin(&self) -> Result<Transaction<DefaultConnection>> {
        self.begin_on::<DefaultConnection>().await
    }

    /// Opens a transaction on connection `C`.
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

    /// Connections of `name` that are open and idle in the pool.
    pub fn idle_connections(&self, name: &str) -> Result<usize> {
        self.pool(name).map(Pool::idle_count)
    }
}

/// Refuses a model whose column types the backend cannot store.
pub(crate) fn check_types<M: Model>(backend: Backend) -> Result<()> {
    M::__check_types(backend).map_err(|(column, rust_type)| Error::UnsupportedType {
        backend: backend.name(),
        rust_type,
        context: format!(" (column `{column}` of model `{}`)", M::NAME),
    })
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
            let pool = Pool::new(&name, ConnectOptions::parse(&name, &url)?, options);
            // Opening one connection proves the URL and the server; it goes
            // straight into the pool for the first caller.
            drop(pool.acquire().await?);
            pools.push(pool);
        }
        Ok(Database {
            inner: Arc::new(Inner { pools }),
        })
    }
}
