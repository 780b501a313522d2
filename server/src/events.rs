//! Presence events (docs/PROTOCOL.md §9): timetokens, the per-channel history that
//! long-polls read from, waking held polls, and the envelope JSON.
//!
//! Every event is rendered once, when it happens, up to its `b` key; a poll
//! only appends `b` (which depends on what that poll asked for) and the
//! closing brace, so a thousand watchers cost a thousand small copies.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use tokio::sync::Notify;

use crate::json::{write_str, write_str_array};

/// Events kept per channel for subscribers that are behind (the real
/// service keeps about 100). A subscriber more than this many events behind
/// on one channel misses the oldest of them, as with PubNub.
pub(crate) const HISTORY_PER_CHANNEL: usize = 100;

/// Most events in one subscribe answer; the rest come with the next poll.
pub(crate) const MAX_EVENTS_PER_ANSWER: usize = 100;

/// How long a channel's history is kept once nothing happens on it (the real
/// service keeps messages 20 minutes).
pub(crate) const HISTORY_RETENTION_MS: u64 = 20 * 60 * 1000;

/// Suffix that turns a channel or group name into its presence name.
pub(crate) const PRESENCE_SUFFIX: &str = "-pnpres";

/// Delta lists in an interval event are replaced by `here_now_refresh` above
/// this many bytes (docs/PROTOCOL.md §9.7: "~30 KB").
pub(crate) const MAX_INTERVAL_DELTA_BYTES: usize = 30 * 1024;

/// Timetokens: 17-digit counts of 100 ns since the Unix epoch, taken from the
/// server's clock and strictly increasing across the whole server, so each
/// event has its own and a cursor orders every event before or after it.
#[derive(Debug, Default)]
pub(crate) struct Timetokens {
    last: AtomicU64,
}

impl Timetokens {
    /// A cursor that every later event is after: the last timetoken handed
    /// out, or the clock's if that is later. It is remembered, so an event
    /// stamped afterwards from an earlier clock reading (a request that read
    /// the clock, then waited for the lock) still comes after it.
    pub(crate) fn cursor(&self, now_ms: u64) -> u64 {
        let clock = from_millis(now_ms);
        self.last.fetch_max(clock, Ordering::SeqCst).max(clock)
    }

    /// A new timetoken, later than every cursor given out before.
    pub(crate) fn next(&self, now_ms: u64) -> u64 {
        let clock = from_millis(now_ms);
        let previous = self
            .last
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(last.max(clock).saturating_add(1)))
            .unwrap_or_else(|last| last);
        previous.max(clock).saturating_add(1)
    }
}

/// Milliseconds since the epoch as a timetoken.
pub(crate) fn from_millis(ms: u64) -> u64 {
    ms.saturating_mul(10_000)
}

/// What happened, with what the event's `d` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Join,
    Leave,
    Timeout,
    StateChange,
    Interval,
}

impl Action {
    /// Every action, in the order of [`Action::index`].
    pub(crate) const ALL: [Action; 5] =
        [Action::Join, Action::Leave, Action::Timeout, Action::StateChange, Action::Interval];

    /// The action's place in [`Action::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Join => "join",
            Action::Leave => "leave",
            Action::Timeout => "timeout",
            Action::StateChange => "state-change",
            Action::Interval => "interval",
        }
    }
}

/// Who changed since the last interval event of a channel.
#[derive(Debug, Default, Clone)]
pub(crate) struct Deltas {
    pub(crate) joined: Vec<Arc<str>>,
    pub(crate) left: Vec<Arc<str>>,
    pub(crate) timed_out: Vec<Arc<str>>,
}

impl Deltas {
    /// Bytes the three lists take as JSON.
    fn json_len(&self) -> usize {
        [&self.joined, &self.left, &self.timed_out].iter().flat_map(|list| list.iter()).map(|uuid| uuid.len() + 3).sum()
    }
}

/// The subject of one event.
#[derive(Debug)]
pub(crate) enum Subject<'a> {
    /// join / leave / timeout / state-change of one uuid, with the state the
    /// event carries as `data` (pre-rendered JSON), if any.
    User { uuid: &'a str, data: Option<&'a str> },
    /// An interval event with the changes since the last one.
    Interval(&'a Deltas),
}

/// One presence event, rendered.
#[derive(Debug)]
pub(crate) struct Event {
    /// `p.t`.
    pub(crate) timetoken: u64,
    pub(crate) action: Action,
    /// The uuid it is about (none for interval events).
    pub(crate) uuid: Option<Arc<str>>,
    /// Caused by a subscribe request (rather than /heartbeat, /leave, …): the
    /// subscriber's own poll delivers it, so a handshake need not look back for it.
    pub(crate) by_subscribe: bool,
    /// The envelope up to (not including) `,"b":…}`.
    json: String,
}

/// Where and when an event happened.
pub(crate) struct Stamp<'a> {
    pub(crate) sub_key: &'a str,
    pub(crate) channel: &'a str,
    pub(crate) timetoken: u64,
    pub(crate) region: u8,
    pub(crate) now_ms: u64,
    pub(crate) occupancy: usize,
    /// A subscribe request caused it (see [`Event::by_subscribe`]).
    pub(crate) by_subscribe: bool,
}

impl Event {
    /// Renders an event as PubNub's 2025 service does (docs/PROTOCOL.md §9.5,
    /// §9.6): `a`, `f`, `p`, `k`, `c`, `u` (keys sorted), `d` (keys in the
    /// service's order); never `e`.
    pub(crate) fn new(stamp: &Stamp<'_>, action: Action, subject: Subject<'_>) -> Event {
        let seconds = stamp.now_ms / 1000;
        let millis = stamp.now_ms;
        let mut json = String::with_capacity(400);
        json.push_str(&format!(
            "{{\"a\":\"5\",\"f\":0,\"p\":{{\"t\":\"{}\",\"r\":{}}},\"k\":",
            stamp.timetoken, stamp.region
        ));
        write_str(&mut json, stamp.sub_key);
        json.push_str(",\"c\":");
        write_str(&mut json, &format!("{}{PRESENCE_SUFFIX}", stamp.channel));
        // `u`: the service's metadata, keys sorted.
        json.push_str(",\"u\":{\"pn_action\":");
        write_str(&mut json, action.as_str());
        json.push_str(",\"pn_channel\":");
        write_str(&mut json, stamp.channel);
        json.push_str(&format!(
            ",\"pn_ispresence\":1,\"pn_occupancy\":{},\"pn_precise_timestamp\":{millis},\"pn_timestamp\":{seconds}",
            stamp.occupancy
        ));
        if let Subject::User { uuid, .. } = &subject {
            json.push_str(",\"pn_uuid\":");
            write_str(&mut json, uuid);
        }
        json.push_str("},\"d\":{\"action\":");
        write_str(&mut json, action.as_str());
        let uuid = match &subject {
            Subject::User { uuid, data } => {
                json.push_str(",\"uuid\":");
                write_str(&mut json, uuid);
                json.push_str(&format!(",\"timestamp\":{seconds},\"precise_timestamp\":{millis}"));
                if let Some(data) = data {
                    json.push_str(",\"data\":");
                    json.push_str(data);
                }
                json.push_str(&format!(",\"occupancy\":{}", stamp.occupancy));
                Some(Arc::from(*uuid))
            }
            Subject::Interval(deltas) => {
                json.push_str(&format!(
                    ",\"timestamp\":{seconds},\"precise_timestamp\":{millis},\"occupancy\":{}",
                    stamp.occupancy
                ));
                if deltas.json_len() > MAX_INTERVAL_DELTA_BYTES {
                    json.push_str(",\"here_now_refresh\":true");
                } else {
                    for (key, list) in
                        [("join", &deltas.joined), ("leave", &deltas.left), ("timeout", &deltas.timed_out)]
                    {
                        if !list.is_empty() {
                            json.push_str(&format!(",\"{key}\":"));
                            write_str_array(&mut json, list.iter().map(|u| &**u));
                        }
                    }
                }
                None
            }
        };
        json.push('}');
        Event { timetoken: stamp.timetoken, action, uuid, by_subscribe: stamp.by_subscribe, json }
    }

    /// Appends the whole envelope, with `b` when the subscription needs it.
    pub(crate) fn write(&self, out: &mut String, subscription: Option<&str>) {
        out.push_str(&self.json);
        if let Some(name) = subscription {
            out.push_str(",\"b\":");
            write_str(out, name);
        }
        out.push('}');
    }
}

/// One channel's recent events and the polls waiting for the next one.
#[derive(Debug, Default)]
struct ChannelLog {
    /// In timetoken order (events are appended under the keyspace lock, in
    /// the order their timetokens were taken).
    events: VecDeque<Arc<Event>>,
    waiters: Waiters,
    /// Clock time of the newest event.
    last_ms: u64,
}

/// Held polls to wake: each registers its own `Notify`; a dropped poll
/// leaves a dead `Weak` that the next wake-up or registration clears.
#[derive(Debug, Default)]
struct Waiters(Vec<Weak<Notify>>);

impl Waiters {
    fn add(&mut self, notify: &Arc<Notify>) {
        // Polls that ended without a wake-up leave dead entries; prune them
        // whenever the list doubles, so it stays within twice the live ones.
        if self.0.len() >= 16 && self.0.len().is_power_of_two() {
            self.0.retain(|w| w.strong_count() > 0);
        }
        self.0.push(Arc::downgrade(notify));
    }

    fn wake_all(&mut self) {
        for waiter in self.0.drain(..) {
            if let Some(notify) = waiter.upgrade() {
                notify.notify_one();
            }
        }
    }
}

/// The event history of one keyspace, by channel.
#[derive(Debug, Default)]
pub(crate) struct EventLog {
    channels: HashMap<Arc<str>, ChannelLog>,
    /// Polls watching a group's presence, woken when its members change.
    groups: HashMap<String, Waiters>,
}

impl EventLog {
    /// Records an event on `channel` and wakes the polls waiting there.
    pub(crate) fn push(&mut self, channel: &Arc<str>, event: Event, now_ms: u64) {
        let log = self.channels.entry(Arc::clone(channel)).or_default();
        if log.events.len() == HISTORY_PER_CHANNEL {
            log.events.pop_front();
        }
        log.events.push_back(Arc::new(event));
        log.last_ms = now_ms;
        log.waiters.wake_all();
    }

    /// Events on `channel` after `cursor`, oldest first.
    pub(crate) fn since(&self, channel: &str, cursor: u64) -> impl Iterator<Item = &Arc<Event>> {
        let events = self.channels.get(channel).map(|log| &log.events);
        let start = events.map_or(0, |e| e.partition_point(|event| event.timetoken <= cursor));
        events.into_iter().flat_map(move |e| e.range(start..))
    }

    /// Wakes `notify` at the next event on `channel`.
    pub(crate) fn wait_on_channel(&mut self, channel: &str, notify: &Arc<Notify>) {
        match self.channels.get_mut(channel) {
            Some(log) => log.waiters.add(notify),
            None => {
                let log = self.channels.entry(Arc::from(channel)).or_default();
                log.waiters.add(notify);
            }
        }
    }

    /// Wakes `notify` when the members of `group` change.
    pub(crate) fn wait_on_group(&mut self, group: &str, notify: &Arc<Notify>) {
        self.groups.entry(group.to_owned()).or_default().add(notify);
    }

    /// Wakes the polls watching `group` (its members changed).
    pub(crate) fn group_changed(&mut self, group: &str) {
        if let Some(waiters) = self.groups.get_mut(group) {
            waiters.wake_all();
        }
    }

    /// Nothing recorded and nobody waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.groups.is_empty()
    }

    /// Forgets channels with no recent event and no waiting poll, and dead
    /// group waiters, so history memory follows activity.
    pub(crate) fn prune(&mut self, now_ms: u64) {
        self.channels.retain(|_, log| {
            log.waiters.0.retain(|w| w.strong_count() > 0);
            !log.waiters.0.is_empty() || now_ms.saturating_sub(log.last_ms) < HISTORY_RETENTION_MS
        });
        self.groups.retain(|_, waiters| {
            waiters.0.retain(|w| w.strong_count() > 0);
            !waiters.0.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(timetoken: u64) -> Stamp<'static> {
        Stamp {
            sub_key: "demo",
            channel: "lobby",
            timetoken,
            region: 1,
            now_ms: 1_757_969_434_794,
            occupancy: 2,
            by_subscribe: false,
        }
    }

    #[test]
    fn timetokens_increase_and_follow_the_clock() {
        let tt = Timetokens::default();
        let cursor = tt.cursor(1_000);
        assert_eq!(cursor, 10_000_000);
        let first = tt.next(1_000);
        assert!(first > cursor);
        let second = tt.next(1_000);
        assert!(second > first);
        assert!(tt.cursor(1_000) >= second);
        // A clock that goes back never makes a timetoken go back.
        assert!(tt.next(10) > second);
        // An event stamped from an earlier clock reading still follows a cursor given out.
        let cursor = tt.cursor(5_000);
        assert!(tt.next(4_000) > cursor);
        assert!(tt.next(2_000) > 20_000_000);
    }

    #[test]
    fn events_render_like_the_2025_service() {
        let join = Event::new(&stamp(17579694347952403), Action::Join, Subject::User { uuid: "david", data: None });
        let mut out = String::new();
        join.write(&mut out, Some("lobby-pnpres"));
        assert_eq!(
            out,
            r#"{"a":"5","f":0,"p":{"t":"17579694347952403","r":1},"k":"demo","c":"lobby-pnpres","u":{"pn_action":"join","pn_channel":"lobby","pn_ispresence":1,"pn_occupancy":2,"pn_precise_timestamp":1757969434794,"pn_timestamp":1757969434,"pn_uuid":"david"},"d":{"action":"join","uuid":"david","timestamp":1757969434,"precise_timestamp":1757969434794,"occupancy":2},"b":"lobby-pnpres"}"#
        );
        let deltas = Deltas { joined: vec![Arc::from("a")], left: Vec::new(), timed_out: vec![Arc::from("b")] };
        let interval = Event::new(&stamp(1), Action::Interval, Subject::Interval(&deltas));
        let mut out = String::new();
        interval.write(&mut out, None);
        assert!(out.ends_with(r#""d":{"action":"interval","timestamp":1757969434,"precise_timestamp":1757969434794,"occupancy":2,"join":["a"],"timeout":["b"]}}"#), "{out}");
        let crowd =
            Deltas { joined: (0..4000).map(|i| Arc::from(format!("user-{i:04}"))).collect(), ..Deltas::default() };
        let mut out = String::new();
        Event::new(&stamp(1), Action::Interval, Subject::Interval(&crowd)).write(&mut out, None);
        assert!(out.contains(r#""occupancy":2,"here_now_refresh":true}"#) && !out.contains("user-"), "{}", &out[..300]);
    }

    #[test]
    fn history_is_bounded_and_read_after_a_cursor() {
        let mut log = EventLog::default();
        let lobby: Arc<str> = Arc::from("lobby");
        for tt in 1..=(HISTORY_PER_CHANNEL as u64 + 5) {
            log.push(&lobby, Event::new(&stamp(tt), Action::Join, Subject::User { uuid: "u", data: None }), 0);
        }
        let all: Vec<u64> = log.since("lobby", 0).map(|e| e.timetoken).collect();
        assert_eq!(all.len(), HISTORY_PER_CHANNEL);
        assert_eq!(all[0], 6);
        let after: Vec<u64> = log.since("lobby", 100).map(|e| e.timetoken).collect();
        assert_eq!(after, [101, 102, 103, 104, 105]);
        assert_eq!(log.since("elsewhere", 0).count(), 0);
        log.prune(HISTORY_RETENTION_MS);
        assert_eq!(log.since("lobby", 0).count(), 0, "history without activity or waiters is forgotten");
    }

    #[tokio::test]
    async fn a_push_wakes_the_polls_waiting_on_that_channel_only() {
        let mut log = EventLog::default();
        let (here, elsewhere) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        log.wait_on_channel("lobby", &here);
        log.wait_on_channel("game", &elsewhere);
        log.push(&Arc::from("lobby"), Event::new(&stamp(1), Action::Leave, Subject::User { uuid: "u", data: None }), 0);
        here.notified().await; // the stored permit from notify_one
        let woken = tokio::time::timeout(std::time::Duration::ZERO, elsewhere.notified()).await;
        assert!(woken.is_err(), "a poll on another channel must not wake");
    }
}
