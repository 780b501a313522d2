//! Interval mode: above `announce_max` occupants a channel sends one
//! `interval` event per period with the joins, leaves and timeouts since the
//! last one, instead of each of them (docs/PROTOCOL.md §9.7).

use std::sync::Arc;

use super::Keyspace;
use crate::events::{Action, Deltas, Subject};

/// A channel in interval mode: when its next interval event is due, and who
/// changed since the last one.
#[derive(Debug)]
pub(super) struct IntervalCycle {
    pub(super) due_ms: u64,
    pub(super) deltas: Deltas,
}

impl Keyspace {
    /// Sends the interval event that is due first (the clock reads `now`).
    pub(super) fn end_interval(&mut self, now: u64) {
        if let Some((at, channel)) = self.interval_dues.pop_first() {
            self.send_interval(&channel, at, now);
        }
    }

    /// A join, leave or timeout (noted in the occupancy history): its own
    /// event, or a delta of the channel's next interval event when the
    /// channel is (or just went) over `announce_max`.
    pub(super) fn announce(
        &mut self,
        channel: &Arc<str>,
        action: Action,
        uuid: &Arc<str>,
        data: Option<&str>,
        now: u64,
        by_subscribe: bool,
    ) {
        let occupancy = self.occupancy(channel);
        self.occupancy_history.record(channel, now, occupancy);
        let crowded = occupancy > self.settings.announce_max;
        if !crowded && !self.intervals.contains_key(channel) {
            self.stamp_event(channel, action, Subject::User { uuid, data }, now, by_subscribe);
            return;
        }
        let interval_ms = self.settings.interval_ms;
        let cycle = self.intervals.entry(Arc::clone(channel)).or_insert_with(|| {
            let due_ms = now.saturating_add(interval_ms);
            IntervalCycle { due_ms, deltas: Deltas::default() }
        });
        self.interval_dues.insert((cycle.due_ms, Arc::clone(channel)));
        let list = match action {
            Action::Join => &mut cycle.deltas.joined,
            Action::Leave => &mut cycle.deltas.left,
            _ => &mut cycle.deltas.timed_out,
        };
        list.push(Arc::clone(uuid));
    }

    /// The interval event of `channel` due at `due`; the cycle goes on while
    /// the channel stays over `announce_max`.
    fn send_interval(&mut self, channel: &Arc<str>, due: u64, now: u64) {
        let Some(cycle) = self.intervals.remove(channel) else { return };
        self.stamp_event(channel, Action::Interval, Subject::Interval(&cycle.deltas), due, false);
        if self.occupancy(channel) > self.settings.announce_max {
            // One event per period, each at its time; after a jump of the
            // clock by more than ten periods, the next one is now.
            let mut next = due.saturating_add(self.settings.interval_ms);
            if next.saturating_add(10 * self.settings.interval_ms) < now {
                next = now;
            }
            self.intervals.insert(Arc::clone(channel), IntervalCycle { due_ms: next, deltas: Deltas::default() });
            self.interval_dues.insert((next, Arc::clone(channel)));
        }
    }
}
