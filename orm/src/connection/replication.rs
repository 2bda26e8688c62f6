//! What a server says of replication: the primary's position after a write,
//! how far a replica has replayed and how far behind it is, and waiting for
//! a replica to reach a position.
//!
//! The statements are fixed, one per backend, and run on a pooled
//! connection like any other (busy marking, classification, cancellation):
//!
//! | | PostgreSQL | MariaDB | MySQL |
//! |---|---|---|---|
//! | position after a write | `pg_current_wal_insert_lsn()` | `@@last_gtid` (else `@@gtid_binlog_pos`) | `@@gtid_executed` |
//! | replayed on a replica | `pg_last_wal_replay_lsn()` | `@@gtid_slave_pos` | `@@gtid_executed` |
//! | lag of a replica | `now() - pg_last_xact_replay_timestamp()`, 0 when all received WAL is replayed | `Seconds_Behind_Master` of `SHOW SLAVE STATUS` | `Seconds_Behind_Source` of `SHOW REPLICA STATUS` |
//! | wait for a position | `pg_last_wal_replay_lsn() >= $1`, polled | `MASTER_GTID_WAIT(pos, timeout)` | `WAIT_FOR_EXECUTED_GTID_SET(set, timeout)` |
//!
//! Sources: PostgreSQL manual, "System Administration Functions" (9.27.4,
//! recovery information functions) and "Hot Standby" (27.4); MariaDB
//! Knowledge Base, "Global Transaction ID" and `MASTER_GTID_WAIT`; MySQL
//! Reference Manual, 19.1.3 "Replication with Global Transaction Identifiers"
//! and 14.18.2 "Functions Used with GTIDs".

use std::fmt;
use std::time::{Duration, Instant};

use super::conn::{sql_static, Fetch, Fetched, Statement};
use super::driver::{add, each_backend, get, Args, DriverArgs, RowRef};
use super::pool::PooledConn;
use crate::backend::Backend;
use crate::error::{Error, Result};

/// A position in a primary's replication stream: what a replica must have
/// replayed to show a given write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Position {
    /// A PostgreSQL write-ahead log location (`pg_lsn`), as a number.
    Lsn(u64),
    /// A MariaDB GTID position: per replication domain, the server id and
    /// the sequence number (`0-1-42,1-2-7`).
    MariaDb(Vec<Gtid>),
    /// A MySQL GTID set (`uuid:1-42,...`), compared by the server only.
    MySql(String),
}

/// One MariaDB global transaction id: `domain-server-sequence`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Gtid {
    pub(crate) domain: u32,
    pub(crate) server: u32,
    pub(crate) sequence: u64,
}

impl Position {
    /// Whether a replica at `self` has replayed everything up to `target`.
    /// `false` when that cannot be told here (MySQL GTID sets): the server
    /// is asked instead.
    pub(crate) fn covers(&self, target: &Position) -> bool {
        match (self, target) {
            (Position::Lsn(a), Position::Lsn(b)) => a >= b,
            (Position::MariaDb(have), Position::MariaDb(want)) => want.iter().all(|w| {
                have.iter()
                    .any(|h| h.domain == w.domain && h.sequence >= w.sequence)
            }),
            (Position::MySql(a), Position::MySql(b)) => a == b,
            _ => false,
        }
    }

    /// The later of two positions of one primary (each domain's later
    /// sequence for MariaDB; the newer for MySQL, whose sets only grow).
    pub(crate) fn max(self, other: Position) -> Position {
        match (self, other) {
            (Position::Lsn(a), Position::Lsn(b)) => Position::Lsn(a.max(b)),
            (Position::MariaDb(mut a), Position::MariaDb(b)) => {
                for g in b {
                    match a.iter_mut().find(|h| h.domain == g.domain) {
                        Some(h) if h.sequence < g.sequence => *h = g,
                        Some(_) => {}
                        None => a.push(g),
                    }
                }
                Position::MariaDb(a)
            }
            (_, newer) => newer,
        }
    }

    /// Parses the text form [`Display`](fmt::Display) writes: `pg:16/B374D848`,
    /// `mariadb:0-1-42,1-2-7`, `mysql:<gtid set>`.
    pub(crate) fn parse(text: &str) -> Option<Position> {
        let (kind, rest) = text.split_once(':')?;
        match kind {
            "pg" => parse_lsn(rest).map(Position::Lsn),
            "mariadb" => parse_gtids(rest).map(Position::MariaDb),
            "mysql" if !rest.is_empty() => Some(Position::MySql(rest.to_owned())),
            _ => None,
        }
    }

    /// The backend that writes positions of this kind.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Position::Lsn(_) => Backend::Postgres,
            Position::MariaDb(_) | Position::MySql(_) => Backend::MySql,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Lsn(lsn) => write!(f, "pg:{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF),
            Position::MariaDb(gtids) => {
                f.write_str("mariadb:")?;
                for (i, g) in gtids.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}-{}-{}", g.domain, g.server, g.sequence)?;
                }
                Ok(())
            }
            Position::MySql(set) => write!(f, "mysql:{set}"),
        }
    }
}

/// PostgreSQL's text form of an LSN: two hexadecimal halves, `16/B374D848`.
fn parse_lsn(text: &str) -> Option<u64> {
    let (high, low) = text.trim().split_once('/')?;
    let high = u32::from_str_radix(high, 16).ok()?;
    let low = u32::from_str_radix(low, 16).ok()?;
    Some((u64::from(high) << 32) | u64::from(low))
}

/// MariaDB's GTID list: `domain-server-sequence`, comma separated; empty
/// when nothing was replicated yet.
fn parse_gtids(text: &str) -> Option<Vec<Gtid>> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut it = part.splitn(3, '-');
        let domain = it.next()?.parse().ok()?;
        let server = it.next()?.parse().ok()?;
        let sequence = it.next()?.parse().ok()?;
        out.push(Gtid {
            domain,
            server,
            sequence,
        });
    }
    Some(out)
}

/// What a replica reports of itself.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReplicaStatus {
    /// How far it has replayed (`None`: it is not replicating).
    pub(crate) position: Option<Position>,
    /// How far behind the primary it is (`None`: unknown, e.g. replication
    /// stopped).
    pub(crate) lag: Option<Duration>,
}

/// Text column `index`, or `None` for NULL.
fn text(row: RowRef<'_>, index: usize) -> Result<Option<String>> {
    each_backend!(row, RowRef, r => get::<_, Option<String>>(r, index, "String"))
}

/// Runs a fixed statement with `args` and returns its first row, decoded.
async fn one_row<T: Send>(
    conn: &mut PooledConn,
    sql: &'static str,
    args: Args,
    limit: Duration,
    decode: impl FnMut(RowRef<'_>) -> Result<T> + Send,
) -> Result<Option<T>> {
    let statement = Statement {
        sql: sql_static(sql),
        args: Some(args),
        fetch: Fetch::Optional(decode),
    };
    match conn.run(statement, Some(limit)).await? {
        Fetched::Optional(row) => Ok(row),
        _ => unreachable!("Fetch::Optional returns Fetched::Optional"),
    }
}

fn unexpected(conn: &PooledConn, what: &str, sql: &str) -> Error {
    Error::Replication {
        connection: conn.connection_name().to_owned(),
        message: what.to_owned(),
        sql: Some(sql.to_owned()),
    }
}

/// The primary's position right after this connection's last write: a
/// replica that has replayed it shows that write.
pub(crate) async fn primary_position(conn: &mut PooledConn, limit: Duration) -> Result<Position> {
    let backend = conn.backend();
    let (sql, parse): (&'static str, fn(&str) -> Option<Position>) = match backend {
        Backend::Postgres => ("SELECT pg_current_wal_insert_lsn()::text", |t| {
            parse_lsn(t).map(Position::Lsn)
        }),
        Backend::MySql if conn.info.mariadb => (
            // `@@last_gtid` is this session's own last transaction; empty
            // when it wrote nothing the binary log kept.
            "SELECT IF(@@last_gtid = '', @@gtid_binlog_pos, @@last_gtid)",
            // Empty: binary logging is off, and nothing can be waited for.
            |t| {
                parse_gtids(t)
                    .filter(|g| !g.is_empty())
                    .map(Position::MariaDb)
            },
        ),
        Backend::MySql => ("SELECT @@GLOBAL.gtid_executed", |t| {
            (!t.trim().is_empty()).then(|| Position::MySql(t.to_owned()))
        }),
        Backend::Sqlite => {
            return Err(unexpected(conn, "SQLite has no replication", ""));
        }
    };
    let row = one_row(conn, sql, Args::new(backend), limit, |r| text(r, 0)).await?;
    row.flatten().as_deref().and_then(parse).ok_or_else(|| {
        unexpected(
            conn,
            "the primary did not report a replication position (is binary logging with GTIDs on?)",
            sql,
        )
    })
}

/// What a replica has replayed, and its lag.
pub(crate) async fn replica_status(
    conn: &mut PooledConn,
    limit: Duration,
) -> Result<ReplicaStatus> {
    let backend = conn.backend();
    match backend {
        Backend::Postgres => {
            const SQL: &str = "SELECT pg_last_wal_replay_lsn()::text, \
                 (CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 \
                  ELSE EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) END)::float8::text";
            let row = one_row(conn, SQL, Args::new(backend), limit, |r| {
                Ok((text(r, 0)?, text(r, 1)?))
            })
            .await?;
            let (position, lag) = row.unwrap_or_default();
            Ok(ReplicaStatus {
                position: position.as_deref().and_then(parse_lsn).map(Position::Lsn),
                lag: seconds(lag.as_deref()),
            })
        }
        Backend::MySql => {
            let mariadb = conn.info.mariadb;
            let (sql, lag_column): (&'static str, &'static str) = if mariadb {
                ("SHOW SLAVE STATUS", "Seconds_Behind_Master")
            } else {
                ("SHOW REPLICA STATUS", "Seconds_Behind_Source")
            };
            let lag = one_row(conn, sql, Args::new(backend), limit, |r| {
                mysql_column_text(r, lag_column)
            })
            .await?
            .flatten();
            let position_sql = if mariadb {
                "SELECT @@gtid_slave_pos"
            } else {
                "SELECT @@GLOBAL.gtid_executed"
            };
            let position = one_row(conn, position_sql, Args::new(backend), limit, |r| {
                text(r, 0)
            })
            .await?
            .flatten();
            let position = position.as_deref().and_then(|t| {
                if mariadb {
                    parse_gtids(t).map(Position::MariaDb)
                } else {
                    Some(Position::MySql(t.to_owned()))
                }
            });
            Ok(ReplicaStatus {
                position,
                lag: seconds(lag.as_deref()),
            })
        }
        Backend::Sqlite => Err(unexpected(conn, "SQLite has no replication", "")),
    }
}

/// A column of a MySQL row read by name, as text (a number or NULL).
fn mysql_column_text(row: RowRef<'_>, column: &str) -> Result<Option<String>> {
    let _ = column; // unused without MySQL
    #[allow(unreachable_patterns)]
    match row {
        #[cfg(feature = "mysql")]
        RowRef::MySql(r) => {
            use sqlx::Row as _;
            if let Ok(v) = r.try_get::<Option<u64>, _>(column) {
                return Ok(v.map(|v| v.to_string()));
            }
            if let Ok(v) = r.try_get::<Option<i64>, _>(column) {
                return Ok(v.map(|v| v.to_string()));
            }
            r.try_get::<Option<String>, _>(column)
                .map_err(|source| Error::Decode {
                    column: column.to_owned(),
                    rust_type: "String",
                    source,
                })
        }
        _ => Ok(None),
    }
}

fn seconds(text: Option<&str>) -> Option<Duration> {
    text.and_then(|t| t.trim().parse::<f64>().ok())
        .and_then(|s| Duration::try_from_secs_f64(s.max(0.0)).ok())
}

/// Waits until the replica on `conn` has replayed `target`, for at most
/// `wait`: `Ok(true)` once it has, `Ok(false)` when `wait` passed first.
pub(crate) async fn wait_for(
    conn: &mut PooledConn,
    target: &Position,
    wait: Duration,
) -> Result<bool> {
    let backend = conn.backend();
    if target.backend() != backend {
        return Err(unexpected(
            conn,
            &format!("the causal token's position `{target}` is of another backend"),
            "",
        ));
    }
    let started = Instant::now();
    // The server's own wait is bounded by `wait`; the statement by a little more.
    let limit = wait + Duration::from_secs(5);
    match target {
        Position::Lsn(lsn) => {
            const SQL: &str = "SELECT CASE WHEN pg_last_wal_replay_lsn() >= $1::text::pg_lsn THEN '1' ELSE '0' END";
            let lsn_text = Position::Lsn(*lsn).to_string();
            let lsn_text = lsn_text.trim_start_matches("pg:").to_owned();
            let mut pause = Duration::from_millis(1);
            loop {
                let mut args = Args::new(backend);
                bind_text(&mut args, &lsn_text)?;
                let reached = one_row(conn, SQL, args, limit, |r| text(r, 0))
                    .await?
                    .flatten();
                if reached.as_deref() == Some("1") {
                    return Ok(true);
                }
                let left = wait.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Ok(false);
                }
                tokio::time::sleep(pause.min(left)).await;
                pause = (pause * 2).min(Duration::from_millis(20));
            }
        }
        Position::MariaDb(_) | Position::MySql(_) => {
            let (sql, ok): (&'static str, &str) = if matches!(target, Position::MariaDb(_)) {
                ("SELECT CAST(MASTER_GTID_WAIT(?, ?) AS CHAR)", "0")
            } else {
                ("SELECT CAST(WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS CHAR)", "0")
            };
            let position = target.to_string();
            let position = position.split_once(':').map_or("", |(_, p)| p).to_owned();
            let mut args = Args::new(backend);
            bind_text(&mut args, &position)?;
            each_backend!(&mut args.driver, DriverArgs, a => add(a, wait.as_secs_f64(), "f64"))?;
            let result = one_row(conn, sql, args, limit, |r| text(r, 0))
                .await?
                .flatten();
            Ok(result.as_deref() == Some(ok))
        }
    }
}

fn bind_text(args: &mut Args, value: &str) -> Result<()> {
    each_backend!(&mut args.driver, DriverArgs, a => add(a, value.to_owned(), "String"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_compare() {
        let a = Position::parse("pg:16/B374D848").unwrap();
        assert_eq!(a, Position::Lsn((0x16 << 32) | 0xB374_D848));
        assert_eq!(a.to_string(), "pg:16/B374D848");
        let b = Position::parse("pg:16/B374D849").unwrap();
        assert!(b.covers(&a) && !a.covers(&b) && a.covers(&a));
        let m = Position::parse("mariadb:0-1-42,1-2-7").unwrap();
        assert_eq!(m.to_string(), "mariadb:0-1-42,1-2-7");
        let later = Position::parse("mariadb:0-1-43,1-2-7").unwrap();
        assert!(later.covers(&m) && !m.covers(&later));
        // A domain the replica never saw is not covered.
        let other = Position::parse("mariadb:2-1-1").unwrap();
        assert!(!later.covers(&other));
        assert_eq!(
            m.clone().max(other).to_string(),
            "mariadb:0-1-42,1-2-7,2-1-1"
        );
        for bad in [
            "",
            "pg:",
            "pg:xyz",
            "pg:1",
            "mariadb:1-2",
            "mariadb:a-b-c",
            "oracle:1",
            "mysql:",
        ] {
            assert_eq!(Position::parse(bad), None, "{bad}");
        }
        // Positions of different backends never cover each other.
        assert!(!a.covers(&m) && !m.covers(&a));
    }
}
