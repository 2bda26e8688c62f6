//! Applying migrations and recording them, per connection.
//!
//! Each connection keeps a table `orm_migrations` (name, checksum, batch,
//! time, failed: see [`MigrationState`]). [`run`] applies the pending migrations of a list in order,
//! as one batch, each in its own transaction where the backend allows DDL in
//! transactions; [`rollback`] undoes the last batch (or the last N);
//! [`status`] says what is applied; [`apply`] runs operations outside the
//! history. A migration applied earlier whose definition changed, or that is
//! missing from the list, makes `run` refuse.
//! PostgreSQL and MySQL runs hold a lock for their whole length, so two
//! processes never apply the same migration; on SQLite the database's write
//! lock and the table's primary key do the same.
//!
//! On PostgreSQL the lock is a transaction's (`pg_advisory_xact_lock`), so
//! that it works through a pooler in transaction mode (PgBouncer), where a
//! session lock would stay on a server session another client gets next:
//! a run or rollback is one transaction that holds the lock, and each
//! migration in it is a savepoint. The migrations applied before one that
//! fails are committed when the run ends, as if each had its own
//! transaction; the locks their DDL takes are held until then too.

use serde::{Deserialize, Serialize};

use super::{Operation, Snapshot};
use crate::backend::Backend;
use crate::connection::conn::sql_owned;
use crate::connection::driver::Args;
use crate::error::{Error, Result};
use crate::model::types::{FieldType, Value};
use crate::routing::{Operation as Routed, Session};
use crate::Database;

/// What routing is told of every statement a migration sends.
pub(super) const MIGRATION: Routed = Routed::migration();

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
        super::operations::fnv1a(text.as_bytes())
    }

    /// A hand-written migration; add its steps with [`Migration::up`] and [`Migration::down`].
    pub fn new(name: &str) -> Migration {
        Migration {
            name: name.to_owned(),
            up: Vec::new(),
            down: Vec::new(),
        }
    }

    /// Adds a step forward.
    pub fn up(mut self, op: Operation) -> Migration {
        self.up.push(op);
        self
    }

    /// Adds a step back (steps back run in the order added).
    pub fn down(mut self, op: Operation) -> Migration {
        self.down.push(op);
        self
    }
}

/// One step of a migration unit: DDL sent as text, a statement with bound
/// values (the bookkeeping rows), or a step that looks at the database
/// first.
pub(super) enum Step {
    Ddl(String),
    Bound(String, Vec<Value>),
    /// SQLite: the statements that rebuild `table`, run between setting
    /// aside and making again what names it (see [`rebuild`]).
    Rebuild {
        table: String,
        statements: Vec<String>,
    },
    /// Refuses when `table` has rows: `column` is added to it, required and
    /// without a default, so existing rows have no value to take (MySQL
    /// would fill in 0 or '', the others refuse).
    RequireEmpty {
        table: String,
        column: String,
    },
}

impl Step {
    /// The SQL the step sends that does not depend on what the database
    /// holds (what `sql` prints).
    fn statements(self) -> Vec<String> {
        match self {
            Step::Ddl(sql) | Step::Bound(sql, _) => vec![sql],
            Step::Rebuild { statements, .. } => statements,
            Step::RequireEmpty { .. } => Vec::new(),
        }
    }
}

/// The steps that apply `operations` on `backend`, in order, each rendered
/// against the schema the ones before it leave: `state` starts as the
/// schema before the first and ends as the schema after the last.
pub(super) fn render_steps(
    operations: &[Operation],
    backend: Backend,
    state: &mut Snapshot,
) -> Result<Vec<Step>> {
    let mut out = Vec::new();
    // On MySQL a check of a table that exists from the start runs first,
    // before any DDL commits, unless raw SQL before it may empty the table.
    let mut checks_first = Vec::new();
    let mut raw_sql_before = false;
    let at_start: Vec<String> = state.tables.keys().cloned().collect();
    for op in operations {
        raw_sql_before |= matches!(op, Operation::Sql { .. });
        if let Operation::AddColumn { table, column } = op {
            if column.required_without_default() {
                let check = Step::RequireEmpty {
                    table: table.clone(),
                    column: column.name.clone(),
                };
                let first =
                    backend == Backend::MySql && !raw_sql_before && at_start.contains(table);
                match first {
                    true => checks_first.push(check),
                    false => out.push(check),
                }
            }
        }
        let statements = op.sql(backend, state)?;
        if backend == Backend::Sqlite && op.sqlite_rebuilds() {
            out.push(Step::Rebuild {
                table: op.table_name().to_owned(),
                statements,
            });
        } else {
            out.extend(statements.into_iter().map(Step::Ddl));
        }
        state.apply(op);
    }
    checks_first.extend(out);
    Ok(checks_first)
}

/// Where a unit stopped: `done` of its steps had run (and stay applied on MySQL).
pub(super) struct Stopped {
    pub done: usize,
    pub error: Error,
}

/// Runs `steps` as one unit. PostgreSQL and SQLite: in one transaction,
/// undone whole on an error. SQLite also turns foreign key enforcement off
/// for the transaction (table rebuilds drop a table that others refer to),
/// checks every key before committing and turns it back on. MySQL commits
/// DDL as it goes: the steps run in order and the error says how many ran.
pub(super) async fn execute_unit(
    conn: &mut Session<'_>,
    steps: Vec<Step>,
) -> std::result::Result<(), Stopped> {
    let outcome = execute_steps(conn, steps).await;
    // Whether the unit applied or not (MySQL applies DDL as it goes),
    // statements prepared before it may be stale now.
    let _ = conn.schema_changed().await;
    outcome
}

async fn execute_steps(
    conn: &mut Session<'_>,
    steps: Vec<Step>,
) -> std::result::Result<(), Stopped> {
    let stopped = |done: usize| move |error: Error| Stopped { done, error };
    let backend = conn.backend();
    if backend == Backend::MySql {
        for (i, step) in steps.into_iter().enumerate() {
            run_step(conn, step).await.map_err(stopped(i))?;
        }
        return Ok(());
    }
    let enforced =
        backend == Backend::Sqlite && foreign_keys_enforced(conn).await.map_err(stopped(0))?;
    if enforced {
        set_foreign_keys(conn, false).await.map_err(stopped(0))?;
    }
    let outcome = transaction(conn, steps).await;
    if enforced {
        let restored = set_foreign_keys(conn, true).await;
        if outcome.is_ok() {
            restored.map_err(stopped(0))?;
        }
    }
    outcome
}

async fn transaction(conn: &mut Session<'_>, steps: Vec<Step>) -> std::result::Result<(), Stopped> {
    conn.begin()
        .await
        .map_err(|error| Stopped { done: 0, error })?;
    let mut outcome = Ok(());
    for (i, step) in steps.into_iter().enumerate() {
        if let Err(error) = run_step(conn, step).await {
            outcome = Err(Stopped { done: i, error });
            break;
        }
    }
    if outcome.is_ok() && conn.backend() == Backend::Sqlite {
        if let Err(error) = check_foreign_keys(conn).await {
            outcome = Err(Stopped { done: 0, error });
        }
    }
    match outcome {
        Ok(()) => conn
            .commit()
            .await
            .map_err(|error| Stopped { done: 0, error }),
        Err(stopped) => {
            conn.rollback()
                .await
                .map_err(|error| Stopped { done: 0, error })?;
            Err(Stopped { done: 0, ..stopped })
        }
    }
}

async fn run_step(conn: &mut Session<'_>, step: Step) -> Result<()> {
    match step {
        Step::Ddl(sql) => ddl(conn, sql).await,
        Step::Bound(sql, values) => execute(conn, sql, &values).await.map(drop),
        Step::Rebuild { table, statements } => rebuild(conn, &table, statements).await,
        Step::RequireEmpty { table, column } => require_empty(conn, &table, &column).await,
    }
}

async fn ddl(conn: &mut Session<'_>, sql: String) -> Result<()> {
    conn.execute_script(&MIGRATION, sql_owned(sql))
        .await
        .map(drop)
}

async fn require_empty(conn: &mut Session<'_>, table: &str, column: &str) -> Result<()> {
    let backend = conn.backend();
    let mut sql = String::from("SELECT 1 FROM ");
    backend.push_ident(&mut sql, table);
    sql.push_str(" LIMIT 1");
    let args = Args::new(backend);
    let rows = conn
        .fetch_optional(&MIGRATION, sql_owned(sql), args, |_| Ok(()))
        .await?;
    match rows {
        None => Ok(()),
        Some(()) => Err(Error::Migration {
            message: format!(
                "column `{table}`.`{column}` is added required and without a default, but `{table}` has rows, \
                 which would have no value for it: give the field `#[orm(default = ...)]`, or make the migration \
                 with a backfill value (`migrate make NAME --backfill {table}.{column}=VALUE`); when this is the way \
                 back of a migration that dropped the column, give that migration's down step a `default` for it"
            ),
        }),
    }
}

/// SQLite's rebuild of `table`, steps 3 to 9 of "Making Other Kinds Of
/// Table Schema Changes" (section 7 of SQLite's `ALTER TABLE` page): the
/// views and triggers that name the table are remembered and dropped (a
/// view that names a dropped table makes the rename fail, and triggers go
/// with the table), the table is rebuilt, then they are made again in their
/// first order, with the indexes on it that the rebuild did not make
/// (made by hand). One that cannot be made again refuses the migration,
/// naming it.
async fn rebuild(conn: &mut Session<'_>, table: &str, statements: Vec<String>) -> Result<()> {
    let sql = "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND \
               ((type IN ('view', 'trigger') AND (tbl_name = ? OR instr(lower(sql), lower(?)) > 0)) \
               OR (type = 'index' AND tbl_name = ?)) ORDER BY rowid";
    let mut args = Args::new(conn.backend());
    for _ in 0..3 {
        table.to_owned().bind(&mut args)?;
    }
    let named: Vec<(String, String, String)> = conn
        .fetch_all(&MIGRATION, sql_owned(sql.to_owned()), args, |row| {
            Ok((
                String::decode(row, 0)?,
                String::decode(row, 1)?,
                String::decode(row, 2)?,
            ))
        })
        .await?;
    for (kind, name, _) in named.iter().filter(|(kind, ..)| kind != "index") {
        let mut drop = format!("DROP {} ", kind.to_uppercase());
        conn.backend().push_ident(&mut drop, name);
        ddl(conn, drop).await?;
    }
    for sql in statements {
        ddl(conn, sql).await?;
    }
    for (kind, name, sql) in named {
        if kind == "index" && schema_object_exists(conn, &name).await? {
            continue;
        }
        if let Err(error) = ddl(conn, sql).await {
            return Err(Error::Migration {
                message: format!(
                    "SQLite rebuilds table `{table}` for this step, and the {kind} `{name}` that names it \
                     cannot be made again afterwards ({error}): drop or change the {kind} in an earlier step"
                ),
            });
        }
    }
    Ok(())
}

async fn schema_object_exists(conn: &mut Session<'_>, name: &str) -> Result<bool> {
    let mut args = Args::new(conn.backend());
    name.to_owned().bind(&mut args)?;
    let sql = "SELECT 1 FROM sqlite_master WHERE name = ?";
    Ok(conn
        .fetch_optional(&MIGRATION, sql_owned(sql.to_owned()), args, |_| Ok(()))
        .await?
        .is_some())
}

async fn foreign_keys_enforced(conn: &mut Session<'_>) -> Result<bool> {
    let args = Args::new(conn.backend());
    let on = conn
        .fetch_optional(
            &MIGRATION,
            sql_owned("PRAGMA foreign_keys".to_owned()),
            args,
            |row| i64::decode(row, 0),
        )
        .await?;
    Ok(on == Some(1))
}

async fn set_foreign_keys(conn: &mut Session<'_>, on: bool) -> Result<()> {
    let sql = format!("PRAGMA foreign_keys = {}", if on { "ON" } else { "OFF" });
    ddl(conn, sql).await
}

/// SQLite: every key must still find its row before the rebuilds commit.
async fn check_foreign_keys(conn: &mut Session<'_>) -> Result<()> {
    let args = Args::new(conn.backend());
    let broken = conn
        .fetch_all(
            &MIGRATION,
            sql_owned("PRAGMA foreign_key_check".to_owned()),
            args,
            |row| Ok((String::decode(row, 0)?, String::decode(row, 2)?)),
        )
        .await?;
    match broken.first() {
        None => Ok(()),
        Some((table, parent)) => Err(Error::ForeignKeyViolation {
            constraint: None,
            message: format!(
                "{} row(s) would refer to missing rows (the first: a row of `{table}` to `{parent}`)",
                broken.len()
            ),
        }),
    }
}

/// The schema the applied migrations have built, replayed in the order they
/// were applied (batch, then name).
fn schema_of(migrations: &[Migration], done: &[Applied]) -> Snapshot {
    let mut order: Vec<&Applied> = done.iter().collect();
    order.sort_by(|a, b| (a.batch, &a.name).cmp(&(b.batch, &b.name)));
    let mut state = Snapshot::default();
    for a in order {
        if let Some(m) = migrations.iter().find(|m| m.name == a.name) {
            for op in &m.up {
                state.apply(op);
            }
        }
    }
    state
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
    /// Applied, or left half-way by a failure (MySQL only: DDL there
    /// commits as it goes, so a failure cannot be undone).
    pub state: MigrationState,
}

/// What the history table says of an applied migration (its `failed`
/// column: 0, 1 or 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationState {
    /// Applied whole (`failed` = 0).
    Applied,
    /// A step of its way forward failed after earlier steps committed
    /// (MySQL): the schema is half-migrated. `run` and `rollback` refuse
    /// until it is repaired by hand (`failed` = 1).
    Failed,
    /// A step of its way back failed after earlier steps committed
    /// (MySQL): the schema is half-undone. `run` and `rollback` refuse
    /// until it is repaired by hand (`failed` = 2).
    RollbackFailed,
}

impl MigrationState {
    fn code(self) -> i16 {
        match self {
            MigrationState::Applied => 0,
            MigrationState::Failed => 1,
            MigrationState::RollbackFailed => 2,
        }
    }

    fn of_code(code: i16) -> MigrationState {
        match code {
            0 => MigrationState::Applied,
            2 => MigrationState::RollbackFailed,
            _ => MigrationState::Failed,
        }
    }
}

const TABLE: &str = "orm_migrations";

fn placeholder(backend: Backend, n: usize) -> String {
    let mut s = String::new();
    backend.push_placeholder(&mut s, n);
    s
}

async fn execute(conn: &mut Session<'_>, sql: String, values: &[Value]) -> Result<u64> {
    let mut args = Args::new(conn.backend());
    for v in values {
        v.bind(&mut args)?;
    }
    Ok(conn
        .execute(&MIGRATION, sql_owned(sql), args)
        .await?
        .rows_affected)
}

async fn ensure_table(conn: &mut Session<'_>) -> Result<()> {
    let b = conn.backend();
    let mut t = String::new();
    b.push_ident(&mut t, TABLE);
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {t} (name VARCHAR(255) NOT NULL PRIMARY KEY, checksum VARCHAR(32) NOT NULL, \
         batch BIGINT NOT NULL, applied_at VARCHAR(40) NOT NULL, failed SMALLINT NOT NULL DEFAULT 0)"
    );
    conn.execute_script(&MIGRATION, sql_owned(sql))
        .await
        .map(drop)
}

async fn applied(conn: &mut Session<'_>) -> Result<Vec<Applied>> {
    let mut t = String::new();
    conn.backend().push_ident(&mut t, TABLE);
    let sql = format!("SELECT name, checksum, batch, applied_at, failed FROM {t} ORDER BY name");
    let args = Args::new(conn.backend());
    conn.fetch_all(&MIGRATION, sql_owned(sql), args, |row| {
        Ok(Applied {
            name: String::decode(row, 0)?,
            checksum: String::decode(row, 1)?,
            batch: i64::decode(row, 2)?,
            applied_at: String::decode(row, 3)?,
            state: MigrationState::of_code(i16::decode(row, 4)?),
        })
    })
    .await
}

/// The row that says `m` is applied (or failed half-way).
fn record_row(backend: Backend, m: &Migration, batch: i64, state: MigrationState) -> Step {
    let mut t = String::new();
    backend.push_ident(&mut t, TABLE);
    let sql = format!(
        "INSERT INTO {t} (name, checksum, batch, applied_at, failed) VALUES ({}, {}, {}, {}, {})",
        placeholder(backend, 1),
        placeholder(backend, 2),
        placeholder(backend, 3),
        placeholder(backend, 4),
        placeholder(backend, 5)
    );
    Step::Bound(
        sql,
        vec![
            Value::Text(m.name.clone()),
            Value::Text(m.checksum()),
            Value::I64(batch),
            Value::Text(now_rfc3339()),
            Value::I16(state.code()),
        ],
    )
}

async fn record(
    conn: &mut Session<'_>,
    m: &Migration,
    batch: i64,
    state: MigrationState,
) -> Result<()> {
    let step = record_row(conn.backend(), m, batch, state);
    run_step(conn, step).await
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

const PG_LOCK_KEY: &str = "hashtext(current_schema() || '.orm_migrations')";
const MYSQL_LOCK_NAME: &str = "CONCAT('orm_migrations.', DATABASE())";

/// How long a runner waits for another one's lock on MySQL before giving up.
const LOCK_WAIT_SECONDS: u32 = 600;

/// Takes the migration lock (PostgreSQL, MySQL): a second runner, in this
/// process or another, waits here until the first is done. PostgreSQL:
/// opens the transaction that holds it until [`unlock`] (PostgreSQL manual,
/// "Advisory Lock Functions": `pg_advisory_xact_lock`); MySQL: the
/// session's (`GET_LOCK`).
async fn lock(conn: &mut Session<'_>, connection: &str) -> Result<()> {
    let sql = match conn.backend() {
        // One lock per schema (PostgreSQL) or database (MySQL, whose locks are server-wide).
        Backend::Postgres => {
            conn.begin().await?;
            format!(
                "SELECT CAST(1 AS BIGINT) FROM (SELECT pg_advisory_xact_lock({PG_LOCK_KEY})) AS l"
            )
        }
        Backend::MySql => {
            format!("SELECT CAST(GET_LOCK({MYSQL_LOCK_NAME}, {LOCK_WAIT_SECONDS}) AS SIGNED)")
        }
        Backend::Sqlite => return Ok(()),
    };
    let args = Args::new(conn.backend());
    let got = conn
        .fetch_optional(&MIGRATION, sql_owned(sql), args, |row| {
            Option::<i64>::decode(row, 0)
        })
        .await?;
    match got {
        Some(Some(1)) => Ok(()),
        _ => Err(Error::Migration {
            message: format!(
                "another process has been running migrations on connection `{connection}` for {LOCK_WAIT_SECONDS} s: \
                 wait for it to finish, then run again"
            ),
        }),
    }
}

/// Releases the lock of [`lock`]. PostgreSQL: commits its transaction,
/// and with it the migrations that applied (a failed one was rolled back
/// to its savepoint).
async fn unlock(conn: &mut Session<'_>) -> Result<()> {
    let sql = match conn.backend() {
        Backend::Postgres => return conn.commit().await,
        Backend::MySql => format!("SELECT RELEASE_LOCK({MYSQL_LOCK_NAME})"),
        Backend::Sqlite => return Ok(()),
    };
    let args = Args::new(conn.backend());
    conn.fetch_optional(&MIGRATION, sql_owned(sql), args, |_| Ok(()))
        .await
        .map(drop)
}

async fn writable_conn<'a>(db: &'a Database, connection: &str) -> Result<Session<'a>> {
    if db.is_read_only(connection)? {
        return Err(Error::Migration {
            message: format!(
                "connection `{connection}` is read-only: read-only connections are never migrated"
            ),
        });
    }
    db.connection(connection)?.session(&MIGRATION).await
}

/// A writable connection holding the migration lock, with the history
/// table created (under the lock: PostgreSQL's `CREATE TABLE IF NOT EXISTS`
/// is not safe against a concurrent one).
async fn locked_conn<'a>(db: &'a Database, connection: &str) -> Result<Session<'a>> {
    let mut conn = writable_conn(db, connection).await?;
    lock(&mut conn, connection).await?;
    if let Err(e) = ensure_table(&mut conn).await {
        unlock(&mut conn).await?;
        return Err(e);
    }
    Ok(conn)
}

/// Refuses to go on when the recorded history and the list disagree.
fn check_history(connection: &str, done: &[Applied], migrations: &[Migration]) -> Result<()> {
    for a in done {
        let repair = match a.state {
            MigrationState::Applied => None,
            MigrationState::Failed => Some(format!(
                "migration `{}` failed half-way on connection `{connection}` (MySQL commits DDL as it goes): \
                 repair the schema by hand (undo the steps that ran), then delete its row from {TABLE}",
                a.name
            )),
            MigrationState::RollbackFailed => Some(format!(
                "rolling back migration `{}` failed half-way on connection `{connection}` (MySQL commits DDL \
                 as it goes): repair the schema by hand, either finishing the way back (then delete its row \
                 from {TABLE}) or redoing the steps back that ran (then set its `failed` to 0)",
                a.name
            )),
        };
        if let Some(message) = repair {
            return Err(Error::Migration { message });
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
///
/// [`Error::Migration`] when an applied migration was edited or is missing
/// from `migrations`, when one is marked failed (MySQL; see
/// [`MigrationState`]), or when a migration fails: on PostgreSQL and SQLite
/// it is rolled back whole; on MySQL one that fails after its first step
/// is marked [`MigrationState::Failed`]. A required column without a
/// default added to a table with rows is refused before it is added, on
/// every backend.
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
    let mut conn = locked_conn(db, connection).await?;
    let result = run_locked(&mut conn, connection, migrations, progress).await;
    let unlocked = unlock(&mut conn).await;
    let applied = result?;
    unlocked?;
    Ok(applied)
}

async fn run_locked(
    conn: &mut Session<'_>,
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
    let mut state = schema_of(migrations, &done);
    let mut names = Vec::new();
    for m in pending {
        let started = std::time::Instant::now();
        let mut steps = render_steps(&m.up, backend, &mut state)?;
        let total = steps.len();
        if backend == Backend::MySql {
            match execute_unit(conn, steps).await {
                Ok(()) => record(conn, m, batch, MigrationState::Applied).await?,
                Err(Stopped { done: 0, error }) => {
                    return Err(Error::Migration {
                        message: format!(
                            "migration `{}` failed at its first step, nothing was applied: {error}",
                            m.name
                        ),
                    })
                }
                Err(Stopped { done, error }) => {
                    record(conn, m, batch, MigrationState::Failed).await?;
                    return Err(Error::Migration {
                        message: format!(
                            "migration `{}` failed at step {} of {total} and is marked failed \
                             (MySQL commits DDL as it goes, the steps before it stay applied): {error}",
                            m.name,
                            done + 1
                        ),
                    });
                }
            }
        } else {
            // Recorded first: a second runner (SQLite has no lock of its
            // own) waits on the write, then finds the row and skips it.
            steps.insert(0, record_row(backend, m, batch, MigrationState::Applied));
            match execute_unit(conn, steps).await {
                Ok(()) => {}
                Err(Stopped {
                    error: Error::UniqueViolation { .. },
                    ..
                }) if backend == Backend::Sqlite => continue,
                Err(Stopped { error, .. }) => {
                    return Err(Error::Migration {
                        message: format!(
                            "migration `{}` failed and was rolled back: {error}",
                            m.name
                        ),
                    })
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
    let mut state = schema_of(migrations, &done);
    let mut out = Vec::new();
    for m in migrations
        .iter()
        .filter(|m| !done.iter().any(|a| a.name == m.name))
    {
        let steps = render_steps(&m.up, backend, &mut state)?;
        out.push((
            m.name.clone(),
            steps.into_iter().flat_map(Step::statements).collect(),
        ));
    }
    Ok(out)
}

/// The migrations a rollback of `steps` undoes, last applied first: the
/// last batch (`None`) or the last `steps` migrations of `done`, which
/// [`latest_first`] sorted.
fn to_roll_back(done: &[Applied], steps: Option<usize>) -> Vec<&Applied> {
    let last_batch = done.first().map(|a| a.batch);
    match steps {
        Some(n) => done.iter().take(n).collect(),
        None => done
            .iter()
            .filter(|a| Some(a.batch) == last_batch)
            .collect(),
    }
}

/// Sorts applied migrations last applied first.
fn latest_first(done: &mut [Applied]) {
    done.sort_by(|a, b| (b.batch, &b.name).cmp(&(a.batch, &a.name)));
}

/// The SQL that [`rollback`] would send on `connection` for `steps`, per
/// migration, last applied first; nothing is run. The same errors as
/// [`rollback`] for a history that disagrees with `migrations`.
pub async fn rollback_sql(
    db: &Database,
    connection: &str,
    migrations: &[Migration],
    steps: Option<usize>,
) -> Result<Vec<(String, Vec<String>)>> {
    let mut done = status(db, connection).await?;
    check_history(connection, &done, migrations)?;
    latest_first(&mut done);
    let backend = db.backend(connection)?;
    let mut state = schema_of(migrations, &done);
    let mut out = Vec::new();
    for a in to_roll_back(&done, steps) {
        let Some(m) = migrations.iter().find(|m| m.name == a.name) else {
            continue;
        };
        let steps = render_steps(&m.down, backend, &mut state)?;
        out.push((
            m.name.clone(),
            steps.into_iter().flat_map(Step::statements).collect(),
        ));
    }
    Ok(out)
}

/// Undoes the last batch (`steps: None`) or the last `steps` migrations;
/// returns the names rolled back, last first.
///
/// Each migration's way back runs as one unit, as in [`run`]. On PostgreSQL
/// and SQLite (transactional DDL) a failure undoes the unit whole: the
/// migration stays applied and the [`Error::Migration`] says so. On MySQL,
/// where DDL commits as it goes (MySQL manual, "Statements That Cause an
/// Implicit Commit"), a failure after the first step leaves those steps
/// done: the migration is marked [`MigrationState::RollbackFailed`], the
/// error says which steps ran, and `run` and `rollback` refuse until the
/// schema is repaired by hand. The migrations rolled back before the
/// failure stay rolled back, and the error names them. Also
/// [`Error::Migration`] when the history disagrees with `migrations` (see
/// [`run`]), or a migration is marked failed.
pub async fn rollback(
    db: &Database,
    connection: &str,
    migrations: &[Migration],
    steps: Option<usize>,
) -> Result<Vec<String>> {
    let mut conn = locked_conn(db, connection).await?;
    let result = rollback_locked(&mut conn, connection, migrations, steps).await;
    let unlocked = unlock(&mut conn).await;
    let names = result?;
    unlocked?;
    Ok(names)
}

async fn rollback_locked(
    conn: &mut Session<'_>,
    connection: &str,
    migrations: &[Migration],
    steps: Option<usize>,
) -> Result<Vec<String>> {
    let mut done = applied(conn).await?;
    check_history(connection, &done, migrations)?;
    latest_first(&mut done);
    let chosen = to_roll_back(&done, steps);
    let backend = conn.backend();
    let mut state = schema_of(migrations, &done);
    let mut t = String::new();
    backend.push_ident(&mut t, TABLE);
    let mut names: Vec<String> = Vec::new();
    for a in chosen {
        let Some(m) = migrations.iter().find(|m| m.name == a.name) else {
            continue;
        };
        let mut steps = render_steps(&m.down, backend, &mut state)?;
        let sql = format!("DELETE FROM {t} WHERE name = {}", placeholder(backend, 1));
        steps.push(Step::Bound(sql, vec![Value::Text(m.name.clone())]));
        let total = steps.len();
        if let Err(Stopped { done, error }) = execute_unit(conn, steps).await {
            let before = match names.is_empty() {
                true => String::new(),
                false => format!(" (rolled back before it: {})", names.join(", ")),
            };
            let message = match (backend, done) {
                (Backend::MySql, 0) => format!(
                    "rolling back `{}` failed at its first step of {total}: nothing of it was undone and it \
                     stays applied{before}: {error}",
                    m.name
                ),
                (Backend::MySql, _) => {
                    let mark = format!("UPDATE {t} SET failed = {} WHERE name = {}", MigrationState::RollbackFailed.code(), placeholder(backend, 1));
                    execute(conn, mark, &[Value::Text(m.name.clone())]).await?;
                    let ran = match done {
                        1 => "step 1 ran and stays applied".to_owned(),
                        n => format!("steps 1 to {n} ran and stay applied"),
                    };
                    format!(
                        "rolling back `{}` failed at step {} of {total} on MySQL, where DDL commits as it goes: \
                         {ran}, the rest did not run; the migration is marked as failed while rolling back, and \
                         `run` and `rollback` refuse until the schema is repaired by hand{before}: {error}",
                        m.name,
                        done + 1
                    )
                }
                _ => format!(
                    "rolling back `{}` failed and its transaction was rolled back: nothing of it was undone and \
                     it stays applied{before}: {error}",
                    m.name
                ),
            };
            return Err(Error::Migration { message });
        }
        names.push(m.name.clone());
    }
    Ok(names)
}

/// The migrations recorded as applied on `connection`.
pub async fn status(db: &Database, connection: &str) -> Result<Vec<Applied>> {
    let mut conn = db.connection(connection)?.session(&MIGRATION).await?;
    if !table_exists(&mut conn, TABLE).await? {
        return Ok(Vec::new());
    }
    applied(&mut conn).await
}

/// Applies `operations` on the connection called `connection`, in order,
/// outside the migration history; `before` is the schema they start from
/// (SQLite rebuilds tables for some steps and needs to know them). On
/// PostgreSQL and SQLite all of them run in one transaction: they apply
/// together or not at all. MySQL commits each DDL statement, so a failure
/// there leaves the earlier statements applied; the error says which step
/// failed.
pub async fn apply(
    db: &crate::Database,
    connection: &str,
    before: &Snapshot,
    operations: &[Operation],
) -> crate::Result<()> {
    let named = db.connection(connection)?;
    let backend = named.backend();
    let steps = render_steps(operations, backend, &mut before.clone())?;
    let total = steps.len();
    let mut conn = named.session(&MIGRATION).await?;
    match execute_unit(&mut conn, steps).await {
        Ok(()) => Ok(()),
        Err(Stopped { done, error }) if backend == crate::Backend::MySql && done > 0 => {
            Err(crate::Error::Migration {
                message: format!(
                    "step {} of {total} failed on MySQL, where DDL commits as it goes: the steps before it are applied ({error})",
                    done + 1
                ),
            })
        }
        Err(Stopped { error, .. }) => Err(error),
    }
}

/// Whether a table called `name` exists in the connection's current schema.
pub(super) async fn table_exists(conn: &mut Session<'_>, name: &str) -> Result<bool> {
    let backend = conn.backend();
    let sql = match backend {
        Backend::Sqlite => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
        Backend::Postgres => {
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
        }
        Backend::MySql => {
            "SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
        }
    };
    let mut args = Args::new(backend);
    name.to_owned().bind(&mut args)?;
    Ok(conn
        .fetch_optional(
            &MIGRATION,
            crate::connection::conn::sql_static(sql),
            args,
            |_| Ok(()),
        )
        .await?
        .is_some())
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
