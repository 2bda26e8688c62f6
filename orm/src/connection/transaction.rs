//! Transaction control on a pooled connection: begin, commit and rollback,
//! with savepoints for nesting (the depth is the driver's).

use super::conn::{sql_static, Fail};
use super::connect::RawConn;
use super::pool::PooledConn;
use crate::error::Result;

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
