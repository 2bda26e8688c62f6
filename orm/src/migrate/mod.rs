//! Schema snapshots and their differences: the core of generated migrations.
//!
//! A [`Snapshot`] is the schema of one connection as plain, serializable
//! data, taken from the models' [`TableSchema`]s. [`diff`] compares two
//! snapshots and returns the [`Operation`]s that turn the first into the
//! second, and the ones that turn it back. Operations are dialect-neutral
//! data: a migration file stores them, and they are rendered to the live
//! backend's SQL only when applied.
//!
//! [`run`], [`rollback`] and [`status`] apply [`Migration`]s and record them
//! per connection; [`files`] writes and reads migration files; [`seed`] runs
//! seeders; [`cli`] is the one-line command-line entry point (`make`, `new`,
//! `run`, `rollback`, `status`, `sql`, `check`, `seed`).
//!
//! A step that SQLite cannot do in place (changing a column or a foreign
//! key) is rendered as a table rebuild; to know the whole table, the runner
//! replays the applied migrations into a [`Snapshot`] ([`Snapshot::apply`])
//! and renders each step against the schema the steps before it leave.

pub mod cli;
mod create;
pub mod files;
mod render;
mod runner;
pub mod seed;

pub use runner::{pending_sql, rollback, run, run_reporting, status, Applied, Migration};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::model::schema::OnDelete;
use crate::model::schema::{ColumnSchema, DefaultValue, TableSchema};
use crate::model::types::SqlType;

/// The schema of one connection: its tables by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Tables by name.
    pub tables: BTreeMap<String, Table>,
}

/// One table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// Columns in the model's field order.
    pub columns: Vec<Column>,
    /// The primary key column's name.
    pub primary_key: String,
    /// Indexes over several columns (single-column ones are flags on the column).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
    /// Foreign keys to tables of the same connection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// The previous name, when the model says the table was renamed. Not
    /// stored in snapshots: it matters only against the snapshot before.
    #[serde(skip)]
    pub renamed_from: Option<String>,
}

/// One column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// The storage class.
    pub sql_type: SqlType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Whether the database generates the value.
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_increment: bool,
    /// Whether values must be unique.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
    /// Whether the column has a (non-unique) index.
    #[serde(default, skip_serializing_if = "is_false")]
    pub indexed: bool,
    /// The longest text allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// The default the database fills in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Default>,
    /// The previous name, when the field says the column was renamed (not stored).
    #[serde(skip)]
    pub renamed_from: Option<String>,
}

impl Column {
    /// Whether both columns are defined the same, whatever they were called before.
    fn same_definition(&self, other: &Column) -> bool {
        Column {
            renamed_from: None,
            ..self.clone()
        } == Column {
            renamed_from: None,
            ..other.clone()
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// An index over one or more columns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Column names, in index order.
    pub columns: Vec<String>,
    /// Whether the combination of values must be unique.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
}

impl Index {
    /// An index over `columns`.
    pub fn new(columns: &[&str]) -> Index {
        Index {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            unique: false,
        }
    }

    /// A unique index over `columns`.
    pub fn unique(columns: &[&str]) -> Index {
        Index {
            unique: true,
            ..Index::new(columns)
        }
    }

    /// Its name on `table`: `idx_<table>_<columns>` or `uq_<table>_<columns>`,
    /// shortened with a hash when longer than every backend allows.
    pub fn name(&self, table: &str) -> String {
        let prefix = if self.unique { "uq" } else { "idx" };
        bounded_name(format!("{prefix}_{table}_{}", self.columns.join("_")))
    }
}

/// A foreign key: `column` refers to `references_column` of `references`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// The column holding the key.
    pub column: String,
    /// The referenced table.
    pub references: String,
    /// The referenced column (its primary key).
    pub references_column: String,
    /// What happens to the row when the referenced row is deleted.
    #[serde(default, skip_serializing_if = "is_no_action")]
    pub on_delete: OnDelete,
}

fn is_no_action(o: &OnDelete) -> bool {
    *o == OnDelete::NoAction
}

impl ForeignKey {
    /// Its constraint name on `table`: `fk_<table>_<column>`.
    pub fn name(&self, table: &str) -> String {
        bounded_name(format!("fk_{table}_{}", self.column))
    }
}

/// Names past 60 bytes are cut and end in a hash of the whole: MySQL refuses
/// identifiers over 64 bytes and PostgreSQL cuts them at 63.
fn bounded_name(name: String) -> String {
    const MAX: usize = 60;
    if name.len() <= MAX {
        return name;
    }
    let mut cut = MAX - 9;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{}", &name[..cut], &fnv1a(name.as_bytes())[8..])
}

/// FNV-1a, as 16 hex digits: stable across builds and platforms.
pub(crate) fn fnv1a(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

impl Column {
    /// A NOT NULL column with no constraint; the methods below add them.
    pub fn new(name: &str, sql_type: SqlType) -> Column {
        Column {
            name: name.to_owned(),
            sql_type,
            nullable: false,
            auto_increment: false,
            unique: false,
            indexed: false,
            max_length: None,
            default: None,
            renamed_from: None,
        }
    }

    /// Allows NULL.
    pub fn nullable(mut self) -> Column {
        self.nullable = true;
        self
    }

    /// Generated by the database (for an integer primary key).
    pub fn auto_increment(mut self) -> Column {
        self.auto_increment = true;
        self
    }

    /// Values must be unique.
    pub fn unique(mut self) -> Column {
        self.unique = true;
        self
    }

    /// Gets an index.
    pub fn indexed(mut self) -> Column {
        self.indexed = true;
        self
    }

    /// At most `n` characters.
    pub fn max_length(mut self, n: u32) -> Column {
        self.max_length = Some(n);
        self
    }

    /// The database fills in `value` when an insert leaves the column out.
    pub fn default(mut self, value: Default) -> Column {
        self.default = Some(value);
        self
    }
}

impl Table {
    /// A table whose primary key is `key`; add columns with [`Table::column`].
    pub fn new(name: &str, key: Column) -> Table {
        Table {
            name: name.to_owned(),
            primary_key: key.name.clone(),
            columns: vec![key],
            indexes: Vec::new(),
            foreign_keys: Vec::new(),
            renamed_from: None,
        }
    }

    /// Adds a column.
    pub fn column(mut self, column: Column) -> Table {
        self.columns.push(column);
        self
    }

    /// Adds an index over several columns.
    pub fn index(mut self, index: Index) -> Table {
        self.indexes.push(index);
        self
    }

    /// Adds a foreign key from `column` to the primary key `references_column` of `references`.
    pub fn foreign_key(mut self, column: &str, references: &str, references_column: &str) -> Table {
        self.foreign_keys.push(ForeignKey {
            column: column.to_owned(),
            references: references.to_owned(),
            references_column: references_column.to_owned(),
            on_delete: OnDelete::NoAction,
        });
        self
    }

    /// Sets what the last foreign key added does when its row is deleted.
    pub fn on_delete(mut self, action: OnDelete) -> Table {
        if let Some(fk) = self.foreign_keys.last_mut() {
            fk.on_delete = action;
        }
        self
    }

    fn column_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.columns.iter_mut().find(|c| c.name == name)
    }
}

/// A column default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Default {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Text(String),
}

/// One schema change, dialect-neutral.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// Create a table with its columns and indexes.
    CreateTable {
        /// The table.
        table: Table,
    },
    /// Drop a table (its definition kept, so that the step can be reversed).
    DropTable {
        /// The table as it was.
        table: Table,
    },
    /// Add a column.
    AddColumn {
        /// The table.
        table: String,
        /// The new column.
        column: Column,
    },
    /// Drop a column (its definition kept for the way back).
    DropColumn {
        /// The table.
        table: String,
        /// The column as it was.
        column: Column,
    },
    /// Rename a table.
    RenameTable {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
        /// The table after the rename (its indexes are renamed with it).
        table: Table,
    },
    /// Rename a column.
    RenameColumn {
        /// The table.
        table: String,
        /// The old name.
        from: String,
        /// The column after the rename.
        column: Column,
    },
    /// Change a column's type, nullability, default, length, uniqueness or index.
    AlterColumn {
        /// The table.
        table: String,
        /// The column before.
        from: Column,
        /// The column after.
        to: Column,
    },
    /// Create an index over several columns.
    AddIndex {
        /// The table.
        table: String,
        /// The index.
        index: Index,
    },
    /// Drop an index over several columns.
    DropIndex {
        /// The table.
        table: String,
        /// The index as it was.
        index: Index,
    },
    /// Add a foreign key.
    AddForeignKey {
        /// The table holding the key.
        table: String,
        /// The key.
        foreign_key: ForeignKey,
    },
    /// Drop a foreign key.
    DropForeignKey {
        /// The table holding the key.
        table: String,
        /// The key as it was.
        foreign_key: ForeignKey,
    },
    /// Hand-written SQL, for data migrations and what the operations above
    /// cannot say. The statement for the live backend is used, else `sql`;
    /// a backend with neither is an error when the migration is applied.
    Sql {
        /// For every backend without a statement of its own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sql: Option<String>,
        /// For PostgreSQL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        postgres: Option<String>,
        /// For MySQL and MariaDB.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mysql: Option<String>,
        /// For SQLite.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sqlite: Option<String>,
    },
}

impl Operation {
    /// Raw SQL for every backend alike.
    pub fn sql_for_all(sql: &str) -> Operation {
        Operation::Sql {
            sql: Some(sql.to_owned()),
            postgres: None,
            mysql: None,
            sqlite: None,
        }
    }

    /// The operation that undoes this one; `None` for raw SQL, whose way
    /// back only its author knows.
    pub fn reverse(&self) -> Option<Operation> {
        Some(match self.clone() {
            Operation::Sql { .. } => return None,
            Operation::AddIndex { table, index } => Operation::DropIndex { table, index },
            Operation::DropIndex { table, index } => Operation::AddIndex { table, index },
            Operation::AddForeignKey { table, foreign_key } => {
                Operation::DropForeignKey { table, foreign_key }
            }
            Operation::DropForeignKey { table, foreign_key } => {
                Operation::AddForeignKey { table, foreign_key }
            }
            Operation::CreateTable { table } => Operation::DropTable { table },
            Operation::DropTable { table } => Operation::CreateTable { table },
            Operation::AddColumn { table, column } => Operation::DropColumn { table, column },
            Operation::DropColumn { table, column } => Operation::AddColumn { table, column },
            Operation::AlterColumn { table, from, to } => Operation::AlterColumn {
                table,
                from: to,
                to: from,
            },
            Operation::RenameTable {
                from,
                to,
                mut table,
            } => {
                table.name.clone_from(&from);
                Operation::RenameTable {
                    from: to,
                    to: from,
                    table,
                }
            }
            Operation::RenameColumn {
                table,
                from,
                mut column,
            } => {
                let to = std::mem::replace(&mut column.name, from);
                Operation::RenameColumn {
                    table,
                    from: to,
                    column,
                }
            }
        })
    }
}

impl From<&DefaultValue> for Default {
    fn from(d: &DefaultValue) -> Default {
        match *d {
            DefaultValue::Int(v) => Default::Int(v),
            DefaultValue::Float(v) => Default::Float(v),
            DefaultValue::Bool(v) => Default::Bool(v),
            DefaultValue::Text(v) => Default::Text(v.to_owned()),
        }
    }
}

impl From<&ColumnSchema> for Column {
    fn from(c: &ColumnSchema) -> Column {
        Column {
            name: c.name.to_owned(),
            sql_type: c.sql_type,
            nullable: c.nullable,
            auto_increment: c.auto_increment,
            unique: c.unique,
            indexed: c.indexed,
            max_length: c.max_length,
            default: c.default.as_ref().map(Default::from),
            renamed_from: c.renamed_from.map(str::to_owned),
        }
    }
}

impl From<&TableSchema> for Table {
    fn from(t: &TableSchema) -> Table {
        Table {
            name: t.name.to_owned(),
            columns: t.columns.iter().map(Column::from).collect(),
            primary_key: t.primary_key().name.to_owned(),
            indexes: t
                .indexes
                .iter()
                .map(|i| Index {
                    columns: i.columns.iter().map(|c| (*c).to_owned()).collect(),
                    unique: i.unique,
                })
                .collect(),
            // A key into another connection's table cannot be a constraint.
            foreign_keys: t
                .foreign_keys
                .iter()
                .filter_map(|fk| {
                    let target = (fk.target)();
                    (target.connection == t.connection).then(|| ForeignKey {
                        column: fk.column.to_owned(),
                        references: target.table.name.to_owned(),
                        references_column: target.table.primary_key().name.to_owned(),
                        on_delete: fk.on_delete,
                    })
                })
                .collect(),
            renamed_from: t.renamed_from.map(str::to_owned),
        }
    }
}

impl Snapshot {
    /// The snapshot of these tables.
    pub fn of<'a>(tables: impl IntoIterator<Item = &'a TableSchema>) -> Snapshot {
        Snapshot {
            tables: tables
                .into_iter()
                .map(|t| (t.name.to_owned(), Table::from(t)))
                .collect(),
        }
    }

    /// The snapshot of every model on `connection`, from the program's models.
    pub fn of_connection(connection: &str) -> Snapshot {
        Snapshot::of(
            crate::model::registry::models()
                .filter(|m| m.schema.connection == connection)
                .map(|m| m.schema),
        )
    }

    /// The schema after `op`, as far as the operation says: raw SQL changes
    /// nothing here. The runner replays the migrations applied so far with
    /// this, so that a step that SQLite must do by rebuilding a table knows
    /// the whole table.
    pub fn apply(&mut self, op: &Operation) {
        match op {
            Operation::CreateTable { table } => {
                let mut table = table.clone();
                table.renamed_from = None;
                self.tables.insert(table.name.clone(), table);
            }
            Operation::DropTable { table } => {
                self.tables.remove(&table.name);
            }
            Operation::AddColumn { table, column } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.columns.push(Column {
                        renamed_from: None,
                        ..column.clone()
                    });
                }
            }
            Operation::DropColumn { table, column } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.columns.retain(|c| c.name != column.name);
                }
            }
            Operation::AlterColumn { table, to, .. } => {
                if let Some(c) = self
                    .tables
                    .get_mut(table)
                    .and_then(|t| t.column_mut(&to.name))
                {
                    *c = Column {
                        renamed_from: None,
                        ..to.clone()
                    };
                }
            }
            Operation::RenameTable { from, to, .. } => {
                if let Some(mut t) = self.tables.remove(from) {
                    t.name.clone_from(to);
                    self.tables.insert(to.clone(), t);
                }
                // The databases follow a rename in the keys that point at the table.
                for t in self.tables.values_mut() {
                    for fk in t
                        .foreign_keys
                        .iter_mut()
                        .filter(|fk| &fk.references == from)
                    {
                        fk.references.clone_from(to);
                    }
                }
            }
            Operation::RenameColumn {
                table,
                from,
                column,
            } => {
                let to = &column.name;
                if let Some(t) = self.tables.get_mut(table) {
                    if let Some(c) = t.column_mut(from) {
                        c.name.clone_from(to);
                    }
                    if &t.primary_key == from {
                        t.primary_key.clone_from(to);
                    }
                    for c in t.indexes.iter_mut().flat_map(|i| i.columns.iter_mut()) {
                        if c == from {
                            c.clone_from(to);
                        }
                    }
                    for fk in t.foreign_keys.iter_mut().filter(|fk| &fk.column == from) {
                        fk.column.clone_from(to);
                    }
                }
                for t in self.tables.values_mut() {
                    for fk in t.foreign_keys.iter_mut() {
                        if &fk.references == table && &fk.references_column == from {
                            fk.references_column.clone_from(to);
                        }
                    }
                }
            }
            Operation::AddIndex { table, index } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.indexes.push(index.clone());
                }
            }
            Operation::DropIndex { table, index } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.indexes.retain(|i| i != index);
                }
            }
            Operation::AddForeignKey { table, foreign_key } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.foreign_keys.push(foreign_key.clone());
                }
            }
            Operation::DropForeignKey { table, foreign_key } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.foreign_keys.retain(|fk| fk != foreign_key);
                }
            }
            Operation::Sql { .. } => {}
        }
    }
}

/// The steps from `old` to `new`, and the steps back, in the order to apply
/// them: foreign keys that go away are dropped first, then tables renamed,
/// created (a referenced table before the tables that refer to it) and
/// changed (columns in field order), then new foreign keys added, and
/// tables dropped last (referring tables first).
pub fn diff(old: &Snapshot, new: &Snapshot) -> (Vec<Operation>, Vec<Operation>) {
    let mut drop_fks = Vec::new();
    let mut renames = Vec::new();
    let mut created = Vec::new();
    let mut changes = Vec::new();
    let mut add_fks = Vec::new();
    // Old tables that a new one says it was renamed from.
    let mut renamed: Vec<&str> = Vec::new();
    for (name, table) in &new.tables {
        let before = old.tables.get(name).or_else(|| {
            let from = table.renamed_from.as_deref()?;
            let before = old.tables.get(from)?;
            renamed.push(&before.name);
            Some(before)
        });
        let Some(before) = before else {
            created.push(table);
            continue;
        };
        let is_rename = before.name != *name;
        if is_rename {
            let mut after = before.clone();
            after.name.clone_from(name);
            // Constraint names carry the table's name: its keys are made anew below.
            after.foreign_keys.clear();
            renames.push(Operation::RenameTable {
                from: before.name.clone(),
                to: name.clone(),
                table: after,
            });
        }
        for fk in &before.foreign_keys {
            if is_rename || !table.foreign_keys.contains(fk) {
                drop_fks.push(Operation::DropForeignKey {
                    table: before.name.clone(),
                    foreign_key: fk.clone(),
                });
            }
        }
        for fk in &table.foreign_keys {
            if is_rename || !before.foreign_keys.contains(fk) {
                add_fks.push(Operation::AddForeignKey {
                    table: name.clone(),
                    foreign_key: fk.clone(),
                });
            }
        }
        diff_table(before, table, &mut changes);
    }

    // Created tables in dependency order; keys in a cycle are added after.
    let (ordered, deferred) = by_dependencies(created);
    let creates = ordered
        .into_iter()
        .map(|table| Operation::CreateTable { table });
    add_fks.extend(
        deferred
            .into_iter()
            .map(|(table, foreign_key)| Operation::AddForeignKey { table, foreign_key }),
    );

    let gone: Vec<&Table> = old
        .tables
        .values()
        .filter(|t| !new.tables.contains_key(&t.name) && !renamed.contains(&t.name.as_str()))
        .collect();
    let (ordered, deferred) = by_dependencies(gone);
    drop_fks.extend(
        deferred
            .into_iter()
            .map(|(table, foreign_key)| Operation::DropForeignKey { table, foreign_key }),
    );
    let drops = ordered
        .into_iter()
        .rev()
        .map(|table| Operation::DropTable { table });

    let mut up = drop_fks;
    up.extend(renames);
    up.extend(creates);
    up.extend(changes);
    up.extend(add_fks);
    up.extend(drops);
    let down = up.iter().rev().filter_map(Operation::reverse).collect();
    (up, down)
}

/// `tables` ordered so that a table comes after the tables (of the same
/// list) that it refers to. Keys that close a cycle are taken out of their
/// table and returned apart, as (table, key), to be added once all exist.
fn by_dependencies(tables: Vec<&Table>) -> (Vec<Table>, Vec<(String, ForeignKey)>) {
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let mut left: Vec<Table> = tables.into_iter().cloned().collect();
    let mut done: Vec<String> = Vec::new();
    let mut ordered = Vec::new();
    let mut deferred = Vec::new();
    while !left.is_empty() {
        let waits = |t: &Table, fk: &ForeignKey| {
            fk.references != t.name
                && names.contains(&fk.references.as_str())
                && !done.contains(&fk.references)
        };
        let ready = left
            .iter()
            .position(|t| !t.foreign_keys.iter().any(|fk| waits(t, fk)));
        let mut table = match ready {
            Some(i) => left.remove(i),
            None => {
                // A cycle: take the first table, and add its waiting keys later.
                let mut t = left.remove(0);
                let keys = std::mem::take(&mut t.foreign_keys);
                let (now, later): (Vec<_>, Vec<_>) =
                    keys.into_iter().partition(|fk| !waits(&t, fk));
                t.foreign_keys = now;
                deferred.extend(later.into_iter().map(|fk| (t.name.clone(), fk)));
                t
            }
        };
        table.renamed_from = None;
        done.push(table.name.clone());
        ordered.push(table);
    }
    (ordered, deferred)
}

/// Column, index and key changes of one table (after any rename): indexes
/// that go away are dropped first, new ones created last.
fn diff_table(before: &Table, after: &Table, up: &mut Vec<Operation>) {
    for index in before.indexes.iter().filter(|i| !after.indexes.contains(i)) {
        up.push(Operation::DropIndex {
            table: after.name.clone(),
            index: index.clone(),
        });
    }
    diff_columns(before, after, up);
    for index in after.indexes.iter().filter(|i| !before.indexes.contains(i)) {
        up.push(Operation::AddIndex {
            table: after.name.clone(),
            index: index.clone(),
        });
    }
}

fn diff_columns(before: &Table, after: &Table, up: &mut Vec<Operation>) {
    let mut renamed: Vec<&str> = Vec::new();
    for column in &after.columns {
        let old = match before.columns.iter().find(|c| c.name == column.name) {
            Some(old) => Some(old),
            None => {
                let from = column.renamed_from.as_deref();
                match before
                    .columns
                    .iter()
                    .find(|c| Some(c.name.as_str()) == from)
                {
                    Some(old) => {
                        renamed.push(&old.name);
                        let mut moved = old.clone();
                        moved.name.clone_from(&column.name);
                        up.push(Operation::RenameColumn {
                            table: after.name.clone(),
                            from: old.name.clone(),
                            column: moved,
                        });
                        Some(old)
                    }
                    None => None,
                }
            }
        };
        match old {
            None => up.push(Operation::AddColumn {
                table: after.name.clone(),
                column: column.clone(),
            }),
            Some(old) => {
                let mut old = old.clone();
                old.name.clone_from(&column.name);
                if !old.same_definition(column) {
                    up.push(Operation::AlterColumn {
                        table: after.name.clone(),
                        from: old,
                        to: Column {
                            renamed_from: None,
                            ..column.clone()
                        },
                    });
                }
            }
        }
    }
    for column in &before.columns {
        let kept = after.columns.iter().any(|c| c.name == column.name);
        if !kept && !renamed.contains(&column.name.as_str()) {
            up.push(Operation::DropColumn {
                table: after.name.clone(),
                column: column.clone(),
            });
        }
    }
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
    let statements = render::render_all(operations, backend, &mut before.clone())?;
    let total = statements.len();
    let mut conn = named.session(&runner::MIGRATION).await?;
    let steps = statements.into_iter().map(runner::Step::Ddl).collect();
    match runner::execute_unit(&mut conn, steps).await {
        Ok(()) => Ok(()),
        Err(runner::Stopped { done, error }) if backend == crate::Backend::MySql && done > 0 => {
            Err(crate::Error::Migration {
                message: format!(
                    "step {} of {total} failed on MySQL, where DDL commits as it goes: the steps before it are applied ({error})",
                    done + 1
                ),
            })
        }
        Err(runner::Stopped { error, .. }) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, sql_type: SqlType) -> Column {
        Column {
            name: name.into(),
            sql_type,
            nullable: false,
            auto_increment: false,
            unique: false,
            indexed: false,
            max_length: None,
            default: None,
            renamed_from: None,
        }
    }

    fn users(columns: Vec<Column>) -> Snapshot {
        let mut tables = BTreeMap::new();
        tables.insert(
            "users".to_owned(),
            Table {
                name: "users".into(),
                primary_key: "id".into(),
                columns,
                indexes: Vec::new(),
                foreign_keys: Vec::new(),
                renamed_from: None,
            },
        );
        Snapshot { tables }
    }

    #[test]
    fn nothing_changed_is_no_operation() {
        let s = users(vec![column("id", SqlType::BigInt)]);
        assert_eq!(diff(&s, &s), (vec![], vec![]));
    }

    #[test]
    fn a_new_table_is_created_and_dropped_on_the_way_back() {
        let new = users(vec![column("id", SqlType::BigInt)]);
        let (up, down) = diff(&Snapshot::default(), &new);
        let table = new.tables["users"].clone();
        assert_eq!(
            up,
            [Operation::CreateTable {
                table: table.clone()
            }]
        );
        assert_eq!(down, [Operation::DropTable { table }]);
    }

    #[test]
    fn columns_added_changed_and_dropped() {
        let old = users(vec![
            column("id", SqlType::BigInt),
            column("name", SqlType::Text),
            column("legacy", SqlType::Int),
        ]);
        let mut nullable_name = column("name", SqlType::Text);
        nullable_name.nullable = true;
        let mut email = column("email", SqlType::Text);
        email.unique = true;
        let new = users(vec![
            column("id", SqlType::BigInt),
            nullable_name.clone(),
            email.clone(),
        ]);
        let (up, down) = diff(&old, &new);
        assert_eq!(
            up,
            [
                Operation::AlterColumn {
                    table: "users".into(),
                    from: column("name", SqlType::Text),
                    to: nullable_name.clone(),
                },
                Operation::AddColumn {
                    table: "users".into(),
                    column: email.clone()
                },
                Operation::DropColumn {
                    table: "users".into(),
                    column: column("legacy", SqlType::Int)
                },
            ]
        );
        assert_eq!(
            down,
            [
                Operation::AddColumn {
                    table: "users".into(),
                    column: column("legacy", SqlType::Int)
                },
                Operation::DropColumn {
                    table: "users".into(),
                    column: email
                },
                Operation::AlterColumn {
                    table: "users".into(),
                    from: nullable_name,
                    to: column("name", SqlType::Text),
                },
            ]
        );
    }

    #[test]
    fn snapshots_come_from_the_models_schema() {
        const COLUMNS: &[ColumnSchema] = &[
            ColumnSchema {
                name: "uid",
                field: "uid",
                sql_type: SqlType::BigInt,
                rust_type: "i64",
                nullable: false,
                primary_key: true,
                auto_increment: true,
                unique: false,
                indexed: false,
                max_length: None,
                default: None,
                renamed_from: None,
            },
            ColumnSchema {
                name: "active",
                field: "active",
                sql_type: SqlType::Bool,
                rust_type: "bool",
                nullable: false,
                primary_key: false,
                auto_increment: false,
                unique: false,
                indexed: true,
                max_length: None,
                default: Some(DefaultValue::Bool(true)),
                renamed_from: None,
            },
        ];
        const USERS: TableSchema = TableSchema {
            name: "auser",
            columns: COLUMNS,
            primary_key: 0,
            renamed_from: None,
            connection: "db",
            indexes: &[],
            foreign_keys: &[],
        };
        let snapshot = Snapshot::of([&USERS]);
        let table = &snapshot.tables["auser"];
        assert_eq!(table.primary_key, "uid");
        assert!(table.columns[0].auto_increment);
        assert_eq!(table.columns[1].default, Some(Default::Bool(true)));
        assert!(table.columns[1].indexed);
    }

    #[test]
    fn operations_round_trip_through_their_file_form() {
        let mut c = column("status", SqlType::Text);
        c.default = Some(Default::Text("it's \"pending\"".into()));
        c.max_length = Some(20);
        let ops = vec![Operation::AddColumn {
            table: "orders".into(),
            column: c,
        }];
        let text = serde_json::to_string_pretty(&ops).unwrap();
        assert!(text.contains("\"op\": \"add_column\""), "{text}");
        let back: Vec<Operation> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, ops);
    }
    fn table(name: &str, columns: &[&str]) -> Table {
        columns.iter().fold(
            Table::new(name, Column::new("id", SqlType::BigInt).auto_increment()),
            |t, c| t.column(Column::new(c, SqlType::BigInt)),
        )
    }

    fn schema(tables: Vec<Table>) -> Snapshot {
        Snapshot {
            tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect(),
        }
    }

    fn kinds(ops: &[Operation]) -> Vec<String> {
        ops.iter()
            .map(|op| {
                let text = serde_json::to_value(op).unwrap();
                let what = match op {
                    Operation::CreateTable { table } | Operation::DropTable { table } => {
                        table.name.clone()
                    }
                    Operation::AddForeignKey { table, foreign_key }
                    | Operation::DropForeignKey { table, foreign_key } => {
                        format!("{table}.{}", foreign_key.column)
                    }
                    Operation::AddIndex { table, index }
                    | Operation::DropIndex { table, index } => {
                        format!("{table}({})", index.columns.join(","))
                    }
                    _ => String::new(),
                };
                format!("{} {what}", text["op"].as_str().unwrap())
            })
            .collect()
    }

    #[test]
    fn referenced_tables_are_created_first_and_dropped_last() {
        // "a_comments" sorts before "b_posts" sorts before "c_users", the reverse of their dependencies.
        let new = schema(vec![
            table("a_comments", &["post_id"]).foreign_key("post_id", "b_posts", "id"),
            table("b_posts", &["user_id"]).foreign_key("user_id", "c_users", "id"),
            table("c_users", &["manager_id"]).foreign_key("manager_id", "c_users", "id"),
        ]);
        let (up, down) = diff(&Snapshot::default(), &new);
        assert_eq!(
            kinds(&up),
            [
                "create_table c_users",
                "create_table b_posts",
                "create_table a_comments"
            ]
        );
        assert_eq!(
            kinds(&down),
            [
                "drop_table a_comments",
                "drop_table b_posts",
                "drop_table c_users"
            ]
        );
        let (up, _) = diff(&new, &Snapshot::default());
        assert_eq!(
            kinds(&up),
            kinds(&down),
            "dropping the tables orders them the same way"
        );
    }

    #[test]
    fn keys_in_a_cycle_are_added_once_both_tables_exist() {
        let new = schema(vec![
            table("teams", &["captain_id"]).foreign_key("captain_id", "players", "id"),
            table("players", &["team_id"]).foreign_key("team_id", "teams", "id"),
        ]);
        let (up, down) = diff(&Snapshot::default(), &new);
        assert_eq!(
            kinds(&up),
            [
                "create_table players",
                "create_table teams",
                "add_foreign_key players.team_id"
            ]
        );
        assert_eq!(
            kinds(&down),
            [
                "drop_foreign_key players.team_id",
                "drop_table teams",
                "drop_table players"
            ]
        );
    }

    #[test]
    fn keys_and_indexes_that_change_are_dropped_before_and_added_after_the_columns() {
        let old = schema(vec![
            table("users", &[]),
            table("posts", &["user_id", "a", "b"])
                .foreign_key("user_id", "users", "id")
                .index(Index::new(&["a", "b"])),
        ]);
        let new = schema(vec![
            table("users", &[]),
            table("posts", &["author_id", "a", "b"])
                .foreign_key("author_id", "users", "id")
                .index(Index::unique(&["b", "a"])),
        ]);
        let (up, down) = diff(&old, &new);
        assert_eq!(
            kinds(&up),
            [
                "drop_foreign_key posts.user_id",
                "drop_index posts(a,b)",
                "add_column ",
                "drop_column ",
                "add_index posts(b,a)",
                "add_foreign_key posts.author_id",
            ]
        );
        assert_eq!(down.len(), up.len());
        // Added columns go last, as in the databases: compare them as sets.
        let sorted = |s: &Snapshot| {
            let mut s = s.clone();
            for t in s.tables.values_mut() {
                t.columns.sort_by(|a, b| a.name.cmp(&b.name));
            }
            s
        };
        let mut state = old.clone();
        for op in &up {
            state.apply(op);
        }
        assert_eq!(
            sorted(&state),
            sorted(&new),
            "the operations lead to the new schema"
        );
        for op in &down {
            state.apply(op);
        }
        assert_eq!(sorted(&state), sorted(&old), "and back");
    }

    #[test]
    fn a_renamed_table_gets_its_keys_anew_under_its_new_name() {
        let old = schema(vec![
            table("users", &[]),
            table("posts", &["user_id"]).foreign_key("user_id", "users", "id"),
        ]);
        let mut articles = table("articles", &["user_id"]).foreign_key("user_id", "users", "id");
        articles.renamed_from = Some("posts".into());
        let new = schema(vec![table("users", &[]), articles]);
        let (up, _) = diff(&old, &new);
        assert_eq!(
            kinds(&up),
            [
                "drop_foreign_key posts.user_id",
                "rename_table ",
                "add_foreign_key articles.user_id"
            ]
        );
    }

    #[test]
    fn long_names_are_cut_with_a_hash() {
        let index = Index::unique(&["a_rather_long_column_name", "another_long_column_name"]);
        let name = index.name("a_table_with_a_long_name");
        assert!(name.len() <= 60, "{name}");
        assert!(
            name.starts_with("uq_a_table_with_a_long_name_a_rather"),
            "{name}"
        );
        assert_ne!(
            name,
            Index::unique(&["a_rather_long_column_name", "another_long_column_nam"])
                .name("a_table_with_a_long_name")
        );
        assert_eq!(Index::new(&["x"]).name("t"), "idx_t_x");
    }

    #[test]
    fn raw_sql_has_no_automatic_way_back() {
        assert_eq!(Operation::sql_for_all("UPDATE t SET a = 1").reverse(), None);
        let text = r#"{"op": "sql", "sql": "UPDATE t SET a = 1", "mysql": "UPDATE `t` SET a = 1"}"#;
        let op: Operation = serde_json::from_str(text).unwrap();
        let backend_sql = op.sql(crate::Backend::MySql, &Snapshot::default()).unwrap();
        assert_eq!(backend_sql, ["UPDATE `t` SET a = 1"]);
        let missing = Operation::Sql {
            sql: None,
            postgres: Some("SELECT 1".into()),
            mysql: None,
            sqlite: None,
        };
        assert!(matches!(
            missing.sql(crate::Backend::Sqlite, &Snapshot::default()),
            Err(crate::Error::Migration { .. })
        ));
    }

    #[test]
    fn on_delete_is_part_of_the_key_and_of_its_sql() {
        let plain = table("posts", &["user_id"]).foreign_key("user_id", "users", "id");
        let cascading = plain.clone().on_delete(OnDelete::Cascade);
        let sql = cascading.create_sql(crate::Backend::Postgres, false);
        assert!(
            sql[0].ends_with("REFERENCES \"users\" (\"id\") ON DELETE CASCADE)"),
            "{}",
            sql[0]
        );
        let (up, _) = diff(&schema(vec![plain.clone()]), &schema(vec![cascading]));
        assert_eq!(
            kinds(&up),
            [
                "drop_foreign_key posts.user_id",
                "add_foreign_key posts.user_id"
            ]
        );
        // The default is left out of files, so that older files read the same.
        let text = serde_json::to_string(&plain.foreign_keys[0]).unwrap();
        assert!(!text.contains("on_delete"), "{text}");
    }
}
