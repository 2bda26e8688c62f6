//! SQL rendering for the three dialects.
//!
//! Identifiers are quoted by [`Backend::push_ident`]; every value becomes a
//! placeholder and is bound into the statement's [`Args`] as it is written,
//! so the SQL text never contains a value.

use std::fmt::Write;

use super::expr::{AggregateFn, CompareOp, Node, Nulls, OrderKey};
use super::{lock, Parts};
use crate::backend::Backend;
use crate::connection::driver::Args;
use crate::error::{Error, Result};
use crate::model::schema::TableSchema;
use crate::model::types::{SqlType, Value};
use crate::model::{Model, ModelSql};

/// A statement being written: its text and its bound parameters.
pub(crate) struct Writer {
    pub(crate) backend: Backend,
    pub(crate) sql: String,
    pub(crate) args: Args,
    params: usize,
    /// Whether text compares by the column's collation (see `Parts::collated`).
    collated: bool,
}

impl Writer {
    pub(crate) fn new(backend: Backend) -> Writer {
        Writer {
            backend,
            sql: String::with_capacity(128),
            args: Args::new(backend),
            params: 0,
            collated: false,
        }
    }

    pub(crate) fn push(&mut self, text: &str) {
        self.sql.push_str(text);
    }

    pub(crate) fn ident(&mut self, name: &str) {
        self.backend.push_ident(&mut self.sql, name);
    }

    fn column(&mut self, table: &str, name: &str) {
        self.ident(table);
        self.sql.push('.');
        self.ident(name);
    }

    pub(crate) fn value(&mut self, value: &Value) -> Result<()> {
        value.bind(&mut self.args)?;
        self.placeholder();
        Ok(())
    }

    /// Writes the next placeholder (the caller binds its value).
    pub(crate) fn placeholder(&mut self) {
        self.params += 1;
        self.backend.push_placeholder(&mut self.sql, self.params);
    }

    fn list(&mut self, nodes: &[Node]) -> Result<()> {
        for (i, node) in nodes.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.node(node)?;
        }
        Ok(())
    }

    fn node(&mut self, node: &Node) -> Result<()> {
        match node {
            Node::Column { table, name } => self.column(table, name),
            Node::Value(v) => self.value(v)?,
            Node::CountAll => self.push("COUNT(*)"),
            Node::Compare(op, left, right) => {
                self.push("(");
                self.node(left)?;
                self.push(match op {
                    CompareOp::Eq => " = ",
                    CompareOp::Ne => " <> ",
                    CompareOp::Lt => " < ",
                    CompareOp::Le => " <= ",
                    CompareOp::Gt => " > ",
                    CompareOp::Ge => " >= ",
                });
                self.operand(right)?;
                self.push(")");
            }
            Node::And(a, b) | Node::Or(a, b) => {
                self.push("(");
                self.node(a)?;
                self.push(if matches!(node, Node::And(..)) {
                    " AND "
                } else {
                    " OR "
                });
                self.node(b)?;
                self.push(")");
            }
            Node::Not(inner) => {
                self.push("(NOT ");
                self.node(inner)?;
                self.push(")");
            }
            Node::IsNull(inner, negated) => {
                self.push("(");
                self.node(inner)?;
                self.push(if *negated {
                    " IS NOT NULL)"
                } else {
                    " IS NULL)"
                });
            }
            Node::In(inner, values, negated) => {
                if values.is_empty() {
                    // `IN ()` is a syntax error; an empty list matches nothing.
                    self.push(if *negated { "(1 = 1)" } else { "(1 = 0)" });
                    return Ok(());
                }
                self.push("(");
                self.node(inner)?;
                self.push(if *negated { " NOT IN (" } else { " IN (" });
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.compared_value(v)?;
                }
                self.push("))");
            }
            Node::Between(inner, low, high) => {
                self.push("(");
                self.node(inner)?;
                self.push(" BETWEEN ");
                self.compared_value(low)?;
                self.push(" AND ");
                self.compared_value(high)?;
                self.push(")");
            }
            Node::Like(inner, pattern, ignore_case) => self.like(inner, pattern, *ignore_case)?,
            Node::GroupText(inner) => {
                // Grouped by the bytes, and by the column itself so that
                // selecting it stays valid under ONLY_FULL_GROUP_BY.
                if self.backend == Backend::MySql {
                    self.byte_ordered(inner)?;
                    self.push(", ");
                }
                self.node(inner)?;
            }
            Node::ByteOrdered(inner) => self.byte_ordered(inner)?,
            Node::Aggregate(
                function @ (AggregateFn::Min | AggregateFn::Max),
                inner,
                Some(SqlType::Text),
            ) => {
                let name = if *function == AggregateFn::Min {
                    "MIN("
                } else {
                    "MAX("
                };
                // On MySQL the bytes' extreme is read back as the text it is.
                let mysql = self.backend == Backend::MySql;
                if mysql {
                    self.push("CONVERT(");
                }
                self.push(name);
                self.byte_ordered(inner)?;
                self.push(if mysql { ") USING utf8mb4)" } else { ")" });
            }
            Node::Aggregate(AggregateFn::Sum, inner, Some(SqlType::BigInt))
                if self.backend == Backend::MySql =>
            {
                // MySQL sums integers to DECIMAL, and `CAST(.. AS SIGNED)`
                // clamps a sum beyond i64 to i64::MAX with only a warning
                // (MySQL manual, "Cast Functions"). Adding what the cast cut
                // off, itself cast, is BIGINT arithmetic, which fails on
                // overflow (error 1690) as PostgreSQL (22003) and SQLite
                // ("integer overflow") do; in range it adds 0.
                self.push("(CAST(SUM(");
                self.node(inner)?;
                self.push(") AS SIGNED) + CAST(SUM(");
                self.node(inner)?;
                self.push(") - CAST(SUM(");
                self.node(inner)?;
                self.push(") AS SIGNED) AS SIGNED))");
            }
            Node::Aggregate(function, inner, cast) => {
                let cast = cast.and_then(|ty| cast_name(self.backend, ty));
                if cast.is_some() {
                    self.push("CAST(");
                }
                self.push(match function {
                    AggregateFn::Count => "COUNT(",
                    AggregateFn::Sum => "SUM(",
                    AggregateFn::Avg => "AVG(",
                    AggregateFn::Min => "MIN(",
                    AggregateFn::Max => "MAX(",
                });
                self.node(inner)?;
                self.push(")");
                if let Some(name) = cast {
                    self.push(" AS ");
                    self.push(name);
                    self.push(")");
                }
            }
        }
        Ok(())
    }

    /// The right side of a comparison: a value compared as [`compared_value`]
    /// says, anything else as it is.
    fn operand(&mut self, node: &Node) -> Result<()> {
        match node {
            Node::Value(v) => self.compared_value(v),
            other => self.node(other),
        }
    }

    /// A value that a column is compared with. Text compares byte by byte,
    /// as Rust's `==` and `<` on `str` do: the default on PostgreSQL
    /// (deterministic collations) and SQLite (`BINARY`); MySQL/MariaDB's
    /// default collations ignore case and trailing spaces (`PAD SPACE`), so
    /// there the value is a binary string, which makes the comparison one
    /// of bytes (MySQL manual, "The BINARY Operator") and still uses an
    /// index on the column for `=` and `IN`.
    fn compared_value(&mut self, value: &Value) -> Result<()> {
        if self.backend == Backend::MySql && !self.collated && matches!(value, Value::Text(_)) {
            self.push("CAST(");
            self.value(value)?;
            self.push(" AS BINARY)");
            Ok(())
        } else {
            self.value(value)
        }
    }

    /// `inner LIKE pattern ESCAPE '!'`, case-sensitive or not, the same on
    /// every backend (see `ExprOps::like` and `ExprOps::ilike`).
    fn like(&mut self, inner: &Node, pattern: &str, ignore_case: bool) -> Result<()> {
        if self.backend == Backend::Sqlite && pattern.len() > SQLITE_MAX_LIKE_PATTERN_LENGTH {
            return Err(Error::InvalidQuery {
                message: format!(
                    "a LIKE pattern of {} bytes: SQLite refuses patterns over {} bytes \
                     (SQLITE_MAX_LIKE_PATTERN_LENGTH); compare with `eq` instead",
                    pattern.len(),
                    SQLITE_MAX_LIKE_PATTERN_LENGTH
                ),
            });
        }
        self.push("(");
        match (self.backend, ignore_case) {
            (Backend::Postgres, _) => {
                self.node(inner)?;
                self.push(if ignore_case { " ILIKE " } else { " LIKE " });
            }
            // SQLite's LIKE ignores ASCII case; GLOB does not.
            (Backend::Sqlite, false) => {
                self.node(inner)?;
                self.push(" GLOB ");
                self.value(&Value::Text(glob_pattern(pattern)))?;
                self.push(")");
                return Ok(());
            }
            // SQLite's LIKE folds ASCII letters only ("The LIKE, GLOB,
            // REGEXP, MATCH, and extract operators"): a pattern with a
            // letter beyond ASCII that has a case would match fewer rows
            // than on PostgreSQL and MySQL, so it is refused.
            (Backend::Sqlite, true) => {
                if let Some(letter) = pattern.chars().find(|c| !c.is_ascii() && has_case(*c)) {
                    return Err(Error::InvalidQuery {
                        message: format!(
                            "a case-insensitive match (`ilike`, `*_ci`) with the letter `{letter}`: SQLite ignores \
                             the case of ASCII letters only, so it would not match `{}` or `{}` as PostgreSQL and \
                             MySQL do; match each spelling with `like` (`.like(a).or(.like(b))`) or store a folded copy \
                             of the text",
                            letter.to_lowercase(),
                            letter.to_uppercase()
                        ),
                    });
                }
                self.node(inner)?;
                self.push(" LIKE ");
            }
            // Converted first, so that a column in another character set
            // (latin1) can take the utf8mb4 collation.
            (Backend::MySql, false) => {
                self.push("CONVERT(");
                self.node(inner)?;
                self.push(" USING utf8mb4) COLLATE utf8mb4_bin LIKE ");
            }
            (Backend::MySql, true) => {
                self.push("LOWER(CONVERT(");
                self.node(inner)?;
                self.push(" USING utf8mb4)) COLLATE utf8mb4_bin LIKE LOWER(");
                self.value(&Value::Text(pattern.to_owned()))?;
                // `!` rather than a backslash: MySQL would read `'\'` as
                // an escaped quote, so the same text works everywhere.
                self.push(") ESCAPE '!')");
                return Ok(());
            }
        }
        self.value(&Value::Text(pattern.to_owned()))?;
        self.push(" ESCAPE '!')");
        Ok(())
    }

    /// A text expression compared by its bytes (UTF-8 order, as Rust's
    /// `str`): `COLLATE "C"` on PostgreSQL, `COLLATE BINARY` on SQLite, a
    /// binary string on MySQL (MySQL manual, "The BINARY Operator").
    fn byte_ordered(&mut self, inner: &Node) -> Result<()> {
        match self.backend {
            Backend::MySql => {
                self.push("CAST(");
                self.node(inner)?;
                self.push(" AS BINARY)");
            }
            Backend::Postgres => {
                self.node(inner)?;
                self.push(" COLLATE \"C\"");
            }
            Backend::Sqlite => {
                self.node(inner)?;
                self.push(" COLLATE BINARY");
            }
        }
        Ok(())
    }

    /// ` ORDER BY ...`: each key in the order Rust's `Ord` gives (see
    /// [`Ordering`](super::Ordering)).
    fn order_by(&mut self, keys: &[OrderKey]) -> Result<()> {
        self.push(" ORDER BY ");
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            let nulls = key.nulls();
            // MySQL has no NULLS FIRST/LAST; it sorts NULLs as the smallest
            // value, so only the other placement needs a key of its own.
            let native_first = !key.descending;
            if self.backend == Backend::MySql
                && key.nullable
                && (nulls == Nulls::First) != native_first
            {
                self.push("(");
                self.node(&key.node)?;
                self.push(if nulls == Nulls::First {
                    " IS NULL) DESC, "
                } else {
                    " IS NULL) ASC, "
                });
            }
            if key.text {
                self.byte_ordered(&key.node)?;
            } else {
                self.node(&key.node)?;
            }
            self.push(if key.descending { " DESC" } else { " ASC" });
            // PostgreSQL sorts NULLs as the largest value, SQLite as the
            // smallest; both take the placement in words.
            if key.nullable && self.backend != Backend::MySql {
                self.push(if nulls == Nulls::First {
                    " NULLS FIRST"
                } else {
                    " NULLS LAST"
                });
            }
        }
        Ok(())
    }

    /// ` FROM <table>` and the join, if any.
    fn from<M: Model>(&mut self, parts: &Parts) -> Result<()> {
        self.push(" FROM ");
        self.ident(M::SCHEMA.name);
        if let Some(join) = &parts.join {
            self.push(if join.left_join {
                " LEFT JOIN "
            } else {
                " INNER JOIN "
            });
            self.ident(join.schema.name);
            self.push(" ON ");
            self.node(&join.on.0)?;
            self.push(" = ");
            self.node(&join.on.1)?;
        }
        Ok(())
    }

    /// `WHERE`, `GROUP BY`, `HAVING`, then, with the queried model's
    /// schema as `sorted`, `ORDER BY`; then `LIMIT`/`OFFSET` and the lock.
    fn clauses(&mut self, parts: &Parts, sorted: Option<&TableSchema>) -> Result<()> {
        if let Some(filter) = &parts.filter {
            self.push(" WHERE ");
            self.node(filter)?;
        }
        if !parts.group_by.is_empty() {
            self.push(" GROUP BY ");
            self.list(&parts.group_by)?;
        }
        if let Some(having) = &parts.having {
            self.push(" HAVING ");
            self.node(having)?;
        }
        if let Some(schema) = sorted {
            let order = tie_broken(parts, schema);
            if !order.is_empty() {
                self.order_by(&order)?;
            }
        }
        // Limits are numbers from the API, never user text: written inline.
        match (parts.limit, parts.offset) {
            (Some(limit), offset) => {
                let _ = write!(self.sql, " LIMIT {limit}");
                if let Some(offset) = offset {
                    let _ = write!(self.sql, " OFFSET {offset}");
                }
            }
            (None, Some(offset)) => {
                let _ = match self.backend {
                    Backend::Sqlite => write!(self.sql, " LIMIT -1 OFFSET {offset}"),
                    Backend::MySql => {
                        write!(self.sql, " LIMIT 18446744073709551615 OFFSET {offset}")
                    }
                    Backend::Postgres => write!(self.sql, " OFFSET {offset}"),
                };
            }
            (None, None) => {}
        }
        // Last, after LIMIT: where MySQL requires it, and PostgreSQL accepts it.
        if let Some(lock) = parts.lock {
            self.push(lock.clause(self.backend));
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> (String, Args) {
        (self.sql, self.args)
    }
}

/// The sort keys of a `SELECT`, with ties broken: when the rows are sorted
/// or limited, the primary key of the queried model (and of the joined
/// one) follows the caller's keys, so that rows whose keys tie, and the
/// rows a `limit`/`offset`/`first` takes, are the same on every backend.
/// Not for grouped or aggregated selections, whose rows have no key.
fn tie_broken(parts: &Parts, table: &TableSchema) -> Vec<OrderKey> {
    let mut order = parts.order.clone();
    let sorted = !order.is_empty() || parts.limit.is_some() || parts.offset.is_some();
    let grouped = !parts.group_by.is_empty()
        || parts.having.is_some()
        || parts.columns.as_ref().is_some_and(|columns| {
            columns
                .iter()
                .any(|c| matches!(c, Node::Aggregate(..) | Node::CountAll))
        });
    if !sorted || grouped {
        return order;
    }
    let mut keys = vec![(table, false)];
    if let Some(join) = &parts.join {
        keys.push((join.schema, join.left_join));
    }
    for (schema, nullable) in keys {
        let key = schema.primary_key();
        let node = Node::Column {
            table: schema.name,
            name: key.name,
        };
        let present = order.iter().any(|k| {
            matches!(&k.node, Node::Column { table, name } if *table == schema.name && *name == key.name)
        });
        if !present {
            order.push(OrderKey {
                node,
                descending: false,
                nulls: None,
                nullable,
                text: key.sql_type == SqlType::Text,
            });
        }
    }
    order
}

/// SQLite's default limit on `LIKE` and `GLOB` patterns, in bytes (SQLite
/// manual, "Limits In SQLite", 8).
const SQLITE_MAX_LIKE_PATTERN_LENGTH: usize = 50_000;

/// Whether `c` is a letter with an upper and a lower case (`é`, `Σ`), by
/// Unicode's case mappings.
fn has_case(c: char) -> bool {
    c.to_lowercase().ne(c.to_uppercase())
}

/// A `LIKE` pattern (escaped with `!`) as the SQLite `GLOB` pattern that
/// matches the same text, case-sensitively: `%` -> `*`, `_` -> `?`, and the
/// characters special to GLOB (`*`, `?`, `[`) literal in brackets.
fn glob_pattern(like: &str) -> String {
    let mut out = String::with_capacity(like.len() + 2);
    let mut chars = like.chars();
    while let Some(c) = chars.next() {
        let literal = match c {
            '%' => {
                out.push('*');
                continue;
            }
            '_' => {
                out.push('?');
                continue;
            }
            '!' => chars.next().unwrap_or('!'),
            other => other,
        };
        if matches!(literal, '*' | '?' | '[') {
            out.push('[');
            out.push(literal);
            out.push(']');
        } else {
            out.push(literal);
        }
    }
    out
}

/// The cast that makes an aggregate decode to the same Rust type on every
/// backend (PostgreSQL sums bigints to NUMERIC, MySQL sums integers to DECIMAL).
fn cast_name(backend: Backend, ty: SqlType) -> Option<&'static str> {
    match (backend, ty) {
        (Backend::Sqlite, _) => None,
        (Backend::Postgres, SqlType::BigInt) => Some("BIGINT"),
        (Backend::Postgres, SqlType::Double) => Some("DOUBLE PRECISION"),
        (Backend::MySql, SqlType::BigInt) => Some("SIGNED"),
        (Backend::MySql, SqlType::Double) => Some("DOUBLE"),
        _ => None,
    }
}

fn select_columns(w: &mut Writer, schema: &TableSchema) {
    for (i, column) in schema.columns.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.column(schema.name, column.name);
    }
}

/// `SELECT ... FROM <table> <clauses>`
pub(crate) fn select<M: Model>(backend: Backend, parts: &Parts) -> Result<(String, Args)> {
    lock::check(backend, parts, M::NAME)?;
    let mut w = Writer::new(backend);
    w.collated = parts.collated;
    w.push("SELECT ");
    match &parts.columns {
        Some(columns) => w.list(columns)?,
        None => {
            select_columns(&mut w, M::SCHEMA);
            if let Some(join) = &parts.join {
                w.push(", ");
                select_columns(&mut w, join.schema);
            }
        }
    }
    w.from::<M>(parts)?;
    w.clauses(parts, Some(M::SCHEMA))?;
    Ok(w.finish())
}

/// The name of the numbered keys in [`select_matching`].
const KEYS: &str = "orm_keys";

/// Rows of `M` whose `column` equals one of `keys` by the database's own
/// equality, each row once per key it equals, after the number of that key
/// (`first` for `keys[0]`):
///
/// `WITH orm_keys (orm_i, orm_v) AS (<keys, numbered>) SELECT orm_keys.orm_i,
/// <columns> FROM <table> INNER JOIN orm_keys ON <column> = orm_keys.orm_v
/// ORDER BY <primary key>, orm_keys.orm_i`
///
/// The keys are a `VALUES` list (PostgreSQL, SQLite; SQLite limits a
/// `UNION` to 500 terms but not `VALUES`) or a `UNION ALL` of one-row
/// selects (MySQL 8 spells a `VALUES` row `ROW(..)`, MariaDB without it).
/// The column is on the left of `=`, so SQLite compares with its collation,
/// and the keys, being values, yield to the column's collation on MySQL
/// (coercibility) and PostgreSQL.
pub(crate) fn select_matching<M: Model>(
    backend: Backend,
    column: &Node,
    columns: Option<&[Node]>,
    keys: &[Value],
    first: usize,
) -> Result<(String, Args)> {
    let mut w = Writer::new(backend);
    w.push("WITH ");
    w.ident(KEYS);
    w.push(" (");
    w.ident("orm_i");
    w.push(", ");
    w.ident("orm_v");
    w.push(") AS (");
    for (n, key) in keys.iter().enumerate() {
        let number = first + n;
        let _ = match (backend, n) {
            (Backend::MySql, 0) => write!(w.sql, "SELECT {number}, "),
            (Backend::MySql, _) => write!(w.sql, " UNION ALL SELECT {number}, "),
            // The first row sets the column's type: BIGINT, as decoded.
            (Backend::Postgres, 0) => write!(w.sql, "VALUES (CAST({number} AS BIGINT), "),
            (_, 0) => write!(w.sql, "VALUES ({number}, "),
            (_, _) => write!(w.sql, ", ({number}, "),
        };
        w.value(key)?;
        if backend != Backend::MySql {
            w.push(")");
        }
    }
    w.push(") SELECT ");
    w.column(KEYS, "orm_i");
    w.push(", ");
    match columns {
        Some(columns) => w.list(columns)?,
        None => select_columns(&mut w, M::SCHEMA),
    }
    w.push(" FROM ");
    w.ident(M::SCHEMA.name);
    w.push(" INNER JOIN ");
    w.ident(KEYS);
    w.push(" ON ");
    w.node(column)?;
    w.push(" = ");
    w.column(KEYS, "orm_v");
    w.push(" ORDER BY ");
    w.column(M::SCHEMA.name, M::SCHEMA.primary_key().name);
    w.push(", ");
    w.column(KEYS, "orm_i");
    Ok(w.finish())
}

/// `SELECT COUNT(*)` of what the query returns. A locking query is counted
/// in a subquery that keeps its lock: PostgreSQL refuses a lock next to an
/// aggregate, and accepts it in a subquery (so does MySQL/MariaDB).
pub(crate) fn count<M: Model>(backend: Backend, parts: &Parts) -> Result<(String, Args)> {
    lock::check(backend, parts, M::NAME)?;
    let mut w = Writer::new(backend);
    let nested = !parts.group_by.is_empty()
        || parts.limit.is_some()
        || parts.offset.is_some()
        || parts.lock.is_some();
    if nested {
        w.push("SELECT COUNT(*) FROM (SELECT 1 AS ");
        w.ident("one");
        w.from::<M>(parts)?;
        w.clauses(parts, None)?;
        w.push(") AS ");
        w.ident("counted");
    } else {
        w.push("SELECT COUNT(*)");
        w.from::<M>(parts)?;
        w.clauses(parts, None)?;
    }
    Ok(w.finish())
}

/// `SELECT 1 ... LIMIT 1`
pub(crate) fn exists<M: Model>(backend: Backend, parts: &Parts) -> Result<(String, Args)> {
    lock::check(backend, parts, M::NAME)?;
    let mut w = Writer::new(backend);
    w.push("SELECT 1");
    w.from::<M>(parts)?;
    w.clauses(parts, None)?;
    Ok(w.finish())
}

/// `UPDATE <table> SET ... WHERE ...`
pub(crate) fn update<M: Model>(
    backend: Backend,
    assignments: &[(&'static str, Value)],
    filter: Option<&Node>,
) -> Result<(String, Args)> {
    let mut w = Writer::new(backend);
    w.push("UPDATE ");
    w.ident(M::SCHEMA.name);
    w.push(" SET ");
    for (i, (column, value)) in assignments.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.ident(column);
        w.push(" = ");
        // The column is the model's: `set` takes only its column handles.
        let schema = M::SCHEMA.columns.iter().find(|c| c.name == *column);
        schema
            .map_or(Ok(()), |schema| value.check_column(schema, backend))
            .and_then(|()| w.value(value))
            .map_err(|e| e.in_column(M::SCHEMA.name, column))?;
    }
    if let Some(filter) = filter {
        w.push(" WHERE ");
        w.node(filter)?;
    }
    Ok(w.finish())
}

/// `DELETE FROM <table> WHERE ...`
pub(crate) fn delete<M: Model>(backend: Backend, filter: Option<&Node>) -> Result<(String, Args)> {
    let mut w = Writer::new(backend);
    w.push("DELETE FROM ");
    w.ident(M::SCHEMA.name);
    if let Some(filter) = filter {
        w.push(" WHERE ");
        w.node(filter)?;
    }
    Ok(w.finish())
}

/// The columns an insert writes: all but an `auto` key.
pub(crate) fn insert_columns(
    schema: &TableSchema,
) -> impl Iterator<Item = &crate::model::schema::ColumnSchema> {
    schema.columns.iter().filter(|c| !c.auto_increment)
}

/// `INSERT INTO <table> (<columns>) VALUES ` without any row group; with
/// `with_key`, an `auto` key first, then the columns an insert writes.
pub(crate) fn insert_head(w: &mut Writer, schema: &TableSchema, with_key: bool) {
    w.push("INSERT INTO ");
    w.ident(schema.name);
    w.push(" (");
    let key = schema.primary_key();
    let key = (with_key && key.auto_increment).then_some(key);
    for (i, column) in key.into_iter().chain(insert_columns(schema)).enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.ident(column.name);
    }
    w.push(") VALUES ");
}

/// One `(?, ?, ...)` row group of `width` placeholders.
pub(crate) fn insert_row(w: &mut Writer, width: usize) {
    w.push("(");
    for i in 0..width {
        if i > 0 {
            w.push(", ");
        }
        w.placeholder();
    }
    w.push(")");
}

/// The fixed statements of a model, rendered once per backend.
pub(crate) fn model_sql(backend: Backend, schema: &TableSchema) -> ModelSql {
    let key = schema.primary_key();

    let mut w = Writer::new(backend);
    w.push("SELECT ");
    select_columns(&mut w, schema);
    w.push(" FROM ");
    w.ident(schema.name);
    let select = w.sql.clone();
    w.push(" WHERE ");
    w.column(schema.name, key.name);
    w.push(" = ");
    w.placeholder();
    let find = w.sql;

    let width = insert_columns(schema).count();
    let mut w = Writer::new(backend);
    if width == 0 {
        w.push("INSERT INTO ");
        w.ident(schema.name);
        w.push(if backend == Backend::MySql {
            " () VALUES ()"
        } else {
            " DEFAULT VALUES"
        });
    } else {
        insert_head(&mut w, schema, false);
        insert_row(&mut w, width);
    }
    if backend.insert_returning() {
        w.push(" RETURNING ");
        for (i, column) in schema.columns.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.ident(column.name);
        }
    }
    let insert = w.sql;

    let mut w = Writer::new(backend);
    w.push("UPDATE ");
    w.ident(schema.name);
    w.push(" SET ");
    for (i, column) in schema.columns.iter().filter(|c| !c.primary_key).enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.ident(column.name);
        w.push(" = ");
        w.placeholder();
    }
    w.push(" WHERE ");
    w.ident(key.name);
    w.push(" = ");
    w.placeholder();
    let update = w.sql;

    let mut w = Writer::new(backend);
    w.push("DELETE FROM ");
    w.ident(schema.name);
    w.push(" WHERE ");
    w.ident(key.name);
    w.push(" = ");
    w.placeholder();
    let delete = w.sql;

    ModelSql {
        select,
        find,
        insert,
        insert_row_width: width,
        update,
        delete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::driver::RowRef;
    use crate::error::Error;
    use crate::model::schema::ColumnSchema;
    use crate::model::SqlCache;
    use crate::query::expr::CompareOp;
    use crate::query::lock::{Lock, OnLocked, Strength};
    use crate::query::JoinClause;
    use crate::routing::Access;

    const fn column(name: &'static str, primary_key: bool) -> ColumnSchema {
        ColumnSchema {
            name,
            field: name,
            sql_type: SqlType::BigInt,
            rust_type: "i64",
            nullable: false,
            primary_key,
            auto_increment: primary_key,
            unique: false,
            indexed: false,
            max_length: None,
            decimal: None,
            default: None,
            renamed_from: None,
        }
    }

    const fn table(name: &'static str, columns: &'static [ColumnSchema]) -> TableSchema {
        TableSchema {
            name,
            columns,
            primary_key: 0,
            renamed_from: None,
            connection: "db",
            indexes: &[],
            foreign_keys: &[],
        }
    }

    static JOBS: TableSchema = table("jobs", &[column("id", true), column("state", false)]);
    static WORKERS: TableSchema = table("workers", &[column("id", true), column("job_id", false)]);

    /// A model by hand: only its name and schema are rendered.
    struct Job;

    impl Model for Job {
        type Connection = crate::DefaultConnection;
        type Key = i64;
        const NAME: &'static str = "Job";
        const SCHEMA: &'static TableSchema = &JOBS;
        fn __sql_cache() -> &'static SqlCache {
            static CACHE: SqlCache = SqlCache::new();
            &CACHE
        }
        fn __decode(_: RowRef<'_>, _: usize) -> Result<Self> {
            unreachable!("rendering only")
        }
        fn __bind_insert(&self, _: &mut Args) -> Result<()> {
            unreachable!("rendering only")
        }
        fn __bind_update(&self, _: &mut Args) -> Result<()> {
            unreachable!("rendering only")
        }
        fn __bind_key(&self, _: &mut Args) -> Result<()> {
            unreachable!("rendering only")
        }
        fn __is_new(&self) -> bool {
            unreachable!("rendering only")
        }
        fn __key_value(&self) -> Value {
            unreachable!("rendering only")
        }
    }

    fn col(table: &'static str, name: &'static str) -> Node {
        Node::Column { table, name }
    }

    /// `WHERE jobs.state = 1 ... LIMIT 2`, locked with `strength` and `on_locked`.
    fn locked(strength: Strength, on_locked: OnLocked) -> Parts {
        Parts {
            filter: Some(Node::Compare(
                CompareOp::Eq,
                Box::new(col("jobs", "state")),
                Box::new(Node::Value(Value::I64(1))),
            )),
            order: vec![crate::query::Ordering::<Job>::key_of().key],
            limit: Some(2),
            lock: Some(Lock {
                strength,
                on_locked,
            }),
            ..Parts::default()
        }
    }

    fn message(result: Result<(String, Args)>) -> String {
        match result {
            Err(Error::InvalidQuery { message }) => message,
            Err(other) => panic!("expected InvalidQuery, got {other}"),
            Ok((sql, _)) => panic!("expected InvalidQuery, got SQL {sql}"),
        }
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_locking_clauses() {
        let head = r#"SELECT "jobs"."id", "jobs"."state" FROM "jobs" WHERE ("jobs"."state" = $1) ORDER BY "jobs"."id" ASC LIMIT 2"#;
        for (strength, on_locked, clause) in [
            (Strength::Update, OnLocked::Wait, " FOR UPDATE"),
            (Strength::Update, OnLocked::Fail, " FOR UPDATE NOWAIT"),
            (Strength::Update, OnLocked::Skip, " FOR UPDATE SKIP LOCKED"),
            (Strength::Share, OnLocked::Wait, " FOR SHARE"),
            (Strength::Share, OnLocked::Fail, " FOR SHARE NOWAIT"),
            (Strength::Share, OnLocked::Skip, " FOR SHARE SKIP LOCKED"),
        ] {
            let (sql, args) =
                select::<Job>(Backend::Postgres, &locked(strength, on_locked)).unwrap();
            assert_eq!(sql, format!("{head}{clause}"));
            assert_eq!(args.len(), 1, "the value is bound, not written");
        }
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn mysql_locking_clauses() {
        let head = "SELECT `jobs`.`id`, `jobs`.`state` FROM `jobs` WHERE (`jobs`.`state` = ?) ORDER BY `jobs`.`id` ASC LIMIT 2";
        for (strength, on_locked, clause) in [
            (Strength::Update, OnLocked::Wait, " FOR UPDATE"),
            (Strength::Update, OnLocked::Fail, " FOR UPDATE NOWAIT"),
            (Strength::Update, OnLocked::Skip, " FOR UPDATE SKIP LOCKED"),
            (Strength::Share, OnLocked::Wait, " LOCK IN SHARE MODE"),
            (
                Strength::Share,
                OnLocked::Fail,
                " LOCK IN SHARE MODE NOWAIT",
            ),
            (
                Strength::Share,
                OnLocked::Skip,
                " LOCK IN SHARE MODE SKIP LOCKED",
            ),
        ] {
            let (sql, args) = select::<Job>(Backend::MySql, &locked(strength, on_locked)).unwrap();
            assert_eq!(sql, format!("{head}{clause}"));
            assert_eq!(args.len(), 1, "the value is bound, not written");
        }
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn mysql_lock_follows_an_offset_without_limit() {
        let mut parts = locked(Strength::Update, OnLocked::Wait);
        parts.limit = None;
        parts.offset = Some(3);
        let (sql, _) = select::<Job>(Backend::MySql, &parts).unwrap();
        assert!(
            sql.ends_with(" LIMIT 18446744073709551615 OFFSET 3 FOR UPDATE"),
            "{sql}"
        );
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn count_keeps_the_lock_in_a_subquery() {
        let (sql, args) =
            count::<Job>(Backend::Postgres, &locked(Strength::Update, OnLocked::Skip)).unwrap();
        assert_eq!(
            sql,
            r#"SELECT COUNT(*) FROM (SELECT 1 AS "one" FROM "jobs" WHERE ("jobs"."state" = $1) LIMIT 2 FOR UPDATE SKIP LOCKED) AS "counted""#
        );
        assert_eq!(args.len(), 1);

        let mut unlimited = locked(Strength::Share, OnLocked::Wait);
        unlimited.limit = None;
        let (sql, _) = count::<Job>(Backend::Postgres, &unlimited).unwrap();
        assert_eq!(
            sql,
            r#"SELECT COUNT(*) FROM (SELECT 1 AS "one" FROM "jobs" WHERE ("jobs"."state" = $1) FOR SHARE) AS "counted""#
        );
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn exists_locks_the_row_it_finds() {
        let mut parts = locked(Strength::Update, OnLocked::Fail);
        parts.limit = Some(1);
        let (sql, _) = exists::<Job>(Backend::MySql, &parts).unwrap();
        assert_eq!(
            sql,
            "SELECT 1 FROM `jobs` WHERE (`jobs`.`state` = ?) LIMIT 1 FOR UPDATE NOWAIT"
        );
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn an_inner_join_locks_both_tables() {
        let mut parts = locked(Strength::Update, OnLocked::Wait);
        parts.join = Some(JoinClause {
            left_join: false,
            model: "Worker",
            schema: &WORKERS,
            on: (col("jobs", "id"), col("workers", "job_id")),
        });
        let (sql, _) = select::<Job>(Backend::Postgres, &parts).unwrap();
        assert_eq!(
            sql,
            r#"SELECT "jobs"."id", "jobs"."state", "workers"."id", "workers"."job_id" FROM "jobs" INNER JOIN "workers" ON "jobs"."id" = "workers"."job_id" WHERE ("jobs"."state" = $1) ORDER BY "jobs"."id" ASC, "workers"."id" ASC LIMIT 2 FOR UPDATE"#
        );
    }

    #[test]
    fn like_patterns_become_glob_patterns_that_match_the_same_text() {
        assert_eq!(glob_pattern("%a_b%"), "*a?b*");
        assert_eq!(glob_pattern("50!%!_off!!"), "50%_off!");
        assert_eq!(glob_pattern("*?[x]"), "[*][?][[]x]");
        assert_eq!(glob_pattern("!*"), "[*]");
    }

    #[cfg(all(feature = "sqlite", feature = "postgres", feature = "mysql"))]
    fn nullable_text(descending: bool, nulls: Option<Nulls>) -> Parts {
        Parts {
            order: vec![OrderKey {
                node: col("jobs", "state"),
                descending,
                nulls,
                nullable: true,
                text: true,
            }],
            ..Parts::default()
        }
    }

    // Renders for every backend: each must be compiled in.
    #[cfg(all(feature = "sqlite", feature = "postgres", feature = "mysql"))]
    #[test]
    fn order_by_renders_rusts_order_on_each_backend() {
        let cases = [
            (
                Backend::Postgres,
                false,
                None,
                r#""jobs"."state" COLLATE "C" ASC NULLS FIRST"#,
            ),
            (
                Backend::Postgres,
                true,
                None,
                r#""jobs"."state" COLLATE "C" DESC NULLS LAST"#,
            ),
            (
                Backend::Sqlite,
                false,
                Some(Nulls::Last),
                r#""jobs"."state" COLLATE BINARY ASC NULLS LAST"#,
            ),
            (
                Backend::MySql,
                false,
                None,
                "CAST(`jobs`.`state` AS BINARY) ASC",
            ),
            (
                Backend::MySql,
                false,
                Some(Nulls::Last),
                "(`jobs`.`state` IS NULL) ASC, CAST(`jobs`.`state` AS BINARY) ASC",
            ),
            (
                Backend::MySql,
                true,
                Some(Nulls::First),
                "(`jobs`.`state` IS NULL) DESC, CAST(`jobs`.`state` AS BINARY) DESC",
            ),
            (
                Backend::MySql,
                true,
                None,
                "CAST(`jobs`.`state` AS BINARY) DESC",
            ),
        ];
        for (backend, descending, nulls, expected) in cases {
            let (sql, _) = select::<Job>(backend, &nullable_text(descending, nulls)).unwrap();
            let order = sql.split(" ORDER BY ").nth(1).unwrap();
            // Ties broken by the primary key.
            let mut key = String::from(", ");
            backend.push_ident(&mut key, "jobs");
            key.push('.');
            backend.push_ident(&mut key, "id");
            assert_eq!(order, format!("{expected}{key} ASC"), "{backend:?}");
        }
    }

    #[test]
    fn sqlite_refuses_every_lock_and_says_what_to_do() {
        for strength in [Strength::Update, Strength::Share] {
            for on_locked in [OnLocked::Wait, OnLocked::Fail, OnLocked::Skip] {
                let parts = locked(strength, on_locked);
                for result in [
                    select::<Job>(Backend::Sqlite, &parts),
                    count::<Job>(Backend::Sqlite, &parts),
                    exists::<Job>(Backend::Sqlite, &parts),
                ] {
                    let m = message(result);
                    assert!(m.contains("SQLite has no row locks"), "{m}");
                    assert!(
                        m.contains("write transaction locks the whole database"),
                        "{m}"
                    );
                    assert!(m.contains("SqliteBegin::Immediate"), "{m}");
                    assert!(m.contains("`Job`"), "{m}");
                }
            }
        }
    }

    #[test]
    fn a_lock_with_group_by_having_or_aggregates_is_refused_everywhere() {
        for backend in Backend::ALL {
            if backend == Backend::Sqlite {
                continue; // refused for having no locks at all
            }
            let mut grouped = locked(Strength::Update, OnLocked::Wait);
            grouped.group_by = vec![col("jobs", "state")];
            let m = message(select::<Job>(backend, &grouped));
            assert!(
                m.contains("`for_update()` on a query of `Job` with `group_by`/`having`"),
                "{m}"
            );
            assert!(m.contains("Lock the rows with a query without"), "{m}");
            assert!(count::<Job>(backend, &grouped).is_err());

            let mut having = locked(Strength::Share, OnLocked::Wait);
            having.having = Some(col("jobs", "state"));
            let m = message(select::<Job>(backend, &having));
            assert!(m.starts_with("`for_share()`"), "{m}");

            for aggregate in [
                Node::CountAll,
                Node::Aggregate(AggregateFn::Max, Box::new(col("jobs", "id")), None),
            ] {
                let mut summed = locked(Strength::Update, OnLocked::Skip);
                summed.columns = Some(vec![col("jobs", "state"), aggregate]);
                let m = message(select::<Job>(backend, &summed));
                assert!(m.contains("selects an aggregate"), "{m}");
                assert!(m.contains("call `.count(..)` on the locking query"), "{m}");
            }
        }
    }

    #[test]
    fn a_lock_on_a_left_join_is_refused_everywhere() {
        for backend in Backend::ALL {
            let mut parts = locked(Strength::Update, OnLocked::Wait);
            parts.join = Some(JoinClause {
                left_join: true,
                model: "Worker",
                schema: &WORKERS,
                on: (col("jobs", "id"), col("workers", "job_id")),
            });
            let m = message(select::<Job>(backend, &parts));
            if backend == Backend::Sqlite {
                assert!(m.contains("SQLite has no row locks"), "{m}");
                continue;
            }
            assert!(m.contains("`left_join` of `Job` and `Worker`"), "{m}");
            assert!(m.contains("Use `join`"), "{m}");
            assert!(m.contains("`Job::query().filter(..).for_update()`"), "{m}");
        }
    }

    #[test]
    fn a_locking_read_is_routed_as_a_write() {
        let plain = Parts::default();
        let op = crate::query::read_op::<Job>(&plain);
        assert_eq!((op.access, op.verb), (Access::Read, "SELECT"));

        for strength in [Strength::Update, Strength::Share] {
            for on_locked in [OnLocked::Wait, OnLocked::Fail, OnLocked::Skip] {
                let op = crate::query::read_op::<Job>(&locked(strength, on_locked));
                assert_eq!((op.access, op.verb), (Access::Write, "SELECT"));
                assert_eq!(&op.tables[..], ["jobs"]);
            }
        }
        let mut joined = locked(Strength::Update, OnLocked::Wait);
        joined.join = Some(JoinClause {
            left_join: false,
            model: "Worker",
            schema: &WORKERS,
            on: (col("jobs", "id"), col("workers", "job_id")),
        });
        let op = crate::query::read_op::<Job>(&joined);
        assert_eq!(op.access, Access::Write);
        assert_eq!(&op.tables[..], ["jobs", "workers"]);
    }
}
