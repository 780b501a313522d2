//! In-memory presence state: one isolated [`Keyspace`] per subscribe key.
//!
//! Every (channel, uuid) record carries an absolute expiry time. Reads filter expired records
//! against the injected clock, so expiry is exact without any background timer; writes sweep
//! expired records out at most once per clock second to bound memory.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use serde_json::Value;

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

/// One uuid's record on one channel.
#[derive(Debug, Clone)]
struct Member {
    /// Absolute expiry (epoch millis); the record is dead when `now >= expires_ms`.
    expires_ms: u64,
    /// Counted as an occupant (heartbeat seen); `false` for state-only records from `set_state`.
    present: bool,
    /// Per-channel state, pre-rendered; `None` when unset or set to `{}`.
    state: Option<StateJson>,
}

impl Member {
    fn live(&self, now: u64) -> bool {
        now < self.expires_ms
    }
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

/// All presence data of one subscribe key.
#[derive(Debug, Default)]
pub(crate) struct Keyspace {
    channels: BTreeMap<Arc<str>, BTreeMap<Arc<str>, Member>>,
    /// uuid -> channels it has a record on (sorted); names share the `Arc`s of `channels`.
    by_uuid: HashMap<Arc<str>, Vec<Arc<str>>>,
    groups: BTreeMap<String, BTreeSet<String>>,
    last_sweep_ms: u64,
}

impl Keyspace {
    /// Removes every expired record (at most once per clock second unless `force`).
    pub(crate) fn sweep(&mut self, now: u64, force: bool) {
        if !force && now.saturating_sub(self.last_sweep_ms) < 1_000 {
            return;
        }
        self.last_sweep_ms = now;
        let mut dead: Vec<(Arc<str>, Arc<str>)> = Vec::new();
        self.channels.retain(|ch, members| {
            members.retain(|uuid, m| {
                let keep = m.live(now);
                if !keep {
                    dead.push((uuid.clone(), ch.clone()));
                }
                keep
            });
            !members.is_empty()
        });
        for (uuid, ch) in dead {
            self.unindex(&uuid, &ch);
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
                self.by_uuid
                    .insert(Arc::clone(uuid), vec![Arc::clone(channel)]);
            }
        }
    }

    /// Gets the live record of `uuid` on `channel`, creating a fresh (absent, stateless) one if
    /// there is none or the old one expired.
    fn record(&mut self, channel: &str, uuid: &str, now: u64) -> &mut Member {
        let ch_key: Arc<str> = match self.channels.get_key_value(channel) {
            Some((k, _)) => Arc::clone(k),
            None => {
                let k: Arc<str> = Arc::from(channel);
                self.channels.insert(Arc::clone(&k), BTreeMap::new());
                k
            }
        };
        // Reuse the uuid's existing Arc (from the index) so each name is stored once.
        let uuid_key: Arc<str> = match self.by_uuid.get_key_value(uuid) {
            Some((k, _)) => Arc::clone(k),
            None => Arc::from(uuid),
        };
        self.index(&uuid_key, &ch_key);
        let members = self.channels.get_mut(channel).expect("inserted above");
        if !members.contains_key(uuid) {
            members.insert(
                uuid_key,
                Member {
                    expires_ms: now,
                    present: false,
                    state: None,
                },
            );
        }
        let m = members.get_mut(uuid).expect("inserted above");
        if !m.live(now) {
            m.present = false;
            m.state = None;
            m.expires_ms = now;
        }
        m
    }

    /// Expands channel groups into their member channels, appended to `channels` (deduplicated,
    /// first occurrence wins).
    pub(crate) fn expand(&self, channels: &[String], groups: &[String]) -> Vec<String> {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut out = Vec::new();
        let group_channels = groups
            .iter()
            .filter_map(|g| self.groups.get(g.as_str()))
            .flat_map(|set| set.iter());
        for ch in channels.iter().chain(group_channels) {
            if seen.insert(ch.as_str()) {
                out.push(ch.clone());
            }
        }
        out
    }

    /// Marks `uuid` present on `channels` until `now + timeout_ms`; applies `states` (by channel).
    pub(crate) fn heartbeat(
        &mut self,
        uuid: &str,
        channels: &[String],
        timeout_ms: u64,
        states: &HashMap<String, Value>,
        now: u64,
    ) {
        self.sweep(now, false);
        let rendered: HashMap<&str, Option<StateJson>> = states
            .iter()
            .map(|(ch, v)| (ch.as_str(), render_state(v)))
            .collect();
        for ch in channels {
            let m = self.record(ch, uuid, now);
            m.present = true;
            m.expires_ms = now.saturating_add(timeout_ms);
            if let Some(state) = rendered.get(ch.as_str()) {
                m.state = state.clone();
            }
        }
    }

    /// Removes `uuid` (and its state) from `channels` immediately.
    pub(crate) fn leave(&mut self, uuid: &str, channels: &[String], now: u64) {
        self.sweep(now, false);
        for ch in channels {
            let emptied = match self.channels.get_mut(ch.as_str()) {
                Some(members) => {
                    members.remove(uuid);
                    members.is_empty()
                }
                None => continue,
            };
            if emptied {
                self.channels.remove(ch.as_str());
            }
            self.unindex(uuid, ch);
        }
    }

    /// Stores `state` for `uuid` on `channels`. A uuid that is not present keeps the state for
    /// `state_ttl_ms` (or until it joins and later leaves / times out).
    pub(crate) fn set_state(
        &mut self,
        uuid: &str,
        channels: &[String],
        state: &Value,
        state_ttl_ms: u64,
        now: u64,
    ) {
        self.sweep(now, false);
        let rendered = render_state(state);
        for ch in channels {
            let m = self.record(ch, uuid, now);
            m.state = rendered.clone();
            if !m.present {
                m.expires_ms = m.expires_ms.max(now.saturating_add(state_ttl_ms));
            }
        }
    }

    /// The live state of `uuid` on each of `channels` (`None` when unset).
    pub(crate) fn get_state(
        &self,
        uuid: &str,
        channels: &[String],
        now: u64,
    ) -> Vec<(String, Option<StateJson>)> {
        channels
            .iter()
            .map(|ch| {
                let state = self
                    .channels
                    .get(ch.as_str())
                    .and_then(|members| members.get(uuid))
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
                    .and_then(|members| members.get(uuid))
                    .is_some_and(|m| m.present && m.live(now))
            })
            .map(|ch| ch.to_string())
            .collect()
    }

    fn occupancy_of(&self, name: &str, opts: HereNowOpts, now: u64) -> ChannelOccupancy {
        let Some((name, members)) = self.channels.get_key_value(name) else {
            return ChannelOccupancy {
                name: Arc::from(name),
                occupancy: 0,
                page: Vec::new(),
            };
        };
        let mut occupancy = 0;
        let mut page = Vec::new();
        let want_page = opts.include_uuids && opts.limit > 0;
        for (uuid, m) in members {
            if !(m.present && m.live(now)) {
                continue;
            }
            if want_page && occupancy >= opts.offset && page.len() < opts.limit {
                let state = if opts.include_state {
                    m.state.clone()
                } else {
                    None
                };
                page.push((Arc::clone(uuid), state));
            }
            occupancy += 1;
        }
        ChannelOccupancy {
            name: Arc::clone(name),
            occupancy,
            page,
        }
    }

    /// here_now for the given channels (in request order), each reported even when empty.
    pub(crate) fn here_now(
        &self,
        channels: &[String],
        opts: HereNowOpts,
        now: u64,
    ) -> Vec<ChannelOccupancy> {
        channels
            .iter()
            .map(|ch| self.occupancy_of(ch, opts, now))
            .collect()
    }

    /// here_now for every occupied channel of the key, sorted by channel name.
    pub(crate) fn here_now_global(&self, opts: HereNowOpts, now: u64) -> Vec<ChannelOccupancy> {
        self.channels
            .keys()
            .map(|ch| self.occupancy_of(ch, opts, now))
            .filter(|c| c.occupancy > 0)
            .collect()
    }

    /// Adds channels to a group (creating it).
    pub(crate) fn group_add(&mut self, group: &str, channels: &[String]) {
        let set = self.groups.entry(group.to_owned()).or_default();
        set.extend(channels.iter().cloned());
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
    }

    /// Deletes a group.
    pub(crate) fn group_delete(&mut self, group: &str) {
        self.groups.remove(group);
    }

    /// Channels of a group, sorted (empty for an unknown group).
    pub(crate) fn group_list(&self, group: &str) -> Vec<String> {
        self.groups
            .get(group)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
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
}

impl Store {
    /// The keyspace of `sub_key`, created if needed.
    pub(crate) fn keyspace(&self, sub_key: &str) -> Arc<RwLock<Keyspace>> {
        if let Some(ks) = self
            .keyspaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(sub_key)
        {
            return Arc::clone(ks);
        }
        let mut all = self.keyspaces.write().unwrap_or_else(|e| e.into_inner());
        Arc::clone(all.entry(sub_key.to_owned()).or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> HereNowOpts {
        HereNowOpts {
            include_uuids: true,
            include_state: true,
            limit: 1000,
            offset: 0,
        }
    }

    fn chans(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn heartbeat_expires_and_drops_state() {
        let mut ks = Keyspace::default();
        let st: HashMap<String, Value> =
            HashMap::from([("a".to_string(), serde_json::json!({"k": 1}))]);
        ks.heartbeat("u1", &chans(&["a", "b"]), 10_000, &st, 0);
        assert_eq!(ks.where_now("u1", 9_999), chans(&["a", "b"]));
        assert!(ks.where_now("u1", 10_000).is_empty());
        // a new heartbeat after expiry starts without the old state
        ks.heartbeat("u1", &chans(&["a"]), 10_000, &HashMap::new(), 20_000);
        assert!(ks.get_state("u1", &chans(&["a"]), 20_001)[0].1.is_none());
        ks.sweep(40_000, true);
        assert!(ks.channels.is_empty());
        assert!(ks.by_uuid.is_empty());
    }

    #[test]
    fn paging_reports_full_occupancy() {
        let mut ks = Keyspace::default();
        for u in ["c", "a", "b", "d"] {
            ks.heartbeat(u, &chans(&["x"]), 1_000, &HashMap::new(), 0);
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
        ks.heartbeat("u", &chans(&["x", "y"]), 1_000, &HashMap::new(), 0);
        ks.leave("u", &chans(&["x"]), 1);
        assert_eq!(ks.where_now("u", 2), chans(&["y"]));
        ks.leave("u", &chans(&["y"]), 1);
        assert!(ks.by_uuid.is_empty() && ks.channels.is_empty());
    }
}
