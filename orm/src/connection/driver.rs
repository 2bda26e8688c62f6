//! The per-backend values behind the crate's backend-neutral API.
//!
//! A connection's backend is known only at run time (from its URL), so the
//! driver types are enums with one variant per enabled backend. Each call
//! dispatches once per statement or per value, never through a box.

use std::sync::atomic::{AtomicUsize, Ordering};

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
pub struct Args {
    pub(crate) driver: DriverArgs,
    /// The values as text, in order, for the `db.query.parameter.<n>`
    /// attributes of the statement's span: only while some connection
    /// opted in with [`PoolOptions::trace_parameters`](crate::PoolOptions::trace_parameters)
    /// (boxed: `None` is one word in every statement's future, where a
    /// `Vec` would be three).
    #[allow(clippy::box_collection)]
    pub(crate) shown: Option<Box<Vec<String>>>,
}

/// The driver's own arguments.
#[derive(Clone)]
pub(crate) enum DriverArgs {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteArguments),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgArguments),
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlArguments),
}

impl DriverArgs {
    /// The backend these arguments are encoded for.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            DriverArgs::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            DriverArgs::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            DriverArgs::MySql(_) => Backend::MySql,
        }
    }
}

/// How many built pools opted in to parameters in spans; while none did,
/// no value is written out as text.
static SHOWING_PARAMETERS: AtomicUsize = AtomicUsize::new(0);

/// A pool that records its statements' parameters in spans was built
/// (`PoolOptions::trace_parameters`): values bound from now on are kept
/// as text too. Never undone (a dropped pool's handle may live on in a
/// clone); the cost is one string per value, in processes that opted in.
pub(crate) fn show_parameters() {
    SHOWING_PARAMETERS.fetch_add(1, Ordering::Relaxed);
}

impl Args {
    /// Empty arguments for `backend`.
    pub(crate) fn new(backend: Backend) -> Args {
        let driver = match backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => DriverArgs::Sqlite(Default::default()),
            #[cfg(feature = "postgres")]
            Backend::Postgres => DriverArgs::Postgres(Default::default()),
            #[cfg(feature = "mysql")]
            Backend::MySql => DriverArgs::MySql(Default::default()),
            // A connection of a disabled backend is refused when it is
            // configured, so no statement is ever rendered for one.
            #[allow(unreachable_patterns)]
            other => unreachable!("backend {other} is not compiled in"),
        };
        let shown = (SHOWING_PARAMETERS.load(Ordering::Relaxed) > 0).then(Box::default);
        Args { driver, shown }
    }

    /// The backend these arguments are encoded for.
    pub fn backend(&self) -> Backend {
        self.driver.backend()
    }

    /// How many parameters were bound.
    pub fn len(&self) -> usize {
        use sqlx::Arguments as _;
        each_backend!(&self.driver, DriverArgs, a => a.len())
    }

    /// Whether no parameter was bound.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the text of the value just bound, when parameters are shown
    /// in spans (`text` is not called otherwise).
    pub(crate) fn show(&mut self, text: impl FnOnce() -> String) {
        if let Some(shown) = &mut self.shown {
            shown.push(text());
        }
    }

    /// The bound values as text, when parameters are shown in spans.
    #[cfg(feature = "spans")]
    pub(crate) fn shown(&self) -> Option<&[String]> {
        self.shown.as_deref().map(Vec::as_slice)
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
