//! A connection of a test's own to its test database, outside the ORM: to
//! see what another session sees, to hold locks, or to change the schema
//! behind the ORM's back.

use sqlx::Connection;

use crate::{Kind, TestDb};

/// One driver connection to the test database, kept open.
pub enum Direct {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
}

impl TestDb {
    /// A connection of the test's own to its database, outside the ORM.
    pub async fn direct(&self) -> Direct {
        match self.kind {
            Kind::Sqlite => {
                Direct::Sqlite(sqlx::SqliteConnection::connect(&self.url).await.unwrap())
            }
            Kind::Postgres => {
                Direct::Postgres(sqlx::PgConnection::connect(&self.url).await.unwrap())
            }
            Kind::MySql => Direct::MySql(sqlx::MySqlConnection::connect(&self.url).await.unwrap()),
        }
    }
}

impl Direct {
    /// Runs SQL (several statements allowed) and returns the rows changed.
    pub async fn execute(&mut self, sql: &str) -> Result<u64, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Direct::Sqlite(c) => sqlx::raw_sql(sql)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()),
            Direct::Postgres(c) => sqlx::raw_sql(sql)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()),
            Direct::MySql(c) => sqlx::raw_sql(sql)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()),
        }
    }

    /// The first column of the first row of `sql`, an integer.
    pub async fn scalar(&mut self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Direct::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(&mut *c).await.unwrap(),
            Direct::Postgres(c) => sqlx::query_scalar(sql).fetch_one(&mut *c).await.unwrap(),
            Direct::MySql(c) => sqlx::query_scalar(sql).fetch_one(&mut *c).await.unwrap(),
        }
    }

    /// The first column of the first row of `sql`, a text.
    pub async fn text(&mut self, sql: &str) -> String {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Direct::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(&mut *c).await.unwrap(),
            Direct::Postgres(c) => sqlx::query_scalar(sql).fetch_one(&mut *c).await.unwrap(),
            Direct::MySql(c) => sqlx::query_scalar(sql).fetch_one(&mut *c).await.unwrap(),
        }
    }
}
