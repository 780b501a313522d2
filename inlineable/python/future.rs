//! How a builder becomes an awaitable: `.future()` (an [`Envelope`] that
//! never raises for a failed call) and `.result()` (the result, or a raised
//! `PubNubError`). Both check the request before returning, so bad input
//! raises at the call, before any I/O.
//!
//! The Rust future runs as a task of the event loop, on its thread, and its
//! outcome is converted to Python objects there ([`bridge`](super::bridge)).
//! Cancelling the asyncio task cancels the Rust future.

use std::future::Future;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use pubnub_presence_runtime::Error;

use super::bridge;
use super::convert::ToPython;
use super::errors::to_py_err;

/// What `.future()` resolves to: `result` (`None` on error) and `status`.
#[pyclass(module = "pubnub_presence", name = "PNEnvelope", get_all, frozen)]
pub struct Envelope {
    /// The call's result, or `None` when it failed.
    pub result: Py<PyAny>,
    /// How the call went.
    pub status: Py<Status>,
}

#[pymethods]
impl Envelope {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let status = self.status.clone_ref(py).into_any();
        super::convert::repr(py, "PNEnvelope", &[("result", &self.result), ("status", &status)])
    }
}

/// How a call went (`is_error()`, `status_code`, `error_data`).
#[pyclass(module = "pubnub_presence", name = "PNStatus", get_all, frozen)]
pub struct Status {
    /// The HTTP status the server answered with (`None` when it did not answer).
    pub status_code: Option<u16>,
    /// Whether the call failed.
    pub error: bool,
    /// What went wrong, when it did.
    pub error_data: Option<Py<ErrorData>>,
    /// The operation, e.g. `here_now`.
    pub operation: &'static str,
}

#[pymethods]
impl Status {
    /// Whether the call failed.
    fn is_error(&self) -> bool {
        self.error
    }

    fn __repr__(&self) -> String {
        let error = if self.error { "True" } else { "False" };
        let code = self.status_code.map_or_else(|| "None".to_owned(), |code| code.to_string());
        format!("PNStatus(operation='{}', error={error}, status_code={code})", self.operation)
    }
}

/// The failure of a call: `information` (the message) and `exception` (the
/// `PubNubError` that `.result()` would raise).
#[pyclass(module = "pubnub_presence", name = "PNErrorData", get_all, frozen)]
pub struct ErrorData {
    /// The error's message.
    pub information: String,
    /// The exception `.result()` raises for it.
    pub exception: Py<PyAny>,
}

/// `future` as a coroutine: what PubNub's Python SDK returns from
/// `.future()`, so `asyncio.create_task(builder.future())` works as it does
/// there (it takes only coroutines). Cancelling it cancels `future`.
fn coroutine<'py>(py: Python<'py>, future: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    static AWAITING: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let awaiting = AWAITING.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        let code = c"async def awaiting(future):\n    return await future\n";
        let module = PyModule::from_code(py, code, c"pubnub_presence/_awaiting.py", c"_pubnub_presence_awaiting")?;
        Ok(module.getattr("awaiting")?.unbind())
    })?;
    awaiting.bind(py).call1((future,))
}

/// The awaitable of `.future()`: `send` runs on the loop; its outcome,
/// success or failure, becomes an [`Envelope`].
pub fn envelope<'py, T, F>(py: Python<'py>, operation: &'static str, send: F) -> PyResult<Bound<'py, PyAny>>
where
    T: ToPython + Send + 'static,
    F: Future<Output = Result<T, Error>> + Send + 'static,
{
    let future = bridge::spawn(py, send, move |py, outcome| {
        let (result, status) = match outcome {
            Ok(value) => {
                let status = Status { status_code: Some(200), error: false, error_data: None, operation };
                (value.to_python(py)?, status)
            }
            Err(error) => {
                let exception = to_py_err(&error).into_value(py).into_any();
                let data = ErrorData { information: error.to_string(), exception };
                let status = Status {
                    status_code: error.status(),
                    error: true,
                    error_data: Some(Py::new(py, data)?),
                    operation,
                };
                (py.None(), status)
            }
        };
        Ok(Py::new(py, Envelope { result, status: Py::new(py, status)? })?.into_any())
    })?;
    coroutine(py, future)
}

/// The awaitable of `.result()`: the converted result, or the error raised.
pub fn result<'py, T, F>(py: Python<'py>, send: F) -> PyResult<Bound<'py, PyAny>>
where
    T: ToPython + Send + 'static,
    F: Future<Output = Result<T, Error>> + Send + 'static,
{
    let future = bridge::spawn(py, send, |py, outcome| outcome.map_err(|e| to_py_err(&e))?.to_python(py))?;
    coroutine(py, future)
}

/// `Err` as a raised exception: a request that does not build (bad input)
/// raises here, at the call, before anything is sent.
pub fn check<T>(built: Result<T, Error>) -> PyResult<T> {
    built.map_err(|e| to_py_err(&e))
}
