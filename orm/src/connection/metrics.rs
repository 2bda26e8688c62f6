//! Histograms and per-kind counts behind [`PoolMetrics`](crate::PoolMetrics):
//! the durations of statements per operation, the time callers wait for a
//! connection, and failed statements by error kind.
//!
//! A histogram is a fixed set of buckets counted with relaxed atomics: one
//! bucket increment and one sum increment per value, no lock, no
//! allocation, so recording costs the same with or without an exporter.
//! The bucket boundaries are the advisory ones OpenTelemetry's database
//! semantic conventions give for `db.client.operation.duration`, so the
//! snapshots map one to one onto an OpenTelemetry explicit-bucket histogram
//! (or, summed up, onto a Prometheus histogram's cumulative `le` buckets).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The upper bounds of the buckets (inclusive): OpenTelemetry's advisory
/// `ExplicitBucketBoundaries` for `db.client.operation.duration`, 0.001,
/// 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5 and 10 seconds (semantic conventions
/// for database client metrics). A tenth bucket holds what is longer.
pub const DURATION_BOUNDARIES: &[Duration] = &[
    Duration::from_millis(1),
    Duration::from_millis(5),
    Duration::from_millis(10),
    Duration::from_millis(50),
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(10),
];

const BUCKETS: usize = 10;

/// [`DURATION_BOUNDARIES`] in nanoseconds, compared with each value.
const BOUND_NANOS: [u64; BUCKETS - 1] = [
    1_000_000,
    5_000_000,
    10_000_000,
    50_000_000,
    100_000_000,
    500_000_000,
    1_000_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// A histogram of durations over [`DURATION_BOUNDARIES`].
#[derive(Default)]
pub(crate) struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// Counts one value.
    pub(crate) fn record(&self, value: Duration) {
        let nanos = u64::try_from(value.as_nanos()).unwrap_or(u64::MAX);
        let i = BOUND_NANOS
            .iter()
            .position(|bound| nanos <= *bound)
            .unwrap_or(BUCKETS - 1);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        HistogramSnapshot {
            boundaries: DURATION_BOUNDARIES,
            count: counts.iter().sum(),
            counts,
            sum: Duration::from_nanos(self.sum_nanos.load(Ordering::Relaxed)),
        }
    }
}

/// A histogram of durations as read at one moment: what an exporter turns
/// into an OpenTelemetry explicit-bucket histogram data point (unit `s`).
///
/// The buckets are read one by one without a lock, so a value recorded
/// while the snapshot is taken may show in `count` and not yet in `sum`
/// (or the other way round); each bucket is exact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistogramSnapshot {
    /// The upper bound of each bucket but the last, inclusive (a value
    /// equal to a bound counts in that bound's bucket):
    /// [`DURATION_BOUNDARIES`].
    pub boundaries: &'static [Duration],
    /// Values per bucket, not cumulative: `counts[i]` holds the values in
    /// `(boundaries[i - 1], boundaries[i]]`, and the last entry (one more
    /// than `boundaries`) those above the last bound.
    pub counts: Vec<u64>,
    /// Values recorded in all (the sum of `counts`).
    pub count: u64,
    /// The sum of the values recorded.
    pub sum: Duration,
}

/// The operation names statements are counted under: the verbs of
/// [`Operation`](crate::Operation) (`RAW` for raw SQL, `MIGRATE` for
/// migrations), and `OTHER` for any other verb.
const OPERATIONS: [&str; 7] = [
    "SELECT", "INSERT", "UPDATE", "DELETE", "RAW", "MIGRATE", "OTHER",
];

/// One statement duration histogram per operation name.
#[derive(Default)]
pub(crate) struct OperationDurations([Histogram; OPERATIONS.len()]);

impl OperationDurations {
    /// Counts a statement of operation `name` that took `duration`.
    pub(crate) fn record(&self, name: &str, duration: Duration) {
        let i = OPERATIONS
            .iter()
            .position(|o| *o == name)
            .unwrap_or(OPERATIONS.len() - 1);
        self.0[i].record(duration);
    }

    /// The operations that ran at least once.
    pub(crate) fn snapshot(&self) -> Vec<OperationMetrics> {
        OPERATIONS
            .iter()
            .zip(&self.0)
            .map(|(name, h)| OperationMetrics {
                operation: name,
                duration: h.snapshot(),
            })
            .filter(|o| o.duration.count > 0)
            .collect()
    }
}

/// The statements of one operation on one pool, in
/// [`PoolMetrics::operations`](crate::PoolMetrics::operations).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationMetrics {
    /// The operation's name, OpenTelemetry's `db.operation.name`: `SELECT`,
    /// `INSERT`, `UPDATE`, `DELETE`, `RAW` (raw SQL), `MIGRATE`
    /// (migrations), `OTHER`.
    pub operation: &'static str,
    /// How long its statements took, from sending to the last row read
    /// (waiting for a pooled connection not included: that is
    /// [`PoolMetrics::acquire_times`](crate::PoolMetrics::acquire_times)),
    /// failed ones included (one refused before it was sent, by a
    /// transaction that can no longer commit say, counts as zero):
    /// OpenTelemetry's `db.client.operation.duration`
    /// (histogram, unit `s`) with attributes `db.operation.name` and the
    /// connection.
    pub duration: HistogramSnapshot,
}

/// Failed statements counted by [`Error::kind`](crate::Error::kind).
/// Behind a lock: only failures take it.
#[derive(Default)]
pub(crate) struct ErrorKinds(Mutex<Vec<(&'static str, u64)>>);

impl ErrorKinds {
    pub(crate) fn count(&self, kind: &'static str) {
        let mut kinds = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => kinds.push((kind, 1)),
        }
    }

    /// The counts, sorted by kind.
    pub(crate) fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let mut kinds = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        kinds.sort_unstable();
        kinds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_counts_in_the_bucket_of_the_first_bound_it_does_not_exceed() {
        let h = Histogram::default();
        for ms in [0, 1, 2, 5, 700, 20_000] {
            h.record(Duration::from_millis(ms));
        }
        let s = h.snapshot();
        assert_eq!(s.counts, vec![2, 2, 0, 0, 0, 0, 1, 0, 0, 1]);
        assert_eq!(s.count, 6);
        assert_eq!(s.sum, Duration::from_millis(20_708));
        assert_eq!(s.boundaries.len() + 1, s.counts.len());
    }

    #[test]
    fn operations_are_counted_under_their_verb_and_unknown_verbs_under_other() {
        let ops = OperationDurations::default();
        ops.record("SELECT", Duration::from_micros(20));
        ops.record("SELECT", Duration::from_micros(30));
        ops.record("VACUUM", Duration::from_micros(30));
        let s = ops.snapshot();
        let names: Vec<_> = s.iter().map(|o| (o.operation, o.duration.count)).collect();
        assert_eq!(names, vec![("SELECT", 2), ("OTHER", 1)]);
    }
}
