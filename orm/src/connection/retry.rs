//! How often, and after how long a pause, an operation that failed with a
//! transient error ([`Error::is_transient`](crate::Error::is_transient)) is
//! run again.

use std::time::Duration;

use backon::BackoffBuilder as _;

/// A retry policy: at most `max_attempts` runs, the pauses between them
/// growing exponentially from `initial_backoff` to at most `max_backoff`,
/// each with a random jitter added (up to the pause itself), so that
/// clients that failed together do not retry together.
///
/// Used per connection for single statements outside transactions
/// ([`PoolOptions::retry`](crate::PoolOptions::retry): reads always, writes
/// only when marked idempotent) and for whole transactions run by
/// [`Database::transaction_with`](crate::Database::transaction_with).
///
/// ```
/// use std::time::Duration;
/// let policy = orm::RetryPolicy::new()
///     .max_attempts(5)
///     .initial_backoff(Duration::from_millis(20))
///     .max_backoff(Duration::from_secs(2));
/// assert_eq!(policy.attempts(), 5);
/// assert_eq!(orm::RetryPolicy::none().attempts(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, pauses from 10 ms doubling up to 1 s (plus jitter).
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// The default policy: 3 attempts, pauses from 10 ms doubling up to 1 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// Never retry: one attempt (the default of every connection).
    pub const fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
        }
    }

    /// Runs at most `n` times in all (at least 1).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// The pause before the second attempt; each later pause doubles.
    pub fn initial_backoff(mut self, pause: Duration) -> Self {
        self.initial_backoff = pause;
        self
    }

    /// The longest pause between two attempts, before jitter.
    pub fn max_backoff(mut self, pause: Duration) -> Self {
        self.max_backoff = pause;
        self
    }

    /// How many times, at most, the operation runs.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The pauses before the second, third, ... attempt.
    pub(crate) fn pauses(&self) -> impl Iterator<Item = Duration> {
        backon::ExponentialBuilder::new()
            .with_min_delay(self.initial_backoff)
            .with_max_delay(self.max_backoff.max(self.initial_backoff))
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .with_jitter()
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_to_the_maximum_with_jitter_and_stop() {
        let p = RetryPolicy::new()
            .max_attempts(6)
            .initial_backoff(Duration::from_millis(10))
            .max_backoff(Duration::from_millis(40));
        let pauses: Vec<Duration> = p.pauses().collect();
        assert_eq!(pauses.len(), 5, "five pauses between six attempts");
        let bases = [10, 20, 40, 40, 40];
        for (pause, base) in pauses.iter().zip(bases) {
            let base = Duration::from_millis(base);
            assert!(
                *pause >= base && *pause <= base * 2,
                "{pause:?} for {base:?}"
            );
        }
        assert_eq!(RetryPolicy::none().pauses().count(), 0);
    }
}
