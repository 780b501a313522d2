//! Waiting for the server's held subscribe polls: the one way tests know a
//! watcher is long-polling (so anything from now on reaches it), or that a
//! poll's client hung up.

use std::time::Duration;

use presence_server::PresenceServer;

/// Waits until `ready(held)` is true for the number of subscribe polls the
/// server holds, checking every millisecond; panics after 30 s naming `what`.
pub async fn until_held(server: &PresenceServer, what: &str, ready: impl Fn(usize) -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(30), async {
        while !ready(server.held_polls()) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    waited.await.unwrap_or_else(|_| panic!("timed out waiting for {what}: {} polls held", server.held_polls()));
}
