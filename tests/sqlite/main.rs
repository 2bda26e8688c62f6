//! The suite on SQLite: always runs, each test on its own temporary file.

use orm_tests::{Kind, TestDb};

pub const KIND: Kind = Kind::Sqlite;

pub async fn db() -> Option<TestDb> {
    Some(TestDb::sqlite().await)
}

mod cache;
mod cache_redis;
mod cancellation;
mod catalog;
mod connections;
mod crud;
mod defaults;
mod diagram;
mod dsl;
mod errors;
mod lists_and_nulls;
mod locks;
mod migrate;
mod pagination;
mod pool;
mod query;
mod relations;
mod replicas;
mod retry;
mod saga;
mod seed;
mod streaming;
mod tracing;
mod transactions;
mod types;
mod upsert;
mod values;
