//! Event history: each event is stamped (timetoken, region, occupancy) and
//! recorded in the keyspace's [`EventLog`](crate::events::EventLog), and old
//! history is forgotten once a minute.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Keyspace;
use crate::events::{Action, Event, Stamp, Subject};

/// How often (clock time) a keyspace forgets stale event history.
const PRUNE_EVERY_MS: u64 = 60_000;

impl Keyspace {
    pub(super) fn stamp_event(
        &mut self,
        channel: &Arc<str>,
        action: Action,
        subject: Subject<'_>,
        now: u64,
        by_subscribe: bool,
    ) {
        let stamp = Stamp {
            sub_key: &self.sub_key,
            channel,
            timetoken: self.settings.timetokens.next(now),
            region: self.settings.region,
            now_ms: now,
            occupancy: self.occupancy(channel),
            by_subscribe,
        };
        self.events.push(channel, Event::new(&stamp, action, subject), now);
        self.settings.event_counts[action.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// When event history is next pruned: once a minute while there is any,
    /// even in a keyspace nobody calls any more.
    pub(super) fn next_prune(&self) -> Option<u64> {
        (!self.events.is_empty()).then(|| self.last_prune_ms.saturating_add(PRUNE_EVERY_MS))
    }

    /// Forgets stale event and occupancy history, at most once a minute.
    pub(super) fn prune_history(&mut self, now: u64) {
        if now.saturating_sub(self.last_prune_ms) >= PRUNE_EVERY_MS {
            self.last_prune_ms = now;
            self.events.prune(now);
            self.occupancy_history.prune(now);
        }
    }
}
