//! What a model operation runs on: the database handle or a transaction.

use std::future::Future;
use std::ops::{Deref, DerefMut};

use crate::database::Database;
use crate::error::Result;
use crate::model::ConnectionName;
use crate::pool::PooledConn;
use crate::transaction::Transaction;

/// Something statements for models on connection `C` can run on:
/// `&Database` (takes a pooled connection of `C` per operation) or
/// `&mut Transaction<C>` (runs inside the transaction).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run statements for a model on connection `{C}`",
    label = "expected `&Database` or `&mut Transaction<{C}>`",
    note = "a transaction runs statements only for models on the connection it was opened on; open one with `db.begin_on::<{C}>()`"
)]
pub trait Executor<'e, C: ConnectionName>: Send + Sized {
    #[doc(hidden)]
    fn __acquire(self) -> impl Future<Output = Result<ConnRef<'e>>> + Send + 'e;
}

impl<'e, C: ConnectionName> Executor<'e, C> for &'e Database {
    async fn __acquire(self) -> Result<ConnRef<'e>> {
        Ok(ConnRef::Owned(self.pool(C::NAME)?.acquire().await?))
    }
}

impl<'e, C: ConnectionName> Executor<'e, C> for &'e mut Transaction<C> {
    async fn __acquire(self) -> Result<ConnRef<'e>> {
        Ok(ConnRef::Borrowed(self.conn_mut()?))
    }
}

/// A connection for the length of one operation: pooled, or a transaction's.
#[doc(hidden)]
pub enum ConnRef<'e> {
    Owned(PooledConn),
    Borrowed(&'e mut PooledConn),
}

impl Deref for ConnRef<'_> {
    type Target = PooledConn;
    fn deref(&self) -> &PooledConn {
        match self {
            ConnRef::Owned(c) => c,
            ConnRef::Borrowed(c) => c,
        }
    }
}

impl DerefMut for ConnRef<'_> {
    fn deref_mut(&mut self) -> &mut PooledConn {
        match self {
            ConnRef::Owned(c) => c,
            ConnRef::Borrowed(c) => c,
        }
    }
}
