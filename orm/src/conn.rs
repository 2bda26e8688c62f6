//! Opening driver connections and running statements on a pooled one.
//!
//! Every statement goes through [`PooledConn::fetch_all`],
//! [`PooledConn::fetch_optional`] or [`PooledConn::execute`]. Each marks the
//! connection busy for the duration, so a cancelled future leaves a
//! connection the pool will close, and turns driver errors into
//! [`Error`]s that name the connection and carry the SQL.

use std::str::FromStr;
use std::sync::atomic::Ordering;

use futures_util::TryStreamExt;
use sqlx::SqlStr;

use crate::backend::Backend;
use crate::driver::{Args, RowRef};
use crate::error::{Error, Result};
use crate::pool::PooledConn;

/// Parsed connect options for one backend.
#[derive(Clone, Debug)]
pub(crate) enum ConnectOptions {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteConnectOptions, bool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgConnectOptions),
    /// MySQL has no connect-time option for it: `true` runs
    /// `SET SESSION TRANSACTION READ ONLY` on each new connection.
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlConnectOptions, bool),
}

/// The URL with its password replaced, for messages.
pub(crate) fn redact(url: &str) -> String {
    // scheme://user:password@host -> scheme://user:***@host
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((auth, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

impl ConnectOptions {
    /// Parses `url` for the connection called `name`. A `read_only`
    /// connection opens sessions in which the database itself refuses writes.
    pub(crate) fn parse(name: &str, url: &str, read_only: bool) -> Result<ConnectOptions> {
        let invalid = |reason: String| Error::InvalidUrl {
            connection: name.to_owned(),
            url: redact(url),
            reason,
        };
        let Some(backend) = Backend::from_url(url) else {
            return Err(invalid(
                "expected a URL starting with sqlite:, postgres://, mysql:// or mariadb://".into(),
            ));
        };
        match backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let memory = url.contains(":memory:") || url.contains("mode=memory");
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .map_err(|e| invalid(e.to_string()))?
                    .foreign_keys(true);
                // A read-only database is opened read-only, and must exist.
                let options = if read_only {
                    options.read_only(true).create_if_missing(false)
                } else {
                    options.create_if_missing(true)
                };
                Ok(ConnectOptions::Sqlite(options, memory))
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let options = sqlx::postgres::PgConnectOptions::from_str(url)
                    .map_err(|e| invalid(e.to_string()))?;
                // Sent in the startup packet: no extra round trip.
                let options = if read_only {
                    options.options([("default_transaction_read_only", "on")])
                } else {
                    options
                };
                Ok(ConnectOptions::Postgres(options))
            }
            #[cfg(feature = "mysql")]
            Backend::MySql => {
                let url = url
                    .strip_prefix("mariadb")
                    .map(|rest| format!("mysql{rest}"))
                    .unwrap_or_else(|| url.to_owned());
                sqlx::mysql::MySqlConnectOptions::from_str(&url)
                    .map(|o| ConnectOptions::MySql(o, read_only))
                    .map_err(|e| invalid(e.to_string()))
            }
            #[allow(unreachable_patterns)]
            other => Err(Error::BackendNotEnabled {
                connection: name.to_owned(),
                backend: other.name(),
                feature: other.feature(),
            }),
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            ConnectOptions::Sqlite(..) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            ConnectOptions::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            ConnectOptions::MySql(..) => Backend::MySql,
        }
    }

    /// Whether this is an in-memory SQLite database (one per connection).
    pub(crate) fn is_memory(&self) -> bool {
        match self {
            #[cfg(feature = "sqlite")]
            ConnectOptions::Sqlite(_, memory) => *memory,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
}

/// An open driver connection.
pub(crate) enum RawConn {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgConnection),
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlConnection),
}

impl RawConn {
    pub(crate) async fn connect(options: &ConnectOptions) -> Result<RawConn, sqlx::Error> {
        use sqlx::ConnectOptions as _;
        Ok(match options {
            #[cfg(feature = "sqlite")]
            ConnectOptions::Sqlite(o, _) => RawConn::Sqlite(o.connect().await?),
            #[cfg(feature = "postgres")]
            ConnectOptions::Postgres(o) => RawConn::Postgres(o.connect().await?),
            #[cfg(feature = "mysql")]
            ConnectOptions::MySql(o, read_only) => {
                let mut conn = o.connect().await?;
                if *read_only {
                    use sqlx::Executor as _;
                    conn.execute("SET SESSION TRANSACTION READ ONLY").await?;
                }
                RawConn::MySql(conn)
            }
        })
    }
}

/// What a statement that returns no rows reports.
#[derive(Clone, Copy, Debug, Default)]
pub struct Done {
    /// Rows inserted, updated or deleted.
    pub rows_affected: u64,
    /// The key generated by an insert, where the backend reports it (MySQL, SQLite).
    pub last_insert_id: Option<i64>,
}

/// SQL text for a statement: a cached `'static` string or one built for this call.
pub(crate) fn sql_static(sql: &'static str) -> SqlStr {
    sqlx::SqlSafeStr::into_sql_str(sql)
}

/// SQL text built at run time. Values never appear in it: they are bound.
pub(crate) fn sql_owned(sql: String) -> SqlStr {
    sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(sql))
}

/// Expands to one arm per enabled backend, pairing the connection with the
/// arguments of the same backend.
macro_rules! with_conn {
    ($raw:expr, $args:expr, ($c:ident, $a:ident) => $body:expr) => {
        match ($raw, $args) {
            #[cfg(feature = "sqlite")]
            (RawConn::Sqlite($c), Args::Sqlite($a)) => $body,
            #[cfg(feature = "postgres")]
            (RawConn::Postgres($c), Args::Postgres($a)) => $body,
            #[cfg(feature = "mysql")]
            (RawConn::MySql($c), Args::MySql($a)) => $body,
            #[allow(unreachable_patterns)]
            (_, args) => {
                return Err(Error::Encode {
                    rust_type: "arguments",
                    message: format!(
                        "arguments were encoded for {}, not for this connection",
                        args.backend()
                    ),
                })
            }
        }
    };
}

/// Borrows a driver row as the backend-neutral [`RowRef`].
pub(crate) trait AsRowRef {
    fn row_ref(&self) -> RowRef<'_>;
}

#[cfg(feature = "sqlite")]
impl AsRowRef for sqlx::sqlite::SqliteRow {
    fn row_ref(&self) -> RowRef<'_> {
        RowRef::Sqlite(self)
    }
}

#[cfg(feature = "postgres")]
impl AsRowRef for sqlx::postgres::PgRow {
    fn row_ref(&self) -> RowRef<'_> {
        RowRef::Postgres(self)
    }
}

#[cfg(feature = "mysql")]
impl AsRowRef for sqlx::mysql::MySqlRow {
    fn row_ref(&self) -> RowRef<'_> {
        RowRef::MySql(self)
    }
}

/// Why a statement failed: in the driver, or decoding a row it returned.
enum Fail {
    Driver(sqlx::Error),
    Decode(Error),
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Fail::Driver(e)
    }
}

/// One arm per backend, with `$tm` naming that backend's transaction manager.
macro_rules! each_tm {
    ($raw:expr, $c:ident, $tm:ident => $body:expr) => {{
        #[allow(unused_imports)]
        use sqlx_core::transaction::TransactionManager as _;
        match $raw {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite($c) => {
                use sqlx::sqlite::SqliteTransactionManager as $tm;
                $body
            }
            #[cfg(feature = "postgres")]
            RawConn::Postgres($c) => {
                use sqlx::postgres::PgTransactionManager as $tm;
                $body
            }
            #[cfg(feature = "mysql")]
            RawConn::MySql($c) => {
                use sqlx::mysql::MySqlTransactionManager as $tm;
                $body
            }
        }
    }};
}

impl PooledConn {
    /// Ends a statement: clears the busy mark and maps a failure. A connection
    /// error discards the connection so that the pool never reuses it.
    fn finish<T>(&mut self, sql: &SqlStr, result: Result<T, Fail>) -> Result<T> {
        self.busy = false;
        let counters = self.counters();
        counters.queries.fetch_add(1, Ordering::Relaxed);
        if result.is_err() {
            counters.errors.fetch_add(1, Ordering::Relaxed);
        }
        match result {
            Ok(v) => Ok(v),
            Err(Fail::Decode(e)) => Err(e),
            Err(Fail::Driver(e)) => {
                let err = Error::from_sqlx(self.backend(), self.connection_name(), sql.as_str(), e);
                if err.is_connection_error() {
                    self.discard();
                }
                Err(err)
            }
        }
    }

    /// Runs a query and decodes every row with `decode`.
    pub(crate) async fn fetch_all<T>(
        &mut self,
        sql: SqlStr,
        args: Args,
        mut decode: impl FnMut(RowRef<'_>) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        self.busy = true;
        let text = sql.clone();
        let mut out = Vec::new();
        let result = with_conn!(self.raw(), args, (c, a) => {
            let mut rows = sqlx::query_with(sql, a).fetch(&mut *c);
            async {
                while let Some(row) = rows.try_next().await? {
                    out.push(decode(row.row_ref()).map_err(Fail::Decode)?);
                }
                Ok(())
            }
            .await
        });
        self.finish(&text, result).map(|()| out)
    }

    /// Runs a query and decodes its first row, if any.
    pub(crate) async fn fetch_optional<T>(
        &mut self,
        sql: SqlStr,
        args: Args,
        decode: impl FnOnce(RowRef<'_>) -> Result<T> + Send,
    ) -> Result<Option<T>> {
        self.busy = true;
        let text = sql.clone();
        let result = with_conn!(self.raw(), args, (c, a) => {
            match sqlx::query_with(sql, a).fetch_optional(&mut *c).await {
                Ok(Some(row)) => decode(row.row_ref()).map(Some).map_err(Fail::Decode),
                Ok(None) => Ok(None),
                Err(e) => Err(Fail::Driver(e)),
            }
        });
        self.finish(&text, result)
    }

    /// Runs a statement that returns no rows.
    pub(crate) async fn execute(&mut self, sql: SqlStr, args: Args) -> Result<Done> {
        self.busy = true;
        let text = sql.clone();
        let result = with_conn!(self.raw(), args, (c, a) => {
            sqlx::query_with(sql, a)
                .execute(&mut *c)
                .await
                .map(|r| r.into_done())
                .map_err(Fail::Driver)
        });
        self.finish(&text, result)
    }

    /// Runs SQL without parameters, possibly several statements (DDL, transaction control).
    pub(crate) async fn execute_script(&mut self, sql: SqlStr) -> Result<()> {
        self.busy = true;
        let text = sql.clone();
        let result = match self.raw() {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(c) => sqlx::raw_sql(sql).execute(&mut *c).await.map(drop),
            #[cfg(feature = "postgres")]
            RawConn::Postgres(c) => sqlx::raw_sql(sql).execute(&mut *c).await.map(drop),
            #[cfg(feature = "mysql")]
            RawConn::MySql(c) => sqlx::raw_sql(sql).execute(&mut *c).await.map(drop),
        }
        .map_err(Fail::Driver);
        self.finish(&text, result)
    }

    /// Opens a transaction, or a savepoint inside one.
    pub(crate) async fn begin(&mut self) -> Result<()> {
        self.busy = true;
        let result = each_tm!(self.raw(), c, tm => tm::begin(c, None).await).map_err(Fail::Driver);
        self.finish(&sql_static("BEGIN"), result)
    }

    /// Commits the transaction, or releases the innermost savepoint.
    pub(crate) async fn commit(&mut self) -> Result<()> {
        self.busy = true;
        let result = each_tm!(self.raw(), c, tm => tm::commit(c).await).map_err(Fail::Driver);
        self.finish(&sql_static("COMMIT"), result)
    }

    /// Rolls back the transaction, or to the innermost savepoint.
    pub(crate) async fn rollback(&mut self) -> Result<()> {
        self.busy = true;
        let result = each_tm!(self.raw(), c, tm => tm::rollback(c).await).map_err(Fail::Driver);
        self.finish(&sql_static("ROLLBACK"), result)
    }

    /// Queues a rollback to be sent before the connection's next statement
    /// (used on drop, where nothing can be awaited).
    pub(crate) fn start_rollback(&mut self) {
        each_tm!(self.raw(), c, tm => tm::start_rollback(c));
    }

    /// The transaction depth: 0 outside a transaction, 1 inside, more inside savepoints.
    pub(crate) fn transaction_depth(&mut self) -> usize {
        each_tm!(self.raw(), c, tm => tm::get_transaction_depth(c))
    }
}

/// Converts each driver's query result into [`Done`].
trait IntoDone {
    fn into_done(self) -> Done;
}

#[cfg(feature = "sqlite")]
impl IntoDone for sqlx::sqlite::SqliteQueryResult {
    fn into_done(self) -> Done {
        Done {
            rows_affected: self.rows_affected(),
            last_insert_id: Some(self.last_insert_rowid()),
        }
    }
}

#[cfg(feature = "postgres")]
impl IntoDone for sqlx::postgres::PgQueryResult {
    fn into_done(self) -> Done {
        Done {
            rows_affected: self.rows_affected(),
            last_insert_id: None,
        }
    }
}

#[cfg(feature = "mysql")]
impl IntoDone for sqlx::mysql::MySqlQueryResult {
    fn into_done(self) -> Done {
        Done {
            rows_affected: self.rows_affected(),
            last_insert_id: i64::try_from(self.last_insert_id()).ok(),
        }
    }
}
