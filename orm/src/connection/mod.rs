//! The bottom layer: one database connection and the pool that holds it.
//!
//! Everything here is about connections, never about models: the driver
//! values that cross the backend boundary ([`driver`]), opening a connection
//! from a URL ([`connect`]), running one statement on a pooled connection
//! ([`conn`]), the pool itself ([`pool`]), transaction control with
//! savepoints ([`transaction`]), and sorting driver errors into the crate's
//! [`Error`](crate::Error) kinds ([`classify`]).
//!
//! Nothing in this folder imports the layers above it (routing, models,
//! queries, relations, migrations); they reach a connection only through
//! the routing layer.

pub(crate) mod classify;
pub(crate) mod conn;
pub(crate) mod connect;
pub(crate) mod driver;
pub(crate) mod metrics;
pub(crate) mod pool;
pub(crate) mod replication;
pub(crate) mod retry;
pub(crate) mod transaction;
