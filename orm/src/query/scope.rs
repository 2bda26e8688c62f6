//! Which tables an expression reads, and which tables a query has.
//!
//! Every expression carries its *scope* as a type: the model whose columns
//! it reads (`Expr<Order, bool>`), [`Both`] of two scopes when it reads
//! columns of two (`order::total.gt(customer::credit)`), or [`NoTable`] when
//! it reads none (a value, an uncorrelated subquery). A query has a list of
//! *sources*: its model (`Order`), or a tuple of the model and every model or
//! [`Alias`] it joined (`(Track, Album, Artist)`). A filter, sort key,
//! selection or grouping is accepted when its scope is in the query's
//! sources ([`InScope`]); the index type parameters that say where are
//! inferred and never written.

use std::marker::PhantomData;

use crate::connection::driver::RowRef;
use crate::error::Result;
use crate::model::types::FieldType;
use crate::model::{ColumnOf, Model};

use super::expr::{Node, Operand};

/// The scope of an expression that reads no table: a value, or a subquery
/// that does not refer to the outer query. It fits every query.
pub struct NoTable;

/// The scope of an expression that reads the tables of scopes `A` and `B`:
/// `order::total.gt(customer::credit)` is an `Expr<Both<Order, Customer>, bool>`.
pub struct Both<A, B>(PhantomData<fn() -> (A, B)>);

/// Scope `Self` is among the sources `S` of a query. `I` says where, and is
/// inferred.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not one of the tables of this query (`{S}`)",
    label = "reads `{Self}`, which this query has not joined",
    note = "join `{Self}` before using its columns: `.join(relation)` with a relation that leads to it from the query's tables (`.join_as(relation, Alias)` to join a table a second time), or test it in a subquery (`exists(..)`, `column.is_in(..)`; `Select::correlate` refers to the outer query)",
    note = "if `{Self}` is the join model of a many-to-many relation this query joined: that join does not make it one of the query's tables; to read its columns, join it by its own relations instead (a `has_many` to `{Self}`, then its `belongs_to`)"
)]
pub trait InScope<S, I> {}

/// Where a scope is: the query's only model.
pub struct Here;
/// Where a scope is: nowhere in particular (it reads no table).
pub struct Anywhere;
/// Where a scope is: both halves of a [`Both`], each at its own place.
pub struct Pair<A, B>(PhantomData<fn() -> (A, B)>);

impl<M: Model> InScope<M, Here> for M {}
impl<S> InScope<S, Anywhere> for NoTable {}
impl<S, A, B, IA, IB> InScope<S, Pair<IA, IB>> for Both<A, B>
where
    A: InScope<S, IA>,
    B: InScope<S, IB>,
{
}

macro_rules! positions {
    ($($at:ident),+) => {$(
        #[doc = concat!("Where a scope is: the source at `", stringify!($at), "` of a join.")]
        pub struct $at;
    )+};
}
positions!(At0, At1, At2, At3, At4, At5);

/// Implements `$trait<(T1, .., Tn), AtK>` for each type `TK` of every tuple
/// of two to six types: where a type stands among a join's sources
/// ([`InScope`]) or among a query's group keys
/// ([`KeyIn`](super::grouping::KeyIn)).
macro_rules! impl_at_positions {
    ($trait:ident) => {
        $crate::query::scope::impl_at_positions!(@ $trait; [A, B]; At0 A, At1 B);
        $crate::query::scope::impl_at_positions!(@ $trait; [A, B, C]; At0 A, At1 B, At2 C);
        $crate::query::scope::impl_at_positions!(@ $trait; [A, B, C, D]; At0 A, At1 B, At2 C, At3 D);
        $crate::query::scope::impl_at_positions!(@ $trait; [A, B, C, D, E]; At0 A, At1 B, At2 C, At3 D, At4 E);
        $crate::query::scope::impl_at_positions!(@ $trait; [A, B, C, D, E, F]; At0 A, At1 B, At2 C, At3 D, At4 E, At5 F);
    };
    (@ $trait:ident; $all:tt; $($at:ident $this:ident),+) => {
        $($crate::query::scope::impl_at_positions!(@one $trait; $all; $at $this);)+
    };
    (@one $trait:ident; [$($all:ident),+]; $at:ident $this:ident) => {
        impl<$($all),+> $trait<($($all,)+), $crate::query::scope::$at> for $this {}
    };
}
pub(crate) use impl_at_positions;
impl_at_positions!(InScope);

/// Where a scope is: the outer query's model, in a correlated subquery.
pub struct AtOuter;
impl<A, X> InScope<(A, super::subquery::Outer<X>), AtOuter> for X {}

/// The sources of a query after joining one more source `X`: `M` becomes
/// `(M, X)`, `(A, B)` becomes `(A, B, X)`, up to six.
#[diagnostic::on_unimplemented(
    message = "a query cannot join more than six tables",
    label = "the seventh table"
)]
pub trait Push<X> {
    /// The longer list.
    type Out;
}

impl<M: Model, X> Push<X> for M {
    type Out = (M, X);
}
macro_rules! push {
    ($($all:ident),+) => {
        impl<$($all,)+ X> Push<X> for ($($all,)+) {
            type Out = ($($all,)+ X);
        }
    };
}
push!(A, B);
push!(A, B, C);
push!(A, B, C, D);
push!(A, B, C, D, E);

/// A second name for a model's table, to join it again: a self-join
/// (employee and manager) or two joins of one table. Declared with
/// [`alias!`](crate::alias); its columns are `Alias.column(model::col)`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
/// use orm::prelude::*;
///
/// #[orm::model(table = "staff")]
/// #[derive(Clone, Debug)]
/// pub struct Employee {
///     #[orm(primary_key, auto)]
///     pub id: i64,
///     pub name: String,
///     #[orm(belongs_to = Employee)]
///     pub manager_id: Option<i64>,
/// }
/// orm::alias!(pub Manager = Employee);
///
/// let db = orm::Database::connect("sqlite::memory:").await?;
/// db.create_table::<Employee>().await?;
/// let ada = Employee::create(&db, Employee { id: 0, name: "Ada".into(), manager_id: None }).await?;
/// Employee::create(&db, Employee { id: 0, name: "Bob".into(), manager_id: Some(ada.id) }).await?;
///
/// // SELECT "staff"."name", "Manager"."name" FROM "staff"
/// //   INNER JOIN "staff" AS "Manager" ON "staff"."manager_id" = "Manager"."id"
/// let pairs = Employee::query()
///     .join_as(employee::manager, Manager)
///     .select((employee::name, Manager.column(employee::name)))
///     .all(&db)
///     .await?;
/// assert_eq!(pairs, [("Bob".to_string(), "Ada".to_string())]);
/// # Ok(()) }
/// ```
pub trait Alias: Copy + Send + Sync + 'static {
    /// The model whose table this is another name of.
    type Model: Model;
    /// The name in SQL (`... AS "Manager"`).
    const NAME: &'static str;

    /// Column `column` of the model, read through this alias.
    fn column<C: ColumnOf<Self::Model>>(self, column: C) -> AliasColumn<Self, C> {
        let _ = column;
        AliasColumn(PhantomData)
    }
}

/// A column read through an alias: `Manager.column(employee::name)`.
pub struct AliasColumn<A, C>(PhantomData<fn() -> (A, C)>);

impl<A, C> Clone for AliasColumn<A, C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A, C> Copy for AliasColumn<A, C> {}

impl<A: Alias, C: ColumnOf<A::Model>> Operand for AliasColumn<A, C> {
    type Scope = A;
    type Type = C::Type;
    type Kind = super::expr::Plain;
    fn into_node(self) -> Node {
        Node::Column {
            table: A::NAME,
            name: C::NAME,
        }
    }
}

/// Declares an [`Alias`]: `orm::alias!(pub Manager = Employee);` makes a
/// unit struct `Manager` that names `Employee`'s table `"Manager"` in SQL
/// (the struct's name, quoted), or `orm::alias!(Boss = Employee as "boss")`
/// with a name of your own.
#[macro_export]
macro_rules! alias {
    ($vis:vis $name:ident = $model:ty as $sql:literal) => {
        #[doc = concat!("Another name of the table of `", stringify!($model), "`, `", $sql, "` in SQL.")]
        #[derive(Clone, Copy, Debug)]
        $vis struct $name;
        impl $crate::query::Alias for $name {
            type Model = $model;
            const NAME: &'static str = $sql;
        }
    };
    ($vis:vis $name:ident = $model:ty) => {
        #[doc = concat!("Another name of the table of `", stringify!($model), "`.")]
        #[derive(Clone, Copy, Debug)]
        $vis struct $name;
        impl $crate::query::Alias for $name {
            type Model = $model;
            const NAME: &'static str = stringify!($name);
        }
    };
}

/// What one whole source decodes to in a row of a joined query: a model,
/// or `Option` of one for a `left_join` (its columns are all NULL when
/// nothing matched).
pub trait RowPart: Send + 'static + Sized {
    #[doc(hidden)]
    const COLUMNS: usize;
    #[doc(hidden)]
    fn decode(row: RowRef<'_>, offset: usize) -> Result<Self>;
}

impl<M: Model> RowPart for M {
    const COLUMNS: usize = M::SCHEMA.columns.len();
    fn decode(row: RowRef<'_>, offset: usize) -> Result<M> {
        M::__decode(row, offset)
    }
}

impl<M: Model> RowPart for Option<M> {
    const COLUMNS: usize = M::SCHEMA.columns.len();
    fn decode(row: RowRef<'_>, offset: usize) -> Result<Option<M>> {
        // No match: every column is NULL, the primary key included.
        let key = Option::<M::Key>::decode(row, offset + M::SCHEMA.primary_key)?;
        match key {
            Some(_) => Ok(Some(M::__decode(row, offset)?)),
            None => Ok(None),
        }
    }
}

/// The rows of a query that selects whole rows, after joining one more
/// source that decodes to `X`: `M` becomes `(M, X)`, `(A, B)` becomes
/// `(A, B, X)`.
#[diagnostic::on_unimplemented(
    message = "`join` after `select`: a joined query selects whole rows until `select` picks columns",
    label = "this query already selects `{Self}`",
    note = "call `join`/`left_join`/`join_as` before `select`"
)]
pub trait PushRow<X> {
    /// The longer row.
    type Out: Send + 'static;
    #[doc(hidden)]
    fn decode(row: RowRef<'_>) -> Result<Self::Out>;
}

impl<M: Model, X: RowPart> PushRow<X> for M {
    type Out = (M, X);
    fn decode(row: RowRef<'_>) -> Result<(M, X)> {
        Ok((
            <M as RowPart>::decode(row, 0)?,
            X::decode(row, <M as RowPart>::COLUMNS)?,
        ))
    }
}

macro_rules! push_row {
    ($($all:ident),+) => {
        impl<$($all: RowPart,)+ X: RowPart> PushRow<X> for ($($all,)+) {
            type Out = ($($all,)+ X);
            #[allow(non_snake_case, unused_assignments)]
            fn decode(row: RowRef<'_>) -> Result<Self::Out> {
                let mut offset = 0;
                $(
                    let $all = $all::decode(row, offset)?;
                    offset += $all::COLUMNS;
                )+
                Ok(($($all,)+ X::decode(row, offset)?))
            }
        }
    };
}
push_row!(A, B);
push_row!(A, B, C);
push_row!(A, B, C, D);
push_row!(A, B, C, D, E);
