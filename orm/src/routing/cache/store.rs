//! The seam between the query cache and where its entries live: the
//! in-process store ([`memory`](super::memory)) and, behind the `redis`
//! feature, a store shared by several processes.

pub(crate) type BoxFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Entries a store holds and their size, as far as it can tell cheaply.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StoreUsage {
    pub(crate) entries: Option<u64>,
    pub(crate) bytes: Option<u64>,
}

/// Where cached results live. Keys are opaque bytes built by the cache layer (connection name, SQL,
/// bound values, versions of the tables read); values are encoded results.
pub(crate) trait Store: Send + Sync + 'static {
    /// The current version of each of `tables` of `connection`, in order (0: never invalidated).
    fn versions<'a>(
        &'a self,
        connection: &'a str,
        tables: &'a [&'a str],
    ) -> BoxFuture<'a, crate::Result<Vec<u64>>>;
    /// The value stored under `key`, if present and not expired.
    fn get<'a>(
        &'a self,
        key: &'a [u8],
    ) -> BoxFuture<'a, crate::Result<Option<std::sync::Arc<[u8]>>>>;
    /// Stores `value` under `key` for `ttl`.
    fn put<'a>(
        &'a self,
        key: &'a [u8],
        value: std::sync::Arc<[u8]>,
        ttl: std::time::Duration,
    ) -> BoxFuture<'a, crate::Result<()>>;
    /// Bumps the version of each of `tables` of `connection`: entries that read one are never returned again.
    fn invalidate<'a>(
        &'a self,
        connection: &'a str,
        tables: &'a [&'a str],
    ) -> BoxFuture<'a, crate::Result<()>>;
    /// Entries held and bytes used (keys and values).
    fn usage(&self) -> StoreUsage;
}
