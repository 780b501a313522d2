//! Injectable time source.
//!
//! Presence expiry and signature timestamp checks read the time through the [`Clock`] trait,
//! so tests and demos can swap the wall clock for a [`ManualClock`] and expire users by
//! calling [`ManualClock::advance`] instead of sleeping.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

/// A boxed future that resolves once a clock reaches a deadline.
pub type Wait = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of the current time, as milliseconds since the Unix epoch.
///
/// Implementations must be cheap to call: the server reads the clock on every request.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;

    /// Whole seconds since the Unix epoch (what request signatures carry in `timestamp`).
    fn now_secs(&self) -> u64 {
        self.now_millis() / 1000
    }

    /// Resolves when [`Clock::now_millis`] may have reached `deadline_millis`:
    /// presence timeouts, interval events and the long-poll bound all wait
    /// through it, so a [`ManualClock`] drives them by [`ManualClock::advance`]
    /// alone. It may resolve early; callers check the clock again.
    ///
    /// The default wakes after a real sleep of at most 50 ms; the clocks of
    /// this crate wake exactly when their time reaches the deadline.
    fn wait_until(&self, deadline_millis: u64) -> Wait {
        let now = self.now_millis();
        let gap = deadline_millis.saturating_sub(now).min(50);
        // A plain clock cannot be borrowed into a 'static future, so this
        // wakes after the gap and lets the caller check the clock again.
        Box::pin(tokio::time::sleep(Duration::from_millis(gap)))
    }
}

/// The real wall clock ([`SystemTime::now`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        system_millis()
    }

    fn wait_until(&self, deadline_millis: u64) -> Wait {
        let gap = deadline_millis.saturating_sub(system_millis());
        Box::pin(tokio::time::sleep(Duration::from_millis(gap)))
    }
}

fn system_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(millis).unwrap_or(0)
}

/// A duration in whole milliseconds (saturating at `u64::MAX`).
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A clock that only moves when told to.
///
/// Cloning shares the same underlying time (it is an `Arc` inside), so a test keeps one
/// handle and gives a clone to [`ServerConfig::with_clock`](crate::ServerConfig::with_clock):
///
/// ```
/// use std::time::Duration;
/// use presence_server::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_700_000_000_000);
/// let shared = clock.clone();
/// clock.advance(Duration::from_secs(301));
/// assert_eq!(shared.now_secs(), 1_700_000_301);
/// ```
#[derive(Clone)]
pub struct ManualClock {
    millis: Arc<AtomicU64>,
    /// Wakes every [`Clock::wait_until`] future when the time moves.
    moved: Arc<Notify>,
}

impl ManualClock {
    /// A clock frozen at `epoch_millis` milliseconds since the Unix epoch.
    pub fn new(epoch_millis: u64) -> Self {
        Self { millis: Arc::new(AtomicU64::new(epoch_millis)), moved: Arc::new(Notify::new()) }
    }

    /// A clock frozen at the current wall-clock time (useful when real SDK clients sign
    /// requests with their own wall-clock `timestamp`).
    pub fn starting_now() -> Self {
        Self::new(system_millis())
    }

    /// Moves the clock forward by `by` (saturating).
    pub fn advance(&self, by: Duration) {
        let add = millis(by);
        let mut cur = self.millis.load(Ordering::SeqCst);
        loop {
            let next = cur.saturating_add(add);
            match self.millis.compare_exchange(cur, next, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        self.moved.notify_waiters();
    }

    /// Sets the clock to `epoch_millis` milliseconds since the Unix epoch (may go backwards).
    pub fn set_millis(&self, epoch_millis: u64) {
        self.millis.store(epoch_millis, Ordering::SeqCst);
        self.moved.notify_waiters();
    }
}

impl Default for ManualClock {
    /// Same as [`ManualClock::starting_now`].
    fn default() -> Self {
        Self::starting_now()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock").field("now_millis", &self.now_millis()).finish()
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.millis.load(Ordering::SeqCst)
    }

    fn wait_until(&self, deadline_millis: u64) -> Wait {
        let clock = self.clone();
        Box::pin(async move {
            loop {
                // Registered before the check, so a move in between is not missed.
                let moved = clock.moved.notified();
                tokio::pin!(moved);
                moved.as_mut().enable();
                if clock.now_millis() >= deadline_millis {
                    return;
                }
                moved.await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_is_shared_between_clones() {
        let a = ManualClock::new(5_000);
        let b = a.clone();
        a.advance(Duration::from_millis(1_500));
        assert_eq!(b.now_millis(), 6_500);
        assert_eq!(b.now_secs(), 6);
        b.set_millis(10);
        assert_eq!(a.now_millis(), 10);
    }

    #[tokio::test]
    async fn manual_waits_end_when_the_clock_is_moved_past_them() {
        let clock = ManualClock::new(1_000);
        let early = tokio::spawn(clock.wait_until(1_500));
        let late = tokio::spawn(clock.wait_until(5_000));
        tokio::task::yield_now().await;
        clock.advance(Duration::from_millis(600));
        early.await.unwrap();
        assert!(!late.is_finished());
        clock.set_millis(5_000);
        late.await.unwrap();
        // A deadline already passed resolves at once.
        clock.wait_until(10).await;
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_secs() > 1_577_836_800);
    }
}
