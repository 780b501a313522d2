//! A local, in-memory, PubNub-compatible **presence** server.
//!
//! It speaks the REST protocol of PubNub's presence service (here_now, where_now, set_state,
//! get_state, heartbeat, leave), channel-group registration, and the subscribe long-poll that
//! delivers presence events (join, leave, timeout, state-change, interval on `<channel>-pnpres`),
//! over plain HTTP, so the generated SDK, PubNub's official SDKs and `curl` can all be pointed
//! at it with a custom origin. It needs no account, no keys and no network.
//!
//! **This is a development and test server**: state lives in memory on a single node and is
//! lost on exit. Production traffic belongs to PubNub's network.
//!
//! # Embedding
//!
//! ```no_run
//! use std::time::Duration;
//! use presence_server::{ManualClock, PresenceServer, ServerConfig};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let clock = ManualClock::starting_now();
//! let server = PresenceServer::start(ServerConfig::default().with_clock(clock.clone())).await?;
//! println!("origin: {}  url: {}", server.origin(), server.url());
//! // ... heartbeat some users through an SDK or plain HTTP ...
//! clock.advance(Duration::from_secs(301)); // every user with the default timeout expires
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Behaviour summary
//!
//! * Every subscribe key is an isolated namespace, created on first use.
//! * `heartbeat` makes a uuid present on the listed channels (and the channels of the listed
//!   groups) for `heartbeat=` seconds (default [`ServerConfig::presence_timeout`], clamped to
//!   [`ServerConfig::min_presence_timeout`]..=[`ServerConfig::max_presence_timeout`]).
//! * A uuid silent past its timeout disappears from here_now / where_now and its state is
//!   dropped; `leave` does the same immediately.
//! * Multi-channel / group / global here_now list only channels that have occupants.
//! * `GET /v2/subscribe/{sub_key}/{channels}/0` answers a handshake (no `tt`, or `tt=0`) at
//!   once with a cursor, and holds later polls until a presence event for a watched name
//!   (`X-pnpres`, or `G-pnpres` in `channel-group`) is recorded or
//!   [`ServerConfig::long_poll_timeout`] passes on the clock. Subscribing to a channel or group
//!   makes the uuid present like a heartbeat. Timeouts and interval events fire when the clock
//!   reaches them, with no request needed.
//! * Responses are compact JSON with alphabetically ordered envelope keys and non-ASCII
//!   escaped as `\uXXXX`, served as `text/javascript; charset="UTF-8"`.

#![warn(missing_docs)]

mod bodies;
pub mod clock;
mod connection;
mod dashboard;
mod events;
mod handlers;
mod json;
mod reply;
mod routing;
pub mod signature;
mod store;
mod subscribe;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use clock::{Clock, ManualClock, SystemClock};

/// Deepest nesting of a state object the server stores (`{"a": 1}` is 1
/// level); deeper is a 400. The SDK checks the same limit before sending, and
/// every answer embedding such a state stays well inside a JSON decoder's
/// usual 128-level limit.
pub const MAX_STATE_DEPTH: usize = 32;

/// Address the binary listens on when `--listen` is not given.
pub const DEFAULT_BINARY_LISTEN: &str = "127.0.0.1:8090";

/// Configuration of a [`PresenceServer`].
///
/// Build it from [`ServerConfig::default`] and the `with_*` methods, or set the public fields.
#[derive(Clone)]
pub struct ServerConfig {
    /// Address to bind. Default `127.0.0.1:0` (an ephemeral port, for embedding).
    pub listen: SocketAddr,
    /// When set, every request must carry a valid signature (`signature` + `timestamp`,
    /// PROTOCOL.md §4); otherwise it is answered with an Access Manager 403.
    pub secret_key: Option<String>,
    /// Publish key that clients include in the signed string. Default `""`.
    pub publish_key: String,
    /// Presence timeout used when a heartbeat has no (or an empty) `heartbeat=` value,
    /// and how long `set_state` keeps state for a uuid that is not present. Default 300 s.
    pub presence_timeout: Duration,
    /// Smallest accepted presence timeout; lower `heartbeat=` values are raised to it. Default 1 s.
    ///
    /// PubNub's SDKs refuse less than 20 s themselves, but the service honours what a
    /// request announces (a recorded `heartbeat=8` timed out 8 s after the last
    /// heartbeat, PROTOCOL.md §9), so the server does too: a test can watch a timeout
    /// without waiting 20 s.
    pub min_presence_timeout: Duration,
    /// Largest accepted presence timeout; higher `heartbeat=` values are lowered to it. Default 320 s.
    pub max_presence_timeout: Duration,
    /// Allowed distance between a signed request's `timestamp` and the clock. Default 60 s.
    pub signature_tolerance: Duration,
    /// Time source for expiry and signature timestamps. Default [`SystemClock`].
    pub clock: Arc<dyn Clock>,
    /// How long a subscribe poll is held when nothing happens, on the clock.
    /// Default 280 s, as PubNub (clients give up at 310 s).
    pub long_poll_timeout: Duration,
    /// Above this many occupants a channel sends `interval` events instead of
    /// each join, leave and timeout (PubNub's "Announce Max"). Default 20,
    /// the admin portal's default.
    pub announce_max: usize,
    /// Period of `interval` events. Default 10 s, as PubNub.
    pub presence_interval: Duration,
    /// Most subscribe polls held at once; past it a poll is answered 429.
    /// Default 50,000.
    pub max_held_polls: usize,
    /// Serve the live dashboard page at `/` (and its list of subscribe keys
    /// at `/dashboard/keys`). Default `true`.
    pub dashboard: bool,
    /// The region (`t.r`, `p.r`) in every timetoken; 1..=127 (JS SDKs reject 0). Default 1.
    pub region: u8,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            secret_key: None,
            publish_key: String::new(),
            presence_timeout: Duration::from_secs(300),
            min_presence_timeout: Duration::from_secs(1),
            max_presence_timeout: Duration::from_secs(320),
            signature_tolerance: Duration::from_secs(60),
            clock: Arc::new(SystemClock),
            long_poll_timeout: Duration::from_secs(280),
            announce_max: 20,
            presence_interval: Duration::from_secs(10),
            max_held_polls: 50_000,
            dashboard: true,
            region: 1,
        }
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<redacted>"))
            .field("publish_key", &self.publish_key)
            .field("presence_timeout", &self.presence_timeout)
            .field("min_presence_timeout", &self.min_presence_timeout)
            .field("max_presence_timeout", &self.max_presence_timeout)
            .field("signature_tolerance", &self.signature_tolerance)
            .field("clock", &self.clock)
            .field("long_poll_timeout", &self.long_poll_timeout)
            .field("announce_max", &self.announce_max)
            .field("presence_interval", &self.presence_interval)
            .field("max_held_polls", &self.max_held_polls)
            .field("dashboard", &self.dashboard)
            .field("region", &self.region)
            .finish()
    }
}

impl ServerConfig {
    /// Serves (or not) the dashboard page at `/`.
    pub fn with_dashboard(mut self, dashboard: bool) -> Self {
        self.dashboard = dashboard;
        self
    }

    /// Sets the address to bind.
    pub fn with_listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Requires signed requests using this secret key.
    pub fn with_secret_key(mut self, secret_key: impl Into<String>) -> Self {
        self.secret_key = Some(secret_key.into());
        self
    }

    /// Sets the publish key that signed requests include in their string to sign.
    pub fn with_publish_key(mut self, publish_key: impl Into<String>) -> Self {
        self.publish_key = publish_key.into();
        self
    }

    /// Sets the default presence timeout.
    pub fn with_presence_timeout(mut self, timeout: Duration) -> Self {
        self.presence_timeout = timeout;
        self
    }

    /// Sets the accepted presence-timeout range (`heartbeat=` values are clamped into it).
    pub fn with_presence_timeout_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_presence_timeout = min;
        self.max_presence_timeout = max;
        self
    }

    /// Sets the time source (e.g. a clone of a [`ManualClock`]).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Sets how long a subscribe poll is held when nothing happens.
    pub fn with_long_poll_timeout(mut self, timeout: Duration) -> Self {
        self.long_poll_timeout = timeout;
        self
    }

    /// Sets the occupancy above which channels send interval events, and their period.
    pub fn with_interval_mode(mut self, announce_max: usize, interval: Duration) -> Self {
        self.announce_max = announce_max;
        self.presence_interval = interval;
        self
    }

    /// Sets the most subscribe polls held at once.
    pub fn with_max_held_polls(mut self, max: usize) -> Self {
        self.max_held_polls = max;
        self
    }
}

/// Shared server state.
pub(crate) struct Inner {
    pub(crate) config: ServerConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store: store::Store,
    /// Subscribe polls being held.
    pub(crate) held_polls: AtomicUsize,
    /// Wakes the reaper when a sooner deadline appears.
    reaper_wake: tokio::sync::Notify,
    /// The deadline the reaper waits for (`u64::MAX` while it recomputes).
    reaper_deadline: AtomicU64,
    /// Set when the server stops: held polls answer at once, so a graceful
    /// shutdown does not wait out the long-poll bound.
    pub(crate) stopped: std::sync::atomic::AtomicBool,
    pub(crate) stopping: tokio::sync::Notify,
}

impl Inner {
    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.stopping.notify_waiters();
    }

    /// Tells the reaper about a deadline, if it is sooner than the one it waits for.
    pub(crate) fn schedule(&self, deadline: Option<u64>) {
        if deadline.is_some_and(|at| at < self.reaper_deadline.load(Ordering::SeqCst)) {
            self.reaper_wake.notify_one();
        }
    }

    /// Fires presence timeouts and interval events when the clock reaches
    /// them, so they happen with no request (a [`ManualClock`] moved by a
    /// test drives them too).
    async fn reap(&self) {
        loop {
            let woken = self.reaper_wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            // Writers seeing MAX while this recomputes always wake it.
            self.reaper_deadline.store(u64::MAX, Ordering::SeqCst);
            let next = self.store.next_deadline();
            self.reaper_deadline.store(next.unwrap_or(u64::MAX), Ordering::SeqCst);
            match next {
                Some(at) if at <= self.clock.now_millis() => {}
                Some(at) => {
                    tokio::select! {
                        () = self.clock.wait_until(at) => {}
                        () = &mut woken => {}
                    }
                }
                None => woken.await,
            }
            self.store.fire_due(self.clock.now_millis());
        }
    }
}

/// A running presence server. Dropping it stops the server too (without waiting).
pub struct PresenceServer {
    addr: SocketAddr,
    shutdown_tx: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    reaper: JoinHandle<()>,
    inner: Arc<Inner>,
}

impl fmt::Debug for PresenceServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresenceServer").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl PresenceServer {
    /// Binds `config.listen` and starts serving on the current tokio runtime.
    ///
    /// # Errors
    /// Fails when the address cannot be bound.
    pub async fn start(config: ServerConfig) -> std::io::Result<PresenceServer> {
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let shared = store::Shared {
            timetokens: events::Timetokens::default(),
            region: config.region.clamp(1, 127),
            announce_max: config.announce_max,
            interval_ms: u64::try_from(config.presence_interval.as_millis()).unwrap_or(u64::MAX).max(1),
        };
        let inner = Arc::new(Inner {
            clock: Arc::clone(&config.clock),
            config,
            store: store::Store::new(shared),
            held_polls: AtomicUsize::new(0),
            reaper_wake: tokio::sync::Notify::new(),
            reaper_deadline: AtomicU64::new(u64::MAX),
            stopped: std::sync::atomic::AtomicBool::new(false),
            stopping: tokio::sync::Notify::new(),
        });
        let reaper = {
            let inner = Arc::clone(&inner);
            tokio::spawn(async move { inner.reap().await })
        };
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(connection::serve(listener, Arc::clone(&inner), rx));
        Ok(PresenceServer { addr, shutdown_tx: Some(tx), task: Some(task), reaper, inner })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `host:port` without a scheme (what PubNub SDKs call the *origin*), e.g. `127.0.0.1:40123`.
    pub fn origin(&self) -> String {
        self.addr.to_string()
    }

    /// Subscribe polls being held right now (waiting for an event or the long-poll bound).
    pub fn held_polls(&self) -> usize {
        self.inner.held_polls.load(Ordering::SeqCst)
    }

    /// `http://host:port`, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        self.inner.stop();
        self.reaper.abort();
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("presence server stopped with error: {e}"),
                Err(e) => tracing::warn!("presence server task failed: {e}"),
            }
        }
    }
}

impl Drop for PresenceServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        self.inner.stop();
        self.reaper.abort();
    }
}
