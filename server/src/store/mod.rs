//! In-memory presence state: one isolated [`Keyspace`] per subscribe key,
//! all of them in the [`Store`].
//!
//! Every (channel, uuid) record carries an absolute expiry time, indexed in
//! expiry order. [`Keyspace::fire_due`] removes what has expired and emits
//! the `timeout` events (the server's reaper task calls it when the clock
//! reaches the next deadline, and every write calls it first), so reads and
//! events always agree with the injected clock.
//!
//! Changes of presence emit events into the keyspace's [`EventLog`]:
//! `join` when a uuid becomes present on a channel, `leave` and `timeout`
//! when it goes, `state-change` when a present uuid's state changes, and in
//! interval mode (more than `announce_max` occupants) one `interval` event
//! per period with the joins, leaves and timeouts since the last one.
//!
//! A keyspace's methods are grouped by concern:
//! - `members.rs`: member records, the uuid and expiry indexes, and the
//!   writes that make a uuid present or absent (heartbeat, subscribe, leave,
//!   set_state, expiry);
//! - `queries.rs`: the reads (here_now, where_now, get_state);
//! - `interval.rs`: interval mode;
//! - `groups.rs`: channel groups;
//! - `history.rs`: recording events and forgetting old ones;
//! - `occupancy.rs`: occupancy over time (the dashboard's charts);
//! - `records.rs`: what outlives the process (groups, member records) as
//!   rows, and which of them changed.

mod groups;
mod history;
mod interval;
mod members;
mod occupancy;
mod queries;
mod records;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;

use crate::clock::millis;
use crate::config::ServerConfig;
use crate::events::{EventLog, PRESENCE_SUFFIX, Timetokens};
use crate::json::write_value;

use interval::IntervalCycle;
use members::Channel;
pub(crate) use members::Timeout;
pub(crate) use occupancy::OccupancyHistory;
pub(crate) use queries::{ChannelOccupancy, HereNowOpts};
pub(crate) use records::{Change, MemberRow};

/// A state object rendered once, at write time, in the response JSON form (compact, ASCII).
pub(crate) type StateJson = Arc<str>;

/// Renders a state value; `None` for `{}` / `null` (which clear state).
pub(crate) fn render_state(state: &Value) -> Option<StateJson> {
    match state {
        Value::Object(map) if map.is_empty() => None,
        Value::Null => None,
        other => {
            let mut out = String::new();
            write_value(&mut out, other);
            Some(Arc::from(out))
        }
    }
}

/// Whether `name` is a presence name (`X-pnpres`), which never makes anyone present.
pub(crate) fn is_presence_name(name: &str) -> bool {
    name.ends_with(PRESENCE_SUFFIX)
}

/// Reads `lock`, also after a panic while it was held (every write leaves
/// the data consistent before anything that could panic).
pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Locks `mutex`, also after a panic while it was held (see [`read`]).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes `lock`, also after a panic while it was held (see [`read`]).
pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Settings every keyspace shares with the server.
#[derive(Debug)]
pub(crate) struct KeyspaceSettings {
    pub(crate) timetokens: Timetokens,
    /// `t.r` / `p.r` of every timetoken.
    pub(crate) region: u8,
    /// Above this many occupants a channel sends interval events.
    pub(crate) announce_max: usize,
    /// Period of interval events.
    pub(crate) interval_ms: u64,
    /// Events recorded so far, by [`Action::index`](crate::events::Action::index)
    /// (`/metrics`).
    pub(crate) event_counts: [AtomicU64; 5],
    /// Keyspaces remember their changes (a data directory keeps them).
    pub(crate) keep_changes: bool,
}

impl KeyspaceSettings {
    /// The settings `config` gives (region clamped to 1..=127, a period of at least 1 ms).
    pub(crate) fn from_config(config: &ServerConfig) -> Self {
        KeyspaceSettings {
            timetokens: Timetokens::default(),
            region: config.region.clamp(1, 127),
            announce_max: config.announce_max,
            interval_ms: millis(config.presence_interval).max(1),
            event_counts: Default::default(),
            keep_changes: config.data_dir.is_some(),
        }
    }
}

impl Default for KeyspaceSettings {
    /// The settings of [`ServerConfig::default`].
    fn default() -> Self {
        KeyspaceSettings::from_config(&ServerConfig::default())
    }
}

/// All presence data of one subscribe key.
#[derive(Debug)]
pub(crate) struct Keyspace {
    sub_key: String,
    settings: Arc<KeyspaceSettings>,
    channels: BTreeMap<Arc<str>, Channel>,
    /// uuid -> channels it has a record on (sorted); names share the `Arc`s of `channels`.
    by_uuid: HashMap<Arc<str>, Vec<Arc<str>>>,
    /// Every record's expiry, soonest first.
    expiries: BTreeSet<(u64, Arc<str>, Arc<str>)>,
    /// Channels in interval mode.
    intervals: HashMap<Arc<str>, IntervalCycle>,
    interval_dues: BTreeSet<(u64, Arc<str>)>,
    groups: BTreeMap<String, BTreeSet<String>>,
    pub(crate) events: EventLog,
    /// Occupancy changes of the last ten minutes, by channel.
    pub(crate) occupancy_history: OccupancyHistory,
    last_prune_ms: u64,
    /// What changed since it was last kept (only while a store is attached).
    changed: Option<records::Changed>,
}

impl Default for Keyspace {
    fn default() -> Self {
        Keyspace::new("demo", Arc::new(KeyspaceSettings::default()))
    }
}

impl Keyspace {
    pub(crate) fn new(sub_key: &str, settings: Arc<KeyspaceSettings>) -> Self {
        Keyspace {
            sub_key: sub_key.to_owned(),
            channels: BTreeMap::new(),
            by_uuid: HashMap::new(),
            expiries: BTreeSet::new(),
            intervals: HashMap::new(),
            interval_dues: BTreeSet::new(),
            groups: BTreeMap::new(),
            events: EventLog::default(),
            occupancy_history: OccupancyHistory::default(),
            last_prune_ms: 0,
            changed: settings.keep_changes.then(records::Changed::default),
            settings,
        }
    }

    /// The next clock time at which [`Keyspace::fire_due`] has work.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        let expiry = self.expiries.first().map(|(at, ..)| *at);
        let interval = self.interval_dues.first().map(|(at, _)| *at);
        expiry.into_iter().chain(interval).chain(self.next_prune()).min()
    }

    /// Removes every record expired at `now`, with a `timeout` event for each
    /// uuid that was present, and sends the interval events due.
    pub(crate) fn fire_due(&mut self, now: u64) {
        // Expiries and interval ends in time order, so a timeout counts in
        // the interval it happened in, even after a jump of the clock.
        loop {
            let expiry = self.expiries.first().map(|(at, ..)| *at).filter(|at| *at <= now);
            let interval = self.interval_dues.first().map(|(at, _)| *at).filter(|at| *at <= now);
            match (expiry, interval) {
                (Some(expiry), Some(interval)) if interval < expiry => self.end_interval(now),
                (Some(_), _) => self.expire_first(),
                (None, Some(_)) => self.end_interval(now),
                (None, None) => break,
            }
        }
        self.prune_history(now);
    }
}

/// All keyspaces, created on first use.
#[derive(Debug, Default)]
pub(crate) struct Store {
    keyspaces: RwLock<HashMap<String, Arc<RwLock<Keyspace>>>>,
    pub(crate) settings: Arc<KeyspaceSettings>,
}

impl Store {
    pub(crate) fn new(settings: KeyspaceSettings) -> Self {
        Store { keyspaces: RwLock::default(), settings: Arc::new(settings) }
    }

    /// The keyspace of `sub_key`, created if needed.
    pub(crate) fn keyspace(&self, sub_key: &str) -> Arc<RwLock<Keyspace>> {
        if let Some(ks) = read(&self.keyspaces).get(sub_key) {
            return Arc::clone(ks);
        }
        let mut all = write(&self.keyspaces);
        let settings = &self.settings;
        Arc::clone(
            all.entry(sub_key.to_owned())
                .or_insert_with(|| Arc::new(RwLock::new(Keyspace::new(sub_key, Arc::clone(settings))))),
        )
    }

    /// Every subscribe key in use, sorted.
    pub(crate) fn sub_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = read(&self.keyspaces).keys().cloned().collect();
        keys.sort();
        keys
    }

    /// The keyspace of `sub_key`, if it is in use (not created).
    pub(crate) fn existing(&self, sub_key: &str) -> Option<Arc<RwLock<Keyspace>>> {
        read(&self.keyspaces).get(sub_key).cloned()
    }

    fn all(&self) -> Vec<Arc<RwLock<Keyspace>>> {
        read(&self.keyspaces).values().cloned().collect()
    }

    /// `(present uuids, occupied channels)` summed over the keyspaces (a uuid
    /// counts once per keyspace).
    pub(crate) fn presence_counts(&self, now: u64) -> (usize, usize) {
        self.all().iter().map(|ks| read(ks).presence_counts(now)).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    /// The soonest deadline of any keyspace.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.all().iter().filter_map(|ks| read(ks).next_deadline()).min()
    }

    /// Runs [`Keyspace::fire_due`] on every keyspace with work due at `now`.
    pub(crate) fn fire_due(&self, now: u64) {
        for ks in self.all() {
            let due = read(&ks).next_deadline().is_some_and(|at| at <= now);
            if due {
                write(&ks).fire_due(now);
            }
        }
    }
}
