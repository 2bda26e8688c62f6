//! Common table expressions: a query named and read as a table (`WITH`),
//! and recursive ones (`WITH RECURSIVE`) that walk a tree or a graph in one
//! statement: every employee under a manager, at any depth.
//!
//! A CTE here holds whole rows of one model. [`with`] names a query;
//! [`with_recursive`] names an anchor query and a recursive step, a query
//! of the same model joined with the CTE itself
//! ([`join_cte`](Select::join_cte)). [`Cte::query`] then reads the CTE as
//! if it were the model's table: filter, sort, join, aggregate as usual.
//! The two parts of a recursive CTE are united with `UNION`, so a row
//! reached twice (a cycle in the data) is kept once and the recursion ends.
//! (SQLite >= 3.8.3, PostgreSQL, MySQL 8, MariaDB >= 10.2.)
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! use orm::prelude::*;
//!
//! #[orm::model(table = "staff")]
//! #[derive(Clone, Debug)]
//! pub struct Employee {
//!     #[orm(primary_key, auto)]
//!     pub id: i64,
//!     pub name: String,
//!     #[orm(belongs_to = Employee)]
//!     pub manager_id: Option<i64>,
//! }
//!
//! let db = orm::Database::connect("sqlite::memory:").await?;
//! db.create_table::<Employee>().await?;
//! for (name, manager_id) in [("Ada", None), ("Bob", Some(1)), ("Cy", Some(2)), ("Di", None)] {
//!     Employee::create(&db, Employee { id: 0, name: name.into(), manager_id }).await?;
//! }
//!
//! // WITH RECURSIVE "under" AS (SELECT <columns> FROM "staff" WHERE ("staff"."manager_id" = ?)
//! //   UNION SELECT <columns> FROM "staff" INNER JOIN "under" ON ("staff"."manager_id" = "under"."id"))
//! // SELECT <columns> FROM "under" AS "staff" ORDER BY "staff"."name" COLLATE BINARY ASC, ...
//! let under_ada = orm::query::with_recursive(
//!     "under",
//!     Employee::query().filter(employee::manager_id.eq(1)),
//!     |under| {
//!         Employee::query()
//!             .join_cte(under, employee::manager_id.eq(under.column(employee::id)))
//!     },
//! );
//! let names: Vec<String> = under_ada
//!     .query()
//!     .order_by(employee::name)
//!     .select(employee::name)
//!     .all(&db)
//!     .await?;
//! assert_eq!(names, ["Bob", "Cy"]);
//! # Ok(()) }
//! ```

use std::marker::PhantomData;

use super::expr::{Filter, Node, Operand};
use super::lock::NoLock;
use super::scope::Push;
use super::{reshape, JoinClause, Parts, Select};
use crate::model::{ColumnOf, Model};

/// A CTE's definition, rendered before the statement that reads it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CteDef {
    pub(crate) name: &'static str,
    pub(crate) anchor: Parts,
    /// The recursive step, for `WITH RECURSIVE`.
    pub(crate) step: Option<Parts>,
}

/// A named query of `M` rows; see the [module](self).
#[derive(Clone, Debug)]
pub struct Cte<M> {
    def: CteDef,
    _model: PhantomData<fn() -> M>,
}

/// The CTE being defined, inside the step of [`with_recursive`]: joined
/// with [`join_cte`](Select::join_cte), its columns read with
/// [`column`](CteRef::column).
pub struct CteRef<M> {
    name: &'static str,
    _model: PhantomData<fn() -> M>,
}

impl<M> Clone for CteRef<M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M> Copy for CteRef<M> {}

impl<M: Model> CteRef<M> {
    /// Column `column` of the CTE's rows: `"<cte>"."<column>"`.
    pub fn column<C: ColumnOf<M>>(self, column: C) -> CteColumn<M, C> {
        let _ = column;
        CteColumn {
            name: self.name,
            _types: PhantomData,
        }
    }
}

/// A column of a CTE's rows; see [`CteRef::column`].
pub struct CteColumn<M, C> {
    name: &'static str,
    _types: PhantomData<fn() -> (M, C)>,
}

impl<M, C> Clone for CteColumn<M, C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M, C> Copy for CteColumn<M, C> {}

impl<M: Model, C: ColumnOf<M>> Operand for CteColumn<M, C> {
    type Scope = CteRef<M>;
    type Type = C::Type;
    type Kind = super::expr::Plain;
    fn into_node(self) -> Node {
        Node::Column {
            table: self.name,
            name: C::NAME,
        }
    }
}

/// `WITH "<name>" AS (<query>)`: `query`'s rows under a name, read with
/// [`Cte::query`]. `name` is an SQL identifier of your choosing (quoted).
pub fn with<M: Model>(name: &'static str, query: Select<M, M, NoLock, M>) -> Cte<M> {
    Cte {
        def: CteDef {
            name,
            anchor: query.parts,
            step: None,
        },
        _model: PhantomData,
    }
}

/// The recursive step of a CTE of `M` rows: a query of `M` rows joined with
/// the CTE.
#[diagnostic::on_unimplemented(
    message = "the recursive step of a CTE of `{M}` rows must be a query of `{M}` rows joined with the CTE",
    label = "not a query of whole `{M}` rows joined with the CTE",
    note = "write the step as `{M}::query().join_cte(cte, condition)`, selecting whole rows (the anchor and the step must have the same columns)"
)]
pub trait RecursiveStep<M> {
    #[doc(hidden)]
    fn into_parts(self) -> Parts;
}

impl<M: Model> RecursiveStep<M> for Select<M, M, NoLock, (M, CteRef<M>)> {
    fn into_parts(self) -> Parts {
        self.parts
    }
}

/// `WITH RECURSIVE "<name>" AS (<anchor> UNION <step>)`: the rows of
/// `anchor`, then the rows `step` finds from those, and so on until a
/// step finds no new row. `step` gets the CTE to join with
/// ([`join_cte`](Select::join_cte)) and returns a query of `M` rows.
pub fn with_recursive<M, F, Q>(
    name: &'static str,
    anchor: Select<M, M, NoLock, M>,
    step: F,
) -> Cte<M>
where
    M: Model,
    F: FnOnce(CteRef<M>) -> Q,
    Q: RecursiveStep<M>,
{
    let step = step(CteRef {
        name,
        _model: PhantomData,
    });
    Cte {
        def: CteDef {
            name,
            anchor: anchor.parts,
            step: Some(step.into_parts()),
        },
        _model: PhantomData,
    }
}

impl<M: Model> Cte<M> {
    /// A query of the CTE's rows, as if they were `M`'s table:
    /// `WITH ... SELECT ... FROM "name" AS "table"`.
    pub fn query(&self) -> Select<M> {
        let mut query = Select::<M>::new();
        query.parts.with = Some(Box::new(self.def.clone()));
        query
    }
}

impl<M: Model, O: Send + 'static, L, S, G> Select<M, O, L, S, G> {
    /// Joins the CTE being defined (in the step of [`with_recursive`]) on
    /// `on`, a condition over this query's tables and the CTE's columns
    /// (`cte.column(..)`): `INNER JOIN "<cte>" ON <on>`. The rows stay this
    /// query's rows.
    pub fn join_cte<X: Model, F, I>(
        mut self,
        cte: CteRef<X>,
        on: F,
    ) -> Select<M, O, L, <S as Push<CteRef<X>>>::Out, G>
    where
        S: Push<CteRef<X>>,
        F: Filter<<S as Push<CteRef<X>>>::Out, I>,
    {
        let on = on.into_node();
        self.parts.joins.push(JoinClause {
            left_join: false,
            model: X::NAME,
            schema: X::SCHEMA,
            alias: None,
            cte: Some(cte.name),
            selected: false,
            on,
        });
        reshape(self.parts, self.decode)
    }
}
