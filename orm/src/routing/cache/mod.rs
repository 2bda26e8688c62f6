//! The query cache (work in progress).

pub(crate) mod store;
