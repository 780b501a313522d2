//! Retry policy: exponential backoff with jitter for idempotent requests.

use std::time::Duration;

/// When and how long to wait before sending a failed request again.
///
/// Only requests the spec marks `idempotent` are retried, and only after
/// failures where trying again can help ([`crate::Error::is_retryable`]:
/// connect errors, timeouts, `429` and `5xx`, whether as the HTTP status or
/// reported inside a `200` body). A `Retry-After` header from the server, in
/// seconds or as an HTTP date, is honoured, within [`RetryPolicy::max_delay`].
///
/// ```
/// use std::time::Duration;
/// use pubnub_presence_runtime::RetryPolicy;
///
/// let policy = RetryPolicy::exponential(3)
///     .initial_delay(Duration::from_millis(100))
///     .max_delay(Duration::from_secs(2))
///     .jitter(false);
/// assert_eq!(policy.delay(1, None, 0), Duration::from_millis(100));
/// assert_eq!(policy.delay(3, None, 0), Duration::from_millis(400));
/// assert_eq!(policy.delay(30, None, 0), Duration::from_secs(2)); // capped, never overflows
/// assert_eq!(policy.delay(1, Some(Duration::from_secs(1)), 0), Duration::from_secs(1));
/// assert_eq!(RetryPolicy::none().max_retries(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_delay: Duration,
    max_delay: Duration,
    jitter: bool,
}

impl RetryPolicy {
    /// Default first delay.
    pub const DEFAULT_INITIAL_DELAY: Duration = Duration::from_millis(200);
    /// Default cap on any one delay (including `Retry-After`).
    pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(5);

    /// Never retry.
    pub const fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            initial_delay: Self::DEFAULT_INITIAL_DELAY,
            max_delay: Self::DEFAULT_MAX_DELAY,
            jitter: true,
        }
    }

    /// Up to `max_retries` retries, waiting 200 ms, 400 ms, 800 ms… (at most
    /// 5 s), each with jitter.
    pub const fn exponential(max_retries: u32) -> Self {
        RetryPolicy { max_retries, ..Self::none() }
    }

    /// Sets the delay before the first retry.
    pub const fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Caps every delay, `Retry-After` included.
    pub const fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// With jitter (the default) each delay is drawn from its upper half, so
    /// many clients failing together do not retry in lockstep.
    pub const fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// Retries after the first attempt (so at most `max_retries + 1` attempts).
    pub const fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// Delay before retry number `retry` (1 for the first retry). `random`
    /// is any random number, used for jitter.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, random: u64) -> Duration {
        if let Some(server_says) = retry_after {
            return server_says.min(self.max_delay);
        }
        let doublings = retry.saturating_sub(1).min(31);
        let base = self.initial_delay.checked_mul(1u32 << doublings).unwrap_or(self.max_delay).min(self.max_delay);
        if !self.jitter || base.is_zero() {
            return base;
        }
        let half = base / 2;
        let spread = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX).max(1);
        half + Duration::from_nanos(random % spread)
    }
}

impl Default for RetryPolicy {
    /// Two retries with exponential backoff and jitter.
    fn default() -> Self {
        Self::exponential(2)
    }
}

/// A random number for jitter, from std's per-process random hash keys.
pub(crate) fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(u64::from(std::process::id()));
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_cap_and_never_overflow() {
        let policy = RetryPolicy::exponential(u32::MAX).jitter(false);
        let delays: Vec<u128> = [1, 2, 3, 4, 5, 6].iter().map(|&n| policy.delay(n, None, 0).as_millis()).collect();
        assert_eq!(delays, [200, 400, 800, 1600, 3200, 5000]);
        for retry in [0, 31, 32, 64, 1000, u32::MAX] {
            assert_eq!(policy.delay(retry, None, 0).max(Duration::from_millis(200)), policy.delay(retry, None, 0));
            assert!(policy.delay(retry, None, u64::MAX) <= RetryPolicy::DEFAULT_MAX_DELAY);
        }
        let huge = RetryPolicy::exponential(1).initial_delay(Duration::MAX).max_delay(Duration::MAX).jitter(false);
        assert_eq!(huge.delay(40, None, 0), Duration::MAX);
    }

    #[test]
    fn jitter_stays_in_the_upper_half() {
        let policy = RetryPolicy::exponential(2);
        for random in [0, 1, 12345, u64::MAX] {
            let delay = policy.delay(2, None, random);
            assert!(delay >= Duration::from_millis(200) && delay < Duration::from_millis(400), "{delay:?}");
        }
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(1, Some(Duration::from_secs(3)), 7), Duration::from_secs(3));
        assert_eq!(policy.delay(1, Some(Duration::from_secs(3600)), 7), RetryPolicy::DEFAULT_MAX_DELAY);
    }
}
