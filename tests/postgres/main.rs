//! The suite on PostgreSQL: runs when `ORM_TEST_POSTGRES_URL` is set, each
//! test in its own schema.

use orm_tests::{Kind, TestDb};

pub const KIND: Kind = Kind::Postgres;

pub async fn db() -> Option<TestDb> {
    TestDb::postgres().await
}

mod cache;
mod cache_redis;
mod cancellation;
mod catalog;
mod connections;
mod crud;
mod defaults;
mod dsl;
mod errors;
mod lists_and_nulls;
mod locks;
mod migrate;
mod pagination;
mod pgbouncer;
mod pool;
mod query;
mod relations;
mod replicas;
mod replication;
mod restart;
mod retry;
mod retry_restart;
mod saga;
mod seed;
mod streaming;
mod tracing;
mod transactions;
mod types;
mod upsert;
mod values;
