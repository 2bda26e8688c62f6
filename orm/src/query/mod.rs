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
//!
//! Expressions compute in the database: arithmetic between columns and
//! values, comparisons of two columns, casts, `COALESCE`, `CASE`, text
//! functions (see [`ExprOps`]). Joins, subqueries, unions, CTEs and window
//! functions have modules of their own: [`join`], [`subquery`], [`union`],
//! [`cte`], [`mod@window`]; keyset pagination is [`page`], streaming [`stream`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! use orm::prelude::*;
//!
//! #[orm::model]
//! pub struct Line {
//!     #[orm(primary_key, auto)]
//!     pub id: i64,
//!     pub unit_price_cents: i32,
//!     pub quantity: i32,
//!     pub discount_cents: Option<i32>,
//! }
//!
//! let db = orm::Database::connect("sqlite::memory:").await?;
//! db.create_table::<Line>().await?;
//! Line::create(&db, Line { id: 0, unit_price_cents: 99, quantity: 3, discount_cents: None }).await?;
//!
//! // SELECT ("lines"."unit_price_cents" * "lines"."quantity"),
//! //   COALESCE("lines"."discount_cents", ?), CAST("lines"."quantity" AS REAL)
//! // FROM "lines" WHERE ("lines"."unit_price_cents" > "lines"."quantity")
//! let row = Line::query()
//!     .filter(line::unit_price_cents.gt(line::quantity))
//!     .select((
//!         line::unit_price_cents * line::quantity,
//!         line::discount_cents.coalesce(0),
//!         line::quantity.cast::<f64>(),
//!     ))
//!     .one(&db)
//!     .await?;
//! assert_eq!(row, (297, 0, 3.0));
//! # Ok(()) }
//! ```

// The `async` methods here are written as `fn ... -> Pending<'e, T>`, a
// named future: it is `Send`, so callers can spawn it (left to `async fn`,
// rustc cannot prove it for futures that hold a generic executor), and a
// bound the call breaks is reported once, on the call.

pub mod cached;
pub mod cte;
mod expr;
pub mod grouping;
mod in_list;
pub mod join;
pub mod lock;
pub mod page;
pub(crate) mod render;
pub mod scope;
pub mod stream;
pub mod subquery;
pub mod union;
pub mod window;

use std::marker::PhantomData;

pub use cached::Cached;
pub use cte::{with, with_recursive, Cte, CteColumn, CteRef, RecursiveStep};
#[doc(hidden)]
pub use expr::{
    arith, divide, AggregateFn, ArithOp, Arithmetic, ComparandKind, CompareOp, ComparedWith,
    Compatible, MapNull, MaybeNull, NeverNull, Node, Nullability, OrderKey, RankFn, SubqueryUse,
    TextFn,
};
pub use expr::{
    case_when, case_when_expr, count_all, not, value, ArithOperand, ByExpr, ByValue, Case,
    CastTarget, Combine, Comparand, Condition, Expr, ExprOps, Fallback, Filter, IntoOrdering,
    IsCondition, Literal, Nulls, Operand, OptionComparand, Ordering, PlainComparand, Quotient,
};
pub use expr::{Aggregated, Cond, Constant, Kind, Mixed, Plain};
pub use grouping::{Grouping, ValidGrouping};
pub use join::{JoinStart, OnConnection};
pub use lock::{LockScope, Locked, NoLock, NonWaitingLock, Unlocked, WaitingLock, Waits};
pub use page::{Cursor, Page, Paged};
pub use scope::{Alias, AliasColumn, Both, InScope, NoTable, PushRow, RowPart};
pub use stream::RowStream;
pub use subquery::{exists, not_exists, InList, Subquery};
pub use union::{Union, UnionMember};
pub use window::{dense_rank, rank, row_number, window, Window, WindowExpr, WindowKey, WindowOps};

use crate::connection::conn::sql_owned;
use crate::connection::driver::RowRef;
use crate::error::{Error, Result};
use crate::model::crud::{read_of, write_of};
use crate::model::types::FieldType;
use crate::model::{ColumnOf, Model, WritableModel};
use crate::routing::{Access, Executor, Operation, Pending};

/// What a query selects, and how each row of it decodes: a column or
/// expression of the query's tables, a window function, or a tuple of
/// those (up to 8). `S` is the query's sources and `I` (inferred) says
/// where each part is.
///
/// Implemented once, for every [`SelectionRow`] whose tables are among the
/// sources: a tuple is checked through the tables it reads as a whole
/// ([`Both`] of its parts'), so that a part of another model's is reported
/// by that model's name (`User` is not one of the tables of this query),
/// not as the whole tuple.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be selected in a query of `{S}`",
    label = "not a column or expression of this query's tables",
    note = "select columns of the queried model or of the models it joined, expressions and aggregates of them, or a tuple of those (up to 8)"
)]
pub trait Selection<S, I>: SelectionRow {}

impl<S, I, Sel: SelectionRow> Selection<S, I> for Sel where Sel::Scope: InScope<S, I> {}

/// What one row of a selection decodes to, whichever query selects it:
/// the type [`select`](Select::select) returns rows of, and the tables the
/// selection reads. Apart from [`Selection`], so that a selection of
/// another query's tables is one error (on the argument), not a second one
/// on the return type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be selected",
    label = "not a column, expression, aggregate or window function",
    note = "select columns (`order::total`), expressions and aggregates of them (`order::total.sum()`), window functions, or a tuple of those (up to 8); a Rust value is selected with `value(..)`"
)]
pub trait SelectionRow {
    /// The Rust value of one row.
    type Output: Send + 'static;
    /// The tables the selection reads: a model, [`Both`] of two scopes, or
    /// [`NoTable`].
    type Scope;
    #[doc(hidden)]
    fn push_nodes(self, nodes: &mut Vec<Node>);
    #[doc(hidden)]
    fn decode(row: RowRef<'_>, index: &mut usize) -> Result<Self::Output>;
}

impl<O: Operand> SelectionRow for O {
    type Output = O::Type;
    type Scope = O::Scope;
    fn push_nodes(self, nodes: &mut Vec<Node>) {
        nodes.push(self.into_node());
    }
    fn decode(row: RowRef<'_>, index: &mut usize) -> Result<O::Type> {
        *index += 1;
        O::Type::decode(row, *index - 1)
    }
}

/// The scope of a tuple of selections: [`Both`] of its parts' scopes,
/// nested from the right (`Both<A, Both<B, C>>`).
macro_rules! tuple_scope {
    ($last:ident) => { $last::Scope };
    ($first:ident, $($rest:ident),+) => { Both<$first::Scope, tuple_scope!($($rest),+)> };
}

macro_rules! tuple_selection {
    ($(($name:ident, $index:ident)),+) => {
        impl<$($name: SelectionRow),+> SelectionRow for ($($name,)+) {
            type Output = ($($name::Output,)+);
            type Scope = tuple_scope!($($name),+);
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
/// Invokes `$impl_for_tuple!` for each tuple of one to eight `(T, IndexT)`
/// pairs: the tuples a selection may be (`select((a, b, ..))`).
macro_rules! for_each_selection_tuple {
    ($impl_for_tuple:ident) => {
        $impl_for_tuple!((A, IA));
        $impl_for_tuple!((A, IA), (B, IB));
        $impl_for_tuple!((A, IA), (B, IB), (C, IC));
        $impl_for_tuple!((A, IA), (B, IB), (C, IC), (D, ID));
        $impl_for_tuple!((A, IA), (B, IB), (C, IC), (D, ID), (E, IE));
        $impl_for_tuple!((A, IA), (B, IB), (C, IC), (D, ID), (E, IE), (F, IF));
        $impl_for_tuple!(
            (A, IA),
            (B, IB),
            (C, IC),
            (D, ID),
            (E, IE),
            (F, IF),
            (G, IG)
        );
        $impl_for_tuple!(
            (A, IA),
            (B, IB),
            (C, IC),
            (D, ID),
            (E, IE),
            (F, IF),
            (G, IG),
            (H, IH)
        );
    };
}
pub(crate) use for_each_selection_tuple;
for_each_selection_tuple!(tuple_selection);

fn decode_model<M: Model>(row: RowRef<'_>) -> Result<M> {
    M::__decode(row, 0)
}

fn decode_selection<Sel: SelectionRow>(row: RowRef<'_>) -> Result<Sel::Output> {
    Sel::decode(row, &mut 0)
}

/// The parts of a `SELECT` (also the `WHERE` of updates and deletes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parts {
    pub(crate) columns: Option<Vec<Node>>,
    pub(crate) distinct: bool,
    pub(crate) joins: Vec<JoinClause>,
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
    /// The queried model's table, for subqueries (rendered without `M`).
    pub(crate) table: Option<&'static crate::model::schema::TableSchema>,
    /// The CTE the query reads instead of its model's table.
    pub(crate) with: Option<Box<cte::CteDef>>,
}

impl Parts {
    /// No clause at all: `SELECT <model columns> FROM <table>`.
    fn is_plain(&self) -> bool {
        self.columns.is_none()
            && !self.distinct
            && self.joins.is_empty()
            && self.filter.is_none()
            && self.group_by.is_empty()
            && self.having.is_none()
            && self.order.is_empty()
            && self.limit.is_none()
            && self.offset.is_none()
            && self.lock.is_none()
            && self.with.is_none()
    }
}

/// `[LEFT] JOIN <table> [AS <alias>] ON <left> = <right>`
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct JoinClause {
    pub(crate) left_join: bool,
    /// The joined model's Rust name, for messages.
    pub(crate) model: &'static str,
    pub(crate) schema: &'static crate::model::schema::TableSchema,
    /// The alias the table is joined under, if any.
    pub(crate) alias: Option<&'static str>,
    /// The CTE joined instead of the model's table (see [`cte`]).
    pub(crate) cte: Option<&'static str>,
    /// Whether its columns are in the rows (not for the join table a
    /// many-to-many goes through, nor for a CTE).
    pub(crate) selected: bool,
    /// The `ON` condition.
    pub(crate) on: Node,
}

impl JoinClause {
    /// The name its columns are read under: the alias, the CTE, or the table.
    pub(crate) fn name(&self) -> &'static str {
        self.alias.or(self.cte).unwrap_or(self.schema.name)
    }
}

pub(crate) fn and(existing: Option<Node>, next: Node) -> Option<Node> {
    Some(match existing {
        Some(prev) => Node::And(Box::new(prev), Box::new(next)),
        None => next,
    })
}

/// A query on model `M` whose rows decode to `O` (the model itself, until
/// [`select`](Select::select) picks columns, or a tuple of the joined
/// models' rows after a [`join`](Select::join)). `L` says whether it takes
/// a row lock ([`NoLock`], until [`for_update`](Select::for_update) or
/// [`for_share`](Select::for_share); see [`lock`]). `S` lists the tables
/// the query reads: `M`, or after joins a tuple of `M` and each joined
/// model or [`Alias`].
#[must_use = "a query does nothing until it is run with `all`, `first`, `count`, ..."]
pub struct Select<M: Model, O = M, L = NoLock, S = M, G = Grouping<grouping::WholeRows, ()>> {
    pub(crate) parts: Parts,
    pub(crate) decode: fn(RowRef<'_>) -> Result<O>,
    #[allow(clippy::type_complexity)] // the type parameters, held
    _model: PhantomData<fn() -> (M, L, S, G)>,
}

/// A query of `M` joined with `J`, rows decoding to `O`: the type of
/// `M::query().join(..)`.
pub type JoinSelect<M, J, O, L = NoLock> = Select<M, O, L, (M, J)>;

impl<M: Model, O, L, S, G> Clone for Select<M, O, L, S, G> {
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
            parts: Parts {
                table: Some(M::SCHEMA),
                ..Parts::default()
            },
            decode: decode_model::<M>,
            _model: PhantomData,
        }
    }
}

/// A query of `parts` with another row type, lock state or source list.
pub(crate) fn reshape<M: Model, O, L, S, G>(
    parts: Parts,
    decode: fn(RowRef<'_>) -> Result<O>,
) -> Select<M, O, L, S, G> {
    Select {
        parts,
        decode,
        _model: PhantomData,
    }
}

/// `limit` and `offset`, written once for [`Select`] and
/// [`Union`](union::Union): each keeps them in `self.parts.limit` and
/// `self.parts.offset`. `$of` ends the docs' sentences (`" of the whole
/// union"`).
macro_rules! limit_offset_methods {
    ($of:literal) => {
        #[doc = concat!("Returns at most `n` rows", $of, ".")]
        pub fn limit(mut self, n: u64) -> Self {
            self.parts.limit = Some(n);
            self
        }

        #[doc = concat!("Skips the first `n` rows", $of, ".")]
        pub fn offset(mut self, n: u64) -> Self {
            self.parts.offset = Some(n);
            self
        }
    };
}
pub(crate) use limit_offset_methods;

impl<M: Model, O: Send + 'static, L, S, G> Select<M, O, L, S, G> {
    /// Keeps the rows where `condition` holds (several calls combine with
    /// AND). The condition may read the columns of every table the query
    /// has: its model and the models it joined.
    pub fn filter<F: Filter<S, I>, I>(mut self, condition: F) -> Self {
        self.parts.filter = and(self.parts.filter, condition.into_node());
        self
    }

    /// Sorts by `key` (a column or expression sorts ascending; use
    /// `.desc()` to reverse). Several calls sort by each key in turn. After
    /// a `left_join`, the joined model's columns are NULL in rows without a
    /// match, and those rows sort as NULLs do (first ascending, see
    /// [`Ordering`]).
    pub fn order_by<K: IntoOrdering<S, I>, I>(mut self, key: K) -> Self {
        let mut key = key.into_ordering();
        if self
            .parts
            .joins
            .iter()
            .any(|j| j.left_join && reads(&key.node, j.name()))
        {
            key.nullable = true;
        }
        self.parts.order.push(key);
        self
    }

    limit_offset_methods!("");

    /// Returns each distinct row once: `SELECT DISTINCT`.
    pub fn distinct(mut self) -> Self {
        self.parts.distinct = true;
        self
    }

    /// Groups rows by `key`, a column or expression of the query's tables
    /// (several calls group by each key). Text groups by its bytes on every
    /// backend: `"a"`, `"A"` and `"a "` are three groups also under MySQL's
    /// collations that ignore case and trailing spaces.
    ///
    /// The query may then select only its group keys (the same columns or
    /// expressions) and aggregates: selecting another column does not
    /// compile (see [`grouping`]).
    pub fn group_by<K: Operand, I>(
        mut self,
        key: K,
    ) -> Select<M, O, L, S, <G as grouping::GroupKeyState<K>>::Out>
    where
        K::Scope: InScope<S, I>,
        G: grouping::GroupKeyState<K>,
    {
        let text = K::Type::SQL_TYPE == crate::model::types::SqlType::Text;
        let node = key.into_node();
        self.parts.group_by.push(if text {
            Node::GroupText(Box::new(node))
        } else {
            node
        });
        reshape(self.parts, self.decode)
    }

    /// Keeps the groups where `condition` holds.
    pub fn having<F: Filter<S, I>, I>(mut self, condition: F) -> Self {
        self.parts.having = and(self.parts.having, condition.into_node());
        self
    }

    /// Selects columns, expressions or aggregates of the query's tables
    /// instead of whole rows: a single one decodes to its type, a tuple to
    /// a tuple.
    ///
    /// With `group_by` (before or after `select`), the selection may hold
    /// only the group keys and aggregates: `all`, `first` and `one` do not
    /// compile otherwise.
    pub fn select<Sel, I>(
        self,
        selection: Sel,
    ) -> Select<M, <Sel as SelectionRow>::Output, L, S, <G as grouping::SelectState<Sel>>::Out>
    where
        Sel: Selection<S, I>,
        G: grouping::SelectState<Sel>,
    {
        let mut columns = Vec::new();
        selection.push_nodes(&mut columns);
        reshape(
            Parts {
                columns: Some(columns),
                ..self.parts
            },
            decode_selection::<Sel>,
        )
    }

    /// Runs the query and returns every row. A grouped query must select
    /// only its group keys and aggregates (a compile error otherwise).
    pub fn all<'e, E, GI>(self, exec: E) -> Pending<'e, Vec<O>>
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
        G: ValidGrouping<GI>,
    {
        Pending::new(fetch_all::<M, O, E>(self.parts, self.decode, exec))
    }

    /// Runs the query and returns its first row, if any.
    pub fn first<'e, E, GI>(self, exec: E) -> Pending<'e, Option<O>>
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
        G: ValidGrouping<GI>,
    {
        Pending::new(fetch_first::<M, O, E>(self.parts, self.decode, exec))
    }

    /// Runs the query and returns its first row, or [`Error::NotFound`].
    pub fn one<'e, E, GI>(self, exec: E) -> Pending<'e, O>
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
        G: ValidGrouping<GI>,
    {
        // Not `self.first(..)` inside the block: the future would hold `L`.
        let first = fetch_first::<M, O, E>(self.parts, self.decode, exec);
        Pending::new(async move { first.await?.ok_or(Error::NotFound { model: M::NAME }) })
    }

    /// Counts the rows the query would return. With a row lock, locks
    /// them and counts them (the locking query becomes a subquery of the
    /// count, as PostgreSQL refuses `COUNT(*) ... FOR UPDATE`).
    pub fn count<'e, E>(self, exec: E) -> Pending<'e, i64>
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
    {
        Pending::new(count_rows::<M, E>(self.parts, exec))
    }

    /// Whether the query returns at least one row. With a row lock, locks
    /// the row it finds (InnoDB: the index records it scans to find it).
    pub fn exists<'e, E>(mut self, exec: E) -> Pending<'e, bool>
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
    {
        Pending::new(async move {
            self.parts.limit = Some(1);
            let op = read_op::<M>(&self.parts);
            let mut session = exec.__session(&op).await?;
            let (sql, args) = render::exists::<M>(session.backend(), &self.parts)?;
            session
                .fetch_optional(&op, sql_owned(sql), args, |_| Ok(()))
                .await
                .map(|row| row.is_some())
        })
    }
}

/// Whether `node` reads a column of the table or alias `name`.
fn reads(node: &Node, name: &str) -> bool {
    match node {
        Node::Column { table, .. } => *table == name,
        node => node.children().into_iter().any(|n| reads(n, name)),
    }
}

impl<M: Model, O: Send + 'static, L, G> Select<M, O, L, M, G> {
    /// Turns the query into an `UPDATE` of the rows it matches; set the
    /// columns with [`Update::set`] (without one, `execute` does not
    /// compile).
    pub fn update(self) -> Update<M, NoAssignment>
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
    pub fn delete<'e, E>(self, exec: E) -> Pending<'e, u64>
    where
        M: WritableModel,
        L: Unlocked,
        E: Executor<'e, M::Connection> + 'e,
    {
        Pending::new(async move {
            let op = crate::model::crud::delete_of::<M>();
            let mut session = exec.__session(&op).await?;
            let (sql, args) = render::delete::<M>(session.backend(), self.parts.filter.as_ref())?;
            Ok(session
                .execute(&op, sql_owned(sql), args)
                .await?
                .rows_affected)
        })
    }
}

/// Sources `Self` are model `M` alone: what [`Select::update`] needs.
#[diagnostic::on_unimplemented(
    message = "`update()` changes rows of `{M}` alone, and this query joined other tables (`{Self}`)",
    label = "`update` of a joined query",
    note = "leave out the join and test the other model in a subquery: `{M}::query().filter(column.is_in(Other::query().filter(..).select(other::key)))`, or `.filter(exists(..))` with `Select::correlate`, then `.update()`"
)]
pub trait UpdateOneModel<M> {}
impl<M: Model> UpdateOneModel<M> for M {}

/// Sources `Self` are model `M` alone: what [`Select::delete`] needs.
#[diagnostic::on_unimplemented(
    message = "`delete()` removes rows of `{M}` alone, and this query joined other tables (`{Self}`)",
    label = "`delete` of a joined query",
    note = "leave out the join and test the other model in a subquery: `{M}::query().filter(column.is_in(Other::query().filter(..).select(other::key)))`, or `.filter(exists(..))` with `Select::correlate`, then `.delete(&db)`"
)]
pub trait DeleteOneModel<M> {}
impl<M: Model> DeleteOneModel<M> for M {}

/// Sources `Self` are model `M` alone: what [`Select::page`] needs.
#[diagnostic::on_unimplemented(
    message = "`page()` pages through rows of `{M}` alone, and this query joined other tables (`{Self}`)",
    label = "`page` of a joined query",
    note = "page through `{M}` without the join (test the other model in a subquery: `.filter(column.is_in(Other::query().filter(..).select(other::key)))`), then load the related rows of each page with `relation.load(&rows, &db)`; or use `limit`/`offset` on the joined query"
)]
pub trait PageOneModel<M> {}
impl<M: Model> PageOneModel<M> for M {}

/// `update`, `delete` and `page` of a query whose sources are the tuple `($all)`
/// (a joined one), which do not compile (see [`UpdateOneModel`]): defined so
/// that the error says why and what to write, instead of rustc's "no
/// method named `update`". One impl per length: an impl for every `S`
/// that is not `M` would overlap the real one for rustc.
macro_rules! joined_one_model_methods {
    ($($all:ident),+) => {
        impl<M: Model, O: Send + 'static, L, G, $($all),+> Select<M, O, L, ($($all,)+), G> {
            #[doc(hidden)]
            pub fn update(self) -> Update<M, NoAssignment>
            where
                M: WritableModel,
                ($($all,)+): UpdateOneModel<M>,
            {
                Update {
                    filter: self.parts.filter,
                    assignments: Vec::new(),
                    _model: PhantomData,
                }
            }

            #[doc(hidden)]
            pub fn delete<Exec>(self, exec: Exec) -> std::future::Ready<Result<u64>>
            where
                ($($all,)+): DeleteOneModel<M>,
            {
                let _ = exec;
                std::future::ready(Err(Error::InvalidQuery {
                    message: "`delete` of a joined query".into(),
                }))
            }

            #[doc(hidden)]
            pub fn page(self, size: u64) -> page::Paged<M, O, L>
            where
                ($($all,)+): PageOneModel<M>,
            {
                page::Paged::new(reshape(self.parts, self.decode), size)
            }
        }
    };
}
grouping::for_each_joined_tuple!(joined_one_model_methods);

impl<M: Model, O: Send + 'static, L, S, G> Select<M, O, L, S, G> {
    lock::lock_methods!(waiting: Select<M, O, WaitingLock, S, G>, non_waiting: Select<M, O, NonWaitingLock, S, G>);

    /// The same query in lock state `L2`, after `f` changed its lock.
    fn relock<L2>(mut self, f: impl FnOnce(&mut Option<lock::Lock>)) -> Select<M, O, L2, S, G> {
        f(&mut self.parts.lock);
        reshape(self.parts, self.decode)
    }
}

/// An update that sets no column yet: the state of [`Update`] before
/// its first [`set`](Update::set).
pub struct NoAssignment;
/// An update that sets at least one column.
pub struct Assigned;

/// Update states that can run: after at least one [`set`](Update::set).
#[diagnostic::on_unimplemented(
    message = "this update sets no column",
    label = "`execute` needs at least one `.set(column, value)` before it",
    note = "call `.set(column, value)` (or `.set(column, expression)`) on the update first"
)]
pub trait HasAssignments {}
impl HasAssignments for Assigned {}

/// An `UPDATE` of the rows a query matched; see [`Select::update`]. `A` is
/// [`NoAssignment`] until the first [`set`](Update::set): an update that
/// sets nothing does not compile.
#[must_use = "an update does nothing until `execute` runs it"]
pub struct Update<M: Model, A = Assigned> {
    filter: Option<Node>,
    assignments: Vec<(&'static str, Node)>,
    _model: PhantomData<fn() -> (M, A)>,
}

impl<M: Model, A> Update<M, A> {
    /// Sets `column` in every matched row to `value`: a Rust value of the
    /// column's type, or an expression of the row's own columns, computed by
    /// the database in the same statement (an atomic update:
    /// `.set(product::stock, product::stock - 3)` loses no concurrent
    /// change, where reading the row and writing it back would).
    ///
    /// On an `Option` column, `value` is the plain value (`"gift"` or
    /// `&text` for an `Option<String>` column, meaning `Some`), `None`
    /// (NULL), or an owned `Option` (`Some("gift".to_owned())`,
    /// `maybe.map(str::to_owned)`). `Some("gift")`, an `Option` of a
    /// borrowed value, does not compile: accepting it as well would make a
    /// bare `None` ambiguous (E0283), a limit of stable Rust that Diesel
    /// shares (it asks for `None::<String>` instead); the compiler's message
    /// says what to write.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
    /// # use orm::prelude::*;
    /// # #[orm::model] pub struct Product { #[orm(primary_key, auto)] pub id: i64, pub stock: i32 }
    /// # let db = orm::Database::connect("sqlite::memory:").await?;
    /// # db.create_table::<Product>().await?;
    /// # Product::create(&db, Product { id: 0, stock: 10 }).await?;
    /// // UPDATE "products" SET "stock" = ("products"."stock" - ?) WHERE ("products"."id" = ?)
    /// Product::query()
    ///     .filter(product::id.eq(1))
    ///     .update()
    ///     .set(product::stock, product::stock - 3)
    ///     .execute(&db)
    ///     .await?;
    /// assert_eq!(Product::get(&db, 1).await?.stock, 7);
    /// # Ok(()) }
    /// ```
    pub fn set<C, V, K, I>(mut self, column: C, value: V) -> Update<M, Assigned>
    where
        C: ColumnOf<M>,
        V: Comparand<C::Type, K>,
        K: ComparandKind<V>,
        <K as ComparandKind<V>>::Scope<M>: InScope<M, I>,
    {
        let _ = column;
        self.assignments.push((C::NAME, value.into_node()));
        Update {
            filter: self.filter,
            assignments: self.assignments,
            _model: PhantomData,
        }
    }
}

impl<M: Model, A> Update<M, A> {
    /// Runs the update; returns how many rows matched. Needs a
    /// [`set`](Update::set) first (a compile error otherwise).
    pub fn execute<'e, E>(self, exec: E) -> Pending<'e, u64>
    where
        A: HasAssignments,
        E: Executor<'e, M::Connection> + 'e,
    {
        Pending::new(async move {
            let op = write_of::<M>("UPDATE");
            let mut session = exec.__session(&op).await?;
            let (sql, args) =
                render::update::<M>(session.backend(), &self.assignments, self.filter.as_ref())?;
            Ok(session
                .execute(&op, sql_owned(sql), args)
                .await?
                .rows_affected)
        })
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

/// The read a `SELECT` built from `parts` is: of `M`'s table, and of every
/// table it reads besides (joins, subqueries, CTEs), which the query cache
/// keys and invalidates by. A locking read is a write to routing (verb
/// still `SELECT`): locks are taken on the primary, never a replica, and
/// the rows are about to be written.
fn read_op<M: Model>(parts: &Parts) -> Operation {
    let mut op = read_of::<M>();
    let mut tables = vec![M::SCHEMA.name];
    tables_read(parts, &mut tables);
    if tables.len() > 1 {
        op.tables = tables.into();
    }
    if parts.lock.is_some() {
        op.access = Access::Write;
    }
    op
}

/// Adds to `tables` each table the query of `parts` reads that is not
/// there yet: its own (for a subquery), its joins', and those of the
/// subqueries in any of its expressions and of its CTE.
pub(crate) fn tables_read(parts: &Parts, tables: &mut Vec<&'static str>) {
    let mut add = |name: &'static str| {
        if !tables.contains(&name) {
            tables.push(name);
        }
    };
    if let Some(table) = parts.table {
        add(table.name);
    }
    for join in &parts.joins {
        add(join.schema.name);
    }
    fn walk(node: &Node, tables: &mut Vec<&'static str>) {
        if let Node::Subquery(_, inner) = node {
            tables_read(inner, tables);
        }
        for child in node.children() {
            walk(child, tables);
        }
    }
    let nodes = parts
        .columns
        .iter()
        .flatten()
        .chain(&parts.filter)
        .chain(&parts.group_by)
        .chain(&parts.having)
        .chain(parts.order.iter().map(|key| &key.node))
        .chain(parts.joins.iter().map(|join| &join.on));
    for node in nodes {
        walk(node, tables);
    }
    if let Some(with) = &parts.with {
        tables_read(&with.anchor, tables);
        if let Some(step) = &with.step {
            tables_read(step, tables);
        }
    }
}
