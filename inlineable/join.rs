//! `join()`: be present on channels until told otherwise. A hand-written
//! module the generator copies into the crate (like smithy-rs's
//! "inlineable" code), because it is built on the generated `heartbeat`,
//! `set_state` and `leave` builders rather than on the wire.
//!
//! A client is one user (one `uuid`), and the server keeps one presence per
//! user and channel, so all the [`Presence`] handles of one [`PubNub`] client
//! share one [`ClientPresence`]: which handles hold each channel and group,
//! one current state per name, and one heartbeat loop for all of them. A
//! handle that leaves sends `leave` only for what no other handle holds.

use std::collections::{BTreeMap, BTreeSet};
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::{Error, IntoNames, PubNub};
use pubnub_presence_runtime::validate::serialized;

/// The presence timeout `join()` announces unless told otherwise (the server's default).
pub const DEFAULT_PRESENCE_TIMEOUT: Duration = Duration::from_secs(300);

/// The shortest presence timeout, in seconds (the heartbeat's `min`; PubNub's SDKs refuse less).
const MIN_PRESENCE_TIMEOUT_SECS: u32 = 20;

impl PubNub {
    /// Be present on channels and channel groups, with optional state, until
    /// the returned [`Presence`] handle leaves or is dropped.
    ///
    /// Awaiting the builder sends a first heartbeat for the handle's names (so
    /// errors such as a `403` are returned here); the client then heartbeats in
    /// the background every `timeout / 2 - 1` seconds. Needs a Tokio runtime.
    ///
    /// All handles of one client share one presence, as the server keeps one
    /// per user and channel:
    /// - one background heartbeat per interval covers every channel and group
    ///   any handle holds, however many handles there are; its interval and
    ///   `heartbeat=` come from the smallest timeout (and interval) asked;
    /// - a handle that leaves (or is dropped) sends `leave` only for the names
    ///   no other handle still holds, so watchers never see the user leave a
    ///   channel and come back;
    /// - each channel and group has one current state, carried by every
    ///   heartbeat: the latest one set wins, whether by [`Join::state`] or by
    ///   [`Presence::set_state`] on any handle, and it is dropped when the
    ///   last handle holding the name leaves.
    ///
    /// ```no_run
    /// # async fn example(pubnub: pubnub_presence::PubNub) -> Result<(), pubnub_presence::Error> {
    /// use std::time::Duration;
    /// use serde_json::json;
    ///
    /// let presence = pubnub
    ///     .join()
    ///     .channels(["lobby"])
    ///     .state(json!({"mood": "happy"}))
    ///     .timeout(Duration::from_secs(60))
    ///     .await?;
    /// presence.set_state("lobby", json!({"mood": "busy"})).await?;
    /// presence.leave().await?; // dropping the handle also leaves, in the background
    /// # Ok(())
    /// # }
    /// ```
    pub fn join(&self) -> Join {
        Join {
            pubnub: self.clone(),
            channels: Vec::new(),
            channel_groups: Vec::new(),
            state: None,
            timeout: DEFAULT_PRESENCE_TIMEOUT,
            interval: None,
        }
    }
}

/// Builder for [`PubNub::join`]; await it to become present.
#[derive(Debug, Clone)]
#[must_use = "nothing is sent until the builder is awaited"]
pub struct Join {
    pubnub: PubNub,
    channels: Vec<String>,
    channel_groups: Vec<String>,
    state: Option<Result<Value, String>>,
    timeout: Duration,
    interval: Option<Duration>,
}

impl Join {
    /// Channels to be present on. Takes one name or many.
    pub fn channels(mut self, channels: impl IntoNames) -> Self {
        self.channels = channels.into_names();
        self
    }

    /// Channel groups to be present on (on each member channel). Takes one name or many.
    pub fn channel_groups(mut self, channel_groups: impl IntoNames) -> Self {
        self.channel_groups = channel_groups.into_names();
        self
    }

    /// State to hold on every channel and group of this handle: anything that
    /// serializes to a JSON object. It replaces the state another handle of
    /// the same client set on those names (the latest state set wins).
    pub fn state(mut self, state: impl serde::Serialize) -> Self {
        self.state = Some(serde_json::to_value(state).map_err(|err| err.to_string()));
        self
    }

    /// The presence timeout: the server lets the user time out after this
    /// long without a heartbeat. Default 300 s; at least 20 s (whole seconds).
    /// The client's heartbeats announce the smallest timeout of its handles.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How often to heartbeat; default `timeout / 2 - 1` seconds, as
    /// PubNub's SDKs do. Shorter is allowed (tests use it), longer than the
    /// timeout is not. The client heartbeats at the shortest interval of its
    /// handles.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    async fn send(self) -> Result<Presence, Error> {
        let seconds = u32::try_from(self.timeout.as_secs()).unwrap_or(u32::MAX);
        // The heartbeat's own bound, named as the caller set it.
        if seconds < MIN_PRESENCE_TIMEOUT_SECS {
            return Err(Error::InvalidInput {
                parameter: "timeout",
                rule: format!("must be at least {MIN_PRESENCE_TIMEOUT_SECS} s, got {} s", self.timeout.as_secs()),
            });
        }
        let interval = self.interval.unwrap_or(Duration::from_secs(u64::from(seconds / 2).saturating_sub(1).max(1)));
        if interval.is_zero() || interval >= self.timeout {
            return Err(Error::InvalidInput {
                parameter: "heartbeat_interval",
                rule: format!("must be above zero and below the timeout ({} s)", self.timeout.as_secs()),
            });
        }
        let state = self.state.as_ref().map(|outcome| serialized("state", outcome).cloned()).transpose()?;
        // Every name rule of the heartbeat (and the URL limit), before the
        // handle is counted anywhere and before any I/O.
        self.pubnub
            .heartbeat()
            .channels(self.channels.as_slice())
            .channel_groups(self.channel_groups.as_slice())
            .heartbeat(seconds)
            .build_request()?;
        // The setters' `into_names` already kept each name once.
        let holding =
            Holding { channels: self.channels, channel_groups: self.channel_groups, timeout: seconds, interval };
        let shared = self.pubnub.client.extensions().get_or_default::<ClientPresence>();
        let id = shared.join(&self.pubnub, holding.clone(), state).await?;
        Ok(Presence { shared, pubnub: self.pubnub, id, holding, left: false })
    }
}

impl IntoFuture for Join {
    type Output = Result<Presence, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// What one handle holds, and the timing it asked for.
#[derive(Debug, Clone)]
struct Holding {
    channels: Vec<String>,
    channel_groups: Vec<String>,
    timeout: u32,
    interval: Duration,
}

/// A channel or a channel group: the two are separate namespaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Name {
    Channel(String),
    Group(String),
}

impl Holding {
    fn names(&self) -> impl Iterator<Item = Name> + '_ {
        let channels = self.channels.iter().cloned().map(Name::Channel);
        channels.chain(self.channel_groups.iter().cloned().map(Name::Group))
    }

    /// The handle's name for `name` (a channel first, then a group), if it holds one.
    fn name_of(&self, name: &str) -> Option<Name> {
        if self.channels.iter().any(|held| held == name) {
            Some(Name::Channel(name.to_owned()))
        } else if self.channel_groups.iter().any(|held| held == name) {
            Some(Name::Group(name.to_owned()))
        } else {
            None
        }
    }

    fn holds(&self, name: &Name) -> bool {
        match name {
            Name::Channel(channel) => self.channels.contains(channel),
            Name::Group(group) => self.channel_groups.contains(group),
        }
    }
}

/// The presence all [`Presence`] handles of one client share (kept in the
/// client, created on the first `join()`).
#[derive(Default)]
pub(crate) struct ClientPresence {
    /// Held while a heartbeat, join, state change or leave is on the wire,
    /// so they reach the server one at a time and in order, and while the
    /// handles change: a heartbeat reads what is held only once it holds
    /// this, so it never carries a name whose leave went out before it.
    wire: Arc<tokio::sync::Mutex<()>>,
    held: Mutex<Held>,
    /// Wakes the heartbeat loop: its schedule changed, or no handle is left.
    changed: tokio::sync::Notify,
    heartbeats: AtomicU64,
}

#[derive(Default)]
struct Held {
    handles: BTreeMap<u64, Holding>,
    next_id: u64,
    /// The current state of each name some handle holds.
    states: BTreeMap<Name, Value>,
    /// Whether the heartbeat loop runs (it ends when no handle is left).
    heartbeating: bool,
    /// When the loop last heartbeat every held name.
    last_heartbeat: Option<Instant>,
}

impl Held {
    fn holds(&self, name: &Name) -> bool {
        self.handles.values().any(|holding| holding.holds(name))
    }

    /// The loop's period and `heartbeat=`: the smallest any handle asked for.
    fn schedule(&self) -> Option<(Duration, u32)> {
        let interval = self.handles.values().map(|holding| holding.interval).min()?;
        let timeout = self.handles.values().map(|holding| holding.timeout).min()?;
        Some((interval, timeout))
    }

    /// Every held name once, channels then groups, sorted.
    fn all_names(&self) -> BTreeSet<Name> {
        self.handles.values().flat_map(Holding::names).collect()
    }
}

impl ClientPresence {
    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a handle once its first heartbeat (its own names, with their
    /// states, announcing the smallest timeout) succeeded; starts the
    /// heartbeat loop if it is not running.
    async fn join(self: &Arc<Self>, pubnub: &PubNub, holding: Holding, state: Option<Value>) -> Result<u64, Error> {
        let _wire = self.wire.lock().await;
        let (names, timeout) = {
            let held = self.held();
            let timeout = held.schedule().map_or(holding.timeout, |(_, timeout)| timeout.min(holding.timeout));
            let names: Vec<(Name, Option<Value>)> = holding
                .names()
                .map(|name| {
                    let current = state.clone().or_else(|| held.states.get(&name).cloned());
                    (name, current)
                })
                .collect();
            (names, timeout)
        };
        heartbeat(pubnub, &names, timeout).await?;
        self.heartbeats.fetch_add(1, Ordering::Relaxed);
        let mut held = self.held();
        let id = held.next_id;
        held.next_id += 1;
        held.handles.insert(id, holding);
        for (name, state) in names {
            if let Some(state) = state {
                held.states.insert(name, state);
            }
        }
        if !held.heartbeating {
            held.heartbeating = true;
            held.last_heartbeat = Some(Instant::now());
            tokio::spawn(Arc::clone(self).heartbeat_loop(pubnub.clone()));
        }
        drop(held);
        // A smaller interval may be due sooner than the loop waits.
        self.changed.notify_one();
        Ok(id)
    }

    /// One heartbeat per interval for every held name, until no handle is left.
    async fn heartbeat_loop(self: Arc<Self>, pubnub: PubNub) {
        loop {
            let due = {
                let mut held = self.held();
                match held.schedule() {
                    None => {
                        held.heartbeating = false;
                        return;
                    }
                    Some((interval, _)) => held.last_heartbeat.unwrap_or_else(Instant::now) + interval,
                }
            };
            // Woken early: the schedule changed (or no handle is left); look again.
            if tokio::time::timeout_at(due, self.changed.notified()).await.is_ok() {
                continue;
            }
            if let Err(err) = self.heartbeat_all(&pubnub).await {
                tracing::warn!(error = %err, "presence heartbeat failed; trying again next interval");
            }
        }
    }

    async fn heartbeat_all(&self, pubnub: &PubNub) -> Result<(), Error> {
        let _wire = self.wire.lock().await;
        let (names, timeout) = {
            let mut held = self.held();
            let Some((_, timeout)) = held.schedule() else { return Ok(()) };
            held.last_heartbeat = Some(Instant::now());
            let names: Vec<(Name, Option<Value>)> =
                held.all_names().into_iter().map(|name| (name.clone(), held.states.get(&name).cloned())).collect();
            (names, timeout)
        };
        heartbeat(pubnub, &names, timeout).await?;
        self.heartbeats.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Sets the state of a name the handle holds: sent at once, then carried
    /// by every heartbeat (the latest state set wins).
    async fn set_state(&self, pubnub: &PubNub, name: Name, state: Value) -> Result<(), Error> {
        let request = pubnub.set_state().state(state.clone());
        let request = match &name {
            Name::Channel(channel) => request.channels(channel.as_str()),
            Name::Group(group) => request.channel_groups(group.as_str()),
        };
        // No heartbeat (carrying the old state) can be on the wire meanwhile.
        let _wire = self.wire.lock().await;
        request.await?;
        let mut held = self.held();
        // Kept only while some handle holds the name (a leave may have come first).
        if held.holds(&name) {
            held.states.insert(name, state);
        }
        Ok(())
    }

    /// Forgets handle `id`; the names no other handle holds, with their states.
    fn release(&self, id: u64) -> Vec<Name> {
        let mut held = self.held();
        let Some(holding) = held.handles.remove(&id) else { return Vec::new() };
        let released: Vec<Name> = holding.names().filter(|name| !held.holds(name)).collect();
        for name in &released {
            held.states.remove(name);
        }
        drop(held);
        self.changed.notify_one();
        released
    }

    /// The handle `id` leaves: `leave` for the names no other handle holds.
    ///
    /// Cancel-safe: once the names are released the request goes on its own
    /// task, holding the wire, so a caller that stops waiting (a cancelled
    /// `leave()`) neither loses the leave nor lets a heartbeat pass it.
    async fn leave(&self, pubnub: &PubNub, id: u64) -> Result<(), Error> {
        let wire = Arc::clone(&self.wire).lock_owned().await;
        let released = self.release(id);
        if released.is_empty() {
            return Ok(());
        }
        let (channels, groups) = split(released.iter());
        let request = pubnub.leave().channels(channels).channel_groups(groups);
        let sending = tokio::spawn(async move {
            let _wire = wire;
            request.await
        });
        sending.await.unwrap_or_else(|stopped| {
            Err(Error::Transport { message: format!("the leave's task stopped: {stopped}"), source: None })
        })
    }
}

/// Channel names and group names, in order.
fn split<'a>(names: impl Iterator<Item = &'a Name>) -> (Vec<String>, Vec<String>) {
    let (mut channels, mut groups) = (Vec::new(), Vec::new());
    for name in names {
        match name {
            Name::Channel(channel) => channels.push(channel.clone()),
            Name::Group(group) => groups.push(group.clone()),
        }
    }
    (channels, groups)
}

/// One heartbeat for `names`, carrying the states they have.
async fn heartbeat(pubnub: &PubNub, names: &[(Name, Option<Value>)], timeout: u32) -> Result<(), Error> {
    let (channels, groups) = split(names.iter().map(|(name, _)| name));
    let mut states = Map::new();
    // Groups first: on the wire a channel's own entry wins over its group's.
    for (name, state) in names.iter().rev() {
        if let (Name::Channel(key) | Name::Group(key), Some(state)) = (name, state) {
            states.insert(key.clone(), state.clone());
        }
    }
    let mut request = pubnub.heartbeat().channels(channels).channel_groups(groups).heartbeat(timeout);
    if !states.is_empty() {
        request = request.state(states);
    }
    request.await
}

/// The user is present while this handle lives: the client heartbeats in the
/// background for all its handles. [`Presence::leave`] leaves at once;
/// dropping it leaves too, best effort, in a background task (the server
/// would otherwise see a timeout after the presence timeout). Either way,
/// only the channels and groups no other handle of the client holds are left.
#[must_use = "dropping the handle leaves at once"]
pub struct Presence {
    shared: Arc<ClientPresence>,
    pubnub: PubNub,
    id: u64,
    holding: Holding,
    left: bool,
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence")
            .field("channels", &self.holding.channels)
            .field("channel_groups", &self.holding.channel_groups)
            .field("timeout", &self.holding.timeout)
            .field("heartbeats", &self.heartbeats())
            .finish()
    }
}

impl Presence {
    /// Sets the user's state on one of this handle's channels or groups; the
    /// client's later heartbeats carry it. It is the name's one current state
    /// for every handle of the client: the latest one set wins.
    ///
    /// A name this handle did not join is an [`Error::InvalidInput`] naming
    /// `channel`, before any I/O.
    pub async fn set_state(&self, channel: &str, state: impl serde::Serialize) -> Result<(), Error> {
        let value = serialized("state", &serde_json::to_value(state).map_err(|err| err.to_string()))?.clone();
        let Some(name) = self.holding.name_of(channel) else {
            return Err(Error::InvalidInput {
                parameter: "channel",
                rule: format!("`{channel}` is not one of this handle's channels or channel groups"),
            });
        };
        self.shared.set_state(&self.pubnub, name, value).await
    }

    /// Heartbeats the client sent for its joined handles so far (each
    /// handle's first one included): one per interval, whatever the number
    /// of handles.
    pub fn heartbeats(&self) -> u64 {
        self.shared.heartbeats.load(Ordering::Relaxed)
    }

    /// Stops holding this handle's names and leaves those no other handle of
    /// the client holds, now.
    pub async fn leave(mut self) -> Result<(), Error> {
        let left = self.shared.leave(&self.pubnub, self.id).await;
        // Only now: a leave cancelled half-way is finished by Drop instead.
        self.left = true;
        left
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        if self.left {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let (shared, pubnub, id) = (Arc::clone(&self.shared), self.pubnub.clone(), self.id);
                runtime.spawn(async move {
                    if let Err(err) = shared.leave(&pubnub, id).await {
                        tracing::warn!(error = %err, "leave after dropping a Presence handle failed");
                    }
                });
            }
            // No runtime left to leave with: stop heartbeating its names; the
            // server times the user out of them.
            Err(_) => {
                self.shared.release(self.id);
            }
        }
    }
}
