//! `--data-dir`: the server's groups, states and presence kept in an
//! embedded database (redb: pure Rust, one file, ACID, crash-safe
//! copy-on-write B-trees with checksums; no C toolchain).
//!
//! One writer thread owns the database. Handlers never wait for it, except
//! for a change that must survive a crash once acknowledged (a channel-group
//! change, a state change): the request hands its keyspace's changes to the
//! writer and waits for the commit (fsync) before it answers. Everything
//! else (presence deadlines, which move with every heartbeat) is taken from
//! the keyspaces every [`FLUSH_INTERVAL`] and committed in one transaction,
//! so after a crash a deadline is at most that stale. Changes reach the
//! writer in the order they were made (taken under the keyspace's lock), and
//! each is the row as it is at that moment, so the file converges to memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::{Value, json};

use crate::store::{Change, MemberRow};

/// How often changes that need not wait (presence deadlines, joins,
/// leaves, timeouts) are committed: the most a deadline can be stale after
/// a crash.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// The schema this server writes; it refuses a store of a newer one.
const SCHEMA_VERSION: u64 = 1;
/// The database file in the data directory.
const FILE_NAME: &str = "presence.redb";

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// `["sub_key","channel","uuid"]` (a JSON array: any name, even one with a
/// NUL, keeps its parts apart) → the record as JSON.
const MEMBERS: TableDefinition<&str, &str> = TableDefinition::new("members");
/// `["sub_key","group"]` → its channels as a JSON array.
const GROUPS: TableDefinition<&str, &str> = TableDefinition::new("groups");

/// What a data directory held when it was opened.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// sub_key → member records.
    pub(crate) members: BTreeMap<String, Vec<MemberRow>>,
    /// sub_key → (group, channels).
    pub(crate) groups: BTreeMap<String, Vec<(String, Vec<String>)>>,
}

enum Message {
    /// Changes of one keyspace, in the order made.
    Changes { sub_key: String, changes: Vec<Change> },
    /// Commit everything received so far, then answer.
    Commit(tokio::sync::oneshot::Sender<Result<(), String>>),
    /// Commit, close the database (so another server can open it), answer, stop.
    Close(tokio::sync::oneshot::Sender<Result<(), String>>),
}

/// The handle of the writer thread.
#[derive(Debug)]
pub(crate) struct Journal {
    sender: mpsc::Sender<Message>,
    path: PathBuf,
    /// Transactions committed (`/metrics`).
    commits: Arc<AtomicU64>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Changes { sub_key, changes } => write!(f, "Changes({sub_key}, {})", changes.len()),
            Message::Commit(_) => f.write_str("Commit"),
            Message::Close(_) => f.write_str("Close"),
        }
    }
}

/// Opens (or creates) the store in `dir`: what it holds, and the journal
/// that keeps it. Errors name the file and the problem; nothing panics.
pub(crate) fn open(dir: &Path) -> Result<(Journal, Loaded), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
    let path = dir.join(FILE_NAME);
    let shown = path.display().to_string();
    let db = Database::create(&path).map_err(|e| format!("cannot open the store {shown}: {e}"))?;
    let loaded = prepare(&db).map_err(|e| format!("the store {shown}: {e}"))?;
    let (sender, receiver) = mpsc::channel();
    let commits = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&commits);
    std::thread::Builder::new()
        .name("presence-store".to_owned())
        .spawn(move || writer(db, receiver, &counted))
        .map_err(|e| format!("cannot start the store's writer: {e}"))?;
    Ok((Journal { sender, path, commits }, loaded))
}

/// Checks the schema (writing it into a new store) and reads everything.
fn prepare(db: &Database) -> Result<Loaded, String> {
    let txn = db.begin_write().map_err(|e| e.to_string())?;
    {
        let mut meta = txn.open_table(META).map_err(|e| e.to_string())?;
        let version = meta.get("schema").map_err(|e| e.to_string())?.map(|v| v.value());
        match version {
            None => {
                meta.insert("schema", SCHEMA_VERSION).map_err(|e| e.to_string())?;
            }
            Some(v) if v > SCHEMA_VERSION => {
                return Err(format!(
                    "written by a newer presence-server (schema {v}; this one reads up to {SCHEMA_VERSION})"
                ));
            }
            Some(_) => {}
        }
        txn.open_table(MEMBERS).map_err(|e| e.to_string())?;
        txn.open_table(GROUPS).map_err(|e| e.to_string())?;
    }
    txn.commit().map_err(|e| e.to_string())?;

    let read = db.begin_read().map_err(|e| e.to_string())?;
    let mut loaded = Loaded::default();
    let members = read.open_table(MEMBERS).map_err(|e| e.to_string())?;
    for entry in members.iter().map_err(|e| e.to_string())? {
        let (key, value) = entry.map_err(|e| e.to_string())?;
        let (sub_key, row) = member_from(key.value(), value.value())?;
        loaded.members.entry(sub_key).or_default().push(row);
    }
    let groups = read.open_table(GROUPS).map_err(|e| e.to_string())?;
    for entry in groups.iter().map_err(|e| e.to_string())? {
        let (key, value) = entry.map_err(|e| e.to_string())?;
        let (sub_key, group): (String, String) = serde_json::from_str(key.value())
            .map_err(|e| format!("a group key that is not [subscribe key, group] ({e}): {:?}", key.value()))?;
        let channels: Vec<String> = serde_json::from_str(value.value())
            .map_err(|e| format!("group {group:?} of {sub_key:?}: not a list of channels ({e})"))?;
        loaded.groups.entry(sub_key).or_default().push((group, channels));
    }
    Ok(loaded)
}

fn member_key(sub_key: &str, channel: &str, uuid: &str) -> String {
    json!([sub_key, channel, uuid]).to_string()
}

fn group_key(sub_key: &str, group: &str) -> String {
    json!([sub_key, group]).to_string()
}

fn member_value(row: &MemberRow) -> String {
    let state: Value = match &row.state {
        Some(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        None => Value::Null,
    };
    json!({"present": row.present, "timeout_ms": row.timeout_ms, "expires_ms": row.expires_ms, "state": state})
        .to_string()
}

fn member_from(key: &str, value: &str) -> Result<(String, MemberRow), String> {
    let (sub_key, channel, uuid): (String, String, String) = serde_json::from_str(key)
        .map_err(|e| format!("a member key that is not [subscribe key, channel, uuid] ({e}): {key:?}"))?;
    let bad = |what: &str| format!("member {uuid:?} on {channel:?} of {sub_key:?}: {what}");
    let v: Value = serde_json::from_str(value).map_err(|e| bad(&format!("not JSON ({e})")))?;
    let number = |name: &str| v.get(name).and_then(Value::as_u64).ok_or_else(|| bad(&format!("no `{name}` number")));
    let row = MemberRow {
        channel: channel.clone(),
        uuid: uuid.clone(),
        present: v.get("present").and_then(Value::as_bool).ok_or_else(|| bad("no `present` flag"))?,
        timeout_ms: number("timeout_ms")?,
        expires_ms: number("expires_ms")?,
        state: match v.get("state") {
            None | Some(Value::Null) => None,
            Some(state) => Some(state.to_string()),
        },
    };
    Ok((sub_key, row))
}

/// The writer thread: gathers changes as they come (the latest value per
/// key) and commits them when asked: by a request whose change must be on
/// disk before it is answered, and by the server's flush every
/// [`FLUSH_INTERVAL`]. Everything already queued joins the same commit.
fn writer(db: Database, receiver: mpsc::Receiver<Message>, commits: &AtomicU64) {
    let mut pending = Pending::default();
    let mut waiting: Vec<tokio::sync::oneshot::Sender<Result<(), String>>> = Vec::new();
    while let Ok(first) = receiver.recv() {
        let mut closing = None;
        for message in std::iter::once(first).chain(std::iter::from_fn(|| receiver.try_recv().ok())) {
            match message {
                Message::Changes { sub_key, changes } => pending.add(&sub_key, changes),
                Message::Commit(ack) => waiting.push(ack),
                Message::Close(ack) => closing = Some(ack),
            }
        }
        if waiting.is_empty() && closing.is_none() {
            continue;
        }
        let outcome = pending.commit(&db, commits);
        if let Err(e) = &outcome {
            tracing::error!("the store could not commit: {e}");
        }
        for ack in waiting.drain(..) {
            let _ = ack.send(outcome.clone());
        }
        if let Some(ack) = closing {
            // Closed before answering, so another server can open the file at once.
            drop(db);
            let _ = ack.send(outcome);
            return;
        }
    }
    // Every handle dropped without a close (the server was dropped, not shut down).
    let _ = pending.commit(&db, commits);
}

/// Values not yet committed: the latest per key (`None`: delete).
#[derive(Default)]
struct Pending {
    members: BTreeMap<String, Option<String>>,
    groups: BTreeMap<String, Option<String>>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.members.is_empty() && self.groups.is_empty()
    }

    fn add(&mut self, sub_key: &str, changes: Vec<Change>) {
        for change in changes {
            match change {
                Change::Member { channel, uuid, row } => {
                    self.members.insert(member_key(sub_key, &channel, &uuid), row.as_ref().map(member_value));
                }
                Change::Group { group, channels } => {
                    self.groups.insert(group_key(sub_key, &group), channels.map(|c| Value::from(c).to_string()));
                }
            }
        }
    }

    /// Writes the pending values in one transaction (fsync on commit).
    fn commit(&mut self, db: &Database, commits: &AtomicU64) -> Result<(), String> {
        if self.is_empty() {
            return Ok(());
        }
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        for (definition, values) in [(MEMBERS, &mut self.members), (GROUPS, &mut self.groups)] {
            let mut table = txn.open_table(definition).map_err(|e| e.to_string())?;
            for (key, value) in std::mem::take(values) {
                match value {
                    Some(value) => table.insert(key.as_str(), value.as_str()).map(drop),
                    None => table.remove(key.as_str()).map(drop),
                }
                .map_err(|e| e.to_string())?;
            }
        }
        txn.commit().map_err(|e| e.to_string())?;
        commits.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl Journal {
    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Transactions committed so far.
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Hands a keyspace's changes to the writer (call under its lock, so
    /// changes arrive in the order made).
    pub(crate) fn record(&self, sub_key: &str, changes: Vec<Change>) {
        if !changes.is_empty() {
            let _ = self.sender.send(Message::Changes { sub_key: sub_key.to_owned(), changes });
        }
    }

    /// Commits what is left and closes the database; later changes are dropped.
    pub(crate) async fn close(&self) -> Result<(), String> {
        let (ack, done) = tokio::sync::oneshot::channel();
        self.sender.send(Message::Close(ack)).map_err(|_| "the store's writer has stopped".to_owned())?;
        done.await.map_err(|_| "the store's writer has stopped".to_owned())?
    }

    /// Waits until everything handed over so far is committed.
    pub(crate) async fn commit(&self) -> Result<(), String> {
        let (ack, done) = tokio::sync::oneshot::channel();
        self.sender.send(Message::Commit(ack)).map_err(|_| "the store's writer has stopped".to_owned())?;
        done.await.map_err(|_| "the store's writer has stopped".to_owned())?
    }
}
