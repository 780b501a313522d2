//! [`ServerState`]: what every connection, handler and the reaper of one
//! server share.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::faults::Faults;
use crate::metrics::RequestCounts;
use crate::reaper::Reaper;
use crate::request_log::RequestLog;
use crate::shutdown::Shutdown;
use crate::store::{KeyspaceSettings, Store};

/// The state of one running server.
pub(crate) struct ServerState {
    pub(crate) config: ServerConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store: Store,
    /// Subscribe polls being held.
    pub(crate) held_polls: AtomicUsize,
    pub(crate) reaper: Reaper,
    /// Set when the server stops.
    pub(crate) shutdown: Shutdown,
    /// The fault rules in force.
    pub(crate) faults: Faults,
    /// The last requests (`/dev/requests`).
    pub(crate) request_log: RequestLog,
    /// Requests answered, by endpoint and status (`/metrics`).
    pub(crate) request_counts: RequestCounts,
    /// Whether `/dev/*` is served.
    pub(crate) dev_endpoints: bool,
}

impl ServerState {
    pub(crate) fn new(config: ServerConfig) -> Self {
        ServerState {
            clock: Arc::clone(&config.clock),
            store: Store::new(KeyspaceSettings::from_config(&config)),
            faults: Faults::new(config.faults.clone()),
            request_log: RequestLog::new(config.request_log),
            request_counts: RequestCounts::new(),
            dev_endpoints: config.dev_endpoints_enabled(),
            config,
            held_polls: AtomicUsize::new(0),
            reaper: Reaper::new(),
            shutdown: Shutdown::new(),
        }
    }

    /// Tells the reaper about a deadline, if it is sooner than the one it waits for.
    pub(crate) fn schedule(&self, deadline: Option<u64>) {
        self.reaper.schedule(deadline);
    }
}
