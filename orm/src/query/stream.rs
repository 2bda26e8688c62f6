//! Streaming: the rows of a query as they arrive, for results too large to
//! hold at once.
//!
//! [`Select::stream`] sends the query when the stream is first polled and
//! yields each row, decoded, as the driver reads it from the server (SQLite:
//! as the statement steps), so memory holds a few rows, not the result.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! use orm::prelude::*;
//!
//! #[orm::model(table = "events")]
//! pub struct Event {
//!     #[orm(primary_key, auto)]
//!     pub id: i64,
//!     pub kind: String,
//! }
//!
//! let db = orm::Database::connect("sqlite::memory:").await?;
//! db.create_table::<Event>().await?;
//! let rows: Vec<Event> = (0..1000).map(|i| Event { id: 0, kind: format!("k{}", i % 3) }).collect();
//! Event::insert_many(&db, &rows).await?;
//!
//! let mut events = Event::query().filter(event::kind.eq("k0")).order_by(event::id).stream(&db);
//! let mut seen = 0;
//! while let Some(event) = events.try_next().await? {
//!     assert_eq!(event.kind, "k0");
//!     seen += 1;
//! }
//! assert_eq!(seen, 334);
//! # Ok(()) }
//! ```
//!
//! # The connection
//!
//! On a [`Database`](crate::Database), the stream takes a pooled connection
//! and holds it until it ends or is dropped. Read to its end, the connection
//! goes back to the pool. Dropped before its end, the statement is still
//! running: the connection is handed to the pool busy, which stops the
//! statement (PostgreSQL: `pg_cancel_backend`; MySQL/MariaDB: `KILL QUERY`;
//! SQLite: an interrupt) and closes the connection rather than hand a
//! half-read result to the next caller; its place in the pool is free once
//! that is done (`PoolMetrics::cancels` counts it). Reading the rest of a
//! large result only to reuse the connection would cost more than a new
//! connection.
//!
//! In a transaction (`stream(&mut tx)`) the stream borrows the transaction
//! until it is dropped. Read it to its end there: a stream dropped early
//! leaves a statement in flight, so the transaction's next statement fails
//! with [`Error::TransactionAborted`](crate::Error::TransactionAborted) and
//! the transaction is rolled back when dropped, as after any statement
//! abandoned mid-flight. To read only the first rows, put a
//! [`limit`](Select::limit) on the query.
//!
//! # Errors and retries
//!
//! An error, from the server or decoding a row, is yielded as an `Err` and
//! ends the stream. A query that fails before its first row is retried as
//! [`Select::all`] is (outside transactions, under the connection's
//! [`RetryPolicy`](crate::RetryPolicy)); after a row was yielded nothing is
//! retried. The per-call statement timeout ([`Call`](crate::Call)) does not
//! apply to a stream, whose reader decides how long it lasts; the pool's
//! server-side `statement_timeout` does (PostgreSQL and MySQL count the time
//! the server spends, including waiting for a slow reader once its send
//! buffer is full).
//!
//! A joined query ([`JoinSelect::stream`](super::JoinSelect::stream))
//! streams the same way.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::{read_op, render, LockScope, Parts, Select};
use crate::connection::conn::sql_owned;
use crate::connection::driver::RowRef;
use crate::error::Result;
use crate::model::Model;
use crate::routing::Executor;

/// The rows of a query as they arrive: a [`Stream`] of `Result<T>` (see the
/// [module docs](self)). Consume it with [`try_next`](RowStream::try_next),
/// or with the `StreamExt`/`TryStreamExt` combinators of the `futures`
/// crate.
#[must_use = "a stream sends its query when it is first polled"]
pub struct RowStream<'e, T> {
    inner: Pin<Box<dyn Stream<Item = Result<T>> + Send + 'e>>,
}

impl<T> RowStream<'_, T> {
    /// The next row; `Ok(None)` at the end.
    ///
    /// # Errors
    ///
    /// The error that ended the stream: those of [`Select::all`], once.
    pub async fn try_next(&mut self) -> Result<Option<T>> {
        std::future::poll_fn(|cx| self.inner.as_mut().poll_next(cx))
            .await
            .transpose()
    }
}

impl<T> Stream for RowStream<'_, T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<T> std::fmt::Debug for RowStream<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowStream").finish_non_exhaustive()
    }
}

impl<M: Model, O: Send + 'static, L, S, G> Select<M, O, L, S, G> {
    /// Runs the query and yields its rows as they arrive, without holding
    /// the result (see [`stream`](crate::query::stream)): on a
    /// `&Database`, the stream owns a pooled connection until it ends or is
    /// dropped; on `&mut Transaction`, it borrows the transaction.
    ///
    /// Nothing is sent until the stream is first polled. Errors are the
    /// items of the stream: those of [`all`](Select::all), the first one
    /// ending it.
    pub fn stream<'e, E, GI>(self, exec: E) -> RowStream<'e, O>
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
        G: super::ValidGrouping<GI>,
    {
        stream_rows::<M, O, E>(self.parts, self.decode, exec)
    }
}

/// The rows of a `SELECT` built from `parts` as they arrive: what `stream`
/// of plain and joined queries share.
pub(crate) fn stream_rows<'e, M, O, E>(
    parts: Parts,
    decode: fn(RowRef<'_>) -> Result<O>,
    exec: E,
) -> RowStream<'e, O>
where
    M: Model,
    O: Send + 'static,
    E: Executor<'e, M::Connection> + 'e,
{
    let rows = async_stream::stream! {
        use futures_util::StreamExt as _;
        let op = read_op::<M>(&parts);
        let session = match exec.__session(&op).await {
            Ok(session) => session,
            Err(e) => {
                yield Err(e);
                return;
            }
        };
        let (sql, args) = match render::select::<M>(session.backend(), &parts) {
            Ok(statement) => statement,
            Err(e) => {
                yield Err(e);
                return;
            }
        };
        let mut rows = Box::pin(session.stream(&op, sql_owned(sql), args, decode));
        while let Some(row) = rows.next().await {
            yield row;
        }
    };
    RowStream {
        inner: Box::pin(rows),
    }
}
