//! Window functions: [`row_number`], [`rank`], [`dense_rank`],
//! [`lag`](WindowOps::lag) / [`lead`](WindowOps::lead), and aggregates
//! [`over`](Expr::over) a window of rows ([`window`]`().partition_by(..)
//! .order_by(..)`). A window function is only a selection: it does not
//! implement [`Operand`], so filtering or sorting by one does not compile
//! (SQL evaluates windows after `WHERE`; filter the rows first, or rank in
//! a subquery).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! use orm::prelude::*;
//! use orm::query::{rank, window, WindowOps};
//!
//! #[orm::model]
//! pub struct Sale { #[orm(primary_key, auto)] pub id: i64, pub region: String, pub amount: i64 }
//!
//! let db = orm::Database::connect("sqlite::memory:").await?;
//! db.create_table::<Sale>().await?;
//! for (region, amount) in [("east", 10), ("east", 30), ("west", 20)] {
//!     Sale::create(&db, Sale { id: 0, region: region.into(), amount }).await?;
//! }
//! // SELECT "sales"."id", RANK() OVER (PARTITION BY "sales"."region" ORDER BY "sales"."amount" DESC),
//! //   SUM("sales"."amount") OVER (PARTITION BY "sales"."region"),
//! //   LAG("sales"."amount", 1) OVER (ORDER BY "sales"."id" ASC)
//! // FROM "sales" ORDER BY "sales"."id" ASC
//! let rows = Sale::query()
//!     .order_by(sale::id)
//!     .select((
//!         sale::id,
//!         rank().over(window().partition_by(sale::region).order_by(sale::amount.desc())),
//!         sale::amount.sum().over(window().partition_by(sale::region)),
//!         sale::amount.lag(1).over(window().order_by(sale::id)),
//!     ))
//!     .all(&db)
//!     .await?;
//! assert_eq!(rows, [(1, 2, Some(40), None), (2, 1, Some(40), Some(10)), (3, 1, Some(20), Some(30))]);
//! # Ok(()) }
//! ```

use std::marker::PhantomData;

use super::expr::{Expr, Node, Operand, OrderKey, Ordering, RankFn};
use super::scope::{Both, NoTable};
use super::SelectionRow;
use crate::connection::driver::RowRef;
use crate::error::Result;
use crate::model::types::{FieldType, Scalar};

/// The rows a window function sees: `OVER (PARTITION BY .. ORDER BY ..)`.
/// Start with [`window`].
pub struct Window<S> {
    partition: Vec<Node>,
    order: Vec<OrderKey>,
    _scope: PhantomData<fn() -> S>,
}

/// An empty window (every row of the result); add
/// [`partition_by`](Window::partition_by) and [`order_by`](Window::order_by).
pub fn window() -> Window<NoTable> {
    Window {
        partition: Vec::new(),
        order: Vec::new(),
        _scope: PhantomData,
    }
}

/// A sort key of a window or of a query: a column or expression
/// (ascending), or an [`Ordering`] (`column.desc()`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a sort key",
    label = "expected a column or expression, or `.asc()`/`.desc()` of one",
    note = "sort by a column or expression of the query's tables: `column`, `column.asc()` or `column.desc()`, then optionally `.nulls_first()`/`.nulls_last()`"
)]
pub trait WindowKey {
    /// The tables the key reads.
    type Scope;
    #[doc(hidden)]
    fn into_key(self) -> OrderKey;
}

impl<M> WindowKey for Ordering<M> {
    type Scope = M;
    fn into_key(self) -> OrderKey {
        self.key
    }
}

impl<O: Operand> WindowKey for O {
    type Scope = O::Scope;
    fn into_key(self) -> OrderKey {
        Ordering::<O::Scope>::of::<O::Type>(self.into_node(), false).key
    }
}

impl<S> Window<S> {
    /// Restarts the function for each value of `key`: `PARTITION BY key`.
    pub fn partition_by<O: Operand>(mut self, key: O) -> Window<Both<S, O::Scope>> {
        self.partition.push(key.into_node());
        Window {
            partition: self.partition,
            order: self.order,
            _scope: PhantomData,
        }
    }

    /// Orders the rows of each partition: `ORDER BY key` (a column or
    /// expression ascending, or `.desc()`), in the same order as a query's
    /// [`Ordering`]. With an order, an aggregate is a running total up to
    /// the current row and its ties (the SQL default frame, `RANGE BETWEEN
    /// UNBOUNDED PRECEDING AND CURRENT ROW`).
    pub fn order_by<K: WindowKey>(mut self, key: K) -> Window<Both<S, K::Scope>> {
        self.order.push(key.into_key());
        Window {
            partition: self.partition,
            order: self.order,
            _scope: PhantomData,
        }
    }
}

/// A window function before its window: [`row_number`], [`rank`],
/// [`dense_rank`], `lag`, `lead`. Finish it with [`over`](Ranking::over).
pub struct Ranking<S, T> {
    node: Node,
    _types: PhantomData<fn() -> (S, T)>,
}

/// `ROW_NUMBER()`: 1, 2, 3... in the window's order.
pub fn row_number() -> Ranking<NoTable, i64> {
    ranking(RankFn::RowNumber, Vec::new())
}

/// `RANK()`: the row's rank in the window's order, ties sharing a rank and
/// leaving gaps (1, 1, 3).
pub fn rank() -> Ranking<NoTable, i64> {
    ranking(RankFn::Rank, Vec::new())
}

/// `DENSE_RANK()`: as [`rank`] without gaps (1, 1, 2).
pub fn dense_rank() -> Ranking<NoTable, i64> {
    ranking(RankFn::DenseRank, Vec::new())
}

fn ranking<S, T>(function: RankFn, args: Vec<Node>) -> Ranking<S, T> {
    Ranking {
        node: Node::Ranking(function, args),
        _types: PhantomData,
    }
}

impl<S, T> Ranking<S, T> {
    /// The function over `window`.
    pub fn over<W>(self, window: Window<W>) -> WindowExpr<Both<S, W>, T> {
        WindowExpr::new(self.node, window)
    }
}

/// `lag` and `lead` of columns and expressions. In scope with
/// `use orm::query::WindowOps`.
pub trait WindowOps: Operand {
    /// `LAG(self, offset)`: the value `offset` rows before this one in the
    /// window's order; `None` before the first.
    fn lag(self, offset: u32) -> Ranking<Self::Scope, Option<<Self::Type as Scalar>::Scalar>>
    where
        Self::Type: Scalar,
    {
        offset_fn(RankFn::Lag, self, offset)
    }
    /// `LEAD(self, offset)`: the value `offset` rows after this one; `None`
    /// after the last.
    fn lead(self, offset: u32) -> Ranking<Self::Scope, Option<<Self::Type as Scalar>::Scalar>>
    where
        Self::Type: Scalar,
    {
        offset_fn(RankFn::Lead, self, offset)
    }
}

impl<O: Operand> WindowOps for O {}

fn offset_fn<O: Operand, T>(function: RankFn, operand: O, offset: u32) -> Ranking<O::Scope, T> {
    // The offset is a number from the API, never user text: written as a
    // literal, which every backend requires of it.
    ranking(
        function,
        vec![operand.into_node(), Node::Literal(u64::from(offset))],
    )
}

impl<M, T, K> Expr<M, T, K> {
    /// This aggregate (`sum`, `avg`, `min`, `max`, `count`,
    /// `count_distinct`, [`count_all`](super::count_all)) over `window`
    /// instead of over a group: `SUM(x) OVER (...)`. Over an expression that
    /// is not an aggregate, running the query fails with
    /// [`Error::InvalidQuery`](crate::Error::InvalidQuery) before anything is sent.
    pub fn over<W>(self, window: Window<W>) -> WindowExpr<Both<M, W>, T> {
        WindowExpr::new(self.node, window)
    }
}

/// A window function with its window, of scope `S` and type `T`: a
/// selection only (see the [module](self)).
pub struct WindowExpr<S, T> {
    node: Node,
    _types: PhantomData<fn() -> (S, T)>,
}

impl<S, T> WindowExpr<S, T> {
    fn new<W>(function: Node, window: Window<W>) -> Self {
        WindowExpr {
            node: Node::Window(Box::new(function), window.partition, window.order),
            _types: PhantomData,
        }
    }
}

impl<S, T: FieldType> SelectionRow for WindowExpr<S, T> {
    type Output = T;
    type Scope = S;
    fn push_nodes(self, nodes: &mut Vec<Node>) {
        nodes.push(self.node);
    }
    fn decode(row: RowRef<'_>, index: &mut usize) -> Result<T> {
        *index += 1;
        T::decode(row, *index - 1)
    }
}
