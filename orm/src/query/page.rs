//! Keyset (cursor) pagination: a page of rows after a [`Cursor`].
//!
//! Offset pagination (`limit(20).offset(400)`) makes the database read and
//! skip every earlier row, and a row inserted before the offset shifts every
//! later page by one (a row is shown twice, or never). Keyset pagination
//! remembers where the last page ended instead (the values of its last row's
//! sort keys, the primary key last) and asks for the rows after them:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> orm::Result<()> {
//! use orm::prelude::*;
//! use orm::query::{Cursor, Page};
//!
//! #[orm::model(table = "orders")]
//! pub struct Order {
//!     #[orm(primary_key, auto)]
//!     pub id: i64,
//!     pub status: String,
//!     pub total: f64,
//! }
//!
//! let db = orm::Database::connect("sqlite::memory:").await?;
//! db.create_table::<Order>().await?;
//! for total in [5.0, 7.5, 7.5, 9.0, 12.0] {
//!     Order::create(&db, Order { id: 0, status: "paid".into(), total }).await?;
//! }
//!
//! let query = || Order::query().filter(order::status.eq("paid")).order_by(order::total.desc());
//!
//! // The first page: no cursor yet.
//! let first: Page<Order> = query().page(2).all(&db).await?;
//! assert_eq!(first.rows.iter().map(|o| o.total).collect::<Vec<_>>(), [12.0, 9.0]);
//!
//! // The cursor travels as text (a query parameter, a JSON field) ...
//! let token: String = first.next.expect("more rows").to_string();
//! // ... and comes back: parsing it checks that it is intact.
//! let cursor: Cursor = token.parse()?;
//! let second = query().page(2).after(cursor).all(&db).await?;
//! assert_eq!(second.rows.iter().map(|o| (o.total, o.id)).collect::<Vec<_>>(), [(7.5, 2), (7.5, 3)]);
//!
//! let last = query().page(2).after(second.next).all(&db).await?;
//! assert_eq!(last.rows.len(), 1);
//! assert!(last.next.is_none(), "no page after the last");
//!
//! // The statement of a page after a cursor: the cursor's values are bound.
//! assert_eq!(
//!     query().page(2).after(last_cursor(&db).await?).sql(orm::Backend::Sqlite)?,
//!     r#"SELECT "orders"."id", "orders"."status", "orders"."total" FROM "orders" WHERE (("orders"."status" = ?) AND (("orders"."total" <= ?) AND (("orders"."total" < ?) OR (("orders"."total" = ?) AND ("orders"."id" > ?))))) ORDER BY "orders"."total" DESC, "orders"."id" ASC LIMIT 3"#
//! );
//! # async fn last_cursor(db: &orm::Database) -> orm::Result<Cursor> {
//! #     Ok(Order::query().order_by(order::total.desc()).page(1).all(db).await?.next.unwrap())
//! # }
//! # Ok(()) }
//! ```
//!
//! On PostgreSQL the same page is `... WHERE (("orders"."status" = $1) AND
//! (("orders"."total" <= $2) AND (("orders"."total" < $3) OR
//! (("orders"."total" = $4) AND ("orders"."id" > $5))))) ORDER BY
//! "orders"."total" DESC, "orders"."id" ASC LIMIT 3`, and on MySQL/MariaDB
//! the same with `?` and backquotes. [`Paged::sql`] shows it for any backend.
//!
//! # The condition
//!
//! "After the cursor" is the row-value comparison `(k1, k2, .., id) >
//! (x1, x2, .., xid)` written out, so that it works on every backend and with
//! keys sorted in different directions: `k1 after x1 OR (k1 = x1 AND (k2
//! after x2 OR (k2 = x2 AND .. id > xid)))`, where "after" is `>` for an
//! ascending key and `<` for a descending one. A leading `k1 >= x1` (or `<=`)
//! lets the database start from an index on `k1`.
//!
//! - NULLs are placed as the query's [`Ordering`](super::Ordering) places
//!   them (first ascending, last descending, or as `nulls_first()` /
//!   `nulls_last()` say): after a non-NULL value come the greater values
//!   and, when NULLs sort last, the NULLs; after a NULL come the other NULLs
//!   (by the next key) and, when NULLs sort first, every non-NULL value.
//! - Text compares byte by byte (UTF-8 order), as `ORDER BY` sorts it:
//!   `COLLATE "C"` on PostgreSQL, `COLLATE BINARY` on SQLite, binary strings
//!   on MySQL/MariaDB, whose default collations ignore case and trailing
//!   spaces. Such a comparison cannot use an index on a column of another
//!   collation; sort by a number or a date first where speed matters.
//! - Ties are broken by the primary key, which every page query sorts by
//!   last (added when the query does not sort by it already), so every row
//!   has a position of its own and each is returned exactly once.
//!
//! A row inserted or deleted while a client pages never moves the rows of
//! later pages: a row inserted before the cursor's position is not seen, one
//! inserted after it appears on a later page, once.
//!
//! # The cursor
//!
//! A [`Cursor`] is URL-safe text (base64url without padding, of a version
//! byte, a compact JSON array of the last row's key values and a fingerprint
//! of the query's model and sort keys, then a checksum). Its values round-trip
//! exactly: integers, floats by their bits, text, bytes, decimals by their
//! digits and scale, dates and times by their days, seconds and nanoseconds,
//! UUIDs. It is not encrypted or signed: a client can read the key values in
//! it, and one who rewrites it with a valid checksum can start a page
//! anywhere, as they could with a filter; do not sort by a column whose
//! values a client must not see. A cursor that is cut short or altered, or
//! written for another model or other sort keys, is refused with
//! [`Error::InvalidCursor`] before anything is sent.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;

use super::expr::{CompareOp, Node, Nulls, OrderKey};
use super::{read_op, render, LockScope, Select};
use crate::backend::Backend;
use crate::connection::conn::sql_owned;
use crate::connection::driver::RowRef;
use crate::error::{Error, Result};
use crate::model::types::{FieldType, ScalarType, SqlType, Value};
use crate::model::Model;
use crate::routing::{Executor, Pending};

/// The cursor format's version, the first byte of every cursor.
const VERSION: u8 = 1;

/// Bytes of the checksum at the end of a cursor.
const CHECKSUM_LEN: usize = 8;

/// URL-safe base64 without padding (RFC 4648, section 5).
const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Where a page of a keyset-paginated query ends: an opaque, URL-safe token
/// to hand to a client and take back for the next page (see the [module
/// docs](self)).
///
/// Written by [`Paged::all`] as [`Page::next`]; read back from text with
/// [`str::parse`] (or `Cursor::try_from`, or serde, as a string), which
/// checks that the token is intact. Whether it belongs to the query it is
/// given to is checked when that query runs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    token: String,
    fingerprint: u64,
    values: Vec<serde_json::Value>,
}

impl Cursor {
    /// The token, as text to send to a client.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// Writes the cursor for `values` under `fingerprint`.
    fn encode(fingerprint: u64, values: Vec<serde_json::Value>) -> Cursor {
        let body = serde_json::json!([fingerprint, values]);
        let mut bytes = vec![VERSION];
        // Serializing a `serde_json::Value` cannot fail.
        bytes.extend(serde_json::to_vec(&body).unwrap_or_default());
        let sum = fnv1a(&bytes);
        bytes.extend(sum.to_be_bytes());
        Cursor {
            token: BASE64.encode(&bytes),
            fingerprint,
            values,
        }
    }
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidCursor {
        reason: reason.into(),
    }
}

impl FromStr for Cursor {
    type Err = Error;

    /// Reads a token that [`Paged::all`] wrote.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCursor`] when the text is not base64url, is cut short,
    /// was altered (its checksum does not match), or is of another format
    /// version.
    fn from_str(token: &str) -> Result<Cursor> {
        let bytes = BASE64
            .decode(token.trim())
            .map_err(|e| invalid(format!("not a cursor (not base64url text: {e})")))?;
        if bytes.len() < 1 + CHECKSUM_LEN {
            return Err(invalid("not a cursor (too short)"));
        }
        let (content, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if fnv1a(content).to_be_bytes() != sum {
            return Err(invalid(
                "the cursor was cut short or altered (its checksum does not match)",
            ));
        }
        if content[0] != VERSION {
            return Err(invalid(format!(
                "a cursor of format version {}, this version reads {VERSION}",
                content[0]
            )));
        }
        let (fingerprint, values): (u64, Vec<serde_json::Value>) =
            serde_json::from_slice(&content[1..])
                .map_err(|e| invalid(format!("the cursor's content is malformed: {e}")))?;
        Ok(Cursor {
            token: token.trim().to_owned(),
            fingerprint,
            values,
        })
    }
}

impl TryFrom<&str> for Cursor {
    type Error = Error;
    /// As [`str::parse`].
    fn try_from(token: &str) -> Result<Cursor> {
        token.parse()
    }
}

impl TryFrom<String> for Cursor {
    type Error = Error;
    /// As [`str::parse`].
    fn try_from(token: String) -> Result<Cursor> {
        token.parse()
    }
}

impl fmt::Display for Cursor {
    /// The token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.token)
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Cursor").field(&self.token).finish()
    }
}

/// A cursor serializes as its token, and deserializes from one (refusing,
/// as [`str::parse`] does, a token that is not intact).
impl serde::Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.token)
    }
}

impl<'de> serde::Deserialize<'de> for Cursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Cursor, D::Error> {
        let token = String::deserialize(deserializer)?;
        token.parse().map_err(serde::de::Error::custom)
    }
}

/// One page of a keyset-paginated query: what [`Paged::all`] returns.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Page<T> {
    /// The rows of the page, in the query's order: at most the page size.
    pub rows: Vec<T>,
    /// Where the next page starts; `None` when this page is the last (no
    /// row follows its last row, as the database saw it when the page was
    /// read).
    pub next: Option<Cursor>,
}

/// A keyset-paginated query: [`Select::page`], then optionally
/// [`after`](Paged::after), then [`all`](Paged::all).
#[must_use = "a page query does nothing until it is run with `all`"]
pub struct Paged<M: Model, O, L> {
    query: Select<M, O, L>,
    size: u64,
    after: Option<Cursor>,
}

impl<M: Model, O: Send + 'static, L, G> Select<M, O, L, M, G> {
    /// Keyset (cursor) pagination: pages of at most `size` rows in the
    /// query's order, ties broken by the primary key (see the [module
    /// docs](crate::query::page)). Sort with [`order_by`](Select::order_by)
    /// first; without it the pages follow the primary key.
    ///
    /// Refused with [`Error::InvalidQuery`] when the page query runs: a
    /// `size` of 0; a query that already has a `limit` or `offset`, is
    /// grouped or selects aggregates (its rows have no key), or sorts by an
    /// expression rather than a column, or by a JSON column (which has no
    /// order every backend shares).
    pub fn page(self, size: u64) -> Paged<M, O, L> {
        Paged::new(super::reshape(self.parts, self.decode), size)
    }
}

impl<M: Model, O, L> Paged<M, O, L> {
    /// The first page of `query`, of at most `size` rows.
    pub(crate) fn new(query: Select<M, O, L>, size: u64) -> Self {
        Paged {
            query,
            size,
            after: None,
        }
    }
}

impl<M: Model, O: Send + 'static, L> Paged<M, O, L> {
    /// The page after `cursor` (the [`Page::next`] of the previous page);
    /// `None` (or never calling `after`) for the first page.
    pub fn after(mut self, cursor: impl Into<Option<Cursor>>) -> Self {
        self.after = cursor.into();
        self
    }

    /// The `SELECT` this page sends on `backend`, with placeholders where the
    /// values are bound: for logs and tests.
    ///
    /// # Errors
    ///
    /// As [`all`](Self::all) before anything is sent, and
    /// [`Error::InvalidQuery`] for a backend whose feature is not enabled.
    pub fn sql(&self, backend: Backend) -> Result<String> {
        if !compiled_in(backend) {
            return Err(Error::InvalidQuery {
                message: format!(
                    "{} is not compiled in: enable the `{}` feature of `orm`",
                    backend.name(),
                    backend.feature()
                ),
            });
        }
        let plan = Plan::new::<M>(self.query.parts.clone(), self.size, self.after.as_ref())?;
        Ok(render::select::<M>(backend, &plan.parts)?.0)
    }

    /// Runs the query: at most the page size of rows after the cursor, and
    /// the cursor of the next page if a row follows them. Sends one
    /// `SELECT` asking for one row more than the page size, to know whether
    /// there is a next page.
    ///
    /// # Errors
    ///
    /// Before anything is sent: [`Error::InvalidCursor`] for a cursor of
    /// another model or other sort keys, or holding values that are not of
    /// the keys' types; [`Error::InvalidQuery`] for a query that cannot be
    /// paged (see [`Select::page`]). Then the errors of
    /// [`Select::all`].
    pub fn all<'e, E>(self, exec: E) -> Pending<'e, Page<O>>
    where
        E: Executor<'e, M::Connection> + LockScope<L> + 'e,
    {
        let decode = self.query.decode;
        let plan = Plan::new::<M>(self.query.parts, self.size, self.after.as_ref());
        Pending::new(async move {
            let plan = plan?;
            let op = read_op::<M>(&plan.parts);
            let mut session = exec.__session(&op).await?;
            let (sql, args) = render::select::<M>(session.backend(), &plan.parts)?;
            // The keys are read from the last row of the page only.
            let last = plan.size - 1;
            let mut seen = 0u64;
            let keys = &plan.keys;
            let rows = session
                .fetch_all(&op, sql_owned(sql), args, |row| {
                    let values = if seen == last {
                        Some(read_keys(keys, row)?)
                    } else {
                        None
                    };
                    seen += 1;
                    Ok((decode(row)?, values))
                })
                .await?;
            let more = rows.len() as u64 > plan.size;
            let mut page = Vec::with_capacity(rows.len());
            let mut next = None;
            for (row, values) in rows.into_iter().take(plan.size as usize) {
                if let Some(values) = values.filter(|_| more) {
                    next = Some(Cursor::encode(plan.fingerprint, values));
                }
                page.push(row);
            }
            Ok(Page { rows: page, next })
        })
    }
}

/// Whether `backend`'s feature is enabled (statements are rendered only
/// for those).
fn compiled_in(backend: Backend) -> bool {
    match backend {
        Backend::Sqlite => cfg!(feature = "sqlite"),
        Backend::Postgres => cfg!(feature = "postgres"),
        Backend::MySql => cfg!(feature = "mysql"),
    }
}

/// One sort key of a page query, as a column of the queried model.
struct Key {
    table: &'static str,
    name: &'static str,
    sql_type: SqlType,
    nullable: bool,
    descending: bool,
    nulls: Nulls,
    /// Where its value is in a row.
    index: usize,
}

impl Key {
    fn column(&self) -> Node {
        Node::Column {
            table: self.table,
            name: self.name,
        }
    }

    /// The column as it is compared: text byte by byte, as it is sorted.
    fn compared(&self) -> Node {
        if self.sql_type == SqlType::Text {
            Node::ByteOrdered(Box::new(self.column()))
        } else {
            self.column()
        }
    }

    /// The rows after `value` by this key alone; `None` if none can be
    /// (after a NULL that sorts last).
    fn after(&self, value: &Option<Value>) -> Option<Node> {
        match value {
            Some(v) => {
                let op = if self.descending {
                    CompareOp::Lt
                } else {
                    CompareOp::Gt
                };
                let beyond = Node::Compare(op, Box::new(self.compared()), value_node(v));
                Some(if self.nullable && self.nulls == Nulls::Last {
                    Node::Or(
                        Box::new(beyond),
                        Box::new(Node::IsNull(Box::new(self.column()), false)),
                    )
                } else {
                    beyond
                })
            }
            None => {
                (self.nulls == Nulls::First).then(|| Node::IsNull(Box::new(self.column()), true))
            }
        }
    }

    /// The rows whose key equals `value` (`IS NULL` for a NULL).
    fn equal(&self, value: &Option<Value>) -> Node {
        match value {
            Some(v) => Node::Compare(CompareOp::Eq, Box::new(self.compared()), value_node(v)),
            None => Node::IsNull(Box::new(self.column()), false),
        }
    }
}

fn value_node(value: &Value) -> Box<Node> {
    Box::new(Node::Value(value.clone()))
}

/// A page query made ready to render: its parts with the sort keys, the
/// limit and the cursor's condition filled in.
struct Plan {
    parts: super::Parts,
    keys: Vec<Key>,
    fingerprint: u64,
    size: u64,
}

impl Plan {
    fn new<M: Model>(mut parts: super::Parts, size: u64, after: Option<&Cursor>) -> Result<Plan> {
        let refuse = |why: &str| Error::InvalidQuery {
            message: format!("keyset pagination (`page`) of `{}`: {why}", M::NAME),
        };
        if size == 0 {
            return Err(refuse(
                "a page size of 0 returns nothing; ask for at least 1 row",
            ));
        }
        if parts.limit.is_some() || parts.offset.is_some() {
            return Err(refuse(
                "the query has a `limit` or `offset`; `page(n)` sets the limit itself and the cursor replaces the offset",
            ));
        }
        let aggregated = parts.columns.as_ref().is_some_and(|c| {
            c.iter()
                .any(|n| matches!(n, Node::Aggregate(..) | Node::CountAll))
        });
        if !parts.group_by.is_empty() || parts.having.is_some() || aggregated || parts.distinct {
            return Err(refuse(
                "the query is grouped or selects aggregates, so its rows have no primary key to break ties; page the rows, or group fewer",
            ));
        }
        if !parts.joins.is_empty() || parts.with.is_some() {
            return Err(refuse(
                "the query joins another model; page a query of one model",
            ));
        }
        let schema = M::SCHEMA;
        let key = schema.primary_key();
        let has_key = parts.order.iter().any(|k| {
            matches!(&k.node, Node::Column { table, name } if *table == schema.name && *name == key.name)
        });
        if !has_key {
            parts.order.push(super::Ordering::<M>::key_of().key);
        }
        // Whole rows hold every column, by position; a selection gets the
        // keys after its own columns.
        let mut extra = Vec::new();
        let selected = parts.columns.as_ref().map(Vec::len);
        let mut keys = Vec::with_capacity(parts.order.len());
        for order in &parts.order {
            let OrderKey {
                node: Node::Column { table, name },
                ..
            } = order
            else {
                return Err(refuse(
                    "it sorts by an expression; sort by columns of the model (the cursor holds the last row's column values)",
                ));
            };
            let Some((position, column)) = schema
                .columns
                .iter()
                .enumerate()
                .find(|(_, c)| *table == schema.name && c.name == *name)
            else {
                return Err(refuse(&format!(
                    "it sorts by `{table}`.`{name}`, which is not a column of `{}`",
                    schema.name
                )));
            };
            if column.sql_type == SqlType::Json {
                return Err(refuse(&format!(
                    "it sorts by the JSON column `{}`, which has no order every backend shares; sort by another column",
                    column.name
                )));
            }
            let index = match selected {
                None => position,
                Some(n) => {
                    extra.push(Node::Column { table, name });
                    n + extra.len() - 1
                }
            };
            keys.push(Key {
                table,
                name,
                sql_type: column.sql_type,
                nullable: column.nullable || order.nullable,
                descending: order.descending,
                nulls: order.nulls(),
                index,
            });
        }
        if let Some(columns) = &mut parts.columns {
            columns.extend(extra);
        }
        let fingerprint = fingerprint(M::NAME, &keys);
        if let Some(cursor) = after {
            if cursor.fingerprint != fingerprint {
                return Err(invalid(format!(
                    "the cursor was written for another query (another model, or other sort keys than {} on `{}`); start again from the first page",
                    describe(&keys),
                    M::NAME
                )));
            }
            if cursor.values.len() != keys.len() {
                return Err(invalid(format!(
                    "the cursor holds {} values for {} sort keys",
                    cursor.values.len(),
                    keys.len()
                )));
            }
            let values = keys
                .iter()
                .zip(&cursor.values)
                .map(|(key, json)| from_json(key, json))
                .collect::<Result<Vec<_>>>()?;
            let condition = condition(&keys, &values);
            parts.filter = super::and(parts.filter, condition);
        }
        // One row more than the page, to know whether a next page exists.
        parts.limit = Some(size.saturating_add(1));
        Ok(Plan {
            parts,
            keys,
            fingerprint,
            size,
        })
    }
}

/// The keys as a message names them: `total DESC, id ASC`.
fn describe(keys: &[Key]) -> String {
    keys.iter()
        .map(|k| format!("`{}` {}", k.name, if k.descending { "DESC" } else { "ASC" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows after `values` in the order of `keys` (see the module docs).
fn condition(keys: &[Key], values: &[Option<Value>]) -> Node {
    // From the last key (the primary key) to the first; `None`: no row.
    let mut acc: Option<Node> = None;
    for (key, value) in keys.iter().zip(values).rev() {
        let tied = acc.map(|rest| Node::And(Box::new(key.equal(value)), Box::new(rest)));
        acc = match (key.after(value), tied) {
            (Some(after), Some(tied)) => Some(Node::Or(Box::new(after), Box::new(tied))),
            (after, tied) => after.or(tied),
        };
    }
    // Unreachable with a primary key last (never NULL); `(1 = 0)` if so.
    let acc = acc.unwrap_or_else(|| Node::In(Box::new(keys[0].column()), Vec::new(), false));
    // A range on the first key, which an index on it can serve.
    let (first, value) = (&keys[0], &values[0]);
    match value {
        Some(v) if keys.len() > 1 && !first.nullable => {
            let op = if first.descending {
                CompareOp::Le
            } else {
                CompareOp::Ge
            };
            let range = Node::Compare(op, Box::new(first.compared()), value_node(v));
            Node::And(Box::new(range), Box::new(acc))
        }
        _ => acc,
    }
}

/// FNV-1a, 64 bits: a hash that is the same in every process and version,
/// for the cursor's fingerprint and checksum.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// What a cursor must have been written for: the model and each sort key
/// (column, type, direction, NULL placement).
fn fingerprint(model: &str, keys: &[Key]) -> u64 {
    let mut text = String::from(model);
    for k in keys {
        text.push_str(&format!(
            "|{}.{}:{:?}:{}:{:?}:{}",
            k.table, k.name, k.sql_type, k.descending, k.nulls, k.nullable
        ));
    }
    fnv1a(text.as_bytes())
}

/// The sort keys' values of one row, as the cursor's JSON.
fn read_keys(keys: &[Key], row: RowRef<'_>) -> Result<Vec<serde_json::Value>> {
    keys.iter()
        .map(|key| {
            Ok(read_key(key, row)?
                .as_ref()
                .map_or(serde_json::Value::Null, to_json))
        })
        .collect()
}

/// Reads `T` (or NULL) at `index`.
fn read<T: ScalarType>(row: RowRef<'_>, index: usize) -> Result<Option<Value>> {
    Ok(Option::<T>::decode(row, index)?.map(FieldType::into_value))
}

/// One key's value in `row`; `None` for NULL.
fn read_key(key: &Key, row: RowRef<'_>) -> Result<Option<Value>> {
    let i = key.index;
    match key.sql_type {
        SqlType::SmallInt => read::<i16>(row, i),
        SqlType::Int => read::<i32>(row, i),
        SqlType::BigInt => read::<i64>(row, i),
        SqlType::Float => read::<f32>(row, i),
        SqlType::Double => read::<f64>(row, i),
        SqlType::Bool => read::<bool>(row, i),
        SqlType::Text => read::<String>(row, i),
        SqlType::Bytes => read::<Vec<u8>>(row, i),
        #[cfg(feature = "decimal")]
        SqlType::Decimal => read::<rust_decimal::Decimal>(row, i),
        #[cfg(feature = "chrono")]
        SqlType::Date => read::<chrono::NaiveDate>(row, i),
        #[cfg(feature = "chrono")]
        SqlType::Time => read::<chrono::NaiveTime>(row, i),
        #[cfg(feature = "chrono")]
        SqlType::DateTime => read::<chrono::NaiveDateTime>(row, i),
        #[cfg(feature = "chrono")]
        SqlType::DateTimeUtc => read::<chrono::DateTime<chrono::Utc>>(row, i),
        #[cfg(feature = "uuid")]
        SqlType::Uuid => read::<uuid::Uuid>(row, i),
        other => Err(Error::InvalidQuery {
            message: format!(
                "keyset pagination cannot sort by the {other:?} column `{}`",
                key.name
            ),
        }),
    }
}

/// A key's value as the cursor's JSON: integers and booleans as
/// themselves, floats as their bits (exact, NaN and infinities included),
/// text as a string, bytes in base64url, decimals as their digits (scale
/// kept), dates as days since 0001-01-01, times as `[seconds, nanoseconds]`
/// since midnight (a leap second's nanoseconds past 10^9), date-times as
/// `[days, seconds, nanoseconds]` (an instant in UTC), UUIDs hyphenated.
fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Bool(v) => J::from(*v),
        Value::I16(v) => J::from(*v),
        Value::I32(v) => J::from(*v),
        Value::I64(v) => J::from(*v),
        Value::F32(v) => J::from(v.to_bits()),
        Value::F64(v) => J::from(v.to_bits()),
        Value::Text(v) => J::from(v.as_str()),
        Value::Bytes(v) => J::from(BASE64.encode(v)),
        #[cfg(feature = "decimal")]
        Value::Decimal(v) => J::from(v.to_string()),
        #[cfg(feature = "chrono")]
        Value::Date(v) => J::from(date_json(*v)),
        #[cfg(feature = "chrono")]
        Value::Time(v) => J::from(time_json(*v).to_vec()),
        #[cfg(feature = "chrono")]
        Value::DateTime(v) => datetime_json(*v),
        #[cfg(feature = "chrono")]
        Value::DateTimeUtc(v) => datetime_json(v.naive_utc()),
        #[cfg(feature = "uuid")]
        Value::Uuid(v) => J::from(v.hyphenated().to_string()),
        // Refused as sort keys, and NULL is written by the caller.
        _ => J::Null,
    }
}

#[cfg(feature = "chrono")]
fn date_json(date: chrono::NaiveDate) -> i32 {
    use chrono::Datelike as _;
    date.num_days_from_ce()
}

#[cfg(feature = "chrono")]
fn time_json(time: chrono::NaiveTime) -> [u32; 2] {
    use chrono::Timelike as _;
    [time.num_seconds_from_midnight(), time.nanosecond()]
}

#[cfg(feature = "chrono")]
fn datetime_json(at: chrono::NaiveDateTime) -> serde_json::Value {
    let [secs, nanos] = time_json(at.time());
    serde_json::json!([date_json(at.date()), secs, nanos])
}

/// A cursor's JSON for `key` back as the value to bind; `None` for NULL.
fn from_json(key: &Key, json: &serde_json::Value) -> Result<Option<Value>> {
    if json.is_null() {
        return if key.nullable {
            Ok(None)
        } else {
            Err(invalid(format!(
                "the cursor holds NULL for `{}`, which cannot be NULL",
                key.name
            )))
        };
    }
    let wrong = || {
        invalid(format!(
            "the cursor's value for `{}` is not a {:?}: {json}",
            key.name, key.sql_type
        ))
    };
    let int = || json.as_i64().ok_or_else(wrong);
    let text = || json.as_str().ok_or_else(wrong);
    let value = match key.sql_type {
        SqlType::SmallInt => Value::I16(int()?.try_into().map_err(|_| wrong())?),
        SqlType::Int => Value::I32(int()?.try_into().map_err(|_| wrong())?),
        SqlType::BigInt => Value::I64(int()?),
        SqlType::Float => Value::F32(f32::from_bits(
            json.as_u64()
                .and_then(|b| u32::try_from(b).ok())
                .ok_or_else(wrong)?,
        )),
        SqlType::Double => Value::F64(f64::from_bits(json.as_u64().ok_or_else(wrong)?)),
        SqlType::Bool => Value::Bool(json.as_bool().ok_or_else(wrong)?),
        SqlType::Text => Value::Text(text()?.to_owned()),
        SqlType::Bytes => Value::Bytes(BASE64.decode(text()?).map_err(|_| wrong())?),
        #[cfg(feature = "decimal")]
        SqlType::Decimal => {
            Value::Decimal(rust_decimal::Decimal::from_str_exact(text()?).map_err(|_| wrong())?)
        }
        #[cfg(feature = "chrono")]
        SqlType::Date => Value::Date(date_from(json).ok_or_else(wrong)?),
        #[cfg(feature = "chrono")]
        SqlType::Time => Value::Time(time_from(json).ok_or_else(wrong)?),
        #[cfg(feature = "chrono")]
        SqlType::DateTime => Value::DateTime(datetime_from(json).ok_or_else(wrong)?),
        #[cfg(feature = "chrono")]
        SqlType::DateTimeUtc => {
            Value::DateTimeUtc(datetime_from(json).ok_or_else(wrong)?.and_utc())
        }
        #[cfg(feature = "uuid")]
        SqlType::Uuid => Value::Uuid(uuid::Uuid::parse_str(text()?).map_err(|_| wrong())?),
        _ => return Err(wrong()),
    };
    Ok(Some(value))
}

#[cfg(feature = "chrono")]
fn date_from(json: &serde_json::Value) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::from_num_days_from_ce_opt(json.as_i64()?.try_into().ok()?)
}

#[cfg(feature = "chrono")]
fn time_from(json: &serde_json::Value) -> Option<chrono::NaiveTime> {
    let [secs, nanos] = json.as_array()?.as_slice() else {
        return None;
    };
    chrono::NaiveTime::from_num_seconds_from_midnight_opt(
        secs.as_u64()?.try_into().ok()?,
        nanos.as_u64()?.try_into().ok()?,
    )
}

#[cfg(feature = "chrono")]
fn datetime_from(json: &serde_json::Value) -> Option<chrono::NaiveDateTime> {
    let [days, secs, nanos] = json.as_array()?.as_slice() else {
        return None;
    };
    let date = date_from(days)?;
    let time = time_from(&serde_json::json!([secs, nanos]))?;
    Some(date.and_time(time))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &'static str, sql_type: SqlType, nullable: bool) -> Key {
        Key {
            table: "t",
            name,
            sql_type,
            nullable,
            descending: false,
            nulls: Nulls::First,
            index: 0,
        }
    }

    /// Every key type with values at its edges, as (key, value).
    fn samples() -> Vec<(Key, Option<Value>)> {
        // Pushed to only with the optional types' features.
        #[allow(unused_mut)]
        let mut out = vec![
            (
                key("a", SqlType::SmallInt, false),
                Some(Value::I16(i16::MIN)),
            ),
            (key("b", SqlType::Int, false), Some(Value::I32(i32::MAX))),
            (key("c", SqlType::BigInt, false), Some(Value::I64(i64::MIN))),
            (key("d", SqlType::BigInt, true), None),
            (
                key("e", SqlType::Float, false),
                Some(Value::F32(f32::MIN_POSITIVE / 3.0)),
            ),
            (
                key("f", SqlType::Double, false),
                Some(Value::F64(0.1 + 0.2)),
            ),
            (
                key("g", SqlType::Double, false),
                Some(Value::F64(f64::NEG_INFINITY)),
            ),
            (key("h", SqlType::Double, false), Some(Value::F64(5e-324))),
            (key("i", SqlType::Bool, false), Some(Value::Bool(true))),
            (
                key("j", SqlType::Text, false),
                Some(Value::Text("é \"q\" \u{1F600} a\\b".into())),
            ),
            (
                key("k", SqlType::Text, true),
                Some(Value::Text(String::new())),
            ),
            (
                key("l", SqlType::Bytes, false),
                Some(Value::Bytes(vec![0, 255, 254, 1])),
            ),
        ];
        #[cfg(feature = "decimal")]
        out.push((
            key("m", SqlType::Decimal, false),
            Some(Value::Decimal(
                "-12345678901234567890.1234500000".parse().unwrap(),
            )),
        ));
        #[cfg(feature = "chrono")]
        {
            use chrono::{NaiveDate, NaiveTime};
            let date = NaiveDate::from_ymd_opt(-400, 2, 29).unwrap();
            // A leap second: nanoseconds past 10^9.
            let time = NaiveTime::from_hms_nano_opt(23, 59, 59, 1_999_999_999).unwrap();
            out.push((key("n", SqlType::Date, false), Some(Value::Date(date))));
            out.push((key("o", SqlType::Time, false), Some(Value::Time(time))));
            out.push((
                key("p", SqlType::DateTime, false),
                Some(Value::DateTime(date.and_time(time))),
            ));
            let utc = NaiveDate::from_ymd_opt(2262, 4, 11)
                .unwrap()
                .and_hms_nano_opt(23, 47, 16, 854_775_807)
                .unwrap()
                .and_utc();
            out.push((
                key("q", SqlType::DateTimeUtc, true),
                Some(Value::DateTimeUtc(utc)),
            ));
        }
        #[cfg(feature = "uuid")]
        out.push((
            key("r", SqlType::Uuid, false),
            Some(Value::Uuid(
                "67e55044-10b1-426f-9247-bb680e5fe0c8".parse().unwrap(),
            )),
        ));
        out
    }

    fn json_of(value: &Option<Value>) -> serde_json::Value {
        value.as_ref().map_or(serde_json::Value::Null, to_json)
    }

    fn refused(result: Result<impl fmt::Debug>) -> String {
        match result {
            Err(Error::InvalidCursor { reason }) => reason,
            other => panic!("expected InvalidCursor, got {other:?}"),
        }
    }

    #[test]
    fn every_value_type_round_trips_exactly() {
        let samples = samples();
        let keys: Vec<Key> = samples.iter().map(|(k, _)| k.clone_key()).collect();
        let print = fingerprint("Order", &keys);
        let cursor = Cursor::encode(print, samples.iter().map(|(_, v)| json_of(v)).collect());
        let token = cursor.to_string();
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "URL-safe: {token}"
        );
        let back: Cursor = token.parse().unwrap();
        assert_eq!(back, cursor);
        assert_eq!(back.fingerprint, print);
        for ((key, value), json) in samples.iter().zip(&back.values) {
            let read = from_json(key, json).unwrap();
            assert_eq!(format!("{read:?}"), format!("{value:?}"), "{}", key.name);
            if let (Some(Value::F64(a)), Some(Value::F64(b))) = (&read, value) {
                assert_eq!(a.to_bits(), b.to_bits());
            }
        }
        // NaN, whose Debug hides its bits, by its bits.
        let nan = f64::from_bits(0x7ff8_0000_0000_0001);
        let json = to_json(&Value::F64(nan));
        match from_json(&key("x", SqlType::Double, false), &json).unwrap() {
            Some(Value::F64(v)) => assert_eq!(v.to_bits(), nan.to_bits()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_cut_short_altered_or_foreign_token_is_refused_never_a_panic() {
        let samples = samples();
        let cursor = Cursor::encode(7, samples.iter().map(|(_, v)| json_of(v)).collect());
        let token = cursor.to_string();
        for len in 0..token.len() {
            refused(token[..len].parse::<Cursor>());
        }
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for i in 0..token.len() {
            for &c in alphabet.iter().step_by(7) {
                let mut bytes = token.clone().into_bytes();
                if bytes[i] == c {
                    continue;
                }
                bytes[i] = c;
                let altered = String::from_utf8(bytes).unwrap();
                // The last character may carry padding bits only.
                if let Ok(parsed) = altered.parse::<Cursor>() {
                    assert_eq!(parsed.values, cursor.values, "{altered}");
                }
            }
        }
        let reason = refused("not a cursor!".parse::<Cursor>());
        assert!(reason.contains("base64url"), "{reason}");
        let reason = refused(format!("{token}AAAA").parse::<Cursor>());
        assert!(reason.contains("checksum"), "{reason}");
        // Another version, with a valid checksum.
        let mut bytes = BASE64.decode(&token).unwrap();
        bytes[0] = 9;
        let n = bytes.len() - CHECKSUM_LEN;
        let sum = fnv1a(&bytes[..n]).to_be_bytes();
        bytes[n..].copy_from_slice(&sum);
        let reason = refused(BASE64.encode(&bytes).parse::<Cursor>());
        assert!(reason.contains("version 9"), "{reason}");
        // Valid JSON of another shape, with a valid checksum.
        let mut bytes = vec![VERSION];
        bytes.extend(br#"{"not":"a cursor"}"#);
        bytes.extend(fnv1a(&bytes).to_be_bytes());
        let reason = refused(BASE64.encode(&bytes).parse::<Cursor>());
        assert!(reason.contains("malformed"), "{reason}");
    }

    #[test]
    fn a_value_of_another_type_is_refused() {
        let int = key("n", SqlType::Int, false);
        for json in [
            serde_json::json!("1"),
            serde_json::json!(1.5),
            serde_json::json!(i64::from(i32::MAX) + 1),
            serde_json::Value::Null,
        ] {
            let reason = refused(from_json(&int, &json));
            assert!(reason.contains("`n`"), "{reason}");
        }
        refused(from_json(
            &key("f", SqlType::Float, false),
            &serde_json::json!(u64::MAX),
        ));
        refused(from_json(
            &key("b", SqlType::Bytes, false),
            &serde_json::json!("***"),
        ));
        #[cfg(feature = "chrono")]
        refused(from_json(
            &key("t", SqlType::Time, false),
            &serde_json::json!([86_400, 0]),
        ));
    }

    #[test]
    fn the_fingerprint_tells_sort_keys_apart() {
        let asc = vec![
            key("total", SqlType::Double, false),
            key("id", SqlType::BigInt, false),
        ];
        let mut desc = vec![
            key("total", SqlType::Double, false),
            key("id", SqlType::BigInt, false),
        ];
        desc[0].descending = true;
        let mut nulls_last = vec![
            key("total", SqlType::Double, true),
            key("id", SqlType::BigInt, false),
        ];
        nulls_last[0].nulls = Nulls::Last;
        let prints = [
            fingerprint("Order", &asc),
            fingerprint("Invoice", &asc),
            fingerprint("Order", &desc),
            fingerprint("Order", &nulls_last),
            fingerprint("Order", &asc[1..]),
        ];
        for (i, a) in prints.iter().enumerate() {
            for b in &prints[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // The same in every process: a fixed function of the text.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    impl Key {
        fn clone_key(&self) -> Key {
            Key { ..*self }
        }
    }
}
