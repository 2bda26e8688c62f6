//! Transactions and savepoints on one named connection.
//!
//! ```no_run
//! # async fn demo(db: &orm::Database) -> orm::Result<()> {
//! let mut tx = db.begin().await?;
//! // ... model operations with `&mut tx` ...
//! let mut sp = tx.savepoint().await?;   // a nested transaction
//! // ... operations with `&mut sp`; dropping `sp` rolls back to the savepoint ...
//! sp.commit().await?;                    // RELEASE SAVEPOINT
//! tx.commit().await?;                    // without this, dropping `tx` rolls back
//! # Ok(()) }
//! ```
//!
//! A transaction dropped without [`commit`](Transaction::commit) (an error
//! returned early with `?`, a panic, a cancelled future) is rolled back at
//! once by a background task, so its locks are released promptly; the
//! normal path (commit, or explicit rollback) sends nothing more.

use std::marker::PhantomData;
use std::sync::Arc;

use super::cache::Cache;
use super::consistency::HandleState;
use super::names::{ConnectionName, DefaultConnection};
use super::replicas::ReplicaSet;
use super::session::remember_write;
use super::trace;
use crate::connection::pool::PooledConn;
use crate::connection::transaction::TransactionOptions;
use crate::error::{Error, Result};

/// An open transaction on connection `C`. Pass `&mut tx` wherever a model
/// operation takes an executor. It rolls back when dropped without
/// [`commit`](Self::commit), including while unwinding from a panic.
///
/// After a statement inside it fails, what happens depends on the backend
/// (see [`Error::TransactionAborted`]): on PostgreSQL the transaction can no
/// longer commit, and [`commit`](Self::commit) rolls back and returns
/// `TransactionAborted`. To go on after an expected failure on every
/// backend, run the statement inside a [`savepoint`](Self::savepoint) and
/// roll that back.
pub struct Transaction<C: ConnectionName = DefaultConnection> {
    conn: Option<PooledConn>,
    attempt: u32,
    /// On a connection with replicas: its replicas and the handle that
    /// opened the transaction, which remembers the commit of a write.
    replication: Option<(Arc<ReplicaSet>, Arc<HandleState>)>,
    /// The database's query cache: the tables written are invalidated when
    /// the transaction commits.
    cache: Cache,
    _connection: PhantomData<fn() -> C>,
}

impl<C: ConnectionName> Transaction<C> {
    pub(crate) async fn begin(
        mut conn: PooledConn,
        options: &TransactionOptions,
        replication: Option<(Arc<ReplicaSet>, Arc<HandleState>)>,
        cache: Cache,
    ) -> Result<Self> {
        let span = trace::begin_transaction(&conn, 1);
        let begun = conn.begin(options).await;
        trace::transaction_begun(&mut conn, span, &begun);
        begun?;
        Ok(Transaction {
            conn: Some(conn),
            attempt: 1,
            replication,
            cache,
            _connection: PhantomData,
        })
    }

    pub(crate) fn conn_mut(&mut self) -> Result<&mut PooledConn> {
        self.conn.as_mut().ok_or_else(|| Error::PoolClosed {
            connection: C::NAME.to_owned(),
        })
    }

    /// Makes the transaction's writes permanent. If a statement inside it
    /// made it unable to commit ([`Error::TransactionAborted`]) or its
    /// deadline passed ([`Error::Timeout`]), it is rolled back instead and
    /// that error returned: `Ok` always means every write is stored.
    ///
    /// After the commit, the query cache's entries that read a table the
    /// transaction wrote are invalidated (a failure to do so does not fail
    /// the commit: see the README's "Query cache").
    pub async fn commit(mut self) -> Result<()> {
        let mut conn = self.take()?;
        let wrote = conn.tx.wrote;
        let written = std::mem::take(&mut conn.tx.written);
        let span = trace::ending_transaction(&mut conn);
        let committed = conn.commit().await;
        trace::end_transaction(span, true, &committed);
        // Whatever the commit returned: an unknown outcome, or raw SQL that
        // ended the transaction (its writes were committed), may have
        // stored the writes; a commit refused and rolled back only costs
        // entries.
        self.cache
            .invalidate(&conn.pool.cache_scope, &written)
            .await;
        committed?;
        if let (true, Some((set, handle))) = (wrote, &self.replication) {
            remember_write(set, handle, &mut conn).await;
        }
        Ok(())
    }

    /// Undoes the transaction's writes. The query cache invalidates
    /// nothing, unless the rollback failed: raw SQL that ended the
    /// transaction ([`Error::InvalidQuery`]) committed what it wrote.
    pub async fn rollback(mut self) -> Result<()> {
        let mut conn = self.take()?;
        let written = std::mem::take(&mut conn.tx.written);
        let span = trace::ending_transaction(&mut conn);
        let result = conn.rollback().await;
        trace::end_transaction(span, false, &result);
        if result.is_err() {
            self.cache
                .invalidate(&conn.pool.cache_scope, &written)
                .await;
        }
        result
    }

    /// Opens a savepoint: a nested transaction that commits (releases) or
    /// rolls back on its own, and rolls back when dropped. SQL
    /// `SAVEPOINT` on every backend.
    pub async fn savepoint(&mut self) -> Result<Savepoint<'_, C>> {
        Savepoint::open(self.conn_mut()?).await
    }

    /// Which run of [`Database::transaction`](crate::Database::transaction)
    /// this is: 1 the first time, 2 after one retry, ... (1 for a
    /// transaction opened with `begin`).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    pub(crate) fn set_attempt(&mut self, attempt: u32) {
        self.attempt = attempt;
        if let Some(conn) = &self.conn {
            trace::transaction_attempt(conn, attempt);
        }
    }

    /// Whether a transient error (serialization failure, deadlock, lock
    /// timeout) happened inside: running the transaction again may succeed.
    pub(crate) fn saw_transient(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.tx.transient)
    }

    /// The name of the connection the transaction runs on.
    pub fn connection(&self) -> &'static str {
        C::NAME
    }

    fn take(&mut self) -> Result<PooledConn> {
        self.conn.take().ok_or_else(|| Error::PoolClosed {
            connection: C::NAME.to_owned(),
        })
    }
}

/// Dropped without commit or rollback: the connection rolls the
/// transaction back when it is released; its span ends as rolled back.
impl<C: ConnectionName> Drop for Transaction<C> {
    fn drop(&mut self) {
        if let Some(conn) = &mut self.conn {
            trace::end_transaction(trace::ending_transaction(conn), false, &Ok(()));
        }
    }
}

impl<C: ConnectionName> std::fmt::Debug for Transaction<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("connection", &C::NAME)
            .field("attempt", &self.attempt)
            .finish()
    }
}

/// A savepoint inside a transaction (or inside another savepoint, to any
/// depth): pass `&mut sp` wherever a model operation takes an executor.
///
/// [`commit`](Self::commit) releases it (its writes become part of the
/// enclosing transaction); [`rollback`](Self::rollback), or dropping it,
/// undoes its writes and leaves the enclosing transaction going. On
/// PostgreSQL, rolling back a savepoint after a failed statement inside
/// it lets the enclosing transaction go on and commit.
pub struct Savepoint<'t, C: ConnectionName = DefaultConnection> {
    conn: &'t mut PooledConn,
    depth: usize,
    done: bool,
    _connection: PhantomData<fn() -> C>,
}

impl<'t, C: ConnectionName> Savepoint<'t, C> {
    async fn open(conn: &'t mut PooledConn) -> Result<Savepoint<'t, C>> {
        conn.begin(&TransactionOptions::default()).await?;
        let depth = conn.transaction_depth();
        trace::savepoint(conn, depth, "opened");
        Ok(Savepoint {
            conn,
            depth,
            done: false,
            _connection: PhantomData,
        })
    }

    pub(crate) fn conn_mut(&mut self) -> &mut PooledConn {
        self.conn
    }

    /// Releases the savepoint (SQL `RELEASE SAVEPOINT`): its writes become
    /// part of the enclosing transaction. If a statement inside it failed
    /// on PostgreSQL, it is rolled back instead and
    /// [`Error::TransactionAborted`] returned; the enclosing transaction
    /// can still commit.
    pub async fn commit(mut self) -> Result<()> {
        self.done = true;
        trace::savepoint(self.conn, self.depth, "released");
        self.conn.commit().await
    }

    /// Undoes the savepoint's writes (SQL `ROLLBACK TO SAVEPOINT`).
    pub async fn rollback(mut self) -> Result<()> {
        self.done = true;
        trace::savepoint(self.conn, self.depth, "rolled back");
        self.conn.rollback().await
    }

    /// Opens a savepoint inside this one.
    pub async fn savepoint(&mut self) -> Result<Savepoint<'_, C>> {
        Savepoint::open(self.conn).await
    }
}

impl<C: ConnectionName> Drop for Savepoint<'_, C> {
    fn drop(&mut self) {
        if !self.done && self.conn.transaction_depth() == self.depth {
            // Sent before the transaction's next statement (the connection
            // stays with the transaction, so nothing else can come first).
            trace::savepoint(self.conn, self.depth, "rolled back (dropped)");
            self.conn.start_rollback();
        }
    }
}

impl<C: ConnectionName> std::fmt::Debug for Savepoint<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Savepoint")
            .field("connection", &C::NAME)
            .field("depth", &self.depth)
            .finish()
    }
}
