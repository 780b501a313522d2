//! Hand-written runtime for the generated `pubnub-presence` crate.
//!
//! Everything the generator does *not* emit lives here: client configuration,
//! the error type, percent-encoding of names, request signing (v2), the HTTP
//! transport and the response-body helpers that generated decoders call.
//!
//! Application code should depend on `pubnub-presence`, which re-exports the
//! public parts of this crate.

#![warn(missing_docs)]

mod config;
mod error;
mod macros;
mod names;
mod retry;
pub mod validate;

pub mod body;
pub mod encoding;
pub mod paging;
pub mod request;
pub mod signing;
pub mod transport;

pub use config::Config;
pub use error::{Error, TimeoutKind};
pub use retry::RetryPolicy;
pub use names::IntoNames;
pub use transport::Client;

/// Re-exported so generated code and users agree on the JSON value type.
pub use serde_json::Value as JsonValue;
