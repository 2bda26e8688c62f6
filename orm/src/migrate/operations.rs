//! The schema operations a migration is made of, and the tables, columns,
//! indexes and keys they carry, with builders for hand-written migrations.

use serde::{Deserialize, Serialize};

use crate::model::schema::{DecimalSize, OnDelete};
use crate::model::types::SqlType;

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
    /// A decimal column's precision and scale; `None`: the backend's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal: Option<DecimalSize>,
    /// The default the database fills in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Default>,
    /// The previous name, when the field says the column was renamed (not stored).
    #[serde(skip)]
    pub renamed_from: Option<String>,
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
            decimal: None,
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

    /// A decimal column of `precision` digits, `scale` of them after the point.
    pub fn decimal(mut self, precision: u8, scale: u8) -> Column {
        self.decimal = Some(DecimalSize { precision, scale });
        self
    }

    /// The database fills in `value` when an insert leaves the column out.
    pub fn default(mut self, value: Default) -> Column {
        self.default = Some(value);
        self
    }

    /// Whether existing rows have no value to take when the column is
    /// added: NOT NULL, no default, not generated.
    pub(crate) fn required_without_default(&self) -> bool {
        !self.nullable && self.default.is_none() && !self.auto_increment
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

    /// Whether the primary key is generated by the database.
    pub(crate) fn key_is_auto(&self) -> bool {
        self.columns
            .iter()
            .any(|c| c.name == self.primary_key && c.auto_increment)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::Snapshot;

    #[test]
    fn operations_round_trip_through_their_file_form() {
        let mut c = Column::new("status", SqlType::Text);
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
}
