//! The in-process store: a [`moka`] cache bounded in bytes (keys and values
//! weighed), each entry expiring after its own TTL, and the tables'
//! versions in a map beside it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::store::{BoxFuture, Store, StoreUsage};
use crate::error::Result;

/// One cached result and how long it may be served.
#[derive(Clone)]
struct Entry {
    value: Arc<[u8]>,
    ttl: Duration,
}

/// Each entry lives for the TTL it was stored with (moka's per-entry
/// expiration, `Expiry::expire_after_create`).
struct PerEntryTtl;

impl moka::Expiry<Vec<u8>, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _key: &Vec<u8>, entry: &Entry, _at: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// The default store: results in this process's memory.
pub(crate) struct MemoryStore {
    entries: moka::future::Cache<Vec<u8>, Entry>,
    /// Per connection, per table: how many times it was invalidated.
    versions: Mutex<HashMap<String, HashMap<String, u64>>>,
}

impl MemoryStore {
    /// A store holding at most `max_bytes` of keys and values: past it,
    /// moka evicts the entries least likely to be used again (TinyLFU).
    pub(crate) fn new(max_bytes: u64) -> MemoryStore {
        MemoryStore {
            entries: moka::future::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|key: &Vec<u8>, entry: &Entry| {
                    u32::try_from(key.len() + entry.value.len()).unwrap_or(u32::MAX)
                })
                .expire_after(PerEntryTtl)
                .build(),
            versions: Mutex::default(),
        }
    }

    fn versions_now(&self, connection: &str, tables: &[&str]) -> Vec<u64> {
        let versions = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        let of = versions.get(connection);
        tables
            .iter()
            .map(|t| of.and_then(|m| m.get(*t)).copied().unwrap_or(0))
            .collect()
    }
}

impl Store for MemoryStore {
    fn versions<'a>(
        &'a self,
        connection: &'a str,
        tables: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<u64>>> {
        let versions = self.versions_now(connection, tables);
        Box::pin(std::future::ready(Ok(versions)))
    }

    fn get<'a>(&'a self, key: &'a [u8]) -> BoxFuture<'a, Result<Option<Arc<[u8]>>>> {
        Box::pin(async move { Ok(self.entries.get(key).await.map(|e| e.value)) })
    }

    fn put<'a>(
        &'a self,
        key: &'a [u8],
        value: Arc<[u8]>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.entries
                .insert(key.to_vec(), Entry { value, ttl })
                .await;
            Ok(())
        })
    }

    fn invalidate<'a>(
        &'a self,
        connection: &'a str,
        tables: &'a [&'a str],
    ) -> BoxFuture<'a, Result<()>> {
        {
            // Names are copied only the first time: every write outside a
            // transaction comes here.
            let mut versions = self.versions.lock().unwrap_or_else(|e| e.into_inner());
            if !versions.contains_key(connection) {
                versions.insert(connection.to_owned(), HashMap::new());
            }
            let of = versions.get_mut(connection).expect("inserted above");
            for table in tables {
                match of.get_mut(*table) {
                    Some(version) => *version += 1,
                    None => {
                        of.insert((*table).to_owned(), 1);
                    }
                }
            }
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn usage(&self) -> StoreUsage {
        StoreUsage {
            entries: Some(self.entries.entry_count()),
            bytes: Some(self.entries.weighted_size()),
        }
    }
}
