//! The seam between an operation and a pooled connection.
//!
//! Every statement that a typed operation (CRUD, a query, a relation load, a
//! migration step) or raw SQL sends passes through [`Session::run`], together
//! with an [`Operation`]: what the statement is, in terms routing can use
//! without reading SQL text (its connection, read or write, its tables, a
//! short verb). This one function is where per-statement policy lives.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::SqlStr;

use crate::backend::Backend;
use crate::connection::conn::{Done, Fetch, Fetched, Statement};
use crate::connection::driver::{Args, RowRef};
use crate::connection::pool::{Pool, PooledConn};
use crate::connection::replication::{self, Position};
use crate::connection::retry::RetryPolicy;
use crate::connection::transaction::TransactionOptions;
use crate::error::Result;

use super::cache::{Cache, PendingWrite, SCHEMA_TABLE};
use super::consistency::{HandleState, ReadPlan};
use super::database::Connection;
use super::replicas::{ReadYourWrites, Replica, ReplicaSet};
use super::trace::{self, Attempt};

/// How long a read with a causal token waits for a replica when the
/// connection is not in causal-token mode (the token came from elsewhere).
const DEFAULT_CAUSAL_WAIT: Duration = Duration::from_secs(1);

/// Reads go to the primary this long after a write whose position could not
/// be read (Rails' sticky window; fixed, whatever the configured window).
pub(crate) const DEFAULT_STICKY_WINDOW: Duration = Duration::from_secs(2);

/// The longest the statement that reads the primary's position may take.
const POSITION_LIMIT: Duration = Duration::from_secs(5);

/// A write committed on `conn`, the primary of a connection with replicas
/// `set`: `handle` remembers it for read-your-writes, with the primary's
/// position read on `conn` in causal-token mode. A position that cannot be
/// read (binary logging off, say) is logged, and the handle's reads go to
/// the primary for [`DEFAULT_STICKY_WINDOW`] instead: the write itself
/// succeeded, so it is not an error.
pub(crate) async fn remember_write(set: &ReplicaSet, handle: &HandleState, conn: &mut PooledConn) {
    let name = conn.connection_name().to_owned();
    let position = match set.options.read_your_writes_mode() {
        ReadYourWrites::Off => return,
        ReadYourWrites::StickyWindow(_) => None,
        ReadYourWrites::CausalToken { .. } => Some(
            replication::primary_position(conn, POSITION_LIMIT)
                .await
                .map_err(|e| {
                    tracing::warn!(
                        target: "orm::replicas",
                        connection = %name,
                        "could not read the primary's position after a write ({e}); this handle's reads go to the primary for {DEFAULT_STICKY_WINDOW:?}"
                    );
                    DEFAULT_STICKY_WINDOW
                }),
        ),
    };
    handle.wrote(&name, position);
}

/// Waits on one of `replica`'s connections until it has replayed `target`
/// (up to `wait`): the connection, ready for the read, or `None` if the
/// replica did not get there in time.
async fn wait_on(
    replica: &Replica,
    target: &Position,
    wait: Duration,
) -> Result<Option<PooledConn>> {
    let mut conn = replica.pool.acquire().await?;
    if replication::wait_for(&mut conn, target, wait).await? {
        replica.replayed(target.clone());
        Ok(Some(conn))
    } else {
        Ok(None)
    }
}

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
    /// The tables it reads or writes (empty for raw SQL that names none).
    pub tables: Cow<'static, [&'static str]>,
    /// The model it is an operation of, by its Rust name (`Order`): the
    /// first model of a join or a union; `""` for raw SQL and migrations.
    /// Spans and slow-query events report it (`orm.model`).
    pub model: &'static str,
}

impl Operation {
    /// A read of `table`, the table of `model`.
    pub(crate) fn read(model: &'static str, table: &'static &'static str) -> Operation {
        Operation {
            access: Access::Read,
            verb: "SELECT",
            tables: Cow::Borrowed(std::slice::from_ref(table)),
            model,
        }
    }

    /// A write of `table`, the table of `model`, with its verb.
    pub(crate) fn write(
        verb: &'static str,
        model: &'static str,
        table: &'static &'static str,
    ) -> Operation {
        Operation {
            access: Access::Write,
            verb,
            tables: Cow::Borrowed(std::slice::from_ref(table)),
            model,
        }
    }

    /// Raw SQL: a write, as far as routing can tell, since its text is
    /// never read.
    pub(crate) const fn raw() -> Operation {
        Operation {
            access: Access::Write,
            verb: "RAW",
            tables: Cow::Borrowed(&[]),
            model: "",
        }
    }

    /// A schema change or migration bookkeeping.
    pub(crate) const fn migration() -> Operation {
        Operation {
            access: Access::Write,
            verb: "MIGRATE",
            tables: Cow::Borrowed(&[]),
            model: "",
        }
    }

    /// The tables whose cached reads a successful run of this operation
    /// makes stale: a write's tables (a locking `SELECT` writes nothing),
    /// and the whole connection's ([`SCHEMA_TABLE`]) for a migration.
    pub(crate) fn invalidates(&self) -> &[&'static str] {
        match (self.access, self.verb) {
            (Access::Read, _) | (_, "SELECT") => &[],
            (_, "MIGRATE") => &[SCHEMA_TABLE],
            _ => &self.tables,
        }
    }

    /// A short summary: the verb and the tables (`SELECT orders`), the
    /// `db.query.summary` of its spans.
    pub fn summary(&self) -> String {
        trace::Summary(self).to_string()
    }
}

/// Per-call options an executor carries: see [`Call`](super::Call).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CallOptions {
    /// The caller's statement timeout for each statement of the operation.
    pub(crate) statement_timeout: Option<Duration>,
    /// The caller vouches that the operation may run twice: writes are
    /// retried too.
    pub(crate) idempotent: bool,
    /// Send it to the primary even if it reads.
    pub(crate) primary: bool,
    /// Raw SQL the caller says only reads: it may go to a replica.
    pub(crate) read: bool,
}

/// A connection that routing chose for one operation: a pooled connection
/// of its own (which can be replaced to retry), or the one of a transaction.
#[doc(hidden)]
pub struct Session<'e> {
    conn: Conn<'e>,
    call: CallOptions,
    /// Set on a connection with replicas: where the session is, and where
    /// else a read may go.
    route: Option<Route<'e>>,
    /// The query cache, invalidated after writes outside a transaction
    /// (`None` in a transaction's session: its writes are invalidated
    /// when it commits).
    cache: Option<&'e Cache>,
}

/// A session of a connection with replicas.
struct Route<'e> {
    set: &'e ReplicaSet,
    primary: &'e Pool,
    handle: &'e HandleState,
    /// The replica the session is on (`None`: the primary).
    on: Option<usize>,
    /// Replicas that failed this session's reads, a bit each.
    tried: u64,
    /// The read carries a causal position: only the replica that was
    /// checked for it may take it, so a failover goes to the primary.
    causal: bool,
}

// Not boxed: a session lives on the stack for one operation, and a box
// would cost an allocation per operation on the hot path.
#[allow(clippy::large_enum_variant)]
enum Conn<'e> {
    /// A pooled connection of the operation's own, and its pool (to take
    /// another for a retry). `None` between a lost connection and the next.
    Owned(&'e Pool, Option<PooledConn>),
    Borrowed(&'e mut PooledConn),
}

impl<'e> Session<'e> {
    pub(crate) fn borrowed(conn: &'e mut PooledConn) -> Session<'e> {
        Session {
            conn: Conn::Borrowed(conn),
            call: CallOptions::default(),
            route: None,
            cache: None,
        }
    }

    /// A session for an operation of `access` on `connection`, for the
    /// handle whose writes are `handle`: without replicas, or for a write,
    /// or pinned to the primary, the primary's pool. A read otherwise goes
    /// to the replica balancing picks, unless read-your-writes sends it to
    /// the primary (inside the sticky window) or needs a replica that has
    /// replayed the handle's position: the chosen replica is asked to wait
    /// for it (up to the causal wait), and if it does not get there the read
    /// goes to the primary. No usable replica: the primary.
    pub(crate) async fn routed(
        connection: &'e Connection,
        handle: &'e HandleState,
        access: Access,
        call: CallOptions,
    ) -> Result<Session<'e>> {
        let primary = &connection.pool;
        let Some(set) = connection.replicas.as_deref() else {
            // The connection is taken when the first statement is sent, so
            // that a failure to get one is retried like a statement.
            return Ok(Session {
                conn: Conn::Owned(primary, None),
                call,
                route: None,
                cache: Some(&connection.cache),
            });
        };
        let mut route = Route {
            set,
            primary,
            handle,
            on: None,
            tried: 0,
            causal: false,
        };
        let mut slot = None;
        let mode = set.options.read_your_writes_mode();
        if access == Access::Read && !call.primary {
            match handle.plan(primary.name(), mode) {
                ReadPlan::Primary => {}
                ReadPlan::Replica { at_least: None } => route.on = set.choose(0),
                ReadPlan::Replica {
                    at_least: Some(target),
                } => {
                    route.causal = true;
                    if let Some(i) = set.choose(0) {
                        let replica = &set.replicas[i];
                        if replica.has_replayed(&target) {
                            route.on = Some(i);
                        } else {
                            let wait = match mode {
                                ReadYourWrites::CausalToken { wait } => wait,
                                _ => DEFAULT_CAUSAL_WAIT,
                            };
                            // Boxed: this rare path holds a pool acquisition
                            // and a statement in flight, kilobytes of future
                            // state that every routed operation's future would
                            // otherwise carry and copy when it is moved.
                            match Box::pin(wait_on(replica, &target, wait)).await {
                                Ok(Some(conn)) => {
                                    route.on = Some(i);
                                    slot = Some(conn);
                                }
                                Ok(None) => set.count_causal_fallback(),
                                Err(e) => {
                                    if e.is_connection_error() {
                                        replica.failed();
                                    } else {
                                        tracing::warn!(
                                            target: "orm::replicas",
                                            connection = %primary.name(),
                                            "waiting for replica {} to replay a causal token failed ({e}); the read goes to the primary",
                                            replica.url()
                                        );
                                    }
                                    set.count_causal_fallback();
                                }
                            }
                        }
                    }
                }
            }
        }
        let pool = route.on.map_or(primary, |i| &set.replicas[i].pool);
        Ok(Session {
            conn: Conn::Owned(pool, slot),
            call,
            route: Some(route),
            cache: Some(&connection.cache),
        })
    }

    /// After `error` on a replica's connection: takes the replica out
    /// (its breaker counts the failure) and moves the session to the next
    /// usable replica, or the primary. `false` when the error is not a
    /// connection failure or the session is not on a replica.
    fn fail_over(&mut self, error: &crate::Error) -> bool {
        let Some(route) = &mut self.route else {
            return false;
        };
        let Some(i) = route.on else { return false };
        if !error.is_connection_error() {
            return false;
        }
        route.set.replicas[i].failed();
        if i < 64 {
            route.tried |= 1 << i;
        }
        // Another replica has not been checked for the read's causal
        // position: the primary takes it then.
        route.on = if route.causal {
            None
        } else {
            route.set.choose(route.tried)
        };
        let pool = route
            .on
            .map_or(route.primary, |j| &route.set.replicas[j].pool);
        self.conn = Conn::Owned(pool, None);
        tracing::warn!(
            target: "orm::replicas",
            connection = %route.primary.name(),
            "a read failed on replica {} ({error}); sent to {}",
            route.set.replicas[i].url(),
            route.on.map_or("the primary", |j| route.set.replicas[j].url())
        );
        true
    }

    /// Bookkeeping after a statement of `op` succeeded: the replica's
    /// breaker and read count; a write committed on a connection with
    /// replicas is remembered for read-your-writes (a write inside a
    /// transaction is marked, and remembered when it commits).
    async fn succeeded(&mut self, op: &Operation) {
        // Raw SQL the caller marked as a read is not a write.
        if op.access == Access::Write && !self.call.read {
            // Boxed: a write's bookkeeping (the cache's invalidation, the
            // primary's position) would otherwise enlarge every statement's
            // future, reads' too, and be copied each time it moves.
            Box::pin(self.write_succeeded(op)).await;
        } else {
            self.counted_on_replica();
        }
    }

    /// A statement ran on a replica: its breaker and read count hear of
    /// it (`false` if it ran on the primary).
    fn counted_on_replica(&self) -> bool {
        let Some(i) = self.route.as_ref().and_then(|r| r.on.map(|i| (r, i))) else {
            return false;
        };
        let replica = &i.0.set.replicas[i.1];
        replica.succeeded();
        replica.count_read();
        true
    }

    /// A write of `op` succeeded: marked in its transaction, or its tables
    /// invalidated and, on a connection with replicas, remembered.
    async fn write_succeeded(&mut self, op: &Operation) {
        if self.write_stored(op).await || self.counted_on_replica() {
            return;
        }
        self.wrote().await;
    }

    /// A write on the primary committed: the handle remembers it.
    async fn wrote(&mut self) {
        let Some(route) = &self.route else { return };
        let (set, handle) = (route.set, route.handle);
        if let Conn::Owned(_, Some(c)) = &mut self.conn {
            remember_write(set, handle, c).await;
        }
    }

    /// The query cache's scope of the session's connection (its name and
    /// database).
    fn cache_scope(&self) -> &'e str {
        match &self.conn {
            Conn::Owned(pool, _) => pool.cache_scope(),
            Conn::Borrowed(_) => "",
        }
    }

    /// A write of `op` failed, or its outcome is unknown (a lost
    /// connection, a timeout, a row it returned that could not be
    /// decoded): the server may have applied it, so the cache hears of it
    /// as of a write that succeeded (inside a transaction, when it
    /// commits).
    async fn write_failed(&mut self, op: &Operation) {
        if !self.call.read && !op.invalidates().is_empty() {
            // Boxed, as in `succeeded`: rare, and large.
            Box::pin(self.write_stored(op)).await;
        }
    }

    /// A write of `op` was (or may have been) stored: inside a transaction
    /// it is marked, for read-your-writes and for the cache to invalidate
    /// its tables at the commit (`true`); outside, its tables are
    /// invalidated now (`false`).
    async fn write_stored(&mut self, op: &Operation) -> bool {
        let conn: Option<&mut PooledConn> = match &mut self.conn {
            Conn::Borrowed(c) => Some(c),
            Conn::Owned(_, c) => c.as_mut(),
        };
        if let Some(c) = conn {
            if c.transaction_depth() > 0 {
                c.tx.wrote = true;
                c.tx.note_written(op.invalidates());
                return true;
            }
        }
        if let Some(cache) = self.cache {
            cache.invalidate(self.cache_scope(), op.invalidates()).await;
        }
        false
    }

    async fn conn(&mut self) -> Result<&mut PooledConn> {
        match &mut self.conn {
            Conn::Owned(pool, slot) => {
                if slot.is_none() {
                    *slot = Some(pool.acquire().await?);
                }
                Ok(slot.as_mut().expect("filled above"))
            }
            Conn::Borrowed(c) => Ok(c),
        }
    }

    /// The backend the statements will run on, for rendering them.
    pub(crate) fn backend(&self) -> Backend {
        match &self.conn {
            Conn::Owned(pool, _) => pool.backend(),
            Conn::Borrowed(c) => c.backend(),
        }
    }

    /// How a failed statement of `op` may be sent again: never inside a
    /// transaction (the whole transaction is retried instead); reads, and
    /// writes the caller marked idempotent, under the connection's policy.
    fn retry_policy(&mut self, op: &Operation) -> Option<RetryPolicy> {
        let Conn::Owned(pool, slot) = &mut self.conn else {
            return None;
        };
        if slot.as_mut().is_some_and(|c| c.transaction_depth() > 0) {
            return None;
        }
        let policy = pool.options().retry;
        let may_repeat = op.access == Access::Read || self.call.idempotent;
        (may_repeat && policy.attempts() > 1).then_some(policy)
    }

    /// Sends one statement of `op`: the one function every statement passes.
    ///
    /// Here the statement timeout of the call is applied, raw SQL is
    /// watched for what it does to the session (see [`PooledConn::run_raw`]),
    /// statements a schema change made stale are prepared again, and
    /// transient failures are retried under the connection's policy.
    pub(crate) async fn run<T, D>(
        &mut self,
        op: &Operation,
        sql: SqlStr,
        mut args: Option<Args>,
        mut fetch: Fetch<D>,
    ) -> Result<Fetched<T>>
    where
        D: FnMut(RowRef<'_>) -> Result<T> + Send,
    {
        let limit = self.call.statement_timeout;
        let raw = op.verb == Operation::raw().verb;
        let policy = self.retry_policy(op);
        let mut pauses = policy.map(|p| p.pauses());
        let mut prepared_again = false;
        let mut attempt = 0;
        // A write the query cache must hear of however it ends: if this
        // future is dropped with the statement in flight, the server may
        // still apply it.
        let mut pending = match self.cache {
            Some(cache) if !self.call.read && !op.invalidates().is_empty() => {
                Some(PendingWrite::new(cache, self.cache_scope()))
            }
            _ => None,
        };
        loop {
            let on_replica = self.route.as_ref().is_some_and(|r| r.on.is_some());
            attempt += 1;
            let result = match self.conn().await {
                // No connection (the pool timed out, the server is gone):
                // as retryable as a statement that met the same.
                Err(e) => {
                    self.acquire_failed(op, on_replica, attempt, &e);
                    Err(e)
                }
                Ok(conn) => {
                    let traced =
                        Attempt::start(conn, op, sql.as_str(), args.as_ref(), on_replica, attempt);
                    // Inside a transaction a statement is sent once; outside,
                    // its values are kept for a second attempt only where one
                    // can happen (a retry policy, or PostgreSQL's re-prepare).
                    let once = conn.transaction_depth() > 0
                        || (policy.is_none() && conn.backend() != Backend::Postgres && !on_replica);
                    let statement = Statement {
                        sql: sql.clone(),
                        args: if once { args.take() } else { args.clone() },
                        fetch: fetch.by_ref(),
                    };
                    let result = if raw {
                        // Boxed: raw SQL's watch over the session (its
                        // transaction, its settings) would otherwise sit in
                        // every typed statement's future.
                        Box::pin(conn.run_raw(statement, limit)).await
                    } else {
                        conn.run(statement, limit).await
                    };
                    let rows = result.as_ref().map(Fetched::rows);
                    traced.finish(conn, op, sql.as_str(), rows);
                    if once {
                        match &result {
                            Ok(_) => self.succeeded(op).await,
                            Err(_) => self.write_failed(op).await,
                        }
                        PendingWrite::settle(&mut pending);
                        return result;
                    }
                    result
                }
            };
            let error = match result {
                Ok(done) => {
                    self.succeeded(op).await;
                    PendingWrite::settle(&mut pending);
                    return Ok(done);
                }
                Err(error) => error,
            };
            if self.fail_over(&error) {
                continue;
            }
            if !prepared_again && error.is_stale_statement() {
                // PostgreSQL: a prepared statement outlived a schema change
                // ("cached plan must not change result type"): drop every
                // connection's statements and prepare this one again, once.
                prepared_again = true;
                if let Ok(conn) = self.conn().await {
                    Box::pin(conn.clear_all_statement_caches()).await?;
                }
                continue;
            }
            let Some(pause) = self.pause_before_retry(&mut pauses, &error) else {
                self.write_failed(op).await;
                PendingWrite::settle(&mut pending);
                return Err(error);
            };
            Box::pin(tokio::time::sleep(pause)).await;
        }
    }

    /// Sends one query of `op` and yields its rows as they arrive, each
    /// decoded with `decode`; the stream owns the session (and so its
    /// pooled connection, or the transaction's borrow).
    ///
    /// The rules of [`run`](Self::run), where they can apply to a stream:
    /// errors are classified alike; a statement that fails before its first
    /// row is retried under the connection's policy (reads outside a
    /// transaction) and prepared again after a schema change; once a row
    /// was yielded nothing is retried, since the caller has seen it, and an
    /// error ends the stream. The caller's statement timeout does not
    /// apply: the caller decides how long it reads.
    pub(crate) fn stream<T, D>(
        mut self,
        op: &Operation,
        sql: SqlStr,
        args: Args,
        mut decode: D,
    ) -> impl futures_core::Stream<Item = Result<T>> + Send + 'e
    where
        T: Send + 'e,
        D: FnMut(RowRef<'_>) -> Result<T> + Send + 'e,
    {
        let policy = self.retry_policy(op);
        let op = op.clone();
        async_stream::stream! {
            use futures_util::StreamExt as _;
            let mut pauses = policy.map(|p| p.pauses());
            let mut prepared_again = false;
            let mut attempt = 0;
            loop {
                let on_replica = self.route.as_ref().is_some_and(|r| r.on.is_some());
                attempt += 1;
                // The error met before the first row, if any.
                let error = match self.conn().await {
                    Err(e) => {
                        self.acquire_failed(&op, on_replica, attempt, &e);
                        e
                    }
                    Ok(conn) => {
                        let traced = Attempt::start(conn, &op, sql.as_str(), Some(&args), on_replica, attempt);
                        let mut rows = Box::pin(conn.stream(sql.clone(), args.clone(), &mut decode));
                        // Rows read, and the error that ended the stream.
                        let mut read = 0;
                        let mut failed = None;
                        while let Some(row) = rows.next().await {
                            match row {
                                Ok(value) => {
                                    read += 1;
                                    // From the first row on, rows and errors go to the caller.
                                    yield Ok(value);
                                }
                                Err(e) => {
                                    failed = Some(e);
                                    break;
                                }
                            }
                        }
                        drop(rows);
                        let conn = self.conn().await;
                        if let Ok(conn) = &conn {
                            let outcome = failed.as_ref().map_or(Ok(Some(read)), Err);
                            traced.finish(conn, &op, sql.as_str(), outcome);
                        }
                        match failed {
                            None => return,
                            Some(e) if read > 0 => {
                                yield Err(e);
                                return;
                            }
                            Some(e) => {
                                if !prepared_again && e.is_stale_statement() {
                                    prepared_again = true;
                                    if let Ok(conn) = self.conn().await {
                                        if let Err(e) = conn.clear_all_statement_caches().await {
                                            yield Err(e);
                                            return;
                                        }
                                    }
                                    continue;
                                }
                                e
                            }
                        }
                    }
                };
                if self.fail_over(&error) {
                    continue;
                }
                let Some(pause) = self.pause_before_retry(&mut pauses, &error) else {
                    yield Err(error);
                    return;
                };
                tokio::time::sleep(pause).await;
            }
        }
    }

    /// After `error`, the pause before the next attempt, if the policy's
    /// `pauses` allow one: the retry is counted, and a connection that
    /// broke is let go so that the attempt takes another.
    fn pause_before_retry(
        &mut self,
        pauses: &mut Option<impl Iterator<Item = Duration>>,
        error: &crate::Error,
    ) -> Option<Duration> {
        let pause = match (pauses, error.is_transient()) {
            (Some(pauses), true) => pauses.next(),
            _ => None,
        }?;
        self.count_retry();
        if let Conn::Owned(_, slot) = &mut self.conn {
            if slot.as_ref().is_some_and(|c| c.broken) {
                *slot = None;
            }
        }
        Some(pause)
    }

    /// No connection for attempt `attempt` of a statement of `op`.
    fn acquire_failed(&self, op: &Operation, on_replica: bool, attempt: u32, error: &crate::Error) {
        if let Conn::Owned(pool, _) = &self.conn {
            trace::acquire_failed(pool, op, on_replica, attempt, error);
        }
    }

    fn count_retry(&self) {
        if let Conn::Owned(pool, _) = &self.conn {
            pool.count_retry();
        }
    }

    /// Runs a query and decodes every row with `decode`.
    pub(crate) async fn fetch_all<T>(
        &mut self,
        op: &Operation,
        sql: SqlStr,
        args: Args,
        decode: impl FnMut(RowRef<'_>) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        match self.run(op, sql, Some(args), Fetch::All(decode)).await? {
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
        match self
            .run(op, sql, Some(args), Fetch::Optional(decode))
            .await?
        {
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
        self.done(op, sql, Some(args), Fetch::Execute).await
    }

    /// Runs SQL without parameters, possibly several statements (DDL).
    pub(crate) async fn execute_script(&mut self, op: &Operation, sql: SqlStr) -> Result<Done> {
        self.done(op, sql, None, Fetch::Script).await
    }

    async fn done(
        &mut self,
        op: &Operation,
        sql: SqlStr,
        args: Option<Args>,
        fetch: Fetch<fn(RowRef<'_>) -> Result<()>>,
    ) -> Result<Done> {
        match self.run(op, sql, args, fetch).await? {
            Fetched::Done(done) => Ok(done),
            _ => unreachable!("Fetch::Execute returns Fetched::Done"),
        }
    }

    /// The schema changed (a migration ran): every connection of the pool
    /// prepares its statements again before its next use.
    pub(crate) async fn schema_changed(&mut self) -> Result<()> {
        self.conn().await?.schema_changed();
        Ok(())
    }

    /// Opens a transaction, or a savepoint inside the caller's: several
    /// statements of one operation that must apply together.
    pub(crate) async fn begin(&mut self) -> Result<()> {
        let conn = self.conn().await?;
        if conn.transaction_depth() > 0 {
            return conn.begin(&TransactionOptions::default()).await;
        }
        let span = trace::begin_transaction(conn, 1);
        let result = conn.begin(&TransactionOptions::default()).await;
        trace::transaction_begun(conn, span, &result);
        result
    }

    /// Commits what [`begin`](Self::begin) opened (a write committed on
    /// a connection with replicas is remembered for read-your-writes).
    pub(crate) async fn commit(&mut self) -> Result<()> {
        let conn = self.conn().await?;
        let outermost = conn.transaction_depth() == 1;
        let wrote = conn.tx.wrote && outermost;
        let written = if outermost {
            std::mem::take(&mut conn.tx.written)
        } else {
            Vec::new()
        };
        let span = trace::ending_transaction(conn);
        let committed = conn.commit().await;
        trace::end_transaction(span, true, &committed);
        // Whatever the commit returned: an unknown outcome, or raw SQL that
        // ended the transaction, may have stored the writes (a commit
        // refused and rolled back only costs entries).
        if let Some(cache) = self.cache {
            cache.invalidate(self.cache_scope(), &written).await;
        }
        committed?;
        if wrote {
            self.wrote().await;
        }
        Ok(())
    }

    /// Rolls back what [`begin`](Self::begin) opened.
    pub(crate) async fn rollback(&mut self) -> Result<()> {
        let conn = self.conn().await?;
        let span = trace::ending_transaction(conn);
        let result = conn.rollback().await;
        trace::end_transaction(span, false, &result);
        result
    }
}
