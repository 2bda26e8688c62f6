//! SQL rendering for the three dialects.
//!
//! Identifiers are quoted by [`Backend::push_ident`]; every value becomes a
//! placeholder and is bound into the statement's [`Args`] as it is written,
//! so the SQL text never contains a value.

use std::fmt::Write;

use super::expr::{AggregateFn, CompareOp, Node};
use super::Parts;
use crate::backend::Backend;
use crate::connection::driver::Args;
use crate::error::Result;
use crate::model::schema::TableSchema;
use crate::model::types::{SqlType, Value};
use crate::model::{Model, ModelSql};

/// A statement being written: its text and its bound parameters.
pub(crate) struct Writer {
    pub(crate) backend: Backend,
    pub(crate) sql: String,
    pub(crate) args: Args,
    params: usize,
}

impl Writer {
    pub(crate) fn new(backend: Backend) -> Writer {
        Writer {
            backend,
            sql: String::with_capacity(128),
            args: Args::new(backend),
            params: 0,
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
                self.node(right)?;
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
                    self.value(v)?;
                }
                self.push("))");
            }
            Node::Between(inner, low, high) => {
                self.push("(");
                self.node(inner)?;
                self.push(" BETWEEN ");
                self.value(low)?;
                self.push(" AND ");
                self.value(high)?;
                self.push(")");
            }
            Node::Like(inner, pattern, escaped) => {
                self.push("(");
                self.node(inner)?;
                self.push(" LIKE ");
                self.value(pattern)?;
                if *escaped {
                    // `!` rather than a backslash: MySQL would read `'\'` as
                    // an escaped quote, so the same text works everywhere.
                    self.push(" ESCAPE '!'");
                }
                self.push(")");
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

    fn clauses(&mut self, parts: &Parts, with_order: bool) -> Result<()> {
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
        if with_order && !parts.order.is_empty() {
            self.push(" ORDER BY ");
            for (i, (node, descending)) in parts.order.iter().enumerate() {
                if i > 0 {
                    self.push(", ");
                }
                self.node(node)?;
                self.push(if *descending { " DESC" } else { " ASC" });
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
        Ok(())
    }

    pub(crate) fn finish(self) -> (String, Args) {
        (self.sql, self.args)
    }
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
    let mut w = Writer::new(backend);
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
    w.clauses(parts, true)?;
    Ok(w.finish())
}

/// `SELECT COUNT(*)` of what the query returns.
pub(crate) fn count<M: Model>(backend: Backend, parts: &Parts) -> Result<(String, Args)> {
    let mut w = Writer::new(backend);
    let nested = !parts.group_by.is_empty() || parts.limit.is_some() || parts.offset.is_some();
    if nested {
        w.push("SELECT COUNT(*) FROM (SELECT 1 AS ");
        w.ident("one");
        w.from::<M>(parts)?;
        w.clauses(parts, false)?;
        w.push(") AS ");
        w.ident("counted");
    } else {
        w.push("SELECT COUNT(*)");
        w.from::<M>(parts)?;
        w.clauses(parts, false)?;
    }
    Ok(w.finish())
}

/// `SELECT 1 ... LIMIT 1`
pub(crate) fn exists<M: Model>(backend: Backend, parts: &Parts) -> Result<(String, Args)> {
    let mut w = Writer::new(backend);
    w.push("SELECT 1");
    w.from::<M>(parts)?;
    w.clauses(parts, false)?;
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
        w.value(value)?;
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

/// `INSERT INTO <table> (<columns>) VALUES ` without any row group.
pub(crate) fn insert_head(w: &mut Writer, schema: &TableSchema) {
    w.push("INSERT INTO ");
    w.ident(schema.name);
    w.push(" (");
    for (i, column) in insert_columns(schema).enumerate() {
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
        insert_head(&mut w, schema);
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
