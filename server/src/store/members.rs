//! Member records and their indexes: one record per (channel, uuid), the
//! uuid -> channels index, the expiry index, and the writes that change them
//! (heartbeat, subscribe, leave, set_state, expiry).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::{Keyspace, StateJson, is_presence_name, render_state};
use crate::events::{Action, Subject};

/// One uuid's record on one channel.
#[derive(Debug, Clone)]
pub(super) struct Member {
    /// Absolute expiry (epoch millis); the record is dead when `now >= expires_ms`.
    pub(super) expires_ms: u64,
    /// Counted as an occupant (heartbeat seen); `false` for state-only records from `set_state`.
    pub(super) present: bool,
    /// The presence timeout this uuid announced (a later subscribe without
    /// `heartbeat=` keeps it).
    pub(super) timeout_ms: u64,
    /// Per-channel state, pre-rendered; `None` when unset or set to `{}`.
    pub(super) state: Option<StateJson>,
}

impl Member {
    pub(super) fn live(&self, now: u64) -> bool {
        now < self.expires_ms
    }
}

/// The records of one channel.
#[derive(Debug, Default)]
pub(super) struct Channel {
    pub(super) members: BTreeMap<Arc<str>, Member>,
    /// Members with `present` (exact: expired ones are removed by `fire_due`).
    pub(super) present: usize,
}

/// How a heartbeat or subscribe announces presence.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Timeout {
    /// The request said `heartbeat=`.
    Given(u64),
    /// It did not: keep what the uuid announced before, else this default.
    KeepOr(u64),
}

impl Keyspace {
    /// Removes the record that expires first, with a `timeout` if it was present.
    pub(super) fn expire_first(&mut self) {
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
        self.mark_member_changed(channel, uuid);
        Some(member)
    }

    pub(super) fn occupancy(&self, channel: &str) -> usize {
        self.channels.get(channel).map_or(0, |ch| ch.present)
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
    pub(super) fn record(&mut self, channel: &str, uuid: &str, now: u64) -> (Arc<str>, Arc<str>) {
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
        // Every write of a record goes through here (heartbeat, subscribe, set_state).
        self.mark_member_changed(&ch_key, &uuid_key);
        (ch_key, uuid_key)
    }

    pub(super) fn member(&mut self, channel: &str, uuid: &str) -> &mut Member {
        self.channels.get_mut(channel).and_then(|ch| ch.members.get_mut(uuid)).expect("record() created it")
    }

    /// Moves a record's expiry, keeping the expiry index exact.
    pub(super) fn set_expiry(&mut self, channel: &Arc<str>, uuid: &Arc<str>, expires_ms: u64) {
        let member = self.member(channel, uuid);
        let old = std::mem::replace(&mut member.expires_ms, expires_ms);
        if old != expires_ms {
            self.expiries.remove(&(old, Arc::clone(channel), Arc::clone(uuid)));
            self.expiries.insert((expires_ms, Arc::clone(channel), Arc::clone(uuid)));
        }
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
    /// so, see [`Event::by_subscribe`](crate::events::Event::by_subscribe)).
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
}
