//! Subqueries: `col.is_in(query)`, [`exists`], [`not_exists`], scalar
//! subqueries ([`Select::single_value`]), correlated with the outer query
//! through [`Select::correlate`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! use orm::prelude::*;
//! use orm::query::{exists, not_exists};
//!
//! #[orm::model]
//! #[derive(Clone, Debug)]
//! pub struct Customer { #[orm(primary_key, auto)] pub id: i64, pub name: String }
//! #[orm::model]
//! #[derive(Clone, Debug)]
//! pub struct Invoice {
//!     #[orm(primary_key, auto)] pub id: i64,
//!     #[orm(belongs_to = Customer)] pub customer_id: i64,
//!     pub total: f64,
//! }
//!
//! let db = orm::Database::connect("sqlite::memory:").await?;
//! db.create_table::<Customer>().await?;
//! db.create_table::<Invoice>().await?;
//! let ada = Customer::create(&db, Customer { id: 0, name: "Ada".into() }).await?;
//! Customer::create(&db, Customer { id: 0, name: "Bob".into() }).await?;
//! Invoice::create(&db, Invoice { id: 0, customer_id: ada.id, total: 120.0 }).await?;
//!
//! // ... WHERE ("customers"."id" IN (SELECT "invoices"."customer_id" FROM "invoices"
//! //     WHERE ("invoices"."total" > ?)))
//! let big = Customer::query()
//!     .filter(customer::id.is_in(
//!         Invoice::query().filter(invoice::total.gt(100.0)).select(invoice::customer_id),
//!     ))
//!     .all(&db)
//!     .await?;
//! assert_eq!(big[0].name, "Ada");
//!
//! // ... WHERE (NOT EXISTS (SELECT 1 FROM "invoices"
//! //     WHERE ("invoices"."customer_id" = "customers"."id")))
//! let without = Customer::query()
//!     .filter(not_exists(
//!         Invoice::query()
//!             .correlate::<Customer>()
//!             .filter(invoice::customer_id.eq(customer::id)),
//!     ))
//!     .all(&db)
//!     .await?;
//! assert_eq!(without[0].name, "Bob");
//!
//! // SELECT "customers"."name", (SELECT CAST(SUM("invoices"."total") AS ..) FROM "invoices"
//! //     WHERE ("invoices"."customer_id" = "customers"."id")) FROM "customers" ...
//! let spent = Customer::query()
//!     .order_by(customer::id)
//!     .select((
//!         customer::name,
//!         Invoice::query()
//!             .correlate::<Customer>()
//!             .filter(invoice::customer_id.eq(customer::id))
//!             .select(invoice::total.sum())
//!             .single_value(),
//!     ))
//!     .all(&db)
//!     .await?;
//! assert_eq!(spent, [("Ada".to_string(), Some(120.0)), ("Bob".to_string(), None)]);
//! # Ok(()) }
//! ```

use std::marker::PhantomData;

use super::expr::{ByExpr, ByValue, Compatible, Cond, Constant, Expr, Node, SubqueryUse};
use super::lock::NoLock;
use super::scope::{Both, NoTable, Push};
use super::{reshape, Parts, Select};
use crate::model::types::{FieldType, Scalar, ValueOf};
use crate::model::Model;

/// Marks a model of the outer query that a subquery refers to; see
/// [`Select::correlate`]. Never written.
pub struct Outer<X>(PhantomData<fn() -> X>);

/// A query usable inside another: a query of one model, or of a model and
/// up to two joined models, without a row lock. `Outer` is the scope it
/// reads from the outer query ([`NoTable`] unless [`correlate`](Select::correlate)d).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a subquery",
    label = "not a query of one model (or of models joined without aliases), or it takes a row lock",
    note = "use a query such as `Model::query().filter(..).select(column)`, without `for_update()`/`for_share()`"
)]
pub trait Subquery {
    /// The outer query's tables the subquery reads.
    type Outer;
    /// What each of its rows decodes to.
    type Output;
    #[doc(hidden)]
    fn into_parts(self) -> Parts;
}

impl<M: Model, O, G> Subquery for Select<M, O, NoLock, M, G> {
    type Outer = NoTable;
    type Output = O;
    fn into_parts(self) -> Parts {
        self.parts
    }
}

impl<M: Model, O, J: Model, G> Subquery for Select<M, O, NoLock, (M, J), G> {
    type Outer = NoTable;
    type Output = O;
    fn into_parts(self) -> Parts {
        self.parts
    }
}

impl<M: Model, O, J: Model, K: Model, G> Subquery for Select<M, O, NoLock, (M, J, K), G> {
    type Outer = NoTable;
    type Output = O;
    fn into_parts(self) -> Parts {
        self.parts
    }
}

impl<M: Model, O, X, G> Subquery for Select<M, O, NoLock, (M, Outer<X>), G> {
    type Outer = X;
    type Output = O;
    fn into_parts(self) -> Parts {
        self.parts
    }
}

impl<M: Model, O: Send + 'static, G> Select<M, O, NoLock, M, G> {
    /// Lets this query, used as a subquery, refer to the columns of model
    /// `X` of the outer query (a correlated subquery): `Invoice::query()
    /// .correlate::<Customer>().filter(invoice::customer_id.eq(customer::id))`
    /// inside a query of `Customer`. Run on its own it fails on every
    /// backend (the outer table is not in its `FROM`); as a subquery of a
    /// query that does not have `X`, it does not compile.
    pub fn correlate<X: Model>(self) -> Select<M, O, NoLock, <M as Push<Outer<X>>>::Out, G> {
        reshape(self.parts, self.decode)
    }
}

impl<M: Model, O: FieldType, L, S, G> Select<M, O, L, S, G>
where
    Select<M, O, L, S, G>: Subquery<Output = O>,
{
    /// This query as a value in another (a scalar subquery): `(SELECT ...)`.
    /// It must select one column and return at most one row (filter it by
    /// key, or select an aggregate); `None` where it returns no row. A
    /// query that returns several rows fails when run, on every backend
    /// (PostgreSQL SQLSTATE 21000, MySQL error 1242, SQLite takes the first).
    pub fn single_value(
        self,
    ) -> Expr<<Self as Subquery>::Outer, Option<<O as Scalar>::Scalar>, Constant>
    where
        O: Scalar,
    {
        Expr::new(Node::Subquery(
            SubqueryUse::Scalar,
            Box::new(Subquery::into_parts(self)),
        ))
    }
}

/// `EXISTS (subquery)`: the subquery returns at least one row.
pub fn exists<Q: Subquery>(subquery: Q) -> Cond<Q::Outer, Constant> {
    Expr::new(Node::Subquery(
        SubqueryUse::Exists(false),
        Box::new(exists_parts(subquery.into_parts())),
    ))
}

/// `NOT EXISTS (subquery)`: the subquery returns no row.
pub fn not_exists<Q: Subquery>(subquery: Q) -> Cond<Q::Outer, Constant> {
    Expr::new(Node::Subquery(
        SubqueryUse::Exists(true),
        Box::new(exists_parts(subquery.into_parts())),
    ))
}

/// An `EXISTS` subquery selects `1`: its columns do not matter.
fn exists_parts(mut parts: Parts) -> Parts {
    parts.columns = Some(vec![Node::Value(crate::Value::I32(1))]);
    parts
}

/// What `is_in` and `is_not_in` take for a `T`: values of `T` (any number:
/// see [`ExprOps::is_in`](super::ExprOps::is_in)), or a subquery that
/// selects one column of type `T`. `K` says which and is inferred.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list of `{T}` values nor a query that selects a `{T}`",
    label = "expected values of type `{T}`, or a subquery selecting one `{T}` column",
    note = "pass an array, a Vec or another iterator of values, or `Model::query().select(column)`"
)]
pub trait InList<T, K> {
    /// The scope of a condition on an expression of scope `L`.
    type Scope<L>;
    #[doc(hidden)]
    fn into_node(self, left: Node, negated: bool) -> Node;
}

impl<T, V: ValueOf<T>, I: IntoIterator<Item = V>> InList<T, ByValue> for I {
    type Scope<L> = L;
    fn into_node(self, left: Node, negated: bool) -> Node {
        let values = self.into_iter().map(V::into_value).collect();
        Node::In(Box::new(left), values, negated)
    }
}

impl<T, Q: Subquery> InList<T, ByExpr> for Q
where
    Q::Output: Compatible<T>,
{
    type Scope<L> = Both<L, Q::Outer>;
    fn into_node(self, left: Node, negated: bool) -> Node {
        Node::Subquery(
            SubqueryUse::In(Box::new(left), negated),
            Box::new(self.into_parts()),
        )
    }
}
