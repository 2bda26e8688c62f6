//! Applying migrations and recording them, per connection.
//!
//! Each connection keeps a table `orm_migrations` (name, checksum, batch,
//! time, failed). [`run`] applies the pending migrations of a list in order,
//! as one batch, each in its own transaction where the backend allows DDL in
//! transactions; [`rollback`] undoes the last batch (or the last N);
//! [`status`] says what is applied. A migration applied earlier whose
//! definition changed, or that is missing from the list, makes `run` refuse.
//! PostgreSQL and MySQL runs hold a lock for their whole length, so two
//! processes never apply the same migration; on SQLite the database's write
//! lock and the table's primary key do the same.

use serde::{Deserialize, Serialize};

use super::Operation;
use crate::backend::Backend;
use crate::conn::sql_owned;
use crate::driver::Args;
use crate::error::{Error, Result};
use crate::pool::PooledConn;
use crate::types::{FieldType, Value};
use crate::Database;

/// One migration: its steps forward and back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Migration {
    /// A unique name that sorts in application order, e.g. `0001_create_users`.
    pub name: String,
    /// The steps that apply it.
    pub up: Vec<Operation>,
    /// The steps that undo it.
    pub down: Vec<Operation>,
}

impl Migration {
    /// A fingerprint of the steps: an applied migration whose steps change is
    /// refused. FNV-1a over the JSON form, stable across builds.
    pub fn checksum(&self) -> String {
        let text = serde_json::to_string(&(&self.up, &self.down)).unwrap_or_default();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in text.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

/// What the connection's table says of one migration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The migration's name.
    pub name: String,
    /// Its checksum when it was applied.
    pub checksum: String,
    /// The batch (run) that applied it.
    pub batch: i64,
    /// When, in UTC (RFC 3339).
    pub applied_at: String,
    /// Whether it failed half-way (MySQL, where DDL cannot be rolled back).
    pub failed: bool,
}

const TABLE: &str = "orm_migrations";

fn placeholder(backend: Backend, n: usize) -> String {
    let mut s = String::new();
    backend.push_placeholder(&mut s, n);
    s
}

async fn execute(conn: &mut PooledConn, sql: String, values: &[Value]) -> Result<u64> {
    let mut args = Args::new(conn.backend());
    for v in values {
        v.bind(&mut args)?;
    }
    Ok(conn.execute(sql_owned(sql), args).await?.rows_affected)
}

async fn ensure_table(conn: &mut PooledConn) -> Result<()> {
    let b = conn.backend();
    let mut t = String::new();
    b.push_ident(&mut t, TABLE);
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {t} (name VARCHAR(255) NOT NULL PRIMARY KEY, checksum VARCHAR(32) NOT NULL, \
         batch BIGINT NOT NULL, applied_at VARCHAR(40) NOT NULL, failed SMALLINT NOT NULL DEFAULT 0)"
    );
    conn.execute_script(sql_owned(sql)).await
}

async fn applied(conn: &mut PooledConn) -> Result<Vec<Applied>> {
    let mut t = String::new();
    conn.backend().push_ident(&mut t, TABLE);
    let sql = format!("SELECT name, checksum, batch, applied_at, failed FROM {t} ORDER BY name");
    let args = Args::new(conn.backend());
    conn.fetch_all(sql_owned(sql), args, |row| {
        Ok(Applied {
            name: String::decode(row, 0)?,
            checksum: String::decode(row, 1)?,
            batch: i64::decode(row, 2)?,
            applied_at: String::decode(row, 3)?,
            failed: i16::decode(row, 4)? != 0,
        })
    })
    .await
}

async fn record(conn: &mut PooledConn, m: &Migration, batch: i64, failed: bool) -> Result<()> {
    let b = conn.backend();
    let mut t = String::new();
    b.push_ident(&mut t, TABLE);
    let sql = format!(
        "INSERT INTO {t} (name, checksum, batch, applied_at, failed) VALUES ({}, {}, {}, {}, {})",
        placeholder(b, 1),
        placeholder(b, 2),
        placeholder(b, 3),
        placeholder(b, 4),
        placeholder(b, 5)
    );
    let now = now_rfc3339();
    execute(
        conn,
        sql,
        &[
            Value::Text(m.name.clone()),
            Value::Text(m.checksum()),
            Value::I64(batch),
            Value::Text(now),
            Value::I16(i16::from(failed)),
        ],
    )
    .await
    .map(drop)
}

fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Days since the epoch to a civil date (Howard Hinnant's algorithm).
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Takes the migration lock for this session (PostgreSQL, MySQL).
async fn lock(conn: &mut PooledConn) -> Result<()> {
    let sql = match conn.backend() {
        Backend::Postgres => "SELECT pg_advisory_lock(7316257)",
        Backend::MySql => "SELECT GET_LOCK('orm_migrations', 600)",
        Backend::Sqlite => return Ok(()),
    };
    let args = Args::new(conn.backend());
    conn.fetch_optional(sql_owned(sql.to_owned()), args, |_| Ok(()))
        .await
        .map(drop)
}

async fn unlock(conn: &mut PooledConn) -> Result<()> {
    let sql = match conn.backend() {
        Backend::Postgres => "SELECT pg_advisory_unlock(7316257)",
        Backend::MySql => "SELECT RELEASE_LOCK('orm_migrations')",
        Backend::Sqlite => return Ok(()),
    };
    let args = Args::new(conn.backend());
    conn.fetch_optional(sql_owned(sql.to_owned()), args, |_| Ok(()))
        .await
        .map(drop)
}

async fn writable_conn(db: &Database, connection: &str) -> Result<PooledConn> {
    let pool = db.pool(connection)?;
    if pool.read_only() {
        return Err(Error::Migration {
            message: format!(
                "connection `{connection}` is read-only: read-only connections are never migrated"
            ),
        });
    }
    let mut conn = pool.acquire().await?;
    ensure_table(&mut conn).await?;
    Ok(conn)
}

/// Refuses to go on when the recorded history and the list disagree.
fn check_history(connection: &str, done: &[Applied], migrations: &[Migration]) -> Result<()> {
    for a in done {
        if a.failed {
            return Err(Error::Migration {
                message: format!(
                    "migration `{}` failed half-way on connection `{connection}` (MySQL commits DDL as it goes): \
                     repair the schema by hand, then delete its row from {TABLE}",
                    a.name
                ),
            });
        }
        match migrations.iter().find(|m| m.name == a.name) {
            None => {
                return Err(Error::Migration {
                    message: format!(
                        "migration `{}` is applied on connection `{connection}` but missing from the migrations: restore it",
                        a.name
                    ),
                })
            }
            Some(m) if m.checksum() != a.checksum => {
                return Err(Error::Migration {
                    message: format!(
                        "migration `{}` was edited after it was applied on connection `{connection}`: \
                         restore it, and put the change in a new migration",
                        a.name
                    ),
                })
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Applies the pending migrations of `migrations` (sorted by name) on
/// `connection` as one batch; returns the names applied.
pub async fn run(db: &Database, connection: &str, migrations: &[Migration]) -> Result<Vec<String>> {
    run_reporting(db, connection, migrations, &mut |_, _| {}).await
}

/// [`run`], calling `progress` with each migration's name and duration as it is applied.
pub async fn run_reporting(
    db: &Database,
    connection: &str,
    migrations: &[Migration],
    progress: &mut (dyn FnMut(&str, std::time::Duration) + Send),
) -> Result<Vec<String>> {
    let mut conn = writable_conn(db, connection).await?;
    lock(&mut conn).await?;
    let result = run_locked(&mut conn, connection, migrations, progress).await;
    let unlocked = unlock(&mut conn).await;
    let applied = result?;
    unlocked?;
    Ok(applied)
}

async fn run_locked(
    conn: &mut PooledConn,
    connection: &str,
    migrations: &[Migration],
    progress: &mut (dyn FnMut(&str, std::time::Duration) + Send),
) -> Result<Vec<String>> {
    let done = applied(conn).await?;
    check_history(connection, &done, migrations)?;
    let batch = done.iter().map(|a| a.batch).max().unwrap_or(0) + 1;
    let mut pending: Vec<&Migration> = migrations
        .iter()
        .filter(|m| !done.iter().any(|a| a.name == m.name))
        .collect();
    pending.sort_by(|a, b| a.name.cmp(&b.name));
    let backend = conn.backend();
    let mut names = Vec::new();
    for m in pending {
        let started = std::time::Instant::now();
        let mut statements = Vec::new();
        for op in &m.up {
            statements.extend(op.sql(backend)?);
        }
        if backend == Backend::MySql {
            for sql in statements {
                if let Err(e) = conn.execute_script(sql_owned(sql)).await {
                    record(conn, m, batch, true).await?;
                    return Err(Error::Migration {
                        message: format!("migration `{}` failed and is marked failed: {e}", m.name),
                    });
                }
            }
            record(conn, m, batch, false).await?;
        } else {
            conn.begin().await?;
            let mut outcome = Ok(());
            for sql in statements {
                outcome = conn.execute_script(sql_owned(sql)).await;
                if outcome.is_err() {
                    break;
                }
            }
            if outcome.is_ok() {
                outcome = record(conn, m, batch, false).await;
            }
            match outcome {
                Ok(()) => conn.commit().await?,
                Err(e) => {
                    conn.rollback().await?;
                    return Err(Error::Migration {
                        message: format!("migration `{}` failed and was rolled back: {e}", m.name),
                    });
                }
            }
        }
        progress(&m.name, started.elapsed());
        names.push(m.name.clone());
    }
    Ok(names)
}

/// The SQL that [`run`] would send on `connection` for the pending migrations.
pub async fn pending_sql(
    db: &Database,
    connection: &str,
    migrations: &[Migration],
) -> Result<Vec<(String, Vec<String>)>> {
    let done = status(db, connection).await?;
    let backend = db.backend(connection)?;
    let mut out = Vec::new();
    for m in migrations
        .iter()
        .filter(|m| !done.iter().any(|a| a.name == m.name))
    {
        let mut statements = Vec::new();
        for op in &m.up {
            statements.extend(op.sql(backend)?);
        }
        out.push((m.name.clone(), statements));
    }
    Ok(out)
}

/// Undoes the last batch (`steps: None`) or the last `steps` migrations;
/// returns the names rolled back, last first.
pub async fn rollback(
    db: &Database,
    connection: &str,
    migrations: &[Migration],
    steps: Option<usize>,
) -> Result<Vec<String>> {
    let mut conn = writable_conn(db, connection).await?;
    lock(&mut conn).await?;
    let result = rollback_locked(&mut conn, connection, migrations, steps).await;
    let unlocked = unlock(&mut conn).await;
    let names = result?;
    unlocked?;
    Ok(names)
}

async fn rollback_locked(
    conn: &mut PooledConn,
    connection: &str,
    migrations: &[Migration],
    steps: Option<usize>,
) -> Result<Vec<String>> {
    let mut done = applied(conn).await?;
    check_history(connection, &done, migrations)?;
    done.sort_by(|a, b| (b.batch, &b.name).cmp(&(a.batch, &a.name)));
    let last_batch = done.first().map(|a| a.batch);
    let chosen: Vec<&Applied> = match steps {
        Some(n) => done.iter().take(n).collect(),
        None => done
            .iter()
            .filter(|a| Some(a.batch) == last_batch)
            .collect(),
    };
    let backend = conn.backend();
    let mut t = String::new();
    backend.push_ident(&mut t, TABLE);
    let mut names = Vec::new();
    for a in chosen {
        let Some(m) = migrations.iter().find(|m| m.name == a.name) else {
            continue;
        };
        let mut statements = Vec::new();
        for op in &m.down {
            statements.extend(op.sql(backend)?);
        }
        let transactional = backend != Backend::MySql;
        if transactional {
            conn.begin().await?;
        }
        let mut outcome = Ok(());
        for sql in statements {
            outcome = conn.execute_script(sql_owned(sql)).await;
            if outcome.is_err() {
                break;
            }
        }
        if outcome.is_ok() {
            let sql = format!("DELETE FROM {t} WHERE name = {}", placeholder(backend, 1));
            outcome = execute(conn, sql, &[Value::Text(m.name.clone())])
                .await
                .map(drop);
        }
        match (outcome, transactional) {
            (Ok(()), true) => conn.commit().await?,
            (Ok(()), false) => {}
            (Err(e), true) => {
                conn.rollback().await?;
                return Err(Error::Migration {
                    message: format!("rolling back `{}` failed and was undone: {e}", m.name),
                });
            }
            (Err(e), false) => {
                return Err(Error::Migration {
                    message: format!("rolling back `{}` failed half-way on MySQL: {e}", m.name),
                })
            }
        }
        names.push(m.name.clone());
    }
    Ok(names)
}

/// The migrations recorded as applied on `connection`.
pub async fn status(db: &Database, connection: &str) -> Result<Vec<Applied>> {
    let mut conn = db.pool(connection)?.acquire().await?;
    if !crate::crud::table_exists(&mut conn, TABLE).await? {
        return Ok(Vec::new());
    }
    applied(&mut conn).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_rfc3339() {
        let now = super::now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'), "{now}");
    }
}
