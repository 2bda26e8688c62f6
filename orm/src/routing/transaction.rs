//! Transactions on one named connection.
//!
//! ```no_run
//! # async fn demo(db: &orm::Database) -> orm::Result<()> {
//! let mut tx = db.begin().await?;
//! // ... model operations with `&mut tx` ...
//! tx.commit().await?; // without this, dropping `tx` rolls back
//! # Ok(()) }
//! ```

use std::marker::PhantomData;

use super::names::{ConnectionName, DefaultConnection};
use crate::connection::pool::PooledConn;
use crate::error::{Error, Result};

/// An open transaction on connection `C`. Pass `&mut tx` wherever a model
/// operation takes an executor. It rolls back when dropped without
/// [`commit`](Self::commit), including while unwinding from a panic.
pub struct Transaction<C: ConnectionName = DefaultConnection> {
    conn: Option<PooledConn>,
    _connection: PhantomData<fn() -> C>,
}

impl<C: ConnectionName> Transaction<C> {
    pub(crate) async fn begin(mut conn: PooledConn) -> Result<Self> {
        conn.begin().await?;
        Ok(Transaction {
            conn: Some(conn),
            _connection: PhantomData,
        })
    }

    pub(crate) fn conn_mut(&mut self) -> Result<&mut PooledConn> {
        self.conn.as_mut().ok_or_else(|| Error::PoolClosed {
            connection: C::NAME.to_owned(),
        })
    }

    /// Makes the transaction's writes permanent.
    pub async fn commit(mut self) -> Result<()> {
        let mut conn = self.take()?;
        conn.commit().await
    }

    /// Undoes the transaction's writes.
    pub async fn rollback(mut self) -> Result<()> {
        let mut conn = self.take()?;
        conn.rollback().await
    }

    fn take(&mut self) -> Result<PooledConn> {
        self.conn.take().ok_or_else(|| Error::PoolClosed {
            connection: C::NAME.to_owned(),
        })
    }
}

impl<C: ConnectionName> Drop for Transaction<C> {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            if conn.transaction_depth() > 0 {
                // Sent before the connection's next statement, whoever takes it.
                conn.start_rollback();
            }
        }
    }
}

impl<C: ConnectionName> std::fmt::Debug for Transaction<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("connection", &C::NAME)
            .finish()
    }
}
