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
use crate::routing::{ConnectionName, Executor, Operation, Savepoint, Session, Transaction};

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

pub use crate::routing::NamedConnection;

/// Where raw SQL runs: a named connection ([`Database::connection`](crate::Database::connection))
/// or `&mut` a transaction.
pub trait RawExecutor<'e>: Send {
    /// The connection for `op`: chosen by routing.
    #[doc(hidden)]
    fn __session(self, op: &Operation) -> impl Future<Output = Result<Session<'e>>> + Send + 'e;
}

impl<'e> RawExecutor<'e> for NamedConnection<'e> {
    fn __session(self, op: &Operation) -> impl Future<Output = Result<Session<'e>>> + Send + 'e {
        self.session(op)
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

    fn args(&self, session: &Session<'_>) -> Result<Args> {
        let mut args = Args::new(session.backend());
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
            let op = Operation::raw();
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
            let op = Operation::raw();
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
            let op = Operation::raw();
            let mut session = on.__session(&op).await?;
            let args = self.args(&session)?;
            session.execute(&op, sql_owned(self.sql), args).await
        }
    }
}
