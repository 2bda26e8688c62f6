//! Read replicas of a named connection: which replica a read goes to
//! (balancing), which replicas may take reads at all (a circuit breaker per
//! replica, a lag limit), and the background check that measures each
//! replica's lag and brings a replica back after it failed.
//!
//! Whether a statement is a read is never guessed here: the operation says
//! so ([`Operation::access`](super::Operation)); routing only chooses among
//! pools. Read-your-writes (the sticky window and causal tokens) is in
//! [`consistency`](super::consistency).

use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use backon::BackoffBuilder as _;
use failsafe::failure_policy::ConsecutiveFailures;

use crate::connection::pool::{Pool, PoolMetrics};
use crate::connection::replication::{self, Position};

/// How reads are spread over a connection's replicas
/// ([`ReplicationOptions::balancing`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Balancing {
    /// In turn, in proportion to each replica's weight (3 and 1: three reads
    /// of every four to the first). With equal weights, plain round robin.
    /// The default.
    #[default]
    Weighted,
    /// In turn, one read each, whatever the weights.
    RoundRobin,
    /// To the replica with the fewest connections in use now (its pool's
    /// checked-out connections); ties in turn. Suits reads of uneven cost.
    LeastConnections,
}

impl Balancing {
    fn parse(text: &str) -> Option<Balancing> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "weighted" => Some(Balancing::Weighted),
            "round_robin" => Some(Balancing::RoundRobin),
            "least_connections" => Some(Balancing::LeastConnections),
            _ => None,
        }
    }
}

/// How a [`Database`](crate::Database) handle sees its own writes when it
/// reads from replicas ([`ReplicationOptions::read_your_writes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadYourWrites {
    /// No guarantee: a read right after a write may go to a replica that
    /// has not replayed it yet.
    Off,
    /// After a write through a handle, that handle's reads of the
    /// connection go to the primary for this long. The default, with 2
    /// seconds, Rails' default window; but Rails keeps the time of the last
    /// write in the user's session, while here it lives in the handle, in
    /// memory: give each request or user its own handle
    /// ([`Database::new_handle`](crate::Database::new_handle)), or carry a
    /// [`CausalToken`](crate::CausalToken) across requests and processes.
    StickyWindow(Duration),
    /// After a write through a handle, the handle remembers the primary's
    /// position (PostgreSQL WAL LSN, MariaDB/MySQL GTID; one more statement
    /// on the primary per write). Its later reads go to a replica that has
    /// replayed past it, waiting up to `wait` for the chosen replica to get
    /// there, else to the primary. The position travels as a
    /// [`CausalToken`](crate::CausalToken). (A handle made from a token
    /// honours it in every mode; outside this one it waits 1 second.)
    CausalToken {
        /// The longest the replica is asked to wait for the position (the
        /// server's wait; the pool's acquire time comes on top, and the
        /// statement is cut off 5 seconds after `wait`). Zero: the replica
        /// is asked once, without waiting.
        wait: Duration,
    },
}

impl Default for ReadYourWrites {
    fn default() -> Self {
        ReadYourWrites::StickyWindow(Duration::from_secs(2))
    }
}

/// How a connection uses its replicas: balancing, read-your-writes, the lag
/// limit, health checks and the circuit breaker. Set with
/// [`DatabaseBuilder::replication`](crate::DatabaseBuilder::replication) or
/// the `<prefix>_BALANCING`, `_READ_YOUR_WRITES`, `_STICKY_WINDOW`,
/// `_CAUSAL_WAIT`, `_MAX_REPLICA_LAG` and `_REPLICA_CHECK_INTERVAL`
/// variables ([`Database::from_env`](crate::Database::from_env)).
///
/// ```
/// use std::time::Duration;
/// use orm::{Balancing, ReadYourWrites, ReplicationOptions};
/// let options = ReplicationOptions::new()
///     .balancing(Balancing::LeastConnections)
///     .read_your_writes(ReadYourWrites::CausalToken { wait: Duration::from_millis(500) })
///     .max_lag(Some(Duration::from_secs(5)));
/// assert_eq!(options.balancing_policy(), Balancing::LeastConnections);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReplicationOptions {
    balancing: Balancing,
    read_your_writes: ReadYourWrites,
    max_lag: Option<Duration>,
    check_interval: Duration,
    failures_to_open: u32,
    open_for: Duration,
    max_open_for: Duration,
}

impl Default for ReplicationOptions {
    fn default() -> Self {
        ReplicationOptions {
            balancing: Balancing::default(),
            read_your_writes: ReadYourWrites::default(),
            max_lag: None,
            check_interval: Duration::from_secs(1),
            failures_to_open: 1,
            open_for: Duration::from_secs(1),
            max_open_for: Duration::from_secs(30),
        }
    }
}

impl ReplicationOptions {
    /// The defaults: weighted balancing, a 2-second sticky window, no lag
    /// limit, a health check every second, a replica taken out after one
    /// connection failure and probed again after 1 second (then 2, 4, ... up
    /// to 30 while it keeps failing, each plus a random jitter of up to as
    /// much again).
    pub fn new() -> Self {
        Self::default()
    }

    /// How reads are spread over the replicas.
    pub fn balancing(mut self, balancing: Balancing) -> Self {
        self.balancing = balancing;
        self
    }

    /// The balancing chosen.
    pub fn balancing_policy(&self) -> Balancing {
        self.balancing
    }

    /// How a handle sees its own writes.
    pub fn read_your_writes(mut self, mode: ReadYourWrites) -> Self {
        self.read_your_writes = mode;
        self
    }

    /// The read-your-writes mode chosen.
    pub fn read_your_writes_mode(&self) -> ReadYourWrites {
        self.read_your_writes
    }

    /// Replicas measured further behind the primary than this take no reads
    /// until they catch up (`None`, the default: no limit). The lag is
    /// measured by the health check: PostgreSQL `clock_timestamp() -
    /// pg_last_xact_replay_timestamp()` while received WAL waits to be
    /// replayed (else 0: a replica whose WAL receiver stopped reads as 0
    /// once it replayed what it had), MariaDB `Seconds_Behind_Master` of
    /// `SHOW SLAVE STATUS`, MySQL `Seconds_Behind_Source` of `SHOW REPLICA
    /// STATUS` (whole seconds). A lag that cannot be measured (not yet, or
    /// replication stopped, or no privilege to ask) does not exclude a
    /// replica: only connection failures do, through the breaker.
    pub fn max_lag(mut self, lag: Option<Duration>) -> Self {
        self.max_lag = lag;
        self
    }

    /// How often each replica's lag and health are checked (default 1
    /// second; at least 10 ms). Replicas are checked one after another; a
    /// check taking longer than 5 seconds (or the interval, if longer)
    /// counts as a connection failure.
    pub fn check_interval(mut self, every: Duration) -> Self {
        self.check_interval = every.max(Duration::from_millis(10));
        self
    }

    /// The circuit breaker: a replica is taken out of rotation after
    /// `failures` consecutive connection failures (lost connection, none to
    /// be had in time; default 1), and let take reads again, on trial, after
    /// `open_for` (default 1 second), the pause doubling up to `max_open_for`
    /// (default 30 seconds) while the trials fail; each pause gets a random
    /// jitter of up to itself (so 1-2 s at first, at most 60 s), so that
    /// clients do not probe together.
    pub fn circuit_breaker(
        mut self,
        failures: u32,
        open_for: Duration,
        max_open_for: Duration,
    ) -> Self {
        self.failures_to_open = failures.max(1);
        self.open_for = open_for;
        self.max_open_for = max_open_for.max(open_for);
        self
    }

    /// Options from `<prefix>_BALANCING`, `_READ_YOUR_WRITES`,
    /// `_STICKY_WINDOW`, `_CAUSAL_WAIT`, `_MAX_REPLICA_LAG` and
    /// `_REPLICA_CHECK_INTERVAL`; `invalid(variable, value, expected)` makes
    /// the error for a value that does not parse.
    pub(crate) fn from_env(
        read: &impl Fn(&str) -> Option<(String, String)>,
        seconds: &impl Fn(&str, &str) -> crate::Result<Duration>,
        invalid: &impl Fn(&str, &str, &str) -> crate::Error,
    ) -> crate::Result<ReplicationOptions> {
        let mut options = ReplicationOptions::new();
        if let Some((var, v)) = read("_BALANCING") {
            options.balancing = Balancing::parse(&v)
                .ok_or_else(|| invalid(&var, &v, "weighted, round_robin or least_connections"))?;
        }
        let window = match read("_STICKY_WINDOW") {
            Some((var, v)) => seconds(&var, &v)?,
            None => Duration::from_secs(2),
        };
        let wait = match read("_CAUSAL_WAIT") {
            Some((var, v)) => seconds(&var, &v)?,
            None => Duration::from_secs(1),
        };
        options.read_your_writes = match read("_READ_YOUR_WRITES") {
            None => ReadYourWrites::StickyWindow(window),
            Some((var, v)) => match v.trim().to_ascii_lowercase().as_str() {
                "sticky" | "sticky_window" => ReadYourWrites::StickyWindow(window),
                "causal" | "causal_token" => ReadYourWrites::CausalToken { wait },
                "off" | "none" => ReadYourWrites::Off,
                _ => return Err(invalid(&var, &v, "sticky, causal or off")),
            },
        };
        if let Some((var, v)) = read("_MAX_REPLICA_LAG") {
            options.max_lag = match v.trim() {
                "off" | "none" => None,
                _ => Some(seconds(&var, &v)?),
            };
        }
        if let Some((var, v)) = read("_REPLICA_CHECK_INTERVAL") {
            options = options.check_interval(seconds(&var, &v)?);
        }
        Ok(options)
    }
}

/// The state of a replica's circuit breaker (the three states of the
/// circuit-breaker pattern as the `failsafe` crate implements it: closed,
/// open for a pause, then half-open on trial).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakerState {
    /// Taking reads.
    Closed,
    /// Out of rotation after connection failures, until its pause ends.
    Open,
    /// On trial: taking reads (and health checks) again; the next failure
    /// opens it again, the next success closes it.
    HalfOpen,
}

const CLOSED: u8 = 0;
const OPEN: u8 = 1;
const HALF_OPEN: u8 = 2;

/// Keeps the breaker's state where metrics and routing can read it
/// without locking (failsafe reports transitions, it does not expose them).
#[derive(Clone, Debug, Default)]
struct StateCell(Arc<AtomicU8>);

impl failsafe::Instrument for StateCell {
    fn on_call_rejected(&self) {}
    fn on_open(&self) {
        self.0.store(OPEN, Ordering::Relaxed);
    }
    fn on_half_open(&self) {
        self.0.store(HALF_OPEN, Ordering::Relaxed);
    }
    fn on_closed(&self) {
        self.0.store(CLOSED, Ordering::Relaxed);
    }
}

type Breaker = failsafe::StateMachine<ConsecutiveFailures<OpenPauses>, StateCell>;

/// How long an open breaker stays open, trial after trial: backon's
/// exponential backoff from `open_for` doubling to `max_open_for`, with
/// jitter (failsafe's own backoff takes whole seconds only). A clone starts
/// over: failsafe clones a fresh one after a success.
#[derive(Debug)]
struct OpenPauses {
    builder: backon::ExponentialBuilder,
    pauses: backon::ExponentialBackoff,
}

impl OpenPauses {
    fn new(open_for: Duration, max_open_for: Duration) -> OpenPauses {
        let builder = backon::ExponentialBuilder::new()
            .with_min_delay(open_for)
            .with_max_delay(max_open_for.max(open_for))
            .without_max_times()
            .with_jitter();
        OpenPauses {
            builder,
            pauses: builder.build(),
        }
    }
}

impl Clone for OpenPauses {
    fn clone(&self) -> Self {
        OpenPauses {
            builder: self.builder,
            pauses: self.builder.build(),
        }
    }
}

impl Iterator for OpenPauses {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        self.pauses.next()
    }
}

/// The longest a health check of one replica may take before it counts as
/// a failure.
const CHECK_LIMIT: Duration = Duration::from_secs(5);

/// A lag not measured yet, or not measurable.
const UNKNOWN_LAG: u64 = u64::MAX;

/// One replica: its pool, weight, breaker, and what the health check
/// measured.
pub(crate) struct Replica {
    pub(crate) pool: Pool,
    weight: u32,
    url: String,
    breaker: Breaker,
    state: StateCell,
    /// Microseconds behind the primary, or [`UNKNOWN_LAG`].
    lag_micros: AtomicU64,
    /// How far it had replayed at the last look (health check or causal
    /// wait): a read needing no more is sent without asking again.
    position: Mutex<Option<Position>>,
    reads: AtomicU64,
    failovers: AtomicU64,
    /// The breaker opens only after several failures in a row: each
    /// success must reset its count.
    counts_failures: bool,
}

impl Replica {
    fn state(&self) -> BreakerState {
        match self.state.0.load(Ordering::Relaxed) {
            OPEN => BreakerState::Open,
            HALF_OPEN => BreakerState::HalfOpen,
            _ => BreakerState::Closed,
        }
    }

    /// Whether the breaker lets a read through now (an open breaker whose
    /// pause has ended turns half-open here).
    fn permitted(&self) -> bool {
        match self.state.0.load(Ordering::Relaxed) {
            CLOSED => true,
            _ => self.breaker.is_call_permitted(),
        }
    }

    /// A statement on this replica succeeded.
    pub(crate) fn succeeded(&self) {
        // A closed breaker that opens on the first failure has no count to
        // reset: the lock is skipped on that (default) hot path.
        if self.counts_failures || self.state.0.load(Ordering::Relaxed) != CLOSED {
            self.breaker.on_success();
        }
    }

    /// A statement on this replica met a connection failure.
    pub(crate) fn failed(&self) {
        self.breaker.on_error();
        self.failovers.fetch_add(1, Ordering::Relaxed);
    }

    /// Its URL, password removed.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    fn lag(&self) -> Option<Duration> {
        match self.lag_micros.load(Ordering::Relaxed) {
            UNKNOWN_LAG => None,
            us => Some(Duration::from_micros(us)),
        }
    }

    /// Whether the replica is known to have replayed `target`.
    pub(crate) fn has_replayed(&self, target: &Position) -> bool {
        self.position
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|p| p.covers(target))
    }

    /// Records that the replica has replayed at least `position`.
    pub(crate) fn replayed(&self, position: Position) {
        let mut slot = self.position.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(match slot.take() {
            Some(old) => old.max(position),
            None => position,
        });
    }

    pub(crate) fn count_read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }
}

/// The replicas of one named connection and how reads are spread over them.
pub(crate) struct ReplicaSet {
    pub(crate) replicas: Vec<Replica>,
    pub(crate) options: ReplicationOptions,
    next: AtomicUsize,
    /// Reads sent to the primary because no replica could take them.
    fallbacks: AtomicU64,
    /// Reads with a causal token sent to the primary because no replica
    /// reached the token's position in time.
    causal_fallbacks: AtomicU64,
}

impl ReplicaSet {
    pub(crate) fn new(
        replicas: Vec<(Pool, u32, String)>,
        options: ReplicationOptions,
    ) -> ReplicaSet {
        let replicas = replicas
            .into_iter()
            .map(|(pool, weight, url)| {
                let state = StateCell::default();
                let policy = failsafe::failure_policy::consecutive_failures(
                    options.failures_to_open,
                    OpenPauses::new(options.open_for, options.max_open_for),
                );
                let breaker = failsafe::StateMachine::new(policy, state.clone());
                Replica {
                    pool,
                    weight: weight.max(1),
                    url,
                    breaker,
                    state,
                    lag_micros: AtomicU64::new(UNKNOWN_LAG),
                    position: Mutex::new(None),
                    reads: AtomicU64::new(0),
                    failovers: AtomicU64::new(0),
                    counts_failures: options.failures_to_open > 1,
                }
            })
            .collect();
        ReplicaSet {
            replicas,
            options,
            next: AtomicUsize::new(0),
            fallbacks: AtomicU64::new(0),
            causal_fallbacks: AtomicU64::new(0),
        }
    }

    /// Whether replica `i` may take a read now: its breaker lets it, and it
    /// is not measured further behind than the limit.
    fn usable(&self, i: usize) -> bool {
        let r = &self.replicas[i];
        let lagging = match (self.options.max_lag, r.lag()) {
            (Some(max), Some(lag)) => lag > max,
            _ => false,
        };
        !lagging && r.permitted()
    }

    /// The replica for the next read, skipping those in `tried` (a bit per
    /// replica): by the balancing policy among the usable ones; `None` when
    /// none is usable (the read goes to the primary).
    pub(crate) fn choose(&self, tried: u64) -> Option<usize> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.replicas.len();
        // Every usable replica not tried yet, starting from the n-th.
        let in_turn = (0..count)
            .map(|k| (n + k) % count)
            .filter(|i| (*i >= 64 || tried & (1 << i) == 0) && self.usable(*i));
        let chosen = match self.options.balancing {
            Balancing::RoundRobin => {
                let mut in_turn = in_turn;
                in_turn.next()
            }
            Balancing::LeastConnections => in_turn.min_by_key(|i| self.replicas[*i].pool.in_use()),
            Balancing::Weighted => {
                // The n-th read's slot among the usable replicas' weights,
                // in configuration order (no allocation on this path).
                let weight = |i: &usize| u64::from(self.replicas[*i].weight);
                let usable = || {
                    (0..count).filter(|i| (*i >= 64 || tried & (1 << i) == 0) && self.usable(*i))
                };
                let total: u64 = usable().map(|i| weight(&i)).sum();
                let mut slot = (n as u64).checked_rem(total).unwrap_or(0);
                usable().find(|i| match slot.checked_sub(weight(i)) {
                    Some(rest) => {
                        slot = rest;
                        false
                    }
                    None => true,
                })
            }
        };
        if chosen.is_none() {
            self.fallbacks.fetch_add(1, Ordering::Relaxed);
        }
        chosen
    }

    pub(crate) fn count_causal_fallback(&self) {
        self.causal_fallbacks.fetch_add(1, Ordering::Relaxed);
    }

    /// Metrics of every replica, in configuration order.
    pub(crate) fn metrics(&self) -> ReplicationMetrics {
        ReplicationMetrics {
            replicas: self
                .replicas
                .iter()
                .map(|r| ReplicaMetrics {
                    url: r.url.clone(),
                    weight: r.weight,
                    state: r.state(),
                    lag: r.lag(),
                    reads: r.reads.load(Ordering::Relaxed),
                    failovers: r.failovers.load(Ordering::Relaxed),
                    pool: r.pool.metrics(),
                })
                .collect(),
            primary_fallbacks: self.fallbacks.load(Ordering::Relaxed),
            causal_fallbacks: self.causal_fallbacks.load(Ordering::Relaxed),
        }
    }

    /// Starts the health check: every `check_interval`, each replica's lag
    /// and replay position are read; a replica whose breaker is open is
    /// probed once its pause ends, and closes again when the probe works.
    /// The task ends when the set is dropped.
    pub(crate) fn start_checks(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(check(Arc::downgrade(self)));
    }
}

async fn check(set: Weak<ReplicaSet>) {
    let Some(every) = set.upgrade().map(|s| s.options.check_interval) else {
        return;
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(set) = set.upgrade() else { return };
        // Generous: a check slowed by a loaded machine must not take a
        // working replica out; a dead one fails fast (refused, reset), and a
        // stalled one is cut off here.
        let limit = every.max(CHECK_LIMIT);
        for replica in &set.replicas {
            if !replica.permitted() {
                continue;
            }
            let status = async {
                let mut conn = replica.pool.acquire().await?;
                replication::replica_status(&mut conn, limit).await
            };
            match tokio::time::timeout(limit, status).await {
                Ok(Ok(status)) => {
                    replica.succeeded();
                    let lag = status.lag.map_or(UNKNOWN_LAG, |l| {
                        u64::try_from(l.as_micros()).unwrap_or(UNKNOWN_LAG - 1)
                    });
                    replica.lag_micros.store(lag, Ordering::Relaxed);
                    if let Some(p) = status.position {
                        replica.replayed(p);
                    }
                }
                Ok(Err(e)) if !e.is_connection_error() => {
                    // It answers, but not as a replica (replication not set
                    // up or stopped): its lag is unknown.
                    replica.lag_micros.store(UNKNOWN_LAG, Ordering::Relaxed);
                    tracing::debug!(target: "orm::replicas", replica = %replica.url, "health check: {e}");
                }
                // Lost, refused, or no answer in time.
                _ => {
                    replica.lag_micros.store(UNKNOWN_LAG, Ordering::Relaxed);
                    replica.failed();
                }
            }
        }
    }
}

/// What the replicas of one connection did, from
/// [`Database::replication_metrics`](crate::Database::replication_metrics).
/// Counters are cumulative since [`build`](crate::DatabaseBuilder::build).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReplicationMetrics {
    /// Each replica, in configuration order.
    pub replicas: Vec<ReplicaMetrics>,
    /// Reads sent to the primary because no replica could take them (every
    /// breaker open, or every replica over the lag limit): non-zero means
    /// the replicas are not carrying the reads, and the primary is.
    pub primary_fallbacks: u64,
    /// Reads with a causal token sent to the primary because the chosen
    /// replica had not replayed the token's position within the wait.
    pub causal_fallbacks: u64,
}

/// One replica's state and counters.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReplicaMetrics {
    /// Its URL, password removed.
    pub url: String,
    /// Its weight in [`Balancing::Weighted`].
    pub weight: u32,
    /// Its circuit breaker.
    pub state: BreakerState,
    /// How far behind the primary the last health check measured it
    /// (`None`: not measured yet, or it did not answer as a replica).
    pub lag: Option<Duration>,
    /// Statements of reads that ran on it and succeeded (streamed queries
    /// are not counted).
    pub reads: u64,
    /// Connection failures met on it: reads sent elsewhere, failed health
    /// checks, and a failed first connection at start-up.
    pub failovers: u64,
    /// Its pool: queries, errors, connections in use.
    pub pool: PoolMetrics,
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::connection::connect::ConnectOptions;
    use crate::connection::pool::PoolOptions;

    fn set(weights: &[u32], balancing: Balancing) -> ReplicaSet {
        let pools = weights
            .iter()
            .map(|w| {
                let connect = ConnectOptions::parse("db", "sqlite::memory:", true).unwrap();
                (
                    Pool::new("db", connect, PoolOptions::new()),
                    *w,
                    "sqlite::memory:".into(),
                )
            })
            .collect();
        ReplicaSet::new(pools, ReplicationOptions::new().balancing(balancing))
    }

    fn spread(set: &ReplicaSet, reads: usize, tried: u64) -> Vec<usize> {
        let mut counts = vec![0; set.replicas.len() + 1];
        for _ in 0..reads {
            counts[set.choose(tried).unwrap_or(set.replicas.len())] += 1;
        }
        counts
    }

    #[test]
    fn weighted_and_round_robin_spread_reads() {
        assert_eq!(
            spread(&set(&[3, 1], Balancing::Weighted), 10_000, 0),
            [7_500, 2_500, 0]
        );
        assert_eq!(
            spread(&set(&[3, 1], Balancing::RoundRobin), 10_000, 0),
            [5_000, 5_000, 0]
        );
        assert_eq!(
            spread(&set(&[1, 1, 1], Balancing::LeastConnections), 9_000, 0),
            [3_000, 3_000, 3_000, 0]
        );
        // A replica already tried is skipped; with none left, the primary.
        assert_eq!(
            spread(&set(&[3, 1], Balancing::Weighted), 100, 0b01),
            [0, 100, 0]
        );
        let s = set(&[1, 1], Balancing::RoundRobin);
        assert_eq!(spread(&s, 10, 0b11), [0, 0, 10]);
        assert_eq!(s.metrics().primary_fallbacks, 10);
    }

    #[test]
    fn an_open_breaker_takes_a_replica_out_until_its_pause_ends() {
        let s = set(&[1, 1], Balancing::RoundRobin);
        s.replicas[0].failed();
        assert_eq!(s.replicas[0].state(), BreakerState::Open);
        assert_eq!(spread(&s, 10, 0), [0, 10, 0]);
        let m = s.metrics();
        assert_eq!(
            (m.replicas[0].state, m.replicas[0].failovers),
            (BreakerState::Open, 1)
        );
        // The lag limit takes a replica out too.
        let mut lagging = set(&[1, 1], Balancing::RoundRobin);
        lagging.options = lagging.options.max_lag(Some(Duration::from_secs(1)));
        lagging.replicas[1]
            .lag_micros
            .store(2_000_000, Ordering::Relaxed);
        assert_eq!(spread(&lagging, 10, 0), [10, 0, 0]);
    }

    #[test]
    fn a_success_resets_the_count_of_failures_in_a_row() {
        let mut s = set(&[1], Balancing::RoundRobin);
        s.options = s
            .options
            .circuit_breaker(2, Duration::from_secs(60), Duration::from_secs(60));
        let s = ReplicaSet::new(
            s.replicas
                .into_iter()
                .map(|r| (r.pool, r.weight, r.url))
                .collect(),
            s.options,
        );
        let r = &s.replicas[0];
        r.failed();
        r.succeeded();
        r.failed();
        assert_eq!(
            r.state(),
            BreakerState::Closed,
            "two failures, not in a row"
        );
        r.failed();
        assert_eq!(r.state(), BreakerState::Open);
    }

    #[test]
    fn options_from_the_environment() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |suffix: &str| {
                let var = format!("DATABASE{suffix}");
                pairs
                    .iter()
                    .find(|(k, _)| *k == var)
                    .map(|(_, v)| (var, v.to_string()))
            }
        };
        let seconds = |_: &str, v: &str| -> crate::Result<Duration> {
            v.parse::<f64>()
                .map(Duration::from_secs_f64)
                .map_err(|_| crate::Error::InvalidCursor { reason: v.into() })
        };
        let invalid = |var: &str, value: &str, expected: &str| crate::Error::InvalidConfig {
            connection: "db".into(),
            variable: var.into(),
            value: value.into(),
            expected: expected.into(),
        };
        let o = ReplicationOptions::from_env(&vars(&[]), &seconds, &invalid).unwrap();
        assert_eq!(o, ReplicationOptions::new());
        let o = ReplicationOptions::from_env(
            &vars(&[
                ("DATABASE_BALANCING", "least-connections"),
                ("DATABASE_READ_YOUR_WRITES", "causal"),
                ("DATABASE_CAUSAL_WAIT", "0.25"),
                ("DATABASE_MAX_REPLICA_LAG", "5"),
            ]),
            &seconds,
            &invalid,
        )
        .unwrap();
        assert_eq!(o.balancing_policy(), Balancing::LeastConnections);
        assert_eq!(
            o.read_your_writes_mode(),
            ReadYourWrites::CausalToken {
                wait: Duration::from_millis(250)
            }
        );
        assert_eq!(o.max_lag, Some(Duration::from_secs(5)));
        for (var, value) in [
            ("DATABASE_BALANCING", "fastest"),
            ("DATABASE_READ_YOUR_WRITES", "always"),
        ] {
            let pairs: &'static [(&'static str, &'static str)] = match var {
                "DATABASE_BALANCING" => &[("DATABASE_BALANCING", "fastest")],
                _ => &[("DATABASE_READ_YOUR_WRITES", "always")],
            };
            let err = ReplicationOptions::from_env(&vars(pairs), &seconds, &invalid).unwrap_err();
            assert!(
                matches!(&err, crate::Error::InvalidConfig { variable, value: v, .. } if variable == var && v == value),
                "{err:?}"
            );
        }
    }
}
