//! The reads of a keyspace: here_now, where_now and get_state, on live
//! records only (a record past its expiry is not read, even before the
//! reaper removes it).

use std::sync::Arc;

use super::{Keyspace, StateJson};

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

impl Keyspace {
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

    /// `(present uuids, occupied channels)` at `now`, for `/metrics`.
    pub(crate) fn presence_counts(&self, now: u64) -> (usize, usize) {
        let present = |ch: &str, uuid: &str| {
            self.channels.get(ch).and_then(|c| c.members.get(uuid)).is_some_and(|m| m.present && m.live(now))
        };
        let uuids = self.by_uuid.iter().filter(|(uuid, list)| list.iter().any(|ch| present(ch, uuid))).count();
        let channels = self
            .channels
            .values()
            .filter(|c| c.present > 0 && c.members.values().any(|m| m.present && m.live(now)))
            .count();
        (uuids, channels)
    }
}
