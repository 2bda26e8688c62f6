//! The traits the macro implements for each model and its columns.
//!
//! `#[orm::model]` implements [`Model`] (the schema as data, row decoding,
//! parameter binding) and, unless the model is read-only, [`WritableModel`].
//! Everything a model *does* (find, insert, query, ...) is a provided method
//! here, generic over the model, so each model adds little code of its own.

use std::sync::OnceLock;

pub(crate) mod crud;
pub(crate) mod defaults;
pub(crate) mod limits;
pub(crate) mod registry;
pub mod schema;
pub(crate) mod types;
pub mod upsert;

use crate::backend::Backend;
use crate::connection::driver::{Args, RowRef};
use crate::error::Result;
use crate::query::Select;
use crate::routing::{ConnectionName, Executor, Pending, WritableConnection};
use schema::TableSchema;
use types::{FieldType, ScalarType, ValueOf};

/// A struct annotated with `#[orm::model]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a model",
    label = "not a model",
    note = "annotate the struct with `#[orm::model]`"
)]
pub trait Model: Sized + Send + Sync + Unpin + 'static {
    /// The connection the model's table lives on.
    type Connection: ConnectionName;
    /// The primary key's type.
    type Key: ScalarType + Clone;
    /// The struct's name.
    const NAME: &'static str;
    /// The table, its columns and keys.
    const SCHEMA: &'static TableSchema;

    #[doc(hidden)]
    fn __sql_cache() -> &'static SqlCache;
    /// Decodes the model from `row`, its columns starting at `offset`.
    #[doc(hidden)]
    fn __decode(row: RowRef<'_>, offset: usize) -> Result<Self>;
    /// Binds every column an insert writes (all but an `auto` key), in order.
    #[doc(hidden)]
    fn __bind_insert(&self, args: &mut Args) -> Result<()>;
    /// Binds every column but the key, in order.
    #[doc(hidden)]
    fn __bind_update(&self, args: &mut Args) -> Result<()>;
    /// Binds the primary key.
    #[doc(hidden)]
    fn __bind_key(&self, args: &mut Args) -> Result<()>;
    /// Whether the row has not been inserted yet: its `auto` key is still 0.
    #[doc(hidden)]
    fn __is_new(&self) -> bool;
    /// The primary key, as a value usable in insert-then-select (MySQL).
    #[doc(hidden)]
    fn __key_value(&self) -> crate::model::types::Value;
    /// How lookups by key are cached: `#[orm::model(cache(ttl = N))]`.
    #[doc(hidden)]
    fn __cache() -> Option<crate::routing::cache::ModelCache<Self>> {
        None
    }

    /// A query over the model's table; see [`Select`].
    fn query() -> Select<Self> {
        Select::new()
    }

    /// The row with this primary key, if there is one.
    fn find<'e, E>(exec: E, key: impl ValueOf<Self::Key>) -> Pending<'e, Option<Self>>
    where
        E: Executor<'e, Self::Connection> + 'e,
    {
        Pending::new(crud::find::<Self, E>(exec, key.into_value()))
    }

    /// The row with this primary key, or [`Error::NotFound`](crate::Error::NotFound).
    fn get<'e, E>(exec: E, key: impl ValueOf<Self::Key>) -> Pending<'e, Self>
    where
        E: Executor<'e, Self::Connection> + 'e,
    {
        Pending::new(crud::get::<Self, E>(exec, key.into_value()))
    }

    /// Every row of the table, in primary key order.
    fn all<'e, E>(exec: E) -> Pending<'e, Vec<Self>>
    where
        E: Executor<'e, Self::Connection> + 'e,
    {
        Self::query()
            .order_by(crate::query::Ordering::<Self>::key_of())
            .all(exec)
    }

    /// The number of rows in the table.
    fn count<'e, E>(exec: E) -> Pending<'e, i64>
    where
        E: Executor<'e, Self::Connection> + 'e,
    {
        Self::query().count(exec)
    }
}

/// Models not marked `read_only`; implemented by `#[orm::model]`.
#[diagnostic::on_unimplemented(
    message = "model `{Self}` is read-only: it cannot be inserted, updated, saved or deleted",
    label = "a write to read-only model `{Self}`",
    note = "`{Self}` is marked `read_only` in `#[orm::model(...)]`: write its table through a model that is not `read_only`, or remove `read_only` if `{Self}` should be written"
)]
pub trait NotReadOnly: Model {}

/// A model that may be written: not `read_only`, on a connection that is not
/// `read_only`. The write operations of [`WriteOps`] require it.
///
/// The compiler reports a write to a model marked `read_only` with this
/// trait's message, and a write to a model on a read-only connection with
/// [`WritableConnection`]'s, which names the connection.
#[diagnostic::on_unimplemented(
    message = "model `{Self}` is read-only: it cannot be inserted, updated, saved or deleted",
    label = "a write to read-only model `{Self}`",
    note = "`{Self}` is marked `read_only` in `#[orm::model(...)]`: write its table through a model that is not `read_only`, or remove `read_only` if `{Self}` should be written"
)]
pub trait WritableModel: Model {}

impl<M> WritableModel for M
where
    M: NotReadOnly,
    M::Connection: WritableConnection,
{
}

/// Inserts, updates and deletes by key. Every model has these methods; they
/// compile only for a [`WritableModel`].
pub trait WriteOps: Model {
    /// Inserts the row and returns it as stored: with its generated key and
    /// database defaults. An `auto` key's value in `self` is ignored (to
    /// keep it, see [`insert_with_keys`](Self::insert_with_keys)).
    fn insert<'e, E>(&'e self, exec: E) -> Pending<'e, Self>
    where
        Self: WritableModel,
        E: Executor<'e, Self::Connection> + 'e,
    {
        Pending::new(crud::insert(self, exec))
    }

    /// Inserts the row (taken by value) and returns it as stored; see [`insert`](Self::insert).
    fn create<'e, E>(exec: E, row: Self) -> Pending<'e, Self>
    where
        Self: WritableModel,
        E: Executor<'e, Self::Connection> + 'e,
    {
        Pending::new(crud::create(row, exec))
    }

    /// Inserts many rows with as few statements as the backend's parameter
    /// limit allows, all or none; returns how many were inserted.
    fn insert_many<'e, E>(exec: E, rows: &'e [Self]) -> Pending<'e, u64>
    where
        Self: WritableModel,
        E: Executor<'e, Self::Connection> + 'e,
    {
        Pending::new(crud::insert_many(rows, exec))
    }

    /// Inserts rows with the keys they carry, where [`insert_many`](Self::insert_many)
    /// lets the database generate an `auto` key: for fixtures, imports and
    /// copies of another database. As `insert_many`: as few statements as
    /// the parameter limit allows, all or none; returns how many were
    /// inserted. The key generator moves past the largest key given, so the
    /// next plain insert does not collide: MySQL's `AUTO_INCREMENT` and
    /// SQLite's `AUTOINCREMENT` move by themselves; on PostgreSQL the
    /// identity sequence is set (`setval`) in the same transaction, and never
    /// moved back (nor by a rollback: sequences are not transactional, so a
    /// rolled-back import leaves a gap, never a collision). A key that is taken is an
    /// [`Error::UniqueViolation`](crate::Error::UniqueViolation) and nothing
    /// is inserted; a key of 0 (an `auto` key not set, which MySQL would
    /// replace by a generated one) is an
    /// [`Error::InvalidQuery`](crate::Error::InvalidQuery) and nothing is
    /// sent. For a model whose key is not `auto`, the same as `insert_many`.
    fn insert_with_keys<'e, E>(exec: E, rows: &'e [Self]) -> Pending<'e, u64>
    where
        Self: WritableModel,
        E: Executor<'e, Self::Connection> + 'e,
    {
        Pending::new(crud::insert_with_keys(rows, exec))
    }

    /// Writes every column of the row with this row's key;
    /// [`Error::NotFound`](crate::Error::NotFound) if there is no such row.
    fn update<'e, E>(&'e self, exec: E) -> Pending<'e, ()>
    where
        Self: WritableModel,
        E: Executor<'e, Self::Connection> + 'e,
    {
        Pending::new(crud::update(self, exec))
    }

    /// Inserts the row if it is new (an `auto` key still 0) or not in the
    /// table, else updates it; afterwards `self` is the row as stored. A
    /// row not in the table keeps a key it carries (an `auto` key too, as
    /// [`insert_with_keys`](Self::insert_with_keys) does, the generator
    /// moved past it): only a key of 0 is generated.
    fn save<'e, E>(&'e mut self, exec: E) -> Pending<'e, ()>
    where
        Self: WritableModel,
        E: Executor<'e, Self::Connection> + 'e,
    {
        Pending::new(crud::save(self, exec))
    }

    /// Inserts the row, or, when a row with its primary key is stored,
    /// overwrites every other column of that row; returns the row as
    /// stored (with its generated key). An `auto` key of 0 is generated (a
    /// plain insert: nothing to conflict with); any other key is kept, as
    /// by [`insert_with_keys`](Self::insert_with_keys). On MySQL, where
    /// `ON DUPLICATE KEY UPDATE` fires on any unique key, a row with a key
    /// of its own is refused with
    /// [`Error::InvalidQuery`](crate::Error::InvalidQuery) before anything
    /// is sent when the model has another unique key. For another conflict
    /// target, a `DO NOTHING` or many rows, see
    /// [`upsert_many`](Self::upsert_many); for the SQL, [`upsert`](mod@upsert).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
    /// use orm::prelude::*;
    ///
    /// #[orm::model(table = "tags")]
    /// #[derive(Debug, PartialEq)]
    /// pub struct Tag {
    ///     #[orm(primary_key, max_length = 32)]
    ///     pub code: String,
    ///     pub label: String,
    /// }
    ///
    /// let db = orm::Database::connect("sqlite::memory:").await?;
    /// db.create_table::<Tag>().await?;
    /// Tag::upsert(&db, Tag { code: "rs".into(), label: "Rust".into() }).await?;
    /// // SQLite and PostgreSQL: INSERT INTO "tags" ("code", "label") VALUES (?, ?)
    /// //   ON CONFLICT ("code") DO UPDATE SET "label" = excluded."label" RETURNING "code", "label"
    /// // MySQL: INSERT INTO `tags` (`code`, `label`) VALUES (?, ?)
    /// //   ON DUPLICATE KEY UPDATE `label` = VALUES(`label`), then a SELECT by key
    /// let stored = Tag::upsert(&db, Tag { code: "rs".into(), label: "Rust 2024".into() }).await?;
    /// assert_eq!(stored.label, "Rust 2024");
    /// assert_eq!(Tag::count(&db).await?, 1);
    /// # Ok(()) }
    /// ```
    fn upsert<'e, E>(exec: E, row: Self) -> Pending<'e, Self>
    where
        Self: WritableModel,
        E: Executor<'e, Self::Connection> + 'e,
    {
        Pending::new(upsert::upsert(row, exec))
    }

    /// An upsert of many rows: inserts each, or, on a conflict with a
    /// stored row on the conflict target, updates that row or leaves it.
    /// Configure it with [`on_conflict`](upsert::Upsert::on_conflict) (the
    /// primary key unless said), [`update`](upsert::Upsert::update) or
    /// [`do_nothing`](upsert::Upsert::do_nothing), then run it with
    /// [`execute`](upsert::Upsert::execute), which returns the rows
    /// written. See [`upsert`](mod@upsert) for the SQL on each backend.
    fn upsert_many(rows: &[Self]) -> upsert::Upsert<'_, Self>
    where
        Self: WritableModel,
    {
        upsert::Upsert::new(rows)
    }

    /// Deletes the row with this row's key;
    /// [`Error::NotFound`](crate::Error::NotFound) if there is no such row.
    fn delete<'e, E>(&'e self, exec: E) -> Pending<'e, ()>
    where
        Self: WritableModel,
        E: Executor<'e, Self::Connection> + 'e,
    {
        Pending::new(crud::delete(self, exec))
    }

    /// Deletes the row with this key; returns whether there was one.
    fn delete_by_key<'e, E>(exec: E, key: impl ValueOf<Self::Key>) -> Pending<'e, bool>
    where
        Self: WritableModel,
        E: Executor<'e, Self::Connection> + 'e,
    {
        Pending::new(crud::delete_by_key::<Self, E>(exec, key.into_value()))
    }
}

impl<M: Model> WriteOps for M {}

/// A column of a model: implemented by the unit structs the macro generates.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a column",
    label = "expected a column such as `order::id`",
    note = "columns are the unit structs `#[orm::model]` generates in the module named after the struct"
)]
pub trait Column: Copy + Send + Sync + 'static {
    /// The model the column belongs to.
    type Model: Model;
    /// The field's Rust type.
    type Type: FieldType;
    /// The column's name in the database.
    const NAME: &'static str;
    /// The column's position among the model's columns.
    const INDEX: usize;
}

/// A column of model `M`: what `order_by`, `group_by` and `set` accept.
/// Implemented by the macro for each column of each model.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a column of `{M}`",
    label = "expected a column of `{M}`",
    note = "use the columns of the model being queried, from the module named after it in snake case"
)]
pub trait ColumnOf<M>: Column {}

/// The fixed statements of one model for one backend, rendered once.
#[doc(hidden)]
#[derive(Debug)]
pub struct ModelSql {
    /// `SELECT <columns> FROM <table>`: a query with no clauses.
    pub select: String,
    /// `... WHERE <key> = ?`
    pub find: String,
    /// `INSERT INTO <table> (...) VALUES (...)` (with `RETURNING` where supported).
    pub insert: String,
    /// The `(?, ?, ...)` group of one row, for multi-row inserts.
    pub insert_row_width: usize,
    /// `UPDATE <table> SET ... WHERE <key> = ?`
    pub update: String,
    /// `DELETE FROM <table> WHERE <key> = ?`
    pub delete: String,
}

/// Per-backend cache of a model's fixed statements; one static per model.
#[doc(hidden)]
pub struct SqlCache([OnceLock<ModelSql>; 3]);

impl SqlCache {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        SqlCache([OnceLock::new(), OnceLock::new(), OnceLock::new()])
    }

    pub(crate) fn get(&'static self, backend: Backend, schema: &TableSchema) -> &'static ModelSql {
        self.0[backend.index()].get_or_init(|| crate::query::render::model_sql(backend, schema))
    }
}
