//! Joins: queries over several models related by relations, on one connection.
//!
//! `Order::query().join(order::customer)` selects `(Order, Customer)` rows;
//! filters, sort keys, groupings and selections may use the columns of every
//! joined model (which model a column belongs to is checked at compile time;
//! see [`scope`](super::scope)). Joins chain: `Track::query()
//! .join(track::album).join(album::artist)` gives `(Track, Album, Artist)`
//! rows, up to six tables. `left_join` keeps rows without a match and gives
//! an `Option` of the joined model. A relation that leads back to a table
//! the query has already (a self-join: employee and manager) is joined
//! under an [`Alias`] with `join_as`. A many-to-many relation joins its
//! join table and the related table in one call.
//!
//! A join may take a row lock (`for_update()`, `for_share()`, before or
//! after the join): it locks the rows of every joined table. A `left_join`
//! with a lock is refused with [`Error::InvalidQuery`](crate::Error) before
//! anything is sent, on every backend, since PostgreSQL cannot lock the
//! nullable side of an outer join.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! use orm::prelude::*;
//!
//! #[orm::model]
//! #[derive(Clone, Debug)]
//! pub struct Artist { #[orm(primary_key, auto)] pub id: i64, pub name: String }
//! #[orm::model]
//! #[derive(Clone, Debug)]
//! pub struct Album {
//!     #[orm(primary_key, auto)] pub id: i64,
//!     #[orm(belongs_to = Artist)] pub artist_id: i64,
//!     pub title: String,
//! }
//! #[orm::model]
//! #[derive(Clone, Debug)]
//! pub struct Track {
//!     #[orm(primary_key, auto)] pub id: i64,
//!     #[orm(belongs_to = Album)] pub album_id: i64,
//!     pub seconds: i64,
//! }
//!
//! let db = orm::Database::connect("sqlite::memory:").await?;
//! db.create_table::<Artist>().await?;
//! db.create_table::<Album>().await?;
//! db.create_table::<Track>().await?;
//! let nina = Artist::create(&db, Artist { id: 0, name: "Nina".into() }).await?;
//! let album = Album::create(&db, Album { id: 0, artist_id: nina.id, title: "Pastel".into() }).await?;
//! for seconds in [200, 300] {
//!     Track::create(&db, Track { id: 0, album_id: album.id, seconds }).await?;
//! }
//!
//! // SELECT "artists"."name", SUM("tracks"."seconds") FROM "tracks"
//! //   INNER JOIN "albums" ON "tracks"."album_id" = "albums"."id"
//! //   INNER JOIN "artists" ON "albums"."artist_id" = "artists"."id"
//! //   GROUP BY "artists"."name"
//! let per_artist = Track::query()
//!     .join(track::album)
//!     .join(album::artist)
//!     .group_by(artist::name)
//!     .select((artist::name, track::seconds.sum()))
//!     .all(&db)
//!     .await?;
//! assert_eq!(per_artist, [("Nina".to_string(), Some(500))]);
//! # Ok(()) }
//! ```

// The `async` methods here are written as `fn ... -> impl Future + Send`:
// spelled out, `Send` lets callers spawn them; left to `async fn`, rustc
// cannot prove it for futures that hold a generic executor.
#![allow(clippy::manual_async_fn)]

use super::expr::{CompareOp, Node};
use super::scope::{Alias, InScope, Push, PushRow};
use super::{JoinClause, Select};
use crate::model::Model;
use crate::relations::Joinable;

/// Models on connection `C`: an SQL join needs both models on one.
/// Implemented by `#[orm::model]` for the model's own connection. `C` is
/// not bounded by [`ConnectionName`](crate::ConnectionName) here (`Model::Connection` is): a
/// `connection = ...` that is not a connection is reported once, there.
#[diagnostic::on_unimplemented(
    message = "`{Self}` lives on another connection than this query's, `{C}`: an SQL join cannot cross connections",
    label = "joined model on another connection",
    note = "load the relation instead (`relation.load(&rows, &db)`, or its accessor on one row): that runs a second query on the other model's connection"
)]
pub trait OnConnection<C> {}

/// Model `Self`, where relation `R` starts, is among the sources `S` of
/// the query that joins `R`. `I` says where, and is inferred.
#[diagnostic::on_unimplemented(
    message = "`{R}` is a relation of `{Self}`, which is not one of the tables of this query (`{S}`)",
    label = "a relation of `{Self}`, not of a table this query has",
    note = "join a relation of the queried model or of a model joined before (`.join(relation)` follows it from that model's rows); to follow `{R}`, first join a relation that leads to `{Self}`, or start the query from it: `{Self}::query().join(..)`"
)]
pub trait JoinStart<S, I, R> {}
impl<X: InScope<S, I>, S, I, R> JoinStart<S, I, R> for X {}

/// The node `node` with its table renamed to `alias`.
fn aliased(node: Node, alias: Option<&'static str>) -> Node {
    match (node, alias) {
        (Node::Column { name, .. }, Some(alias)) => Node::Column { table: alias, name },
        (node, _) => node,
    }
}

impl<M: Model, O: Send + 'static, L, S, G> Select<M, O, L, S, G> {
    /// Joins the tables `relation` goes through. `from_alias` is the name
    /// the relation's own side is read under when that is an alias joined
    /// before (`join_from_as`); `alias` the name the related model is read
    /// under.
    fn joined<R: Joinable, X, O2, S2>(
        mut self,
        relation: R,
        left_join: bool,
        from_alias: Option<&'static str>,
        alias: Option<&'static str>,
    ) -> Select<M, O2, L, S2, G>
    where
        O: PushRow<X, Out = O2>,
    {
        self.parts.columns = None;
        let steps = relation.__joins();
        let count = steps.len();
        for (i, (schema, model, (from, to))) in steps.into_iter().enumerate() {
            // Only the first table is reached from the relation's own side;
            // only the last is the related model, read under the alias.
            let from = if i == 0 {
                aliased(from, from_alias)
            } else {
                from
            };
            let last = i + 1 == count;
            let alias = if last { alias } else { None };
            self.parts.joins.push(JoinClause {
                left_join,
                model,
                schema,
                alias,
                cte: None,
                selected: last,
                on: Node::Compare(CompareOp::Eq, Box::new(from), Box::new(aliased(to, alias))),
            });
        }
        super::reshape(self.parts, <O as PushRow<X>>::decode)
    }

    /// Joins the related model (`INNER JOIN`): rows gain the related model
    /// (`(M, To)`, then `(M, To, Next)` for a second join), and filters,
    /// sort keys, groupings and selections may use its columns. `relation`
    /// starts from the queried model or from one joined before; both ends
    /// live on one connection (a compile error otherwise). Call it before
    /// `select`. Joining a table the query has already needs an alias
    /// ([`join_as`](Self::join_as)): without one, running the query fails
    /// with [`Error::InvalidQuery`](crate::Error::InvalidQuery) before
    /// anything is sent.
    #[allow(clippy::type_complexity)] // the row and source types, spelled out for the docs
    pub fn join<R, I>(
        self,
        relation: R,
    ) -> Select<M, <O as PushRow<R::To>>::Out, L, <S as Push<R::To>>::Out, G>
    where
        R: Joinable,
        R::From: JoinStart<S, I, R>,
        R::To: OnConnection<M::Connection>,
        O: PushRow<R::To>,
        S: Push<R::To>,
    {
        self.joined::<R, R::To, _, _>(relation, false, None, None)
    }

    /// Joins the related model keeping rows without a match (`LEFT JOIN`):
    /// rows gain an `Option` of it, `None` where nothing matched.
    #[allow(clippy::type_complexity)]
    pub fn left_join<R, I>(
        self,
        relation: R,
    ) -> Select<M, <O as PushRow<Option<R::To>>>::Out, L, <S as Push<R::To>>::Out, G>
    where
        R: Joinable,
        R::From: JoinStart<S, I, R>,
        R::To: OnConnection<M::Connection>,
        O: PushRow<Option<R::To>>,
        S: Push<R::To>,
    {
        self.joined::<R, Option<R::To>, _, _>(relation, true, None, None)
    }

    /// Joins the related model under `alias` (`INNER JOIN "table" AS
    /// "alias"`): for a self-join (an employee's manager is an employee)
    /// or a second join of one table. Its columns are read through the
    /// alias: `Manager.column(employee::name)`. See [`Alias`].
    #[allow(clippy::type_complexity)]
    pub fn join_as<R, A, I>(
        self,
        relation: R,
        alias: A,
    ) -> Select<M, <O as PushRow<R::To>>::Out, L, <S as Push<A>>::Out, G>
    where
        R: Joinable,
        R::From: JoinStart<S, I, R>,
        R::To: OnConnection<M::Connection>,
        A: Alias<Model = R::To>,
        O: PushRow<R::To>,
        S: Push<A>,
    {
        let _ = alias;
        self.joined::<R, R::To, _, _>(relation, false, None, Some(A::NAME))
    }

    /// Joins from an alias joined before: `relation` followed from the rows
    /// of `from` (not from the model's own table), the related model read
    /// under `alias`. Two levels of a self-reference: `.join_as(employee::
    /// manager, Manager).join_from_as(Manager, employee::manager, GrandManager)`.
    #[allow(clippy::type_complexity)]
    pub fn join_from_as<F, R, A, I>(
        self,
        from: F,
        relation: R,
        alias: A,
    ) -> Select<M, <O as PushRow<R::To>>::Out, L, <S as Push<A>>::Out, G>
    where
        F: Alias<Model = R::From> + InScope<S, I>,
        R: Joinable,
        R::To: OnConnection<M::Connection>,
        A: Alias<Model = R::To>,
        O: PushRow<R::To>,
        S: Push<A>,
    {
        let _ = (from, alias);
        self.joined::<R, R::To, _, _>(relation, false, Some(F::NAME), Some(A::NAME))
    }

    /// [`join_as`](Self::join_as) keeping rows without a match (`LEFT JOIN
    /// "table" AS "alias"`): rows gain an `Option` of the related model.
    #[allow(clippy::type_complexity)]
    pub fn left_join_as<R, A, I>(
        self,
        relation: R,
        alias: A,
    ) -> Select<M, <O as PushRow<Option<R::To>>>::Out, L, <S as Push<A>>::Out, G>
    where
        R: Joinable,
        R::From: JoinStart<S, I, R>,
        R::To: OnConnection<M::Connection>,
        A: Alias<Model = R::To>,
        O: PushRow<Option<R::To>>,
        S: Push<A>,
    {
        let _ = alias;
        self.joined::<R, Option<R::To>, _, _>(relation, true, None, Some(A::NAME))
    }
}
