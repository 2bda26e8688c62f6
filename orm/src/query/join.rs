//! Queries over two models joined by a relation on one connection.
//!
//! `Order::query().join(order::user)` selects `(Order, User)` rows; filters,
//! sort keys and selections may use the columns of either model (the `Left`
//! and `Right` type parameters say which, and are inferred). `left_join`
//! keeps rows without a match and gives `(Order, Option<User>)`.
//!
//! A join may take a row lock (`for_update()`, `for_share()`, before or
//! after the join): it locks the rows of both models. A `left_join` with a
//! lock is refused with [`Error::InvalidQuery`] before anything is sent, on
//! every backend, since PostgreSQL cannot lock the nullable side of an
//! outer join.

// The `async` methods here are written as `fn ... -> impl Future + Send`:
// spelled out, `Send` lets callers spawn them; left to `async fn`, rustc
// cannot prove it for futures that hold a generic executor.
#![allow(clippy::manual_async_fn)]

use std::marker::PhantomData;

use super::expr::{Condition, Expr, Node, Operand, OrderKey, Ordering};
use super::lock::{self, LockScope, NoLock, NonWaitingLock, WaitingLock};
use super::{and, JoinClause, Parts, Select};
use crate::connection::driver::RowRef;
use crate::error::{Error, Result};
use crate::model::types::FieldType;
use crate::model::{ColumnOf, Model};
use crate::relations::Joinable;
use crate::routing::executor::Executor;
use crate::routing::ConnectionName;

/// Marks what belongs to the first model of a join (inferred; never written).
pub struct Left;
/// Marks what belongs to the joined model (inferred; never written).
pub struct Right;

/// Models on connection `C`: an SQL join needs both models on one.
/// Implemented by `#[orm::model]` for the model's own connection.
#[diagnostic::on_unimplemented(
    message = "`{Self}` lives on another connection than `{C}`: an SQL join cannot cross connections",
    label = "joined model on another connection",
    note = "load the relation instead (`relation.load(&rows, &db)`, or its accessor on one row): that runs a second query on the other model's connection"
)]
pub trait OnConnection<C: ConnectionName> {}

/// A condition on either model of a join.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a condition on `{M}` or `{J}`",
    label = "a condition on a model that is not part of this join",
    note = "filter a joined query with conditions on the columns of the two joined models"
)]
pub trait JoinFilter<M, J, I> {
    #[doc(hidden)]
    fn into_node(self) -> Node;
}

impl<M, J> JoinFilter<M, J, Left> for Condition<M> {
    fn into_node(self) -> Node {
        self.node
    }
}

impl<M, J> JoinFilter<M, J, Right> for Condition<J> {
    fn into_node(self) -> Node {
        self.node
    }
}

/// A sort key on either model of a join.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot order a join of `{M}` and `{J}`",
    label = "not a column or ordering of the joined models"
)]
pub trait JoinOrdering<M, J, I> {
    /// Whether the key reads the joined model, whose columns a `left_join`
    /// makes NULL in rows without a match.
    #[doc(hidden)]
    const JOINED: bool;
    #[doc(hidden)]
    fn into_ordering(self) -> OrderKey;
}

impl<M, J> JoinOrdering<M, J, Left> for Ordering<M> {
    const JOINED: bool = false;
    fn into_ordering(self) -> OrderKey {
        self.key
    }
}

impl<M, J> JoinOrdering<M, J, Right> for Ordering<J> {
    const JOINED: bool = true;
    fn into_ordering(self) -> OrderKey {
        self.key
    }
}

impl<M, J, C: ColumnOf<M>> JoinOrdering<M, J, Left> for C {
    const JOINED: bool = false;
    fn into_ordering(self) -> OrderKey {
        Ordering::<M>::of::<C::Type>(Operand::into_node(self), false).key
    }
}

impl<M, J, C: ColumnOf<J>> JoinOrdering<M, J, Right> for C {
    const JOINED: bool = true;
    fn into_ordering(self) -> OrderKey {
        Ordering::<J>::of::<C::Type>(Operand::into_node(self), false).key
    }
}

/// What a joined query selects: columns and expressions of either model, or tuples of them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be selected from a join of `{M}` and `{J}`",
    label = "not a column or expression of the joined models"
)]
pub trait JoinSelection<M, J, I> {
    /// The Rust value of one row.
    type Output: Send + 'static;
    #[doc(hidden)]
    fn push_nodes(self, nodes: &mut Vec<Node>);
    #[doc(hidden)]
    fn decode(row: RowRef<'_>, index: &mut usize) -> Result<Self::Output>;
}

macro_rules! side_selection {
    ($side:ident, $model:ident) => {
        impl<M, J, C: ColumnOf<$model>> JoinSelection<M, J, $side> for C {
            type Output = C::Type;
            fn push_nodes(self, nodes: &mut Vec<Node>) {
                nodes.push(Operand::into_node(self));
            }
            fn decode(row: RowRef<'_>, index: &mut usize) -> Result<C::Type> {
                *index += 1;
                C::Type::decode(row, *index - 1)
            }
        }

        impl<M, J, T: FieldType> JoinSelection<M, J, $side> for Expr<$model, T> {
            type Output = T;
            fn push_nodes(self, nodes: &mut Vec<Node>) {
                nodes.push(self.node);
            }
            fn decode(row: RowRef<'_>, index: &mut usize) -> Result<T> {
                *index += 1;
                T::decode(row, *index - 1)
            }
        }
    };
}
side_selection!(Left, M);
side_selection!(Right, J);

macro_rules! tuple_join_selection {
    ($(($name:ident, $index:ident)),+) => {
        impl<M, J, $($name, $index),+> JoinSelection<M, J, ($($index,)+)> for ($($name,)+)
        where
            $($name: JoinSelection<M, J, $index>),+
        {
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
tuple_join_selection!((A, IA));
tuple_join_selection!((A, IA), (B, IB));
tuple_join_selection!((A, IA), (B, IB), (C, IC));
tuple_join_selection!((A, IA), (B, IB), (C, IC), (D, ID));
tuple_join_selection!((A, IA), (B, IB), (C, IC), (D, ID), (E, IE));
tuple_join_selection!((A, IA), (B, IB), (C, IC), (D, ID), (E, IE), (F, IF));

fn decode_inner<M: Model, J: Model>(row: RowRef<'_>) -> Result<(M, J)> {
    Ok((
        M::__decode(row, 0)?,
        J::__decode(row, M::SCHEMA.columns.len())?,
    ))
}

fn decode_left<M: Model, J: Model>(row: RowRef<'_>) -> Result<(M, Option<J>)> {
    let offset = M::SCHEMA.columns.len();
    // No match: every column of the joined model is NULL, its key included.
    let key = Option::<J::Key>::decode(row, offset + J::SCHEMA.primary_key)?;
    let joined = match key {
        Some(_) => Some(J::__decode(row, offset)?),
        None => None,
    };
    Ok((M::__decode(row, 0)?, joined))
}

fn decode_join_selection<M, J, I, S: JoinSelection<M, J, I>>(row: RowRef<'_>) -> Result<S::Output> {
    S::decode(row, &mut 0)
}

/// A query over model `M` joined with `J`; rows decode to `O`. `L` says
/// whether it takes a row lock, as on [`Select`].
#[must_use = "a query does nothing until it is run with `all`, `first`, `count`, ..."]
pub struct JoinSelect<M: Model, J: Model, O, L = NoLock> {
    parts: Parts,
    decode: fn(RowRef<'_>) -> Result<O>,
    _models: PhantomData<fn() -> (M, J)>,
    _lock: PhantomData<fn() -> L>,
}

impl<M: Model, O: Send + 'static, L> Select<M, O, L> {
    fn joined<R, P>(
        self,
        relation: R,
        left_join: bool,
        decode: fn(RowRef<'_>) -> Result<P>,
    ) -> JoinSelect<M, R::To, P, L>
    where
        R: Joinable<From = M>,
    {
        let mut parts = self.into_parts();
        parts.columns = None;
        parts.join = Some(JoinClause {
            left_join,
            model: <R::To as Model>::NAME,
            schema: <R::To as Model>::SCHEMA,
            on: relation.__on(),
        });
        JoinSelect {
            parts,
            decode,
            _models: PhantomData,
            _lock: PhantomData,
        }
    }

    /// Joins the related model (`INNER JOIN`): rows are `(M, To)` pairs, and
    /// filters, sort keys and selections may use the columns of both. Both
    /// models must live on one connection.
    pub fn join<R>(self, relation: R) -> JoinSelect<M, R::To, (M, R::To), L>
    where
        R: Joinable<From = M>,
        R::To: OnConnection<M::Connection>,
    {
        self.joined(relation, false, decode_inner::<M, R::To>)
    }

    /// Joins the related model keeping rows without a match (`LEFT JOIN`):
    /// rows are `(M, Option<To>)`.
    #[allow(clippy::type_complexity)] // the row type, spelled out for the docs
    pub fn left_join<R>(self, relation: R) -> JoinSelect<M, R::To, (M, Option<R::To>), L>
    where
        R: Joinable<From = M>,
        R::To: OnConnection<M::Connection>,
    {
        self.joined(relation, true, decode_left::<M, R::To>)
    }
}

impl<M: Model, J: Model, O: Send + 'static, L> JoinSelect<M, J, O, L> {
    /// Keeps the rows where `condition` (on either model) holds.
    pub fn filter<F: JoinFilter<M, J, I>, I>(mut self, condition: F) -> Self {
        self.parts.filter = and(self.parts.filter, condition.into_node());
        self
    }

    /// Sorts by a column or ordering of either model. After a `left_join`,
    /// the joined model's columns are NULL in rows without a match, and
    /// those rows sort as NULLs do (first ascending, see [`Ordering`]).
    pub fn order_by<K: JoinOrdering<M, J, I>, I>(mut self, key: K) -> Self {
        let mut key = key.into_ordering();
        if K::JOINED && self.parts.join.as_ref().is_some_and(|j| j.left_join) {
            key.nullable = true;
        }
        self.parts.order.push(key);
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

    /// Selects columns or expressions of either model instead of both models.
    pub fn select<S: JoinSelection<M, J, I>, I>(
        self,
        selection: S,
    ) -> JoinSelect<M, J, S::Output, L> {
        let mut columns = Vec::new();
        selection.push_nodes(&mut columns);
        JoinSelect {
            parts: Parts {
                columns: Some(columns),
                ..self.parts
            },
            decode: decode_join_selection::<M, J, I, S>,
            _models: PhantomData,
            _lock: PhantomData,
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
        super::fetch_all::<M, O, E>(self.parts, self.decode, exec)
    }

    /// Runs the query and yields its rows as they arrive: see
    /// [`Select::stream`](super::Select::stream).
    pub fn stream<'e, E>(self, exec: E) -> super::RowStream<'e, O>
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
    {
        super::stream::stream_rows::<M, O, E>(self.parts, self.decode, exec)
    }

    /// Runs the query and returns its first row, if any.
    pub fn first<'e, E>(
        self,
        exec: E,
    ) -> impl std::future::Future<Output = Result<Option<O>>> + Send + 'e
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
    {
        super::fetch_first::<M, O, E>(self.parts, self.decode, exec)
    }

    /// Runs the query and returns its first row, or [`Error::NotFound`].
    pub fn one<'e, E>(self, exec: E) -> impl std::future::Future<Output = Result<O>> + Send + 'e
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
    {
        // Not `self.first(..)` inside the block: the future would hold `L`.
        let first = super::fetch_first::<M, O, E>(self.parts, self.decode, exec);
        async move { first.await?.ok_or(Error::NotFound { model: M::NAME }) }
    }

    /// Counts the rows the query would return.
    pub fn count<'e, E>(self, exec: E) -> impl std::future::Future<Output = Result<i64>> + Send + 'e
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
    {
        super::count_rows::<M, E>(self.parts, exec)
    }
}

impl<M: Model, J: Model, O: Send + 'static, L> JoinSelect<M, J, O, L> {
    lock::lock_methods!(
        waiting: JoinSelect<M, J, O, WaitingLock>,
        non_waiting: JoinSelect<M, J, O, NonWaitingLock>
    );

    /// The same query in lock state `L2`, after `f` changed its lock.
    fn relock<L2>(mut self, f: impl FnOnce(&mut Option<lock::Lock>)) -> JoinSelect<M, J, O, L2> {
        f(&mut self.parts.lock);
        JoinSelect {
            parts: self.parts,
            decode: self.decode,
            _models: PhantomData,
            _lock: PhantomData,
        }
    }
}
