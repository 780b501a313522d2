//! Long-poll streams: operations whose spec declares `stream` get
//! `subscribe()`, a [`Stream`] of the items PubNub's subscribe long-poll
//! delivers (docs/PROTOCOL.md §9). The generated code says how to build the
//! request and decode one item (`LongPoll`); this module runs the loop:
//! handshake, long-poll from the cursor, reconnect, de-duplicate.
//!
//! Every answer is `{"t": {"t": "<timetoken>", "r": <region>}, "m": [item, …]}`;
//! the next poll sends `tt` and `tr` from `t`.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

pub use futures_core::Stream;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::body::{self, WireFlag, WireStatus};
use crate::request::Request;
use crate::{Client, Error};

/// A request builder whose answers are long-polled items. Implemented by
/// generated code for operations whose spec declares `stream`. This and the
/// other `#[doc(hidden)]` items of this module are called only by generated
/// code.
#[doc(hidden)]
pub trait LongPoll: Clone + Send + Unpin + 'static {
    /// One item of an answer (the spec's `stream.item` type).
    type Item: Send + Unpin + 'static;

    /// The client the polls are sent with.
    fn client(&self) -> &Arc<Client>;

    /// The request of a handshake, checked; the stream adds the cursor.
    fn build_request(&self) -> Result<Request, Error>;

    /// Decodes one item of an answer's `m` from its JSON text, with the
    /// key that identifies a redelivery of the same item.
    fn decode_item(json: &str) -> Result<Decoded<Self::Item>, Error>;
}

/// One decoded item and its de-duplication key.
#[derive(Debug)]
#[doc(hidden)]
pub struct Decoded<T> {
    /// The item.
    pub item: T,
    /// Equal for two deliveries of the same item (see [`dedup_key`]);
    /// `None` when the item cannot be told apart (never skipped).
    pub key: Option<u64>,
}

/// Where a subscription stands: the `t` of the last answer, sent back as
/// `tt` and `tr` by the next poll.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Cursor {
    /// The timetoken, exactly as the server sent it (a 17-digit string).
    pub timetoken: String,
    /// The region.
    pub region: u32,
}

impl Cursor {
    /// The timetoken as a number, when it is one (it always is from PubNub;
    /// a stream never fails because it is not).
    pub fn timetoken_value(&self) -> Option<u64> {
        self.timetoken.parse().ok()
    }
}

/// One decoded answer: the cursor for the next poll and the items, each
/// decoded on its own so that one bad item does not hide the others.
#[derive(Debug)]
#[non_exhaustive]
pub struct Answer<T> {
    /// The answer's `t`.
    pub cursor: Cursor,
    /// The answer's `m`, in order.
    pub items: Vec<Result<Decoded<T>, Error>>,
}

#[derive(Deserialize)]
struct AnswerBody {
    #[serde(default)]
    status: WireStatus,
    #[serde(default)]
    error: WireFlag,
    t: CursorBody,
    #[serde(default)]
    m: Vec<Box<RawValue>>,
}

crate::envelope_error_fields!(AnswerBody);

#[derive(Deserialize)]
struct CursorBody {
    t: Timetoken,
    #[serde(default)]
    r: u32,
}

/// `t.t` is a string of digits; a number is accepted too (and kept as its text).
#[derive(Deserialize)]
#[serde(untagged)]
enum Timetoken {
    Text(String),
    Number(u64),
}

/// Decodes a subscribe answer: an error status or body gives its
/// [`Error`]; otherwise the cursor and every item, decoded with `decode`.
/// Never panics, whatever the bytes.
#[doc(hidden)]
pub fn decode_answer<T>(
    http_status: u16,
    body: &[u8],
    decode: impl Fn(&str) -> Result<Decoded<T>, Error>,
) -> Result<Answer<T>, Error> {
    let answer: AnswerBody = body::parse_envelope(http_status, body)?;
    let timetoken = match answer.t.t {
        Timetoken::Text(text) => text,
        Timetoken::Number(number) => number.to_string(),
    };
    let items = answer.m.iter().map(|item| decode(item.get())).collect();
    Ok(Answer { cursor: Cursor { timetoken, region: answer.t.r }, items })
}

/// Parses one item's JSON text into its generated wire type.
#[doc(hidden)]
pub fn parse_item<W: for<'de> Deserialize<'de>>(json: &str) -> Result<W, Error> {
    serde_json::from_str(json)
        .map_err(|err| Error::decode(format!("item does not have the expected shape: {err}"), json))
}

/// A value the item must carry, or the error naming its key.
#[doc(hidden)]
pub fn required<T>(key: &'static str, value: Option<T>, json: &str) -> Result<T, Error> {
    value.ok_or_else(|| Error::decode(format!("item has no `{key}`"), json))
}

/// `value` without one trailing `suffix` (`lobby-pnpres` → `lobby`).
#[doc(hidden)]
pub fn strip_suffix(mut value: String, suffix: &str) -> String {
    if !suffix.is_empty() && value.ends_with(suffix) {
        value.truncate(value.len() - suffix.len());
    }
    value
}

/// `value`, or `None` when it equals `other` (compared as sent).
#[doc(hidden)]
pub fn unless_equal(value: Option<String>, other: Option<&str>) -> Option<String> {
    value.filter(|value| Some(value.as_str()) != other)
}

/// A `u64` sent as a string of digits (a timetoken).
#[doc(hidden)]
pub fn decimal(key: &'static str, value: &str, json: &str) -> Result<u64, Error> {
    value.parse().map_err(|_| Error::decode(format!("`{key}` is not a decimal number: `{value}`"), json))
}

/// The item's whole JSON, for the catch-all variant of a union.
#[doc(hidden)]
pub fn raw_json(json: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(json).map_err(|err| Error::decode(format!("item is not JSON: {err}"), json))
}

/// An item whose keys do not have the types the known variants read: when
/// its discriminator (at `path`) is none of `known`, it is still a valid
/// item of a kind this version does not know, for the catch-all variant
/// (its discriminator value and whole JSON); otherwise `error` stands.
#[doc(hidden)]
pub fn unknown_kind(
    json: &str,
    error: Error,
    path: &[&str],
    known: &[&str],
) -> Result<(String, serde_json::Value), Error> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(json) else { return Err(error) };
    let discriminator = path.iter().try_fold(&value, |at, key| at.get(key)).and_then(serde_json::Value::as_str);
    match discriminator {
        Some(kind) if !known.contains(&kind) => Ok((kind.to_owned(), value)),
        _ => Err(error),
    }
}

/// A redelivery key from the values that identify an item.
#[doc(hidden)]
pub fn dedup_key(parts: &[Option<&str>]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut hasher);
    hasher.finish()
}

/// How long a long-poll may stay open before the client gives up on it:
/// the server answers within 280 s, every PubNub SDK waits 310 s.
pub const DEFAULT_LONG_POLL_TIMEOUT: Duration = Duration::from_secs(310);

/// Items remembered to spot redeliveries.
const DEDUP_MEMORY: usize = 1024;

type PollFuture = Pin<Box<dyn Future<Output = (Result<(u16, Vec<u8>), Error>, Option<Duration>)> + Send>>;

/// A live subscription: a `futures_core::Stream` of the items a long-polled operation
/// delivers, in the order the server sends them.
///
/// - It handshakes (`tt=0`), then polls from the cursor each answer gives.
///   Nothing is dropped for being older than the cursor: the server's
///   cursor is not an event's time (docs/PROTOCOL.md §9.2).
/// - After an answer with items it waits the client's
///   [`crate::Config::batch_window`] (2 ms) before polling again, so that a
///   burst comes in few answers; the answer's own items are yielded at once.
/// - Connect errors, timeouts, `429` and `5xx` (as a status or inside a 200)
///   are retried forever from the same cursor, waiting as the client's
///   [`crate::RetryPolicy`] says (exponential, `Retry-After` honoured, capped
///   at its `max_delay`); each is logged at `warn`. No item is lost as long
///   as the server still holds it (PubNub keeps about 100 per subscriber,
///   for up to 20 minutes); after a long outage [`Subscription::take_reconnected`]
///   tells a caller keeping state to re-read it.
/// - Any other error answer (`400`, `403`…) ends the stream with that error
///   as its last item. A body or item that does not decode is an error item;
///   the stream goes on.
/// - The same item delivered twice (the same values of the spec's `dedup_on`)
///   is yielded once; the last 1,024 keys are remembered.
/// - Dropping it ends the long-poll at once (the request is cancelled).
///
/// It is `Send` and `Unpin`, and `next()` is cancel-safe: an item is never
/// lost by dropping a pending `next()`.
#[must_use = "a subscription does nothing until polled"]
pub struct Subscription<P: LongPoll> {
    poll: P,
    /// The request every poll starts from, built and checked once; a bad
    /// one is reported by the first poll.
    request: Result<Request, Error>,
    cursor: Option<Cursor>,
    ready: VecDeque<Result<P::Item, Error>>,
    in_flight: Option<PollFuture>,
    waiting: Option<crate::transport::Timer>,
    failures: u32,
    reconnected: bool,
    seen: HashSet<u64>,
    seen_order: VecDeque<u64>,
    done: bool,
    span: tracing::Span,
}

impl<P: LongPoll> Subscription<P> {
    /// A subscription that starts with a handshake.
    pub fn new(poll: P) -> Self {
        Self::starting_at(poll, None)
    }

    /// A subscription that polls from `cursor` (from [`Subscription::cursor`]
    /// of an earlier one) without a handshake, so that nothing since then is
    /// missed; `None` handshakes.
    pub fn starting_at(poll: P, cursor: Option<Cursor>) -> Self {
        let request = poll.build_request();
        let span = match &request {
            Ok(request) => tracing::info_span!("presence_subscription", path = %request.path()),
            Err(_) => tracing::info_span!("presence_subscription"),
        };
        Subscription {
            poll,
            request,
            cursor,
            ready: VecDeque::new(),
            in_flight: None,
            waiting: None,
            failures: 0,
            reconnected: false,
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            done: false,
            span,
        }
    }

    /// The cursor of the last answer (`None` before the handshake answers).
    pub fn cursor(&self) -> Option<&Cursor> {
        self.cursor.as_ref()
    }

    /// Handshakes now, unless the subscription already has a cursor, and
    /// returns the cursor: every item after it will be yielded. Retries like
    /// the polls do; a `400`/`403` (or bad input) is returned, and is the
    /// stream's last item too. Lets a caller read a snapshot knowing that
    /// nothing after the cursor can be missed.
    ///
    /// Cancel-safe like `next()`: dropping it keeps the poll in flight.
    pub async fn handshake(&mut self) -> Result<Cursor, Error> {
        std::future::poll_fn(|cx| {
            loop {
                if let Some(cursor) = &self.cursor {
                    return Poll::Ready(Ok(cursor.clone()));
                }
                if self.done {
                    return Poll::Ready(Err(match self.ready.back() {
                        Some(Err(err)) => err.duplicate(),
                        _ => Error::Transport { message: "the subscription has ended".to_owned(), source: None },
                    }));
                }
                if self.poll_answer(cx).is_pending() {
                    return Poll::Pending;
                }
            }
        })
        .await
    }

    /// Drops the poll in flight, if any, so its connection closes and the
    /// server stops holding it; the next [`Subscription::next`] polls again
    /// from the same cursor, so nothing is lost (events the dropped poll
    /// would have carried come in the next answer). For callers that stop
    /// waiting for a while: dropping `next()` alone keeps the poll (and its
    /// connection) in the subscription, to resume without a new request.
    pub fn cancel_poll(&mut self) {
        self.in_flight = None;
    }

    /// An item already received and decoded, without polling: what `next()`
    /// would return at once. `None` when there is none: `next()` would wait,
    /// send a request, or report that the stream has ended. (An answer
    /// carries many items; a caller that cannot await cheaply, such as a
    /// binding to another language, takes them this way before it waits.)
    pub fn take_ready(&mut self) -> Option<Result<P::Item, Error>> {
        self.ready.pop_front()
    }

    /// Whether the subscription reconnected after a failure since this was
    /// last asked (then resets it): events may have been lost in a gap the
    /// server could not cover, so a caller keeping state may re-read it.
    pub fn take_reconnected(&mut self) -> bool {
        std::mem::take(&mut self.reconnected)
    }

    /// The next item, or `None` once the stream has ended (no need for a
    /// `Stream` extension trait).
    pub async fn next(&mut self) -> Option<Result<P::Item, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Drives the timer (a backoff, or the batch window) and the poll in flight (starting one when
    /// idle) until one answer is handled. Both stay in `self` while pending,
    /// so dropping the caller loses nothing. An invalid request ends the
    /// stream, its error the last item.
    fn poll_answer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(waiting) = &mut self.waiting {
            if waiting.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.waiting = None;
        }
        if self.in_flight.is_none()
            && let Err(err) = self.start_poll()
        {
            self.ready.push_back(Err(err));
            self.done = true;
            return Poll::Ready(());
        }
        let Some(in_flight) = &mut self.in_flight else { return Poll::Ready(()) };
        let Poll::Ready((outcome, retry_after)) = in_flight.as_mut().poll(cx) else { return Poll::Pending };
        self.in_flight = None;
        self.handle(outcome, retry_after);
        Poll::Ready(())
    }

    fn start_poll(&mut self) -> Result<(), Error> {
        let mut request = match &self.request {
            Ok(request) => request.clone(),
            Err(invalid) => return Err(invalid.duplicate()),
        };
        match &self.cursor {
            Some(cursor) => {
                request.push_query("tt", Some(crate::encoding::component(&cursor.timetoken)));
                request.push_query("tr", Some(cursor.region.to_string()));
            }
            None => request.push_query("tt", Some("0".to_owned())),
        }
        let client = Arc::clone(self.poll.client());
        let timeout = client.config().long_poll_timeout;
        tracing::debug!(parent: &self.span, cursor = ?self.cursor.as_ref().map(|c| &c.timetoken), "poll");
        self.in_flight = Some(Box::pin(async move { client.send_once(&request, timeout).await }));
        Ok(())
    }

    /// Takes one answer: queues its items or decides how to go on.
    fn handle(&mut self, outcome: Result<(u16, Vec<u8>), Error>, retry_after: Option<Duration>) {
        let client = self.poll.client();
        let answer = outcome
            .and_then(|(status, body)| client.decode_with(body.len(), || decode_answer(status, &body, P::decode_item)));
        match answer {
            Ok(answer) => {
                // A handshake that needed retries is not a gap: nothing came before it.
                self.reconnected |= self.failures > 0 && self.cursor.is_some();
                self.failures = 0;
                tracing::debug!(parent: &self.span, items = answer.items.len(), cursor = %answer.cursor.timetoken, "answer");
                self.cursor = Some(answer.cursor);
                let window = self.poll.client().config().batch_window;
                if !answer.items.is_empty() && !window.is_zero() {
                    // Items that follow these closely come together in the next answer.
                    self.waiting = Some(self.poll.client().timer(window));
                }
                for item in answer.items {
                    match item {
                        Ok(decoded) if decoded.key.is_none_or(|key| self.remember(key)) => {
                            self.ready.push_back(Ok(decoded.item))
                        }
                        Ok(_) => tracing::debug!(parent: &self.span, "redelivered item skipped"),
                        Err(err) => self.ready.push_back(Err(err)),
                    }
                }
            }
            Err(err) if err.is_retryable() || matches!(err, Error::Decode { .. }) => {
                self.failures = self.failures.saturating_add(1);
                let policy = &self.poll.client().config().retry_policy;
                let delay = policy.delay(self.failures, retry_after, crate::retry::random());
                tracing::warn!(parent: &self.span, error = %err, failures = self.failures,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "reconnecting");
                if matches!(err, Error::Decode { .. }) {
                    self.ready.push_back(Err(err));
                }
                self.waiting = Some(self.poll.client().timer(delay));
            }
            Err(err) => {
                tracing::warn!(parent: &self.span, error = %err, "subscription ended");
                self.ready.push_back(Err(err));
                self.done = true;
            }
        }
    }

    /// Records `key`; false when it was seen recently.
    fn remember(&mut self, key: u64) -> bool {
        if !self.seen.insert(key) {
            return false;
        }
        self.seen_order.push_back(key);
        if self.seen_order.len() > DEDUP_MEMORY
            && let Some(oldest) = self.seen_order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        true
    }
}

impl<P: LongPoll> std::fmt::Debug for Subscription<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("cursor", &self.cursor)
            .field("queued", &self.ready.len())
            .field("polling", &self.in_flight.is_some())
            .field("done", &self.done)
            .finish()
    }
}

impl<P: LongPoll> Stream for Subscription<P> {
    type Item = Result<P::Item, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.ready.pop_front() {
                return Poll::Ready(Some(item));
            }
            if this.done {
                return Poll::Ready(None);
            }
            if this.poll_answer(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(json: &str) -> Result<Decoded<String>, Error> {
        Ok(Decoded { item: json.to_owned(), key: Some(dedup_key(&[Some(json)])) })
    }

    #[test]
    fn answers_decode_their_cursor_and_each_item() {
        let body = br#"{"t":{"t":"17579704036791392","r":43},"m":[{"a":1},{"b":2}]}"#;
        let answer = decode_answer(200, body, item).unwrap();
        assert_eq!(answer.cursor, Cursor { timetoken: "17579704036791392".to_owned(), region: 43 });
        assert_eq!(answer.cursor.timetoken_value(), Some(17579704036791392));
        let items: Vec<String> = answer.items.into_iter().map(|i| i.unwrap().item).collect();
        assert_eq!(items, [r#"{"a":1}"#, r#"{"b":2}"#]);
    }

    #[test]
    fn odd_cursors_and_error_bodies_never_panic() {
        let answer = decode_answer(200, br#"{"t":{"t":"not-a-number"},"m":[]}"#, item).unwrap();
        assert_eq!(answer.cursor.timetoken_value(), None);
        let err = decode_answer(403, br#"{"status":403,"error":true,"message":"Forbidden"}"#, item).unwrap_err();
        assert_eq!(err.status(), Some(403));
        assert!(matches!(decode_answer(200, b"<html>", item), Err(Error::Decode { .. })));
        assert!(matches!(decode_answer(200, br#"{"m":[]}"#, item), Err(Error::Decode { .. })));
    }

    /// Answers polls from a script, without I/O, and hands out timers the
    /// test ends by hand: what a subscription asks for, and when, is seen
    /// exactly.
    struct Scripted {
        answers: std::sync::Mutex<VecDeque<&'static str>>,
        gets: std::sync::atomic::AtomicUsize,
        timers: std::sync::Mutex<Vec<Duration>>,
        release: Arc<tokio::sync::Notify>,
        decoded: std::sync::atomic::AtomicUsize,
    }

    impl crate::transport::Sender for Scripted {
        fn get<'a>(&'a self, _get: crate::transport::Get<'a>) -> Option<crate::transport::Sending<'a>> {
            self.gets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = self.answers.lock().unwrap().pop_front().expect("a scripted answer for every poll");
            let answer =
                crate::transport::HttpAnswer { status: 200, body: body.as_bytes().to_vec(), ..Default::default() };
            Some(Box::pin(async move { Ok(answer) }))
        }

        fn timer(&self, after: Duration) -> Option<crate::transport::Timer> {
            self.timers.lock().unwrap().push(after);
            let release = Arc::clone(&self.release);
            Some(Box::pin(async move { release.notified().await }))
        }

        fn run_decode(&self, _body_bytes: usize, decode: &mut (dyn FnMut() + Send)) {
            self.decoded.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            decode();
        }
    }

    #[derive(Clone)]
    struct Poll {
        client: Arc<Client>,
    }

    impl LongPoll for Poll {
        type Item = String;

        fn client(&self) -> &Arc<Client> {
            &self.client
        }

        fn build_request(&self) -> Result<Request, Error> {
            Ok(Request::new("presence_events", "/v2/subscribe/demo/lobby-pnpres/0".to_owned()))
        }

        fn decode_item(json: &str) -> Result<Decoded<String>, Error> {
            item(json)
        }
    }

    fn scripted(window: Duration, answers: &[&'static str]) -> (Arc<Scripted>, Subscription<Poll>) {
        let sender = Arc::new(Scripted {
            answers: std::sync::Mutex::new(answers.iter().copied().collect()),
            gets: Default::default(),
            timers: Default::default(),
            release: Default::default(),
            decoded: Default::default(),
        });
        let config = crate::Config::new("demo").user_id("u").batch_window(window).sender(Arc::clone(&sender) as _);
        (Arc::clone(&sender), Subscription::new(Poll { client: Arc::new(Client::new(config)) }))
    }

    fn gets(sender: &Scripted) -> usize {
        sender.gets.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether `future` is still pending after one poll.
    fn still_pending<F: Future>(future: Pin<&mut F>) -> bool {
        future.poll(&mut Context::from_waker(std::task::Waker::noop())).is_pending()
    }

    const HANDSHAKE: &str = r#"{"t":{"t":"10","r":1},"m":[]}"#;

    #[tokio::test]
    async fn after_an_answer_with_items_the_next_poll_waits_the_batch_window() {
        let window = Duration::from_millis(7);
        let (sender, mut subscription) = scripted(
            window,
            &[HANDSHAKE, r#"{"t":{"t":"20","r":1},"m":[{"a":1},{"b":2}]}"#, r#"{"t":{"t":"30","r":1},"m":[{"c":3}]}"#],
        );
        // The handshake carries nothing: the next poll goes at once, and its
        // answer's items are yielded at once.
        assert_eq!(subscription.next().await.unwrap().unwrap(), r#"{"a":1}"#);
        assert_eq!(subscription.next().await.unwrap().unwrap(), r#"{"b":2}"#);
        assert_eq!((gets(&sender), sender.timers.lock().unwrap().clone()), (2, vec![window]));
        // The next poll waits for the window's timer, and goes when it ends.
        let mut next = std::pin::pin!(subscription.next());
        assert!(still_pending(next.as_mut()));
        assert_eq!(gets(&sender), 2, "no poll within the window");
        sender.release.notify_one();
        assert_eq!(next.await.unwrap().unwrap(), r#"{"c":3}"#);
        assert_eq!(gets(&sender), 3);
    }

    #[tokio::test]
    async fn a_zero_batch_window_polls_again_at_once() {
        let (sender, mut subscription) = scripted(
            Duration::ZERO,
            &[HANDSHAKE, r#"{"t":{"t":"20","r":1},"m":[{"a":1}]}"#, r#"{"t":{"t":"30","r":1},"m":[{"c":3}]}"#],
        );
        assert_eq!(subscription.next().await.unwrap().unwrap(), r#"{"a":1}"#);
        assert_eq!(subscription.next().await.unwrap().unwrap(), r#"{"c":3}"#);
        assert_eq!(gets(&sender), 3);
        assert!(sender.timers.lock().unwrap().is_empty(), "no timer was asked for");
        assert_eq!(
            sender.decoded.load(std::sync::atomic::Ordering::SeqCst),
            3,
            "every answer decoded through the sender"
        );
    }

    #[test]
    fn derived_values() {
        assert_eq!(strip_suffix("lobby-pnpres".to_owned(), "-pnpres"), "lobby");
        assert_eq!(strip_suffix("lobby".to_owned(), "-pnpres"), "lobby");
        assert_eq!(unless_equal(Some("a".to_owned()), Some("a")), None);
        assert_eq!(unless_equal(Some("g".to_owned()), Some("a")).as_deref(), Some("g"));
        assert!(decimal("p.t", "12x", "{}").is_err());
        assert_ne!(dedup_key(&[Some("a"), None]), dedup_key(&[None, Some("a")]));
        let wrong = || Error::decode("wrong types", "{}");
        let unknown = r#"{"d":{"action":"moved","occupancy":"many"}}"#;
        assert_eq!(unknown_kind(unknown, wrong(), &["d", "action"], &["join"]).unwrap().0, "moved");
        let known = r#"{"d":{"action":"join","occupancy":"many"}}"#;
        assert!(unknown_kind(known, wrong(), &["d", "action"], &["join"]).is_err(), "a known kind stays an error");
    }
}
