//! The public configuration of a [`PresenceServer`](crate::PresenceServer)
//! ([`ServerConfig`], with every default in one place) and the limits the
//! crate exports.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::faults::FaultSet;
use crate::snapshot::Snapshot;

/// Deepest nesting of a state object the server stores (`{"a": 1}` is 1
/// level); deeper is a 400. The SDK checks the same limit before sending, and
/// every answer embedding such a state stays well inside a JSON decoder's
/// usual 128-level limit.
pub const MAX_STATE_DEPTH: usize = 32;

/// Address the binary listens on when `--listen` is not given.
pub const DEFAULT_BINARY_LISTEN: &str = "127.0.0.1:8090";

/// Configuration of a [`PresenceServer`](crate::PresenceServer).
///
/// Build it from [`ServerConfig::default`] and the `with_*` methods, or set the public fields.
#[derive(Clone)]
pub struct ServerConfig {
    /// Address to bind. Default `127.0.0.1:0` (an ephemeral port, for embedding).
    pub listen: SocketAddr,
    /// When set, every request must carry a valid signature (`signature` + `timestamp`,
    /// docs/PROTOCOL.md §4); otherwise it is answered with an Access Manager 403.
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
    /// heartbeat, docs/PROTOCOL.md §9), so the server does too: a test can watch a timeout
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
    /// Fault rules in force at start ([`FaultSet`]; `PUT /dev/faults` replaces
    /// them at run time). Default: none.
    pub faults: FaultSet,
    /// How many requests `GET /dev/requests` keeps (the last ones; 0 keeps
    /// none). Default 1,000.
    pub request_log: usize,
    /// Whether the `/dev/*` endpoints (fault rules, request log) are served:
    /// `None` (the default) serves them only when [`listen`](Self::listen) is
    /// a loopback address; `Some(true)` / `Some(false)` force them on or off.
    /// See [`ServerConfig::dev_endpoints_enabled`]. `/metrics` is always served.
    pub dev_endpoints: Option<bool>,
    /// Where groups, states and presence are kept across restarts (an
    /// embedded database, `presence.redb`, in this directory); `None` (the
    /// default) keeps everything in memory and writes nothing to disk.
    pub data_dir: Option<PathBuf>,
    /// A snapshot loaded at start ([`Snapshot::from_json`]), after what
    /// [`data_dir`](Self::data_dir) holds. Default: none.
    pub import: Option<Snapshot>,
    /// Where [`PresenceServer::shutdown`](crate::PresenceServer::shutdown)
    /// writes a snapshot. Default: nowhere.
    pub export_on_exit: Option<PathBuf>,
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
            faults: FaultSet::default(),
            request_log: 1000,
            dev_endpoints: None,
            data_dir: None,
            import: None,
            export_on_exit: None,
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
            .field("faults", &self.faults)
            .field("request_log", &self.request_log)
            .field("dev_endpoints", &self.dev_endpoints)
            .field("data_dir", &self.data_dir)
            .field("import", &self.import.as_ref().map(Snapshot::counts))
            .field("export_on_exit", &self.export_on_exit)
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

    /// Sets the time source (e.g. a clone of a [`ManualClock`](crate::ManualClock)).
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

    /// Puts these fault rules in force from the start (see [`FaultSet::from_json`]).
    pub fn with_faults(mut self, faults: FaultSet) -> Self {
        self.faults = faults;
        self
    }

    /// Sets how many requests the request log (`GET /dev/requests`) keeps; 0 keeps none.
    pub fn with_request_log(mut self, capacity: usize) -> Self {
        self.request_log = capacity;
        self
    }

    /// Keeps groups, states and presence in `dir` across restarts (see
    /// [`data_dir`](Self::data_dir)).
    pub fn with_data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Loads `snapshot` at start.
    pub fn with_import(mut self, snapshot: Snapshot) -> Self {
        self.import = Some(snapshot);
        self
    }

    /// Writes a snapshot to `path` at shutdown.
    pub fn with_export_on_exit(mut self, path: impl Into<PathBuf>) -> Self {
        self.export_on_exit = Some(path.into());
        self
    }

    /// Turns the `/dev/*` endpoints on or off, whatever the listen address.
    pub fn with_dev_endpoints(mut self, enabled: bool) -> Self {
        self.dev_endpoints = Some(enabled);
        self
    }

    /// Whether the `/dev/*` endpoints are served: as [`dev_endpoints`](Self::dev_endpoints)
    /// says, else only when [`listen`](Self::listen) is a loopback address (they let
    /// anyone who reaches the server make it fail, and read its recent requests).
    pub fn dev_endpoints_enabled(&self) -> bool {
        self.dev_endpoints.unwrap_or_else(|| self.listen.ip().is_loopback())
    }
}
