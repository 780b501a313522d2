//! `GET /v2/subscribe/{sub_key}/{channels}/0`: the handshake and the held
//! long-poll that deliver presence events (docs/PROTOCOL.md §9.1–9.3, §9.8).
//!
//! A subscriber's position is its cursor (`tt`): each poll gets every event
//! after it on the names it watches, or waits until one is recorded or the
//! long-poll bound passes. Nothing is kept per subscriber between polls, so
//! a subscriber that stops polling costs nothing but its presence, which
//! times out like any other.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLockWriteGuard};

use http::StatusCode;
use serde_json::Value;
use tokio::sync::Notify;

use crate::clock::millis;
use crate::events::{Action, Event, MAX_EVENTS_PER_ANSWER, PRESENCE_SUFFIX, from_millis};
use crate::faults::RESET_HOLD;
use crate::params::{Request, actor_uuid, announced_timeout, default_timeout, states_by_channel};
use crate::reply::Reply;
use crate::routing::Query;
use crate::store::{Keyspace, Timeout, is_presence_name, read, write};

/// Most channel and group names one subscribe may list.
pub(crate) const MAX_SUBSCRIBE_NAMES: usize = 1000;

/// How far back (clock time) a handshake looks for the subscriber's own
/// join: a heartbeat sent together with the handshake (the JS SDK does,
/// §9.12) may be handled first, and its join must still reach the subscriber.
const OWN_JOIN_GRACE_MS: u64 = 2_000;

/// Counts held polls against the configured limit; the count goes down when
/// the poll ends, however it ends (answer, or the client hanging up).
struct HeldPoll<'a>(&'a AtomicUsize);

impl<'a> HeldPoll<'a> {
    fn try_new(count: &'a AtomicUsize, max: usize) -> Option<Self> {
        count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |held| (held < max).then_some(held + 1))
            .ok()
            .map(|_| HeldPoll(count))
    }
}

impl Drop for HeldPoll<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One watched channel and the `b` its events carry for this subscription.
struct WatchedChannel {
    channel: String,
    subscription: Option<String>,
}

/// Handles a subscribe request whose signature (if any) was checked.
pub(crate) async fn subscribe(req: &Request<'_>) -> Result<Reply, Reply> {
    let (server, ks_lock, query) = (req.server, req.keyspace, &req.query);
    let (channels, groups) = (req.channels.as_slice(), req.groups.as_slice());
    req.require_names()?;
    if channels.len() + groups.len() > MAX_SUBSCRIBE_NAMES {
        return Err(Reply::bad_request(&format!(
            "Too many channels and channel groups: at most {MAX_SUBSCRIBE_NAMES} per subscribe"
        )));
    }
    let cursor = cursor(query)?;
    // Without a uuid (plain `curl`) the request only watches.
    let uuid = actor_uuid(query);
    let uuid = uuid.as_deref();
    // JS subscribes never say `heartbeat=`: then keep what the uuid announced.
    let timeout =
        announced_timeout(server, query)?.map_or_else(|| Timeout::KeepOr(default_timeout(server)), Timeout::Given);
    let region = server.store.settings.region;

    // A poll past the limit is refused before it changes anything.
    let _held = match cursor {
        Some(_) => Some(HeldPoll::try_new(&server.held_polls, server.config.max_held_polls).ok_or_else(|| {
            Reply::error(
                StatusCode::TOO_MANY_REQUESTS,
                "Presence",
                &format!("Too many held subscribe requests: at most {}", server.config.max_held_polls),
            )
        })?),
        None => None,
    };

    // Subscribing makes the uuid present on its channels and on the members
    // of its groups (presence names aside); every subscribe request counts
    // as a heartbeat for them. A poll then looks for its events and, finding
    // none, waits, all under this one write lock (a thousand watchers
    // re-polling at once take it a thousand times, not twice that).
    let now = server.clock.now_millis();
    let present_groups: Vec<String> = groups.iter().filter(|g| !is_presence_name(g)).cloned().collect();
    let deadline = now.saturating_add(millis(server.config.long_poll_timeout));
    let poll = cursor.map(|cursor| Poll {
        channels,
        groups,
        present_groups: &present_groups,
        cursor,
        region,
        deadline,
        first_coverage: None,
    });
    // The write guard lives in this block only: no await may hold it.
    let (mut poll, mut outcome) = {
        let mut ks = write(ks_lock);
        ks.fire_due(now);
        let cursor_before = server.store.settings.timetokens.cursor(now);
        let present_on = ks.expand(channels, &present_groups);
        let states = states_by_channel(&ks, query, &present_on, &present_groups);
        if let (Some(uuid), Ok(states)) = (uuid, &states) {
            ks.subscribe(uuid, &present_on, timeout, states, now);
        }
        // Also when the state was refused: `fire_due` may have moved deadlines.
        server.schedule(ks.next_deadline());
        states?;
        let Some(mut poll) = poll else {
            let own_join = uuid.and_then(|uuid| own_recent_join(&ks, &watches(&ks, channels, groups), uuid, now));
            let handshake_cursor = own_join.map_or(cursor_before, |join| cursor_before.min(join - 1));
            return Ok(Reply::ok(envelope(handshake_cursor, region, "")));
        };
        let outcome = poll.look(ks, now);
        (poll, outcome)
    };
    loop {
        let notify = match outcome {
            PollOutcome::Ready(reply) => return Ok(reply),
            PollOutcome::Wait(notify) => notify,
        };
        // Shutting down: answer at once, not at the long-poll bound.
        if server.shutdown.is_triggered() {
            return Ok(poll.nothing());
        }
        if req.reset_when_held {
            // The connection is reset once the poll has been held a moment.
            tokio::select! {
                () = tokio::time::sleep(RESET_HOLD) => {}
                () = server.shutdown.triggered() => {}
            }
            return Ok(poll.nothing());
        }
        // A wake-up between the unlock and here is kept as a permit.
        tokio::select! {
            () = notify.notified() => {}
            () = server.clock.wait_until(poll.deadline) => {}
            () = server.shutdown.triggered() => return Ok(poll.nothing()),
        }
        let now = server.clock.now_millis();
        // The usual wake-up (an event arrived) only reads: many polls woken
        // by one event answer in parallel, under the shared lock.
        {
            let ks = read(ks_lock);
            if ks.next_deadline().is_none_or(|at| at > now)
                && let Some(reply) = poll.events(&ks, &poll.watches(&ks))
            {
                return Ok(reply);
            }
        }
        outcome = {
            let mut ks = write(ks_lock);
            ks.fire_due(now);
            poll.look(ks, now)
        };
    }
}

/// A held poll's request, as its looks for events need it.
struct Poll<'a> {
    channels: &'a [String],
    groups: &'a [String],
    /// The groups that make the uuid present (the non-`-pnpres` ones).
    present_groups: &'a [String],
    cursor: u64,
    region: u8,
    deadline: u64,
    /// What the subscription covered at its first look: the channels it
    /// watches and the channels its groups make it present on.
    first_coverage: Option<Coverage>,
}

/// What a look under the write lock decided: answer now, or wait.
enum PollOutcome {
    /// Answer the poll with this now.
    Ready(Reply),
    /// Nothing to answer yet: wait for this to be notified (registered with
    /// every watched channel and group).
    Wait(Arc<Notify>),
}

impl Poll<'_> {
    fn watches(&self, ks: &Keyspace) -> Vec<WatchedChannel> {
        watches(ks, self.channels, self.groups)
    }

    /// The answer with the events after the cursor on the `watched`
    /// channels, if there are any.
    fn events(&self, ks: &Keyspace, watched: &[WatchedChannel]) -> Option<Reply> {
        let (last, messages) = collect(ks, watched, self.cursor);
        (!messages.is_empty()).then(|| Reply::ok(envelope(last, self.region, &messages)))
    }

    /// The answer with no events: the same cursor back, as the service does.
    fn nothing(&self) -> Reply {
        Reply::ok(envelope(self.cursor, self.region, ""))
    }

    /// Answers with the events after the cursor, or when the poll must end;
    /// else registers to be woken. Takes the write guard so that it is
    /// released before the poll waits.
    fn look(&mut self, mut ks: RwLockWriteGuard<'_, Keyspace>, now: u64) -> PollOutcome {
        let watched = self.watches(&ks);
        if let Some(reply) = self.events(&ks, &watched) {
            return PollOutcome::Ready(reply);
        }
        // A group's members changed while the poll was held: end it, so
        // the client polls again for the new set (docs/PROTOCOL.md §9.8).
        let now_covered = Coverage {
            watched: watched.iter().map(|w| w.channel.clone()).collect(),
            present_on: ks.expand(&[], self.present_groups),
        };
        let members_changed = *self.first_coverage.get_or_insert_with(|| now_covered.clone()) != now_covered;
        if now >= self.deadline || members_changed {
            return PollOutcome::Ready(self.nothing());
        }
        let notify = Arc::new(Notify::new());
        for watch in &watched {
            ks.events.wait_on_channel(&watch.channel, &notify);
        }
        for group in self.groups {
            ks.events.wait_on_group(group.strip_suffix(PRESENCE_SUFFIX).unwrap_or(group), &notify);
        }
        PollOutcome::Wait(notify)
    }
}

/// What a poll's subscription covers: compared between looks, a change ends
/// the poll (a group's members changed).
#[derive(Clone, PartialEq)]
struct Coverage {
    /// The channels whose events it receives.
    watched: Vec<String>,
    /// The channels its (non-`-pnpres`) groups make the uuid present on.
    present_on: Vec<String>,
}

/// `tt` (or Ruby's `t={"t":…}`): `None` for a handshake.
fn cursor(query: &Query) -> Result<Option<u64>, Reply> {
    let invalid = || Reply::bad_request("Invalid timetoken");
    let text = match (query.get("tt"), query.get("t")) {
        (Some(tt), _) => tt.trim().to_owned(),
        (None, Some(ruby)) => match serde_json::from_str::<Value>(ruby).map_err(|_| invalid())?.get("t") {
            Some(Value::String(tt)) => tt.clone(),
            Some(Value::Number(tt)) => tt.to_string(),
            None => String::new(),
            Some(_) => return Err(invalid()),
        },
        (None, None) => String::new(),
    };
    if text.is_empty() {
        return Ok(None);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match text.parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(tt) => Ok(Some(tt)),
        Err(_) => Err(invalid()),
    }
}

/// The channels whose events this subscription receives, each with its `b`:
/// `X-pnpres` watches X; `G-pnpres` watches every member of G. `b` is left
/// out only when the request named one channel, no group, and `c` is that
/// name (docs/PROTOCOL.md §9.5). A channel watched twice gets its events once.
fn watches(ks: &Keyspace, channels: &[String], groups: &[String]) -> Vec<WatchedChannel> {
    let single = channels.len() == 1 && groups.is_empty();
    let mut watched: Vec<WatchedChannel> = Vec::new();
    for name in channels {
        if let Some(channel) = name.strip_suffix(PRESENCE_SUFFIX) {
            watched.push(WatchedChannel { channel: channel.to_owned(), subscription: (!single).then(|| name.clone()) });
        }
    }
    for name in groups {
        if let Some(group) = name.strip_suffix(PRESENCE_SUFFIX) {
            for channel in ks.expand(&[], &[group.to_owned()]) {
                if !watched.iter().any(|w| w.channel == channel) {
                    watched.push(WatchedChannel { channel, subscription: Some(name.clone()) });
                }
            }
        }
    }
    watched
}

/// The timetoken of this uuid's own join on a watched channel in the last
/// moments, caused by another request (JS sends /heartbeat with its
/// handshake), which the handshake must not skip. A join its own subscribe
/// caused is not looked back for: that client already gets or got it (a
/// Python loop re-handshakes on every change of channels).
fn own_recent_join(ks: &Keyspace, watched: &[WatchedChannel], uuid: &str, now: u64) -> Option<u64> {
    let since = from_millis(now.saturating_sub(OWN_JOIN_GRACE_MS));
    watched
        .iter()
        .flat_map(|w| ks.events.since(&w.channel, since))
        .filter(|e| e.action == Action::Join && !e.by_subscribe && e.uuid.as_deref() == Some(uuid))
        .map(|e| e.timetoken)
        .min()
}

/// The events after `cursor` on the watched channels, oldest first, at most
/// [`MAX_EVENTS_PER_ANSWER`], rendered as `m`'s items; with the timetoken of
/// the last one (the next cursor).
fn collect(ks: &Keyspace, watched: &[WatchedChannel], cursor: u64) -> (u64, String) {
    let mut found: Vec<(&Arc<Event>, Option<&str>)> = Vec::new();
    for watch in watched {
        found.extend(ks.events.since(&watch.channel, cursor).map(|e| (e, watch.subscription.as_deref())));
    }
    found.sort_by_key(|(event, _)| event.timetoken);
    found.truncate(MAX_EVENTS_PER_ANSWER);
    let mut messages = String::new();
    for (i, (event, subscription)) in found.iter().enumerate() {
        if i > 0 {
            messages.push(',');
        }
        event.write(&mut messages, *subscription);
    }
    (found.last().map_or(cursor, |(event, _)| event.timetoken), messages)
}

/// `{"t":{"t":"<cursor>","r":<region>},"m":[…]}`.
fn envelope(cursor: u64, region: u8, messages: &str) -> String {
    format!("{{\"t\":{{\"t\":\"{cursor}\",\"r\":{region}}},\"m\":[{messages}]}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_from_tt_or_rubys_t() {
        let q = |raw: &str| Query::parse(raw);
        assert_eq!(cursor(&q("")).ok(), Some(None));
        assert_eq!(cursor(&q("tt=0&tr=12")).ok(), Some(None));
        assert_eq!(cursor(&q("tt=17579694346167406")).ok(), Some(Some(17579694346167406)));
        assert_eq!(cursor(&q("t=%7B%22r%22:0,%22t%22:0%7D")).ok(), Some(None));
        assert_eq!(
            cursor(&q("t=%7B%22r%22:12,%22t%22:%2214909585751739118%22%7D")).ok(),
            Some(Some(14909585751739118))
        );
        for bad in ["tt=abc", "tt=-1", "tt=99999999999999999999999", "t=%7B", "t=%7B%22t%22:true%7D"] {
            assert!(cursor(&q(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn envelopes_are_compact() {
        assert_eq!(envelope(17579694346167406, 1, ""), r#"{"t":{"t":"17579694346167406","r":1},"m":[]}"#);
    }
}
