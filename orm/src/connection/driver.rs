//! The per-backend values behind the crate's backend-neutral API.
//!
//! A connection's backend is known only at run time (from its URL), so the
//! driver types are enums with one variant per enabled backend. Each call
//! dispatches once per statement or per value, never through a box.

use crate::backend::Backend;
use crate::error::{Error, Result};

/// Expands to one match arm per enabled backend, binding the inner value to
/// `$v` and evaluating the same `$body` for each.
macro_rules! each_backend {
    ($value:expr, $enum:ident, $v:ident => $body:expr) => {
        match $value {
            #[cfg(feature = "sqlite")]
            $enum::Sqlite($v) => $body,
            #[cfg(feature = "postgres")]
            $enum::Postgres($v) => $body,
            #[cfg(feature = "mysql")]
            $enum::MySql($v) => $body,
        }
    };
}
#[allow(unused_imports)] // used only with some type features
pub(crate) use each_backend;

/// Parameters bound to one statement, for the backend it will run on.
#[doc(hidden)]
#[derive(Clone)]
pub enum Args {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteArguments),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgArguments),
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlArguments),
}

impl Args {
    /// Empty arguments for `backend`.
    pub(crate) fn new(backend: Backend) -> Args {
        match backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => Args::Sqlite(Default::default()),
            #[cfg(feature = "postgres")]
            Backend::Postgres => Args::Postgres(Default::default()),
            #[cfg(feature = "mysql")]
            Backend::MySql => Args::MySql(Default::default()),
            // A connection of a disabled backend is refused when it is
            // configured, so no statement is ever rendered for one.
            #[allow(unreachable_patterns)]
            other => unreachable!("backend {other} is not compiled in"),
        }
    }

    /// The backend these arguments are encoded for.
    pub fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            Args::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Args::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            Args::MySql(_) => Backend::MySql,
        }
    }

    /// How many parameters were bound.
    pub fn len(&self) -> usize {
        use sqlx::Arguments as _;
        each_backend!(self, Args, a => a.len())
    }

    /// Whether no parameter was bound.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One row of a result, borrowed from the driver.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub enum RowRef<'r> {
    #[cfg(feature = "sqlite")]
    Sqlite(&'r sqlx::sqlite::SqliteRow),
    #[cfg(feature = "postgres")]
    Postgres(&'r sqlx::postgres::PgRow),
    #[cfg(feature = "mysql")]
    MySql(&'r sqlx::mysql::MySqlRow),
}

/// Adds `value` to `args`, mapping the driver's encode error.
pub(crate) fn add<A, T>(args: &mut A, value: T, rust_type: &'static str) -> Result<()>
where
    A: sqlx::Arguments,
    T: for<'t> sqlx::Encode<'t, A::Database> + sqlx::Type<A::Database>,
{
    args.add(value).map_err(|e| Error::Encode {
        rust_type,
        message: e.to_string(),
    })
}

/// Reads column `index` of `row` as `T`.
pub(crate) fn get<'r, R, T>(row: &'r R, index: usize, rust_type: &'static str) -> Result<T>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    row.try_get::<T, usize>(index)
        .map_err(|source| Error::Decode {
            column: format!("#{index}"),
            rust_type,
            source,
        })
}

/// Reads column `index` of `row` as an `i64` (the connection layer's own
/// catalog queries; models decode through their field types).
pub(crate) fn get_i64(row: RowRef<'_>, index: usize) -> Result<i64> {
    each_backend!(row, RowRef, r => get::<_, i64>(r, index, "i64"))
}
