//! The suite on MySQL/MariaDB: runs when `ORM_TEST_MYSQL_URL` is set, each
//! test in its own database.

use orm_tests::{Kind, TestDb};

pub const KIND: Kind = Kind::MySql;

pub async fn db() -> Option<TestDb> {
    TestDb::mysql().await
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
mod pool;
mod query;
mod relations;
mod replicas;
mod replication;
mod retry;
mod saga;
mod seed;
mod streaming;
mod tracing;
mod transactions;
mod types;
mod upsert;
mod values;
