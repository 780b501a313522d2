//! Channel groups: named sets of channels, expanded into their members
//! wherever a request names a group; a change wakes the polls watching it.

use std::collections::BTreeSet;

use super::Keyspace;

impl Keyspace {
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

    /// Adds channels to a group (creating it).
    pub(crate) fn group_add(&mut self, group: &str, channels: &[String]) {
        let set = self.groups.entry(group.to_owned()).or_default();
        set.extend(channels.iter().cloned());
        self.events.group_changed(group);
        self.mark_group_changed(group);
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
        self.mark_group_changed(group);
    }

    /// Deletes a group.
    pub(crate) fn group_delete(&mut self, group: &str) {
        self.groups.remove(group);
        self.events.group_changed(group);
        self.mark_group_changed(group);
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
