//! Typed expressions: columns, values, comparisons, aggregates.
//!
//! Every expression carries the model it reads from (`M`) and the Rust type
//! it evaluates to (`T`) as type parameters, so comparing a column with a
//! value of the wrong type, or filtering a query with another model's
//! column, does not compile. At run time an expression is a small tree of
//! [`Node`]s that the renderer turns into SQL with bound parameters.

use std::marker::PhantomData;

use crate::model::types::{
    FieldType, Nullable, Numeric, Scalar, SqlType, TextType, Value, ValueOf,
};
use crate::model::{Column, ColumnOf, Model};

/// The untyped expression tree.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub enum Node {
    Column {
        table: &'static str,
        name: &'static str,
    },
    Value(Value),
    CountAll,
    Compare(CompareOp, Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    IsNull(Box<Node>, bool),
    In(Box<Node>, Vec<Value>, bool),
    Between(Box<Node>, Value, Value),
    /// `LIKE`; `true` when the pattern was escaped with `!` by us.
    Like(Box<Node>, Value, bool),
    Aggregate(AggregateFn, Box<Node>, Option<SqlType>),
}

#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregateFn {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

/// A typed SQL expression over model `M` that evaluates to a `T`.
pub struct Expr<M, T> {
    pub(crate) node: Node,
    _types: PhantomData<fn() -> (M, T)>,
}

/// A condition over model `M`: what `filter` and `having` take.
pub type Condition<M> = Expr<M, bool>;

impl<M, T> Expr<M, T> {
    pub(crate) fn new(node: Node) -> Self {
        Expr {
            node,
            _types: PhantomData,
        }
    }
}

impl<M, T> Clone for Expr<M, T> {
    fn clone(&self) -> Self {
        Expr::new(self.node.clone())
    }
}

impl<M, T> std::fmt::Debug for Expr<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.node.fmt(f)
    }
}

/// `COUNT(*)`, for `select` and `having`.
pub fn count_all<M>() -> Expr<M, i64> {
    Expr::new(Node::CountAll)
}

/// Anything usable as an operand: a column or an expression.
pub trait Operand: Sized {
    /// The model the operand reads from.
    type Model;
    /// The Rust type it evaluates to.
    type Type: FieldType;
    #[doc(hidden)]
    fn into_node(self) -> Node;
}

impl<C: Column> Operand for C {
    type Model = C::Model;
    type Type = C::Type;
    fn into_node(self) -> Node {
        Node::Column {
            table: <C::Model as Model>::SCHEMA.name,
            name: C::NAME,
        }
    }
}

impl<M, T: FieldType> Operand for Expr<M, T> {
    type Model = M;
    type Type = T;
    fn into_node(self) -> Node {
        self.node
    }
}

/// Escapes `%`, `_` and the escape character `!` so that `text` matches itself.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

/// Comparisons, pattern matches and aggregates on columns and expressions.
///
/// In scope through `orm::prelude::*`.
// `is_in` and `is_null` build conditions; they do not test `self`.
#[allow(clippy::wrong_self_convention)]
pub trait ExprOps: Operand {
    /// `self = value`
    fn eq<V: ValueOf<Self::Type>>(self, value: V) -> Condition<Self::Model> {
        compare(self, CompareOp::Eq, value)
    }
    /// `self <> value`
    fn ne<V: ValueOf<Self::Type>>(self, value: V) -> Condition<Self::Model> {
        compare(self, CompareOp::Ne, value)
    }
    /// `self < value`
    fn lt<V: ValueOf<Self::Type>>(self, value: V) -> Condition<Self::Model> {
        compare(self, CompareOp::Lt, value)
    }
    /// `self <= value`
    fn le<V: ValueOf<Self::Type>>(self, value: V) -> Condition<Self::Model> {
        compare(self, CompareOp::Le, value)
    }
    /// `self > value`
    fn gt<V: ValueOf<Self::Type>>(self, value: V) -> Condition<Self::Model> {
        compare(self, CompareOp::Gt, value)
    }
    /// `self >= value`
    fn ge<V: ValueOf<Self::Type>>(self, value: V) -> Condition<Self::Model> {
        compare(self, CompareOp::Ge, value)
    }
    /// `self IN (values...)`; an empty list matches nothing.
    fn is_in<V: ValueOf<Self::Type>>(
        self,
        values: impl IntoIterator<Item = V>,
    ) -> Condition<Self::Model> {
        let values = values.into_iter().map(V::into_value).collect();
        Expr::new(Node::In(Box::new(self.into_node()), values, false))
    }
    /// `self NOT IN (values...)`; an empty list matches everything.
    fn is_not_in<V: ValueOf<Self::Type>>(
        self,
        values: impl IntoIterator<Item = V>,
    ) -> Condition<Self::Model> {
        let values = values.into_iter().map(V::into_value).collect();
        Expr::new(Node::In(Box::new(self.into_node()), values, true))
    }
    /// `self BETWEEN low AND high` (both ends included).
    fn between<V: ValueOf<Self::Type>, W: ValueOf<Self::Type>>(
        self,
        low: V,
        high: W,
    ) -> Condition<Self::Model> {
        Expr::new(Node::Between(
            Box::new(self.into_node()),
            low.into_value(),
            high.into_value(),
        ))
    }
    /// `self LIKE pattern`, with `%` and `_` as wildcards, exactly as given.
    /// Case sensitivity follows the backend (SQLite and MySQL's default
    /// collations ignore ASCII case; PostgreSQL does not).
    fn like(self, pattern: &str) -> Condition<Self::Model>
    where
        Self::Type: TextType,
    {
        Expr::new(Node::Like(
            Box::new(self.into_node()),
            Value::Text(pattern.to_owned()),
            false,
        ))
    }
    /// The text contains `part` literally (`%` and `_` in it are not wildcards).
    fn contains(self, part: &str) -> Condition<Self::Model>
    where
        Self::Type: TextType,
    {
        let pattern = format!("%{}%", escape_like(part));
        Expr::new(Node::Like(
            Box::new(self.into_node()),
            Value::Text(pattern),
            true,
        ))
    }
    /// The text starts with `prefix` literally.
    fn starts_with(self, prefix: &str) -> Condition<Self::Model>
    where
        Self::Type: TextType,
    {
        let pattern = format!("{}%", escape_like(prefix));
        Expr::new(Node::Like(
            Box::new(self.into_node()),
            Value::Text(pattern),
            true,
        ))
    }
    /// The text ends with `suffix` literally.
    fn ends_with(self, suffix: &str) -> Condition<Self::Model>
    where
        Self::Type: TextType,
    {
        let pattern = format!("%{}", escape_like(suffix));
        Expr::new(Node::Like(
            Box::new(self.into_node()),
            Value::Text(pattern),
            true,
        ))
    }
    /// `self IS NULL`
    fn is_null(self) -> Condition<Self::Model>
    where
        Self::Type: Nullable,
    {
        Expr::new(Node::IsNull(Box::new(self.into_node()), false))
    }
    /// `self IS NOT NULL`
    fn is_not_null(self) -> Condition<Self::Model>
    where
        Self::Type: Nullable,
    {
        Expr::new(Node::IsNull(Box::new(self.into_node()), true))
    }
    /// Ascending order.
    fn asc(self) -> Ordering<Self::Model> {
        Ordering::new(self.into_node(), false)
    }
    /// Descending order.
    fn desc(self) -> Ordering<Self::Model> {
        Ordering::new(self.into_node(), true)
    }
    /// `COUNT(self)`: rows where the value is not NULL.
    fn count(self) -> Expr<Self::Model, i64> {
        Expr::new(Node::Aggregate(
            AggregateFn::Count,
            Box::new(self.into_node()),
            None,
        ))
    }
    /// `SUM(self)`: `None` over no rows. Integers sum to `i64`, floats to `f64`.
    fn sum(self) -> Expr<Self::Model, Option<<Self::Type as Numeric>::Sum>>
    where
        Self::Type: Numeric,
    {
        let cast = <<Self::Type as Numeric>::Sum as FieldType>::SQL_TYPE;
        Expr::new(Node::Aggregate(
            AggregateFn::Sum,
            Box::new(self.into_node()),
            Some(cast),
        ))
    }
    /// `AVG(self)`: `None` over no rows; `f64`, or `Decimal` for decimals.
    fn avg(self) -> Expr<Self::Model, Option<<Self::Type as Numeric>::Avg>>
    where
        Self::Type: Numeric,
    {
        let cast = <<Self::Type as Numeric>::Avg as FieldType>::SQL_TYPE;
        Expr::new(Node::Aggregate(
            AggregateFn::Avg,
            Box::new(self.into_node()),
            Some(cast),
        ))
    }
    /// `MIN(self)`: `None` over no rows.
    fn min(self) -> Expr<Self::Model, Option<<Self::Type as Scalar>::Scalar>>
    where
        Self::Type: Scalar,
    {
        Expr::new(Node::Aggregate(
            AggregateFn::Min,
            Box::new(self.into_node()),
            None,
        ))
    }
    /// `MAX(self)`: `None` over no rows.
    fn max(self) -> Expr<Self::Model, Option<<Self::Type as Scalar>::Scalar>>
    where
        Self::Type: Scalar,
    {
        Expr::new(Node::Aggregate(
            AggregateFn::Max,
            Box::new(self.into_node()),
            None,
        ))
    }
}

impl<O: Operand> ExprOps for O {}

fn compare<O: Operand, V: ValueOf<O::Type>>(
    left: O,
    op: CompareOp,
    value: V,
) -> Condition<O::Model> {
    Expr::new(Node::Compare(
        op,
        Box::new(left.into_node()),
        Box::new(Node::Value(value.into_value())),
    ))
}

impl<M> Condition<M> {
    /// Both conditions hold.
    pub fn and(self, other: Condition<M>) -> Condition<M> {
        Expr::new(Node::And(Box::new(self.node), Box::new(other.node)))
    }
    /// Either condition holds.
    pub fn or(self, other: Condition<M>) -> Condition<M> {
        Expr::new(Node::Or(Box::new(self.node), Box::new(other.node)))
    }
}

impl<M> std::ops::Not for Condition<M> {
    type Output = Condition<M>;
    fn not(self) -> Condition<M> {
        Expr::new(Node::Not(Box::new(self.node)))
    }
}

/// `NOT condition`.
pub fn not<M>(condition: Condition<M>) -> Condition<M> {
    !condition
}

/// A sort key of a query on model `M`.
pub struct Ordering<M> {
    pub(crate) node: Node,
    pub(crate) descending: bool,
    _model: PhantomData<fn() -> M>,
}

impl<M> Ordering<M> {
    pub(crate) fn new(node: Node, descending: bool) -> Self {
        Ordering {
            node,
            descending,
            _model: PhantomData,
        }
    }
}

impl<M: Model> Ordering<M> {
    /// The primary key, ascending.
    pub(crate) fn key_of() -> Ordering<M> {
        let schema = M::SCHEMA;
        Ordering::new(
            Node::Column {
                table: schema.name,
                name: schema.primary_key().name,
            },
            false,
        )
    }
}

/// A condition usable in a query on model `M`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a condition on `{M}`",
    label = "this condition reads another model's columns, or is not a condition",
    note = "filter a query with conditions on the columns of the model it queries (`{M}`), such as `column.eq(value)`"
)]
pub trait Filter<M> {
    #[doc(hidden)]
    fn into_node(self) -> Node;
}

impl<M> Filter<M> for Condition<M> {
    fn into_node(self) -> Node {
        self.node
    }
}

/// A `bool` column is a condition by itself: `filter(order::paid)`.
impl<M, C: ColumnOf<M> + Column<Type = bool>> Filter<M> for C {
    fn into_node(self) -> Node {
        Operand::into_node(self)
    }
}

/// A sort key usable in a query on model `M`: a column (ascending) or `col.desc()`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot order a query on `{M}`",
    label = "not a column or ordering of `{M}`",
    note = "order by columns of the queried model: `column`, `column.asc()` or `column.desc()`"
)]
pub trait IntoOrdering<M> {
    #[doc(hidden)]
    fn into_ordering(self) -> Ordering<M>;
}

impl<M> IntoOrdering<M> for Ordering<M> {
    fn into_ordering(self) -> Ordering<M> {
        self
    }
}

impl<M, C: ColumnOf<M>> IntoOrdering<M> for C {
    fn into_ordering(self) -> Ordering<M> {
        Ordering::new(Operand::into_node(self), false)
    }
}

impl<M, T: FieldType> IntoOrdering<M> for Expr<M, T> {
    fn into_ordering(self) -> Ordering<M> {
        Ordering::new(self.node, false)
    }
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_escaping() {
        assert_eq!(escape_like("50%_off!"), "50!%!_off!!");
        assert_eq!(escape_like("plain"), "plain");
    }
}
