//! [`ServerState`]: what every connection, handler and the reaper of one
//! server share.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::faults::Faults;
use crate::metrics::RequestCounts;
use crate::persist::{Journal, Loaded};
use crate::reaper::Reaper;
use crate::request_log::RequestLog;
use crate::shutdown::Shutdown;
use crate::signature::{self, SignatureError, SignedRequest};
use crate::store::{KeyspaceSettings, Store, write};

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
    /// The data directory's writer (`None`: in memory).
    pub(crate) journal: Option<Journal>,
}

impl ServerState {
    pub(crate) fn new(config: ServerConfig, journal: Option<Journal>) -> Self {
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
            journal,
        }
    }

    /// Puts back what the data directory held, then the imported snapshot;
    /// records whose deadline passed meanwhile time out at once (the reaper
    /// is told), with their `timeout` events stamped at those deadlines.
    pub(crate) fn restore(&self, loaded: Option<Loaded>) {
        if let Some(loaded) = loaded {
            let sub_keys: BTreeSet<&String> = loaded.members.keys().chain(loaded.groups.keys()).collect();
            for sub_key in sub_keys {
                let keyspace = self.store.keyspace(sub_key);
                let mut keyspace = write(&keyspace);
                let groups = loaded.groups.get(sub_key).map_or(&[][..], Vec::as_slice);
                keyspace.restore(groups, loaded.members.get(sub_key).into_iter().flatten().cloned());
                // Already on disk.
                drop(keyspace.take_changes());
            }
        }
        if let Some(snapshot) = &self.config.import {
            snapshot.apply(&self.store, self.clock.now_millis());
        }
        self.schedule(self.store.next_deadline());
    }

    /// Hands every keyspace's changes to the data directory and waits for
    /// the commit (nothing without one).
    pub(crate) async fn flush(&self) {
        let Some(journal) = &self.journal else { return };
        for sub_key in self.store.sub_keys() {
            if let Some(keyspace) = self.store.existing(&sub_key) {
                journal.record(&sub_key, write(&keyspace).take_changes());
            }
        }
        if let Err(e) = journal.commit().await {
            tracing::error!("the store could not commit: {e}");
        }
    }

    /// Checks a request's signature against the server's secret key
    /// (docs/PROTOCOL.md §4), at `now_millis`; with no secret key every
    /// request passes.
    pub(crate) fn check_signature(&self, req: &SignedRequest<'_>, now_millis: u64) -> Result<(), SignatureError> {
        let Some(secret) = self.config.secret_key.as_deref() else { return Ok(()) };
        let tolerance = self.config.signature_tolerance.as_secs();
        signature::verify(secret, &self.config.publish_key, req, now_millis / 1000, tolerance)
    }

    /// Tells the reaper about a deadline, if it is sooner than the one it waits for.
    pub(crate) fn schedule(&self, deadline: Option<u64>) {
        self.reaper.schedule(deadline);
    }
}
