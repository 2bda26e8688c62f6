//! Between an operation and a pool: the [`Database`] handle and its named
//! connections, the executors operations take, transactions, and the
//! [`Session`] through which every statement is sent.
//!
//! An operation describes itself ([`Operation`]: its connection, read or
//! write, its tables) and routing picks the connection for it. Routing never
//! renders SQL and never reads it; the layers above (models, queries,
//! relations, migrations) render, and the layer below (`connection/`) runs.

pub(crate) mod cache;
pub(crate) mod consistency;
pub(crate) mod database;
pub(crate) mod executor;
pub(crate) mod names;
pub(crate) mod replicas;
pub(crate) mod session;
pub(crate) mod trace;
pub(crate) mod transaction;

#[cfg(feature = "redis")]
pub use cache::redis::RedisOptions;
pub use cache::{CacheMetrics, CacheOptions, Cacheable};
pub use consistency::CausalToken;
pub use database::{Call, Database, DatabaseBuilder, NamedConnection};
pub use executor::{DatabaseByValue, Executor, Pending, SameConnection, PENDING_BYTES};
pub use names::{env_prefix, ConnectionName, DefaultConnection, WritableConnection};
pub use replicas::{
    Balancing, BreakerState, ReadYourWrites, ReplicaMetrics, ReplicationMetrics, ReplicationOptions,
};
pub use session::{Access, Operation, Session};
pub use trace::TRACED_PARAMETERS;
pub use transaction::{Savepoint, Transaction};
