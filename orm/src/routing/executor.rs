//! What a model operation runs on: the database handle or a transaction.

use std::future::Future;

use super::cache::CacheRoute;
use super::database::{Call, Database};
use super::names::ConnectionName;
use super::session::{CallOptions, Operation, Session};
use super::transaction::{Savepoint, Transaction};
use crate::error::Result;

/// Something statements for models on connection `C` can run on:
/// `&Database` (takes a pooled connection of `C` per operation), a
/// [`Call`] (the same, with per-call options), `&mut Transaction<C>` or
/// `&mut Savepoint<C>` (runs inside the transaction).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run statements for a model on connection `{C}`",
    label = "expected `&Database` or `&mut Transaction<{C}>`",
    note = "a transaction runs statements only for models on the connection it was opened on; open one with `db.begin_on::<{C}>()`; inside `db.transaction(async |tx| ...)`, `tx` is already a `&mut Transaction`: pass `&mut *tx`"
)]
pub trait Executor<'e, C: ConnectionName>: Send + Sized {
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

impl<'e, C: ConnectionName> Executor<'e, C> for &'e Database {
    fn __session(self, op: &Operation) -> impl Future<Output = Result<Session<'e>>> + Send + 'e {
        // The description is read here, before anything is awaited: a read
        // may go to a replica, everything else to the primary.
        let session = self.session_for(C::NAME, op, CallOptions::default());
        async move { session?.await }
    }

    fn __cache_route(&self) -> Option<CacheRoute<'e>> {
        CacheRoute::of(self, C::NAME, CallOptions::default())
    }
}

impl<'e, C: ConnectionName> Executor<'e, C> for Call<'e> {
    fn __session(self, op: &Operation) -> impl Future<Output = Result<Session<'e>>> + Send + 'e {
        let session = self.db.session_for(C::NAME, op, self.options);
        async move { session?.await }
    }

    fn __cache_route(&self) -> Option<CacheRoute<'e>> {
        CacheRoute::of(self.db, C::NAME, self.options)
    }
}

impl<'e, 't, C: ConnectionName> Executor<'e, C> for &'e mut Savepoint<'t, C> {
    fn __session(self, op: &Operation) -> impl Future<Output = Result<Session<'e>>> + Send + 'e {
        let _ = op;
        let conn = self.conn_mut();
        async move { Ok(Session::borrowed(conn)) }
    }
}

impl<'e, C: ConnectionName> Executor<'e, C> for &'e mut Transaction<C> {
    fn __session(self, op: &Operation) -> impl Future<Output = Result<Session<'e>>> + Send + 'e {
        let _ = op;
        async move { Ok(Session::borrowed(self.conn_mut()?)) }
    }
}
