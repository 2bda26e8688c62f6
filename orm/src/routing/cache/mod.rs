//! The query cache (work in progress).

#[cfg(feature = "redis")]
pub(crate) mod redis;
pub(crate) mod store;
