//! The table schema a model declares, as plain data.
//!
//! The macro writes one [`TableSchema`] per model as a constant. The same data
//! renders `CREATE TABLE` for each backend today and is what the migration
//! engine diffs against its snapshots.

use crate::backend::Backend;
use crate::types::SqlType;

/// One table: its name, columns in field order, and indexes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TableSchema {
    /// The table's name in the database.
    pub name: &'static str,
    /// Columns in the order of the struct's fields (the order rows decode in).
    pub columns: &'static [ColumnSchema],
    /// Position of the primary key column in `columns`.
    pub primary_key: usize,
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
    /// The default the database fills in when an insert leaves the column out.
    pub default: Option<DefaultValue>,
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

    /// `CREATE TABLE` and `CREATE INDEX` statements for `backend`.
    pub fn create_sql(&self, backend: Backend, if_not_exists: bool) -> Vec<String> {
        let mut sql = String::from("CREATE TABLE ");
        if if_not_exists {
            sql.push_str("IF NOT EXISTS ");
        }
        backend.push_ident(&mut sql, self.name);
        sql.push_str(" (");
        for (i, column) in self.columns.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            column.push_definition(backend, &mut sql);
        }
        sql.push(')');
        let mut out = vec![sql];
        for column in self.columns.iter().filter(|c| c.indexed) {
            let mut sql = String::from("CREATE INDEX ");
            if if_not_exists && backend != Backend::MySql {
                sql.push_str("IF NOT EXISTS ");
            }
            backend.push_ident(&mut sql, &format!("idx_{}_{}", self.name, column.name));
            sql.push_str(" ON ");
            backend.push_ident(&mut sql, self.name);
            sql.push_str(" (");
            backend.push_ident(&mut sql, column.name);
            sql.push(')');
            out.push(sql);
        }
        out
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

impl ColumnSchema {
    /// The backend's type name for this column.
    pub fn type_name(&self, backend: Backend) -> String {
        use SqlType::*;
        // MySQL cannot index or constrain unbounded TEXT, so keyed text gets a length.
        let keyed = self.primary_key || self.unique || self.indexed;
        let text = |len: Option<u32>| match (backend, len) {
            (Backend::Sqlite, _) => "TEXT".to_owned(),
            (_, Some(n)) => format!("VARCHAR({n})"),
            (Backend::MySql, None) if keyed => "VARCHAR(255)".to_owned(),
            // A Rust `String` has no length limit; MySQL's TEXT stops at 64 KiB.
            (Backend::MySql, None) => "LONGTEXT".to_owned(),
            (_, None) => "TEXT".to_owned(),
        };
        let name = match (backend, self.sql_type) {
            (_, Text) => return text(self.max_length),
            // SQLite only makes a rowid alias of a column typed exactly INTEGER.
            (Backend::Sqlite, SmallInt | Int | BigInt) => "INTEGER",
            (_, SmallInt) => "SMALLINT",
            (Backend::MySql, Int) => "INT",
            (_, Int) => "INTEGER",
            (_, BigInt) => "BIGINT",
            (Backend::MySql, Float) => "FLOAT",
            (_, Float) => "REAL",
            (Backend::Postgres, Double) => "DOUBLE PRECISION",
            (Backend::MySql, Double) => "DOUBLE",
            (Backend::Sqlite, Double) => "REAL",
            (_, Bool) => "BOOLEAN",
            (Backend::Postgres, Bytes) => "BYTEA",
            (Backend::MySql, Bytes) => "LONGBLOB",
            (Backend::Sqlite, Bytes) => "BLOB",
            (Backend::Postgres, Decimal) => "NUMERIC",
            (Backend::MySql, Decimal) => "DECIMAL(38, 10)",
            (Backend::Sqlite, Decimal) => "NUMERIC",
            (Backend::Sqlite, Date | Time | DateTime | DateTimeUtc) => "TEXT",
            (_, Date) => "DATE",
            (Backend::MySql, Time) => "TIME(6)",
            (_, Time) => "TIME",
            (Backend::MySql, DateTime | DateTimeUtc) => "DATETIME(6)",
            (Backend::Postgres, DateTime) => "TIMESTAMP",
            (Backend::Postgres, DateTimeUtc) => "TIMESTAMPTZ",
            (Backend::Postgres, Uuid) => "UUID",
            (Backend::MySql, Uuid) => "BINARY(16)",
            (Backend::Sqlite, Uuid) => "BLOB",
            (Backend::Postgres, Json) => "JSONB",
            (Backend::MySql, Json) => "JSON",
            (Backend::Sqlite, Json) => "TEXT",
        };
        name.to_owned()
    }

    fn push_definition(&self, backend: Backend, sql: &mut String) {
        backend.push_ident(sql, self.name);
        sql.push(' ');
        sql.push_str(&self.type_name(backend));
        if self.primary_key {
            match (backend, self.auto_increment) {
                (Backend::Sqlite, true) => sql.push_str(" PRIMARY KEY AUTOINCREMENT"),
                (Backend::Postgres, true) => {
                    sql.push_str(" GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
                }
                (Backend::MySql, true) => sql.push_str(" NOT NULL AUTO_INCREMENT PRIMARY KEY"),
                (_, false) => sql.push_str(" NOT NULL PRIMARY KEY"),
            }
            return;
        }
        if !self.nullable {
            sql.push_str(" NOT NULL");
        }
        if self.unique {
            sql.push_str(" UNIQUE");
        }
        if let Some(default) = self.default {
            sql.push_str(" DEFAULT ");
            match default {
                DefaultValue::Int(v) => sql.push_str(&v.to_string()),
                DefaultValue::Float(v) => sql.push_str(&format!("{v:?}")),
                DefaultValue::Bool(v) => sql.push_str(match (backend, v) {
                    (Backend::Sqlite, true) => "1",
                    (Backend::Sqlite, false) => "0",
                    (_, true) => "TRUE",
                    (_, false) => "FALSE",
                }),
                DefaultValue::Text(v) => backend.push_string_literal(sql, v),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: &[ColumnSchema] = &[
        ColumnSchema {
            name: "id",
            field: "id",
            sql_type: SqlType::BigInt,
            rust_type: "i64",
            nullable: false,
            primary_key: true,
            auto_increment: true,
            unique: false,
            indexed: false,
            max_length: None,
            default: None,
        },
        ColumnSchema {
            name: "status",
            field: "status",
            sql_type: SqlType::Text,
            rust_type: "String",
            nullable: false,
            primary_key: false,
            auto_increment: false,
            unique: false,
            indexed: true,
            max_length: None,
            default: Some(DefaultValue::Text("it's")),
        },
    ];
    const TABLE: TableSchema = TableSchema {
        name: "orders",
        columns: COLUMNS,
        primary_key: 0,
    };

    #[test]
    fn create_table_per_backend() {
        assert_eq!(
            TABLE.create_sql(Backend::Postgres, false),
            [
                "CREATE TABLE \"orders\" (\"id\" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, \"status\" TEXT NOT NULL DEFAULT 'it''s')",
                "CREATE INDEX \"idx_orders_status\" ON \"orders\" (\"status\")",
            ]
        );
        assert_eq!(
            TABLE.create_sql(Backend::MySql, true)[0],
            "CREATE TABLE IF NOT EXISTS `orders` (`id` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, `status` VARCHAR(255) NOT NULL DEFAULT 'it''s')"
        );
        assert_eq!(
            TABLE.create_sql(Backend::Sqlite, false)[0],
            "CREATE TABLE \"orders\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \"status\" TEXT NOT NULL DEFAULT 'it''s')"
        );
    }
}
