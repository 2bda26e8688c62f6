//! The replication harness does what the read-replica tests rely on, on
//! both servers: a write on the primary reaches each replica within 5 s;
//! an injected lag hides it from a read right after the write and not from
//! one after the lag; a replica refuses writes; and a replica killed
//! outright starts again, answers and catches up.

use std::time::{Duration, Instant};

use sqlx::mysql::{MySqlConnection, MySqlDatabaseError};
use sqlx::{Connection, PgConnection};

use orm_tests::mariadb_cluster::MariaDbServer;
use orm_tests::replication::{MariaDbReplication, PgReplication};

/// How long a replica may take to show a write when no lag is injected.
const REPLICATION_WAIT: Duration = Duration::from_secs(5);

/// Error 1290, `ER_OPTION_PREVENTS_STATEMENT`: "The MariaDB server is
/// running with the --read-only option" (MariaDB error codes).
const ER_OPTION_PREVENTS_STATEMENT: u16 = 1290;

async fn pg(url: &str) -> PgConnection {
    PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

async fn mysql(url: &str) -> MySqlConnection {
    MySqlConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

async fn pg_count(conn: &mut PgConnection, id: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM items WHERE id = $1")
        .bind(id)
        .fetch_one(conn)
        .await
        .expect("count on PostgreSQL")
}

async fn mysql_count(conn: &mut MySqlConnection, id: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM items WHERE id = ?")
        .bind(id)
        .fetch_one(conn)
        .await
        .expect("count on MariaDB")
}

/// Inserts row `id` into `items` on PostgreSQL or MariaDB.
async fn insert<'c, E>(conn: E, id: i64) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'c>,
{
    let sql = format!("INSERT INTO items (id, name) VALUES ({id}, 'row {id}')");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(conn)
        .await
        .map(drop)
}

/// How long until `$probe` (an expression, evaluated in the test's async
/// body, so it may await) is true, polled every 20 ms; `None` after `$limit`.
macro_rules! time_until {
    ($limit:expr, $probe:expr) => {{
        let started = Instant::now();
        loop {
            if $probe {
                break Some(started.elapsed());
            }
            if started.elapsed() >= $limit {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }};
}

/// Creates `items` on the PostgreSQL primary and waits until the standby has it.
async fn pg_items(primary: &mut PgConnection, replica: &mut PgConnection) {
    sqlx::raw_sql("CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL)")
        .execute(&mut *primary)
        .await
        .expect("create items");
    let seen = time_until!(
        REPLICATION_WAIT,
        sqlx::query_scalar::<_, bool>("SELECT to_regclass('items') IS NOT NULL")
            .fetch_one(&mut *replica)
            .await
            .expect("look for items")
    );
    assert!(
        seen.is_some(),
        "the standby has no table items after {REPLICATION_WAIT:?}"
    );
}

/// Creates `items` on the MariaDB primary (through `conn`) and waits until
/// `replica` has it.
async fn mysql_items(conn: &mut MySqlConnection, primary: &MariaDbServer, replica: &MariaDbServer) {
    sqlx::raw_sql("CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL)")
        .execute(conn)
        .await
        .expect("create items");
    assert!(
        replica.wait_for_gtid(&primary.gtid_current_pos(), REPLICATION_WAIT),
        "the replica has no table items after {REPLICATION_WAIT:?}"
    );
}

#[tokio::test]
async fn postgres_standby_shows_primary_writes_and_refuses_its_own() {
    let started = Instant::now();
    let Some(set) = PgReplication::builder().replicas(1).start() else {
        return;
    };
    eprintln!(
        "PostgreSQL primary and standby streaming after {:?}",
        started.elapsed()
    );
    let mut primary = pg(&set.primary.url()).await;
    let mut replica = pg(&set.replicas[0].url()).await;
    pg_items(&mut primary, &mut replica).await;

    insert(&mut primary, 1)
        .await
        .expect("insert on the primary");
    let seen = time_until!(REPLICATION_WAIT, pg_count(&mut replica, 1).await == 1);
    let took =
        seen.unwrap_or_else(|| panic!("the row is not on the standby after {REPLICATION_WAIT:?}"));
    eprintln!("the row reached the standby after {took:?}");

    let refused = insert(&mut replica, 2)
        .await
        .expect_err("a standby refuses writes");
    let code = refused
        .as_database_error()
        .and_then(|e| e.code().map(|c| c.into_owned()));
    // 25006 read_only_sql_transaction (PostgreSQL manual, Appendix A).
    assert_eq!(code.as_deref(), Some("25006"), "{refused}");
    assert_eq!(
        pg_count(&mut primary, 2).await,
        0,
        "the refused row is nowhere"
    );
}

#[tokio::test]
async fn postgres_apply_delay_hides_a_write_until_the_delay_has_passed() {
    let Some(set) = PgReplication::builder()
        .replicas(1)
        .apply_delay("500ms")
        .start()
    else {
        return;
    };
    let mut primary = pg(&set.primary.url()).await;
    let mut replica = pg(&set.replicas[0].url()).await;
    pg_items(&mut primary, &mut replica).await;

    insert(&mut primary, 1)
        .await
        .expect("insert on the primary");
    let committed = Instant::now();
    assert_eq!(
        pg_count(&mut replica, 1).await,
        0,
        "a read right after the write sees it: the 500 ms apply delay is not there"
    );
    tokio::time::sleep_until((committed + Duration::from_secs(1)).into()).await;
    assert_eq!(
        pg_count(&mut replica, 1).await,
        1,
        "1 s after the write the standby (500 ms apply delay) still lacks it"
    );
}

#[tokio::test]
async fn mariadb_replica_shows_primary_writes_lags_while_paused_and_refuses_writes() {
    let started = Instant::now();
    let Some(set) = MariaDbReplication::builder()
        .replicas(1)
        .replica_setting("read_only", "1")
        .start()
    else {
        return;
    };
    eprintln!(
        "MariaDB primary and replica caught up after {:?}",
        started.elapsed()
    );
    let replica_server = &set.replicas[0];
    let mut primary = mysql(&set.primary.app_url()).await;
    let mut replica = mysql(&replica_server.app_url()).await;
    mysql_items(&mut primary, &set.primary, replica_server).await;

    insert(&mut primary, 1)
        .await
        .expect("insert on the primary");
    let seen = time_until!(REPLICATION_WAIT, mysql_count(&mut replica, 1).await == 1);
    let took =
        seen.unwrap_or_else(|| panic!("the row is not on the replica after {REPLICATION_WAIT:?}"));
    eprintln!("the row reached the replica after {took:?}");

    // Paused: the replica receives the write but does not apply it.
    replica_server.pause_apply();
    insert(&mut primary, 2)
        .await
        .expect("insert on the primary");
    let written = set.primary.gtid_current_pos();
    let received = time_until!(
        REPLICATION_WAIT,
        replica_server.replica_status().get("Gtid_IO_Pos") == Some(&written)
    );
    assert!(
        received.is_some(),
        "the replica did not receive {written}: {:?}",
        replica_server.replica_status()
    );
    assert_eq!(
        mysql_count(&mut replica, 2).await,
        0,
        "a paused replica applied a write"
    );
    let status = replica_server.replica_status();
    assert_eq!(
        status.get("Slave_SQL_Running").map(String::as_str),
        Some("No"),
        "{status:?}"
    );
    replica_server.resume_apply();
    let seen = time_until!(REPLICATION_WAIT, mysql_count(&mut replica, 2).await == 1);
    assert!(
        seen.is_some(),
        "the write is not on the replica {REPLICATION_WAIT:?} after resuming"
    );

    let refused = insert(&mut replica, 3)
        .await
        .expect_err("a read_only replica refuses writes");
    let number = refused
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<MySqlDatabaseError>())
        .map(MySqlDatabaseError::number);
    assert_eq!(number, Some(ER_OPTION_PREVENTS_STATEMENT), "{refused}");
    assert_eq!(
        mysql_count(&mut primary, 3).await,
        0,
        "the refused row is nowhere"
    );
}

#[tokio::test]
async fn mariadb_master_delay_hides_a_write_for_whole_seconds() {
    let Some(set) = MariaDbReplication::builder().replicas(1).start() else {
        return;
    };
    let replica_server = &set.replicas[0];
    let mut primary = mysql(&set.primary.url()).await;
    let mut replica = mysql(&replica_server.url()).await;
    mysql_items(&mut primary, &set.primary, replica_server).await;

    // The delay counts whole seconds from the event's timestamp, itself in
    // whole seconds: with 2 s, a write is applied between 1 and 2 s late.
    replica_server.set_delay(2);
    insert(&mut primary, 1)
        .await
        .expect("insert on the primary");
    let committed = Instant::now();
    assert_eq!(
        mysql_count(&mut replica, 1).await,
        0,
        "MASTER_DELAY = 2 did not delay the write"
    );
    let seen = time_until!(REPLICATION_WAIT, mysql_count(&mut replica, 1).await == 1);
    assert!(
        seen.is_some(),
        "the delayed write is not on the replica after {REPLICATION_WAIT:?}"
    );
    let lag = committed.elapsed();
    assert!(
        lag >= Duration::from_millis(900),
        "applied after {lag:?}, with MASTER_DELAY = 2"
    );
    eprintln!("MASTER_DELAY = 2: the write was applied after {lag:?}");
}

#[tokio::test]
async fn mariadb_killed_replica_starts_again_and_catches_up() {
    let Some(primary) = MariaDbServer::new() else {
        return;
    };
    let Some(replica_server) = MariaDbServer::builder().replica_of(&primary).start() else {
        return;
    };
    let mut writer = mysql(&primary.url()).await;
    mysql_items(&mut writer, &primary, &replica_server).await;
    insert(&mut writer, 1).await.expect("insert on the primary");
    assert!(replica_server.wait_for_gtid(&primary.gtid_current_pos(), REPLICATION_WAIT));

    replica_server.kill();
    assert!(!replica_server.is_running());
    assert!(
        MySqlConnection::connect(&replica_server.url())
            .await
            .is_err(),
        "a killed replica still answers"
    );
    insert(&mut writer, 2)
        .await
        .expect("insert while the replica is down");

    let restarted = Instant::now();
    replica_server.start();
    eprintln!(
        "the killed replica answers again after {:?}",
        restarted.elapsed()
    );
    assert!(replica_server.is_running());
    let mut reader = mysql(&replica_server.url()).await;
    let seen = time_until!(REPLICATION_WAIT, mysql_count(&mut reader, 2).await == 1);
    assert!(
        seen.is_some(),
        "the restarted replica lacks the write made while it was down: {:?}\n{}",
        replica_server.replica_status(),
        replica_server.log_tail(20)
    );
    assert_eq!(
        mysql_count(&mut reader, 1).await,
        1,
        "the restarted replica lost a row"
    );
}

#[tokio::test]
async fn postgres_killed_standby_starts_again_and_catches_up() {
    let Some(set) = PgReplication::builder().replicas(1).start() else {
        return;
    };
    let standby = &set.replicas[0];
    let mut writer = pg(&set.primary.url()).await;
    let mut reader = pg(&standby.url()).await;
    pg_items(&mut writer, &mut reader).await;
    drop(reader);

    standby.kill();
    assert!(!standby.is_running());
    assert!(
        PgConnection::connect(&standby.url()).await.is_err(),
        "a killed standby still answers"
    );
    insert(&mut writer, 1)
        .await
        .expect("insert while the standby is down");

    let restarted = Instant::now();
    standby.start();
    set.wait_streaming();
    eprintln!(
        "the killed standby streams again after {:?}",
        restarted.elapsed()
    );
    let mut reader = pg(&standby.url()).await;
    let seen = time_until!(REPLICATION_WAIT, pg_count(&mut reader, 1).await == 1);
    assert!(
        seen.is_some(),
        "the restarted standby lacks the write made while it was down"
    );
}

#[tokio::test]
async fn mariadb_replica_follows_a_primary_that_stops_and_starts_again() {
    let Some(set) = MariaDbReplication::builder().replicas(1).start() else {
        return;
    };
    let replica_server = &set.replicas[0];
    let mut writer = mysql(&set.primary.url()).await;
    mysql_items(&mut writer, &set.primary, replica_server).await;
    drop(writer);

    set.primary.stop();
    assert!(!set.primary.is_running());
    set.primary.start();
    let mut writer = mysql(&set.primary.url()).await;
    insert(&mut writer, 1)
        .await
        .expect("insert after the restart");
    // The replica reconnects by itself (MASTER_CONNECT_RETRY = 1 s).
    assert!(
        replica_server.wait_for_gtid(&set.primary.gtid_current_pos(), REPLICATION_WAIT),
        "the replica did not follow the restarted primary: {:?}",
        replica_server.replica_status()
    );
    let mut reader = mysql(&replica_server.url()).await;
    assert_eq!(mysql_count(&mut reader, 1).await, 1);
}
