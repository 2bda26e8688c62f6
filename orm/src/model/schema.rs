//! The table schema a model declares, as plain data.
//!
//! The macro writes one [`TableSchema`] per model as a constant. The same data
//! renders `CREATE TABLE` for each backend today and is what the migration
//! engine diffs against its snapshots.

use crate::backend::Backend;
use crate::model::types::SqlType;

/// One table: its name, columns in field order, and indexes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TableSchema {
    /// The table's name in the database.
    pub name: &'static str,
    /// Columns in the order of the struct's fields (the order rows decode in).
    pub columns: &'static [ColumnSchema],
    /// Position of the primary key column in `columns`.
    pub primary_key: usize,
    /// The table's previous name, when the model says it was renamed.
    pub renamed_from: Option<&'static str>,
    /// The connection the table lives on.
    pub connection: &'static str,
    /// Indexes over several columns (`index(a, b)` / `unique(a, b)` on the model).
    pub indexes: &'static [IndexSchema],
    /// The `belongs_to` columns and what they refer to.
    pub foreign_keys: &'static [ForeignKeySchema],
}

/// An index over one or more columns, declared on the model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IndexSchema {
    /// Column names, in index order.
    pub columns: &'static [&'static str],
    /// Whether the combination of values must be unique.
    pub unique: bool,
}

/// A `belongs_to` column: a foreign key when the target lives on the same
/// connection, a plain column otherwise.
#[derive(Clone, Copy)]
pub struct ForeignKeySchema {
    /// The column holding the key.
    pub column: &'static str,
    /// What the database does to this row when the referenced row is deleted.
    pub on_delete: OnDelete,
    /// The referenced model. A function, not a constant, so that a model can
    /// refer to itself (an employee's manager) without a constant cycle.
    pub target: fn() -> ForeignTarget,
}

/// What the database does to a row when the row its key refers to is
/// deleted (`on_delete = "..."` next to `belongs_to`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    /// Refuse the delete while rows refer to it (checked at the end of the statement).
    #[default]
    NoAction,
    /// Delete the referring rows too.
    Cascade,
    /// Set the key to NULL (a nullable key only).
    SetNull,
    /// Refuse the delete at once.
    Restrict,
}

impl OnDelete {
    /// The SQL clause, empty for the default.
    pub(crate) fn clause(self) -> &'static str {
        match self {
            OnDelete::NoAction => "",
            OnDelete::Cascade => " ON DELETE CASCADE",
            OnDelete::SetNull => " ON DELETE SET NULL",
            OnDelete::Restrict => " ON DELETE RESTRICT",
        }
    }
}

/// The model a foreign key refers to.
#[derive(Clone, Copy, Debug)]
pub struct ForeignTarget {
    /// Its table.
    pub table: &'static TableSchema,
    /// Its connection.
    pub connection: &'static str,
}

impl PartialEq for ForeignKeySchema {
    fn eq(&self, other: &ForeignKeySchema) -> bool {
        self.column == other.column
            && self.on_delete == other.on_delete
            && (self.target)().table.name == (other.target)().table.name
    }
}

impl std::fmt::Debug for ForeignKeySchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignKeySchema")
            .field("column", &self.column)
            .field("references", &(self.target)().table.name)
            .finish()
    }
}

/// One column.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColumnSchema {
    /// The column's name in the database.
    pub name: &'static str,
    /// The struct field it maps to.
    pub field: &'static str,
    /// The storage class.
    pub sql_type: SqlType,
    /// The Rust type, for messages.
    pub rust_type: &'static str,
    /// Whether NULL is allowed (the field is an `Option`).
    pub nullable: bool,
    /// Whether this is the primary key.
    pub primary_key: bool,
    /// Whether the database generates the value (`auto`).
    pub auto_increment: bool,
    /// Whether values must be unique.
    pub unique: bool,
    /// Whether a (non-unique) index is created on the column.
    pub indexed: bool,
    /// The longest text allowed, for text columns.
    pub max_length: Option<u32>,
    /// The precision and scale of a decimal column (`precision = 12, scale
    /// = 2` on the field); `None`: the backend's default (NUMERIC on
    /// PostgreSQL, DECIMAL(38, 10) on MySQL).
    pub decimal: Option<DecimalSize>,
    /// The default the database fills in when an insert leaves the column out.
    pub default: Option<DefaultValue>,
    /// The column's previous name, when the field says it was renamed.
    pub renamed_from: Option<&'static str>,
}

/// The precision (digits in all) and scale (digits after the point) of a
/// decimal column: `NUMERIC(p, s)` on PostgreSQL, `DECIMAL(p, s)` on MySQL
/// (PostgreSQL manual 8.1.2; MySQL manual 13.1.3). The macro accepts a
/// precision from 1 to 65 (MySQL's largest) and a scale from 0 to the
/// precision, at most 28 (the most `rust_decimal::Decimal` has).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DecimalSize {
    /// Digits in all, before and after the point.
    pub precision: u8,
    /// Digits after the point.
    pub scale: u8,
}

impl DecimalSize {
    /// MySQL's decimal column when the field declares no precision.
    pub const MYSQL_DEFAULT: DecimalSize = DecimalSize {
        precision: 38,
        scale: 10,
    };
}

/// A column default, as a literal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DefaultValue {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Text(&'static str),
}

impl TableSchema {
    /// The first column `backend` cannot store, as (column, Rust type).
    pub fn unsupported_column(&self, backend: Backend) -> Option<(&'static str, &'static str)> {
        self.columns
            .iter()
            .find(|c| !c.sql_type.supported_by(backend))
            .map(|c| (c.name, c.rust_type))
    }

    /// The primary key column.
    pub fn primary_key(&self) -> &ColumnSchema {
        &self.columns[self.primary_key]
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// `DROP TABLE` for `backend`.
    pub fn drop_sql(&self, backend: Backend, if_exists: bool) -> String {
        let mut sql = String::from("DROP TABLE ");
        if if_exists {
            sql.push_str("IF EXISTS ");
        }
        backend.push_ident(&mut sql, self.name);
        sql
    }
}
