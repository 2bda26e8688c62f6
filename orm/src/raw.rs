//! Raw SQL, visibly: for what the query builder does not express.
//!
//! The SQL is sent as written, in the backend's own dialect and placeholder
//! style (`$1` on PostgreSQL, `?` on SQLite and MySQL). Values are still bound
//! with [`Raw::bind`], never spliced into the text. Rows decode into a model
//! or a tuple of field types.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! let db = orm::Database::connect("sqlite::memory:").await?;
//! let (n, name): (i64, String) = orm::raw("SELECT ? + 1, ?")
//!     .bind(41_i64)
//!     .bind("answer".to_owned())
//!     .fetch_one(db.connection("db")?)
//!     .await?;
//! assert_eq!((n, name.as_str()), (42, "answer"));
//! # Ok(()) }
//! ```

// The `async` methods here are written as `fn ... -> impl Future + Send`:
// spelled out, `Send` lets callers spawn them; left to `async fn`, rustc
// cannot prove it for futures that hold a generic executor.
#![allow(clippy::manual_async_fn)]

use std::future::Future;

use crate::connection::conn::{sql_owned, Done};
use crate::connection::driver::{Args, RowRef};
use crate::error::{Error, Result};
use crate::model::types::{FieldType, Value};
use crate::model::Model;
use crate::routing::cache::{CacheRoute, Codec};
use crate::routing::{
    Access, Cacheable, ConnectionName, Executor, Operation, Savepoint, Session, Transaction,
};

/// Starts a raw statement; see the [module docs](self).
pub fn raw(sql: impl Into<String>) -> Raw {
    Raw {
        sql: sql.into(),
        values: Vec::new(),
        tables: &[],
    }
}

/// A raw SQL statement and its bound values.
#[must_use = "a raw statement does nothing until it is run"]
#[derive(Clone, Debug)]
pub struct Raw {
    sql: String,
    values: Vec<Value>,
    /// The tables it reads or writes, as the caller names them.
    tables: &'static [&'static str],
}

pub use crate::routing::NamedConnection;

/// Where raw SQL runs: a named connection ([`Database::connection`](crate::Database::connection))
/// or `&mut` a transaction.
pub trait RawExecutor<'e>: Send {
    /// The connection for `op`: chosen by routing.
    #[doc(hidden)]
    fn __session(self, op: &Operation) -> impl Future<Output = Result<Session<'e>>> + Send + 'e;

    /// Where a cached read runs: `None` inside a transaction, whose reads
    /// never use the cache.
    #[doc(hidden)]
    fn __cache_route(&self) -> Option<CacheRoute<'e>> {
        None
    }
}

impl<'e> RawExecutor<'e> for NamedConnection<'e> {
    fn __session(self, op: &Operation) -> impl Future<Output = Result<Session<'e>>> + Send + 'e {
        self.session(op)
    }

    fn __cache_route(&self) -> Option<CacheRoute<'e>> {
        Some(self.cache_route())
    }
}

impl<'e, C: ConnectionName> RawExecutor<'e> for &'e mut Transaction<C> {
    fn __session(self, op: &Operation) -> impl Future<Output = Result<Session<'e>>> + Send + 'e {
        <Self as Executor<'e, C>>::__session(self, op)
    }
}

impl<'e, 't, C: ConnectionName> RawExecutor<'e> for &'e mut Savepoint<'t, C> {
    fn __session(self, op: &Operation) -> impl Future<Output = Result<Session<'e>>> + Send + 'e {
        <Self as Executor<'e, C>>::__session(self, op)
    }
}

/// What a raw row decodes into: a model (its columns in field order) or a
/// tuple of field types.
#[diagnostic::on_unimplemented(
    message = "a raw row cannot be decoded into `{Self}`",
    label = "expected a model or a tuple of field types",
    note = "decode into a model, or into a tuple such as `(i64, String)`; for one column use `(T,)`"
)]
pub trait FromRow: Sized + Send + 'static {
    #[doc(hidden)]
    fn from_row(row: RowRef<'_>) -> Result<Self>;
}

impl<M: Model> FromRow for M {
    fn from_row(row: RowRef<'_>) -> Result<M> {
        M::__decode(row, 0)
    }
}

macro_rules! tuple_from_row {
    ($($name:ident $index:tt),+) => {
        impl<$($name: FieldType),+> FromRow for ($($name,)+) {
            fn from_row(row: RowRef<'_>) -> Result<Self> {
                Ok(($($name::decode(row, $index)?,)+))
            }
        }
    };
}
tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

impl Raw {
    /// Binds the next parameter.
    pub fn bind<V: FieldType>(mut self, value: V) -> Self {
        self.values.push(value.into_value());
        self
    }

    /// Names the tables the statement reads or writes, which its text is
    /// never read to find out. The query cache uses them: a statement
    /// naming its tables that is run (not [`cached`](Self::cached)) counts
    /// as a write of them, and invalidates their cached reads once it is
    /// stored (after the commit, inside a transaction), unless its
    /// connection was marked [`read`](NamedConnection::read); a raw write
    /// that names no table invalidates nothing (its effects on cached
    /// reads last until their TTL passes).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
    /// # let db = orm::Database::connect("sqlite::memory:").await?;
    /// # orm::raw("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)").execute(db.connection("db")?).await?;
    /// orm::raw("UPDATE orders SET total = total * 1.1")
    ///     .tables(&["orders"])
    ///     .execute(db.connection("db")?)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn tables(mut self, tables: &'static [&'static str]) -> Self {
        self.tables = tables;
        self
    }

    /// Caches the rows of this read for the cache's default TTL (see
    /// [`Select::cached`](crate::Select::cached)), keyed by the SQL, the
    /// bound values and the connection, and invalidated by writes to the
    /// tables named with [`tables`](Self::tables). A read that names no
    /// table cannot be invalidated: running it cached fails with
    /// [`Error::InvalidQuery`] before anything is sent.
    pub fn cached(self) -> CachedRaw {
        CachedRaw {
            raw: self,
            ttl: None,
        }
    }

    /// [`cached`](Self::cached), with entries kept for `ttl`.
    pub fn cached_for(self, ttl: std::time::Duration) -> CachedRaw {
        CachedRaw {
            raw: self,
            ttl: Some(ttl),
        }
    }

    /// The operation the statement is: a write, as far as routing can
    /// tell, of the tables it names.
    fn op(&self) -> Operation {
        Operation {
            tables: std::borrow::Cow::Borrowed(self.tables),
            ..Operation::raw()
        }
    }

    fn args(&self, session: &Session<'_>) -> Result<Args> {
        self.args_for(session.backend())
    }

    fn args_for(&self, backend: crate::Backend) -> Result<Args> {
        let mut args = Args::new(backend);
        for v in &self.values {
            v.bind(&mut args)?;
        }
        Ok(args)
    }

    /// Runs the statement and decodes every row.
    pub fn fetch_all<'e, T: FromRow>(
        self,
        on: impl RawExecutor<'e> + 'e,
    ) -> impl std::future::Future<Output = Result<Vec<T>>> + Send + 'e {
        async move {
            let op = self.op();
            let mut session = on.__session(&op).await?;
            let args = self.args(&session)?;
            session
                .fetch_all(&op, sql_owned(self.sql), args, T::from_row)
                .await
        }
    }

    /// Runs the statement and decodes its first row, if any.
    pub fn fetch_optional<'e, T: FromRow>(
        self,
        on: impl RawExecutor<'e> + 'e,
    ) -> impl std::future::Future<Output = Result<Option<T>>> + Send + 'e {
        async move {
            let op = self.op();
            let mut session = on.__session(&op).await?;
            let args = self.args(&session)?;
            session
                .fetch_optional(&op, sql_owned(self.sql), args, T::from_row)
                .await
        }
    }

    /// Runs the statement and decodes its first row, or [`Error::NotFound`].
    pub fn fetch_one<'e, T: FromRow>(
        self,
        on: impl RawExecutor<'e> + 'e,
    ) -> impl std::future::Future<Output = Result<T>> + Send + 'e {
        async move {
            self.fetch_optional(on)
                .await?
                .ok_or(Error::NotFound { model: "raw row" })
        }
    }

    /// Runs a statement that returns no rows.
    pub fn execute<'e>(
        self,
        on: impl RawExecutor<'e> + 'e,
    ) -> impl std::future::Future<Output = Result<Done>> + Send + 'e {
        async move {
            let op = self.op();
            let mut session = on.__session(&op).await?;
            let args = self.args(&session)?;
            session.execute(&op, sql_owned(self.sql), args).await
        }
    }
}

/// A raw read whose rows are cached; see [`Raw::cached`].
#[must_use = "a raw statement does nothing until it is run"]
#[derive(Clone, Debug)]
pub struct CachedRaw {
    raw: Raw,
    ttl: Option<std::time::Duration>,
}

impl CachedRaw {
    /// Every row: from the cache, or from the database (then cached). On a
    /// [named connection](crate::Database::connection) only; inside a
    /// transaction the statement goes to the database, uncached.
    /// [`Error::InvalidQuery`] if the statement names no table.
    pub fn fetch_all<'e, T: FromRow + Cacheable>(
        self,
        on: impl RawExecutor<'e> + 'e,
    ) -> impl std::future::Future<Output = Result<Vec<T>>> + Send + 'e {
        let CachedRaw { raw, ttl } = self;
        async move {
            if raw.tables.is_empty() {
                return Err(Error::InvalidQuery {
                    message: "a cached raw read must name the tables it reads, so that writes to \
                              them invalidate it: add `.tables(&[\"table\", ...])` before `.cached()`"
                        .into(),
                });
            }
            let Some(route) = on.__cache_route() else {
                return raw.fetch_all(on).await;
            };
            let op = &Operation {
                access: Access::Read,
                ..raw.op()
            };
            let Raw { sql, values, .. } = raw;
            route
                .read(
                    op,
                    ttl,
                    Codec::serde(),
                    |backend| {
                        let mut args = Args::new(backend);
                        let mut key = Vec::new();
                        for v in &values {
                            v.bind(&mut args)?;
                            v.encode_key(&mut key);
                        }
                        Ok((sql_owned(sql), args, key))
                    },
                    |mut session, sql, args| async move {
                        session.fetch_all(op, sql, args, T::from_row).await
                    },
                )
                .await
        }
    }

    /// The first row, if any: [`fetch_all`](Self::fetch_all)'s first.
    pub fn fetch_optional<'e, T: FromRow + Cacheable>(
        self,
        on: impl RawExecutor<'e> + 'e,
    ) -> impl std::future::Future<Output = Result<Option<T>>> + Send + 'e {
        let rows = self.fetch_all::<T>(on);
        async move { Ok(rows.await?.into_iter().next()) }
    }
}
