// Shared by the fuzz targets: one client, and the split of the input into
// an HTTP status and a body.
use pubnub_presence::{Config, PubNub};

pub fn client() -> &'static PubNub {
    static CLIENT: std::sync::OnceLock<PubNub> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| PubNub::new(Config::new("demo").user_id("fuzz")))
}

/// First byte: request shape selector; second: status (mostly 200); rest:
/// the body bytes, as received (not necessarily UTF-8).
pub fn split(data: &[u8]) -> (u8, u16, &[u8]) {
    let selector = data.first().copied().unwrap_or(0);
    let status = match data.get(1).copied().unwrap_or(0) {
        0..=199 => 200,
        b => 100 + u16::from(b) * 2,
    };
    (selector, status, data.get(2..).unwrap_or_default())
}
