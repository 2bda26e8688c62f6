//! The compile-time rule of grouped queries: a query with `group_by`
//! selects only its group keys and aggregates (or expressions of
//! aggregates, or constants). Selecting another column does not compile,
//! as in Diesel: SQLite would return the value of an arbitrary row of the
//! group, and PostgreSQL refuses it at run time (SQLSTATE 42803).
//!
//! A [`Select`](super::Select) carries its selection and its group keys in
//! its last type parameter, a [`Grouping`]; `all`, `first` and `one` check
//! them, so that `group_by` may come before or after `select`, and be
//! called again after it. A group key is a column (or an alias's column) the selection
//! names again, or an expression selected with the same type; whole rows
//! cannot be selected from a grouped query.

use std::marker::PhantomData;

use super::expr::{Aggregated, Constant, Expr, Plain};
use super::scope::{AliasColumn, At0};
use super::window::WindowExpr;

/// The selection of a query that selects whole rows (before `select`).
pub struct WholeRows;

/// A query's selection `Sel` ([`WholeRows`] before `select`) and group keys `Keys`
/// (`()` before `group_by`, then a tuple of the keys' types).
pub struct Grouping<Sel, Keys>(PhantomData<fn() -> (Sel, Keys)>);

/// The grouping after `select(Sel)`.
#[doc(hidden)]
pub trait SelectState<Sel> {
    type Out;
}
impl<S0, Keys, Sel> SelectState<Sel> for Grouping<S0, Keys> {
    type Out = Grouping<Sel, Keys>;
}

/// The grouping after `group_by(K)`.
#[diagnostic::on_unimplemented(
    message = "a query cannot group by more than six keys",
    label = "the seventh key"
)]
#[doc(hidden)]
pub trait GroupKeyState<K> {
    type Out;
}
impl<S0, Keys: PushKey<K>, K> GroupKeyState<K> for Grouping<S0, Keys> {
    type Out = Grouping<S0, Keys::Out>;
}

/// A tuple of group keys, one longer.
#[doc(hidden)]
pub trait PushKey<K> {
    type Out;
}
impl<K> PushKey<K> for () {
    type Out = (K,);
}
macro_rules! push_key {
    ($($all:ident),+) => {
        impl<$($all,)+ K> PushKey<K> for ($($all,)+) {
            type Out = ($($all,)+ K);
        }
    };
}
push_key!(A);
push_key!(A, B);
push_key!(A, B, C);
push_key!(A, B, C, D);
push_key!(A, B, C, D, E);

/// Marks a query without `group_by` (inferred; never written).
pub struct Ungrouped;
/// Marks a grouped query whose selection is checked against its keys
/// (inferred; never written).
pub struct ByKeys<I>(PhantomData<fn() -> I>);

/// A grouping whose selection a database accepts: any selection without
/// `group_by`; with it, only the group keys and aggregates.
#[diagnostic::on_unimplemented(
    message = "this grouped query selects something that is neither one of its `group_by` keys nor an aggregate",
    label = "its selection and its group keys are `{Self}`",
    note = "select the columns the query groups by and aggregates (`count`, `sum`, `avg`, `min`, `max`, `count_all()`), or add the column to `group_by(..)`; a grouped query cannot select whole rows"
)]
pub trait ValidGrouping<I> {}
impl<Sel> ValidGrouping<Ungrouped> for Grouping<Sel, ()> {}
impl<Sel, Keys: NonEmpty, I> ValidGrouping<ByKeys<I>> for Grouping<Sel, Keys> where
    Sel: GroupedBy<Keys, I>
{
}

/// A tuple of at least one group key.
#[doc(hidden)]
pub trait NonEmpty {}
macro_rules! non_empty {
    ($($all:ident),+) => {
        impl<$($all),+> NonEmpty for ($($all,)+) {}
    };
}
/// Invokes `$m!` for each tuple of two to six type names: the sources of
/// a joined query.
macro_rules! for_each_joined_tuple {
    ($m:ident) => {
        $m!(A, B);
        $m!(A, B, C);
        $m!(A, B, C, D);
        $m!(A, B, C, D, E);
        $m!(A, B, C, D, E, F);
    };
}
pub(crate) use for_each_joined_tuple;
non_empty!(A);
for_each_joined_tuple!(non_empty);

/// Something a query grouped by `Keys` may select: an aggregate, a
/// constant, a window function, or one of the keys.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is neither grouped nor aggregated",
    label = "selected from a query grouped by `{Keys}`",
    note = "add it to `group_by(..)`, or select an aggregate of it instead (`.max()`, `.count()`, ...)"
)]
pub trait GroupedBy<Keys, I> {}

/// Marks a selection part that is an aggregate (inferred; never written).
pub struct ByAggregate;
/// Marks a selection part that reads no column (inferred; never written).
pub struct ByConstant;
/// Marks a window function (inferred; never written).
pub struct ByWindow;
/// Marks a selection part that is a group key (inferred; never written).
pub struct ByKey<I>(PhantomData<fn() -> I>);
/// Marks whole rows (inferred; never written): never grouped.
pub struct ByWholeRows;

/// Whole rows of a query grouped by `Self`, which no database returns:
/// implemented for no keys, so that selecting whole rows from a grouped
/// query is reported with this message.
#[diagnostic::on_unimplemented(
    message = "a query grouped by `{Self}` cannot return whole rows",
    label = "a grouped query run without `select`",
    note = "`select` its group keys and aggregates before running it: `.select((key, other.count()))` (`count`, `sum`, `avg`, `min`, `max`, `count_all()`)"
)]
#[doc(hidden)]
pub trait WholeRowsGroupedBy {}

impl<Keys: WholeRowsGroupedBy> GroupedBy<Keys, ByWholeRows> for WholeRows {}

impl<Keys, S, T> GroupedBy<Keys, ByAggregate> for Expr<S, T, Aggregated> {}
impl<Keys, S, T> GroupedBy<Keys, ByConstant> for Expr<S, T, Constant> {}
impl<Keys, S, T> GroupedBy<Keys, ByWindow> for WindowExpr<S, T> {}
impl<Keys, I, S, T> GroupedBy<Keys, ByKey<I>> for Expr<S, T, Plain> where
    Expr<S, T, Plain>: KeyIn<Keys, I>
{
}
// Columns: `#[orm::model]` implements `GroupedBy` for each of its column
// types (a blanket impl over `Column` would make rustc blame a missing
// `Column` impl when whole rows are selected).
impl<Keys, I, A, C> GroupedBy<Keys, ByKey<I>> for AliasColumn<A, C> where
    AliasColumn<A, C>: KeyIn<Keys, I>
{
}

macro_rules! tuple_grouped {
    ($(($name:ident, $index:ident)),+) => {
        impl<Keys, $($name, $index),+> GroupedBy<Keys, ($($index,)+)> for ($($name,)+)
        where
            $($name: GroupedBy<Keys, $index>),+
        {
        }
    };
}
super::for_each_selection_tuple!(tuple_grouped);

/// `Self` is one of the keys `Keys`; `I` says which.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is neither grouped nor aggregated",
    label = "selected from a query grouped by `{Keys}`",
    note = "add it to `group_by(..)`, or select an aggregate of it instead (`.max()`, `.count()`, ...)"
)]
#[doc(hidden)]
pub trait KeyIn<Keys, I> {}
impl<A> KeyIn<(A,), At0> for A {}
super::scope::impl_at_positions!(KeyIn);
