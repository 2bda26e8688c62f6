//! Replication that the tests start themselves: private PostgreSQL and
//! MariaDB primaries with replicas (`orm_tests::replication`,
//! `orm_tests::mariadb_cluster`), never the shared servers. These tests
//! check the harness with sqlx alone; the read-replica tests of the ORM
//! (issue 13) build on it.

mod harness;
