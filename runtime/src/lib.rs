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
mod extensions;
mod macros;
mod names;
mod retry;

#[doc(hidden)]
pub mod encoding;
pub mod paging;
pub mod request;
pub mod signing;
pub mod stream;
pub mod transport;

// Called only by generated code: the spec's parameter kinds, their rules, and
// the body helpers decoders use. Public so generated crates can reach them,
// hidden from the docs because applications never need them.
#[doc(hidden)]
pub mod body;
#[doc(hidden)]
pub mod param;
#[doc(hidden)]
pub mod validate;

pub use config::Config;
pub use error::{Error, TimeoutKind};
#[doc(hidden)]
pub use extensions::Extensions;
pub use names::IntoNames;
pub use retry::RetryPolicy;
pub use transport::Client;
