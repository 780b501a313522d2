//! The one error type every operation returns.

use std::time::Duration;

/// Boxed source error kept for [`std::error::Error::source`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong when calling the Presence API.
///
/// Match on the variant for details, or ask the two questions most callers
/// have: [`Error::status`] (did the server answer, and with what?) and
/// [`Error::is_retryable`] (is trying again likely to help?).
///
/// ```
/// use pubnub_presence_runtime::Error;
///
/// fn report(err: &Error) {
///     match err {
///         Error::InvalidInput { parameter, rule } => eprintln!("fix `{parameter}`: {rule}"),
///         Error::Api { status, message, .. } => eprintln!("server said {status}: {message}"),
///         other => eprintln!("{other} (retry? {})", other.is_retryable()),
///     }
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A parameter broke a rule; detected before any network I/O.
    InvalidInput {
        /// The builder setter (or config field) at fault, e.g. `limit`.
        parameter: &'static str,
        /// The rule that was broken, e.g. `must be between 0 and 1000, got 5000`.
        rule: String,
    },
    /// The server answered with an error: an HTTP status of 400 or above, or a
    /// 200 whose body carries `"error"` or a `status` of 400 or above. A
    /// redirect (3xx) is one too, never followed: its `message` names the
    /// `Location`.
    Api {
        /// HTTP status (or the body's `status` when it reports an error inside a 200).
        status: u16,
        /// The server's message (`message`, or the start of a non-JSON body).
        message: String,
        /// The service that answered, e.g. `Presence` or `Access Manager`.
        service: Option<String>,
        /// The raw response body.
        body: String,
    },
    /// Connecting, or the whole request, took longer than configured.
    Timeout {
        /// Which timeout elapsed.
        kind: TimeoutKind,
        /// Its configured length.
        timeout: Duration,
    },
    /// The request could not be sent or its response not read (DNS, connect, TLS, I/O).
    Transport {
        /// What failed, without the request URL (which may carry credentials).
        message: String,
        /// The underlying error.
        source: Option<BoxError>,
    },
    /// The server answered 2xx but the body is not the JSON shape this operation expects.
    Decode {
        /// What did not match.
        message: String,
        /// The raw response body, kept for diagnosis.
        body: String,
    },
}

/// Which of the configured timeouts elapsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Establishing the connection ([`crate::Config::connect_timeout`]).
    Connect,
    /// The whole request, body included ([`crate::Config::request_timeout`]).
    Request,
}

impl std::fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connect",
            TimeoutKind::Request => "request",
        })
    }
}

// Display and Error are written out rather than derived: one dependency
// (thiserror and its proc-macro) less for every user of the SDK.
impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidInput { parameter, rule } => write!(f, "invalid parameter `{parameter}`: {rule}"),
            Error::Api { status, message, service, .. } => {
                write!(f, "{} error {status}: {message}", service.as_deref().unwrap_or("PubNub"))
            }
            Error::Timeout { kind, timeout } => write!(f, "{kind} timed out after {timeout:?}"),
            Error::Transport { message, .. } => write!(f, "transport error: {message}"),
            Error::Decode { message, .. } => write!(f, "could not decode response: {message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport { source: Some(source), .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

impl Error {
    /// The HTTP status the server answered with, if it answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether sending the same request again may succeed: timeouts, transport
    /// failures, `429 Too Many Requests` and `5xx` answers.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { status, .. } => *status == 429 || *status >= 500,
            Error::Timeout { .. } | Error::Transport { .. } => true,
            Error::InvalidInput { .. } | Error::Decode { .. } => false,
        }
    }

    pub(crate) fn invalid(parameter: &'static str, rule: impl Into<String>) -> Self {
        Error::InvalidInput { parameter, rule: rule.into() }
    }

    pub(crate) fn decode(message: impl std::fmt::Display, body: &str) -> Self {
        Error::Decode { message: message.to_string(), body: body.to_owned() }
    }

    /// A copy for a second reader (a transport error's source, which cannot
    /// be cloned, is left out; its message is kept).
    pub(crate) fn duplicate(&self) -> Self {
        match self {
            Error::InvalidInput { parameter, rule } => Error::InvalidInput { parameter, rule: rule.clone() },
            Error::Api { status, message, service, body } => {
                Error::Api { status: *status, message: message.clone(), service: service.clone(), body: body.clone() }
            }
            Error::Timeout { kind, timeout } => Error::Timeout { kind: *kind, timeout: *timeout },
            Error::Transport { message, .. } => Error::Transport { message: message.clone(), source: None },
            Error::Decode { message, body } => Error::Decode { message: message.clone(), body: body.clone() },
        }
    }
}
