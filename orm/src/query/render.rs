//! SQL rendering for the three dialects.
//!
//! Identifiers are quoted by [`Backend::push_ident`]; every value becomes a
//! placeholder and is bound into the statement's [`Args`] as it is written,
//! so the SQL text never contains a value.

use std::fmt::Write;

use super::expr::{
    AggregateFn, ArithOp, CompareOp, Node, Nulls, OrderKey, RankFn, SubqueryUse, TextFn,
};
use super::in_list;
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
    /// Whether selected columns are named `c1`, `c2`, ... (for a union).
    numbered: bool,
    /// The bound values, encoded for a query cache key
    /// ([`Value::encode_key`]), when one is wanted.
    pub(crate) key: Option<Vec<u8>>,
}

impl Writer {
    pub(crate) fn new(backend: Backend) -> Writer {
        Writer {
            backend,
            sql: String::with_capacity(128),
            args: Args::new(backend),
            params: 0,
            collated: false,
            numbered: false,
            key: None,
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
        if let Some(key) = &mut self.key {
            value.encode_key(key);
        }
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
            Node::In(inner, values, negated) => self.in_list(inner, values, *negated)?,
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
            Node::Aggregate(function, inner, cast) => {
                self.aggregate(*function, inner, *cast, None)?
            }
            Node::Bytes(inner) => {
                if self.backend == Backend::MySql && !self.collated {
                    self.push("CAST(");
                    self.node(inner)?;
                    self.push(" AS BINARY)");
                } else {
                    self.node(inner)?;
                }
            }
            Node::Arith(op, left, right) => {
                self.push("(");
                self.node(left)?;
                match op {
                    ArithOp::Add => self.push(" + "),
                    ArithOp::Sub => self.push(" - "),
                    ArithOp::Mul => self.push(" * "),
                    // MySQL's `/` of integers gives a decimal; `DIV` truncates
                    // toward zero as PostgreSQL's and SQLite's `/` do.
                    ArithOp::Div(true) if self.backend == Backend::MySql => self.push(" DIV "),
                    ArithOp::Div(_) => self.push(" / "),
                }
                if matches!(op, ArithOp::Div(_)) {
                    // Division by zero is NULL everywhere (PostgreSQL would
                    // fail with SQLSTATE 22012).
                    self.push("NULLIF(");
                    self.node(right)?;
                    self.push(", 0)");
                } else {
                    self.node(right)?;
                }
                self.push(")");
            }
            Node::Cast(inner, from, to) => self.cast(inner, *from, *to)?,
            Node::ByteOrdered(inner) => self.byte_ordered(inner)?,
            Node::Coalesce(list) => {
                self.push("COALESCE(");
                self.list(list)?;
                self.push(")");
            }
            Node::Case(branches, otherwise) => {
                self.push("(CASE");
                for (condition, value) in branches {
                    self.push(" WHEN ");
                    self.node(condition)?;
                    self.push(" THEN ");
                    self.node(value)?;
                }
                if let Some(otherwise) = otherwise {
                    self.push(" ELSE ");
                    self.node(otherwise)?;
                }
                self.push(" END)");
            }
            Node::Text(function, args) => self.text_function(*function, args)?,
            Node::Subquery(usage, parts) => match usage {
                SubqueryUse::In(left, negated) => {
                    if self.backend == Backend::MySql
                        && (parts.limit.is_some() || parts.offset.is_some())
                    {
                        return Err(Error::InvalidQuery {
                            message: "`is_in` with a subquery that has `limit`/`offset`: MySQL and MariaDB \
                                      refuse LIMIT in an IN subquery (error 1235); filter the subquery \
                                      instead, or select its rows first"
                                .into(),
                        });
                    }
                    self.push("(");
                    self.node(left)?;
                    self.push(if *negated { " NOT IN " } else { " IN " });
                    self.subquery(parts)?;
                    self.push(")");
                }
                SubqueryUse::Exists(negated) => {
                    self.push(if *negated { "(NOT EXISTS " } else { "(EXISTS " });
                    self.subquery(parts)?;
                    self.push(")");
                }
                SubqueryUse::Scalar => self.subquery(parts)?,
            },
            Node::Window(function, partition, order) => {
                let over = Some((&partition[..], &order[..]));
                match &**function {
                    Node::Aggregate(f, inner, cast) => self.aggregate(*f, inner, *cast, over)?,
                    Node::CountAll => {
                        self.push("COUNT(*)");
                        self.over(partition, order)?;
                    }
                    Node::Ranking(f, args) => self.ranking(*f, args, partition, order)?,
                    other => {
                        return Err(Error::InvalidQuery {
                            message: format!(
                                "`over` of an expression that is not a window function: {other:?}"
                            ),
                        })
                    }
                }
            }
            Node::Ranking(f, args) => self.ranking(*f, args, &[], &[])?,
            Node::Position(n) => {
                self.ident("orm_union");
                self.push(".");
                self.ident(&format!("c{n}"));
            }
            Node::Literal(n) => {
                let _ = write!(self.sql, "{n}");
            }
        }
        Ok(())
    }

    /// ` OVER (PARTITION BY .. ORDER BY ..)`, the keys in the order
    /// [`Ordering`](super::Ordering) gives (SQL:2003 window functions;
    /// SQLite >= 3.25, MariaDB >= 10.2).
    fn over(&mut self, partition: &[Node], order: &[OrderKey]) -> Result<()> {
        self.push(" OVER (");
        if !partition.is_empty() {
            self.push("PARTITION BY ");
            self.list(partition)?;
        }
        if !order.is_empty() {
            if !partition.is_empty() {
                self.push(" ");
            }
            self.order_keys(order)?;
        }
        self.push(")");
        Ok(())
    }

    /// An aggregate call, with its window when `over` is given, cast so
    /// that it decodes to the same Rust type on every backend.
    fn aggregate(
        &mut self,
        function: AggregateFn,
        inner: &Node,
        cast: Option<SqlType>,
        over: Option<(&[Node], &[OrderKey])>,
    ) -> Result<()> {
        let window = |w: &mut Writer| match over {
            Some((partition, order)) => w.over(partition, order),
            None => Ok(()),
        };
        match (function, cast) {
            (AggregateFn::Min | AggregateFn::Max, Some(SqlType::Text)) => {
                let name = if function == AggregateFn::Min {
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
                self.push(")");
                window(self)?;
                if mysql {
                    self.push(" USING utf8mb4)");
                }
            }
            (AggregateFn::CountDistinct, text) => {
                self.push("COUNT(DISTINCT ");
                if text == Some(SqlType::Text) {
                    self.byte_ordered(inner)?;
                } else {
                    self.node(inner)?;
                }
                self.push(")");
                window(self)?;
            }
            (AggregateFn::Sum, Some(SqlType::BigInt))
                if self.backend == Backend::MySql && over.is_none() =>
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
            (function, cast) => {
                let cast = cast.and_then(|ty| cast_name(self.backend, ty));
                self.cast_to(cast, |w| {
                    w.push(match function {
                        AggregateFn::Count => "COUNT(",
                        AggregateFn::Sum => "SUM(",
                        AggregateFn::Avg => "AVG(",
                        AggregateFn::Min => "MIN(",
                        AggregateFn::Max => "MAX(",
                        AggregateFn::CountDistinct => "COUNT(DISTINCT ",
                    });
                    w.node(inner)?;
                    w.push(")");
                    window(w)
                })?;
            }
        }
        Ok(())
    }

    /// `ROW_NUMBER()`, `RANK()`, `DENSE_RANK()`, `LAG(x, n)`, `LEAD(x, n)`
    /// with their window; the ranks cast to a signed 64-bit integer (MySQL
    /// gives them unsigned).
    fn ranking(
        &mut self,
        function: RankFn,
        args: &[Node],
        partition: &[Node],
        order: &[OrderKey],
    ) -> Result<()> {
        let rank = matches!(
            function,
            RankFn::RowNumber | RankFn::Rank | RankFn::DenseRank
        );
        let cast = rank
            .then(|| cast_name(self.backend, SqlType::BigInt))
            .flatten();
        self.cast_to(cast, |w| {
            w.push(match function {
                RankFn::RowNumber => "ROW_NUMBER(",
                RankFn::Rank => "RANK(",
                RankFn::DenseRank => "DENSE_RANK(",
                RankFn::Lag => "LAG(",
                RankFn::Lead => "LEAD(",
            });
            w.list(args)?;
            w.push(")");
            w.over(partition, order)
        })
    }

    /// What `write` writes, wrapped in `CAST(.. AS <type>)` when `cast`
    /// names a type (see [`cast_name`]), as it is otherwise.
    fn cast_to(
        &mut self,
        cast: Option<&'static str>,
        write: impl FnOnce(&mut Self) -> Result<()>,
    ) -> Result<()> {
        if cast.is_some() {
            self.push("CAST(");
        }
        write(self)?;
        if let Some(name) = cast {
            self.push(" AS ");
            self.push(name);
            self.push(")");
        }
        Ok(())
    }

    /// `CAST(inner AS <type>)`, by each backend's name of the type. A
    /// number with a fraction cast to an integer truncates toward zero on
    /// every backend (PostgreSQL and MySQL would round; SQLite truncates).
    fn cast(&mut self, inner: &Node, from: SqlType, to: SqlType) -> Result<()> {
        let integer = matches!(to, SqlType::SmallInt | SqlType::Int | SqlType::BigInt);
        let fraction = matches!(from, SqlType::Float | SqlType::Double | SqlType::Decimal);
        let name = match (self.backend, to) {
            (Backend::Postgres, SqlType::Int) => "INTEGER",
            (Backend::Postgres, SqlType::BigInt) => "BIGINT",
            (Backend::Postgres, SqlType::Double) => "DOUBLE PRECISION",
            (Backend::Postgres, SqlType::Decimal) => "NUMERIC",
            (Backend::Postgres | Backend::Sqlite, SqlType::Text) => "TEXT",
            (Backend::Sqlite, SqlType::Int | SqlType::BigInt) => "INTEGER",
            (Backend::Sqlite, SqlType::Double) => "REAL",
            (Backend::MySql, SqlType::Int | SqlType::BigInt) => "SIGNED",
            (Backend::MySql, SqlType::Double) => "DOUBLE",
            (Backend::MySql, SqlType::Text) => "CHAR",
            (Backend::MySql, SqlType::Decimal) => "DECIMAL(65, 30)",
            (backend, to) => {
                return Err(Error::InvalidQuery {
                    message: format!(
                        "a cast to {to:?} on {}: cast to i64, i32, f64, String or Decimal",
                        backend.name()
                    ),
                })
            }
        };
        self.push("CAST(");
        match (integer && fraction, self.backend) {
            (true, Backend::Postgres) => {
                self.push("TRUNC(");
                self.node(inner)?;
                self.push(")");
            }
            (true, Backend::MySql) => {
                self.push("TRUNCATE(");
                self.node(inner)?;
                self.push(", 0)");
            }
            _ => self.node(inner)?,
        }
        self.push(" AS ");
        self.push(name);
        self.push(")");
        Ok(())
    }

    /// `LOWER`, `UPPER`, the length in characters, and concatenation.
    fn text_function(&mut self, function: TextFn, args: &[Node]) -> Result<()> {
        match (function, self.backend) {
            (TextFn::Lower, _) => self.push("LOWER("),
            (TextFn::Upper, _) => self.push("UPPER("),
            (TextFn::Length, Backend::Postgres) => self.push("CAST(LENGTH("),
            (TextFn::Length, Backend::Sqlite) => self.push("LENGTH("),
            (TextFn::Length, Backend::MySql) => self.push("CAST(CHAR_LENGTH("),
            // MySQL's `||` is OR unless PIPES_AS_CONCAT is set.
            (TextFn::Concat, Backend::MySql) => self.push("CONCAT("),
            (TextFn::Concat, _) => {
                self.push("(");
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        self.push(" || ");
                    }
                    self.node(arg)?;
                }
                self.push(")");
                return Ok(());
            }
        }
        self.list(args)?;
        self.push(match (function, self.backend) {
            (TextFn::Length, Backend::Postgres) => ") AS BIGINT)",
            (TextFn::Length, Backend::MySql) => ") AS SIGNED)",
            _ => ")",
        });
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

    /// `inner [NOT] IN (values)` with a list of any length, in a constant
    /// number of parameters when it is long (see [`in_list`]); an empty
    /// list matches nothing (everything, negated).
    fn in_list(&mut self, inner: &Node, values: &[Value], negated: bool) -> Result<()> {
        if values.is_empty() {
            // `IN ()` is a syntax error; an empty list matches nothing.
            self.push(if negated { "(1 = 1)" } else { "(1 = 0)" });
            return Ok(());
        }
        let binary_text = self.backend == Backend::MySql
            && !self.collated
            && values.iter().any(|v| matches!(v, Value::Text(_)));
        let json = match self.backend {
            Backend::Postgres => None,
            _ if values.len() <= in_list::INLINE_MAX => None,
            backend => in_list::json_list(backend, values, binary_text),
        };
        self.push("(");
        if let (Some(_), true) = (&json, binary_text) {
            // Both sides binary strings: MariaDB compares a column with a
            // subquery's rows by the column's collation when it
            // materializes them for `NOT IN`, which ignores trailing spaces.
            self.byte_ordered(inner)?;
        } else {
            self.node(inner)?;
        }
        #[cfg(feature = "postgres")]
        if self.backend == Backend::Postgres && in_list::bind_array(values, &mut self.args)? {
            if let Some(key) = &mut self.key {
                // One parameter, the array: its length, then its elements.
                key.push(b'[');
                key.extend_from_slice(&(values.len() as u32).to_le_bytes());
                for v in values {
                    v.encode_key(key);
                }
            }
            self.push(if negated { " <> ALL(" } else { " = ANY(" });
            self.placeholder();
            self.push("))");
            return Ok(());
        }
        if let Some((json, select)) = json {
            self.push(if negated { " NOT IN (" } else { " IN (" });
            // The one `?` of `select` is the list.
            let (head, tail) = select.split_once('?').unwrap_or((&select, ""));
            self.push(head);
            self.value(&Value::Text(json))?;
            self.push(tail);
            self.push("))");
            return Ok(());
        }
        self.push(if negated { " NOT IN (" } else { " IN (" });
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.compared_value(v)?;
        }
        self.push("))");
        Ok(())
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
        self.push(" ");
        self.order_keys(keys)
    }

    /// `ORDER BY ...` of `order_by`, also inside a window.
    fn order_keys(&mut self, keys: &[OrderKey]) -> Result<()> {
        self.push("ORDER BY ");
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

    /// ` FROM <table>` and the joins, if any. A table or alias joined
    /// twice under one name is refused: its columns would be ambiguous.
    fn from(&mut self, table: &TableSchema, parts: &Parts) -> Result<()> {
        self.push(" FROM ");
        if let Some(cte) = &parts.with {
            // The CTE's rows under the model's table name, so that the
            // model's columns read them.
            self.ident(cte.name);
            self.push(" AS ");
        }
        self.ident(table.name);
        for (i, join) in parts.joins.iter().enumerate() {
            let name = join.name();
            let taken = name == table.name || parts.joins[..i].iter().any(|j| j.name() == name);
            if taken {
                return Err(Error::InvalidQuery {
                    message: format!(
                        "the query joins the table `{name}` (model `{}`) a second time under the same \
                         name, so its columns would be ambiguous: join it under an alias, \
                         `orm::alias!(Other = {});` then `.join_as(relation, Other)`, and read its \
                         columns as `Other.column(..)`",
                        join.model, join.model
                    ),
                });
            }
            self.push(if join.left_join {
                " LEFT JOIN "
            } else {
                " INNER JOIN "
            });
            self.ident(join.cte.unwrap_or(join.schema.name));
            if let Some(alias) = join.alias {
                self.push(" AS ");
                self.ident(alias);
            }
            self.push(" ON ");
            self.node(&join.on)?;
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
        self.limit_offset(parts.limit, parts.offset);
        // Last, after LIMIT: where MySQL requires it, and PostgreSQL accepts it.
        if let Some(lock) = parts.lock {
            self.push(lock.clause(self.backend));
        }
        Ok(())
    }

    /// ` LIMIT n OFFSET m`, as each backend spells an offset alone.
    fn limit_offset(&mut self, limit: Option<u64>, offset: Option<u64>) {
        // Limits are numbers from the API, never user text: written inline.
        match (limit, offset) {
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
    }

    pub(crate) fn finish(self) -> (String, Args) {
        (self.sql, self.args)
    }

    /// [`finish`](Self::finish), with the cache key of the bound values.
    pub(crate) fn finish_keyed(self) -> (String, Args, Option<Vec<u8>>) {
        (self.sql, self.args, self.key)
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
    // `SELECT DISTINCT` may sort only by what it selects (PostgreSQL,
    // SQLSTATE 42P10): its rows are not the table's, and have no key.
    if !sorted || grouped || parts.distinct {
        return order;
    }
    let mut keys = vec![(table, table.name, false)];
    for join in parts.joins.iter().filter(|j| j.selected) {
        keys.push((join.schema, join.name(), join.left_join));
    }
    for (schema, source, nullable) in keys {
        let key = schema.primary_key();
        let node = Node::Column {
            table: source,
            name: key.name,
        };
        let present = order.iter().any(|k| {
            matches!(&k.node, Node::Column { table, name } if *table == source && *name == key.name)
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
    select_columns_as(w, schema, schema.name);
}

/// Every column of `schema`, read under the table name or alias `name`.
fn select_columns_as(w: &mut Writer, schema: &TableSchema, name: &str) {
    for (i, column) in schema.columns.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.column(name, column.name);
    }
}

/// `SELECT ... FROM <table> <clauses>`
pub(crate) fn select<M: Model>(backend: Backend, parts: &Parts) -> Result<(String, Args)> {
    select_keyed::<M>(backend, parts, None).map(|(sql, args, _)| (sql, args))
}

/// [`select`], with its bound values encoded after `key` when there is one
/// (for the query cache).
pub(crate) fn select_keyed<M: Model>(
    backend: Backend,
    parts: &Parts,
    key: Option<Vec<u8>>,
) -> Result<(String, Args, Option<Vec<u8>>)> {
    lock::check(backend, parts, M::NAME)?;
    let mut w = Writer::new(backend);
    w.key = key;
    w.collated = parts.collated;
    w.select(M::SCHEMA, parts)?;
    Ok(w.finish_keyed())
}

impl Writer {
    /// `SELECT [DISTINCT] <columns> FROM <table> <joins> <clauses>`.
    fn select(&mut self, table: &TableSchema, parts: &Parts) -> Result<()> {
        self.with(parts)?;
        self.push(if parts.distinct {
            "SELECT DISTINCT "
        } else {
            "SELECT "
        });
        match &parts.columns {
            Some(columns) => {
                for (i, column) in columns.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.node(column)?;
                    self.number(i);
                }
            }
            None => {
                let mut n = 0;
                let sources = std::iter::once((table, table.name)).chain(
                    parts
                        .joins
                        .iter()
                        .filter(|j| j.selected)
                        .map(|j| (j.schema, j.name())),
                );
                for (schema, name) in sources {
                    for column in schema.columns {
                        if n > 0 {
                            self.push(", ");
                        }
                        self.column(name, column.name);
                        self.number(n);
                        n += 1;
                    }
                }
            }
        }
        self.from(table, parts)?;
        self.clauses(parts, Some(table))
    }

    /// `WITH [RECURSIVE] "<name>" AS (<anchor> [UNION <step>]) `, when the
    /// query reads a CTE.
    fn with(&mut self, parts: &Parts) -> Result<()> {
        let Some(cte) = &parts.with else {
            return Ok(());
        };
        let Some(table) = cte.anchor.table else {
            return Err(Error::InvalidQuery {
                message: "a CTE without a table".into(),
            });
        };
        self.push(if cte.step.is_some() {
            "WITH RECURSIVE "
        } else {
            "WITH "
        });
        self.ident(cte.name);
        self.push(" AS (");
        self.select(table, &cte.anchor)?;
        if let Some(step) = &cte.step {
            self.push(" UNION ");
            self.select(table, step)?;
        }
        self.push(") ");
        Ok(())
    }

    /// ` AS "c<n+1>"` after the `n`th selected column of a union's part.
    fn number(&mut self, n: usize) {
        if self.numbered {
            self.push(" AS ");
            self.ident(&format!("c{}", n + 1));
        }
    }

    /// A query used inside another: `(SELECT ...)`, rendered from its own
    /// table; row locks are refused there.
    fn subquery(&mut self, parts: &Parts) -> Result<()> {
        let Some(table) = parts.table else {
            return Err(Error::InvalidQuery {
                message: "a subquery without a table".into(),
            });
        };
        if parts.lock.is_some() {
            return Err(Error::InvalidQuery {
                message: format!(
                    "a subquery of `{}` takes a row lock: lock rows with a query of their own",
                    table.name
                ),
            });
        }
        let numbered = std::mem::replace(&mut self.numbered, false);
        self.push("(");
        self.select(table, parts)?;
        self.push(")");
        self.numbered = numbered;
        Ok(())
    }
}

/// The selected nodes of a union's first part, in order: its columns, or
/// every column of its model and joined models.
fn selected(parts: &Parts) -> Vec<Node> {
    if let Some(columns) = &parts.columns {
        return columns.clone();
    }
    let table = parts.table.into_iter().map(|t| (t, t.name));
    let joined = parts
        .joins
        .iter()
        .filter(|j| j.selected)
        .map(|j| (j.schema, j.name()));
    table
        .chain(joined)
        .flat_map(|(schema, name)| {
            schema.columns.iter().map(move |c| Node::Column {
                table: name,
                name: c.name,
            })
        })
        .collect()
}

/// `SELECT * FROM (<part> UNION [ALL] <part> ...) AS "orm_union" ORDER BY
/// .. LIMIT ..`: each part's columns named `c1`, `c2`, ... and each part a
/// derived table of its own, so that a part may be sorted and limited
/// (SQLite refuses `ORDER BY` in a compound's parts) and every backend
/// reads the same statement. The union's sort keys are the first part's
/// columns, by position.
pub(crate) fn union(backend: Backend, union: &super::union::UnionParts) -> Result<(String, Args)> {
    let mut w = Writer::new(backend);
    w.push("SELECT * FROM (");
    for (i, member) in union.members.iter().enumerate() {
        let Some(table) = member.parts.table else {
            return Err(Error::InvalidQuery {
                message: "a union part without a table".into(),
            });
        };
        if i > 0 {
            w.push(if member.all { " UNION ALL " } else { " UNION " });
        }
        w.push("SELECT * FROM (");
        w.numbered = true;
        w.select(table, &member.parts)?;
        w.numbered = false;
        w.push(") AS ");
        w.ident(&format!("orm_m{}", i + 1));
    }
    w.push(") AS ");
    w.ident("orm_union");
    let first = selected(&union.members[0].parts);
    let mut order = Vec::new();
    for key in &union.order {
        let Some(at) = first.iter().position(|n| *n == key.node) else {
            return Err(Error::InvalidQuery {
                message: format!(
                    "a union sorted by {:?}, which its first query does not select: sort a \
                     union by one of the columns or expressions the first query selects",
                    key.node
                ),
            });
        };
        order.push(OrderKey {
            node: Node::Position(at + 1),
            ..key.clone()
        });
    }
    if !order.is_empty() {
        w.order_by(&order)?;
    }
    w.limit_offset(union.limit, union.offset);
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
    count_keyed::<M>(backend, parts, None).map(|(sql, args, _)| (sql, args))
}

/// [`count`], with its bound values encoded after `key` when there is one.
pub(crate) fn count_keyed<M: Model>(
    backend: Backend,
    parts: &Parts,
    key: Option<Vec<u8>>,
) -> Result<(String, Args, Option<Vec<u8>>)> {
    lock::check(backend, parts, M::NAME)?;
    let mut w = Writer::new(backend);
    w.key = key;
    let nested = !parts.group_by.is_empty()
        || parts.limit.is_some()
        || parts.offset.is_some()
        || parts.lock.is_some();
    w.with(parts)?;
    if nested {
        w.push("SELECT COUNT(*) FROM (SELECT 1 AS ");
        w.ident("one");
        w.from(M::SCHEMA, parts)?;
        w.clauses(parts, None)?;
        w.push(") AS ");
        w.ident("counted");
    } else {
        w.push("SELECT COUNT(*)");
        w.from(M::SCHEMA, parts)?;
        w.clauses(parts, None)?;
    }
    Ok(w.finish_keyed())
}

/// `SELECT 1 ... LIMIT 1`
pub(crate) fn exists<M: Model>(backend: Backend, parts: &Parts) -> Result<(String, Args)> {
    lock::check(backend, parts, M::NAME)?;
    let mut w = Writer::new(backend);
    w.with(parts)?;
    w.push("SELECT 1");
    w.from(M::SCHEMA, parts)?;
    w.clauses(parts, None)?;
    Ok(w.finish())
}

/// `UPDATE <table> SET ... WHERE ...`
pub(crate) fn update<M: Model>(
    backend: Backend,
    assignments: &[(&'static str, Node)],
    filter: Option<&Node>,
) -> Result<(String, Args)> {
    let mut w = Writer::new(backend);
    w.push("UPDATE ");
    w.ident(M::SCHEMA.name);
    w.push(" SET ");
    for (i, (column, node)) in assignments.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.ident(column);
        w.push(" = ");
        let Node::Value(value) = node else {
            // An expression of the row's columns, computed by the database.
            w.node(node)?;
            continue;
        };
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
        parts.joins = vec![JoinClause {
            left_join: false,
            model: "Worker",
            schema: &WORKERS,
            alias: None,
            cte: None,
            selected: true,
            on: Node::Compare(
                CompareOp::Eq,
                Box::new(col("jobs", "id")),
                Box::new(col("workers", "job_id")),
            ),
        }];
        let (sql, _) = select::<Job>(Backend::Postgres, &parts).unwrap();
        assert_eq!(
            sql,
            r#"SELECT "jobs"."id", "jobs"."state", "workers"."id", "workers"."job_id" FROM "jobs" INNER JOIN "workers" ON ("jobs"."id" = "workers"."job_id") WHERE ("jobs"."state" = $1) ORDER BY "jobs"."id" ASC, "workers"."id" ASC LIMIT 2 FOR UPDATE"#
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
            parts.joins = vec![JoinClause {
                left_join: true,
                model: "Worker",
                schema: &WORKERS,
                alias: None,
                cte: None,
                selected: true,
                on: Node::Compare(
                    CompareOp::Eq,
                    Box::new(col("jobs", "id")),
                    Box::new(col("workers", "job_id")),
                ),
            }];
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
        joined.joins = vec![JoinClause {
            left_join: false,
            model: "Worker",
            schema: &WORKERS,
            alias: None,
            cte: None,
            selected: true,
            on: Node::Compare(
                CompareOp::Eq,
                Box::new(col("jobs", "id")),
                Box::new(col("workers", "job_id")),
            ),
        }];
        let op = crate::query::read_op::<Job>(&joined);
        assert_eq!(op.access, Access::Write);
        assert_eq!(&op.tables[..], ["jobs", "workers"]);
    }
}
