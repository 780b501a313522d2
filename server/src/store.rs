//! In-memory presence state: one isolated [`Keyspace`] per subscribe key.
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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;

use crate::clock::millis;
use crate::config::ServerConfig;
use crate::events::{Action, Deltas, Event, EventLog, PRESENCE_SUFFIX, Stamp, Subject, Timetokens};
use crate::json::write_value;

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

/// Writes `lock`, also after a panic while it was held (see [`read`]).
pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How often (clock time) a keyspace forgets stale event history.
const PRUNE_EVERY_MS: u64 = 60_000;

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
}

impl KeyspaceSettings {
    /// The settings `config` gives (region clamped to 1..=127, a period of at least 1 ms).
    pub(crate) fn from_config(config: &ServerConfig) -> Self {
        KeyspaceSettings {
            timetokens: Timetokens::default(),
            region: config.region.clamp(1, 127),
            announce_max: config.announce_max,
            interval_ms: millis(config.presence_interval).max(1),
        }
    }
}

impl Default for KeyspaceSettings {
    /// The settings of [`ServerConfig::default`].
    fn default() -> Self {
        KeyspaceSettings::from_config(&ServerConfig::default())
    }
}

/// One uuid's record on one channel.
#[derive(Debug, Clone)]
struct Member {
    /// Absolute expiry (epoch millis); the record is dead when `now >= expires_ms`.
    expires_ms: u64,
    /// Counted as an occupant (heartbeat seen); `false` for state-only records from `set_state`.
    present: bool,
    /// The presence timeout this uuid announced (a later subscribe without
    /// `heartbeat=` keeps it).
    timeout_ms: u64,
    /// Per-channel state, pre-rendered; `None` when unset or set to `{}`.
    state: Option<StateJson>,
}

impl Member {
    fn live(&self, now: u64) -> bool {
        now < self.expires_ms
    }
}

/// The records of one channel.
#[derive(Debug, Default)]
struct Channel {
    members: BTreeMap<Arc<str>, Member>,
    /// Members with `present` (exact: expired ones are removed by `fire_due`).
    present: usize,
}

/// A channel in interval mode: when its next interval event is due, and who
/// changed since the last one.
#[derive(Debug)]
struct IntervalCycle {
    due_ms: u64,
    deltas: Deltas,
}

/// What here_now reports for one channel.
#[derive(Debug)]
pub(crate) struct ChannelOccupancy {
    pub name: Arc<str>,
    /// Full occupant count, regardless of paging.
    pub occupancy: usize,
    /// The requested page of occupants (uuid, state), in stable (uuid-sorted) order.
    pub page: Vec<(Arc<str>, Option<StateJson>)>,
}

/// Paging and detail options for here_now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HereNowOpts {
    pub include_uuids: bool,
    pub include_state: bool,
    pub limit: usize,
    pub offset: usize,
}

/// How a heartbeat or subscribe announces presence.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Timeout {
    /// The request said `heartbeat=`.
    Given(u64),
    /// It did not: keep what the uuid announced before, else this default.
    KeepOr(u64),
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
    last_prune_ms: u64,
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
            settings,
            channels: BTreeMap::new(),
            by_uuid: HashMap::new(),
            expiries: BTreeSet::new(),
            intervals: HashMap::new(),
            interval_dues: BTreeSet::new(),
            groups: BTreeMap::new(),
            events: EventLog::default(),
            last_prune_ms: 0,
        }
    }

    /// The next clock time at which [`Keyspace::fire_due`] has work.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        let expiry = self.expiries.first().map(|(at, ..)| *at);
        let interval = self.interval_dues.first().map(|(at, _)| *at);
        // Event history is pruned once a minute while there is any, even in
        // a keyspace nobody calls any more.
        let prune = (!self.events.is_empty()).then(|| self.last_prune_ms.saturating_add(PRUNE_EVERY_MS));
        expiry.into_iter().chain(interval).chain(prune).min()
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
        if now.saturating_sub(self.last_prune_ms) >= PRUNE_EVERY_MS {
            self.last_prune_ms = now;
            self.events.prune(now);
        }
    }

    /// Removes the record that expires first, with a `timeout` if it was present.
    fn expire_first(&mut self) {
        let Some((at, channel, uuid)) = self.expiries.pop_first() else { return };
        let Some(member) = self.remove_record(&channel, &uuid) else { return };
        if member.present {
            // A timeout drops the state; the 2025 service sends `"data":{}`.
            self.announce(&channel, Action::Timeout, &uuid, Some("{}"), at, false);
        }
    }

    /// Removes the record of `uuid` on `channel`, with its expiry and its
    /// place in the indexes; the record, if there was one.
    fn remove_record(&mut self, channel: &Arc<str>, uuid: &Arc<str>) -> Option<Member> {
        let ch = self.channels.get_mut(channel)?;
        let member = ch.members.remove(uuid)?;
        if member.present {
            ch.present -= 1;
        }
        if ch.members.is_empty() {
            self.channels.remove(channel);
        }
        self.expiries.remove(&(member.expires_ms, Arc::clone(channel), Arc::clone(uuid)));
        self.unindex(uuid, channel);
        Some(member)
    }

    /// Sends the interval event that is due first (the clock reads `now`).
    fn end_interval(&mut self, now: u64) {
        if let Some((at, channel)) = self.interval_dues.pop_first() {
            self.send_interval(&channel, at, now);
        }
    }

    fn occupancy(&self, channel: &str) -> usize {
        self.channels.get(channel).map_or(0, |ch| ch.present)
    }

    fn stamp_event(&mut self, channel: &Arc<str>, action: Action, subject: Subject<'_>, now: u64, by_subscribe: bool) {
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
    }

    /// A join, leave or timeout: its own event, or a delta of the channel's
    /// next interval event when the channel is (or just went) over `announce_max`.
    fn announce(
        &mut self,
        channel: &Arc<str>,
        action: Action,
        uuid: &Arc<str>,
        data: Option<&str>,
        now: u64,
        by_subscribe: bool,
    ) {
        let crowded = self.occupancy(channel) > self.settings.announce_max;
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

    fn unindex(&mut self, uuid: &str, channel: &str) {
        if let Some(list) = self.by_uuid.get_mut(uuid) {
            if let Ok(pos) = list.binary_search_by(|c| (**c).cmp(channel)) {
                list.remove(pos);
            }
            if list.is_empty() {
                self.by_uuid.remove(uuid);
            }
        }
    }

    fn index(&mut self, uuid: &Arc<str>, channel: &Arc<str>) {
        match self.by_uuid.get_mut(&**uuid) {
            Some(list) => {
                if let Err(pos) = list.binary_search_by(|c| (**c).cmp(&**channel)) {
                    list.insert(pos, Arc::clone(channel));
                }
            }
            None => {
                self.by_uuid.insert(Arc::clone(uuid), vec![Arc::clone(channel)]);
            }
        }
    }

    /// The shared names of `channel` and `uuid`, creating a fresh (absent,
    /// stateless) record expiring now if there is none.
    fn record(&mut self, channel: &str, uuid: &str, now: u64) -> (Arc<str>, Arc<str>) {
        let ch_key: Arc<str> = match self.channels.get_key_value(channel) {
            Some((k, _)) => Arc::clone(k),
            None => {
                let k: Arc<str> = Arc::from(channel);
                self.channels.insert(Arc::clone(&k), Channel::default());
                k
            }
        };
        // Reuse the uuid's existing Arc (from the index) so each name is stored once.
        let uuid_key: Arc<str> = match self.by_uuid.get_key_value(uuid) {
            Some((k, _)) => Arc::clone(k),
            None => Arc::from(uuid),
        };
        self.index(&uuid_key, &ch_key);
        let members = &mut self.channels.get_mut(channel).expect("inserted above").members;
        if !members.contains_key(uuid) {
            members
                .insert(Arc::clone(&uuid_key), Member { expires_ms: now, present: false, timeout_ms: 0, state: None });
            self.expiries.insert((now, Arc::clone(&ch_key), Arc::clone(&uuid_key)));
        }
        (ch_key, uuid_key)
    }

    fn member(&mut self, channel: &str, uuid: &str) -> &mut Member {
        self.channels.get_mut(channel).and_then(|ch| ch.members.get_mut(uuid)).expect("record() created it")
    }

    /// Moves a record's expiry, keeping the expiry index exact.
    fn set_expiry(&mut self, channel: &Arc<str>, uuid: &Arc<str>, expires_ms: u64) {
        let member = self.member(channel, uuid);
        let old = std::mem::replace(&mut member.expires_ms, expires_ms);
        if old != expires_ms {
            self.expiries.remove(&(old, Arc::clone(channel), Arc::clone(uuid)));
            self.expiries.insert((expires_ms, Arc::clone(channel), Arc::clone(uuid)));
        }
    }

    /// Expands channel groups into their member channels, appended to `channels` (deduplicated,
    /// first occurrence wins).
    pub(crate) fn expand(&self, channels: &[String], groups: &[String]) -> Vec<String> {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut out = Vec::new();
        let group_channels = groups.iter().filter_map(|g| self.groups.get(g.as_str())).flat_map(|set| set.iter());
        for ch in channels.iter().chain(group_channels) {
            if seen.insert(ch.as_str()) {
                out.push(ch.clone());
            }
        }
        out
    }

    /// Marks `uuid` present on `channels` (presence names are skipped) for
    /// its timeout from `now`; applies `states` (by channel). Becoming present
    /// is a `join` (carrying the state given with it); a present uuid whose
    /// state changes sends a `state-change`.
    pub(crate) fn heartbeat(
        &mut self,
        uuid: &str,
        channels: &[String],
        timeout: Timeout,
        states: &HashMap<String, Value>,
        now: u64,
    ) {
        self.present(uuid, channels, timeout, states, now, false);
    }

    /// [`Keyspace::heartbeat`] for a subscribe request (its events are marked
    /// so, see [`Event::by_subscribe`]).
    pub(crate) fn subscribe(
        &mut self,
        uuid: &str,
        channels: &[String],
        timeout: Timeout,
        states: &HashMap<String, Value>,
        now: u64,
    ) {
        self.present(uuid, channels, timeout, states, now, true);
    }

    fn present(
        &mut self,
        uuid: &str,
        channels: &[String],
        timeout: Timeout,
        states: &HashMap<String, Value>,
        now: u64,
        by_subscribe: bool,
    ) {
        self.fire_due(now);
        for ch in channels.iter().filter(|ch| !is_presence_name(ch)) {
            let (ch_key, uuid_key) = self.record(ch, uuid, now);
            let member = self.member(ch, uuid);
            let was_present = member.present;
            let timeout_ms = match timeout {
                Timeout::Given(ms) => ms,
                Timeout::KeepOr(default) if member.timeout_ms == 0 => default,
                Timeout::KeepOr(_) => member.timeout_ms,
            };
            member.present = true;
            member.timeout_ms = timeout_ms;
            let new_state = states.get(ch.as_str()).map(render_state);
            let state_changed = match &new_state {
                Some(state) if *state != member.state => {
                    member.state = state.clone();
                    true
                }
                _ => false,
            };
            let state = member.state.clone();
            self.set_expiry(&ch_key, &uuid_key, now.saturating_add(timeout_ms));
            if !was_present {
                self.channels.get_mut(ch.as_str()).expect("record() created it").present += 1;
                // State given with the request rides on the join (docs/PROTOCOL.md §9.4).
                let data = if new_state.is_some() { state.as_deref() } else { None };
                self.announce(&ch_key, Action::Join, &uuid_key, data, now, by_subscribe);
            } else if state_changed {
                let data = state.as_deref().unwrap_or("{}");
                self.stamp_event(
                    &ch_key,
                    Action::StateChange,
                    Subject::User { uuid, data: Some(data) },
                    now,
                    by_subscribe,
                );
            }
        }
    }

    /// Removes `uuid` (and its state) from `channels` immediately, with a
    /// `leave` where it was present.
    pub(crate) fn leave(&mut self, uuid: &str, channels: &[String], now: u64) {
        self.fire_due(now);
        for ch in channels.iter().filter(|ch| !is_presence_name(ch)) {
            // The shared names of a record that exists; nothing to do otherwise.
            let Some((ch_key, channel)) = self.channels.get_key_value(ch.as_str()) else { continue };
            let Some(uuid_key) = channel.members.get_key_value(uuid).map(|(k, _)| Arc::clone(k)) else { continue };
            let ch_key = Arc::clone(ch_key);
            let Some(member) = self.remove_record(&ch_key, &uuid_key) else { continue };
            if member.present {
                self.announce(&ch_key, Action::Leave, &uuid_key, None, now, false);
            }
        }
    }

    /// Stores `state` for `uuid` on `channels`, with a `state-change` where
    /// the uuid is present. A uuid that is not present keeps the state for
    /// `state_ttl_ms` (or until it joins and later leaves / times out).
    pub(crate) fn set_state(&mut self, uuid: &str, channels: &[String], state: &Value, state_ttl_ms: u64, now: u64) {
        self.fire_due(now);
        let rendered = render_state(state);
        for ch in channels {
            let (ch_key, uuid_key) = self.record(ch, uuid, now);
            let member = self.member(ch, uuid);
            member.state = rendered.clone();
            let present = member.present;
            let expires = member.expires_ms;
            if present {
                let data = rendered.as_deref().unwrap_or("{}");
                self.stamp_event(&ch_key, Action::StateChange, Subject::User { uuid, data: Some(data) }, now, false);
            } else {
                self.set_expiry(&ch_key, &uuid_key, expires.max(now.saturating_add(state_ttl_ms)));
            }
        }
    }

    /// The live state of `uuid` on each of `channels` (`None` when unset).
    pub(crate) fn get_state(&self, uuid: &str, channels: &[String], now: u64) -> Vec<(String, Option<StateJson>)> {
        channels
            .iter()
            .map(|ch| {
                let state = self
                    .channels
                    .get(ch.as_str())
                    .and_then(|channel| channel.members.get(uuid))
                    .filter(|m| m.live(now))
                    .and_then(|m| m.state.clone());
                (ch.clone(), state)
            })
            .collect()
    }

    /// Channels on which `uuid` is currently present (sorted by name).
    pub(crate) fn where_now(&self, uuid: &str, now: u64) -> Vec<String> {
        let Some(list) = self.by_uuid.get(uuid) else {
            return Vec::new();
        };
        list.iter()
            .filter(|ch| {
                self.channels
                    .get(&***ch)
                    .and_then(|channel| channel.members.get(uuid))
                    .is_some_and(|m| m.present && m.live(now))
            })
            .map(|ch| ch.to_string())
            .collect()
    }

    fn occupancy_of(&self, name: &str, opts: HereNowOpts, now: u64) -> ChannelOccupancy {
        let Some((name, channel)) = self.channels.get_key_value(name) else {
            return ChannelOccupancy { name: Arc::from(name), occupancy: 0, page: Vec::new() };
        };
        let mut occupancy = 0;
        let mut page = Vec::new();
        let want_page = opts.include_uuids && opts.limit > 0;
        for (uuid, m) in &channel.members {
            if !(m.present && m.live(now)) {
                continue;
            }
            if want_page && occupancy >= opts.offset && page.len() < opts.limit {
                let state = if opts.include_state { m.state.clone() } else { None };
                page.push((Arc::clone(uuid), state));
            }
            occupancy += 1;
        }
        ChannelOccupancy { name: Arc::clone(name), occupancy, page }
    }

    /// here_now for the given channels (in request order), each reported even when empty.
    pub(crate) fn here_now(&self, channels: &[String], opts: HereNowOpts, now: u64) -> Vec<ChannelOccupancy> {
        channels.iter().map(|ch| self.occupancy_of(ch, opts, now)).collect()
    }

    /// here_now for every occupied channel of the key, sorted by channel name.
    pub(crate) fn here_now_global(&self, opts: HereNowOpts, now: u64) -> Vec<ChannelOccupancy> {
        self.channels.keys().map(|ch| self.occupancy_of(ch, opts, now)).filter(|c| c.occupancy > 0).collect()
    }

    /// Adds channels to a group (creating it).
    pub(crate) fn group_add(&mut self, group: &str, channels: &[String]) {
        let set = self.groups.entry(group.to_owned()).or_default();
        set.extend(channels.iter().cloned());
        self.events.group_changed(group);
    }

    /// Removes channels from a group; an emptied group disappears.
    pub(crate) fn group_remove(&mut self, group: &str, channels: &[String]) {
        if let Some(set) = self.groups.get_mut(group) {
            for ch in channels {
                set.remove(ch);
            }
            if set.is_empty() {
                self.groups.remove(group);
            }
        }
        self.events.group_changed(group);
    }

    /// Deletes a group.
    pub(crate) fn group_delete(&mut self, group: &str) {
        self.groups.remove(group);
        self.events.group_changed(group);
    }

    /// Channels of a group, sorted (empty for an unknown group).
    pub(crate) fn group_list(&self, group: &str) -> Vec<String> {
        self.groups.get(group).map(|set| set.iter().cloned().collect()).unwrap_or_default()
    }

    /// Names of all groups, sorted.
    pub(crate) fn group_names(&self) -> Vec<String> {
        self.groups.keys().cloned().collect()
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

    fn all(&self) -> Vec<Arc<RwLock<Keyspace>>> {
        read(&self.keyspaces).values().cloned().collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> HereNowOpts {
        HereNowOpts { include_uuids: true, include_state: true, limit: 1000, offset: 0 }
    }

    fn chans(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn heartbeat_expires_and_drops_state() {
        let mut ks = Keyspace::default();
        let st: HashMap<String, Value> = HashMap::from([("a".to_string(), serde_json::json!({"k": 1}))]);
        ks.heartbeat("u1", &chans(&["a", "b"]), Timeout::Given(10_000), &st, 0);
        assert_eq!(ks.where_now("u1", 9_999), chans(&["a", "b"]));
        assert!(ks.where_now("u1", 10_000).is_empty());
        // a new heartbeat after expiry starts without the old state
        ks.heartbeat("u1", &chans(&["a"]), Timeout::Given(10_000), &HashMap::new(), 20_000);
        assert!(ks.get_state("u1", &chans(&["a"]), 20_001)[0].1.is_none());
        ks.fire_due(40_000);
        assert!(ks.channels.is_empty());
        assert!(ks.by_uuid.is_empty());
    }

    #[test]
    fn paging_reports_full_occupancy() {
        let mut ks = Keyspace::default();
        for u in ["c", "a", "b", "d"] {
            ks.heartbeat(u, &chans(&["x"]), Timeout::Given(1_000), &HashMap::new(), 0);
        }
        let mut o = opts();
        o.limit = 2;
        o.offset = 1;
        let r = ks.here_now(&chans(&["x"]), o, 1);
        assert_eq!(r[0].occupancy, 4);
        let names: Vec<_> = r[0].page.iter().map(|p| &*p.0).collect();
        assert_eq!(names, ["b", "c"]);
    }

    #[test]
    fn leave_removes_record_and_index() {
        let mut ks = Keyspace::default();
        ks.heartbeat("u", &chans(&["x", "y"]), Timeout::Given(1_000), &HashMap::new(), 0);
        ks.leave("u", &chans(&["x"]), 1);
        assert_eq!(ks.where_now("u", 2), chans(&["y"]));
        ks.leave("u", &chans(&["y"]), 1);
        assert!(ks.by_uuid.is_empty() && ks.channels.is_empty());
    }

    fn actions(ks: &Keyspace, channel: &str) -> Vec<(&'static str, Option<String>)> {
        ks.events.since(channel, 0).map(|e| (e.action.as_str(), e.uuid.as_deref().map(str::to_owned))).collect()
    }

    #[test]
    fn join_once_then_leave_and_timeout_by_the_clock() {
        let mut ks = Keyspace::default();
        ks.heartbeat("a", &chans(&["x"]), Timeout::Given(10_000), &HashMap::new(), 0);
        ks.heartbeat("a", &chans(&["x", "x-pnpres"]), Timeout::Given(10_000), &HashMap::new(), 5_000);
        ks.heartbeat("b", &chans(&["x"]), Timeout::KeepOr(10_000), &HashMap::new(), 5_000);
        ks.leave("b", &chans(&["x"]), 6_000);
        assert_eq!(ks.next_deadline(), Some(15_000));
        ks.fire_due(14_999);
        assert_eq!(actions(&ks, "x").len(), 3);
        ks.fire_due(15_000);
        let seen = actions(&ks, "x");
        let expected = [("join", "a"), ("join", "b"), ("leave", "b"), ("timeout", "a")];
        assert_eq!(seen, expected.map(|(a, u)| (a, Some(u.to_owned()))));
        assert!(ks.channels.is_empty() && ks.expiries.is_empty() && ks.by_uuid.is_empty());
        assert_eq!(actions(&ks, "x-pnpres"), [], "presence names never make anyone present");
    }

    #[test]
    fn state_changes_of_present_users_only() {
        let mut ks = Keyspace::default();
        let state = |v: Value| HashMap::from([("x".to_owned(), v)]);
        ks.set_state("a", &chans(&["x"]), &serde_json::json!({"k": 1}), 60_000, 0);
        assert_eq!(actions(&ks, "x"), [], "not present: state is stored silently");
        ks.heartbeat("a", &chans(&["x"]), Timeout::Given(60_000), &state(serde_json::json!({"k": 2})), 1);
        ks.heartbeat("a", &chans(&["x"]), Timeout::Given(60_000), &state(serde_json::json!({"k": 2})), 2);
        ks.heartbeat("a", &chans(&["x"]), Timeout::Given(60_000), &state(serde_json::json!({"k": 3})), 3);
        ks.set_state("a", &chans(&["x"]), &serde_json::json!({}), 60_000, 4);
        let seen: Vec<&str> = actions(&ks, "x").into_iter().map(|(a, _)| a).collect();
        assert_eq!(seen, ["join", "state-change", "state-change"]);
    }

    #[test]
    fn a_subscribe_without_a_timeout_keeps_the_announced_one() {
        let mut ks = Keyspace::default();
        ks.heartbeat("a", &chans(&["x"]), Timeout::Given(60_000), &HashMap::new(), 0);
        ks.heartbeat("a", &chans(&["x"]), Timeout::KeepOr(300_000), &HashMap::new(), 10_000);
        assert_eq!(ks.expiries.first().map(|(at, ..)| *at), Some(70_000));
    }

    #[test]
    fn interval_mode_above_announce_max() {
        let shared = KeyspaceSettings { announce_max: 2, interval_ms: 10_000, ..KeyspaceSettings::default() };
        let mut ks = Keyspace::new("demo", Arc::new(shared));
        for (i, u) in ["a", "b", "c", "d"].iter().enumerate() {
            ks.heartbeat(u, &chans(&["x"]), Timeout::Given(300_000), &HashMap::new(), i as u64);
        }
        ks.leave("a", &chans(&["x"]), 5);
        assert_eq!(actions(&ks, "x").len(), 2, "joins of a and b announced, then deltas");
        ks.fire_due(10_002);
        let events: Vec<_> = ks.events.since("x", 0).collect();
        let mut last = String::new();
        events.last().unwrap().write(&mut last, None);
        assert!(
            last.contains(r#""action":"interval""#) && last.contains(r#""occupancy":3,"join":["c","d"],"leave":["a"]"#),
            "{last}"
        );
        // Still crowded: another (empty) interval event 10 s later; then back to single events.
        ks.fire_due(20_002);
        assert_eq!(ks.events.since("x", 0).count(), 4);
        ks.leave("b", &chans(&["x"]), 20_003);
        ks.fire_due(30_002);
        ks.leave("c", &chans(&["x"]), 30_003);
        let seen: Vec<&str> = actions(&ks, "x").into_iter().map(|(a, _)| a).collect();
        assert_eq!(seen, ["join", "join", "interval", "interval", "interval", "leave"]);
    }

    #[test]
    fn a_late_clock_counts_each_timeout_in_its_own_interval() {
        let shared = KeyspaceSettings { announce_max: 0, interval_ms: 10_000, ..KeyspaceSettings::default() };
        let mut ks = Keyspace::new("demo", Arc::new(shared));
        ks.heartbeat("a", &chans(&["x"]), Timeout::Given(300_000), &HashMap::new(), 0);
        ks.heartbeat("b", &chans(&["x"]), Timeout::Given(12_000), &HashMap::new(), 0);
        ks.heartbeat("c", &chans(&["x"]), Timeout::Given(25_000), &HashMap::new(), 0);
        ks.fire_due(30_000); // one jump past three interval ends and both timeouts
        let rendered: Vec<String> = ks
            .events
            .since("x", 0)
            .map(|e| {
                let mut out = String::new();
                e.write(&mut out, None);
                out
            })
            .collect();
        assert_eq!(rendered.len(), 3, "{rendered:#?}");
        assert!(
            rendered[0].contains(r#""join":["a","b","c"]"#) && !rendered[0].contains("timeout\":["),
            "{}",
            rendered[0]
        );
        assert!(
            rendered[1].contains(r#""timestamp":20,"#) && rendered[1].contains(r#""timeout":["b"]"#),
            "{}",
            rendered[1]
        );
        assert!(
            rendered[2].contains(r#""timestamp":30,"#) && rendered[2].contains(r#""timeout":["c"]"#),
            "{}",
            rendered[2]
        );
    }
}
