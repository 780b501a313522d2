//! Client configuration.

use std::fmt;
use std::time::Duration;

use crate::RetryPolicy;

/// Connection settings for a client: give them to `PubNub::new`.
///
/// Only the subscribe key and a user id are needed; everything else has a
/// default matching PubNub's own SDKs.
///
/// ```
/// use std::time::Duration;
/// use pubnub_presence_runtime::Config;
///
/// let config = Config::new("sub-c-123")
///     .user_id("alice")
///     .auth_key("token")
///     .request_timeout(Duration::from_secs(5));
/// assert_eq!(config.base_url(), "https://ps.pndsn.com");
///
/// // A local presence server speaks plain HTTP:
/// let local = Config::new("demo").user_id("bob").origin("127.0.0.1:8090").secure(false);
/// assert_eq!(local.base_url(), "http://127.0.0.1:8090");
/// ```
#[derive(Clone)]
pub struct Config {
    pub(crate) subscribe_key: String,
    pub(crate) user_id: String,
    pub(crate) origin: String,
    pub(crate) secure: bool,
    pub(crate) auth_key: Option<String>,
    pub(crate) publish_key: Option<String>,
    pub(crate) secret_key: Option<String>,
    pub(crate) request_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry_policy: RetryPolicy,
    pub(crate) long_poll_timeout: Duration,
    pub(crate) batch_window: Duration,
    pub(crate) http_client: Option<reqwest::Client>,
    pub(crate) sender: Option<std::sync::Arc<dyn crate::transport::Sender>>,
}

impl Config {
    /// Default origin of PubNub's presence service.
    pub const DEFAULT_ORIGIN: &'static str = "ps.pndsn.com";
    /// Default time one attempt of a request (connect, send, read) may take.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default time establishing a connection may take.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default pause of a subscription between an answer with items and its next poll.
    pub const DEFAULT_BATCH_WINDOW: Duration = Duration::from_millis(2);

    /// Starts a configuration for the given subscribe key.
    pub fn new(subscribe_key: impl Into<String>) -> Self {
        Config {
            subscribe_key: subscribe_key.into(),
            user_id: String::new(),
            origin: Self::DEFAULT_ORIGIN.to_owned(),
            secure: true,
            auth_key: None,
            publish_key: None,
            secret_key: None,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            retry_policy: RetryPolicy::default(),
            long_poll_timeout: crate::stream::DEFAULT_LONG_POLL_TIMEOUT,
            batch_window: Self::DEFAULT_BATCH_WINDOW,
            http_client: None,
            sender: None,
        }
    }

    /// Replaces the subscribe key given to [`Config::new`].
    pub fn subscribe_key(mut self, subscribe_key: impl Into<String>) -> Self {
        self.subscribe_key = subscribe_key.into();
        self
    }

    /// The user id (PubNub's `uuid`) this client acts as. Required.
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = user_id.into();
        self
    }

    /// Host (and optional port) to talk to, default `ps.pndsn.com`. A value
    /// starting with `http://` or `https://` sets the scheme too.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = origin.into();
        self
    }

    /// `https` when true (the default); `false` for plain-HTTP local servers.
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Access Manager auth key or token, sent as `auth`.
    pub fn auth_key(mut self, auth_key: impl Into<String>) -> Self {
        self.auth_key = Some(auth_key.into());
        self
    }

    /// Publish key; with [`Config::secret_key`] it enables request signing.
    pub fn publish_key(mut self, publish_key: impl Into<String>) -> Self {
        self.publish_key = Some(publish_key.into());
        self
    }

    /// Secret key: every request is then signed (signature v2). Never sent.
    pub fn secret_key(mut self, secret_key: impl Into<String>) -> Self {
        self.secret_key = Some(secret_key.into());
        self
    }

    /// Upper bound for one attempt of a request (connect, send, read), default 10 s.
    /// Applies to a client passed through [`Config::http_client`] too.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Upper bound for establishing a connection, default 5 s. Not applied to
    /// a client passed through [`Config::http_client`] (configure it there).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Upper bound for one long-poll of a subscription (presence events),
    /// default 310 s: the server answers within 280 s, so only a dead
    /// connection reaches it, and the subscription then polls again.
    pub fn long_poll_timeout(mut self, timeout: Duration) -> Self {
        self.long_poll_timeout = timeout;
        self
    }

    /// How long a subscription (presence events) waits after an answer that
    /// carried items before it polls again, default 2 ms, so that items
    /// arriving close together come in one answer: in a burst (a thousand
    /// users joining) it sends one request, and spends one answer's CPU,
    /// for many events instead of one each. The answer's items are yielded
    /// at once; only the items that follow them within the window are up to
    /// the window later. An answer with no items (the server's 280 s
    /// timeout) and a quiet channel add nothing: the next poll is held by
    /// the server, which answers the moment something happens.
    /// `Duration::ZERO` polls again at once.
    pub fn batch_window(mut self, window: Duration) -> Self {
        self.batch_window = window;
        self
    }

    /// How failed idempotent requests are retried; default
    /// [`RetryPolicy::default`] (2 retries, exponential backoff with jitter).
    /// Use [`RetryPolicy::none`] to disable.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// Uses your own `reqwest::Client` (proxies, pools, TLS roots…).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Puts `sender` in front of the HTTP client: it sends the requests it
    /// takes (see [`crate::transport::Sender`]). For language bindings.
    #[doc(hidden)]
    pub fn sender(mut self, sender: std::sync::Arc<dyn crate::transport::Sender>) -> Self {
        self.sender = Some(sender);
        self
    }

    /// The subscribe key.
    pub fn subscribe_key_value(&self) -> &str {
        &self.subscribe_key
    }

    /// The user id requests are sent as.
    pub fn user_id_value(&self) -> &str {
        &self.user_id
    }

    /// The bound for establishing a connection ([`Config::connect_timeout`]).
    pub fn connect_timeout_value(&self) -> Duration {
        self.connect_timeout
    }

    /// Scheme and origin every request URL starts with.
    pub fn base_url(&self) -> String {
        let origin = self.origin.trim_end_matches('/');
        if origin.starts_with("http://") || origin.starts_with("https://") {
            origin.to_owned()
        } else if self.secure {
            format!("https://{origin}")
        } else {
            format!("http://{origin}")
        }
    }
}

/// Secrets are redacted so configs can be logged safely.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Config")
            .field("subscribe_key", &self.subscribe_key)
            .field("user_id", &self.user_id)
            .field("origin", &self.origin)
            .field("secure", &self.secure)
            .field("auth_key", &redact(&self.auth_key))
            .field("publish_key", &self.publish_key)
            .field("secret_key", &redact(&self.secret_key))
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry_policy", &self.retry_policy)
            .field("long_poll_timeout", &self.long_poll_timeout)
            .field("batch_window", &self.batch_window)
            .field("http_client", &self.http_client.as_ref().map(|_| "<custom>"))
            .field("sender", &self.sender.as_ref().map(|_| "<custom>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_secrets() {
        let config = Config::new("sub").user_id("u").auth_key("AUTH-SECRET").secret_key("SEC-SECRET");
        let shown = format!("{config:?}");
        assert!(!shown.contains("AUTH-SECRET") && !shown.contains("SEC-SECRET"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
