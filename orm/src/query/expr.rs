//! Typed expressions: columns, values, comparisons, aggregates.
//!
//! Every expression carries the model it reads from (`M`) and the Rust type
//! it evaluates to (`T`) as type parameters, so comparing a column with a
//! value of the wrong type, or filtering a query with another model's
//! column, does not compile. At run time an expression is a small tree of
//! [`Node`]s that the renderer turns into SQL with bound parameters.

// The return types spell out an expression's scope, type and kind, each
// computed from the operands': they are the API, not incidental complexity.
#![allow(clippy::type_complexity)]

use std::marker::PhantomData;

use crate::model::types::{
    FieldType, Nullable, Numeric, Scalar, ScalarType, SqlType, TextType, Value, ValueOf,
};
use crate::model::{Column, Model};

use super::scope::{Both, InScope, NoTable};
use super::subquery::InList;
use super::window::WindowKey;

/// The untyped expression tree. Two nodes are equal when they are the
/// same expression (what a union's sort keys are matched by).
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq)]
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
    /// A text operand compared byte by byte with another text expression
    /// (a binary string on MySQL, as `compared_value` makes values).
    Bytes(Box<Node>),
    /// A text operand compared byte by byte, as `ORDER BY` sorts it: the
    /// column side of a keyset pagination condition.
    ByteOrdered(Box<Node>),
    /// `left op right`; for [`ArithOp::Div`], `right` may be zero.
    Arith(ArithOp, Box<Node>, Box<Node>),
    /// `CAST(inner AS to)` of an expression of type `from`.
    Cast(Box<Node>, SqlType, SqlType),
    /// `COALESCE(a, b, ...)`.
    Coalesce(Vec<Node>),
    /// `CASE WHEN c THEN v ... [ELSE e] END`.
    Case(Vec<(Node, Node)>, Option<Box<Node>>),
    /// A scalar function of text.
    Text(TextFn, Vec<Node>),
    /// A subquery: `IN (SELECT ..)`, `EXISTS (SELECT ..)`, `(SELECT ..)`.
    Subquery(SubqueryUse, Box<super::Parts>),
    /// A window function: `f OVER (PARTITION BY .. ORDER BY ..)`.
    Window(Box<Node>, Vec<Node>, Vec<OrderKey>),
    /// A ranking or offset function, valid only in a window.
    Ranking(RankFn, Vec<Node>),
    /// The `n`th column (from 1) of a union, for its `ORDER BY`.
    Position(usize),
    /// A number written into the SQL text: only numbers from the API
    /// (an offset of `lag`), never a user's value.
    Literal(u64),
}

impl Node {
    /// The expressions directly inside this one that belong to the same
    /// query: operands, arguments, `CASE` branches, a window's function and
    /// keys, and the left side of `IN (subquery)`. A subquery's own parts
    /// are another query and are not among them.
    pub(crate) fn children(&self) -> Vec<&Node> {
        match self {
            Node::Column { .. }
            | Node::Value(_)
            | Node::CountAll
            | Node::Literal(_)
            | Node::Position(_) => Vec::new(),
            Node::Compare(_, a, b) | Node::And(a, b) | Node::Or(a, b) | Node::Arith(_, a, b) => {
                vec![a, b]
            }
            Node::Not(a)
            | Node::IsNull(a, _)
            | Node::In(a, ..)
            | Node::Between(a, ..)
            | Node::Like(a, ..)
            | Node::Aggregate(_, a, _)
            | Node::GroupText(a)
            | Node::Bytes(a)
            | Node::ByteOrdered(a)
            | Node::Cast(a, ..) => vec![a],
            Node::Coalesce(list) | Node::Text(_, list) | Node::Ranking(_, list) => {
                list.iter().collect()
            }
            Node::Case(branches, otherwise) => branches
                .iter()
                .flat_map(|(condition, value)| [condition, value])
                .chain(otherwise.as_deref())
                .collect(),
            Node::Subquery(usage, _) => match usage {
                SubqueryUse::In(left, _) => vec![left],
                SubqueryUse::Exists(_) | SubqueryUse::Scalar => Vec::new(),
            },
            Node::Window(function, partition, order) => std::iter::once(&**function)
                .chain(partition)
                .chain(order.iter().map(|key| &key.node))
                .collect(),
        }
    }
}

/// How a subquery is used.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq)]
pub enum SubqueryUse {
    /// `left [NOT] IN (SELECT ..)`; `true` for NOT.
    In(Box<Node>, bool),
    /// `[NOT] EXISTS (SELECT ..)`; `true` for NOT.
    Exists(bool),
    /// `(SELECT ..)`, one row of one column.
    Scalar,
}

/// Arithmetic operators.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    /// Division; `true` between integers (truncating on every backend).
    Div(bool),
}

/// Functions of text.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextFn {
    Lower,
    Upper,
    Length,
    Concat,
}

/// Ranking and offset functions of window queries.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankFn {
    RowNumber,
    Rank,
    DenseRank,
    Lag,
    Lead,
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
    CountDistinct,
}

/// A typed SQL expression that reads the tables of scope `M` (a model,
/// [`Both`] of two scopes, or [`NoTable`]; see [`scope`](super::scope))
/// and evaluates to a `T`.
pub struct Expr<M, T, K = Plain> {
    pub(crate) node: Node,
    _types: PhantomData<fn() -> (M, T, K)>,
}

/// What an expression is to a grouped query, its third type parameter:
/// [`Plain`] reads columns row by row, [`Aggregated`] is an aggregate or
/// computed from aggregates, [`Constant`] reads no column of the query
/// (a value, a subquery), [`Mixed`] mixes a column and an aggregate. A query
/// with `group_by` may select its group keys and aggregated or constant
/// expressions only (a compile error otherwise, as in Diesel).
pub trait Kind: 'static {
    /// The kind of an expression combining this kind with `K`.
    type Join<K: Kind>: Kind;
    #[doc(hidden)]
    type WithPlain: Kind;
    #[doc(hidden)]
    type WithAggregated: Kind;
    #[doc(hidden)]
    type WithConstant: Kind;
}

/// Reads columns row by row; see [`Kind`].
pub struct Plain;
/// An aggregate, or computed from aggregates; see [`Kind`].
pub struct Aggregated;
/// Reads no column of the query; see [`Kind`].
pub struct Constant;
/// Mixes a column and an aggregate; see [`Kind`].
pub struct Mixed;

macro_rules! kind {
    ($kind:ident: $join:ident, plain = $p:ident, aggregated = $a:ident, constant = $c:ident) => {
        impl Kind for $kind {
            type Join<K: Kind> = K::$join;
            type WithPlain = $p;
            type WithAggregated = $a;
            type WithConstant = $c;
        }
    };
}
kind!(Plain: WithPlain, plain = Plain, aggregated = Mixed, constant = Plain);
kind!(Aggregated: WithAggregated, plain = Mixed, aggregated = Aggregated, constant = Aggregated);
kind!(Constant: WithConstant, plain = Plain, aggregated = Aggregated, constant = Constant);
impl Kind for Mixed {
    type Join<K: Kind> = Mixed;
    type WithPlain = Mixed;
    type WithAggregated = Mixed;
    type WithConstant = Mixed;
}

/// A condition of kind `K`: `Expr<M, bool, K>`.
pub type Cond<M, K> = Expr<M, bool, K>;

/// A condition over model `M`: what `filter` and `having` take.
pub type Condition<M> = Expr<M, bool>;

impl<M, T, K> Expr<M, T, K> {
    pub(crate) fn new(node: Node) -> Self {
        Expr {
            node,
            _types: PhantomData,
        }
    }
}

impl<M, T, K> Clone for Expr<M, T, K> {
    fn clone(&self) -> Self {
        Expr::new(self.node.clone())
    }
}

impl<M, T, K> std::fmt::Debug for Expr<M, T, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.node.fmt(f)
    }
}

/// `COUNT(*)`, for `select` and `having`.
pub fn count_all() -> Expr<NoTable, i64, Aggregated> {
    Expr::new(Node::CountAll)
}

/// Anything usable as an operand: a column or an expression.
pub trait Operand: Sized {
    /// The tables the operand reads: a model, [`Both`] of two scopes, or
    /// [`NoTable`].
    type Scope;
    /// The Rust type it evaluates to.
    type Type: FieldType;
    /// What it is to a grouped query (see [`Kind`]).
    type Kind: Kind;
    #[doc(hidden)]
    fn into_node(self) -> Node;
}

impl<C: Column> Operand for C {
    type Scope = C::Model;
    type Type = C::Type;
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::Column {
            table: <C::Model as Model>::SCHEMA.name,
            name: C::NAME,
        }
    }
}

impl<M, T: FieldType, K: Kind> Operand for Expr<M, T, K> {
    type Scope = M;
    type Type = T;
    type Kind = K;
    fn into_node(self) -> Node {
        self.node
    }
}

/// A value as an expression that reads no table: `orm::value(3) - order::quantity`.
pub fn value<V: Literal>(value: V) -> Expr<NoTable, V::Type, Constant> {
    Expr::new(Node::Value(value.into_value()))
}

/// A Rust value usable as an expression on its own ([`value`]): a value of
/// a field type, `&str` (text) or `&[u8]` (bytes).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value of a field type",
    label = "not usable as an SQL value",
    note = "use a value of a field type (i16, i32, i64, f32, f64, bool, String, &str, Vec<u8>, Decimal, dates, Uuid)"
)]
pub trait Literal {
    /// The field type of the value.
    type Type: FieldType;
    #[doc(hidden)]
    fn into_value(self) -> Value;
}

impl<T: crate::model::types::ScalarType> Literal for T {
    type Type = T;
    fn into_value(self) -> Value {
        FieldType::into_value(self)
    }
}

impl Literal for &str {
    type Type = String;
    fn into_value(self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl Literal for &[u8] {
    type Type = Vec<u8>;
    fn into_value(self) -> Value {
        Value::Bytes(self.to_vec())
    }
}

/// Marks a [`Comparand`] that is a Rust value (inferred; never written).
pub struct ByValue;
/// Marks a [`Comparand`] that is a column or expression (inferred; never written).
pub struct ByExpr;

/// What a column or expression of type `T` may be compared with, or set
/// to: a value ([`ValueOf<T>`]) or another column or expression of the same
/// type (an `Option` of it, or the type without its `Option`). `K` says
/// which and is inferred.
///
/// Implemented once, by the column's type: [`PlainComparand`] for a column
/// that is never NULL, [`OptionComparand`] for an `Option` column, so that
/// the message of a mismatch speaks of `Option` only for an `Option`
/// column.
#[diagnostic::on_unimplemented(
    message = "a column of type `{T}` cannot be compared with or set to `{Self}`",
    label = "expected a `{T}` value, or a column or expression of type `{T}`",
    note = "compare with a value of the column's type (or a reference to one), or with another column or expression of the same type"
)]
pub trait Comparand<T, K> {
    #[doc(hidden)]
    fn into_node(self) -> Node;
}

impl<T: Nullability, V, K: ComparandKind<V>> Comparand<T, K> for V
where
    T::Marker: ComparedWith<T, V, K>,
{
    fn into_node(self) -> Node {
        <T::Marker as ComparedWith<T, V, K>>::into_node(self)
    }
}

/// Whether a column type holds NULL: [`NeverNull`] for each supported type,
/// [`MaybeNull`] for `Option` of one. [`Comparand`] goes by it.
#[doc(hidden)]
pub trait Nullability {
    /// [`NeverNull`] or [`MaybeNull`].
    type Marker;
}
/// A column type without `Option` (never written).
#[doc(hidden)]
pub struct NeverNull;
/// An `Option` column type (never written).
#[doc(hidden)]
pub struct MaybeNull;
impl<T: ScalarType> Nullability for Option<T> {
    type Marker = MaybeNull;
}

/// The scope and kind of a comparison by what its right side `V` is
/// (`Self`, [`ByValue`] or [`ByExpr`]): a value adds nothing, a column or
/// expression its own. The methods that take a [`Comparand`] name their
/// result through this trait, not through the comparand, so that a
/// comparand of the wrong type is one error, on the argument.
#[doc(hidden)]
pub trait ComparandKind<V> {
    /// The scope of an expression of scope `L` combined with `V`.
    type Scope<L>;
    /// The kind of an expression of kind `L` combined with `V`.
    type Kind<L: Kind>: Kind;
}

/// The scope of an expression of scope `L` combined with comparand `R`.
type CmpScope<R, K, L> = <K as ComparandKind<R>>::Scope<L>;
/// The kind of an expression of kind `L` combined with comparand `R`.
type CmpKind<R, K, L> = <K as ComparandKind<R>>::Kind<L>;
impl<V> ComparandKind<V> for ByValue {
    type Scope<L> = L;
    type Kind<L: Kind> = L;
}
impl<V: Operand> ComparandKind<V> for ByExpr {
    type Scope<L> = Both<L, V::Scope>;
    type Kind<L: Kind> = L::Join<V::Kind>;
}

/// A column of type `T` (of nullability `Self`) compared with, or set to,
/// `V`: through [`PlainComparand`] or [`OptionComparand`].
#[doc(hidden)]
pub trait ComparedWith<T, V, K> {
    fn into_node(value: V) -> Node;
}
impl<T: PlainComparand<V, K>, V, K> ComparedWith<T, V, K> for NeverNull {
    fn into_node(value: V) -> Node {
        <T as PlainComparand<V, K>>::into_node(value)
    }
}
impl<T, V, K> ComparedWith<Option<T>, V, K> for MaybeNull
where
    Option<T>: OptionComparand<V, K>,
{
    fn into_node(value: V) -> Node {
        <Option<T> as OptionComparand<V, K>>::into_node(value)
    }
}

/// Declares one of the two traits a [`Comparand`] goes through, on the
/// column's type (`Self`; its `Self`, rather than the comparand's, makes
/// rustc print its message), with its message and its two impls: a value,
/// or a column or expression of a compatible type. `$($bound)*` bounds the
/// column's type `$column`, written with `T`.
macro_rules! comparand_trait {
    ($(#[$attr:meta])* $name:ident, $column:ty, [$($bound:tt)*]) => {
        $(#[$attr])*
        pub trait $name<V, K> {
            #[doc(hidden)]
            fn into_node(value: V) -> Node;
        }

        impl<$($bound)* V: ValueOf<$column>> $name<V, ByValue> for $column {
            fn into_node(value: V) -> Node {
                Node::Value(value.into_value())
            }
        }

        impl<$($bound)* O: Operand> $name<O, ByExpr> for $column
        where
            O::Type: Compatible<$column>,
        {
            fn into_node(value: O) -> Node {
                Operand::into_node(value)
            }
        }
    };
}

comparand_trait!(
    /// What a column of type `Self`, never NULL, may be compared with or
    /// set to (through [`Comparand`]).
    #[diagnostic::on_unimplemented(
        message = "a column of type `{Self}` cannot be compared with or set to `{V}`",
        label = "expected a `{Self}` value, or a column or expression of type `{Self}`",
        note = "compare with, or set to, a value of the column's type (or a reference to one), or another column or expression of type `{Self}`; a comparison also takes a column of type `Option<{Self}>`"
    )]
    PlainComparand,
    T,
    [T,]
);

comparand_trait!(
    /// What a column of type `Self`, an `Option`, may be compared with or
    /// set to (through [`Comparand`]).
    #[diagnostic::on_unimplemented(
        message = "a column of type `{Self}` cannot be compared with or set to `{V}`",
        label = "expected a value of the type in the `Option`, `None`, an owned `Option`, or a column or expression of either type",
        note = "pass a value of the type inside the `Option` (it means `Some`), `None`, or an owned `Option`: `Some` of a borrowed value (`Some(\"gift\")` for an `Option<String>` column) is refused, since accepting it would make a bare `None` ambiguous"
    )]
    OptionComparand,
    Option<T>,
    [T: ScalarType,]
);

/// Types one of which may be compared with the other: a type and itself,
/// or a type and `Option` of it.
#[doc(hidden)]
pub trait Compatible<T> {}
impl<T: FieldType> Compatible<T> for T {}
impl<T: crate::model::types::ScalarType> Compatible<Option<T>> for T {}
impl<T: crate::model::types::ScalarType> Compatible<T> for Option<T> {}

/// A comparison; text compares byte by byte on every backend (see
/// `Writer::compared_value`), with a column too.
fn compare<O: Operand, R: Comparand<O::Type, K>, K: ComparandKind<R>>(
    left: O,
    op: CompareOp,
    right: R,
) -> Cond<CmpScope<R, K, O::Scope>, CmpKind<R, K, O::Kind>> {
    let right = match right.into_node() {
        // `= NULL` is never true: `None` asks whether the value is NULL.
        Node::Value(Value::Null(_)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            return Expr::new(Node::IsNull(
                Box::new(left.into_node()),
                op == CompareOp::Ne,
            ));
        }
        node @ Node::Value(_) => node,
        node if O::Type::SQL_TYPE == SqlType::Text => Node::Bytes(Box::new(node)),
        node => node,
    };
    Expr::new(Node::Compare(
        op,
        Box::new(left.into_node()),
        Box::new(right),
    ))
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

fn like_node<O: Operand>(
    operand: O,
    pattern: String,
    ignore_case: bool,
) -> Cond<O::Scope, O::Kind> {
    Expr::new(Node::Like(
        Box::new(operand.into_node()),
        pattern,
        ignore_case,
    ))
}

/// The type of an expression over `Self` and `R`: `R`'s base type, and
/// nullable when either is (`i64` and `Option<i64>` give `Option<i64>`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` and `{R}` cannot be combined in arithmetic or `concat`",
    label = "operands of different types",
    note = "both operands must have the same type (or one an `Option` of the other): cast one with `.cast::<T>()`"
)]
pub trait Combine<R> {
    /// The result type.
    type Out: FieldType;
}

macro_rules! combine {
    ($($ty:ty),*) => {$(
        impl Combine<$ty> for $ty { type Out = $ty; }
        impl Combine<Option<$ty>> for $ty { type Out = Option<$ty>; }
        impl Combine<$ty> for Option<$ty> { type Out = Option<$ty>; }
        impl Combine<Option<$ty>> for Option<$ty> { type Out = Option<$ty>; }
    )*};
}
combine!(i16, i32, i64, f32, f64, String);
#[cfg(feature = "decimal")]
combine!(rust_decimal::Decimal);

/// Number types arithmetic applies to, and whether division truncates.
#[doc(hidden)]
pub trait Arithmetic: FieldType {
    /// Integer division truncates toward zero.
    const INTEGER: bool;
}
macro_rules! arithmetic {
    ($($ty:ty => $int:literal),*) => {$(
        impl Arithmetic for $ty { const INTEGER: bool = $int; }
        impl Arithmetic for Option<$ty> { const INTEGER: bool = $int; }
    )*};
}
arithmetic!(i16 => true, i32 => true, i64 => true, f32 => false, f64 => false);
#[cfg(feature = "decimal")]
arithmetic!(rust_decimal::Decimal => false);

/// The right operand of arithmetic on a `T`: a number of the same type (or
/// `Option` of it), or a column or expression of that type.
#[diagnostic::on_unimplemented(
    message = "cannot do arithmetic between a `{T}` and `{Self}`",
    label = "expected a `{T}` value, or a column or expression of that type",
    note = "arithmetic needs numbers of the same type on both sides (i16, i32, i64, f32, f64, Decimal, or Option of them); cast one with `.cast::<T>()`"
)]
pub trait ArithOperand<T> {
    /// The scope of an expression of scope `L` combined with this one.
    type Scope<L>;
    /// The kind of an expression of kind `L` combined with this one.
    type Kind<L: Kind>: Kind;
    /// The result type.
    type Out: FieldType;
    /// Whether `T` is an integer type (its division truncates).
    #[doc(hidden)]
    const INTEGER: bool;
    #[doc(hidden)]
    fn into_node(self) -> Node;
}

macro_rules! arith_value {
    ($($ty:ty),*) => {$(
        impl ArithOperand<$ty> for $ty {
            type Scope<L> = L;
            type Kind<L: Kind> = L;
            type Out = $ty;
            const INTEGER: bool = <$ty as Arithmetic>::INTEGER;
            fn into_node(self) -> Node { Node::Value(FieldType::into_value(self)) }
        }
        impl ArithOperand<Option<$ty>> for $ty {
            type Scope<L> = L;
            type Kind<L: Kind> = L;
            type Out = Option<$ty>;
            const INTEGER: bool = <$ty as Arithmetic>::INTEGER;
            fn into_node(self) -> Node { Node::Value(FieldType::into_value(self)) }
        }
    )*};
}
arith_value!(i16, i32, i64, f32, f64);
#[cfg(feature = "decimal")]
arith_value!(rust_decimal::Decimal);

impl<T: Arithmetic + Combine<O::Type>, O: Operand> ArithOperand<T> for O {
    type Scope<L> = Both<L, O::Scope>;
    type Kind<L: Kind> = L::Join<O::Kind>;
    type Out = <T as Combine<O::Type>>::Out;
    const INTEGER: bool = T::INTEGER;
    fn into_node(self) -> Node {
        Operand::into_node(self)
    }
}

/// `left op right` for the `+ - * /` operators of columns and expressions.
#[doc(hidden)]
pub fn arith<L: Operand, R: ArithOperand<L::Type>>(
    left: L,
    op: ArithOp,
    right: R,
) -> Expr<R::Scope<L::Scope>, R::Out, R::Kind<L::Kind>> {
    let op = match op {
        ArithOp::Div(_) => ArithOp::Div(R::INTEGER),
        other => other,
    };
    Expr::new(Node::Arith(
        op,
        Box::new(left.into_node()),
        Box::new(right.into_node()),
    ))
}

/// What `/` gives: an expression of scope `S` that is `None` where the
/// divisor is zero, of the type `T` without its `Option`.
pub type Quotient<S, T, K = Plain> = Expr<S, Option<<T as Scalar>::Scalar>, K>;

/// `left / right`, `None` where `right` is zero.
#[doc(hidden)]
pub fn divide<L: Operand, R: ArithOperand<L::Type>>(
    left: L,
    right: R,
) -> Quotient<R::Scope<L::Scope>, R::Out, R::Kind<L::Kind>>
where
    R::Out: Scalar,
{
    Expr::new(arith(left, ArithOp::Div(false), right).node)
}

macro_rules! expr_ops {
    ($($trait:ident $method:ident $op:expr;)*) => {$(
        impl<M, T: FieldType, K: Kind, R: ArithOperand<T>> std::ops::$trait<R> for Expr<M, T, K> {
            type Output = Expr<R::Scope<M>, R::Out, R::Kind<K>>;
            fn $method(self, right: R) -> Self::Output {
                arith(self, $op, right)
            }
        }
    )*};
}
expr_ops! {
    Add add ArithOp::Add;
    Sub sub ArithOp::Sub;
    Mul mul ArithOp::Mul;
}

/// `a / b`: `None` where `b` is zero, on every backend (PostgreSQL would
/// fail with SQLSTATE 22012; SQLite and MySQL give NULL). Integers divide
/// truncating toward zero (`DIV` on MySQL, whose `/` gives a decimal).
impl<M, T: FieldType, K: Kind, R: ArithOperand<T>> std::ops::Div<R> for Expr<M, T, K>
where
    R::Out: Scalar,
{
    type Output = Quotient<R::Scope<M>, R::Out, R::Kind<K>>;
    fn div(self, right: R) -> Self::Output {
        divide(self, right)
    }
}

/// The same type, nullable when `Self` is: what `length` of a text gives.
#[doc(hidden)]
pub trait MapNull<U> {
    type Out: FieldType;
}
impl<U: FieldType> MapNull<U> for String {
    type Out = U;
}
impl<U: crate::model::types::ScalarType> MapNull<U> for Option<String> {
    type Out = Option<U>;
}

/// Types a [`cast`](ExprOps::cast) can produce, by the name each backend
/// gives the type in `CAST`.
#[diagnostic::on_unimplemented(
    message = "cannot cast to `{Self}`",
    label = "not a cast target",
    note = "cast to i64, i32, f64, String or Decimal (or Option of them)"
)]
pub trait CastTarget: FieldType {}
impl CastTarget for i32 {}
impl CastTarget for i64 {}
impl CastTarget for f64 {}
impl CastTarget for String {}
impl CastTarget for Option<i32> {}
impl CastTarget for Option<i64> {}
impl CastTarget for Option<f64> {}
impl CastTarget for Option<String> {}
#[cfg(feature = "decimal")]
impl CastTarget for rust_decimal::Decimal {}
#[cfg(feature = "decimal")]
impl CastTarget for Option<rust_decimal::Decimal> {}

/// A fallback of [`coalesce`](ExprOps::coalesce) for a `T`: a value of `T`,
/// or a column or expression of exactly type `T`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot stand in for a NULL `{T}`",
    label = "expected a `{T}` value, or a column or expression of type `{T}`"
)]
pub trait Fallback<T, K> {
    /// The scope of an expression of scope `L` combined with this one.
    type Scope<L>;
    /// The kind of an expression of kind `L` combined with this one.
    type Kind<L: Kind>: Kind;
    #[doc(hidden)]
    fn into_node(self) -> Node;
}
impl<T, V: ValueOf<T>> Fallback<T, ByValue> for V {
    type Scope<L> = L;
    type Kind<L: Kind> = L;
    fn into_node(self) -> Node {
        Node::Value(self.into_value())
    }
}
impl<T: FieldType, O: Operand<Type = T>> Fallback<T, ByExpr> for O {
    type Scope<L> = Both<L, O::Scope>;
    type Kind<L: Kind> = L::Join<O::Kind>;
    fn into_node(self) -> Node {
        Operand::into_node(self)
    }
}

/// Comparisons, pattern matches, functions and aggregates on columns and
/// expressions.
///
/// In scope through `orm::prelude::*`. The right side of a comparison is a
/// value or another column or expression (`order::shipped.gt(order::placed)`).
// `is_in` and `is_null` build conditions; they do not test `self`.
#[allow(clippy::wrong_self_convention)]
pub trait ExprOps: Operand {
    /// `self = other`; with `None` (an `Option` value that is `None`),
    /// `self IS NULL`.
    ///
    /// On an `Option` column, `other` is the plain value (`"gift"` or
    /// `&text` for an `Option<String>` column, meaning `Some`), `None`, or an
    /// owned `Option` (`Some("gift".to_owned())`, `maybe.map(str::to_owned)`).
    /// `Some("gift")`, an `Option` of a borrowed value, does not compile:
    /// accepting it as well would make a bare `None` ambiguous (E0283), a
    /// limit of stable Rust that Diesel shares. The same holds for `ne`, the
    /// other comparisons and [`Update::set`](super::Update::set).
    fn eq<R: Comparand<Self::Type, K>, K: ComparandKind<R>>(
        self,
        other: R,
    ) -> Cond<CmpScope<R, K, Self::Scope>, CmpKind<R, K, Self::Kind>> {
        compare(self, CompareOp::Eq, other)
    }
    /// `self <> other`; with `None`, `self IS NOT NULL`.
    fn ne<R: Comparand<Self::Type, K>, K: ComparandKind<R>>(
        self,
        other: R,
    ) -> Cond<CmpScope<R, K, Self::Scope>, CmpKind<R, K, Self::Kind>> {
        compare(self, CompareOp::Ne, other)
    }
    /// `self < other`
    fn lt<R: Comparand<Self::Type, K>, K: ComparandKind<R>>(
        self,
        other: R,
    ) -> Cond<CmpScope<R, K, Self::Scope>, CmpKind<R, K, Self::Kind>> {
        compare(self, CompareOp::Lt, other)
    }
    /// `self <= other`
    fn le<R: Comparand<Self::Type, K>, K: ComparandKind<R>>(
        self,
        other: R,
    ) -> Cond<CmpScope<R, K, Self::Scope>, CmpKind<R, K, Self::Kind>> {
        compare(self, CompareOp::Le, other)
    }
    /// `self > other`
    fn gt<R: Comparand<Self::Type, K>, K: ComparandKind<R>>(
        self,
        other: R,
    ) -> Cond<CmpScope<R, K, Self::Scope>, CmpKind<R, K, Self::Kind>> {
        compare(self, CompareOp::Gt, other)
    }
    /// `self >= other`
    fn ge<R: Comparand<Self::Type, K>, K: ComparandKind<R>>(
        self,
        other: R,
    ) -> Cond<CmpScope<R, K, Self::Scope>, CmpKind<R, K, Self::Kind>> {
        compare(self, CompareOp::Ge, other)
    }
    /// `self IN (values...)` or `self IN (SELECT ...)`: `list` is values
    /// (an array, a `Vec`, any iterator; an empty list matches nothing) or a
    /// subquery that selects one column of the same type (see
    /// [`subquery`](super::subquery)).
    ///
    /// A list of values of any length works on every backend, in a
    /// constant number of parameters (each backend caps a statement's
    /// parameters: 65,535 on PostgreSQL and MySQL, 32,766 on SQLite):
    ///
    /// | backend | SQL |
    /// |---|---|
    /// | PostgreSQL | `("orders"."id" = ANY($1))`, the list one array parameter |
    /// | SQLite, up to 1,000 values | `("orders"."id" IN (?, ?, ...))` |
    /// | SQLite, more | `("orders"."id" IN (SELECT value FROM json_each(?)))` |
    /// | MySQL, up to 1,000 values | `` (`orders`.`id` IN (?, ?, ...)) `` |
    /// | MySQL, more | `` (`orders`.`id` IN (SELECT v FROM JSON_TABLE(?, '$[*]' COLUMNS (v BIGINT PATH '$')) AS orm_in_list)) `` |
    ///
    /// The JSON forms hold each value as the driver binds it, so they match
    /// the same rows; text still compares byte by byte (on MySQL both sides
    /// as binary strings, which gives up the column's index for such long
    /// text lists). A list of JSON documents on SQLite or MySQL, which have
    /// no such form, stays placeholders: past the cap it is
    /// [`Error::TooManyParameters`](crate::Error::TooManyParameters), before
    /// anything is sent.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
    /// use orm::prelude::*;
    ///
    /// #[orm::model(table = "orders")]
    /// pub struct Order {
    ///     #[orm(primary_key, auto)]
    ///     pub id: i64,
    ///     pub status: String,
    /// }
    ///
    /// let db = orm::Database::connect("sqlite::memory:").await?;
    /// db.create_table::<Order>().await?;
    /// Order::create(&db, Order { id: 0, status: "pending".into() }).await?;
    /// // 100,000 values: one JSON parameter on SQLite.
    /// let ids: Vec<i64> = (1..=100_000).collect();
    /// assert_eq!(Order::query().filter(order::id.is_in(&ids)).count(&db).await?, 1);
    /// assert_eq!(Order::query().filter(order::id.is_not_in(&ids)).count(&db).await?, 0);
    /// # Ok(()) }
    /// ```
    fn is_in<L: InList<Self::Type, K>, K>(
        self,
        list: L,
    ) -> Cond<L::Scope<Self::Scope>, Self::Kind> {
        Expr::new(list.into_node(self.into_node(), false))
    }
    /// `self NOT IN (values...)` or `self NOT IN (SELECT ...)`; an empty
    /// list matches everything. Where the subquery returns a NULL, `NOT IN`
    /// matches nothing (SQL's three-valued logic, on every backend).
    fn is_not_in<L: InList<Self::Type, K>, K>(
        self,
        list: L,
    ) -> Cond<L::Scope<Self::Scope>, Self::Kind> {
        Expr::new(list.into_node(self.into_node(), true))
    }
    /// `self BETWEEN low AND high` (both ends included).
    fn between<V: ValueOf<Self::Type>, W: ValueOf<Self::Type>>(
        self,
        low: V,
        high: W,
    ) -> Cond<Self::Scope, Self::Kind> {
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
    fn like(self, pattern: &str) -> Cond<Self::Scope, Self::Kind>
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
    fn ilike(self, pattern: &str) -> Cond<Self::Scope, Self::Kind>
    where
        Self::Type: TextType,
    {
        like_node(self, like_pattern(pattern), true)
    }
    /// The text contains `part` literally (`%` and `_` in it are not
    /// wildcards); case-sensitive on every backend, as [`like`](Self::like).
    fn contains(self, part: &str) -> Cond<Self::Scope, Self::Kind>
    where
        Self::Type: TextType,
    {
        like_node(self, format!("%{}%", escape_like(part)), false)
    }
    /// The text starts with `prefix` literally; case-sensitive.
    fn starts_with(self, prefix: &str) -> Cond<Self::Scope, Self::Kind>
    where
        Self::Type: TextType,
    {
        like_node(self, format!("{}%", escape_like(prefix)), false)
    }
    /// The text ends with `suffix` literally; case-sensitive.
    fn ends_with(self, suffix: &str) -> Cond<Self::Scope, Self::Kind>
    where
        Self::Type: TextType,
    {
        like_node(self, format!("%{}", escape_like(suffix)), false)
    }
    /// [`contains`](Self::contains), ignoring case as [`ilike`](Self::ilike) does.
    fn contains_ci(self, part: &str) -> Cond<Self::Scope, Self::Kind>
    where
        Self::Type: TextType,
    {
        like_node(self, format!("%{}%", escape_like(part)), true)
    }
    /// [`starts_with`](Self::starts_with), ignoring case as [`ilike`](Self::ilike) does.
    fn starts_with_ci(self, prefix: &str) -> Cond<Self::Scope, Self::Kind>
    where
        Self::Type: TextType,
    {
        like_node(self, format!("{}%", escape_like(prefix)), true)
    }
    /// [`ends_with`](Self::ends_with), ignoring case as [`ilike`](Self::ilike) does.
    fn ends_with_ci(self, suffix: &str) -> Cond<Self::Scope, Self::Kind>
    where
        Self::Type: TextType,
    {
        like_node(self, format!("%{}", escape_like(suffix)), true)
    }
    /// `self IS NULL`
    fn is_null(self) -> Cond<Self::Scope, Self::Kind>
    where
        Self::Type: Nullable,
    {
        Expr::new(Node::IsNull(Box::new(self.into_node()), false))
    }
    /// `self IS NOT NULL`
    fn is_not_null(self) -> Cond<Self::Scope, Self::Kind>
    where
        Self::Type: Nullable,
    {
        Expr::new(Node::IsNull(Box::new(self.into_node()), true))
    }
    /// Ascending order (NULLs first, text in byte order: see [`Ordering`]).
    fn asc(self) -> Ordering<Self::Scope> {
        Ordering::of::<Self::Type>(self.into_node(), false)
    }
    /// Descending order (NULLs last, text in byte order: see [`Ordering`]).
    fn desc(self) -> Ordering<Self::Scope> {
        Ordering::of::<Self::Type>(self.into_node(), true)
    }
    /// `CAST(self AS <T>)`: `i64`/`i32` (`BIGINT`/`INTEGER`, `SIGNED` on
    /// MySQL), `f64` (`DOUBLE PRECISION`, `REAL` on SQLite, `DOUBLE` on
    /// MySQL), `String` (`TEXT`, `CHAR` on MySQL) or `Decimal` (`NUMERIC`,
    /// `DECIMAL(65, 30)` on MySQL). Text that is not a number casts to 0 on
    /// SQLite and MySQL and fails on PostgreSQL (SQLSTATE 22P02).
    fn cast<T: CastTarget>(self) -> Expr<Self::Scope, T, Self::Kind> {
        Expr::new(Node::Cast(
            Box::new(self.into_node()),
            Self::Type::SQL_TYPE,
            T::SQL_TYPE,
        ))
    }
    /// `COALESCE(self, fallback)`: `self`, or `fallback` where `self` is
    /// NULL; never NULL itself.
    fn coalesce<R: Fallback<<Self::Type as Scalar>::Scalar, K>, K>(
        self,
        fallback: R,
    ) -> Expr<R::Scope<Self::Scope>, <Self::Type as Scalar>::Scalar, R::Kind<Self::Kind>>
    where
        Self::Type: Scalar,
    {
        Expr::new(Node::Coalesce(vec![self.into_node(), fallback.into_node()]))
    }
    /// `LOWER(self)`. SQLite lowers ASCII letters only (SQLite manual,
    /// "lower(X)"); PostgreSQL and MySQL every letter.
    fn lower(self) -> Expr<Self::Scope, Self::Type, Self::Kind>
    where
        Self::Type: TextType,
    {
        Expr::new(Node::Text(TextFn::Lower, vec![self.into_node()]))
    }
    /// `UPPER(self)`; ASCII letters only on SQLite, as [`lower`](Self::lower).
    fn upper(self) -> Expr<Self::Scope, Self::Type, Self::Kind>
    where
        Self::Type: TextType,
    {
        Expr::new(Node::Text(TextFn::Upper, vec![self.into_node()]))
    }
    /// The length in characters (Unicode code points, as `str::chars().count()`):
    /// `length` on PostgreSQL and SQLite, `CHAR_LENGTH` on MySQL (whose
    /// `LENGTH` counts bytes).
    fn length(self) -> Expr<Self::Scope, <Self::Type as MapNull<i64>>::Out, Self::Kind>
    where
        Self::Type: TextType + MapNull<i64>,
    {
        Expr::new(Node::Text(TextFn::Length, vec![self.into_node()]))
    }
    /// `self` followed by `other` (`||`, `CONCAT` on MySQL); NULL when
    /// either is NULL, on every backend.
    fn concat<R: Comparand<String, K>, K: ComparandKind<R>>(
        self,
        other: R,
    ) -> Expr<
        CmpScope<R, K, Self::Scope>,
        <Self::Type as Combine<String>>::Out,
        CmpKind<R, K, Self::Kind>,
    >
    where
        Self::Type: TextType + Combine<String>,
    {
        Expr::new(Node::Text(
            TextFn::Concat,
            vec![self.into_node(), other.into_node()],
        ))
    }
    /// `COUNT(self)`: rows where the value is not NULL.
    fn count(self) -> Expr<Self::Scope, i64, Aggregated> {
        Expr::new(Node::Aggregate(
            AggregateFn::Count,
            Box::new(self.into_node()),
            None,
        ))
    }
    /// `COUNT(DISTINCT self)`: the distinct non-NULL values. Text counts
    /// as distinct by its bytes on every backend (`"a"` and `"A"` are two).
    fn count_distinct(self) -> Expr<Self::Scope, i64, Aggregated> {
        let text = Self::Type::SQL_TYPE == SqlType::Text;
        Expr::new(Node::Aggregate(
            AggregateFn::CountDistinct,
            Box::new(self.into_node()),
            text.then_some(SqlType::Text),
        ))
    }
    /// `SUM(self)`: `None` over no rows. Integers sum to `i64`, floats to `f64`.
    fn sum(self) -> Expr<Self::Scope, Option<<Self::Type as Numeric>::Sum>, Aggregated>
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
    fn avg(self) -> Expr<Self::Scope, Option<<Self::Type as Numeric>::Avg>, Aggregated>
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
    fn min(self) -> Expr<Self::Scope, Option<<Self::Type as Scalar>::Scalar>, Aggregated>
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
    fn max(self) -> Expr<Self::Scope, Option<<Self::Type as Scalar>::Scalar>, Aggregated>
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

impl<M, K: Kind> Cond<M, K> {
    /// Both conditions hold.
    pub fn and<N, K2: Kind>(self, other: Cond<N, K2>) -> Cond<Both<M, N>, K::Join<K2>> {
        Expr::new(Node::And(Box::new(self.node), Box::new(other.node)))
    }
    /// Either condition holds.
    pub fn or<N, K2: Kind>(self, other: Cond<N, K2>) -> Cond<Both<M, N>, K::Join<K2>> {
        Expr::new(Node::Or(Box::new(self.node), Box::new(other.node)))
    }
}

impl<M, K> std::ops::Not for Cond<M, K> {
    type Output = Cond<M, K>;
    fn not(self) -> Cond<M, K> {
        Expr::new(Node::Not(Box::new(self.node)))
    }
}

/// `NOT condition`.
pub fn not<M, K>(condition: Cond<M, K>) -> Cond<M, K> {
    !condition
}

/// `CASE WHEN condition THEN value ... ELSE value END`: starts with the
/// first branch; add branches with [`when`](Case::when) and finish with
/// [`otherwise`](Case::otherwise) (a `T`) or [`end`](Case::end) (an
/// `Option<T>`, NULL where no branch holds).
///
/// ```
/// # use orm::prelude::*;
/// # #[orm::model] pub struct Order { #[orm(primary_key, auto)] pub id: i64, pub total: f64 }
/// // CASE WHEN "orders"."total" > ? THEN ? WHEN "orders"."total" > ? THEN ? ELSE ? END
/// let size = orm::case_when(order::total.gt(100.0), "large")
///     .when(order::total.gt(10.0), "medium")
///     .otherwise("small");
/// let _query = Order::query().select((order::id, size));
/// ```
pub fn case_when<M, K: Kind, V: Literal>(condition: Cond<M, K>, then: V) -> Case<M, V::Type, K> {
    Case {
        branches: vec![(condition.node, Node::Value(then.into_value()))],
        _types: PhantomData,
    }
}

/// [`case_when`] with a column or expression as the first branch's value.
pub fn case_when_expr<M, K: Kind, O: Operand>(
    condition: Cond<M, K>,
    then: O,
) -> Case<Both<M, O::Scope>, O::Type, K::Join<O::Kind>> {
    Case {
        branches: vec![(condition.node, then.into_node())],
        _types: PhantomData,
    }
}

/// A `CASE` expression being built; see [`case_when`].
pub struct Case<M, T, K = Plain> {
    branches: Vec<(Node, Node)>,
    _types: PhantomData<fn() -> (M, T, K)>,
}

impl<M, T: FieldType, K: Kind> Case<M, T, K> {
    /// Another branch: `WHEN condition THEN value`.
    pub fn when<N, K2: Kind, R: Comparand<T, B>, B: ComparandKind<R>>(
        mut self,
        condition: Cond<N, K2>,
        value: R,
    ) -> Case<CmpScope<R, B, Both<M, N>>, T, CmpKind<R, B, K::Join<K2>>> {
        self.branches.push((condition.node, value.into_node()));
        Case {
            branches: self.branches,
            _types: PhantomData,
        }
    }

    /// `ELSE value END`: the value where no branch holds.
    pub fn otherwise<R: Comparand<T, B>, B: ComparandKind<R>>(
        self,
        value: R,
    ) -> Expr<CmpScope<R, B, M>, T, CmpKind<R, B, K>> {
        Expr::new(Node::Case(self.branches, Some(Box::new(value.into_node()))))
    }

    /// `END` without `ELSE`: NULL where no branch holds.
    pub fn end(self) -> Expr<M, Option<<T as Scalar>::Scalar>, K>
    where
        T: Scalar,
    {
        Expr::new(Node::Case(self.branches, None))
    }
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
#[derive(Clone, Debug, PartialEq)]
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

/// A condition usable in a query whose sources are `S` (its model, or the
/// models and aliases of a join): a condition (`Expr<_, bool>`) or a `bool`
/// column whose tables the query has. `I` says where, and is inferred.
#[diagnostic::on_unimplemented(
    message = "`filter` and `having` take a condition on the tables of this query (`{S}`), such as `column.eq(value)` or a `bool` column",
    label = "not a condition",
    note = "a window function (`row_number().over(..)`, `column.sum().over(..)`) cannot be a condition: SQL computes it after `WHERE` and `HAVING`; select it instead (`.select((column, row_number().over(..)))`) and keep the rows you need from the result",
    note = "a query is a condition through `exists(query)`, `not_exists(query)` or `column.is_in(query)`"
)]
pub trait Filter<S, I> {
    #[doc(hidden)]
    fn into_node(self) -> Node;
}

/// A condition, or a `bool` column by itself: `filter(order::paid)`.
impl<S, I, O: Operand> Filter<S, I> for O
where
    O::Scope: InScope<S, I>,
    O::Type: IsCondition<O>,
{
    fn into_node(self) -> Node {
        Operand::into_node(self)
    }
}

/// The type of a condition: `bool`, the type of `column.eq(value)` and of
/// a `bool` column. `E` is the expression, named in the message when a
/// column or expression of another type is passed as a condition
/// (`filter(order::total)`).
#[diagnostic::on_unimplemented(
    message = "`{E}` is a `{Self}` column or expression, not a condition",
    label = "expected a condition, such as `column.eq(value)`, or a `bool` column",
    note = "compare it to make a condition: `.eq(value)`, `.gt(value)`, `.is_in([..])`, `.like(pattern)` (text), `.is_null()` (`Option` columns); only a `bool` column is a condition by itself (an `Option<bool>` one is `column.eq(true)`)"
)]
pub trait IsCondition<E> {}
impl<E> IsCondition<E> for bool {}

/// A sort key usable in a query whose sources are `S`: a column or
/// expression (ascending), or `expr.desc()`, whose tables the query has.
///
/// Implemented once, for every [`WindowKey`] whose tables are among the
/// sources, so that a key of another model's is reported by that model's
/// name (`User` is not one of the tables of this query).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot order a query of `{S}`",
    label = "not a column, expression or ordering of this query's tables",
    note = "order by columns of the queried model or of a model it joined: `column`, `column.asc()` or `column.desc()`; to sort by another model's column, join that model first (`.join(relation)`)"
)]
pub trait IntoOrdering<S, I> {
    #[doc(hidden)]
    fn into_ordering(self) -> OrderKey;
}

impl<S, I, K: WindowKey> IntoOrdering<S, I> for K
where
    K::Scope: InScope<S, I>,
{
    fn into_ordering(self) -> OrderKey {
        self.into_key()
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
