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
    ///
    /// Sent as a simple (text) query: a prepared statement per distinct SQL
    /// text would fill sqlx's statement cache, and on MySQL each eviction
    /// (`COM_STMT_CLOSE`, which has no reply, then the next command) waits
    /// on TCP's delayed acknowledgement, about 40 ms, since sqlx does not
    /// set `TCP_NODELAY`.
    pub async fn scalar(&mut self, sql: &str) -> i64 {
        use sqlx::Row;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Direct::Sqlite(c) => sqlx::raw_sql(sql).fetch_one(&mut *c).await.unwrap().get(0),
            Direct::Postgres(c) => sqlx::raw_sql(sql).fetch_one(&mut *c).await.unwrap().get(0),
            Direct::MySql(c) => sqlx::raw_sql(sql).fetch_one(&mut *c).await.unwrap().get(0),
        }
    }

    /// The first column of the first row of `sql`, a text (a simple query,
    /// as [`scalar`](Self::scalar)).
    pub async fn text(&mut self, sql: &str) -> String {
        use sqlx::Row;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Direct::Sqlite(c) => sqlx::raw_sql(sql).fetch_one(&mut *c).await.unwrap().get(0),
            Direct::Postgres(c) => sqlx::raw_sql(sql).fetch_one(&mut *c).await.unwrap().get(0),
            Direct::MySql(c) => sqlx::raw_sql(sql).fetch_one(&mut *c).await.unwrap().get(0),
        }
    }
}
