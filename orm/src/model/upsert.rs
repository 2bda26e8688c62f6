//! Upsert: insert rows, or, where a row conflicts with a stored one on the
//! primary key or a unique key, update the stored row or leave it as it is.
//!
//! Two entry points on every writable model ([`WriteOps`](super::WriteOps)):
//!
//! - [`upsert`](super::WriteOps::upsert)`(exec, row)`: one row, conflict on
//!   the primary key, every other column updated; returns the row as stored.
//! - [`upsert_many`](super::WriteOps::upsert_many)`(&rows)`: an [`Upsert`]
//!   builder: [`on_conflict`](Upsert::on_conflict) names the conflict target
//!   (the primary key unless said), [`update`](Upsert::update) the columns to
//!   overwrite (all but the key and the target unless said) or
//!   [`do_nothing`](Upsert::do_nothing) keeps the stored row;
//!   [`execute`](Upsert::execute) runs it and returns a count of rows.
//!
//! # The SQL on each backend
//!
//! PostgreSQL and SQLite name the conflict target: `INSERT ... ON CONFLICT
//! (target) DO UPDATE SET c = excluded.c` or `DO NOTHING` (PostgreSQL manual,
//! "INSERT", section "ON CONFLICT Clause"; SQLite, "UPSERT"). MySQL and
//! MariaDB cannot name it: `INSERT ... ON DUPLICATE KEY UPDATE c = VALUES(c)`
//! fires on a conflict with *any* unique key (MySQL manual 15.2.7.2,
//! "INSERT ... ON DUPLICATE KEY UPDATE Statement"). The `AS new` row alias
//! of MySQL 8.0.19 is not used: MariaDB 10.11 does not have it, and
//! `VALUES(c)`, deprecated by MySQL 8.0.20 but still there, works on both.
//! "Do nothing" on MySQL is `ON DUPLICATE KEY UPDATE t = t` (a target column
//! set to itself), never `INSERT IGNORE`, which also turns other errors
//! (a NULL in a NOT NULL column, a value too long) into warnings.
//!
//! ```
//! use orm::prelude::*;
//! use orm::Backend;
//!
//! #[orm::model(table = "accounts")]
//! #[derive(Debug, PartialEq)]
//! pub struct Account {
//!     #[orm(primary_key, auto)]
//!     pub id: i64,
//!     #[orm(unique, max_length = 120)]
//!     pub email: String,
//!     pub name: String,
//!     pub total: i64,
//! }
//!
//! # fn shows<M: orm::WritableModel>(upsert: &orm::Upsert<'_, M>, backend: Backend, sql: &str) {
//! #     match upsert.statements(backend) {
//! #         Ok(statements) => assert_eq!(statements, [sql]),
//! #         // `cargo test -p orm` compiles in SQLite alone.
//! #         Err(orm::Error::BackendNotEnabled { .. }) => {}
//! #         Err(e) => panic!("{e}"),
//! #     }
//! # }
//! let rows = [Account { id: 0, email: "ada@example.com".into(), name: "Ada".into(), total: 5 }];
//! let upsert = Account::upsert_many(&rows)
//!     .on_conflict(account::email)
//!     .update((account::name, account::total));
//! shows(&upsert, Backend::Postgres,
//!     r#"INSERT INTO "accounts" ("email", "name", "total") VALUES ($1, $2, $3) ON CONFLICT ("email") DO UPDATE SET "name" = excluded."name", "total" = excluded."total""#);
//! shows(&upsert, Backend::Sqlite,
//!     r#"INSERT INTO "accounts" ("email", "name", "total") VALUES (?, ?, ?) ON CONFLICT ("email") DO UPDATE SET "name" = excluded."name", "total" = excluded."total""#);
//! shows(&upsert, Backend::MySql,
//!     "INSERT INTO `accounts` (`email`, `name`, `total`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE `name` = VALUES(`name`), `total` = VALUES(`total`)");
//!
//! let keep = Account::upsert_many(&rows).on_conflict(account::email).do_nothing();
//! shows(&keep, Backend::Postgres,
//!     r#"INSERT INTO "accounts" ("email", "name", "total") VALUES ($1, $2, $3) ON CONFLICT ("email") DO NOTHING"#);
//! shows(&keep, Backend::MySql,
//!     "INSERT INTO `accounts` (`email`, `name`, `total`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE `email` = `email`");
//! ```
//!
//! # The conflict target
//!
//! The primary key, a column declared `#[orm(unique)]`, or the columns of a
//! `unique(a, b)` index on the model, as a tuple in the index's order: what
//! PostgreSQL and SQLite accept as a target. Anything else does not compile
//! ([`UniqueKey`] is implemented by `#[orm::model]` for these alone).
//!
//! On MySQL, where any unique key fires, an upsert whose rows write another
//! unique key than the target is refused with [`Error::InvalidQuery`]
//! before anything is sent: a conflict on that other key would update the
//! row it conflicts with, where PostgreSQL and SQLite report
//! [`Error::UniqueViolation`]. Rows write the primary key unless it is
//! `auto` and left at 0, so upserting new rows (key 0) on a unique column is
//! fine on MySQL, as is an upsert by key of a model with no other unique
//! column.
//!
//! Two rows of one call with the same target values: SQLite and MySQL
//! take the rows in order (the second updates the row the first wrote);
//! PostgreSQL refuses the statement ("ON CONFLICT DO UPDATE command cannot
//! affect row a second time", SQLSTATE 21000) and nothing is written.
//!
//! # Rows with an `auto` key
//!
//! An `auto` key of 0 means "not inserted yet", as for
//! [`save`](super::WriteOps::save): such a row is inserted without its key,
//! which the database generates, so it cannot conflict on the key (with the
//! key as the target, it is a plain `INSERT`: a conflict on a unique column
//! is an [`Error::UniqueViolation`] on every backend). A row with any other
//! key is written with that key, as
//! [`insert_with_keys`](super::WriteOps::insert_with_keys) does: inserted
//! under it when it is not stored (PostgreSQL's identity sequence moved past
//! it in the same transaction), updated when it is. Rows of both kinds in
//! one call go in two statements (those without a key first).
//!
//! # The count
//!
//! [`Upsert::execute`] returns the rows written, counted as PostgreSQL does:
//! 1 for each row inserted, 1 for each stored row updated (even to the
//! values it had), 0 for each row left alone by
//! [`do_nothing`](Upsert::do_nothing). SQLite counts the same way. MySQL
//! reports 1 per row inserted and 2 per row updated, and, as sqlx connects
//! with `CLIENT_FOUND_ROWS`, 1 for a row found but left as it was (MySQL
//! manual, "INSERT ... ON DUPLICATE KEY UPDATE Statement", and
//! `mysql_affected_rows()`): with an update, every row sent is either
//! inserted or updated, and the count is normalised to the number of rows
//! sent. With `do_nothing`, an inserted row and a row left alone both
//! count 1 on MySQL, and no statement tells them apart: the count there is
//! the number of rows sent, not the number inserted.

use super::crud::{self, find_on, move_sequence_past_keys, read_of, sql_of, write_of};
use super::{ColumnOf, Model, WritableModel};
use crate::backend::Backend;
use crate::connection::conn::sql_owned;
use crate::connection::driver::Args;
use crate::error::{Error, Result};
use crate::query::render::{insert_columns, insert_head, Writer};
use crate::routing::{Executor, Operation, Pending, Session};

/// Columns of model `M` named by an upsert: one column handle, or a tuple
/// of them (up to 8); the conflict target of
/// [`on_conflict`](Upsert::on_conflict) and the columns of
/// [`update`](Upsert::update).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a column of `{M}` nor a tuple of its columns",
    label = "expected a column of `{M}`, or a tuple of them",
    note = "name columns of `{M}`, from the module named after `{M}` in snake case: one column, or a tuple of them (`(module::a, module::b)`)"
)]
pub trait ColumnList<M>: Send {
    /// Appends the column names, in order.
    #[doc(hidden)]
    fn __push_names(names: &mut Vec<&'static str>);
}

impl<M, C: ColumnOf<M>> ColumnList<M> for C {
    fn __push_names(names: &mut Vec<&'static str>) {
        names.push(C::NAME);
    }
}

/// Tuples of 1 to 8 columns: the impl for all the names given, then for
/// each shorter tail.
macro_rules! tuple_columns {
    () => {};
    ($first:ident $(, $rest:ident)*) => {
        impl<M, $first: ColumnOf<M> $(, $rest: ColumnOf<M>)*> ColumnList<M> for ($first, $($rest,)*) {
            fn __push_names(names: &mut Vec<&'static str>) {
                names.push($first::NAME);
                $(names.push($rest::NAME);)*
            }
        }
        tuple_columns!($($rest),*);
    };
}
tuple_columns!(A, B, C, D, E, F, G, H);

/// What an upsert may name as its conflict target on model `M`: the
/// primary key, a column declared `#[orm(unique)]`, or the columns of a
/// `unique(a, b)` index on the model as a tuple in the index's order.
/// Implemented by `#[orm::model]`; naming anything else is a compile error.
/// An impl written by hand for other columns is refused when the upsert
/// runs ([`Error::InvalidQuery`]): the table has no such unique key.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a unique key of `{M}`, so it cannot be the conflict target of an upsert",
    label = "neither the primary key, a unique column, nor the columns of a unique index",
    note = "name the primary key, a column declared `#[orm(unique)]`, or the columns of a `unique(a, b)` index on the model as a tuple in the index's order; or declare the column unique"
)]
pub trait UniqueKey<M>: ColumnList<M> {}

/// What an upsert does with a stored row that a new row conflicts with.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Action {
    /// Overwrites every column but the primary key and the conflict target.
    UpdateAll,
    /// Overwrites these columns.
    Update(Vec<&'static str>),
    /// Leaves the stored row as it is.
    Nothing,
}

/// An upsert of many rows; made by
/// [`WriteOps::upsert_many`](super::WriteOps::upsert_many), run by
/// [`execute`](Self::execute). See the [module docs](self) for the SQL,
/// the conflict target, `auto` keys and the count.
#[must_use = "an upsert does nothing until `execute` runs it"]
pub struct Upsert<'r, M: Model> {
    rows: &'r [M],
    target: Option<Vec<&'static str>>,
    action: Action,
}

impl<'r, M: Model> Upsert<'r, M> {
    pub(crate) fn new(rows: &'r [M]) -> Self {
        Upsert {
            rows,
            target: None,
            action: Action::UpdateAll,
        }
    }

    /// The conflict target: the primary key (the default), a unique column,
    /// or the columns of a `unique(a, b)` index as a tuple in the index's
    /// order; anything else does not compile (see [`UniqueKey`]). On MySQL,
    /// any unique key fires, see the [module docs](self#the-conflict-target).
    pub fn on_conflict<T: UniqueKey<M>>(mut self, target: T) -> Self {
        let _ = target;
        let mut names = Vec::new();
        T::__push_names(&mut names);
        self.target = Some(names);
        self
    }

    /// On a conflict, overwrites these columns of the stored row with the
    /// new row's values (`SET c = excluded.c`; MySQL `c = VALUES(c)`); the
    /// other columns keep their stored values. Without this call, every
    /// column but the primary key and the conflict target is overwritten.
    /// The primary key is never overwritten: naming it is
    /// [`Error::InvalidQuery`] when the upsert runs.
    pub fn update<U: ColumnList<M>>(mut self, columns: U) -> Self {
        let _ = columns;
        let mut names = Vec::new();
        U::__push_names(&mut names);
        self.action = Action::Update(names);
        self
    }

    /// On a conflict, leaves the stored row as it is (`DO NOTHING`; MySQL
    /// `ON DUPLICATE KEY UPDATE t = t`): inserts only the rows that do not
    /// conflict.
    pub fn do_nothing(mut self) -> Self {
        self.action = Action::Nothing;
        self
    }

    /// Runs the upsert: as few statements as the backend's parameter limit
    /// allows (see [`insert_many`](super::WriteOps::insert_many)), all or
    /// none; returns the rows written (see [the count](self#the-count)).
    /// No rows: nothing is sent and the count is 0.
    ///
    /// Errors: [`Error::InvalidQuery`] for an update of the primary key, for
    /// a conflict target that is not a unique key of the table (only
    /// through a [`UniqueKey`] impl written by hand), and on MySQL for rows that write another unique key than the target
    /// (all before anything is sent); [`Error::UnrepresentableValue`] for a
    /// value the backend cannot store; [`Error::UniqueViolation`] for a
    /// conflict on another unique key than the target (PostgreSQL, SQLite),
    /// and the errors of any write.
    pub fn execute<'e, E>(self, exec: E) -> Pending<'e, u64>
    where
        'r: 'e,
        E: Executor<'e, M::Connection> + 'e,
    {
        Pending::new(async move {
            let plan = Plan::of::<M>(self.target.as_deref(), &self.action)?;
            if self.rows.is_empty() {
                return Ok(0);
            }
            let op = write_of::<M>("INSERT");
            let mut session = exec.__session(&op).await?;
            let backend = session.backend();
            let statements = statements::<M>(backend, self.rows, &plan, false)?;
            let move_sequence = moves_sequence::<M>(backend, self.rows);
            let atomic = statements.len() > 1 || move_sequence;
            if atomic {
                session.begin().await?;
            }
            let outcome = run::<M>(&mut session, &op, statements, move_sequence).await;
            if atomic {
                match outcome {
                    Ok(_) => session.commit().await?,
                    Err(_) => session.rollback().await?,
                }
            }
            outcome
        })
    }

    /// The statements [`execute`](Self::execute) sends on `backend`, in
    /// order, without the transaction around several of them or the
    /// PostgreSQL sequence update after rows with `auto` keys of their own:
    /// to show or log the SQL. Values are bound, never in the text.
    ///
    /// Errors: those `execute` returns before sending anything, and
    /// [`Error::BackendNotEnabled`] for a backend whose cargo feature is off.
    pub fn statements(&self, backend: Backend) -> Result<Vec<String>> {
        let enabled = match backend {
            Backend::Sqlite => cfg!(feature = "sqlite"),
            Backend::Postgres => cfg!(feature = "postgres"),
            Backend::MySql => cfg!(feature = "mysql"),
        };
        if !enabled {
            return Err(Error::BackendNotEnabled {
                connection: <M::Connection as crate::routing::ConnectionName>::NAME.to_owned(),
                backend: backend.name(),
                feature: backend.feature(),
            });
        }
        let plan = Plan::of::<M>(self.target.as_deref(), &self.action)?;
        Ok(statements::<M>(backend, self.rows, &plan, false)?
            .into_iter()
            .map(|s| s.sql)
            .collect())
    }
}

/// The checked shape of an upsert: its conflict target and the columns it
/// overwrites (none: do nothing).
struct Plan {
    target: Vec<&'static str>,
    /// Whether the target is the primary key.
    target_is_key: bool,
    set: Vec<&'static str>,
}

impl Plan {
    fn of<M: Model>(target: Option<&[&'static str]>, action: &Action) -> Result<Plan> {
        let schema = M::SCHEMA;
        let key = schema.primary_key().name;
        let mut target = target.map_or_else(|| vec![key], <[_]>::to_vec);
        dedup(&mut target);
        let keys = unique_keys::<M>();
        if !keys.iter().any(|k| same_columns(k, &target)) {
            return Err(Error::InvalidQuery {
                message: format!(
                    "the conflict target {} of an upsert of `{}` is neither its primary key nor a unique key, \
                     so no conflict could be detected on it: name one of {}, or declare the column \
                     `#[orm(unique)]` (several columns: `unique(a, b)` on the model)",
                    list(&target),
                    M::NAME,
                    keys.iter().map(|k| list(k)).collect::<Vec<_>>().join(", ")
                ),
            });
        }
        let target_is_key = target == [key];
        let mut set = match action {
            Action::UpdateAll => schema
                .columns
                .iter()
                .map(|c| c.name)
                .filter(|c| *c != key && !target.contains(c))
                .collect(),
            Action::Update(columns) => columns.clone(),
            Action::Nothing => Vec::new(),
        };
        dedup(&mut set);
        if set.contains(&key) {
            return Err(Error::InvalidQuery {
                message: format!(
                    "an upsert of `{}` cannot update the primary key `{key}`: it identifies the stored row; \
                     leave it out of `update(..)`",
                    M::NAME
                ),
            });
        }
        Ok(Plan {
            target,
            target_is_key,
            set,
        })
    }
}

/// Removes repeated names, keeping the first of each.
fn dedup(names: &mut Vec<&'static str>) {
    let mut seen = Vec::with_capacity(names.len());
    names.retain(|n| {
        let new = !seen.contains(n);
        seen.push(*n);
        new
    });
}

/// `(a, b)` in backticks, for messages.
fn list(columns: &[&str]) -> String {
    let names: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
    match names.len() {
        1 => names[0].clone(),
        _ => format!("({})", names.join(", ")),
    }
}

/// The unique keys of `M`'s table: the primary key, each unique column,
/// each unique index.
fn unique_keys<M: Model>() -> Vec<Vec<&'static str>> {
    let schema = M::SCHEMA;
    let mut keys = vec![vec![schema.primary_key().name]];
    keys.extend(
        schema
            .columns
            .iter()
            .filter(|c| c.unique && !c.primary_key)
            .map(|c| vec![c.name]),
    );
    keys.extend(
        schema
            .indexes
            .iter()
            .filter(|i| i.unique)
            .map(|i| i.columns.to_vec()),
    );
    keys
}

/// Whether `a` and `b` name the same columns, in any order.
fn same_columns(a: &[&str], b: &[&str]) -> bool {
    a.len() == b.len() && a.iter().all(|c| b.contains(c))
}

/// MySQL fires `ON DUPLICATE KEY UPDATE` on every unique key: refuses rows
/// that write another unique key than the target (the primary key is
/// written unless it is `auto` and `key_written` is false).
fn check_mysql_keys<M: Model>(plan: &Plan, key_written: bool) -> Result<()> {
    let key = M::SCHEMA.primary_key();
    for other in unique_keys::<M>() {
        let written = key_written || !key.auto_increment || !other.contains(&key.name);
        if !written || same_columns(&other, &plan.target) {
            continue;
        }
        let hint = if other == [key.name] && key.auto_increment {
            format!(
                "; rows new to the table can leave their `auto` key `{}` at 0 to have it generated, \
                 and are then upserted on {} alone",
                key.name,
                list(&plan.target)
            )
        } else {
            String::new()
        };
        return Err(Error::InvalidQuery {
            message: format!(
                "an upsert of `{}` on {} is refused before sending: `ON DUPLICATE KEY UPDATE` fires on a \
                 conflict with any unique key, not only the conflict target {}, and these rows also \
                 write the unique key {}, where a conflict would update that other row (PostgreSQL and \
                 SQLite report a unique violation); upsert on {} instead, or insert and update in a \
                 transaction{hint}",
                M::NAME,
                Backend::MySql.name(),
                list(&plan.target),
                list(&other),
                list(&other),
            ),
        });
    }
    Ok(())
}

/// One statement of an upsert, with what its count means.
struct Statement {
    sql: String,
    args: Args,
    /// Rows it sends.
    rows: usize,
    /// MySQL `ON DUPLICATE KEY UPDATE` with assignments: every row sent is
    /// inserted or updated; the server's count (2 per update) is replaced
    /// by the rows sent.
    count_rows_sent: bool,
}

/// Whether the upsert of `rows` moves PostgreSQL's identity sequence: rows
/// with `auto` keys of their own were written.
fn moves_sequence<M: Model>(backend: Backend, rows: &[M]) -> bool {
    backend == Backend::Postgres
        && M::SCHEMA.primary_key().auto_increment
        && rows.iter().any(|r| !r.__is_new())
}

/// The statements of an upsert of `rows`: those with an `auto` key of 0
/// (inserted without it), then the others, each group in as few
/// statements as the parameter limit allows; with `returning`, each
/// returns the rows as stored where the backend can (PostgreSQL, SQLite).
fn statements<M: Model>(
    backend: Backend,
    rows: &[M],
    plan: &Plan,
    returning: bool,
) -> Result<Vec<Statement>> {
    let schema = M::SCHEMA;
    let auto_key = schema.primary_key().auto_increment;
    let (new, keyed): (Vec<&M>, Vec<&M>) = rows.iter().partition(|r| r.__is_new());
    let mut out = Vec::new();
    for (group, keyed) in [(new, false), (keyed, true)] {
        if group.is_empty() {
            continue;
        }
        // A generated key conflicts with nothing: with the key as the
        // target, rows without one are a plain insert.
        let conflict = keyed || !plan.target_is_key;
        let with_key = keyed && auto_key;
        if conflict && backend == Backend::MySql {
            check_mysql_keys::<M>(plan, keyed)?;
        }
        let width = insert_columns(schema).count() + usize::from(with_key);
        if width == 0 {
            // Only an `auto` key, generated: `DEFAULT VALUES`, one row each.
            for _ in &group {
                out.push(Statement {
                    sql: sql_of::<M>(backend).insert.clone(),
                    args: Args::new(backend),
                    rows: 1,
                    count_rows_sent: false,
                });
            }
            continue;
        }
        for chunk in group.chunks((backend.max_params() / width).max(1)) {
            let mut w = Writer::new(backend);
            insert_head(&mut w, schema, with_key);
            crud::push_rows(&mut w, chunk.iter().copied(), width, with_key)?;
            if conflict {
                conflict_clause(&mut w, plan);
            }
            if returning && backend.insert_returning() {
                w.push(" RETURNING ");
                for (i, column) in schema.columns.iter().enumerate() {
                    if i > 0 {
                        w.push(", ");
                    }
                    w.ident(column.name);
                }
            }
            let (sql, args) = w.finish();
            out.push(Statement {
                sql,
                args,
                rows: chunk.len(),
                count_rows_sent: conflict && backend == Backend::MySql && !plan.set.is_empty(),
            });
        }
    }
    Ok(out)
}

/// ` ON CONFLICT (...) DO UPDATE SET ...` / ` DO NOTHING`; MySQL
/// ` ON DUPLICATE KEY UPDATE ...`.
fn conflict_clause(w: &mut Writer, plan: &Plan) {
    let comma_separated = |w: &mut Writer, columns: &[&str], each: &dyn Fn(&mut Writer, &str)| {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            each(w, column);
        }
    };
    if w.backend == Backend::MySql {
        w.push(" ON DUPLICATE KEY UPDATE ");
        if plan.set.is_empty() {
            // Do nothing: a column set to itself changes no row.
            w.ident(plan.target[0]);
            w.push(" = ");
            w.ident(plan.target[0]);
        } else {
            comma_separated(w, &plan.set, &|w, c| {
                w.ident(c);
                w.push(" = VALUES(");
                w.ident(c);
                w.push(")");
            });
        }
        return;
    }
    w.push(" ON CONFLICT (");
    comma_separated(w, &plan.target, &|w, c| w.ident(c));
    w.push(")");
    if plan.set.is_empty() {
        w.push(" DO NOTHING");
    } else {
        w.push(" DO UPDATE SET ");
        comma_separated(w, &plan.set, &|w, c| {
            w.ident(c);
            w.push(" = excluded.");
            w.ident(c);
        });
    }
}

/// Sends `statements` in order, then moves PostgreSQL's sequence when
/// `move_sequence`; the rows written.
async fn run<M: Model>(
    session: &mut Session<'_>,
    op: &Operation,
    statements: Vec<Statement>,
    move_sequence: bool,
) -> Result<u64> {
    let mut written = 0;
    for statement in statements {
        let done = session
            .execute(op, sql_owned(statement.sql), statement.args)
            .await?;
        written += match statement.count_rows_sent {
            true => statement.rows as u64,
            false => done.rows_affected,
        };
    }
    if move_sequence {
        move_sequence_past_keys::<M>(session, op).await?;
    }
    Ok(written)
}

/// [`WriteOps::upsert`](super::WriteOps::upsert): one row, conflict on the
/// primary key, every other column overwritten; the row as stored.
pub(crate) async fn upsert<'e, M, E>(row: M, exec: E) -> Result<M>
where
    M: WritableModel,
    E: Executor<'e, M::Connection> + 'e,
{
    if row.__is_new() {
        // A key to be generated conflicts with nothing.
        return crud::create(row, exec).await;
    }
    let plan = Plan::of::<M>(None, &Action::UpdateAll)?;
    let op = write_of::<M>("INSERT");
    let mut session = exec.__session(&op).await?;
    let backend = session.backend();
    let mut statements = statements::<M>(backend, std::slice::from_ref(&row), &plan, true)?;
    let statement = statements.pop().ok_or_else(|| Error::InvalidQuery {
        message: format!("an upsert of one `{}` made no statement", M::NAME),
    })?;
    let move_sequence = moves_sequence::<M>(backend, std::slice::from_ref(&row));
    if move_sequence {
        session.begin().await?;
    }
    let outcome = upsert_on(&row, &mut session, &op, statement, move_sequence).await;
    if move_sequence {
        match outcome {
            Ok(_) => session.commit().await?,
            Err(_) => session.rollback().await?,
        }
    }
    outcome
}

/// Sends the one statement of [`upsert`] and reads the row back.
async fn upsert_on<M: WritableModel>(
    row: &M,
    session: &mut Session<'_>,
    op: &Operation,
    statement: Statement,
    move_sequence: bool,
) -> Result<M> {
    let sql = sql_owned(statement.sql);
    let stored = if session.backend().insert_returning() {
        session
            .fetch_optional(op, sql, statement.args, |r| M::__decode(r, 0))
            .await?
    } else {
        session.execute(op, sql, statement.args).await?;
        None
    };
    if move_sequence {
        move_sequence_past_keys::<M>(session, op).await?;
    }
    match stored {
        Some(stored) => Ok(stored),
        // MySQL has no RETURNING, and `DO NOTHING` (nothing but the key
        // to update) returns no row: read it by its key.
        None => find_on::<M>(session, &read_of::<M>(), &row.__key_value())
            .await?
            .ok_or(Error::NotFound { model: M::NAME }),
    }
}
