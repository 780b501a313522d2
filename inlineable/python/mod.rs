//! Hand-written support for the generated Python bindings: everything that
//! is the same for every operation (conversions, errors, the envelope, the
//! configuration, streams) and the local server. The generator copies this
//! directory into `bindings/python/src/support/`; the Python faces of the
//! hand-written Rust modules (`join.rs`, `presence_view.rs` beside it) go to
//! `src/` when the spec lists those modules.

pub mod bridge;
pub mod config;
pub mod convert;
pub mod errors;
pub mod future;
pub mod stream;
pub mod testing;
