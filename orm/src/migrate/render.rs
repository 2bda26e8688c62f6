//! Rendering schema operations to one backend's SQL.

use super::{Column, Default, ForeignKey, Index, Operation, Snapshot, Table};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::model::types::SqlType;

/// The character set and collation of MySQL text: a database's default
/// may be `latin1` or `utf8mb3`, which cannot hold every Rust `String`
/// (error 1366), so tables and text columns say `utf8mb4` (every Unicode
/// scalar value) with its binary collation, under which text compares
/// byte for byte (case- and accent-sensitive) as on SQLite and PostgreSQL
/// (MySQL manual 10.9.1, "The utf8mb4 Character Set"). It pads with spaces
/// (PAD SPACE): trailing spaces do not count in comparisons.
const MYSQL_TEXT: &str = " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";

fn ident(backend: Backend, name: &str) -> String {
    let mut s = String::new();
    backend.push_ident(&mut s, name);
    s
}

/// Index names: `idx_<table>_<column>`, and `uq_<table>_<column>` for unique ones.
fn index_name(table: &str, column: &str, unique: bool) -> String {
    Index {
        columns: vec![column.to_owned()],
        unique,
    }
    .name(table)
}

impl Index {
    /// `CREATE INDEX`. `columns` are the table's, when known: on MySQL an
    /// unbounded text column (LONGTEXT) can only be indexed by a prefix, so
    /// an index over several columns covers its first 255 characters; give
    /// the field a `max_length` to index it whole.
    fn create_sql(
        &self,
        backend: Backend,
        table: &str,
        columns: &[Column],
        if_not_exists: bool,
    ) -> String {
        let mut sql = String::from(if self.unique {
            "CREATE UNIQUE INDEX "
        } else {
            "CREATE INDEX "
        });
        if if_not_exists && backend != Backend::MySql {
            sql.push_str("IF NOT EXISTS ");
        }
        sql.push_str(&ident(backend, &self.name(table)));
        sql.push_str(" ON ");
        sql.push_str(&ident(backend, table));
        sql.push_str(" (");
        let parts: Vec<String> = self
            .columns
            .iter()
            .map(|name| {
                let unbounded_text = backend == Backend::MySql
                    && self.columns.len() > 1
                    && columns.iter().any(|c| {
                        &c.name == name
                            && c.sql_type == SqlType::Text
                            && c.max_length.is_none()
                            && !c.unique
                            && !c.indexed
                    });
                match unbounded_text {
                    true => format!("{}(255)", ident(backend, name)),
                    false => ident(backend, name),
                }
            })
            .collect();
        sql.push_str(&parts.join(", "));
        sql.push(')');
        sql
    }
}

impl ForeignKey {
    /// `CONSTRAINT fk_.. FOREIGN KEY (..) REFERENCES ..(..)`
    fn definition(&self, backend: Backend, table: &str) -> String {
        format!(
            "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){}",
            ident(backend, &self.name(table)),
            ident(backend, &self.column),
            ident(backend, &self.references),
            ident(backend, &self.references_column),
            self.on_delete.clause()
        )
    }
}

impl Column {
    /// The backend's type name for this column.
    pub fn type_name(&self, backend: Backend, primary_key: bool) -> String {
        use SqlType::*;
        // MySQL cannot index or constrain unbounded TEXT, so keyed text gets a length.
        let keyed = primary_key || self.unique || self.indexed;
        let text = |len: Option<u32>| match (backend, len) {
            (Backend::Sqlite, _) => "TEXT".to_owned(),
            (_, Some(n)) => format!("VARCHAR({n})"),
            (Backend::MySql, None) if keyed => "VARCHAR(255)".to_owned(),
            // A Rust `String` has no length limit; MySQL's TEXT stops at 64 KiB.
            (Backend::MySql, None) => "LONGTEXT".to_owned(),
            (_, None) => "TEXT".to_owned(),
        };
        if let (Decimal, Some(size), Backend::Postgres | Backend::MySql) =
            (self.sql_type, self.decimal, backend)
        {
            let name = match backend {
                Backend::Postgres => "NUMERIC",
                _ => "DECIMAL",
            };
            return format!("{name}({}, {})", size.precision, size.scale);
        }
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

    fn push_default(&self, backend: Backend, sql: &mut String) {
        let Some(default) = &self.default else { return };
        sql.push_str(" DEFAULT ");
        match default {
            Default::Int(v) => sql.push_str(&v.to_string()),
            Default::Float(v) => sql.push_str(&format!("{v:?}")),
            Default::Bool(v) => sql.push_str(match (backend, v) {
                (Backend::Sqlite, true) => "1",
                (Backend::Sqlite, false) => "0",
                (_, true) => "TRUE",
                (_, false) => "FALSE",
            }),
            Default::Text(v) if self.sql_type == SqlType::DateTimeUtc => {
                backend.push_string_literal(sql, &utc_default(backend, v))
            }
            Default::Text(v) => backend.push_string_literal(sql, v),
        }
    }

    /// `<name> <type> [NOT NULL] [DEFAULT ...]`, or the key's definition.
    pub(crate) fn definition(&self, backend: Backend, primary_key: bool) -> String {
        let mut sql = ident(backend, &self.name);
        sql.push(' ');
        sql.push_str(&self.type_name(backend, primary_key));
        if backend == Backend::MySql && self.sql_type == SqlType::Text {
            // Said on the column too, so that a column added to a table
            // made in another character set holds every string as well.
            sql.push_str(MYSQL_TEXT);
        }
        // SQLite's TEXT has no length: a named check keeps `max_length` as
        // binding there as VARCHAR(n) is elsewhere.
        let length_check = match (backend, self.sql_type, self.max_length) {
            (Backend::Sqlite, SqlType::Text, Some(n)) => format!(
                " CONSTRAINT {} CHECK (length({}) <= {n})",
                ident(backend, &format!("max_length_{}", self.name)),
                ident(backend, &self.name)
            ),
            _ => String::new(),
        };
        if primary_key {
            sql.push_str(match (backend, self.auto_increment) {
                (Backend::Sqlite, true) => " PRIMARY KEY AUTOINCREMENT",
                (Backend::Postgres, true) => " GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                (Backend::MySql, true) => " NOT NULL AUTO_INCREMENT PRIMARY KEY",
                (_, false) => " NOT NULL PRIMARY KEY",
            });
            sql.push_str(&length_check);
            return sql;
        }
        if !self.nullable {
            sql.push_str(" NOT NULL");
        }
        self.push_default(backend, &mut sql);
        sql.push_str(&length_check);
        sql
    }

    /// Whether the two differ in what `definition` renders on `backend`:
    /// type (on MySQL a text column that gains an index turns from LONGTEXT
    /// into VARCHAR(255)), nullability, default, and SQLite's length check.
    fn definition_differs(&self, other: &Column, backend: Backend) -> bool {
        self.definition(backend, false) != other.definition(backend, false)
    }

    /// The unique and plain indexes of the column, as `CREATE INDEX` statements.
    fn create_indexes(&self, backend: Backend, table: &str, if_not_exists: bool) -> Vec<String> {
        [(self.unique, true), (self.indexed, false)]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, unique)| {
                Index {
                    columns: vec![self.name.clone()],
                    unique,
                }
                .create_sql(backend, table, &[], if_not_exists)
            })
            .collect()
    }

    fn drop_indexes(&self, backend: Backend, table: &str) -> Vec<String> {
        [(self.unique, true), (self.indexed, false)]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, unique)| drop_index(backend, table, &index_name(table, &self.name, unique)))
            .collect()
    }
}

fn drop_index(backend: Backend, table: &str, name: &str) -> String {
    match backend {
        Backend::MySql => format!(
            "DROP INDEX {} ON {}",
            ident(backend, name),
            ident(backend, table)
        ),
        _ => format!("DROP INDEX {}", ident(backend, name)),
    }
}

impl Table {
    /// `CREATE TABLE` (with its foreign keys) and its `CREATE INDEX` statements.
    pub fn create_sql(&self, backend: Backend, if_not_exists: bool) -> Vec<String> {
        let mut out = vec![self.create_table_sql(backend, if_not_exists, &self.name)];
        out.extend(self.index_sql(backend, if_not_exists));
        out
    }

    /// `CREATE TABLE <as_name>` with this table's definition (constraint
    /// names keep this table's name).
    fn create_table_sql(&self, backend: Backend, if_not_exists: bool, as_name: &str) -> String {
        let mut sql = String::from("CREATE TABLE ");
        if if_not_exists {
            sql.push_str("IF NOT EXISTS ");
        }
        sql.push_str(&ident(backend, as_name));
        sql.push_str(" (");
        let mut definitions: Vec<String> = self
            .columns
            .iter()
            .map(|c| c.definition(backend, c.name == self.primary_key))
            .collect();
        definitions.extend(
            self.foreign_keys
                .iter()
                .map(|fk| fk.definition(backend, &self.name)),
        );
        sql.push_str(&definitions.join(", "));
        sql.push(')');
        if backend == Backend::MySql {
            sql.push_str(" DEFAULT");
            sql.push_str(MYSQL_TEXT);
        }
        sql
    }

    /// `CREATE INDEX` for every index: the columns' and the composite ones.
    fn index_sql(&self, backend: Backend, if_not_exists: bool) -> Vec<String> {
        let mut out = Vec::new();
        for c in self.columns.iter().filter(|c| c.name != self.primary_key) {
            out.extend(c.create_indexes(backend, &self.name, if_not_exists));
        }
        for index in &self.indexes {
            out.push(index.create_sql(backend, &self.name, &self.columns, if_not_exists));
        }
        out
    }

    /// `DROP INDEX` for every index.
    fn drop_index_sql(&self, backend: Backend) -> Vec<String> {
        let mut out: Vec<String> = self
            .columns
            .iter()
            .filter(|c| c.name != self.primary_key)
            .flat_map(|c| c.drop_indexes(backend, &self.name))
            .collect();
        for index in &self.indexes {
            out.push(drop_index(backend, &self.name, &index.name(&self.name)));
        }
        out
    }

    /// SQLite's way to change what `ALTER TABLE` cannot ("Making Other
    /// Kinds Of Table Schema Changes", section 7 of SQLite's `ALTER TABLE`
    /// page): a new table with the definition `self`, the rows copied from
    /// `before` (the columns both have), the AUTOINCREMENT sequence carried
    /// over (else a deleted last key would be handed out again), the old
    /// table dropped and the new one renamed, its indexes made again. The
    /// runner does the rest of the procedure: foreign key enforcement off
    /// around the transaction and every key checked before committing, the
    /// views and triggers that name the table set aside and made again, and
    /// indexes made by hand made again.
    fn rebuild_sql(&self, before: &Table) -> Vec<String> {
        let b = Backend::Sqlite;
        let temporary = format!("__orm_rebuild_{}", self.name);
        let create = vec![self.create_table_sql(b, false, &temporary)];
        let shared: Vec<String> = self
            .columns
            .iter()
            .filter(|c| before.columns.iter().any(|o| o.name == c.name))
            .map(|c| ident(b, &c.name))
            .collect();
        let shared = shared.join(", ");
        let mut out = create;
        out.push(format!(
            "INSERT INTO {} ({shared}) SELECT {shared} FROM {}",
            ident(b, &temporary),
            ident(b, &before.name)
        ));
        if self.key_is_auto() {
            // The copy set the new table's sequence to its largest key; the
            // old one may be past it. The rename carries the row over.
            let (mut old, mut new) = (String::new(), String::new());
            b.push_string_literal(&mut old, &before.name);
            b.push_string_literal(&mut new, &temporary);
            out.push(format!("DELETE FROM sqlite_sequence WHERE name = {new}"));
            out.push(format!(
                "INSERT INTO sqlite_sequence (name, seq) SELECT {new}, seq FROM sqlite_sequence WHERE name = {old}"
            ));
        }
        out.push(format!("DROP TABLE {}", ident(b, &before.name)));
        out.push(format!(
            "ALTER TABLE {} RENAME TO {}",
            ident(b, &temporary),
            ident(b, &self.name)
        ));
        out.extend(self.index_sql(b, false));
        out
    }
}

impl Operation {
    /// The statements that apply the operation on `backend`, given the
    /// schema before it (SQLite rebuilds a table for some steps and needs
    /// the whole table).
    pub fn sql(&self, backend: Backend, before: &Snapshot) -> Result<Vec<String>> {
        if backend == Backend::Sqlite && self.sqlite_rebuilds() {
            return sqlite_rebuild(self, before);
        }
        Ok(match self {
            Operation::Sql {
                sql,
                postgres,
                mysql,
                sqlite,
            } => {
                let own = match backend {
                    Backend::Postgres => postgres,
                    Backend::MySql => mysql,
                    Backend::Sqlite => sqlite,
                };
                match own.as_ref().or(sql.as_ref()) {
                    Some(text) => vec![text.clone()],
                    None => {
                        return Err(Error::Migration {
                            message: format!(
                                "a raw SQL step has no statement for {backend:?}: give it `sql` or `{}`",
                                format!("{backend:?}").to_lowercase()
                            ),
                        })
                    }
                }
            }
            Operation::AddIndex { table, index } => {
                let columns = before.tables.get(table).map_or(&[][..], |t| &t.columns[..]);
                vec![index.create_sql(backend, table, columns, false)]
            }
            Operation::DropIndex { table, index } => {
                vec![drop_index(backend, table, &index.name(table))]
            }
            Operation::AddForeignKey { table, foreign_key } => vec![format!(
                "ALTER TABLE {} ADD {}",
                ident(backend, table),
                foreign_key.definition(backend, table)
            )],
            Operation::DropForeignKey { table, foreign_key } => vec![format!(
                "ALTER TABLE {} DROP {} {}",
                ident(backend, table),
                match backend {
                    Backend::MySql => "FOREIGN KEY",
                    _ => "CONSTRAINT",
                },
                ident(backend, &foreign_key.name(table))
            )],
            Operation::CreateTable { table } => table.create_sql(backend, false),
            Operation::DropTable { table } => {
                vec![format!("DROP TABLE {}", ident(backend, &table.name))]
            }
            Operation::AddColumn { table, column } => {
                let mut out = vec![format!(
                    "ALTER TABLE {} ADD COLUMN {}",
                    ident(backend, table),
                    column.definition(backend, false)
                )];
                out.extend(column.create_indexes(backend, table, false));
                out
            }
            Operation::DropColumn { table, column } => {
                // Indexes first: SQLite refuses to drop an indexed column.
                let mut out = column.drop_indexes(backend, table);
                out.push(format!(
                    "ALTER TABLE {} DROP COLUMN {}",
                    ident(backend, table),
                    ident(backend, &column.name)
                ));
                out
            }
            Operation::AlterColumn { table, from, to } => alter_column(backend, table, from, to)?,
            Operation::RenameTable { from, to, table } => {
                // Index names carry the table's name: rebuild them under the new one.
                let old = Table {
                    name: from.clone(),
                    ..table.clone()
                };
                let mut out = old.drop_index_sql(backend);
                out.push(format!(
                    "ALTER TABLE {} RENAME TO {}",
                    ident(backend, from),
                    ident(backend, to)
                ));
                out.extend(table.index_sql(backend, false));
                out
            }
            Operation::RenameColumn {
                table,
                from,
                column,
            } => {
                let old = Column {
                    name: from.clone(),
                    ..column.clone()
                };
                let mut out = old.drop_indexes(backend, table);
                out.push(format!(
                    "ALTER TABLE {} RENAME COLUMN {} TO {}",
                    ident(backend, table),
                    ident(backend, from),
                    ident(backend, &column.name)
                ));
                out.extend(column.create_indexes(backend, table, false));
                out
            }
        })
    }
}

fn alter_column(backend: Backend, table: &str, from: &Column, to: &Column) -> Result<Vec<String>> {
    let t = ident(backend, table);
    let c = ident(backend, &to.name);
    // Only the indexes that change are touched: MySQL refuses to drop an
    // index that a foreign key uses, and the others survive the change.
    let only = |a: &Column, b: &Column| Column {
        unique: a.unique && !b.unique,
        indexed: a.indexed && !b.indexed,
        ..a.clone()
    };
    let removed = only(from, to).drop_indexes(backend, table);
    let added = only(to, from).create_indexes(backend, table, false);
    if !from.definition_differs(to, backend) {
        // A plain index becoming unique: the new one first, so that a
        // foreign key is never left without one (MySQL requires it).
        let mut out = added;
        out.extend(removed);
        return Ok(out);
    }
    let mut out = removed;
    match backend {
        Backend::Postgres => {
            let mut parts = Vec::new();
            if from.sql_type != to.sql_type
                || from.max_length != to.max_length
                || from.decimal != to.decimal
            {
                let ty = to.type_name(backend, false);
                parts.push(format!("ALTER COLUMN {c} TYPE {ty} USING {c}::{ty}"));
            }
            if from.nullable != to.nullable {
                parts.push(format!(
                    "ALTER COLUMN {c} {} NOT NULL",
                    if to.nullable { "DROP" } else { "SET" }
                ));
            }
            if from.default != to.default {
                let mut d = String::new();
                to.push_default(backend, &mut d);
                parts.push(match d.is_empty() {
                    true => format!("ALTER COLUMN {c} DROP DEFAULT"),
                    false => format!("ALTER COLUMN {c} SET{d}"),
                });
            }
            out.push(format!("ALTER TABLE {t} {}", parts.join(", ")));
        }
        Backend::MySql => out.push(format!(
            "ALTER TABLE {t} MODIFY COLUMN {}",
            to.definition(backend, false)
        )),
        // Done by rebuilding the table (`sqlite_rebuild`), never here.
        Backend::Sqlite => {}
    }
    out.extend(added);
    Ok(out)
}

impl Operation {
    /// Whether SQLite must rebuild the table for this step: it cannot
    /// change a column's definition or a table's foreign keys in place.
    pub(super) fn sqlite_rebuilds(&self) -> bool {
        match self {
            Operation::AlterColumn { from, to, .. } => from.definition_differs(to, Backend::Sqlite),
            // SQLite's ADD COLUMN refuses NOT NULL without a default even
            // on an empty table (its `ALTER TABLE` page, "ADD COLUMN"),
            // where the other backends accept it.
            Operation::AddColumn { column, .. } => column.required_without_default(),
            Operation::AddForeignKey { .. } | Operation::DropForeignKey { .. } => true,
            _ => false,
        }
    }

    pub(super) fn table_name(&self) -> &str {
        match self {
            Operation::CreateTable { table } | Operation::DropTable { table } => &table.name,
            Operation::RenameTable { from, .. } => from,
            Operation::AddColumn { table, .. }
            | Operation::DropColumn { table, .. }
            | Operation::RenameColumn { table, .. }
            | Operation::AlterColumn { table, .. }
            | Operation::AddIndex { table, .. }
            | Operation::DropIndex { table, .. }
            | Operation::AddForeignKey { table, .. }
            | Operation::DropForeignKey { table, .. } => table,
            Operation::Sql { .. } => "",
        }
    }
}

fn sqlite_rebuild(op: &Operation, before: &Snapshot) -> Result<Vec<String>> {
    let name = op.table_name();
    let Some(old) = before.tables.get(name) else {
        return Err(Error::Migration {
            message: format!(
                "SQLite changes table `{name}` by rebuilding it, but no earlier migration describes `{name}` \
                 (was it made by raw SQL?): write this step as raw SQL for SQLite"
            ),
        });
    };
    let mut after = before.clone();
    after.apply(op);
    let new = &after.tables[name];
    Ok(new.rebuild_sql(old))
}

/// The default of a `DateTime<Utc>` column, written `YYYY-MM-DD HH:MM:SS[.f]`
/// in UTC (checked when the model compiles), as each backend holds it:
/// SQLite the RFC 3339 text sqlx binds (`2024-01-31T09:30:00+00:00`), so a
/// default and a bound value compare equal; PostgreSQL with its offset, or
/// TIMESTAMPTZ would read it in the session's time zone; MySQL as the UTC
/// date and time its DATETIME(6) column holds.
/// Text in another form (a hand-written migration's `...Z`) is left as it is.
fn utc_default(backend: Backend, text: &str) -> String {
    let model_form = text.len() >= 19
        && text.as_bytes()[10] == b' '
        && text.is_char_boundary(19)
        && !text[19..].contains(['+', '-', 'Z']);
    if !model_form {
        return text.to_owned();
    }
    match backend {
        Backend::Sqlite => format!("{}+00:00", text.replacen(' ', "T", 1)),
        Backend::Postgres => format!("{text}+00:00"),
        Backend::MySql => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_defaults_per_backend() {
        let text = "2024-01-31 09:30:00.250";
        assert_eq!(
            utc_default(Backend::Sqlite, text),
            "2024-01-31T09:30:00.250+00:00"
        );
        assert_eq!(
            utc_default(Backend::Postgres, text),
            "2024-01-31 09:30:00.250+00:00"
        );
        assert_eq!(utc_default(Backend::MySql, text), text);
        // A hand-written migration's own form is kept.
        assert_eq!(
            utc_default(Backend::Postgres, "2024-01-31T09:30:00Z"),
            "2024-01-31T09:30:00Z"
        );
        assert_eq!(
            utc_default(Backend::Sqlite, "2024-01-31 09:30:00+02:00"),
            "2024-01-31 09:30:00+02:00"
        );
    }
}
