//! Row locks: `SELECT ... FOR UPDATE` and `SELECT ... FOR SHARE`.
//!
//! A query takes a lock with [`for_update`](super::Select::for_update) or
//! [`for_share`](super::Select::for_share), and may then say what to do about
//! rows another transaction holds: [`nowait`](super::Select::nowait) (fail at
//! once) or [`skip_locked`](super::Select::skip_locked) (leave them out).
//! Which of these a query has done is part of its type (the `L` parameter of
//! [`Select`](super::Select)), so a modifier without a lock, two modifiers,
//! two locks, or a locking query run outside a transaction do not compile.
//! What only the backend can tell (SQLite has no row locks) and what the
//! databases refuse together with a lock (`group_by`, `having`, aggregates,
//! a `left_join`) is [`Error::InvalidQuery`]
//! before anything is sent.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! use orm::prelude::*;
//!
//! #[orm::model(table = "jobs")]
//! pub struct Job {
//!     #[orm(primary_key, auto)]
//!     pub id: i64,
//!     pub state: String,
//! }
//!
//! # let db = orm::Database::connect("sqlite::memory:").await?;
//! # db.create_table::<Job>().await?;
//! let mut tx = db.begin().await?;
//! // The next queued job that no other worker holds, locked until `tx` ends.
//! let next = Job::query()
//!     .filter(job::state.eq("queued"))
//!     .order_by(job::id)
//!     .for_update()
//!     .skip_locked()
//!     .first(&mut tx)
//!     .await;
//! if db.backend("db")? == orm::Backend::Sqlite {
//!     // No row locks on SQLite: refused before anything is sent.
//!     assert!(matches!(next, Err(orm::Error::InvalidQuery { .. })));
//! }
//! # Ok(()) }
//! ```
//!
//! | | PostgreSQL | MySQL / MariaDB |
//! | --- | --- | --- |
//! | `for_update()` | `FOR UPDATE` | `FOR UPDATE` |
//! | `for_share()` | `FOR SHARE` | `LOCK IN SHARE MODE` |
//! | `.nowait()` | `... NOWAIT` | `... NOWAIT` |
//! | `.skip_locked()` | `... SKIP LOCKED` | `... SKIP LOCKED` |
//!
//! Sources: PostgreSQL manual, `SELECT`, "The Locking Clause"; MySQL manual,
//! "Locking Reads" and "Locking Read Concurrency with NOWAIT and SKIP
//! LOCKED"; MariaDB knowledge base, "SELECT ... FOR UPDATE", "LOCK IN SHARE
//! MODE", "SKIP LOCKED" and "WAIT and NOWAIT".
//!
//! The shared lock is spelled `LOCK IN SHARE MODE` on MySQL/MariaDB because
//! it is the one spelling both accept: MariaDB (10.11 here) rejects
//! `FOR SHARE`, and MySQL 8 keeps `LOCK IN SHARE MODE` "for backward
//! compatibility" as the same lock. The two part ways on a shared lock with a
//! modifier: MariaDB 10.6+ takes `LOCK IN SHARE MODE NOWAIT` / `SKIP LOCKED`,
//! which MySQL 8 refuses as a syntax error (it wants `FOR SHARE NOWAIT`,
//! which MariaDB refuses). [`Backend`] does not tell MySQL
//! from MariaDB, so the MariaDB form is sent; on MySQL 8,
//! `for_share().nowait()` and `for_share().skip_locked()` fail with
//! [`Error::Query`]. `for_update()` with either
//! modifier works on both (MySQL 8.0.1+, MariaDB 10.6+).

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::routing::{ConnectionName, Savepoint, Transaction};

use super::expr::Node;
use super::Parts;

/// Which lock a query takes on the rows it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Strength {
    /// `FOR UPDATE`: no other transaction may lock, change or delete the rows.
    Update,
    /// `FOR SHARE`: others may read and share-lock them, not change them.
    Share,
}

/// What a locking query does about a row another transaction has locked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnLocked {
    /// Waits until that transaction ends (the databases' default).
    Wait,
    /// `NOWAIT`: fails at once.
    Fail,
    /// `SKIP LOCKED`: leaves the row out.
    Skip,
}

/// A query's row lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lock {
    pub(crate) strength: Strength,
    pub(crate) on_locked: OnLocked,
}

impl Lock {
    pub(crate) fn new(strength: Strength) -> Lock {
        Lock {
            strength,
            on_locked: OnLocked::Wait,
        }
    }

    /// The method that took the lock, for messages.
    fn method(self) -> &'static str {
        match self.strength {
            Strength::Update => "for_update()",
            Strength::Share => "for_share()",
        }
    }

    /// The locking clause on `backend`, with its leading space.
    pub(crate) fn clause(self, backend: Backend) -> &'static str {
        use Strength::{Share, Update};
        match (backend, self.strength, self.on_locked) {
            // Refused by `check` before rendering.
            (Backend::Sqlite, ..) => "",
            (_, Update, OnLocked::Wait) => " FOR UPDATE",
            (_, Update, OnLocked::Fail) => " FOR UPDATE NOWAIT",
            (_, Update, OnLocked::Skip) => " FOR UPDATE SKIP LOCKED",
            (Backend::Postgres, Share, OnLocked::Wait) => " FOR SHARE",
            (Backend::Postgres, Share, OnLocked::Fail) => " FOR SHARE NOWAIT",
            (Backend::Postgres, Share, OnLocked::Skip) => " FOR SHARE SKIP LOCKED",
            (Backend::MySql, Share, OnLocked::Wait) => " LOCK IN SHARE MODE",
            (Backend::MySql, Share, OnLocked::Fail) => " LOCK IN SHARE MODE NOWAIT",
            (Backend::MySql, Share, OnLocked::Skip) => " LOCK IN SHARE MODE SKIP LOCKED",
        }
    }
}

/// Refuses, before anything is sent, a lock that `backend` cannot take or
/// that the databases refuse together with the rest of the query.
/// `model` is the queried model's name.
pub(crate) fn check(backend: Backend, parts: &Parts, model: &str) -> Result<()> {
    let Some(lock) = parts.lock else {
        return Ok(());
    };
    let method = lock.method();
    let refuse = |message: String| Err(Error::InvalidQuery { message });
    if backend == Backend::Sqlite {
        return refuse(format!(
            "`{method}` on a query of `{model}`: SQLite has no row locks. A SQLite write \
             transaction locks the whole database instead: drop `{method}` on SQLite and open \
             the transaction with `db.begin_with(TransactionOptions::new().sqlite_begin(SqliteBegin::Immediate))`, \
             which takes the database's only write lock at once; every other writer waits \
             for it until you commit"
        ));
    }
    if !parts.group_by.is_empty() || parts.having.is_some() {
        return refuse(format!(
            "`{method}` on a query of `{model}` with `group_by`/`having`: a row lock locks \
             table rows, and a group is many rows (PostgreSQL refuses FOR UPDATE with GROUP \
             BY). Lock the rows with a query without `group_by`/`having`, then group them in \
             Rust or with a second query that takes no lock"
        ));
    }
    if parts
        .columns
        .as_deref()
        .is_some_and(|columns| columns.iter().any(is_aggregate))
    {
        return refuse(format!(
            "`{method}` on a query of `{model}` that selects an aggregate (`count`, `sum`, \
             `avg`, `min`, `max`): a row lock locks table rows, not a value computed from \
             many (PostgreSQL refuses FOR UPDATE with aggregate functions). Select the \
             columns with the lock and aggregate in Rust, or call `.count(..)` on the locking \
             query, which locks the rows and counts them"
        ));
    }
    if let Some(join) = parts.joins.iter().find(|j| j.left_join) {
        {
            let joined = join.model;
            return refuse(format!(
                "`{method}` on a `left_join` of `{model}` and `{joined}`: PostgreSQL cannot \
                 lock the nullable side of an outer join, so it is refused on every backend. \
                 Use `join` to lock the rows of both, or lock the `{model}` rows with a query of their \
                 own (`{model}::query().filter(..).{method}`) and then load the related rows"
            ));
        }
    }
    Ok(())
}

fn is_aggregate(node: &Node) -> bool {
    matches!(node, Node::Aggregate(..) | Node::CountAll)
}

/// The state of a query that takes no row lock: the default `L` of
/// [`Select`](super::Select) and [`JoinSelect`](super::JoinSelect).
#[derive(Clone, Copy, Debug)]
pub struct NoLock;

/// The state of a query that takes a row lock and waits for rows other
/// transactions hold: after `for_update()` or `for_share()`.
#[derive(Clone, Copy, Debug)]
pub struct WaitingLock;

/// The state of a query that takes a row lock and does not wait for rows
/// other transactions hold: after `.nowait()` or `.skip_locked()`.
#[derive(Clone, Copy, Debug)]
pub struct NonWaitingLock;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::NoLock {}
    impl Sealed for super::WaitingLock {}
    impl Sealed for super::NonWaitingLock {}
}

/// Lock states that take no row lock yet: what `for_update()`,
/// `for_share()`, `update()` and `delete()` start from. Sealed.
#[diagnostic::on_unimplemented(
    message = "this query already takes a row lock",
    label = "`for_update()` or `for_share()` was called before this",
    note = "a query takes one row lock: keep one `for_update()` or `for_share()`; `update()` and `delete()` lock the rows they change by themselves, so build them from a query without a lock"
)]
pub trait Unlocked: sealed::Sealed {}
impl Unlocked for NoLock {}

/// Lock states that take a row lock: what `nowait()` and `skip_locked()`
/// modify. Sealed.
#[diagnostic::on_unimplemented(
    message = "`nowait()` and `skip_locked()` change how a row lock waits, and this query takes no row lock",
    label = "no `for_update()` or `for_share()` before this",
    note = "take the lock first: `.for_update().skip_locked()`, `.for_share().nowait()`"
)]
pub trait Locked: sealed::Sealed {}
impl Locked for WaitingLock {}
impl Locked for NonWaitingLock {}

/// Lock states without `nowait()` or `skip_locked()` yet. Sealed.
#[diagnostic::on_unimplemented(
    message = "this row lock already has `nowait()` or `skip_locked()`, and they cannot be combined",
    label = "a second `nowait()` or `skip_locked()`",
    note = "keep one: `nowait()` fails at once on a row another transaction has locked, `skip_locked()` leaves such rows out"
)]
pub trait Waits: sealed::Sealed {}
impl Waits for NoLock {}
impl Waits for WaitingLock {}

/// Executors that can hold a query's row lock: any executor when the query
/// takes none, only a transaction when it takes one (outside a
/// transaction the lock would end with the statement).
#[diagnostic::on_unimplemented(
    message = "a row lock taken through `{Self}` would be released as soon as the query ends",
    label = "a locking query run outside a transaction",
    note = "a row lock lasts until its transaction ends, and `&Database` runs each statement on its own: open one with `let mut tx = db.begin().await?`, run the locking query with `&mut tx`, write, then `tx.commit().await?`"
)]
pub trait LockScope<L> {}
impl<E> LockScope<NoLock> for E {}
impl<C: ConnectionName> LockScope<WaitingLock> for &mut Transaction<C> {}
impl<C: ConnectionName> LockScope<NonWaitingLock> for &mut Transaction<C> {}
impl<C: ConnectionName> LockScope<WaitingLock> for &mut Savepoint<'_, C> {}
impl<C: ConnectionName> LockScope<NonWaitingLock> for &mut Savepoint<'_, C> {}

/// The four public lock methods, written once for [`Select`](super::Select)
/// and [`JoinSelect`](super::JoinSelect): each type provides
/// `relock(self, f) -> Self<.., L2>`, which edits the lock and the state.
macro_rules! lock_methods {
    (waiting: $waiting:ty, non_waiting: $non_waiting:ty) => {
        /// Locks the rows the query returns until the transaction ends, so
        /// that no other transaction can change, delete or lock them:
        /// `SELECT ... FOR UPDATE`.
        ///
        /// Run it with `&mut tx` (outside a transaction the lock would end
        /// with the statement, so `&Database` does not compile). Another
        /// transaction's `for_update()`, `for_share()`, update or delete of
        /// a locked row waits until this one commits or rolls back; its
        /// plain reads do not wait and see the last committed row. Add
        /// [`nowait`](Self::nowait) or [`skip_locked`](Self::skip_locked)
        /// to not wait for rows others hold. The query is routed as a write
        /// (to the primary, never a replica).
        ///
        /// - PostgreSQL: `FOR UPDATE` (manual, `SELECT`, "The Locking Clause").
        /// - MySQL/MariaDB: `FOR UPDATE` (MySQL manual, "Locking Reads";
        ///   MariaDB, "SELECT ... FOR UPDATE"). InnoDB locks the index
        ///   records it scans, more than the rows returned when the filter
        ///   has no index to use.
        /// - SQLite has no row locks: [`Error::InvalidQuery`],
        ///   before anything is sent, saying what to do instead.
        ///
        /// On a `join`, the rows of both models are locked. Refused with
        /// [`Error::InvalidQuery`] before
        /// anything is sent, on every backend: a lock with `group_by`,
        /// `having` or selected aggregates, and on a `left_join`
        /// (PostgreSQL cannot lock the nullable side of an outer join).
        /// `count()` locks the rows it counts (the locking query becomes a
        /// subquery); `exists()` and `first()` lock the row they find.
        /// Models on a `read_only` connection have no locks (PostgreSQL
        /// refuses them in read-only transactions): a compile error.
        pub fn for_update(self) -> $waiting
        where
            L: $crate::query::Unlocked,
            M::Connection: $crate::routing::WritableConnection,
        {
            self.relock(|lock| {
                *lock = Some($crate::query::lock::Lock::new(
                    $crate::query::lock::Strength::Update,
                ))
            })
        }

        /// Locks the rows the query returns until the transaction ends
        /// against changes by other transactions, which may still read them
        /// and share-lock them too: `SELECT ... FOR SHARE`.
        ///
        /// Run it with `&mut tx`, as [`for_update`](Self::for_update). Two
        /// transactions may hold a shared lock on one row at once; an
        /// update, delete or `for_update()` of it waits until both end.
        /// Routed as a write, refused in the same cases as `for_update()`.
        ///
        /// - PostgreSQL: `FOR SHARE` (manual, `SELECT`, "The Locking Clause").
        /// - MySQL/MariaDB: `LOCK IN SHARE MODE`, the spelling both accept
        ///   (MariaDB, "LOCK IN SHARE MODE"; MySQL manual, "Locking Reads":
        ///   the same lock as MySQL 8's `FOR SHARE`, which MariaDB refuses).
        /// - SQLite: [`Error::InvalidQuery`], as
        ///   for `for_update()`.
        pub fn for_share(self) -> $waiting
        where
            L: $crate::query::Unlocked,
            M::Connection: $crate::routing::WritableConnection,
        {
            self.relock(|lock| {
                *lock = Some($crate::query::lock::Lock::new(
                    $crate::query::lock::Strength::Share,
                ))
            })
        }

        /// Fails at once instead of waiting when a row the query would lock
        /// is locked by another transaction: `NOWAIT` after the lock. The
        /// error is [`Error::LockTimeout`](crate::Error::LockTimeout), and
        /// nothing is locked.
        ///
        /// Only after `for_update()` or `for_share()`, and not with
        /// `skip_locked()` (compile errors otherwise).
        ///
        /// - PostgreSQL: `FOR UPDATE NOWAIT` / `FOR SHARE NOWAIT`, SQLSTATE
        ///   55P03 (manual, "The Locking Clause").
        /// - MySQL 8.0.1+: `FOR UPDATE NOWAIT`, error 3572 (manual,
        ///   "Locking Read Concurrency with NOWAIT and SKIP LOCKED").
        /// - MariaDB 10.6+: `FOR UPDATE NOWAIT` / `LOCK IN SHARE MODE
        ///   NOWAIT` (knowledge base, "WAIT and NOWAIT"). MySQL 8 refuses
        ///   `LOCK IN SHARE MODE NOWAIT`, so `for_share().nowait()` is
        ///   MariaDB's only (see the [module docs](crate::query::lock)).
        pub fn nowait(self) -> $non_waiting
        where
            L: $crate::query::Locked + $crate::query::Waits,
        {
            self.relock(|lock| {
                if let Some(lock) = lock {
                    lock.on_locked = $crate::query::lock::OnLocked::Fail;
                }
            })
        }

        /// Leaves out the rows another transaction has locked instead of
        /// waiting for them: `SKIP LOCKED` after the lock. The usual way to
        /// let several workers take jobs from one table, each its own.
        ///
        /// Only after `for_update()` or `for_share()`, and not with
        /// `nowait()` (compile errors otherwise).
        ///
        /// - PostgreSQL: `FOR UPDATE SKIP LOCKED` / `FOR SHARE SKIP LOCKED`
        ///   (manual, "The Locking Clause").
        /// - MySQL 8.0.1+: `FOR UPDATE SKIP LOCKED` (manual, "Locking Read
        ///   Concurrency with NOWAIT and SKIP LOCKED").
        /// - MariaDB 10.6+: `FOR UPDATE SKIP LOCKED` / `LOCK IN SHARE MODE
        ///   SKIP LOCKED` (knowledge base, "SKIP LOCKED"). MySQL 8 refuses
        ///   `LOCK IN SHARE MODE SKIP LOCKED`, so `for_share().skip_locked()`
        ///   is MariaDB's only (see the [module docs](crate::query::lock)).
        pub fn skip_locked(self) -> $non_waiting
        where
            L: $crate::query::Locked + $crate::query::Waits,
        {
            self.relock(|lock| {
                if let Some(lock) = lock {
                    lock.on_locked = $crate::query::lock::OnLocked::Skip;
                }
            })
        }
    };
}
pub(crate) use lock_methods;
