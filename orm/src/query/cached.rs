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

use std::marker::PhantomData;
use std::time::Duration;

use super::grouping::ValidGrouping;
use super::lock::Unlocked;
use super::{fetch_all, fetch_first, read_op, render, Select};
use crate::connection::conn::sql_owned;
use crate::error::Result;
use crate::model::types::FieldType;
use crate::model::Model;
use crate::routing::{Cacheable, Executor};

/// A query whose results are cached; see [`Select::cached`]. Ends in
/// [`all`](Cached::all), [`first`](Cached::first) or
/// [`count`](Cached::count), like the query.
#[must_use = "a query does nothing until it is run with `all`, `first` or `count`"]
pub struct Cached<M: Model, O, S, G> {
    select: Select<M, O, super::NoLock, S, G>,
    ttl: Option<Duration>,
    _types: PhantomData<fn() -> (M, S, G)>,
}

impl<M: Model, O: Send + 'static, L: Unlocked, S, G> Select<M, O, L, S, G> {
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
    pub fn cached(self) -> Cached<M, O, S, G> {
        self.cached_with(None)
    }

    /// [`cached`](Self::cached), with entries kept for `ttl` instead of
    /// the cache's default.
    pub fn cached_for(self, ttl: Duration) -> Cached<M, O, S, G> {
        self.cached_with(Some(ttl))
    }

    fn cached_with(self, ttl: Option<Duration>) -> Cached<M, O, S, G> {
        Cached {
            select: super::reshape(self.parts, self.decode),
            ttl,
            _types: PhantomData,
        }
    }
}

impl<M: Model, O: Send + 'static, S, G> Cached<M, O, S, G> {
    /// Every row: from the cache, or from the database (then cached).
    pub fn all<'e, E, GI>(
        self,
        exec: E,
    ) -> impl std::future::Future<Output = Result<Vec<O>>> + Send + 'e
    where
        E: Executor<'e, M::Connection> + 'e,
        G: ValidGrouping<GI>,
        O: Cacheable,
    {
        let (parts, decode, ttl) = (self.select.parts, self.select.decode, self.ttl);
        async move {
            let Some(route) = exec.__cache_route() else {
                return fetch_all::<M, O, E>(parts, decode, exec).await;
            };
            let op = &read_op::<M>(&parts);
            route
                .read(
                    op,
                    ttl,
                    |backend| {
                        let (sql, args, key) =
                            render::select_keyed::<M>(backend, &parts, Some(Vec::new()))?;
                        Ok((sql_owned(sql), args, key.unwrap_or_default()))
                    },
                    |mut session, sql, args| async move {
                        session.fetch_all(op, sql, args, decode).await
                    },
                )
                .await
        }
    }

    /// The first row, if any: from the cache, or from the database.
    pub fn first<'e, E, GI>(
        self,
        exec: E,
    ) -> impl std::future::Future<Output = Result<Option<O>>> + Send + 'e
    where
        E: Executor<'e, M::Connection> + 'e,
        G: ValidGrouping<GI>,
        O: Cacheable,
    {
        let (mut parts, decode, ttl) = (self.select.parts, self.select.decode, self.ttl);
        async move {
            let Some(route) = exec.__cache_route() else {
                return fetch_first::<M, O, E>(parts, decode, exec).await;
            };
            parts.limit = Some(1);
            let op = &read_op::<M>(&parts);
            route
                .read(
                    op,
                    ttl,
                    |backend| {
                        let (sql, args, key) =
                            render::select_keyed::<M>(backend, &parts, Some(Vec::new()))?;
                        Ok((sql_owned(sql), args, key.unwrap_or_default()))
                    },
                    |mut session, sql, args| async move {
                        session.fetch_optional(op, sql, args, decode).await
                    },
                )
                .await
        }
    }

    /// How many rows the query returns: from the cache, or from the
    /// database.
    pub fn count<'e, E>(self, exec: E) -> impl std::future::Future<Output = Result<i64>> + Send + 'e
    where
        E: Executor<'e, M::Connection> + 'e,
    {
        let (parts, ttl) = (self.select.parts, self.ttl);
        async move {
            let Some(route) = exec.__cache_route() else {
                return super::count_rows::<M, E>(parts, exec).await;
            };
            let op = &read_op::<M>(&parts);
            route
                .read(
                    op,
                    ttl,
                    |backend| {
                        let (sql, args, key) =
                            render::count_keyed::<M>(backend, &parts, Some(Vec::new()))?;
                        Ok((sql_owned(sql), args, key.unwrap_or_default()))
                    },
                    |mut session, sql, args| async move {
                        session
                            .fetch_optional(op, sql, args, |row| i64::decode(row, 0))
                            .await
                            .map(|n| n.unwrap_or(0))
                    },
                )
                .await
        }
    }
}
