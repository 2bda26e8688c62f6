//! The query builder.
//!
//! A query starts from a model (`Order::query()`), is narrowed with
//! [`filter`](Select::filter), sorted, limited, grouped, and ends in an
//! operation that runs it ([`all`](Select::all), [`first`](Select::first),
//! [`count`](Select::count), [`update`](Select::update), ...). Values are always
//! bound as parameters and identifiers always quoted.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! use orm::prelude::*;
//!
//! #[orm::model(table = "orders")]
//! pub struct Order {
//!     #[orm(primary_key, auto)]
//!     pub id: i64,
//!     pub status: String,
//!     pub total: f64,
//! }
//!
//! let db = orm::Database::connect("sqlite::memory:").await?;
//! db.create_table::<Order>().await?;
//! Order::create(&db, Order { id: 0, status: "pending".into(), total: 12.5 }).await?;
//! Order::create(&db, Order { id: 0, status: "shipped".into(), total: 30.0 }).await?;
//!
//! let pending = Order::query()
//!     .filter(order::status.eq("pending").and(order::total.gt(10.0)))
//!     .order_by(order::id.desc())
//!     .all(&db)
//!     .await?;
//! assert_eq!(pending.len(), 1);
//!
//! let (n, sum) = Order::query()
//!     .select((order::id.count(), order::total.sum()))
//!     .one(&db)
//!     .await?;
//! assert_eq!((n, sum), (2, Some(42.5)));
//! # Ok(()) }
//! ```

// The `async` methods here are written as `fn ... -> impl Future + Send`:
// spelled out, `Send` lets callers spawn them; left to `async fn`, rustc
// cannot prove it for futures that hold a generic executor.
#![allow(clippy::manual_async_fn)]

mod expr;
mod join;
pub mod lock;
pub mod page;
pub(crate) mod render;
pub mod stream;

use std::marker::PhantomData;

pub use expr::{
    count_all, not, Condition, Expr, ExprOps, Filter, IntoOrdering, Nulls, Operand, Ordering,
};
#[doc(hidden)]
pub use expr::{AggregateFn, CompareOp, Node, OrderKey};
pub use join::{JoinFilter, JoinOrdering, JoinSelect, JoinSelection, Left, OnConnection, Right};
pub use lock::{LockScope, Locked, NoLock, NonWaitingLock, Unlocked, WaitingLock, Waits};
pub use page::{Cursor, Page, Paged};
pub use stream::RowStream;

use crate::connection::conn::sql_owned;
use crate::connection::driver::RowRef;
use crate::error::{Error, Result};
use crate::model::crud::{read_of, write_of};
use crate::model::types::{FieldType, Value, ValueOf};
use crate::model::{Column, ColumnOf, Model, WritableModel};
use crate::routing::{Access, Executor, Operation};

/// What a query selects, and how each row of it decodes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be selected in a query on `{M}`",
    label = "not a column or expression of `{M}`",
    note = "select columns of the queried model, aggregates of them, or a tuple of those (up to 8)"
)]
pub trait Selection<M> {
    /// The Rust value of one row.
    type Output: Send + 'static;
    #[doc(hidden)]
    fn push_nodes(self, nodes: &mut Vec<Node>);
    #[doc(hidden)]
    fn decode(row: RowRef<'_>, index: &mut usize) -> Result<Self::Output>;
}

impl<C: Column> Selection<C::Model> for C {
    type Output = C::Type;
    fn push_nodes(self, nodes: &mut Vec<Node>) {
        nodes.push(Operand::into_node(self));
    }
    fn decode(row: RowRef<'_>, index: &mut usize) -> Result<C::Type> {
        *index += 1;
        C::Type::decode(row, *index - 1)
    }
}

impl<M, T: FieldType> Selection<M> for Expr<M, T> {
    type Output = T;
    fn push_nodes(self, nodes: &mut Vec<Node>) {
        nodes.push(self.node);
    }
    fn decode(row: RowRef<'_>, index: &mut usize) -> Result<T> {
        *index += 1;
        T::decode(row, *index - 1)
    }
}

macro_rules! tuple_selection {
    ($($name:ident),+) => {
        impl<M, $($name: Selection<M>),+> Selection<M> for ($($name,)+) {
            type Output = ($($name::Output,)+);
            #[allow(non_snake_case)]
            fn push_nodes(self, nodes: &mut Vec<Node>) {
                let ($($name,)+) = self;
                $($name.push_nodes(nodes);)+
            }
            fn decode(row: RowRef<'_>, index: &mut usize) -> Result<Self::Output> {
                Ok(($($name::decode(row, index)?,)+))
            }
        }
    };
}
tuple_selection!(A);
tuple_selection!(A, B);
tuple_selection!(A, B, C);
tuple_selection!(A, B, C, D);
tuple_selection!(A, B, C, D, E);
tuple_selection!(A, B, C, D, E, F);
tuple_selection!(A, B, C, D, E, F, G);
tuple_selection!(A, B, C, D, E, F, G, H);

fn decode_model<M: Model>(row: RowRef<'_>) -> Result<M> {
    M::__decode(row, 0)
}

fn decode_selection<M, S: Selection<M>>(row: RowRef<'_>) -> Result<S::Output> {
    S::decode(row, &mut 0)
}

/// The parts of a `SELECT` (also the `WHERE` of updates and deletes).
#[derive(Clone, Debug, Default)]
pub(crate) struct Parts {
    pub(crate) columns: Option<Vec<Node>>,
    pub(crate) join: Option<JoinClause>,
    pub(crate) filter: Option<Node>,
    pub(crate) group_by: Vec<Node>,
    pub(crate) having: Option<Node>,
    pub(crate) order: Vec<OrderKey>,
    pub(crate) limit: Option<u64>,
    pub(crate) offset: Option<u64>,
    pub(crate) lock: Option<lock::Lock>,
    /// Compare text by the columns' collations rather than byte by byte:
    /// for relation loads, which match keys as the foreign key does.
    pub(crate) collated: bool,
}

impl Parts {
    /// No clause at all: `SELECT <model columns> FROM <table>`.
    fn is_plain(&self) -> bool {
        self.columns.is_none()
            && self.join.is_none()
            && self.filter.is_none()
            && self.group_by.is_empty()
            && self.having.is_none()
            && self.order.is_empty()
            && self.limit.is_none()
            && self.offset.is_none()
            && self.lock.is_none()
    }
}

/// `[LEFT] JOIN <table> ON <left> = <right>`
#[derive(Clone, Debug)]
pub(crate) struct JoinClause {
    pub(crate) left_join: bool,
    /// The joined model's Rust name, for messages.
    pub(crate) model: &'static str,
    pub(crate) schema: &'static crate::model::schema::TableSchema,
    pub(crate) on: (Node, Node),
}

pub(crate) fn and(existing: Option<Node>, next: Node) -> Option<Node> {
    Some(match existing {
        Some(prev) => Node::And(Box::new(prev), Box::new(next)),
        None => next,
    })
}

/// A query on model `M` whose rows decode to `O` (the model itself, until
/// [`select`](Select::select) picks columns). `L` says whether it takes a
/// row lock ([`NoLock`], until [`for_update`](Select::for_update) or
/// [`for_share`](Select::for_share); see [`lock`]).
#[must_use = "a query does nothing until it is run with `all`, `first`, `count`, ..."]
pub struct Select<M: Model, O = M, L = NoLock> {
    parts: Parts,
    decode: fn(RowRef<'_>) -> Result<O>,
    _model: PhantomData<fn() -> (M, L)>,
}

impl<M: Model, O, L> Clone for Select<M, O, L> {
    fn clone(&self) -> Self {
        Select {
            parts: self.parts.clone(),
            decode: self.decode,
            _model: PhantomData,
        }
    }
}

impl<M: Model> Select<M> {
    pub(crate) fn new() -> Self {
        Select {
            parts: Parts::default(),
            decode: decode_model::<M>,
            _model: PhantomData,
        }
    }
}

impl<M: Model, O: Send + 'static, L> Select<M, O, L> {
    pub(crate) fn into_parts(self) -> Parts {
        self.parts
    }

    /// Keeps the rows where `condition` holds (several calls combine with AND).
    pub fn filter<F: Filter<M>>(mut self, condition: F) -> Self {
        self.parts.filter = and(self.parts.filter, condition.into_node());
        self
    }

    /// Sorts by `key` (a column sorts ascending; use `.desc()` to reverse).
    /// Several calls sort by each key in turn.
    pub fn order_by<K: IntoOrdering<M>>(mut self, key: K) -> Self {
        self.parts.order.push(key.into_ordering().key);
        self
    }

    /// Returns at most `n` rows.
    pub fn limit(mut self, n: u64) -> Self {
        self.parts.limit = Some(n);
        self
    }

    /// Skips the first `n` rows.
    pub fn offset(mut self, n: u64) -> Self {
        self.parts.offset = Some(n);
        self
    }

    /// Groups rows by `column` (several calls group by each column). Text
    /// groups by its bytes on every backend: `"a"`, `"A"` and `"a "` are
    /// three groups also under MySQL's collations that ignore case and
    /// trailing spaces.
    pub fn group_by<C: ColumnOf<M>>(mut self, column: C) -> Self {
        let node = Operand::into_node(column);
        self.parts
            .group_by
            .push(if C::Type::SQL_TYPE == crate::model::types::SqlType::Text {
                Node::GroupText(Box::new(node))
            } else {
                node
            });
        self
    }

    /// Keeps the groups where `condition` holds.
    pub fn having<F: Filter<M>>(mut self, condition: F) -> Self {
        self.parts.having = and(self.parts.having, condition.into_node());
        self
    }

    /// Selects columns or aggregates instead of whole models: a single one
    /// decodes to its type, a tuple to a tuple.
    pub fn select<S: Selection<M>>(self, selection: S) -> Select<M, S::Output, L> {
        let mut columns = Vec::new();
        selection.push_nodes(&mut columns);
        Select {
            parts: Parts {
                columns: Some(columns),
                ..self.parts
            },
            decode: decode_selection::<M, S>,
            _model: PhantomData,
        }
    }

    /// Runs the query and returns every row.
    pub fn all<'e, E>(
        self,
        exec: E,
    ) -> impl std::future::Future<Output = Result<Vec<O>>> + Send + 'e
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
    {
        fetch_all::<M, O, E>(self.parts, self.decode, exec)
    }

    /// Runs the query and returns its first row, if any.
    pub fn first<'e, E>(
        self,
        exec: E,
    ) -> impl std::future::Future<Output = Result<Option<O>>> + Send + 'e
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
    {
        fetch_first::<M, O, E>(self.parts, self.decode, exec)
    }

    /// Runs the query and returns its first row, or [`Error::NotFound`].
    pub fn one<'e, E>(self, exec: E) -> impl std::future::Future<Output = Result<O>> + Send + 'e
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
    {
        // Not `self.first(..)` inside the block: the future would hold `L`.
        let first = fetch_first::<M, O, E>(self.parts, self.decode, exec);
        async move { first.await?.ok_or(Error::NotFound { model: M::NAME }) }
    }

    /// Counts the rows the query would return. With a row lock, locks
    /// them and counts them (the locking query becomes a subquery of the
    /// count, as PostgreSQL refuses `COUNT(*) ... FOR UPDATE`).
    pub fn count<'e, E>(self, exec: E) -> impl std::future::Future<Output = Result<i64>> + Send + 'e
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
    {
        count_rows::<M, E>(self.parts, exec)
    }

    /// Whether the query returns at least one row. With a row lock, locks
    /// the row it finds (InnoDB: the index records it scans to find it).
    pub fn exists<'e, E>(
        mut self,
        exec: E,
    ) -> impl std::future::Future<Output = Result<bool>> + Send + 'e
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
    {
        async move {
            self.parts.limit = Some(1);
            let op = read_op::<M>(&self.parts);
            let mut session = exec.__session(&op).await?;
            let (sql, args) = render::exists::<M>(session.backend(), &self.parts)?;
            session
                .fetch_optional(&op, sql_owned(sql), args, |_| Ok(()))
                .await
                .map(|row| row.is_some())
        }
    }
}

impl<M: Model, O: Send + 'static, L> Select<M, O, L> {
    /// Turns the query into an `UPDATE` of the rows it matches.
    pub fn update(self) -> Update<M>
    where
        M: WritableModel,
        L: Unlocked,
    {
        Update {
            filter: self.parts.filter,
            assignments: Vec::new(),
            _model: PhantomData,
        }
    }

    /// Deletes the rows the query matches; returns how many.
    pub fn delete<'e, E>(
        self,
        exec: E,
    ) -> impl std::future::Future<Output = Result<u64>> + Send + 'e
    where
        M: WritableModel,
        L: Unlocked,
        E: Executor<'e, M::Connection> + 'e,
    {
        async move {
            let op = write_of::<M>("DELETE");
            let mut session = exec.__session(&op).await?;
            let (sql, args) = render::delete::<M>(session.backend(), self.parts.filter.as_ref())?;
            Ok(session
                .execute(&op, sql_owned(sql), args)
                .await?
                .rows_affected)
        }
    }
}

impl<M: Model, O: Send + 'static, L> Select<M, O, L> {
    lock::lock_methods!(waiting: Select<M, O, WaitingLock>, non_waiting: Select<M, O, NonWaitingLock>);

    /// The same query in lock state `L2`, after `f` changed its lock.
    fn relock<L2>(mut self, f: impl FnOnce(&mut Option<lock::Lock>)) -> Select<M, O, L2> {
        f(&mut self.parts.lock);
        Select {
            parts: self.parts,
            decode: self.decode,
            _model: PhantomData,
        }
    }
}

/// An `UPDATE` of the rows a query matched; see [`Select::update`].
#[must_use = "an update does nothing until `execute` runs it"]
pub struct Update<M: WritableModel> {
    filter: Option<Node>,
    assignments: Vec<(&'static str, Value)>,
    _model: PhantomData<fn() -> M>,
}

impl<M: WritableModel> Update<M> {
    /// Sets `column` to `value` in every matched row.
    pub fn set<C, V>(mut self, column: C, value: V) -> Self
    where
        C: ColumnOf<M>,
        V: ValueOf<C::Type>,
    {
        let _ = column;
        self.assignments.push((C::NAME, value.into_value()));
        self
    }

    /// Runs the update; returns how many rows matched.
    pub fn execute<'e, E>(
        self,
        exec: E,
    ) -> impl std::future::Future<Output = Result<u64>> + Send + 'e
    where
        E: Executor<'e, M::Connection> + 'e,
    {
        async move {
            if self.assignments.is_empty() {
                return Err(Error::InvalidQuery {
                    message: format!(
                        "an update of `{}` sets no column: call `.set(column, value)` first",
                        M::NAME
                    ),
                });
            }
            let op = write_of::<M>("UPDATE");
            let mut session = exec.__session(&op).await?;
            let (sql, args) =
                render::update::<M>(session.backend(), &self.assignments, self.filter.as_ref())?;
            Ok(session
                .execute(&op, sql_owned(sql), args)
                .await?
                .rows_affected)
        }
    }
}

/// Runs a `SELECT` built from `parts` and decodes every row: what `all` of
/// plain and joined queries share.
pub(crate) async fn fetch_all<'e, M, O, E>(
    parts: Parts,
    decode: fn(RowRef<'_>) -> Result<O>,
    exec: E,
) -> Result<Vec<O>>
where
    M: Model,
    O: Send + 'static,
    E: Executor<'e, M::Connection> + 'e,
{
    let op = read_op::<M>(&parts);
    let mut session = exec.__session(&op).await?;
    let backend = session.backend();
    if parts.is_plain() {
        // Every row, every column: the statement rendered once per process.
        let sql = &M::__sql_cache().get(backend, M::SCHEMA).select;
        let args = crate::connection::driver::Args::new(backend);
        return session
            .fetch_all(&op, crate::connection::conn::sql_static(sql), args, decode)
            .await;
    }
    let (sql, args) = render::select::<M>(backend, &parts)?;
    session.fetch_all(&op, sql_owned(sql), args, decode).await
}

/// The first row of a `SELECT` built from `parts`, if any.
pub(crate) async fn fetch_first<'e, M, O, E>(
    mut parts: Parts,
    decode: fn(RowRef<'_>) -> Result<O>,
    exec: E,
) -> Result<Option<O>>
where
    M: Model,
    O: Send + 'static,
    E: Executor<'e, M::Connection> + 'e,
{
    parts.limit = Some(1);
    let op = read_op::<M>(&parts);
    let mut session = exec.__session(&op).await?;
    let (sql, args) = render::select::<M>(session.backend(), &parts)?;
    session
        .fetch_optional(&op, sql_owned(sql), args, decode)
        .await
}

/// How many rows a `SELECT` built from `parts` returns.
pub(crate) async fn count_rows<'e, M, E>(parts: Parts, exec: E) -> Result<i64>
where
    M: Model,
    E: Executor<'e, M::Connection> + 'e,
{
    let op = read_op::<M>(&parts);
    let mut session = exec.__session(&op).await?;
    let (sql, args) = render::count::<M>(session.backend(), &parts)?;
    session
        .fetch_optional(&op, sql_owned(sql), args, |row| i64::decode(row, 0))
        .await
        .map(|n| n.unwrap_or(0))
}

/// The read a `SELECT` built from `parts` is: of `M`'s table, and of the
/// joined model's when there is one. A locking read is a write to routing
/// (verb still `SELECT`): locks are taken on the primary, never a replica,
/// and the rows are about to be written.
fn read_op<M: Model>(parts: &Parts) -> Operation {
    let mut op = read_of::<M>();
    if let Some(join) = &parts.join {
        op.tables = vec![M::SCHEMA.name, join.schema.name].into();
    }
    if parts.lock.is_some() {
        op.access = Access::Write;
    }
    op
}
