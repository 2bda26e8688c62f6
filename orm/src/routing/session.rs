//! The seam between an operation and a pooled connection.
//!
//! Every statement that a typed operation (CRUD, a query, a relation load, a
//! migration step) or raw SQL sends passes through [`Session::run`], together
//! with an [`Operation`]: what the statement is, in terms routing can use
//! without reading SQL text (its connection, read or write, its tables, a
//! short verb). This one function is where per-statement policy lives.

use std::borrow::Cow;

use sqlx::SqlStr;

use crate::backend::Backend;
use crate::connection::conn::{Done, Fetch, Fetched, Statement};
use crate::connection::driver::{Args, RowRef};
use crate::connection::pool::PooledConn;
use crate::error::Result;

/// Whether an operation only reads, or may write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reads rows and changes nothing (`SELECT`).
    Read,
    /// May change rows or schema (`INSERT`, `UPDATE`, `DELETE`, DDL, raw SQL).
    Write,
}

/// What a statement is, as routing sees it: built by the layer that renders
/// the statement, never guessed from its SQL text. The connection is the
/// one the executor names (a model's connection, a transaction's, or a
/// connection picked by name).
#[derive(Clone, Debug)]
pub struct Operation {
    /// Read or write.
    pub access: Access,
    /// The SQL verb, for summaries: `SELECT`, `INSERT`, `UPDATE`, `DELETE`,
    /// `CREATE`, `MIGRATE`, or `RAW` for raw SQL.
    pub verb: &'static str,
    /// The tables it reads or writes (empty for raw SQL).
    pub tables: Cow<'static, [&'static str]>,
}

impl Operation {
    /// A read of `table`.
    pub(crate) fn read(table: &'static &'static str) -> Operation {
        Operation {
            access: Access::Read,
            verb: "SELECT",
            tables: Cow::Borrowed(std::slice::from_ref(table)),
        }
    }

    /// A write of `table`, with its verb.
    pub(crate) fn write(verb: &'static str, table: &'static &'static str) -> Operation {
        Operation {
            access: Access::Write,
            verb,
            tables: Cow::Borrowed(std::slice::from_ref(table)),
        }
    }

    /// Raw SQL: a write, as far as routing can tell, since its text is
    /// never read.
    pub(crate) const fn raw() -> Operation {
        Operation {
            access: Access::Write,
            verb: "RAW",
            tables: Cow::Borrowed(&[]),
        }
    }

    /// A schema change or migration bookkeeping.
    pub(crate) const fn migration() -> Operation {
        Operation {
            access: Access::Write,
            verb: "MIGRATE",
            tables: Cow::Borrowed(&[]),
        }
    }

    /// A short summary: the verb and the tables (`SELECT orders`).
    pub fn summary(&self) -> String {
        let mut s = String::from(self.verb);
        for t in self.tables.iter() {
            s.push(' ');
            s.push_str(t);
        }
        s
    }
}

/// A connection that routing chose for one operation: a pooled connection
/// of its own, or the one of a transaction.
#[doc(hidden)]
pub struct Session<'e> {
    conn: Conn<'e>,
}

enum Conn<'e> {
    Owned(PooledConn),
    Borrowed(&'e mut PooledConn),
}

impl<'e> Session<'e> {
    pub(crate) fn owned(conn: PooledConn) -> Session<'e> {
        Session {
            conn: Conn::Owned(conn),
        }
    }

    pub(crate) fn borrowed(conn: &'e mut PooledConn) -> Session<'e> {
        Session {
            conn: Conn::Borrowed(conn),
        }
    }

    fn conn(&mut self) -> &mut PooledConn {
        match &mut self.conn {
            Conn::Owned(c) => c,
            Conn::Borrowed(c) => c,
        }
    }

    /// The backend the statements will run on, for rendering them.
    pub(crate) fn backend(&self) -> Backend {
        match &self.conn {
            Conn::Owned(c) => c.backend(),
            Conn::Borrowed(c) => c.backend(),
        }
    }

    /// Sends one statement of `op`: the one function every statement passes.
    pub(crate) async fn run<T, D>(
        &mut self,
        op: &Operation,
        statement: Statement<D>,
    ) -> Result<Fetched<T>>
    where
        D: FnMut(RowRef<'_>) -> Result<T> + Send,
    {
        let _ = op;
        self.conn().run(statement).await
    }

    /// Runs a query and decodes every row with `decode`.
    pub(crate) async fn fetch_all<T>(
        &mut self,
        op: &Operation,
        sql: SqlStr,
        args: Args,
        decode: impl FnMut(RowRef<'_>) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        let statement = Statement {
            sql,
            args: Some(args),
            fetch: Fetch::All(decode),
        };
        match self.run(op, statement).await? {
            Fetched::All(rows) => Ok(rows),
            _ => unreachable!("Fetch::All returns Fetched::All"),
        }
    }

    /// Runs a query and decodes its first row, if any.
    pub(crate) async fn fetch_optional<T>(
        &mut self,
        op: &Operation,
        sql: SqlStr,
        args: Args,
        decode: impl FnMut(RowRef<'_>) -> Result<T> + Send,
    ) -> Result<Option<T>> {
        let statement = Statement {
            sql,
            args: Some(args),
            fetch: Fetch::Optional(decode),
        };
        match self.run(op, statement).await? {
            Fetched::Optional(row) => Ok(row),
            _ => unreachable!("Fetch::Optional returns Fetched::Optional"),
        }
    }

    /// Runs a statement that returns no rows.
    pub(crate) async fn execute(
        &mut self,
        op: &Operation,
        sql: SqlStr,
        args: Args,
    ) -> Result<Done> {
        self.done(op, sql, Some(args), false).await
    }

    /// Runs SQL without parameters, possibly several statements (DDL).
    pub(crate) async fn execute_script(&mut self, op: &Operation, sql: SqlStr) -> Result<Done> {
        self.done(op, sql, None, true).await
    }

    async fn done(
        &mut self,
        op: &Operation,
        sql: SqlStr,
        args: Option<Args>,
        script: bool,
    ) -> Result<Done> {
        let statement = Statement::<fn(RowRef<'_>) -> Result<()>> {
            sql,
            args,
            fetch: if script {
                Fetch::Script
            } else {
                Fetch::Execute
            },
        };
        match self.run(op, statement).await? {
            Fetched::Done(done) => Ok(done),
            _ => unreachable!("Fetch::Execute returns Fetched::Done"),
        }
    }

    /// Opens a transaction, or a savepoint inside the caller's: several
    /// statements of one operation that must apply together.
    pub(crate) async fn begin(&mut self) -> Result<()> {
        self.conn().begin().await
    }

    /// Commits what [`begin`](Self::begin) opened.
    pub(crate) async fn commit(&mut self) -> Result<()> {
        self.conn().commit().await
    }

    /// Rolls back what [`begin`](Self::begin) opened.
    pub(crate) async fn rollback(&mut self) -> Result<()> {
        self.conn().rollback().await
    }
}
