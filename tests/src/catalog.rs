//! Read-only views of a test database's live schema, taken from the backend's
//! own catalog.
//!
//! Migration tests use these to check what a migration really created (column
//! types, nullability, defaults, indexes, foreign keys) instead of inferring it
//! from which statements succeed. Each helper opens its own sqlx connection on
//! [`TestDb::url`], bypassing the ORM, and stays inside the test's own schema
//! (PostgreSQL `current_schema()`) or database (MySQL `DATABASE()`). Values are
//! reported as the catalog spells them, so expectations differ per backend.
//!
//! All queries are static strings with the table name bound as a parameter.
//! These are test helpers: a connection or query error panics.

use crate::{Kind, TestDb};

/// A column as the catalog describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogColumn {
    pub name: String,
    /// The type as the catalog reports it, lower-cased: PostgreSQL
    /// `information_schema.columns.data_type` ("character varying"), MySQL
    /// `COLUMN_TYPE` ("varchar(40)"), SQLite's declared type ("varchar(40)").
    pub data_type: String,
    pub nullable: bool,
    /// The default expression as the catalog spells it (`'a'::text`, `'a'`, `3`).
    pub default: Option<String>,
}

/// An index other than the primary key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogIndex {
    pub name: String,
    /// Key columns in index order; an expression appears as its SQL text.
    pub columns: Vec<String>,
    pub unique: bool,
}

/// A foreign key, its columns paired in order with the referenced ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogForeignKey {
    pub columns: Vec<String>,
    pub references_table: String,
    pub references_columns: Vec<String>,
}

impl TestDb {
    /// Columns of `table` in their order; empty when there is no such table.
    ///
    /// On SQLite an `INTEGER PRIMARY KEY` (the rowid) is reported not nullable:
    /// SQLite never stores NULL there, although `PRAGMA table_info` says
    /// `notnull = 0`. On MariaDB the `NULL` that `COLUMN_DEFAULT` reports for a
    /// nullable column without a default becomes `None`, as on the other
    /// backends.
    pub async fn catalog_columns(&self, table: &str) -> Vec<CatalogColumn> {
        match self.kind {
            Kind::Sqlite => sqlite::columns(&self.url, table).await,
            Kind::Postgres => postgres::columns(&self.url, table).await,
            Kind::MySql => mysql::columns(&self.url, table).await,
        }
    }

    /// Indexes of `table` other than the primary key, sorted by name; columns
    /// in index order.
    ///
    /// Includes the indexes backing UNIQUE constraints, and on MySQL the ones
    /// it adds by itself for foreign keys.
    pub async fn catalog_indexes(&self, table: &str) -> Vec<CatalogIndex> {
        let mut indexes = match self.kind {
            Kind::Sqlite => sqlite::indexes(&self.url, table).await,
            Kind::Postgres => postgres::indexes(&self.url, table).await,
            Kind::MySql => mysql::indexes(&self.url, table).await,
        };
        // Sorted here, not in SQL, so the order does not depend on a collation.
        indexes.sort_by(|a, b| a.name.cmp(&b.name));
        indexes
    }

    /// Foreign keys of `table`, sorted by first column.
    pub async fn catalog_foreign_keys(&self, table: &str) -> Vec<CatalogForeignKey> {
        let mut keys = match self.kind {
            Kind::Sqlite => sqlite::foreign_keys(&self.url, table).await,
            Kind::Postgres => postgres::foreign_keys(&self.url, table).await,
            Kind::MySql => mysql::foreign_keys(&self.url, table).await,
        };
        keys.sort_by(|a, b| a.columns.cmp(&b.columns));
        keys
    }
}

async fn connect<C: sqlx::Connection>(url: &str) -> C {
    C::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url} to read the catalog: {e}"))
}

/// The rows of a catalog query, or a panic naming what was being read.
fn rows<T>(result: Result<Vec<T>, sqlx::Error>, what: &str, table: &str) -> Vec<T> {
    result.unwrap_or_else(|e| panic!("cannot read the {what} of `{table}` from the catalog: {e}"))
}

/// Groups `(index, unique, column)` rows, ordered by index then position.
fn group_indexes(rows: impl IntoIterator<Item = (String, bool, String)>) -> Vec<CatalogIndex> {
    let mut indexes: Vec<CatalogIndex> = Vec::new();
    for (name, unique, column) in rows {
        match indexes.last_mut() {
            Some(last) if last.name == name => last.columns.push(column),
            _ => indexes.push(CatalogIndex {
                name,
                columns: vec![column],
                unique,
            }),
        }
    }
    indexes
}

/// Groups `(key, column, referenced table, referenced column)` rows, ordered
/// by key then position.
fn group_foreign_keys<K: PartialEq>(
    rows: impl IntoIterator<Item = (K, String, String, String)>,
) -> Vec<CatalogForeignKey> {
    let mut keys: Vec<(K, CatalogForeignKey)> = Vec::new();
    for (key, column, references_table, references_column) in rows {
        match keys.last_mut() {
            Some((last, fk)) if *last == key => {
                fk.columns.push(column);
                fk.references_columns.push(references_column);
            }
            _ => keys.push((
                key,
                CatalogForeignKey {
                    columns: vec![column],
                    references_table,
                    references_columns: vec![references_column],
                },
            )),
        }
    }
    keys.into_iter().map(|(_, fk)| fk).collect()
}

mod sqlite {
    //! The `pragma_*` table-valued functions, which take the table as a parameter.

    use super::{connect, group_foreign_keys, group_indexes, rows, CatalogColumn};
    use super::{CatalogForeignKey, CatalogIndex};
    use sqlx::SqliteConnection;

    const COLUMNS: &str = "SELECT name, type, \"notnull\", dflt_value, pk \
        FROM pragma_table_info(?1) ORDER BY cid";
    // Origin 'pk' is the automatic index of a non-rowid primary key.
    const INDEXES: &str = "SELECT il.name, il.\"unique\", ii.name \
        FROM pragma_index_list(?1) AS il, pragma_index_info(il.name) AS ii \
        WHERE il.origin <> 'pk' ORDER BY il.name, ii.seqno";
    const FOREIGN_KEYS: &str = "SELECT id, \"from\", \"table\", \"to\" \
        FROM pragma_foreign_key_list(?1) ORDER BY id, seq";
    const PRIMARY_KEY: &str = "SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk";

    pub(super) async fn columns(url: &str, table: &str) -> Vec<CatalogColumn> {
        let mut c: SqliteConnection = connect(url).await;
        let found: Vec<(String, String, i64, Option<String>, i64)> = rows(
            sqlx::query_as(COLUMNS).bind(table).fetch_all(&mut c).await,
            "columns",
            table,
        );
        let key_columns = found.iter().filter(|row| row.4 > 0).count();
        found
            .into_iter()
            .map(|(name, data_type, not_null, default, pk)| {
                let data_type = data_type.to_lowercase();
                let rowid = key_columns == 1 && pk == 1 && data_type == "integer";
                CatalogColumn {
                    name,
                    data_type,
                    nullable: not_null == 0 && !rowid,
                    default,
                }
            })
            .collect()
    }

    pub(super) async fn indexes(url: &str, table: &str) -> Vec<CatalogIndex> {
        let mut c: SqliteConnection = connect(url).await;
        let found: Vec<(String, i64, Option<String>)> = rows(
            sqlx::query_as(INDEXES).bind(table).fetch_all(&mut c).await,
            "indexes",
            table,
        );
        // pragma_index_info names no column for an expression (or the rowid).
        group_indexes(found.into_iter().map(|(name, unique, column)| {
            (
                name,
                unique != 0,
                column.unwrap_or_else(|| "<expression>".into()),
            )
        }))
    }

    pub(super) async fn foreign_keys(url: &str, table: &str) -> Vec<CatalogForeignKey> {
        let mut c: SqliteConnection = connect(url).await;
        let found: Vec<(i64, String, String, Option<String>)> = rows(
            sqlx::query_as(FOREIGN_KEYS)
                .bind(table)
                .fetch_all(&mut c)
                .await,
            "foreign keys",
            table,
        );
        let mut resolved: Vec<(i64, String, String, String)> = Vec::with_capacity(found.len());
        for (id, column, parent, to) in found {
            let to = match to {
                Some(to) => to,
                // `REFERENCES parent` without columns means the parent's
                // primary key; the pragma leaves `to` NULL then.
                None => {
                    let position = resolved.iter().filter(|r| r.0 == id).count();
                    let key: Vec<String> = rows(
                        sqlx::query_scalar(PRIMARY_KEY)
                            .bind(&parent)
                            .fetch_all(&mut c)
                            .await,
                        "primary key",
                        &parent,
                    );
                    key.into_iter().nth(position).unwrap_or_else(|| {
                        panic!("`{table}` references the primary key of `{parent}`, which has none")
                    })
                }
            };
            resolved.push((id, column, parent, to));
        }
        group_foreign_keys(resolved)
    }
}

mod postgres {
    //! `information_schema` for columns; `pg_index` and `pg_constraint` for
    //! keys, since `information_schema` has no view of plain indexes.

    use super::{connect, group_foreign_keys, group_indexes, rows, CatalogColumn};
    use super::{CatalogForeignKey, CatalogIndex};
    use sqlx::PgConnection;

    // The information_schema domains are cast to text so sqlx decodes them as String.
    const COLUMNS: &str = "SELECT column_name::text, data_type::text, is_nullable::text = 'YES', \
        column_default::text \
        FROM information_schema.columns \
        WHERE table_schema = current_schema() AND table_name = $1 \
        ORDER BY ordinal_position";
    // Key columns only (not INCLUDE ones); an expression key (attnum 0) matches
    // no pg_attribute row and is shown by pg_get_indexdef.
    const INDEXES: &str = "SELECT ic.relname::text, i.indisunique, \
        COALESCE(a.attname::text, pg_get_indexdef(i.indexrelid, k.ord::int, true)) \
        FROM pg_index i \
        JOIN pg_class t ON t.oid = i.indrelid \
        JOIN pg_namespace n ON n.oid = t.relnamespace \
        JOIN pg_class ic ON ic.oid = i.indexrelid \
        CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
        LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
        WHERE n.nspname = current_schema() AND t.relname = $1 \
          AND NOT i.indisprimary AND k.ord <= i.indnkeyatts \
        ORDER BY ic.relname, k.ord";
    const FOREIGN_KEYS: &str = "SELECT c.conname::text, a.attname::text, rt.relname::text, \
        ra.attname::text \
        FROM pg_constraint c \
        JOIN pg_class t ON t.oid = c.conrelid \
        JOIN pg_namespace n ON n.oid = t.relnamespace \
        JOIN pg_class rt ON rt.oid = c.confrelid \
        CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(attnum, refnum, ord) \
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
        JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.refnum \
        WHERE c.contype = 'f' AND n.nspname = current_schema() AND t.relname = $1 \
        ORDER BY c.conname, k.ord";

    pub(super) async fn columns(url: &str, table: &str) -> Vec<CatalogColumn> {
        let mut c: PgConnection = connect(url).await;
        let found: Vec<(String, String, bool, Option<String>)> = rows(
            sqlx::query_as(COLUMNS).bind(table).fetch_all(&mut c).await,
            "columns",
            table,
        );
        found
            .into_iter()
            .map(|(name, data_type, nullable, default)| CatalogColumn {
                name,
                data_type: data_type.to_lowercase(),
                nullable,
                default,
            })
            .collect()
    }

    pub(super) async fn indexes(url: &str, table: &str) -> Vec<CatalogIndex> {
        let mut c: PgConnection = connect(url).await;
        let found: Vec<(String, bool, String)> = rows(
            sqlx::query_as(INDEXES).bind(table).fetch_all(&mut c).await,
            "indexes",
            table,
        );
        group_indexes(found)
    }

    pub(super) async fn foreign_keys(url: &str, table: &str) -> Vec<CatalogForeignKey> {
        let mut c: PgConnection = connect(url).await;
        let found: Vec<(String, String, String, String)> = rows(
            sqlx::query_as(FOREIGN_KEYS)
                .bind(table)
                .fetch_all(&mut c)
                .await,
            "foreign keys",
            table,
        );
        group_foreign_keys(found)
    }
}

mod mysql {
    //! `information_schema`, with every text column cast to CHAR: MariaDB and
    //! some MySQL versions send them as binary strings sqlx will not decode as
    //! `String`.

    use super::{connect, group_foreign_keys, group_indexes, rows, CatalogColumn};
    use super::{CatalogForeignKey, CatalogIndex};
    use sqlx::MySqlConnection;

    const COLUMNS: &str = "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), \
        CAST(IS_NULLABLE AS CHAR), CAST(COLUMN_DEFAULT AS CHAR) \
        FROM information_schema.COLUMNS \
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
        ORDER BY ORDINAL_POSITION";
    // A functional index part (MySQL 8) has no COLUMN_NAME but an EXPRESSION,
    // a column MariaDB lacks; such parts show as "<expression>".
    const INDEXES: &str = "SELECT CAST(INDEX_NAME AS CHAR), CAST(NON_UNIQUE AS SIGNED), \
        CAST(COLUMN_NAME AS CHAR) \
        FROM information_schema.STATISTICS \
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME <> 'PRIMARY' \
        ORDER BY INDEX_NAME, SEQ_IN_INDEX";
    const FOREIGN_KEYS: &str = "SELECT CAST(CONSTRAINT_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), \
        CAST(REFERENCED_TABLE_NAME AS CHAR), CAST(REFERENCED_COLUMN_NAME AS CHAR) \
        FROM information_schema.KEY_COLUMN_USAGE \
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
          AND REFERENCED_TABLE_NAME IS NOT NULL \
        ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION";

    pub(super) async fn columns(url: &str, table: &str) -> Vec<CatalogColumn> {
        let mut c: MySqlConnection = connect(url).await;
        let found: Vec<(String, String, String, Option<String>)> = rows(
            sqlx::query_as(COLUMNS).bind(table).fetch_all(&mut c).await,
            "columns",
            table,
        );
        found
            .into_iter()
            .map(|(name, data_type, nullable, default)| CatalogColumn {
                name,
                data_type: data_type.to_lowercase(),
                nullable: nullable == "YES",
                // MariaDB spells "no default" on a nullable column as the
                // expression NULL (string literals come quoted, so 'NULL' differs).
                default: default.filter(|d| d != "NULL"),
            })
            .collect()
    }

    pub(super) async fn indexes(url: &str, table: &str) -> Vec<CatalogIndex> {
        let mut c: MySqlConnection = connect(url).await;
        let found: Vec<(String, i64, Option<String>)> = rows(
            sqlx::query_as(INDEXES).bind(table).fetch_all(&mut c).await,
            "indexes",
            table,
        );
        group_indexes(found.into_iter().map(|(name, non_unique, column)| {
            (
                name,
                non_unique == 0,
                column.unwrap_or_else(|| "<expression>".into()),
            )
        }))
    }

    pub(super) async fn foreign_keys(url: &str, table: &str) -> Vec<CatalogForeignKey> {
        let mut c: MySqlConnection = connect(url).await;
        let found: Vec<(String, String, String, String)> = rows(
            sqlx::query_as(FOREIGN_KEYS)
                .bind(table)
                .fetch_all(&mut c)
                .await,
            "foreign keys",
            table,
        );
        group_foreign_keys(found)
    }
}
