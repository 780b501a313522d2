//! The HTTP transport: adds the common query parameters (docs/PROTOCOL.md §0),
//! signs when a secret key is configured, sends, and classifies the answer.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::Instrument;

use crate::body;
use crate::request::Request;
use crate::{Config, Error, TimeoutKind, encoding, signing, validate};

/// Value of the `pnsdk` query parameter.
pub const PNSDK: &str = concat!("PubNub-Rust-Presence/", env!("CARGO_PKG_VERSION"));

/// Longest request URL the API accepts (the rule lives with the other input
/// rules, in `validate`).
pub use crate::validate::MAX_URL_BYTES;

/// Length of a request signature: `v2.` and the base64url (no padding) of a
/// 32-byte HMAC-SHA256.
const SIGNATURE_BYTES: usize = 3 + 43;

/// How one attempt ended: a 2xx answer's (status, body) or the error it
/// amounts to, and the server's `Retry-After`, if it sent one.
type Attempt = (Result<(u16, Vec<u8>), Error>, Option<Duration>);

/// A configured connection to the Presence API, shared by all operations.
pub struct Client {
    config: Config,
    http: Result<reqwest::Client, String>,
    /// `scheme://origin`, computed once.
    base_url: String,
    /// `uuid=…&pnsdk=…[&auth=…]`, encoded once: the config never changes.
    common_query: String,
    /// What is wrong with the config (parameter, rule), checked once and
    /// reported by every request before any I/O.
    config_problem: Option<(&'static str, String)>,
    /// State that hand-written modules keep per client (`join()`'s shared presence).
    extensions: crate::Extensions,
}

/// Shows the config (secrets redacted), never the pre-encoded query with `auth`.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("config", &self.config).field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

impl Client {
    /// Creates a client. Never fails: a problem building the HTTP client is
    /// reported by the first request instead.
    pub fn new(config: Config) -> Self {
        let http = match &config.http_client {
            Some(client) => Ok(client.clone()),
            None => {
                // reqwest is built without a default crypto provider so that the
                // tree stays free of C/asm toolchains beyond `ring`; install ours
                // unless the application already chose one.
                let _ = rustls::crypto::ring::default_provider().install_default();
                reqwest::Client::builder()
                    .connect_timeout(config.connect_timeout)
                    // PubNub does not redirect presence calls, and a followed
                    // redirect would drop the query's uuid, auth and signature.
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|err| error_chain(&err))
            }
        };
        let mut common_query =
            format!("uuid={}&pnsdk={}", encoding::component(&config.user_id), encoding::component(PNSDK));
        if let Some(auth) = &config.auth_key {
            common_query.push_str("&auth=");
            common_query.push_str(&encoding::component(auth));
        }
        // `check_config` fails only with `InvalidInput`.
        let config_problem = match check_config(&config) {
            Err(Error::InvalidInput { parameter, rule }) => Some((parameter, rule)),
            _ => None,
        };
        Client {
            base_url: config.base_url(),
            config,
            http,
            common_query,
            config_problem,
            extensions: crate::Extensions::default(),
        }
    }

    /// Per-client values of the modules a generated crate inlines (one per
    /// type; see [`crate::Extensions`]). Not for applications.
    #[doc(hidden)]
    pub fn extensions(&self) -> &crate::Extensions {
        &self.extensions
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The full URL (path and query, without scheme and host) that `request`
    /// is sent as, common parameters and signature included.
    pub fn path_and_query(&self, request: &Request) -> Result<String, Error> {
        self.path_and_query_at(request, unix_now())
    }

    /// Checks, before any I/O, that `request` fits in a URL the API accepts
    /// ([`MAX_URL_BYTES`], counting what this client adds: `uuid`, `pnsdk`,
    /// `auth`, the signature); past it, the error names the parameter (or
    /// config value) that takes the most of the URL. Every generated
    /// `build_request` ends with it, and every send checks again.
    pub fn check_url(&self, request: &Request) -> Result<(), Error> {
        self.check_url_at(request, unix_now())
    }

    fn check_url_at(&self, request: &Request, unix_seconds: u64) -> Result<(), Error> {
        validate::url_length(self.url_len(request, unix_seconds), self.sources(request))
    }

    /// Length of the full URL `request` is sent as: what
    /// [`Client::path_and_query_at`] builds, after the origin.
    fn url_len(&self, request: &Request, unix_seconds: u64) -> usize {
        // `?` or `&` before each pair, `=` inside it; the common query last.
        let endpoint: usize = request.query().iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        let mut len = self.base_url.len() + request.path().len() + endpoint + 1 + self.common_query.len();
        if self.config.secret_key.is_some() {
            len += "&timestamp=".len() + decimal_digits(unix_seconds) + "&signature=".len() + SIGNATURE_BYTES;
        }
        len
    }

    /// What each parameter and config value accounts for in `request`'s URL.
    fn sources<'a>(&'a self, request: &'a Request) -> impl Iterator<Item = (&'static str, usize)> + 'a {
        // Lazily: they are read only when the URL is too long.
        let config = &self.config;
        let user_id =
            std::iter::once_with(move || ("user_id", "uuid=".len() + encoding::component(&config.user_id).len()));
        let auth = config.auth_key.iter().map(|auth| ("auth_key", "&auth=".len() + encoding::component(auth).len()));
        request.sources().iter().copied().chain(user_id).chain(auth)
    }

    /// Like [`Client::path_and_query`] with an explicit signing timestamp.
    pub fn path_and_query_at(&self, request: &Request, unix_seconds: u64) -> Result<String, Error> {
        if let Some((parameter, rule)) = &self.config_problem {
            return Err(Error::InvalidInput { parameter, rule: rule.clone() });
        }
        self.check_url_at(request, unix_seconds)?;
        let config = &self.config;

        let mut url = String::new();
        url.push_str(request.path());
        for (key, value) in request.query() {
            url.push(if url.len() == request.path().len() { '?' } else { '&' });
            url.push_str(key);
            url.push('=');
            url.push_str(value);
        }
        url.push(if url.len() == request.path().len() { '?' } else { '&' });
        url.push_str(&self.common_query);
        if let Some(secret) = &config.secret_key {
            url.push_str("&timestamp=");
            url.push_str(&unix_seconds.to_string());
            let query = &url[request.path().len() + 1..];
            let decoded: Vec<(String, String)> = query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_owned(), encoding::decode(v)))
                .collect();
            let publish_key = config.publish_key.as_deref().unwrap_or_default();
            let canonical = signing::canonical_query(&decoded);
            let signature = signing::sign(secret, publish_key, "GET", request.path(), &canonical, "");
            url.push_str("&signature=");
            url.push_str(&signature);
        }
        debug_assert_eq!(self.base_url.len() + url.len(), self.url_len(request, unix_seconds), "checked as built");
        Ok(url)
    }

    /// Sends `request` and decodes a 2xx answer with `decode` (HTTP status,
    /// body bytes); any other answer is the error it amounts to (a 3xx or an
    /// HTTP status of 400 or more is an [`Error::Api`]).
    ///
    /// Idempotent requests are retried per the config's [`crate::RetryPolicy`]
    /// when the attempt fails in a retryable way, including a retryable error
    /// that `decode` finds in a 2xx body (a `503` reported inside a `200`);
    /// each attempt is re-signed with a fresh timestamp. Runs inside a
    /// `presence_request` tracing span (operation, redacted URL); each
    /// attempt logs its number, status and elapsed time at `debug`.
    pub async fn execute<T: Send>(
        &self,
        request: Request,
        decode: impl Fn(u16, &[u8]) -> Result<T, Error> + Sync,
    ) -> Result<T, Error> {
        // Validate and build once before any I/O, so input errors are never retried.
        let first = self.path_and_query(&request)?;
        let http = self.http_client()?;
        let span = tracing::debug_span!(
            "presence_request",
            operation = request.operation(),
            url = %redact(&first),
        );
        self.execute_attempts(http, &request, first, decode).instrument(span).await
    }

    async fn execute_attempts<T: Send>(
        &self,
        http: &reqwest::Client,
        request: &Request,
        first: String,
        decode: impl Fn(u16, &[u8]) -> Result<T, Error> + Sync,
    ) -> Result<T, Error> {
        let policy = &self.config.retry_policy;
        let max_attempts = if request.idempotent() { policy.max_retries().saturating_add(1) } else { 1 };
        let mut path_and_query = first;
        let mut attempt: u32 = 1;
        loop {
            let started = Instant::now();
            let (answer, retry_after) = self.attempt(http, &path_and_query, self.config.request_timeout).await;
            let outcome = answer.and_then(|(status, body)| self.decode_with(body.len(), || decode(status, &body)));
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            match &outcome {
                Ok(_) => tracing::debug!(attempt, elapsed_ms, "attempt succeeded"),
                Err(err) => tracing::debug!(attempt, status = err.status(), elapsed_ms, error = %err, "attempt failed"),
            }
            let err = match outcome {
                Ok(body) => return Ok(body),
                Err(err) if attempt >= max_attempts || !err.is_retryable() => return Err(err),
                Err(err) => err,
            };
            let delay = policy.delay(attempt, retry_after, crate::retry::random());
            tracing::debug!(attempt, delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), error = %err, "retrying");
            self.timer(delay).await;
            attempt = attempt.saturating_add(1);
            path_and_query = self.path_and_query(request)?;
        }
    }

    /// Sends `request` once, allowing it `timeout` (a long-poll's), without
    /// retrying: a 2xx answer (status, body) or the error it amounts to, and
    /// the server's `Retry-After`. The caller decodes and decides whether
    /// to try again (a subscription reconnects from its cursor).
    pub(crate) async fn send_once(&self, request: &Request, timeout: Duration) -> Attempt {
        match (self.path_and_query(request), self.http_client()) {
            (Ok(path_and_query), Ok(http)) => self.attempt(http, &path_and_query, timeout).await,
            (Err(err), _) | (_, Err(err)) => (Err(err), None),
        }
    }

    /// Runs `decode` (of an answer of `body_bytes`) where the
    /// [`Config::sender`] says, else here.
    pub(crate) fn decode_with<T: Send>(&self, body_bytes: usize, decode: impl FnOnce() -> T + Send) -> T {
        let mut decode = Some(decode);
        let mut decoded = None;
        let mut run = || decoded = decode.take().map(|decode| decode());
        match &self.config.sender {
            Some(sender) => sender.run_decode(body_bytes, &mut run),
            None => run(),
        }
        // A sender that did not run it: run it here.
        decoded.unwrap_or_else(|| decode.take().map(|decode| decode()).expect("not run yet"))
    }

    /// A timer ending `after` from now: the [`Config::sender`]'s, when it
    /// gives one, else tokio's.
    pub(crate) fn timer(&self, after: Duration) -> Timer {
        match self.config.sender.as_ref().and_then(|sender| sender.timer(after)) {
            Some(timer) => timer,
            None => Box::pin(tokio::time::sleep(after)),
        }
    }

    /// The HTTP client, or why it could not be built (the same error for
    /// every request).
    fn http_client(&self) -> Result<&reqwest::Client, Error> {
        self.http.as_ref().map_err(|message| Error::Transport {
            message: format!("could not build the HTTP client: {message}"),
            source: None,
        })
    }

    /// One attempt: a 2xx answer (status, body) or the error the answer
    /// amounts to, and the server's `Retry-After`, if any. A
    /// [`Config::sender`] that takes the request sends it; otherwise reqwest.
    async fn attempt(&self, http: &reqwest::Client, path_and_query: &str, timeout: Duration) -> Attempt {
        let get = Get { path_and_query, timeout, max_body: MAX_RESPONSE_BYTES };
        if let Some(sending) = self.config.sender.as_ref().and_then(|sender| sender.get(get)) {
            return match sending.await {
                Ok(answer) => classify(answer),
                Err(err) => (Err(err), None),
            };
        }
        let mut url = String::with_capacity(self.base_url.len() + path_and_query.len());
        url.push_str(&self.base_url);
        url.push_str(path_and_query);
        let response = match http.get(url).timeout(timeout).send().await {
            Ok(response) => response,
            Err(err) => return (Err(self.transport_error(err, timeout)), None),
        };
        let status = response.status().as_u16();
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let retry_after = header(reqwest::header::RETRY_AFTER);
        let location = header(reqwest::header::LOCATION);
        let body = if (300..400).contains(&status) {
            Vec::new()
        } else {
            match read_capped(response, MAX_RESPONSE_BYTES).await {
                Ok(Ok(body)) => body,
                Ok(Err(too_big)) => return (Err(too_big), None),
                Err(err) => {
                    let retry_after = retry_after.and_then(|value| parse_retry_after(&value, SystemTime::now()));
                    return (Err(self.transport_error(err, timeout)), retry_after);
                }
            }
        };
        classify(HttpAnswer { status, retry_after, location, body })
    }

    fn transport_error(&self, err: reqwest::Error, timeout: Duration) -> Error {
        if err.is_builder() {
            // The URL could not be built: a bad origin, not worth retrying.
            return Error::InvalidInput {
                parameter: "origin",
                rule: format!("must be a host[:port] or URL ({})", err.without_url()),
            };
        }
        if err.is_timeout() {
            return if err.is_connect() {
                Error::Timeout { kind: TimeoutKind::Connect, timeout: self.config.connect_timeout }
            } else {
                Error::Timeout { kind: TimeoutKind::Request, timeout }
            };
        }
        // The URL carries `auth` and `signature`: never let it into messages.
        let err = err.without_url();
        Error::Transport { message: error_chain(&err), source: Some(Box::new(err)) }
    }
}

/// A `Retry-After` value, in delay-seconds (`120`) or as an HTTP date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, RFC 9110 §10.2.3); a date in the past
/// means "now".
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What a 2xx, 3xx or error answer amounts to (the same rules whichever
/// sender got it): a 2xx answer's (status, body) for the operation to
/// decode, or the error; and the server's `Retry-After`.
fn classify(answer: HttpAnswer) -> Attempt {
    let HttpAnswer { status, retry_after, location, body } = answer;
    let retry_after = retry_after.and_then(|value| parse_retry_after(&value, SystemTime::now()));
    if (300..400).contains(&status) {
        // A redirect may echo the query back: keep `auth` and `signature` out of the error.
        let location = location.as_deref().map_or_else(|| "nowhere".to_owned(), redact);
        return (Err(redirect_error(status, &location)), None);
    }
    if (200..300).contains(&status) {
        // Decoding (and spotting an error inside a 200) is the operation's job,
        // done in one pass over the body.
        return (Ok((status, body)), retry_after);
    }
    (Err(body::error_response(status, &body)), retry_after)
}

/// One GET for a [`Sender`] to send.
#[derive(Debug, Clone, Copy)]
pub struct Get<'a> {
    /// Path and query, signed, after the config's origin.
    pub path_and_query: &'a str,
    /// Upper bound for the whole attempt (connect, send, read): past it the
    /// sender ends with [`Error::Timeout`] of kind [`TimeoutKind::Request`].
    pub timeout: Duration,
    /// Largest body to read: a larger one is [`Error::Decode`] ([`body_too_big`]).
    pub max_body: usize,
}

/// The parts of an HTTP answer the client looks at.
#[derive(Debug, Clone, Default)]
pub struct HttpAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The `Retry-After` header's value, if any.
    pub retry_after: Option<String>,
    /// The `Location` header's value, if any (a 3xx's body is not needed).
    pub location: Option<String>,
    /// The whole body (chunked transfer coding removed).
    pub body: Vec<u8>,
}

/// A sent GET: its answer, or the [`Error::Transport`] or [`Error::Timeout`]
/// it failed with.
pub type Sending<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<HttpAnswer, Error>> + Send + 'a>>;

/// Sends requests for a client in place of its reqwest client, when it
/// takes them: a binding to another language puts one here to do its I/O
/// on that language's event loop (`bindings/python` does, on asyncio's
/// thread). Built for the same origin as the config it is set on.
pub trait Sender: Send + Sync + 'static {
    /// Sends `get`, or returns `None` to leave it to the reqwest client
    /// (a sender that works only on some threads declines on the others).
    fn get<'a>(&'a self, get: Get<'a>) -> Option<Sending<'a>>;

    /// A timer that ends `after` from now on the sender's own clock (a
    /// retry's backoff, a subscription's batch window), or `None` for
    /// tokio's: a sender on another event loop keeps its tasks' timers there.
    fn timer(&self, after: Duration) -> Option<Timer> {
        let _ = after;
        None
    }

    /// Runs `decode`, which decodes an answer of `body_bytes`: here, by
    /// default. A binding may run a large one elsewhere (the Python one
    /// lets other Python threads run meanwhile, as `hashlib` does for large
    /// inputs).
    fn run_decode(&self, body_bytes: usize, decode: &mut (dyn FnMut() + Send)) {
        let _ = body_bytes;
        decode();
    }
}

/// A timer a [`Sender`] gives: it ends once its time has passed.
pub type Timer = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The error for a body over `cap` bytes (`seen` so far), as every sender reports it.
pub fn body_too_big(cap: usize, seen: usize) -> Error {
    Error::Decode {
        message: format!("response body is larger than {cap} bytes (at least {seen})"),
        body: String::new(),
    }
}

/// A 3xx: presence calls are never redirected, so it is an error naming where
/// the answer pointed (retrying would get the same answer).
fn redirect_error(status: u16, location: &str) -> Error {
    Error::Api {
        status,
        message: format!(
            "the server redirected the request to {location}; presence calls are not redirected, so check the origin"
        ),
        service: None,
        body: String::new(),
    }
}

/// The config's own rules, which no request can change.
fn check_config(config: &Config) -> Result<(), Error> {
    validate::text("subscribe_key", &config.subscribe_key, validate::MAX_NAME_BYTES)?;
    validate::text("user_id", &config.user_id, validate::MAX_UUID_BYTES)?;
    if config.secret_key.is_some() {
        // Signing with an empty publish key would make every request a 403.
        crate::validate::required("publish_key", config.publish_key.as_deref())?;
    }
    Ok(())
}

/// Largest response body read; a bigger one (a misbehaving proxy, say) is an
/// error rather than unbounded memory.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Reads the body up to `cap` bytes: `Ok(Err(_))` when it is larger.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Result<Vec<u8>, Error>, reqwest::Error> {
    let too_big = |seen: usize| body_too_big(cap, seen);
    let declared = response.content_length().and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    if declared > cap {
        return Ok(Err(too_big(declared)));
    }
    let mut bytes = Vec::with_capacity(declared);
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > cap {
            return Ok(Err(too_big(bytes.len() + chunk.len())));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Ok(bytes))
}

/// `path?query` with the values of `auth` and `signature` replaced, for logs.
pub fn redact(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else { return path_and_query.to_owned() };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key @ ("auth" | "signature"), _)) => format!("{key}=[redacted]"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

/// `outer: inner: innermost`, so a connect failure says *why* it failed.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
}

/// Digits of `n` in decimal.
fn decimal_digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_parameters_and_signature_are_added() {
        let config = Config::new("demo").user_id("my UUID").auth_key("a/b").publish_key("pub").secret_key("sec");
        let client = Client::new(config);
        let mut request = Request::new("heartbeat", "/v2/presence/sub-key/demo/channel/ch1/heartbeat".to_owned());
        request.push_query("heartbeat", Some("300".to_owned()));
        let url = client.path_and_query_at(&request, 1_700_000_000).unwrap();
        let canonical = format!(
            "auth=a%2Fb&heartbeat=300&pnsdk={}&timestamp=1700000000&uuid=my%20UUID",
            encoding::canonical(PNSDK)
        );
        let signature = signing::sign("sec", "pub", "GET", request.path(), &canonical, "");
        assert_eq!(
            url,
            format!(
                "/v2/presence/sub-key/demo/channel/ch1/heartbeat?heartbeat=300&uuid=my%20UUID&pnsdk={}&auth=a%2Fb&timestamp=1700000000&signature={signature}",
                encoding::component(PNSDK)
            )
        );
    }

    /// A sender's answers go through the same rules as reqwest's: a 503's
    /// `Retry-After` sets the retry's delay (on the sender's timer), a 2xx
    /// body is decoded through the sender's `run_decode`, and a redirect is
    /// an error that never shows the credentials it echoes.
    #[tokio::test]
    async fn a_senders_answers_follow_the_clients_rules() {
        struct Scripted {
            answers: std::sync::Mutex<Vec<HttpAnswer>>,
            timers: std::sync::Mutex<Vec<Duration>>,
            decoded: std::sync::Mutex<Vec<usize>>,
        }
        impl Sender for Scripted {
            fn get<'a>(&'a self, _get: Get<'a>) -> Option<Sending<'a>> {
                let answer = self.answers.lock().unwrap().remove(0);
                Some(Box::pin(async move { Ok(answer) }))
            }
            fn timer(&self, after: Duration) -> Option<Timer> {
                self.timers.lock().unwrap().push(after);
                Some(Box::pin(async {}))
            }
            fn run_decode(&self, body_bytes: usize, decode: &mut (dyn FnMut() + Send)) {
                self.decoded.lock().unwrap().push(body_bytes);
                decode();
            }
        }
        let answer = |status: u16, header: Option<&str>, body: &str| HttpAnswer {
            status,
            retry_after: header.filter(|_| status == 503).map(str::to_owned),
            location: header.filter(|_| status == 302).map(str::to_owned),
            body: body.as_bytes().to_vec(),
        };
        let sender = std::sync::Arc::new(Scripted {
            answers: std::sync::Mutex::new(vec![
                answer(503, Some("3"), r#"{"status":503,"error":true,"message":"busy"}"#),
                answer(200, None, "ok"),
                answer(302, Some("/elsewhere?auth=SECRET"), ""),
            ]),
            timers: Default::default(),
            decoded: Default::default(),
        });
        let client = Client::new(Config::new("demo").user_id("u").auth_key("SECRET").sender(sender.clone()));
        let request = || {
            let mut request = Request::new("here_now", "/v2/presence/sub-key/demo/channel/c".to_owned());
            request.set_idempotent(true);
            request
        };
        let body = client.execute(request(), |_, body| Ok(body.to_vec())).await.unwrap();
        assert_eq!(body, b"ok");
        assert_eq!(*sender.timers.lock().unwrap(), [Duration::from_secs(3)], "the retry waited as Retry-After said");
        assert_eq!(*sender.decoded.lock().unwrap(), [2], "the 2xx body was decoded where the sender said");
        let err = client.execute(request(), |_, body| Ok(body.to_vec())).await.unwrap_err();
        assert_eq!(err.status(), Some(302));
        assert!(err.to_string().contains("auth=[redacted]") && !err.to_string().contains("SECRET"), "{err}");
    }

    #[test]
    fn retry_after_in_seconds_or_as_an_http_date() {
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn logged_urls_hide_credentials() {
        assert_eq!(
            redact("/v2/presence/sub-key/demo?uuid=u&auth=SECRET&timestamp=1&signature=v2.SIG"),
            "/v2/presence/sub-key/demo?uuid=u&auth=[redacted]&timestamp=1&signature=[redacted]"
        );
        assert_eq!(redact("/no/query"), "/no/query");
    }

    #[test]
    fn client_debug_output_never_shows_the_auth_key() {
        let client = Client::new(Config::new("demo").user_id("u").auth_key("AUTH-SECRET").secret_key("SEC"));
        let shown = format!("{client:?}");
        assert!(!shown.contains("AUTH-SECRET") && !shown.contains("SEC\""), "{shown}");
    }

    #[test]
    fn signing_without_a_publish_key_is_rejected_before_io() {
        let client = Client::new(Config::new("demo").user_id("u").secret_key("sec"));
        let err = client.path_and_query(&Request::new("leave", "/x".to_owned())).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { parameter: "publish_key", .. }), "{err}");
    }

    #[test]
    fn missing_user_id_is_rejected_before_io() {
        let client = Client::new(Config::new("demo"));
        let err = client.path_and_query(&Request::new("where_now", "/x".to_owned())).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { parameter: "user_id", .. }), "{err}");
    }

    #[test]
    fn oversized_urls_are_rejected_before_io() {
        let client = Client::new(Config::new("demo").user_id("u"));
        let err = client.path_and_query(&Request::new("leave", "/".repeat(40_000))).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { parameter: "request", .. }), "{err}");
        let named = Request::new("leave", "/".repeat(40_000)).path_value("channels", &"/".repeat(39_990));
        let err = client.check_url(&named).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { parameter: "channels", .. }), "{err}");
    }

    /// The check counts exactly what is sent: at the limit passes, one byte more fails.
    #[test]
    fn the_url_is_checked_at_the_length_it_is_sent() {
        let configs = [
            Config::new("demo").user_id("u"),
            Config::new("demo").user_id("a user").auth_key("a/b"),
            Config::new("demo").user_id("u").auth_key("k").publish_key("pub").secret_key("sec"),
        ];
        for config in configs {
            let client = Client::new(config);
            let sent = |filler: usize| {
                let mut request = Request::new("heartbeat", "/v2/presence/sub-key/demo/channel/c/heartbeat".to_owned());
                request.push_param("state", "state", Some("x".repeat(filler)));
                request
            };
            for unix_seconds in [7, 1_700_000_000] {
                let url = client.path_and_query_at(&sent(1), unix_seconds).unwrap();
                assert_eq!(client.url_len(&sent(1), unix_seconds), client.base_url.len() + url.len());
                let fits = MAX_URL_BYTES - client.base_url.len() - url.len() + 1;
                assert!(client.path_and_query_at(&sent(fits), unix_seconds).is_ok());
                let err = client.path_and_query_at(&sent(fits + 1), unix_seconds).unwrap_err();
                assert!(matches!(&err, Error::InvalidInput { parameter: "state", .. }), "{err}");
            }
        }
        let signature = signing::sign("s", "p", "GET", "/", "", "");
        assert_eq!(signature.len(), SIGNATURE_BYTES, "{signature}");
        assert_eq!((decimal_digits(0), decimal_digits(9), decimal_digits(10), decimal_digits(u64::MAX)), (1, 1, 2, 20));
    }

    #[test]
    fn a_long_auth_key_is_named_as_the_cause() {
        let client = Client::new(Config::new("demo").user_id("u").auth_key("t".repeat(MAX_URL_BYTES)));
        let mut request = Request::new("leave", "/v2/presence/sub-key/demo/channel/c/leave".to_owned());
        request.push_param("channel_groups", "channel-group", Some("g".to_owned()));
        let err = client.check_url(&request).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { parameter: "auth_key", .. }), "{err}");
    }
}
