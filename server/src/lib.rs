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
mod config;
mod connection;
mod dashboard;
mod dev;
mod dispatch;
mod events;
mod faults;
mod handlers;
mod json;
mod metrics;
mod params;
mod persist;
mod reaper;
mod reply;
mod request_log;
mod routing;
mod shutdown;
pub mod signature;
mod snapshot;
mod state;
mod store;
mod subscribe;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{DEFAULT_BINARY_LISTEN, MAX_STATE_DEPTH, ServerConfig};
pub use faults::FaultSet;
pub use persist::FLUSH_INTERVAL;
pub use snapshot::Snapshot;

use state::ServerState;

/// A running presence server. Dropping it stops the server too (without waiting).
pub struct PresenceServer {
    addr: SocketAddr,
    task: Option<JoinHandle<std::io::Result<()>>>,
    reaper: JoinHandle<()>,
    /// Writes batched changes to the data directory (with one).
    flusher: Option<JoinHandle<()>>,
    state: Arc<ServerState>,
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
        let (journal, loaded) = match &config.data_dir {
            Some(dir) => {
                let (journal, loaded) = persist::open(dir).map_err(std::io::Error::other)?;
                (Some(journal), Some(loaded))
            }
            None => (None, None),
        };
        let state = Arc::new(ServerState::new(config, journal));
        state.restore(loaded);
        let reaper = {
            let state = Arc::clone(&state);
            tokio::spawn(async move { state.reaper.run(&state.store, &*state.clock).await })
        };
        // Presence deadlines and the rest that need not wait reach the disk in batches.
        let flusher = state.journal.is_some().then(|| {
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(persist::FLUSH_INTERVAL).await;
                    state.flush().await;
                }
            })
        });
        let task = tokio::spawn(connection::serve(listener, Arc::clone(&state)));
        Ok(PresenceServer { addr, task: Some(task), reaper, flusher, state })
    }

    /// Where the data lives: `None` in memory, else the database file.
    pub fn data_file(&self) -> Option<std::path::PathBuf> {
        self.state.journal.as_ref().map(|journal| journal.path().to_path_buf())
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
        self.state.held_polls.load(Ordering::SeqCst)
    }

    /// `http://host:port`, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits for the server task.
    /// With a data directory, everything is on disk once it returns; with
    /// [`ServerConfig::export_on_exit`], the snapshot is written.
    pub async fn shutdown(mut self) {
        self.state.shutdown.trigger();
        self.reaper.abort();
        if let Some(flusher) = self.flusher.take() {
            flusher.abort();
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("presence server stopped with error: {e}"),
                Err(e) => tracing::warn!("presence server task failed: {e}"),
            }
        }
        self.state.flush().await;
        if let Some(journal) = &self.state.journal
            && let Err(e) = journal.close().await
        {
            tracing::error!("the store did not close cleanly: {e}");
        }
        if let Some(path) = &self.state.config.export_on_exit {
            let snapshot = Snapshot::of(&self.state.store, self.state.clock.now_millis());
            match std::fs::write(path, snapshot.to_json()) {
                Ok(()) => tracing::info!("snapshot written to {}", path.display()),
                Err(e) => tracing::error!("cannot write the snapshot to {}: {e}", path.display()),
            }
        }
    }
}

impl Drop for PresenceServer {
    fn drop(&mut self) {
        self.state.shutdown.trigger();
        self.reaper.abort();
        if let Some(flusher) = &self.flusher {
            flusher.abort();
        }
    }
}
