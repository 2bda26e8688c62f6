//! What a model operation runs on: the database handle or a transaction.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use stackfuture::StackFuture;

use super::cache::CacheRoute;
use super::database::{Call, Database};
use super::names::ConnectionName;
use super::session::{CallOptions, Operation, Session};
use super::transaction::{Savepoint, Transaction};
use crate::error::Result;

/// Something statements for models on connection `C` can run on:
/// `&Database` (takes a pooled connection of `C` per operation), a
/// [`Call`] (the same, with per-call options), `&mut Transaction<C>` or
/// `&mut Savepoint<C>` (runs inside the transaction). A transaction of
/// another connection is refused through [`SameConnection`], whose message
/// names both connections.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run statements for a model on connection `{C}`: pass `&db`, `&mut tx` or `&mut savepoint`",
    label = "expected `&db`, `&mut tx` or `&mut savepoint`",
    note = "pass the `&Database` (`&db`), or a transaction opened on `{C}` as `&mut tx`; inside `db.transaction(async |tx| ...)`, `tx` is already a `&mut Transaction`: pass `&mut *tx`"
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

impl<'e, 't, C, T> Executor<'e, C> for &'e mut Savepoint<'t, T>
where
    C: ConnectionName,
    T: ConnectionName + SameConnection<C>,
{
    fn __session(self, op: &Operation) -> impl Future<Output = Result<Session<'e>>> + Send + 'e {
        let _ = op;
        let conn = self.conn_mut();
        async move { Ok(Session::borrowed(conn)) }
    }
}

impl<'e, C, T> Executor<'e, C> for &'e mut Transaction<T>
where
    C: ConnectionName,
    T: ConnectionName + SameConnection<C>,
{
    fn __session(self, op: &Operation) -> impl Future<Output = Result<Session<'e>>> + Send + 'e {
        let _ = op;
        async move { Ok(Session::borrowed(self.conn_mut()?)) }
    }
}

/// `&mut tx` where `tx` is already a `&mut Transaction` (inside
/// `db.transaction(async |tx| ...)`, or a function given `&mut
/// Transaction`): the same as `&mut *tx`, which Rust's reborrowing does not
/// write for a generic parameter.
impl<'e, C, T> Executor<'e, C> for &'e mut &mut Transaction<T>
where
    C: ConnectionName,
    T: ConnectionName + SameConnection<C>,
{
    fn __session(self, op: &Operation) -> impl Future<Output = Result<Session<'e>>> + Send + 'e {
        <&'e mut Transaction<T> as Executor<'e, C>>::__session(&mut **self, op)
    }
}

/// A transaction's connection `Self` is the connection `C` of the model a
/// statement is for: a transaction holds one connection, and runs nothing
/// for models on another. The `Executor` impls of transactions and
/// savepoints require it, so that passing a transaction of another
/// connection is reported as that.
#[diagnostic::on_unimplemented(
    message = "a transaction on `{Self}` cannot run statements for a model on connection `{C}`",
    label = "a transaction on `{Self}`",
    note = "a transaction holds one connection: open one on `{C}` with `db.begin_on::<{C}>()` for this model, or run the statement outside the transaction with `&db`"
)]
pub trait SameConnection<C: ConnectionName>: ConnectionName {}

impl<C: ConnectionName> SameConnection<C> for C {}

/// The database passed by value (`db`) where statements take `&db`. The
/// [`Executor`] impl for `Database` requires this trait of the model's
/// connection, and no type implements it, so that rustc reports the
/// mistake once, on the argument, with the form to write, rather than as
/// "`Database` cannot run statements". (Transactions passed by value or by
/// `&tx` get rustc's own "consider mutably borrowing" help: impls for those
/// forms would list them among the executors in every other error.)
/// Sealed: no crate can implement it.
#[diagnostic::on_unimplemented(
    message = "statements borrow the database: pass `&db`, not `db`",
    label = "write `&db`",
    note = "a `Database` is a handle that statements borrow; to keep one in a task, move a clone there (`db.clone()`, one reference count)"
)]
pub trait DatabaseByValue: sealed::Sealed {
    /// Never called: no type implements this trait.
    #[doc(hidden)]
    fn never() -> std::convert::Infallible;
}

mod sealed {
    pub trait Sealed {}
}

impl<'e, C> Executor<'e, C> for Database
where
    C: ConnectionName + DatabaseByValue,
{
    fn __session(self, op: &Operation) -> impl Future<Output = Result<Session<'e>>> + Send + 'e {
        let _ = (self, op);
        async move { match C::never() {} }
    }
}

/// The future of a model operation or a query's terminal method (`find`,
/// `insert`, `all`, `execute`, ...): await it for the operation's result.
///
/// A named type, where `impl Future` would do, for the compiler's
/// messages: a bound the operation needs (a writable model, an executor of
/// the model's connection, a transaction for a row lock) is checked once,
/// on the method call. Behind `impl Future` the returned future repeats the
/// method's bounds, and a call that breaks one is reported three times (the
/// method, the call and its `.await`).
///
/// The operation's future is held in place, in [`PENDING_BYTES`] bytes
/// (`stackfuture`), so that naming it costs no allocation; a larger one
/// (an operation with a large row type, a stream's) is boxed.
#[must_use = "an operation does nothing until it is awaited"]
pub struct Pending<'e, T>(StackFuture<'e, Result<T>, PENDING_BYTES>);

/// The bytes a [`Pending`] holds its operation's future in: a find by key
/// on one connection takes about 2,800 (bytes, measured with
/// `-Zprint-type-sizes`; BENCHMARKS.md, "Tracing (issue 14)").
pub const PENDING_BYTES: usize = 3072;

impl<'e, T> Pending<'e, T> {
    /// Wraps the future of an operation.
    pub(crate) fn new(future: impl Future<Output = Result<T>> + Send + 'e) -> Self {
        Pending(StackFuture::from_or_box(future))
    }
}

impl<T> Future for Pending<'_, T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        // SAFETY: pin projection to the only field, never moved out of
        // `self` nor reached otherwise.
        unsafe { self.map_unchecked_mut(|p| &mut p.0) }.poll(cx)
    }
}

impl<T> std::fmt::Debug for Pending<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending")
    }
}
