//! `UNION` and `UNION ALL` of queries that select the same types on one
//! connection, sorted and limited as a whole.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! use orm::prelude::*;
//!
//! #[orm::model]
//! pub struct Artist { #[orm(primary_key, auto)] pub id: i64, pub name: String }
//! #[orm::model]
//! pub struct Album { #[orm(primary_key, auto)] pub id: i64, pub title: String }
//!
//! let db = orm::Database::connect("sqlite::memory:").await?;
//! db.create_table::<Artist>().await?;
//! db.create_table::<Album>().await?;
//! Artist::create(&db, Artist { id: 0, name: "Nina".into() }).await?;
//! Album::create(&db, Album { id: 0, title: "Blue".into() }).await?;
//! Album::create(&db, Album { id: 0, title: "Nina".into() }).await?;
//!
//! // SELECT * FROM (SELECT * FROM (SELECT "artists"."name" AS "c1" FROM "artists") AS "orm_m1"
//! //   UNION SELECT * FROM (SELECT "albums"."title" AS "c1" FROM "albums") AS "orm_m2") AS "orm_union"
//! //   ORDER BY "orm_union"."c1" COLLATE "C" DESC LIMIT 5
//! let names = Artist::query()
//!     .select(artist::name)
//!     .union(Album::query().select(album::title))
//!     .order_by(artist::name.desc())
//!     .limit(5)
//!     .all(&db)
//!     .await?;
//! assert_eq!(names, ["Nina", "Blue"]);
//! # Ok(()) }
//! ```

use std::marker::PhantomData;

use super::expr::{IntoOrdering, OrderKey};
use super::lock::NoLock;
use super::{render, Parts, Select};
use crate::connection::conn::sql_owned;
use crate::connection::driver::RowRef;
use crate::error::{Error, Result};
use crate::model::crud::read_of;
use crate::model::Model;
use crate::routing::{ConnectionName, Executor, Pending};

/// A query that can be a part of a `UNION` whose rows are `O`, on
/// connection `C`: a query without a row lock that selects `O` from a
/// model on `C`.
#[diagnostic::on_unimplemented(
    message = "`union` needs a query whose rows are `{O}`, as this query's are, on connection `{C}`, without a row lock",
    label = "selects other types, lives on another connection, or takes a row lock",
    note = "a UNION needs queries that select the same types, in the same order, from models on one connection: `select` the same column types in each (cast one with `.cast::<T>()`)"
)]
pub trait UnionMember<C, O> {
    #[doc(hidden)]
    fn into_parts(self) -> Parts;
}

impl<M: Model, O, S, G> UnionMember<M::Connection, O> for Select<M, O, NoLock, S, G> {
    fn into_parts(self) -> Parts {
        self.parts
    }
}

/// One part of a union: its parts, and whether it is united with `ALL`.
#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub(crate) parts: Parts,
    pub(crate) all: bool,
}

/// A `UNION` of queries; see the [module](self). `M` is the first query's
/// model (the union runs on its connection), `S` the first query's tables
/// (what [`order_by`](Union::order_by) reads), `O` the rows.
#[must_use = "a union does nothing until it is run with `all`, `first` or `one`"]
pub struct Union<M: Model, O, S> {
    parts: UnionParts,
    decode: fn(RowRef<'_>) -> Result<O>,
    _types: PhantomData<fn() -> (M, S)>,
}

/// What a union renders from.
#[derive(Clone, Debug)]
pub(crate) struct UnionParts {
    pub(crate) members: Vec<Member>,
    pub(crate) order: Vec<OrderKey>,
    pub(crate) limit: Option<u64>,
    pub(crate) offset: Option<u64>,
}

impl<M: Model, O: Send + 'static, S, G> Select<M, O, NoLock, S, G> {
    /// `self UNION other`: the rows of both, each distinct row once.
    /// `other` selects the same types from a model on the same connection
    /// (a compile error otherwise).
    pub fn union<Q: UnionMember<M::Connection, O>>(self, other: Q) -> Union<M, O, S> {
        self.into_union(other.into_parts(), false)
    }

    /// `self UNION ALL other`: the rows of both, duplicates kept.
    pub fn union_all<Q: UnionMember<M::Connection, O>>(self, other: Q) -> Union<M, O, S> {
        self.into_union(other.into_parts(), true)
    }

    fn into_union(self, other: Parts, all: bool) -> Union<M, O, S> {
        Union {
            parts: UnionParts {
                members: vec![
                    Member {
                        parts: self.parts,
                        all: false,
                    },
                    Member { parts: other, all },
                ],
                order: Vec::new(),
                limit: None,
                offset: None,
            },
            decode: self.decode,
            _types: PhantomData,
        }
    }
}

impl<M: Model, O: Send + 'static, S> Union<M, O, S> {
    /// One more query, `UNION`: each distinct row once.
    pub fn union<Q: UnionMember<M::Connection, O>>(mut self, other: Q) -> Self {
        self.parts.members.push(Member {
            parts: other.into_parts(),
            all: false,
        });
        self
    }

    /// One more query, `UNION ALL`: duplicates kept.
    pub fn union_all<Q: UnionMember<M::Connection, O>>(mut self, other: Q) -> Self {
        self.parts.members.push(Member {
            parts: other.into_parts(),
            all: true,
        });
        self
    }

    /// Sorts the whole union by `key`, a column or expression the *first*
    /// query selects (in the order [`Ordering`](super::Ordering) gives on
    /// every backend: text by its bytes, NULLs first ascending). A key the
    /// first query does not select fails with [`Error::InvalidQuery`]
    /// before anything is sent.
    pub fn order_by<K: IntoOrdering<S, I>, I>(mut self, key: K) -> Self {
        self.parts.order.push(key.into_ordering());
        self
    }

    super::limit_offset_methods!(" of the whole union");

    /// Runs the union and returns every row.
    pub fn all<'e, E>(self, exec: E) -> Pending<'e, Vec<O>>
    where
        E: Executor<'e, M::Connection> + 'e,
        M::Connection: ConnectionName,
    {
        let (parts, decode) = (self.parts, self.decode);
        Pending::new(async move {
            let mut op = read_of::<M>();
            let mut tables = Vec::new();
            for member in &parts.members {
                super::tables_read(&member.parts, &mut tables);
            }
            op.tables = tables.into();
            let mut session = exec.__session(&op).await?;
            let (sql, args) = render::union(session.backend(), &parts)?;
            session.fetch_all(&op, sql_owned(sql), args, decode).await
        })
    }

    /// Runs the union and returns its first row, if any.
    pub fn first<'e, E>(mut self, exec: E) -> Pending<'e, Option<O>>
    where
        E: Executor<'e, M::Connection> + 'e,
    {
        self.parts.limit = Some(1);
        let rows = self.all(exec);
        Pending::new(async move { Ok(rows.await?.into_iter().next()) })
    }

    /// Runs the union and returns its first row, or [`Error::NotFound`].
    pub fn one<'e, E>(self, exec: E) -> Pending<'e, O>
    where
        E: Executor<'e, M::Connection> + 'e,
    {
        let first = self.first(exec);
        Pending::new(async move { first.await?.ok_or(Error::NotFound { model: M::NAME }) })
    }
}
