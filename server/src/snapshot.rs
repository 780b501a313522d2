//! Snapshots: the server's groups and presence as one JSON document
//! (`GET /dev/snapshot`, `--export-on-exit FILE`), and loading one at start
//! (`--import FILE`) to seed a test or a demo.
//!
//! ```json
//! {"version": 1,
//!  "keyspaces": {"demo": {
//!    "groups": {"friends": ["den", "lobby"]},
//!    "presence": [{"channel": "lobby", "uuid": "alice", "present": true,
//!                  "timeout_ms": 300000, "remaining_ms": 299120, "state": {"mood": "ok"}}]}}}
//! ```
//!
//! `remaining_ms` is the time left before the record's deadline, so a
//! snapshot taken now and loaded later gives the same time to live. A record
//! with `present: false` is state kept for a uuid that is not present.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::store::{MemberRow, Store, read};

/// The snapshot format's version; a newer one is refused.
const VERSION: u64 = 1;

/// A snapshot, checked whole: every keyspace's groups and member records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    keyspaces: BTreeMap<String, KeyspaceSnapshot>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct KeyspaceSnapshot {
    groups: Vec<(String, Vec<String>)>,
    /// Member rows with `expires_ms` holding the *remaining* time.
    presence: Vec<MemberRow>,
}

impl Snapshot {
    /// Parses and checks a snapshot; nothing is applied until all of it is
    /// known to be good.
    ///
    /// # Errors
    /// A message naming the place and the problem, e.g.
    /// `keyspaces.demo.presence[2].remaining_ms: expected a whole number`.
    pub fn from_json(text: &str) -> Result<Snapshot, String> {
        let root: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let root = root.as_object().ok_or("expected a JSON object")?;
        match root.get("version").map(|v| (v, v.as_u64())) {
            Some((_, Some(VERSION))) => {}
            Some((_, Some(v))) if v > VERSION => {
                return Err(format!("version: {v} is newer than this server reads ({VERSION})"));
            }
            Some((v, _)) => return Err(format!("version: expected {VERSION}, got {v}")),
            None => return Err("version: missing".to_owned()),
        }
        if let Some(key) = root.keys().find(|k| !matches!(k.as_str(), "version" | "keyspaces")) {
            return Err(format!("{key}: unknown field (expected version, keyspaces)"));
        }
        let mut snapshot = Snapshot::default();
        let Some(keyspaces) = root.get("keyspaces") else { return Ok(snapshot) };
        let keyspaces = keyspaces.as_object().ok_or("keyspaces: expected an object of subscribe keys")?;
        for (sub_key, keyspace) in keyspaces {
            let at = format!("keyspaces.{sub_key}");
            let keyspace = object(keyspace, &at)?;
            if let Some(key) = keyspace.keys().find(|k| !matches!(k.as_str(), "groups" | "presence")) {
                return Err(format!("{at}.{key}: unknown field (expected groups, presence)"));
            }
            let mut parsed = KeyspaceSnapshot::default();
            if let Some(groups) = keyspace.get("groups") {
                for (group, channels) in object(groups, &format!("{at}.groups"))? {
                    let at = format!("{at}.groups.{group}");
                    let channels = strings(channels, &at)?;
                    if group.is_empty() {
                        return Err(format!("{at}: a group needs a name"));
                    }
                    parsed.groups.push((group.clone(), channels));
                }
            }
            if let Some(presence) = keyspace.get("presence") {
                let presence = presence.as_array().ok_or_else(|| format!("{at}.presence: expected a list"))?;
                for (i, entry) in presence.iter().enumerate() {
                    parsed.presence.push(member(entry, &format!("{at}.presence[{i}]"))?);
                }
            }
            snapshot.keyspaces.insert(sub_key.clone(), parsed);
        }
        Ok(snapshot)
    }

    /// The snapshot of everything `store` holds at `now`.
    pub(crate) fn of(store: &Store, now: u64) -> Snapshot {
        let mut snapshot = Snapshot::default();
        for sub_key in store.sub_keys() {
            let Some(keyspace) = store.existing(&sub_key) else { continue };
            let keyspace = read(&keyspace);
            let presence = keyspace
                .member_rows()
                .into_iter()
                .filter(|row| row.expires_ms > now)
                .map(|row| MemberRow { expires_ms: row.expires_ms - now, ..row })
                .collect();
            snapshot.keyspaces.insert(sub_key, KeyspaceSnapshot { groups: keyspace.group_rows(), presence });
        }
        snapshot
    }

    /// Puts the snapshot into `store`, with deadlines counted from `now`.
    pub(crate) fn apply(&self, store: &Store, now: u64) {
        for (sub_key, snapshot) in &self.keyspaces {
            let keyspace = store.keyspace(sub_key);
            let rows = snapshot
                .presence
                .iter()
                .map(|row| MemberRow { expires_ms: now.saturating_add(row.expires_ms), ..row.clone() });
            crate::store::write(&keyspace).restore(&snapshot.groups, rows);
        }
    }

    /// The JSON text (the format above).
    pub fn to_json(&self) -> String {
        let keyspaces: Map<String, Value> = self
            .keyspaces
            .iter()
            .map(|(sub_key, keyspace)| {
                let groups: Map<String, Value> =
                    keyspace.groups.iter().map(|(group, channels)| (group.clone(), json!(channels))).collect();
                let presence: Vec<Value> = keyspace
                    .presence
                    .iter()
                    .map(|row| {
                        json!({
                            "channel": row.channel,
                            "uuid": row.uuid,
                            "present": row.present,
                            "timeout_ms": row.timeout_ms,
                            "remaining_ms": row.expires_ms,
                            "state": row.state.as_deref().and_then(|s| serde_json::from_str::<Value>(s).ok()),
                        })
                    })
                    .collect();
                (sub_key.clone(), json!({"groups": groups, "presence": presence}))
            })
            .collect();
        json!({"version": VERSION, "keyspaces": keyspaces}).to_string()
    }

    /// How many member records and groups it holds.
    pub fn counts(&self) -> (usize, usize) {
        self.keyspaces.values().fold((0, 0), |(m, g), k| (m + k.presence.len(), g + k.groups.len()))
    }
}

fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, String> {
    value.as_object().ok_or_else(|| format!("{at}: expected an object"))
}

fn strings(value: &Value, at: &str) -> Result<Vec<String>, String> {
    let list = value.as_array().ok_or_else(|| format!("{at}: expected a list of channel names"))?;
    list.iter()
        .enumerate()
        .map(|(i, v)| match v.as_str() {
            Some(s) if !s.is_empty() => Ok(s.to_owned()),
            _ => Err(format!("{at}[{i}]: expected a channel name")),
        })
        .collect()
}

/// One `presence` entry; `expires_ms` of the row holds `remaining_ms`.
fn member(entry: &Value, at: &str) -> Result<MemberRow, String> {
    let entry = object(entry, at)?;
    const FIELDS: [&str; 6] = ["channel", "uuid", "present", "timeout_ms", "remaining_ms", "state"];
    if let Some(key) = entry.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!("{at}.{key}: unknown field (expected {})", FIELDS.join(", ")));
    }
    let name = |key: &str| match entry.get(key).and_then(Value::as_str) {
        Some(s) if !s.is_empty() => Ok(s.to_owned()),
        _ => Err(format!("{at}.{key}: expected a non-empty string")),
    };
    let number = |key: &str| {
        entry.get(key).and_then(Value::as_u64).ok_or_else(|| format!("{at}.{key}: expected a whole number"))
    };
    let state = match entry.get("state") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) if map.is_empty() => None,
        Some(state @ Value::Object(_)) => {
            Some(crate::store::render_state(state).map(|s| s.to_string()).unwrap_or_default())
        }
        Some(_) => return Err(format!("{at}.state: expected an object or null")),
    };
    Ok(MemberRow {
        channel: name("channel")?,
        uuid: name("uuid")?,
        present: match entry.get("present") {
            None => true,
            Some(v) => v.as_bool().ok_or_else(|| format!("{at}.present: expected true or false"))?,
        },
        timeout_ms: number("timeout_ms")?,
        expires_ms: number("remaining_ms")?,
        state,
    })
}
