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
//! per connection; [`files`] writes and reads migration files; [`cli`] is the
//! one-line command-line entry point (`make`, `run`, `rollback`, `status`,
//! `sql`, `check`).

pub mod cli;
pub mod files;
mod render;
mod runner;

pub use runner::{pending_sql, rollback, run, run_reporting, status, Applied, Migration};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::schema::{ColumnSchema, DefaultValue, TableSchema};
use crate::types::SqlType;

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
}

impl Operation {
    /// The operation that undoes this one.
    pub fn reverse(&self) -> Operation {
        match self.clone() {
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
        }
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
            crate::registry::models()
                .filter(|m| m.connection == connection)
                .map(|m| m.schema),
        )
    }
}

/// The steps from `old` to `new`, and the steps back, in the order to apply
/// them: tables created first and dropped last, columns in field order.
pub fn diff(old: &Snapshot, new: &Snapshot) -> (Vec<Operation>, Vec<Operation>) {
    let mut up = Vec::new();
    // Old tables that a new one says it was renamed from.
    let mut renamed: Vec<&str> = Vec::new();
    for (name, table) in &new.tables {
        let before = match old.tables.get(name) {
            Some(before) => Some(before),
            None => match table
                .renamed_from
                .as_deref()
                .and_then(|from| old.tables.get(from))
            {
                Some(before) => {
                    renamed.push(&before.name);
                    let mut after = before.clone();
                    after.name.clone_from(name);
                    up.push(Operation::RenameTable {
                        from: before.name.clone(),
                        to: name.clone(),
                        table: after,
                    });
                    Some(before)
                }
                None => None,
            },
        };
        match before {
            None => up.push(Operation::CreateTable {
                table: table.clone(),
            }),
            Some(before) => diff_columns(before, table, &mut up),
        }
    }
    for (name, table) in &old.tables {
        if !new.tables.contains_key(name) && !renamed.contains(&name.as_str()) {
            up.push(Operation::DropTable {
                table: table.clone(),
            });
        }
    }
    let down = up.iter().rev().map(Operation::reverse).collect();
    (up, down)
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

/// Applies `operations` on the connection called `connection`, in order. On
/// PostgreSQL and SQLite all of them run in one transaction: they apply
/// together or not at all. MySQL commits each DDL statement, so a failure
/// there leaves the earlier statements applied; the error says which step
/// failed.
pub async fn apply(
    db: &crate::Database,
    connection: &str,
    operations: &[Operation],
) -> crate::Result<()> {
    let pool = db.pool(connection)?;
    let backend = pool.backend();
    let mut statements = Vec::new();
    for op in operations {
        statements.extend(op.sql(backend)?);
    }
    let mut conn = pool.acquire().await?;
    let transactional = backend != crate::Backend::MySql;
    if transactional {
        conn.begin().await?;
    }
    for (i, sql) in statements.iter().enumerate() {
        if let Err(e) = conn
            .execute_script(crate::conn::sql_owned(sql.clone()))
            .await
        {
            if transactional {
                conn.rollback().await?;
                return Err(e);
            }
            return Err(crate::Error::Migration {
                message: format!(
                    "step {} of {} failed on MySQL, where DDL commits as it goes: the steps before it are applied ({e})",
                    i + 1,
                    statements.len()
                ),
            });
        }
    }
    if transactional {
        conn.commit().await?;
    }
    Ok(())
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
}
