//! `presence_view()`: an always-current member set per channel, kept by
//! merging a here_now snapshot with presence events (like Phoenix Presence,
//! Supabase's `presenceState()` or Ably's `presence.get()`). A hand-written
//! module the generator copies into the crate, built on the generated
//! `presence_events` stream and `here_now` paging.

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use serde_json::Value;
use tokio::sync::mpsc;

use crate::{Error, HereNowResult, IntoNames, PresenceEvent, PresenceEvents, PubNub};
use pubnub_presence_runtime::stream::{Stream, Subscription};

impl PubNub {
    /// A live view of who is on channels (and the member channels of
    /// channel groups), with their state: a snapshot kept current by
    /// presence events.
    ///
    /// Awaiting the builder handshakes the event stream first, then takes
    /// the here_now snapshot (all pages), so no event between the two is
    /// lost. Events from before the snapshot are applied again,
    /// idempotently: a join of a member the snapshot has, or a leave of one
    /// it lacks, changes nothing (a leave and a rejoin that both happened
    /// before the snapshot show as a brief `Left` and `Joined`). The
    /// view then applies every event in the background and re-synchronises
    /// from here_now (emitting the difference as one
    /// [`PresenceChange::Resynced`]) on `here_now_refresh`, after a
    /// reconnect, or when an event's `occupancy` disagrees with the view.
    /// Needs a Tokio runtime. Like the event stream, the handshake retries
    /// while the server is unreachable; bound the wait with
    /// `tokio::time::timeout` if you need to.
    ///
    /// ```no_run
    /// # async fn example(pubnub: pubnub_presence::PubNub) -> Result<(), pubnub_presence::Error> {
    /// let mut lobby = pubnub.presence_view().channels(["lobby"]).include_state(true).await?;
    /// println!("{} here", lobby.occupancy("lobby"));
    /// for member in lobby.members("lobby") {
    ///     println!("{} {:?}", member.uuid, member.state);
    /// }
    /// while let Some(change) = lobby.changes().next().await {
    ///     println!("{:?}", change?);
    ///     println!("now {} here", lobby.occupancy("lobby"));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn presence_view(&self) -> PresenceViewBuilder {
        PresenceViewBuilder {
            pubnub: self.clone(),
            channels: Vec::new(),
            channel_groups: Vec::new(),
            include_state: false,
        }
    }
}

/// Builder for [`PubNub::presence_view`]; await it for a synchronised view.
#[derive(Debug, Clone)]
#[must_use = "nothing happens until the builder is awaited"]
pub struct PresenceViewBuilder {
    pubnub: PubNub,
    channels: Vec<String>,
    channel_groups: Vec<String>,
    include_state: bool,
}

impl PresenceViewBuilder {
    /// Channels to watch. Takes one name or many.
    pub fn channels(mut self, channels: impl IntoNames) -> Self {
        self.channels = channels.into_names();
        self
    }

    /// Channel groups to watch (each member channel gets its own member set).
    pub fn channel_groups(mut self, channel_groups: impl IntoNames) -> Self {
        self.channel_groups = channel_groups.into_names();
        self
    }

    /// Keep each member's state too (here_now with state). Default `false`.
    pub fn include_state(mut self, include_state: bool) -> Self {
        self.include_state = include_state;
        self
    }

    async fn start(self) -> Result<PresenceView, Error> {
        let events = self
            .pubnub
            .presence_events()
            .channels(self.channels.as_slice())
            .channel_groups(self.channel_groups.as_slice());
        let mut subscription = events.subscribe();
        // The cursor first: every event after it reaches the view, including
        // those the snapshot below already reflects (applied idempotently).
        subscription.handshake().await?;
        let snapshot = self.snapshot().await?;
        let shared = Arc::new(RwLock::new(Members::default()));
        write(&shared).replace(&snapshot);
        let (sender, receiver) = mpsc::unbounded_channel();
        let listening = Arc::new(AtomicBool::new(false));
        let changes = ChangeSender { sender, listening: Arc::clone(&listening) };
        let task = tokio::spawn(run(subscription, self, Arc::clone(&shared), changes));
        Ok(PresenceView { shared, changes: Changes { receiver, listening }, task })
    }
}

impl IntoFuture for PresenceViewBuilder {
    type Output = Result<PresenceView, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.start())
    }
}

/// One member of a channel in a [`PresenceView`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Member {
    /// The user's id.
    pub uuid: String,
    /// The user's state on the channel, when the view keeps state and the user has one.
    pub state: Option<Value>,
}

/// Why a member left a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaveReason {
    /// The user left (`leave`).
    Leave,
    /// The user timed out.
    Timeout,
}

/// A change of a [`PresenceView`]'s member sets, in the order applied.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PresenceChange {
    /// A user joined a channel.
    Joined {
        /// The channel.
        channel: String,
        /// The user.
        uuid: String,
    },
    /// A user left a channel.
    Left {
        /// The channel.
        channel: String,
        /// The user.
        uuid: String,
        /// Why.
        reason: LeaveReason,
    },
    /// A member's state changed.
    Updated {
        /// The channel.
        channel: String,
        /// The user.
        uuid: String,
        /// The new state.
        state: Option<Value>,
    },
    /// The view was re-synchronised from here_now; these are the differences
    /// it found (never empty: a resync that finds none is not reported).
    Resynced {
        /// Users who were missing, per channel.
        joined: BTreeMap<String, Vec<String>>,
        /// Users who were gone, per channel.
        left: BTreeMap<String, Vec<String>>,
        /// Users whose state differed, per channel.
        updated: BTreeMap<String, Vec<String>>,
    },
}

/// A live member set per channel. Reads never touch the network; a
/// background task applies events. Dropping the view stops it.
///
/// Memory: about 145 bytes per member with a 36-byte uuid and no state;
/// a small state object (two keys) brings it to about 790 bytes, as
/// `serde_json::Value` (measured in docs/BENCHMARKS.md).
#[derive(Debug)]
pub struct PresenceView {
    shared: Arc<RwLock<Members>>,
    changes: Changes,
    task: tokio::task::JoinHandle<()>,
}

impl PresenceView {
    /// The members of `channel`, by uuid.
    pub fn members(&self, channel: &str) -> Vec<Member> {
        self.reader().members(channel)
    }

    /// How many users are on `channel` (as the view knows it).
    pub fn occupancy(&self, channel: &str) -> usize {
        self.reader().occupancy(channel)
    }

    /// Whether `uuid` is on `channel`.
    pub fn is_present(&self, channel: &str, uuid: &str) -> bool {
        self.reader().is_present(channel, uuid)
    }

    /// The channels the view knows, with their members' states.
    pub fn snapshot(&self) -> BTreeMap<String, BTreeMap<String, Option<Value>>> {
        self.reader().snapshot()
    }

    /// Whether the view is synchronised: true once the first snapshot is in,
    /// false while it re-synchronises from here_now.
    pub fn sync_complete(&self) -> bool {
        self.reader().sync_complete()
    }

    /// A handle that reads the view's members without borrowing the view,
    /// for another task (or while [`PresenceView::changes`] is borrowed).
    /// Once the view is dropped it keeps the last members it had.
    ///
    /// ```no_run
    /// # async fn example(pubnub: pubnub_presence::PubNub) -> Result<(), pubnub_presence::Error> {
    /// let mut view = pubnub.presence_view().channels("lobby").await?;
    /// let reader = view.reader();
    /// while let Some(change) = view.changes().next().await {
    ///     println!("{:?}: {} here", change?, reader.occupancy("lobby"));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn reader(&self) -> PresenceReader {
        PresenceReader { shared: Arc::clone(&self.shared) }
    }

    /// The changes, as they are applied: a `futures_core::Stream` (or `.next().await`).
    /// Changes are queued from the first call on (a view that is only read
    /// queues nothing), so drain it once you call it. An error item reports
    /// a stream or resync error; after a `400`/`403` the stream ends and
    /// the view stops changing.
    pub fn changes(&mut self) -> &mut Changes {
        self.changes.listening.store(true, Ordering::Relaxed);
        &mut self.changes
    }
}

/// Reads a [`PresenceView`]'s members; from [`PresenceView::reader`].
#[derive(Debug, Clone)]
pub struct PresenceReader {
    shared: Arc<RwLock<Members>>,
}

impl PresenceReader {
    /// The members of `channel`, by uuid.
    pub fn members(&self, channel: &str) -> Vec<Member> {
        read(&self.shared)
            .channels
            .get(channel)
            .map(|members| {
                members.iter().map(|(uuid, state)| Member { uuid: uuid.clone(), state: state.clone() }).collect()
            })
            .unwrap_or_default()
    }

    /// How many users are on `channel` (as the view knows it).
    pub fn occupancy(&self, channel: &str) -> usize {
        read(&self.shared).channels.get(channel).map_or(0, BTreeMap::len)
    }

    /// Whether `uuid` is on `channel`.
    pub fn is_present(&self, channel: &str, uuid: &str) -> bool {
        read(&self.shared).channels.get(channel).is_some_and(|members| members.contains_key(uuid))
    }

    /// The channels the view knows, with their members' states.
    pub fn snapshot(&self) -> BTreeMap<String, BTreeMap<String, Option<Value>>> {
        read(&self.shared).channels.clone()
    }

    /// Whether the view is synchronised (see [`PresenceView::sync_complete`]).
    pub fn sync_complete(&self) -> bool {
        read(&self.shared).synced
    }
}

impl Drop for PresenceView {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The changes of a [`PresenceView`]: a `futures_core::Stream` of [`PresenceChange`]s.
#[derive(Debug)]
pub struct Changes {
    receiver: mpsc::UnboundedReceiver<Result<PresenceChange, Error>>,
    listening: Arc<AtomicBool>,
}

/// The task's end of [`Changes`]: queues only once someone listens.
struct ChangeSender {
    sender: mpsc::UnboundedSender<Result<PresenceChange, Error>>,
    listening: Arc<AtomicBool>,
}

impl ChangeSender {
    /// Queues `change` if the view listens; false once the view is gone.
    fn send(&self, change: Result<PresenceChange, Error>) -> bool {
        if self.sender.is_closed() {
            return false;
        }
        if self.listening.load(Ordering::Relaxed) {
            let _ = self.sender.send(change);
        }
        true
    }
}

impl Changes {
    /// The next change, or `None` once the view has stopped.
    pub async fn next(&mut self) -> Option<Result<PresenceChange, Error>> {
        self.receiver.recv().await
    }
}

impl Stream for Changes {
    type Item = Result<PresenceChange, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}

#[derive(Debug, Default)]
struct Members {
    channels: BTreeMap<String, BTreeMap<String, Option<Value>>>,
    /// Not re-synchronising right now.
    synced: bool,
    /// The first snapshot is in (later ones report their difference).
    initialized: bool,
}

impl Members {
    /// Replaces everything with a here_now snapshot; returns the difference.
    fn replace(&mut self, snapshot: &HereNowResult) -> Option<PresenceChange> {
        let mut next: BTreeMap<String, BTreeMap<String, Option<Value>>> = BTreeMap::new();
        for (name, channel) in &snapshot.channels {
            let members = next.entry(name.clone()).or_default();
            for occupant in &channel.occupants {
                members.insert(occupant.uuid.clone(), occupant.state.clone());
            }
        }
        let (mut joined, mut left, mut updated) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let empty = BTreeMap::new();
        let names: std::collections::BTreeSet<&String> = self.channels.keys().chain(next.keys()).collect();
        for name in names {
            let before = self.channels.get(name).unwrap_or(&empty);
            let after = next.get(name).unwrap_or(&empty);
            let j: Vec<String> = after.keys().filter(|u| !before.contains_key(*u)).cloned().collect();
            let l: Vec<String> = before.keys().filter(|u| !after.contains_key(*u)).cloned().collect();
            let u: Vec<String> =
                after.iter().filter(|(u, s)| before.get(*u).is_some_and(|b| b != *s)).map(|(u, _)| u.clone()).collect();
            for (list, into) in [(j, &mut joined), (l, &mut left), (u, &mut updated)] {
                if !list.is_empty() {
                    into.insert(name.clone(), list);
                }
            }
        }
        let first = !self.initialized;
        self.channels = next;
        self.synced = true;
        self.initialized = true;
        let changed = !(joined.is_empty() && left.is_empty() && updated.is_empty());
        (changed && !first).then_some(PresenceChange::Resynced { joined, left, updated })
    }

    /// Sets the state of a member the view has (a state read after its join).
    fn set_state(&mut self, channel: &str, uuid: &str, state: Option<Value>) -> Option<PresenceChange> {
        update_state(self.channels.get_mut(channel)?, channel, uuid, state)
    }

    /// Applies one event; returns what changed, and whether the view now
    /// disagrees with the event's occupancy (time to re-synchronise).
    fn apply(&mut self, event: &PresenceEvent, include_state: bool) -> (Vec<PresenceChange>, bool) {
        let mut changes = Vec::new();
        let (Some(channel), Some(occupancy)) = (event.channel(), event.occupancy()) else { return (changes, false) };
        let channel = channel.to_owned();
        let members = self.channels.entry(channel.clone()).or_default();
        let kept = |state: &Option<Value>| if include_state { no_empty(state.clone()) } else { None };
        let join = |members: &mut BTreeMap<String, Option<Value>>,
                    uuid: &str,
                    state: Option<Value>,
                    changes: &mut Vec<PresenceChange>| {
            if !members.contains_key(uuid) {
                members.insert(uuid.to_owned(), state);
                changes.push(PresenceChange::Joined { channel: channel.clone(), uuid: uuid.to_owned() });
            }
        };
        let leave = |members: &mut BTreeMap<String, Option<Value>>,
                     uuid: &str,
                     reason: LeaveReason,
                     changes: &mut Vec<PresenceChange>| {
            if members.remove(uuid).is_some() {
                changes.push(PresenceChange::Left { channel: channel.clone(), uuid: uuid.to_owned(), reason });
            }
        };
        let mut refresh = false;
        match event {
            PresenceEvent::Join(e) => join(members, &e.uuid, kept(&e.state), &mut changes),
            PresenceEvent::Leave(e) => leave(members, &e.uuid, LeaveReason::Leave, &mut changes),
            PresenceEvent::Timeout(e) => leave(members, &e.uuid, LeaveReason::Timeout, &mut changes),
            PresenceEvent::StateChange(e) => {
                let state = kept(&e.state);
                if members.contains_key(&e.uuid) {
                    changes.extend(update_state(members, &channel, &e.uuid, state));
                } else {
                    // A state change of someone the view does not have: they are present.
                    join(members, &e.uuid, state, &mut changes);
                }
            }
            PresenceEvent::Interval(e) => {
                for uuid in &e.joined {
                    join(members, uuid, None, &mut changes);
                }
                for uuid in &e.left {
                    leave(members, uuid, LeaveReason::Leave, &mut changes);
                }
                for uuid in &e.timed_out {
                    leave(members, uuid, LeaveReason::Timeout, &mut changes);
                }
                refresh = e.here_now_refresh;
            }
            _ => {}
        }
        // An interval event's occupancy is authoritative; for the others it
        // is checked only when the event changed the view (an event already
        // reflected in a newer snapshot carries an older count).
        let checked = matches!(event, PresenceEvent::Interval(_)) || !changes.is_empty();
        let disagrees = checked && u64::try_from(members.len()).unwrap_or(u64::MAX) != occupancy;
        (changes, refresh || disagrees)
    }
}

/// Sets a member's state on one channel: the change, if it was another (or
/// `None` when the channel has no such member).
fn update_state(
    members: &mut BTreeMap<String, Option<Value>>,
    channel: &str,
    uuid: &str,
    state: Option<Value>,
) -> Option<PresenceChange> {
    let current = members.get_mut(uuid)?;
    if *current == state {
        return None;
    }
    current.clone_from(&state);
    Some(PresenceChange::Updated { channel: channel.to_owned(), uuid: uuid.to_owned(), state })
}

/// The view's merge rules without the network, for the benchmark that
/// measures memory per member and the time to apply an event. Not API: it
/// exists only with the `bench-internals` feature, which this repository's
/// benchmarks turn on.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
#[derive(Debug)]
pub struct MergeForBench(Members);

#[cfg(feature = "bench-internals")]
impl MergeForBench {
    /// A view holding `snapshot`.
    pub fn new(snapshot: &HereNowResult) -> Self {
        let mut members = Members::default();
        members.replace(snapshot);
        MergeForBench(members)
    }

    /// Applies one event; the number of changes.
    pub fn apply(&mut self, event: &PresenceEvent) -> usize {
        self.0.apply(event, true).0.len()
    }
}

/// The builder is also what the view re-reads here_now with.
impl PresenceViewBuilder {
    async fn snapshot(&self) -> Result<HereNowResult, Error> {
        self.pubnub
            .here_now()
            .channels(self.channels.as_slice())
            .channel_groups(self.channel_groups.as_slice())
            .include_state(self.include_state)
            .all_pages()
            .await
    }

    /// Every member's state on one channel (all pages).
    async fn states_on(&self, channel: &str) -> Result<BTreeMap<String, Option<Value>>, Error> {
        let answer = self.pubnub.here_now().channels(channel).include_state(true).all_pages().await?;
        let occupants = answer.channels.get(channel).map(|entry| entry.occupants.as_slice()).unwrap_or_default();
        Ok(occupants.iter().map(|occupant| (occupant.uuid.clone(), no_empty(occupant.state.clone()))).collect())
    }

    /// One member's state on one channel; `None` for none (`{}`), as here_now shows it.
    async fn state_of(&self, channel: &str, uuid: &str) -> Result<Option<Value>, Error> {
        let answer = self.pubnub.get_state().channels(channel).uuid(uuid).await?;
        Ok(no_empty(answer.channels.get(channel).cloned()))
    }
}

/// `{}` is no state, as here_now shows it.
fn no_empty(state: Option<Value>) -> Option<Value> {
    state.filter(|state| state.as_object().is_none_or(|object| !object.is_empty()))
}

/// Whether the view holds a state for `uuid` on `channel`.
fn has_state(shared: &RwLock<Members>, channel: &str, uuid: &str) -> bool {
    read(shared).channels.get(channel).and_then(|members| members.get(uuid)).is_some_and(Option::is_some)
}

fn read(shared: &RwLock<Members>) -> std::sync::RwLockReadGuard<'_, Members> {
    shared.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write(shared: &RwLock<Members>) -> std::sync::RwLockWriteGuard<'_, Members> {
    shared.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The background task: applies events, re-synchronises when needed.
async fn run(
    mut subscription: Subscription<PresenceEvents>,
    source: PresenceViewBuilder,
    shared: Arc<RwLock<Members>>,
    changes: ChangeSender,
) {
    loop {
        // A reconnect is noticed even when its first answer brings no event.
        let next = std::future::poll_fn(|cx| match Pin::new(&mut subscription).poll_next(cx) {
            Poll::Ready(item) => Poll::Ready(Some(item)),
            Poll::Pending if subscription.take_reconnected() => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        })
        .await;
        let mut resync = subscription.take_reconnected();
        match next {
            // The stream ended (after its last error item).
            Some(None) => return,
            None => resync = true,
            Some(Some(Ok(event))) => {
                let (mut applied, disagrees) = write(&shared).apply(&event, source.include_state);
                // A join tells no state (PubNub sends none for a state set
                // before joining): read it, so the view matches here_now.
                if source.include_state {
                    // By channel: one `get_state` for a lone joiner, one here_now page
                    // walk for many (an interval event's deltas).
                    let mut stateless: BTreeMap<String, Vec<String>> = BTreeMap::new();
                    for change in &applied {
                        if let PresenceChange::Joined { channel, uuid } = change
                            && !has_state(&shared, channel, uuid)
                        {
                            stateless.entry(channel.clone()).or_default().push(uuid.clone());
                        }
                    }
                    for (channel, uuids) in stateless {
                        let states = match uuids.as_slice() {
                            [uuid] => source
                                .state_of(&channel, uuid)
                                .await
                                .map(|state| BTreeMap::from([(uuid.clone(), state)])),
                            _ => source.states_on(&channel).await,
                        };
                        match states {
                            Ok(mut states) => {
                                for uuid in &uuids {
                                    let state = states.remove(uuid).flatten();
                                    applied.extend(write(&shared).set_state(&channel, uuid, state));
                                }
                            }
                            // The snapshot will have them.
                            Err(_) => resync = true,
                        }
                    }
                }
                for change in applied {
                    if !changes.send(Ok(change)) {
                        return;
                    }
                }
                resync |= disagrees;
            }
            Some(Some(Err(err))) => {
                // An item that did not decode is an event the view missed.
                resync |= matches!(err, Error::Decode { .. });
                if !changes.send(Err(err)) {
                    return;
                }
            }
        }
        if resync && !resynchronise(&source, &shared, &changes).await {
            return;
        }
    }
}

/// Re-reads here_now until it answers (backing off 1 s … 30 s, reporting the
/// first failure) and reports the difference; false once the view is gone.
async fn resynchronise(source: &PresenceViewBuilder, shared: &RwLock<Members>, changes: &ChangeSender) -> bool {
    write(shared).synced = false;
    let mut delay = std::time::Duration::from_secs(1);
    let mut reported = false;
    loop {
        match source.snapshot().await {
            Ok(snapshot) => {
                let difference = write(shared).replace(&snapshot);
                return difference.is_none_or(|difference| changes.send(Ok(difference)));
            }
            Err(err) => {
                if !reported && !changes.send(Err(err)) {
                    return false;
                }
                reported = true;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(30));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    /// Decodes a subscribe answer (recorded shapes) into its events.
    fn events(body: &str) -> Vec<PresenceEvent> {
        let pubnub = PubNub::new(Config::new("demo").user_id("test"));
        let answer = pubnub.presence_events().channels("demo").decode_response(200, body).unwrap();
        answer.items.into_iter().map(|item| item.unwrap().item).collect()
    }

    fn members(view: &Members, channel: &str) -> Vec<String> {
        view.channels.get(channel).map(|m| m.keys().cloned().collect()).unwrap_or_default()
    }

    fn snapshot(channel: &str, uuids: &[&str]) -> HereNowResult {
        let body = serde_json::json!({"status": 200, "occupancy": uuids.len(), "uuids": uuids});
        let pubnub = PubNub::new(Config::new("demo").user_id("test"));
        pubnub.here_now().channels(channel).decode_response(200, body.to_string()).unwrap()
    }

    #[test]
    fn interval_deltas_apply_and_their_occupancy_is_checked() {
        // The shape of presence_event_interval_with_join_delta: occupancy 3, `join` delta.
        let body = r#"{"t":{"t":"14909585950936138","r":2},"m":[{"a":"4","f":0,"p":{"t":"14909585950936138","r":1},"k":"demo","c":"demo-pnpres","d":{"action": "interval", "timestamp": 1490958595, "occupancy": 3, "join": ["c", "d"], "leave": ["a"]}}]}"#;
        let mut view = Members::default();
        view.replace(&snapshot("demo", &["a", "b"]));
        let (changes, resync) = view.apply(&events(body)[0], false);
        assert_eq!(members(&view, "demo"), ["b", "c", "d"]);
        assert_eq!(changes.len(), 3);
        assert!(!resync, "3 members, occupancy 3");
        // The same deltas against a view that missed someone: the count disagrees.
        let mut behind = Members::default();
        behind.replace(&snapshot("demo", &["a"]));
        let (_, resync) = behind.apply(&events(body)[0], false);
        assert!(resync, "2 members but occupancy 3: re-synchronise");
    }

    #[test]
    fn a_redelivered_or_already_reflected_event_changes_nothing() {
        let join = r#"{"t":{"t":"17579694350000000","r":43},"m":[{"a":"5","f":0,"p":{"t":"17579694347952403","r":41},"k":"demo","c":"demo-pnpres","d":{"action":"join","uuid":"david","timestamp":1757969434,"precise_timestamp":1757969434795,"occupancy":1},"b":"demo-pnpres"}]}"#;
        let mut view = Members::default();
        view.replace(&snapshot("demo", &[]));
        let (first, _) = view.apply(&events(join)[0], false);
        assert_eq!(first, [PresenceChange::Joined { channel: "demo".into(), uuid: "david".into() }]);
        let (again, resync) = view.apply(&events(join)[0], false);
        assert!(again.is_empty() && !resync, "a redelivery is a no-op");
        // A snapshot that already has david, then the join (older than the
        // snapshot, and than the cursor): nothing changes, no resync even
        // though the event's occupancy is older than the view's.
        let mut later = Members::default();
        later.replace(&snapshot("demo", &["david", "eve"]));
        let (changes, resync) = later.apply(&events(join)[0], false);
        assert!(changes.is_empty() && !resync);
    }

    #[test]
    fn timeouts_and_leaves_say_why_and_a_resync_reports_the_difference() {
        let timeout = r#"{"t":{"t":"17579704036791392","r":43},"m":[{"a":"5","f":0,"p":{"t":"17579704036791392","r":23},"k":"demo","c":"demo-pnpres","d":{"action":"timeout","uuid":"david","timestamp":1757970403,"precise_timestamp":1757970403676,"data":{},"occupancy":0},"b":"demo-pnpres"}]}"#;
        let mut view = Members::default();
        assert!(view.replace(&snapshot("demo", &["david"])).is_none(), "the first snapshot is no change");
        let (changes, _) = view.apply(&events(timeout)[0], true);
        assert_eq!(
            changes,
            [PresenceChange::Left { channel: "demo".into(), uuid: "david".into(), reason: LeaveReason::Timeout }]
        );
        // As the view's task does: not synced while it re-reads here_now.
        view.synced = false;
        let resynced = view.replace(&snapshot("demo", &["eve"])).unwrap();
        assert!(view.synced);
        let PresenceChange::Resynced { joined, left, updated } = resynced else { panic!("{resynced:?}") };
        assert_eq!(joined["demo"], ["eve"]);
        assert!(left.is_empty() && updated.is_empty());
    }
}
