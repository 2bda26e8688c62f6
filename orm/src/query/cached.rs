//! Cached queries: [`Select::cached`] and [`Select::cached_for`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! use orm::prelude::*;
//!
//! #[orm::model]
//! #[derive(serde::Serialize, serde::Deserialize)]
//! pub struct Product {
//!     #[orm(primary_key, auto)]
//!     pub id: i64,
//!     pub name: String,
//! }
//!
//! let db = orm::Database::connect("sqlite::memory:").await?;
//! db.create_table::<Product>().await?;
//! Product::create(&db, Product { id: 0, name: "lamp".into() }).await?;
//!
//! let query = || Product::query().filter(product::name.eq("lamp")).cached();
//! assert_eq!(query().all(&db).await?.len(), 1); // runs the query
//! assert_eq!(query().all(&db).await?.len(), 1); // from the cache
//! assert_eq!(db.cache_metrics().hits, 1);
//!
//! Product::create(&db, Product { id: 0, name: "lamp".into() }).await?; // invalidates `products`
//! assert_eq!(query().all(&db).await?.len(), 2);
//! # Ok(()) }
//! ```

use std::time::Duration;

use super::grouping::ValidGrouping;
use super::lock::NoLock;
use sqlx::SqlStr;

use super::{fetch_all, read_op, render, Parts, Select};
use crate::backend::Backend;
use crate::connection::conn::sql_owned;
use crate::connection::driver::Args;
use crate::error::Result;
use crate::model::types::FieldType;
use crate::model::Model;
use crate::routing::cache::Codec;
use crate::routing::{Cacheable, Executor, Pending};

/// A query whose results are cached; see [`Select::cached`]. Ends in
/// [`all`](Cached::all), [`first`](Cached::first) or
/// [`count`](Cached::count), like the query.
#[must_use = "a query does nothing until it is run with `all`, `first` or `count`"]
pub struct Cached<M: Model, O, S, G> {
    select: Select<M, O, super::NoLock, S, G>,
    ttl: Option<Duration>,
}

/// Lock states of a query that may be cached: none. `cached()` requires it,
/// so that caching a locking query is reported as that.
#[diagnostic::on_unimplemented(
    message = "a query that takes a row lock cannot be cached",
    label = "`cached()` of a query with `for_update()` or `for_share()`",
    note = "a row lock is taken by running the query in a transaction, and a transaction's reads never use the cache: remove `.cached()` to lock the rows, or the lock to cache the result"
)]
pub trait CacheableLock {}

impl CacheableLock for NoLock {}

impl<M: Model, O: Send + 'static, L, S, G> Select<M, O, L, S, G> {
    /// Caches the query's results for the cache's default TTL
    /// ([`CacheOptions::default_ttl`](crate::CacheOptions::default_ttl),
    /// 60 s unless set), keyed by its SQL, its bound values and the
    /// connection. A write through the ORM to any table the query reads
    /// (its model's, its joins', its subqueries') makes the entry stale at
    /// once after it is stored (after the commit, inside a transaction);
    /// a write that bypasses the ORM only when the TTL passes. The rows
    /// must be [`Cacheable`] (serde `Serialize` and `Deserialize`).
    ///
    /// Run with `&Database` or a [`Call`](crate::Call): inside a
    /// transaction the query goes to the database, uncached. On a
    /// connection with replicas, a miss reads the primary. See the
    /// README's "Query cache".
    pub fn cached(self) -> Cached<M, O, S, G>
    where
        L: CacheableLock,
    {
        self.cached_with(None)
    }

    /// [`cached`](Self::cached), with entries kept for `ttl` instead of
    /// the cache's default.
    pub fn cached_for(self, ttl: Duration) -> Cached<M, O, S, G>
    where
        L: CacheableLock,
    {
        self.cached_with(Some(ttl))
    }

    fn cached_with(self, ttl: Option<Duration>) -> Cached<M, O, S, G> {
        Cached {
            select: super::reshape(self.parts, self.decode),
            ttl,
        }
    }
}

impl<M: Model, O: Send + 'static, S, G> Cached<M, O, S, G> {
    /// Every row: from the cache, or from the database (then cached).
    pub fn all<'e, E, GI>(self, exec: E) -> Pending<'e, Vec<O>>
    where
        E: Executor<'e, M::Connection> + 'e,
        G: ValidGrouping<GI>,
        O: Cacheable,
    {
        Pending::new(self.rows(exec))
    }

    /// The first row, if any: from the cache, or from the database.
    pub fn first<'e, E, GI>(mut self, exec: E) -> Pending<'e, Option<O>>
    where
        E: Executor<'e, M::Connection> + 'e,
        G: ValidGrouping<GI>,
        O: Cacheable,
    {
        self.select.parts.limit = Some(1);
        let rows = self.rows(exec);
        Pending::new(async move { Ok(rows.await?.into_iter().next()) })
    }

    /// The rows of [`all`](Self::all) and [`first`](Self::first), as one
    /// future that each boxes once.
    fn rows<'e, E>(self, exec: E) -> impl std::future::Future<Output = Result<Vec<O>>> + Send + 'e
    where
        E: Executor<'e, M::Connection> + 'e,
        O: Cacheable,
    {
        let (parts, decode, ttl) = (self.select.parts, self.select.decode, self.ttl);
        async move {
            let Some(route) = exec.__cache_route() else {
                return fetch_all::<M, O, E>(parts, decode, exec).await;
            };
            let op = &read_op::<M>(&parts);
            let render = keyed(render::select_keyed::<M>, &parts);
            route
                .read(
                    op,
                    ttl,
                    Codec::serde(),
                    render,
                    |mut s, sql, args| async move { s.fetch_all(op, sql, args, decode).await },
                )
                .await
        }
    }

    /// How many rows the query returns: from the cache, or from the
    /// database.
    pub fn count<'e, E>(self, exec: E) -> Pending<'e, i64>
    where
        E: Executor<'e, M::Connection> + 'e,
    {
        Pending::new({
            let (parts, ttl) = (self.select.parts, self.ttl);
            async move {
                let Some(route) = exec.__cache_route() else {
                    return super::count_rows::<M, E>(parts, exec).await;
                };
                let op = &read_op::<M>(&parts);
                let render = keyed(render::count_keyed::<M>, &parts);
                route
                    .read(
                        op,
                        ttl,
                        Codec::serde(),
                        render,
                        |mut s, sql, args| async move {
                            let n = s.fetch_optional(op, sql, args, |row| i64::decode(row, 0));
                            n.await.map(|n| n.unwrap_or(0))
                        },
                    )
                    .await
            }
        })
    }
}

/// A rendering of `parts` with `render` that also encodes its bound values
/// for the cache key.
#[allow(clippy::type_complexity)] // a `render::*_keyed` function
fn keyed<'p>(
    render: fn(Backend, &Parts, Option<Vec<u8>>) -> Result<(String, Args, Option<Vec<u8>>)>,
    parts: &'p Parts,
) -> impl FnOnce(Backend) -> Result<(SqlStr, Args, Vec<u8>)> + 'p {
    move |backend| {
        let (sql, args, key) = render(backend, parts, Some(Vec::new()))?;
        Ok((sql_owned(sql), args, key.unwrap_or_default()))
    }
}
