//! What of a keyspace outlives the process: its channel groups and its
//! member records (presence with its deadline, and state). One row form
//! serves the on-disk store (`--data-dir`) and snapshots (`/dev/snapshot`,
//! `--import`, `--export-on-exit`): a row is written from memory and
//! restored into memory here, and nowhere else.
//!
//! While a store is attached, the keyspace remembers which records and
//! groups changed since they were last taken ([`Keyspace::take_changes`]);
//! without one it remembers nothing.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use super::members::Member;
use super::{Keyspace, StateJson};

/// One member record as it is kept: which uuid on which channel, whether it
/// counts as present, its announced timeout, its deadline and its state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MemberRow {
    pub(crate) channel: String,
    pub(crate) uuid: String,
    pub(crate) present: bool,
    pub(crate) timeout_ms: u64,
    /// Absolute deadline, milliseconds since the epoch.
    pub(crate) expires_ms: u64,
    /// The state as JSON text (`None`: no state).
    pub(crate) state: Option<String>,
}

/// A change to keep: the row as it is now, or its removal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    Member { channel: String, uuid: String, row: Option<MemberRow> },
    Group { group: String, channels: Option<Vec<String>> },
}

/// The names changed since they were last taken.
#[derive(Debug, Default)]
pub(super) struct Changed {
    members: HashSet<(Arc<str>, Arc<str>)>,
    groups: BTreeSet<String>,
}

impl Keyspace {
    pub(super) fn mark_member_changed(&mut self, channel: &Arc<str>, uuid: &Arc<str>) {
        if let Some(changed) = &mut self.changed {
            changed.members.insert((Arc::clone(channel), Arc::clone(uuid)));
        }
    }

    pub(super) fn mark_group_changed(&mut self, group: &str) {
        if let Some(changed) = &mut self.changed {
            changed.groups.insert(group.to_owned());
        }
    }

    /// The changes since the last call, each as it is now (a row, or gone).
    pub(crate) fn take_changes(&mut self) -> Vec<Change> {
        let Some(changed) = self.changed.as_mut().map(std::mem::take) else { return Vec::new() };
        let mut out = Vec::with_capacity(changed.members.len() + changed.groups.len());
        for (channel, uuid) in changed.members {
            let row = self.row(&channel, &uuid);
            out.push(Change::Member { channel: channel.to_string(), uuid: uuid.to_string(), row });
        }
        for group in changed.groups {
            let channels = self.groups.get(&group).map(|set| set.iter().cloned().collect());
            out.push(Change::Group { group, channels });
        }
        out
    }

    fn row(&self, channel: &str, uuid: &str) -> Option<MemberRow> {
        let member = self.channels.get(channel)?.members.get(uuid)?;
        Some(member_row(channel, uuid, member))
    }

    /// Every member record, by channel then uuid.
    pub(crate) fn member_rows(&self) -> Vec<MemberRow> {
        self.channels
            .iter()
            .flat_map(|(channel, ch)| ch.members.iter().map(|(uuid, member)| member_row(channel, uuid, member)))
            .collect()
    }

    /// Every group with its channels, by name.
    pub(crate) fn group_rows(&self) -> Vec<(String, Vec<String>)> {
        self.groups.iter().map(|(group, set)| (group.clone(), set.iter().cloned().collect())).collect()
    }

    /// Puts kept groups and member records back (from the data directory or
    /// a snapshot).
    pub(crate) fn restore(&mut self, groups: &[(String, Vec<String>)], members: impl IntoIterator<Item = MemberRow>) {
        for (group, channels) in groups {
            self.restore_group(group, channels);
        }
        for row in members {
            self.restore_member(&row);
        }
    }

    /// Puts a kept record back, as it was: no event (its join happened
    /// before); one whose deadline has passed times out at the next
    /// [`Keyspace::fire_due`], with its `timeout` stamped at that deadline.
    fn restore_member(&mut self, row: &MemberRow) {
        let (channel, uuid) = self.record(&row.channel, &row.uuid, row.expires_ms);
        let member = self.member(&channel, &uuid);
        let was_present = member.present;
        member.present = row.present;
        member.timeout_ms = row.timeout_ms;
        member.state = row.state.as_deref().map(StateJson::from);
        self.set_expiry(&channel, &uuid, row.expires_ms);
        let ch = self.channels.get_mut(&channel).expect("record() created it");
        match (was_present, row.present) {
            (false, true) => ch.present += 1,
            (true, false) => ch.present -= 1,
            _ => {}
        }
    }

    /// Puts a kept group back (replacing one of that name).
    fn restore_group(&mut self, group: &str, channels: &[String]) {
        if channels.is_empty() {
            self.groups.remove(group);
        } else {
            self.groups.insert(group.to_owned(), channels.iter().cloned().collect());
        }
    }
}

fn member_row(channel: &str, uuid: &str, member: &Member) -> MemberRow {
    MemberRow {
        channel: channel.to_owned(),
        uuid: uuid.to_owned(),
        present: member.present,
        timeout_ms: member.timeout_ms,
        expires_ms: member.expires_ms,
        state: member.state.as_deref().map(str::to_owned),
    }
}
