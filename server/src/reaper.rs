//! The reaper: fires presence timeouts and interval events when the clock
//! reaches them, so they happen with no request (a
//! [`ManualClock`](crate::ManualClock) moved by a test drives them too).

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

use crate::clock::Clock;
use crate::store::Store;

/// When the reaper next has work, and how to wake it sooner.
#[derive(Debug)]
pub(crate) struct Reaper {
    /// Wakes the reaper when a sooner deadline appears.
    wake: Notify,
    /// The deadline the reaper waits for (`u64::MAX` while it recomputes).
    deadline: AtomicU64,
}

impl Reaper {
    pub(crate) fn new() -> Self {
        Reaper { wake: Notify::new(), deadline: AtomicU64::new(u64::MAX) }
    }

    /// Tells the reaper about a deadline, if it is sooner than the one it waits for.
    pub(crate) fn schedule(&self, deadline: Option<u64>) {
        if deadline.is_some_and(|at| at < self.deadline.load(Ordering::SeqCst)) {
            self.wake.notify_one();
        }
    }

    /// Runs forever (the server aborts its task when it stops): waits for
    /// the store's next deadline on `clock`, or a sooner one scheduled, and
    /// fires what is due.
    pub(crate) async fn run(&self, store: &Store, clock: &dyn Clock) {
        loop {
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            // Writers seeing MAX while this recomputes always wake it.
            self.deadline.store(u64::MAX, Ordering::SeqCst);
            let next = store.next_deadline();
            self.deadline.store(next.unwrap_or(u64::MAX), Ordering::SeqCst);
            match next {
                Some(at) if at <= clock.now_millis() => {}
                Some(at) => {
                    tokio::select! {
                        () = clock.wait_until(at) => {}
                        () = &mut woken => {}
                    }
                }
                None => woken.await,
            }
            store.fire_due(clock.now_millis());
        }
    }
}
