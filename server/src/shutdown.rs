//! The server's one stop signal.
//!
//! [`Shutdown`] is set once, when the server stops (by
//! [`PresenceServer::shutdown`](crate::PresenceServer::shutdown) or by
//! dropping it), and everything that must end then watches it: the accept
//! loop stops accepting, idle connections close, and held subscribe polls
//! answer at once, so a graceful shutdown does not wait out the long-poll
//! bound.

use tokio::sync::watch;

/// Set once when the server stops; observed by the accept loop, every
/// connection and every held poll.
#[derive(Debug)]
pub(crate) struct Shutdown {
    stopped: watch::Sender<bool>,
}

impl Shutdown {
    pub(crate) fn new() -> Self {
        Shutdown { stopped: watch::Sender::new(false) }
    }

    /// Stops the server: from now on [`Shutdown::is_triggered`] is true and
    /// every [`Shutdown::triggered`] future resolves.
    pub(crate) fn trigger(&self) {
        self.stopped.send_replace(true);
    }

    /// Whether the server is stopping.
    pub(crate) fn is_triggered(&self) -> bool {
        *self.stopped.borrow()
    }

    /// Resolves once the server is stopping (at once if it already is).
    pub(crate) async fn triggered(&self) {
        let mut stopped = self.stopped.subscribe();
        // The sender lives as long as `self`, so this only ends when it is set.
        let _ = stopped.wait_for(|stopped| *stopped).await;
    }
}
