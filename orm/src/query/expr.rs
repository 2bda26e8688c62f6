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
    /// `LIKE` with a pattern whose `%` and `_` are wildcards and whose
    /// other characters are literal, `!` escaping (see [`escape_like`]);
    /// `true` to ignore case.
    Like(Box<Node>, String, bool),
    /// `SUM`, `AVG` with the type to cast to; `MIN`, `MAX` with
    /// `Some(SqlType::Text)` for text, compared byte by byte.
    Aggregate(AggregateFn, Box<Node>, Option<SqlType>),
    /// A text column of `GROUP BY`, grouped byte by byte.
    GroupText(Box<Node>),
    /// A text operand compared byte by byte, as `ORDER BY` sorts it: the
    /// column side of a keyset pagination condition.
    ByteOrdered(Box<Node>),
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
pub(crate) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

/// A caller's `LIKE` pattern in the escaped form every backend reads the
/// same way: `%` and `_` stay wildcards, `!` (the escape character) is
/// escaped, everything else is literal (no backslash escapes, which
/// PostgreSQL and MySQL apply by default and SQLite does not).
fn like_pattern(pattern: &str) -> String {
    pattern.replace('!', "!!")
}

fn like_node<O: Operand>(operand: O, pattern: String, ignore_case: bool) -> Condition<O::Model> {
    Expr::new(Node::Like(
        Box::new(operand.into_node()),
        pattern,
        ignore_case,
    ))
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
    /// `self LIKE pattern`: `%` matches any run of characters, `_` one
    /// character, every other character itself (there is no escape
    /// character: match literal text with [`contains`](Self::contains) and
    /// its siblings). Case-sensitive and byte-exact on every backend
    /// (rendered as `LIKE` on PostgreSQL, `GLOB` on SQLite, whose `LIKE`
    /// ignores ASCII case, and `LIKE` under the `utf8mb4_bin` collation on
    /// MySQL/MariaDB, whose default collations ignore case); see
    /// [`ilike`](Self::ilike) to ignore case.
    fn like(self, pattern: &str) -> Condition<Self::Model>
    where
        Self::Type: TextType,
    {
        like_node(self, like_pattern(pattern), false)
    }
    /// [`like`](Self::like), ignoring case: ASCII letters on every backend;
    /// other letters (`É`/`é`) on PostgreSQL (`ILIKE`, by the database's
    /// `LC_CTYPE`) and MySQL (`LOWER` of both sides, by the Unicode case
    /// mapping of utf8mb4). SQLite's `LIKE` and `lower()` know ASCII case
    /// only (SQLite manual, "The LIKE, GLOB, REGEXP, MATCH, and extract
    /// operators"): there a pattern with a letter beyond ASCII that has a
    /// case (`é`, `Σ`) would find fewer rows, so the query fails with
    /// [`Error::InvalidQuery`](crate::Error::InvalidQuery) before anything
    /// is sent; letters without case (digits, CJK, emoji) are fine.
    fn ilike(self, pattern: &str) -> Condition<Self::Model>
    where
        Self::Type: TextType,
    {
        like_node(self, like_pattern(pattern), true)
    }
    /// The text contains `part` literally (`%` and `_` in it are not
    /// wildcards); case-sensitive on every backend, as [`like`](Self::like).
    fn contains(self, part: &str) -> Condition<Self::Model>
    where
        Self::Type: TextType,
    {
        like_node(self, format!("%{}%", escape_like(part)), false)
    }
    /// The text starts with `prefix` literally; case-sensitive.
    fn starts_with(self, prefix: &str) -> Condition<Self::Model>
    where
        Self::Type: TextType,
    {
        like_node(self, format!("{}%", escape_like(prefix)), false)
    }
    /// The text ends with `suffix` literally; case-sensitive.
    fn ends_with(self, suffix: &str) -> Condition<Self::Model>
    where
        Self::Type: TextType,
    {
        like_node(self, format!("%{}", escape_like(suffix)), false)
    }
    /// [`contains`](Self::contains), ignoring case as [`ilike`](Self::ilike) does.
    fn contains_ci(self, part: &str) -> Condition<Self::Model>
    where
        Self::Type: TextType,
    {
        like_node(self, format!("%{}%", escape_like(part)), true)
    }
    /// [`starts_with`](Self::starts_with), ignoring case as [`ilike`](Self::ilike) does.
    fn starts_with_ci(self, prefix: &str) -> Condition<Self::Model>
    where
        Self::Type: TextType,
    {
        like_node(self, format!("{}%", escape_like(prefix)), true)
    }
    /// [`ends_with`](Self::ends_with), ignoring case as [`ilike`](Self::ilike) does.
    fn ends_with_ci(self, suffix: &str) -> Condition<Self::Model>
    where
        Self::Type: TextType,
    {
        like_node(self, format!("%{}", escape_like(suffix)), true)
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
    /// Ascending order (NULLs first, text in byte order: see [`Ordering`]).
    fn asc(self) -> Ordering<Self::Model> {
        Ordering::of::<Self::Type>(self.into_node(), false)
    }
    /// Descending order (NULLs last, text in byte order: see [`Ordering`]).
    fn desc(self) -> Ordering<Self::Model> {
        Ordering::of::<Self::Type>(self.into_node(), true)
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
    /// `MIN(self)`: `None` over no rows; text compared byte by byte, as
    /// [`Ordering`] sorts it.
    fn min(self) -> Expr<Self::Model, Option<<Self::Type as Scalar>::Scalar>>
    where
        Self::Type: Scalar,
    {
        Expr::new(Node::Aggregate(
            AggregateFn::Min,
            Box::new(self.into_node()),
            text_type::<Self::Type>(),
        ))
    }
    /// `MAX(self)`: `None` over no rows; text compared byte by byte, as
    /// [`Ordering`] sorts it.
    fn max(self) -> Expr<Self::Model, Option<<Self::Type as Scalar>::Scalar>>
    where
        Self::Type: Scalar,
    {
        Expr::new(Node::Aggregate(
            AggregateFn::Max,
            Box::new(self.into_node()),
            text_type::<Self::Type>(),
        ))
    }
}

impl<O: Operand> ExprOps for O {}

/// `Some(SqlType::Text)` for text, for the aggregates that compare values.
fn text_type<T: FieldType>() -> Option<SqlType> {
    (T::SQL_TYPE == SqlType::Text).then_some(SqlType::Text)
}

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

/// Where NULLs go in a sort: [`Ordering::nulls_first`], [`Ordering::nulls_last`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nulls {
    /// Before every value.
    First,
    /// After every value.
    Last,
}

/// One sort key, as the renderer needs it.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct OrderKey {
    pub(crate) node: Node,
    pub(crate) descending: bool,
    /// Where NULLs go; `None`: as Rust orders `Option` (first ascending,
    /// last descending).
    pub(crate) nulls: Option<Nulls>,
    /// Whether the key can be NULL (an `Option` column or an aggregate).
    pub(crate) nullable: bool,
    /// Whether the key is text, sorted in byte order.
    pub(crate) text: bool,
}

impl OrderKey {
    /// Where NULLs go, the default filled in.
    pub(crate) fn nulls(&self) -> Nulls {
        match (self.nulls, self.descending) {
            (Some(nulls), _) => nulls,
            (None, false) => Nulls::First,
            (None, true) => Nulls::Last,
        }
    }
}

/// A sort key of a query on model `M`: `column`, `column.asc()`,
/// `column.desc()`, then optionally `.nulls_first()` or `.nulls_last()`.
///
/// Sorting gives the same order on every backend, the order of Rust's
/// `Ord` for the field's type:
/// - NULLs (`None`) come first in ascending order and last in descending
///   order, as `Option` sorts in Rust. That is SQLite's and MySQL's
///   default; PostgreSQL's is the opposite (NULLs are larger than any
///   value: PostgreSQL manual, "ORDER BY"), so on PostgreSQL a nullable key
///   is written with `NULLS FIRST` / `NULLS LAST`.
/// - Text sorts by its bytes in UTF-8 (Unicode code point order, as `str`
///   sorts in Rust: `"B" < "a" < "b" < "é"`), whatever the column's
///   collation: `COLLATE "C"` on PostgreSQL, `COLLATE BINARY` on SQLite,
///   `CAST(.. AS BINARY)` on MySQL/MariaDB (whose default collations ignore
///   case and trailing spaces).
/// - Rows whose keys tie follow the primary key: a sorted or limited query
///   of whole rows sorts by the queried (and the joined) model's primary
///   key last, unless it is a key already.
pub struct Ordering<M> {
    pub(crate) key: OrderKey,
    _model: PhantomData<fn() -> M>,
}

impl<M> Ordering<M> {
    /// A key over `node`, an expression of type `T`.
    pub(crate) fn of<T: FieldType>(node: Node, descending: bool) -> Self {
        Ordering {
            key: OrderKey {
                node,
                descending,
                nulls: None,
                nullable: T::NULLABLE,
                text: T::SQL_TYPE == SqlType::Text,
            },
            _model: PhantomData,
        }
    }

    /// NULLs before every value, in either direction (PostgreSQL and
    /// SQLite >= 3.30: `NULLS FIRST`; MySQL/MariaDB, which lack it: a first
    /// sort key `expr IS NULL DESC`).
    pub fn nulls_first(mut self) -> Self {
        self.key.nulls = Some(Nulls::First);
        self
    }

    /// NULLs after every value, in either direction (`NULLS LAST`, or
    /// `expr IS NULL ASC` first on MySQL/MariaDB).
    pub fn nulls_last(mut self) -> Self {
        self.key.nulls = Some(Nulls::Last);
        self
    }
}

impl<M: Model> Ordering<M> {
    /// The primary key, ascending.
    pub(crate) fn key_of() -> Ordering<M> {
        let schema = M::SCHEMA;
        let key = schema.primary_key();
        Ordering {
            key: OrderKey {
                node: Node::Column {
                    table: schema.name,
                    name: key.name,
                },
                descending: false,
                nulls: None,
                nullable: false,
                text: key.sql_type == SqlType::Text,
            },
            _model: PhantomData,
        }
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
        Ordering::of::<C::Type>(Operand::into_node(self), false)
    }
}

impl<M, T: FieldType> IntoOrdering<M> for Expr<M, T> {
    fn into_ordering(self) -> Ordering<M> {
        Ordering::of::<T>(self.node, false)
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
