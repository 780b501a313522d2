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
pub mod loop_http;
pub mod stream;
pub mod testing;

use pyo3::prelude::*;

/// Registers the support's classes and exceptions in the package's module,
/// and sets up the process's runtime (the module's init calls this first).
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    bridge::init_runtime()?;
    module.add_class::<config::Configuration>()?;
    module.add_class::<future::Envelope>()?;
    module.add_class::<future::Status>()?;
    module.add_class::<future::ErrorData>()?;
    module.add_class::<stream::Subscription>()?;
    module.add_class::<testing::LocalServer>()?;
    errors::register(module)
}
