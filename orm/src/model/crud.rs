//! The fixed operations every model has: find, insert, update, delete by key.
//!
//! Generic over the model; the provided methods of [`Model`] and
//! [`WritableModel`] call these. The SQL comes from the model's per-backend
//! cache, so it is built once per process.

use super::types::Value;
use super::{Model, ModelSql, WritableModel};
use crate::backend::Backend;
use crate::connection::conn::{sql_owned, sql_static};
use crate::connection::driver::Args;
use crate::error::{Error, Result};
use crate::query::render::{insert_head, insert_row, Writer};
use crate::routing::{Executor, Operation, Session};

pub(crate) fn sql_of<M: Model>(backend: Backend) -> &'static ModelSql {
    M::__sql_cache().get(backend, M::SCHEMA)
}

/// A read of `M`'s table.
pub(crate) fn read_of<M: Model>() -> Operation {
    Operation::read(M::NAME, &M::SCHEMA.name)
}

/// A write of `M`'s table with `verb`.
pub(crate) fn write_of<M: Model>(verb: &'static str) -> Operation {
    Operation::write(verb, M::NAME, &M::SCHEMA.name)
}

/// A delete from `M`'s table: a write of the tables the database changes
/// with it too (foreign keys with `on_delete = "cascade"` or `"set null"`),
/// so that the query cache invalidates them.
pub(crate) fn delete_of<M: Model>() -> Operation {
    let mut op = write_of::<M>("DELETE");
    let tables = crate::model::registry::changed_by_delete(M::SCHEMA);
    if tables.len() > 1 {
        op.tables = tables.into();
    }
    op
}

pub(crate) async fn find<'e, M, E>(exec: E, key: Value) -> Result<Option<M>>
where
    M: Model,
    E: Executor<'e, M::Connection> + 'e,
{
    let op = &read_of::<M>();
    if let Some(route) = M::__cache().and_then(|_| exec.__cache_route()) {
        let cache = M::__cache().expect("checked above");
        // Boxed: the cached path's state (the store's calls, the waiters of
        // a coalesced miss) would otherwise sit inside every find's future,
        // cached or not, and be copied each time the future moves.
        return Box::pin(route.read(
            op,
            Some(cache.ttl),
            cache.codec,
            |backend| {
                let mut args = Args::new(backend);
                key.bind(&mut args)?;
                let mut values = Vec::new();
                key.encode_key(&mut values);
                Ok((sql_static(&sql_of::<M>(backend).find), args, values))
            },
            |mut session, sql, args| async move {
                session
                    .fetch_optional(op, sql, args, |row| M::__decode(row, 0))
                    .await
            },
        ))
        .await;
    }
    let mut session = exec.__session(op).await?;
    find_on::<M>(&mut session, op, &key).await
}

pub(crate) async fn find_on<M: Model>(
    session: &mut Session<'_>,
    op: &Operation,
    key: &Value,
) -> Result<Option<M>> {
    let backend = session.backend();
    let mut args = Args::new(backend);
    key.bind(&mut args)?;
    session
        .fetch_optional(op, sql_static(&sql_of::<M>(backend).find), args, |row| {
            M::__decode(row, 0)
        })
        .await
}

pub(crate) async fn get<'e, M, E>(exec: E, key: Value) -> Result<M>
where
    M: Model,
    E: Executor<'e, M::Connection> + 'e,
{
    find::<M, E>(exec, key)
        .await?
        .ok_or(Error::NotFound { model: M::NAME })
}

pub(crate) async fn insert<'e, M, E>(row: &'e M, exec: E) -> Result<M>
where
    M: WritableModel,
    E: Executor<'e, M::Connection> + 'e,
{
    let op = write_of::<M>("INSERT");
    let mut session = exec.__session(&op).await?;
    insert_on(row, &mut session, &op).await
}

pub(crate) async fn insert_on<M: WritableModel>(
    row: &M,
    session: &mut Session<'_>,
    op: &Operation,
) -> Result<M> {
    let backend = session.backend();
    let sql = sql_of::<M>(backend);
    let mut args = Args::new(backend);
    row.__bind_insert(&mut args)?;
    if backend.insert_returning() {
        return session
            .fetch_optional(op, sql_static(&sql.insert), args, |r| M::__decode(r, 0))
            .await?
            .ok_or(Error::NotFound { model: M::NAME });
    }
    // MySQL has no RETURNING: read the row back by its key on the same connection.
    let done = session.execute(op, sql_static(&sql.insert), args).await?;
    let key = match (M::SCHEMA.primary_key().auto_increment, done.last_insert_id) {
        (true, Some(id)) => Value::I64(id),
        _ => row.__key_value(),
    };
    find_on::<M>(session, &read_of::<M>(), &key)
        .await?
        .ok_or(Error::NotFound { model: M::NAME })
}

pub(crate) async fn create<'e, M, E>(row: M, exec: E) -> Result<M>
where
    M: WritableModel,
    E: Executor<'e, M::Connection> + 'e,
{
    let op = write_of::<M>("INSERT");
    let mut session = exec.__session(&op).await?;
    insert_on(&row, &mut session, &op).await
}

pub(crate) async fn save<'e, M, E>(row: &'e mut M, exec: E) -> Result<()>
where
    M: WritableModel,
    E: Executor<'e, M::Connection> + 'e,
{
    let update = write_of::<M>("UPDATE");
    let mut session = exec.__session(&update).await?;
    if !row.__is_new() {
        match update_on(&*row, &mut session, &update).await {
            Err(Error::NotFound { .. }) => {}
            other => return other,
        }
        // A row with an `auto` key of its own that is not stored keeps its
        // key, as `insert_with_keys` does, never a generated one.
        if M::SCHEMA.primary_key().auto_increment {
            let insert = write_of::<M>("INSERT");
            insert_rows_on(&mut session, &insert, std::slice::from_ref(&*row), true).await?;
            let key = row.__key_value();
            *row = find_on::<M>(&mut session, &read_of::<M>(), &key)
                .await?
                .ok_or(Error::NotFound { model: M::NAME })?;
            return Ok(());
        }
    }
    *row = insert_on(&*row, &mut session, &write_of::<M>("INSERT")).await?;
    Ok(())
}

pub(crate) async fn insert_many<'e, M, E>(rows: &'e [M], exec: E) -> Result<u64>
where
    M: WritableModel,
    E: Executor<'e, M::Connection> + 'e,
{
    insert_rows(rows, exec, false).await
}

pub(crate) async fn insert_with_keys<'e, M, E>(rows: &'e [M], exec: E) -> Result<u64>
where
    M: WritableModel,
    E: Executor<'e, M::Connection> + 'e,
{
    if let Some(i) = rows.iter().position(M::__is_new) {
        return Err(Error::InvalidQuery {
            message: format!(
                "row {i} given to `{}::insert_with_keys` has key 0, which means \"not inserted yet\" \
                 (MySQL would generate a key in its place): give every row its key, or insert it with `insert`",
                M::NAME
            ),
        });
    }
    insert_rows(rows, exec, M::SCHEMA.primary_key().auto_increment).await
}

/// Inserts `rows`, with their `auto` keys when `with_keys`, in as few
/// statements as the parameter limit allows, all or none.
async fn insert_rows<'e, M, E>(rows: &'e [M], exec: E, with_keys: bool) -> Result<u64>
where
    M: WritableModel,
    E: Executor<'e, M::Connection> + 'e,
{
    if rows.is_empty() {
        return Ok(0);
    }
    let op = write_of::<M>("INSERT");
    let mut session = exec.__session(&op).await?;
    insert_rows_on(&mut session, &op, rows, with_keys).await
}

/// [`insert_rows`] on a session already taken.
async fn insert_rows_on<M: WritableModel>(
    session: &mut Session<'_>,
    op: &Operation,
    rows: &[M],
    with_keys: bool,
) -> Result<u64> {
    let backend = session.backend();
    let width = sql_of::<M>(backend).insert_row_width + usize::from(with_keys);
    let per_statement = match width {
        0 => 1,
        w => (backend.max_params() / w).max(1),
    };
    let chunks: Vec<&[M]> = rows.chunks(per_statement).collect();
    // PostgreSQL's identity sequence does not move when keys are given:
    // it is moved past them in the same transaction.
    let move_sequence = with_keys && backend == Backend::Postgres;
    // More than one statement: all of them or none (a savepoint inside a transaction).
    let atomic = chunks.len() > 1 || move_sequence;
    if atomic {
        session.begin().await?;
    }
    let mut outcome = Ok(0);
    for chunk in chunks {
        match insert_chunk::<M>(session, op, width, with_keys, chunk).await {
            Ok(n) => outcome = outcome.map(|sum| sum + n),
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    if move_sequence && outcome.is_ok() {
        if let Err(e) = move_sequence_past_keys::<M>(session, op).await {
            outcome = Err(e);
        }
    }
    if atomic {
        match outcome {
            Ok(_) => session.commit().await?,
            Err(_) => session.rollback().await?,
        }
    }
    outcome
}

/// PostgreSQL: sets the key's identity sequence to the largest key, so that
/// the next generated key follows it; never moves it back (`setval`,
/// `pg_get_serial_sequence` and `pg_sequence_last_value`: PostgreSQL manual,
/// "Sequence Manipulation Functions" and "System Information Functions").
pub(crate) async fn move_sequence_past_keys<M: Model>(
    session: &mut Session<'_>,
    op: &Operation,
) -> Result<()> {
    let backend = session.backend();
    let key = M::SCHEMA.primary_key().name;
    let mut table = String::new();
    backend.push_ident(&mut table, M::SCHEMA.name);
    let mut column = String::new();
    backend.push_ident(&mut column, key);
    let sql = format!(
        "SELECT setval(s, m) FROM (SELECT pg_get_serial_sequence($1, $2) AS s, \
         (SELECT MAX({column}) FROM {table}) AS m) AS x \
         WHERE s IS NOT NULL AND m > COALESCE(pg_sequence_last_value(s::regclass), 0)"
    );
    let mut args = Args::new(backend);
    Value::Text(table).bind(&mut args)?;
    Value::Text(key.to_owned()).bind(&mut args)?;
    session
        .fetch_optional(op, sql_owned(sql), args, |_| Ok(()))
        .await
        .map(drop)
}

async fn insert_chunk<M: WritableModel>(
    session: &mut Session<'_>,
    op: &Operation,
    width: usize,
    with_keys: bool,
    rows: &[M],
) -> Result<u64> {
    let backend = session.backend();
    let mut w = Writer::new(backend);
    if width == 0 {
        // Only an auto key: one `DEFAULT VALUES` insert per row.
        let mut n = 0;
        for _ in rows {
            n += session
                .execute(
                    op,
                    sql_static(&sql_of::<M>(backend).insert),
                    Args::new(backend),
                )
                .await?
                .rows_affected;
        }
        return Ok(n);
    }
    insert_head(&mut w, M::SCHEMA, with_keys);
    push_rows(&mut w, rows, width, with_keys)?;
    let (sql, args) = w.finish();
    Ok(session
        .execute(op, sql_owned(sql), args)
        .await?
        .rows_affected)
}

/// The row groups of a multi-row insert, after [`insert_head`]: one
/// `(?, ...)` of `width` placeholders per row, its values bound (an `auto`
/// key first, `with_key`).
pub(crate) fn push_rows<'a, M: Model + 'a>(
    w: &mut Writer,
    rows: impl IntoIterator<Item = &'a M>,
    width: usize,
    with_key: bool,
) -> Result<()> {
    for (i, row) in rows.into_iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        insert_row(w, width);
        if with_key {
            row.__bind_key(&mut w.args)?;
        }
        row.__bind_insert(&mut w.args)?;
    }
    Ok(())
}

pub(crate) async fn update<'e, M, E>(row: &'e M, exec: E) -> Result<()>
where
    M: WritableModel,
    E: Executor<'e, M::Connection> + 'e,
{
    let op = write_of::<M>("UPDATE");
    let mut session = exec.__session(&op).await?;
    update_on(row, &mut session, &op).await
}

async fn update_on<M: WritableModel>(
    row: &M,
    session: &mut Session<'_>,
    op: &Operation,
) -> Result<()> {
    let backend = session.backend();
    if M::SCHEMA.columns.len() == 1 {
        // Nothing but the key: the row is already what it would be written as.
        return match find_on::<M>(session, &read_of::<M>(), &row.__key_value()).await? {
            Some(_) => Ok(()),
            None => Err(Error::NotFound { model: M::NAME }),
        };
    }
    let mut args = Args::new(backend);
    row.__bind_update(&mut args)?;
    row.__bind_key(&mut args)?;
    let done = session
        .execute(op, sql_static(&sql_of::<M>(backend).update), args)
        .await?;
    match done.rows_affected {
        0 => Err(Error::NotFound { model: M::NAME }),
        _ => Ok(()),
    }
}

pub(crate) async fn delete<'e, M, E>(row: &'e M, exec: E) -> Result<()>
where
    M: WritableModel,
    E: Executor<'e, M::Connection> + 'e,
{
    match delete_by_key::<M, E>(exec, row.__key_value()).await? {
        true => Ok(()),
        false => Err(Error::NotFound { model: M::NAME }),
    }
}

pub(crate) async fn delete_by_key<'e, M, E>(exec: E, key: Value) -> Result<bool>
where
    M: WritableModel,
    E: Executor<'e, M::Connection> + 'e,
{
    let op = delete_of::<M>();
    let mut session = exec.__session(&op).await?;
    let backend = session.backend();
    let mut args = Args::new(backend);
    key.bind(&mut args)?;
    let done = session
        .execute(&op, sql_static(&sql_of::<M>(backend).delete), args)
        .await?;
    Ok(done.rows_affected > 0)
}
