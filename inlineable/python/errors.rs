//! The exceptions: one base class, `PubNubError`, and one subclass per kind
//! of the Rust [`Error`], each carrying the same fields.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use pubnub_presence_runtime::Error;

create_exception!(pubnub_presence, PubNubError, PyException, "Any failure of a PubNub call.");
create_exception!(pubnub_presence, PubNubInvalidInput, PubNubError, "A parameter broke a rule (before any I/O).");
create_exception!(pubnub_presence, PubNubApiError, PubNubError, "The server answered with an error.");
create_exception!(pubnub_presence, PubNubTimeoutError, PubNubError, "Connecting, or the request, took too long.");
create_exception!(pubnub_presence, PubNubTransportError, PubNubError, "The request could not be sent or read.");
create_exception!(pubnub_presence, PubNubDecodeError, PubNubError, "The answer was not what the API promises.");

/// The Python exception for `error`, with `kind`, `status`, `is_retryable`,
/// `parameter` and (for API errors) `service` and `body` set on it.
pub fn to_py_err(error: &Error) -> PyErr {
    Python::attach(|py| {
        let message = error.to_string();
        let (err, kind) = match error {
            Error::InvalidInput { .. } => (PubNubInvalidInput::new_err(message), "invalid_input"),
            Error::Api { .. } => (PubNubApiError::new_err(message), "api"),
            Error::Timeout { .. } => (PubNubTimeoutError::new_err(message), "timeout"),
            Error::Transport { .. } => (PubNubTransportError::new_err(message), "transport"),
            Error::Decode { .. } => (PubNubDecodeError::new_err(message), "decode"),
            _ => (PubNubError::new_err(message), "other"),
        };
        let value = err.value(py);
        let (parameter, service, body) = match error {
            Error::InvalidInput { parameter, .. } => (Some(*parameter), None, None),
            Error::Api { service, body, .. } => (None, service.as_deref(), Some(body.as_str())),
            _ => (None, None, None),
        };
        let set = || -> PyResult<()> {
            value.setattr("kind", kind)?;
            value.setattr("status", error.status())?;
            value.setattr("is_retryable", error.is_retryable())?;
            value.setattr("parameter", parameter)?;
            value.setattr("service", service)?;
            value.setattr("body", body)?;
            Ok(())
        };
        match set() {
            Ok(()) => err,
            Err(failed) => failed,
        }
    })
}

/// Registers the exception classes in the module.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("PubNubError", py.get_type::<PubNubError>())?;
    module.add("PubNubInvalidInput", py.get_type::<PubNubInvalidInput>())?;
    module.add("PubNubApiError", py.get_type::<PubNubApiError>())?;
    module.add("PubNubTimeoutError", py.get_type::<PubNubTimeoutError>())?;
    module.add("PubNubTransportError", py.get_type::<PubNubTransportError>())?;
    module.add("PubNubDecodeError", py.get_type::<PubNubDecodeError>())?;
    Ok(())
}
