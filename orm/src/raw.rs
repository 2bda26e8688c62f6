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

use crate::conn::{sql_owned, Done};
use crate::driver::{Args, RowRef};
use crate::error::{Error, Result};
use crate::executor::ConnRef;
use crate::model::{ConnectionName, Model};
use crate::pool::Pool;
use crate::transaction::Transaction;
use crate::types::{FieldType, Value};

/// Starts a raw statement; see the [module docs](self).
pub fn raw(sql: impl Into<String>) -> Raw {
    Raw {
        sql: sql.into(),
        values: Vec::new(),
    }
}

/// A raw SQL statement and its bound values.
#[must_use = "a raw statement does nothing until it is run"]
#[derive(Clone, Debug)]
pub struct Raw {
    sql: String,
    values: Vec<Value>,
}

/// Where raw SQL runs: a named connection ([`Database::connection`](crate::Database::connection))
/// or `&mut` a transaction.
pub trait RawExecutor<'e>: Send {
    #[doc(hidden)]
    fn __acquire(self) -> impl Future<Output = Result<ConnRef<'e>>> + Send + 'e;
}

/// A connection of a [`Database`](crate::Database), picked by name.
#[derive(Clone)]
pub struct NamedConnection<'a> {
    pool: &'a Pool,
}

impl<'a> NamedConnection<'a> {
    pub(crate) fn new(pool: &'a Pool) -> Self {
        NamedConnection { pool }
    }
}

impl<'e> RawExecutor<'e> for NamedConnection<'e> {
    async fn __acquire(self) -> Result<ConnRef<'e>> {
        Ok(ConnRef::Owned(self.pool.acquire().await?))
    }
}

impl<'e, C: ConnectionName> RawExecutor<'e> for &'e mut Transaction<C> {
    async fn __acquire(self) -> Result<ConnRef<'e>> {
        Ok(ConnRef::Borrowed(self.conn_mut()?))
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

    fn args(&self, conn: &ConnRef<'_>) -> Result<Args> {
        let mut args = Args::new(conn.backend());
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
            let mut conn = on.__acquire().await?;
            let args = self.args(&conn)?;
            conn.fetch_all(sql_owned(self.sql), args, T::from_row).await
        }
    }

    /// Runs the statement and decodes its first row, if any.
    pub fn fetch_optional<'e, T: FromRow>(
        self,
        on: impl RawExecutor<'e> + 'e,
    ) -> impl std::future::Future<Output = Result<Option<T>>> + Send + 'e {
        async move {
            let mut conn = on.__acquire().await?;
            let args = self.args(&conn)?;
            conn.fetch_optional(sql_owned(self.sql), args, T::from_row)
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
            let mut conn = on.__acquire().await?;
            let args = self.args(&conn)?;
            conn.execute(sql_owned(self.sql), args).await
        }
    }
}
