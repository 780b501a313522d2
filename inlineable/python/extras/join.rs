//! `pubnub.join()`: the Rust `join()` as an async context manager that
//! keeps this user present on the channels while the block runs and leaves
//! on exit.

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBool;

use pubnub_presence::{Error, Join, Presence, PubNub};

use crate::support::bridge;
use crate::support::config::Configuration;
use crate::support::convert::{Json, Names};
use crate::support::errors::to_py_err;

/// `async with pubnub.join().channels(["lobby"]) as presence: ...`
#[pyclass(module = "pubnub_presence", name = "Join")]
pub struct JoinBuilder {
    inner: Join,
    presence: Arc<tokio::sync::Mutex<Option<Presence>>>,
}

/// What the client's `join()` returns.
pub type Builder = JoinBuilder;

/// The client's `join()`: the Rust builder, with the configuration's
/// presence timeout when it sets one.
pub fn builder(client: &PubNub, config: &Configuration) -> Builder {
    let mut inner = client.join();
    if let Some(timeout) = config.presence_timeout() {
        inner = inner.timeout(timeout);
    }
    JoinBuilder { inner, presence: Arc::default() }
}

#[pymethods]
impl JoinBuilder {
    /// Channels to be present on (a str, list or tuple).
    fn channels(mut slf: PyRefMut<'_, Self>, channels: Names) -> PyRefMut<'_, Self> {
        slf.inner = slf.inner.clone().channels(channels.0);
        slf
    }

    /// Channel groups to be present on.
    fn channel_groups(mut slf: PyRefMut<'_, Self>, channel_groups: Names) -> PyRefMut<'_, Self> {
        slf.inner = slf.inner.clone().channel_groups(channel_groups.0);
        slf
    }

    /// This user's state on every joined channel, sent with each heartbeat.
    fn state(mut slf: PyRefMut<'_, Self>, state: Json) -> PyRefMut<'_, Self> {
        slf.inner = slf.inner.clone().state(state.0);
        slf
    }

    /// The presence timeout in seconds (heartbeats go at about half of it).
    fn timeout(mut slf: PyRefMut<'_, Self>, seconds: u64) -> PyRefMut<'_, Self> {
        slf.inner = slf.inner.clone().timeout(Duration::from_secs(seconds));
        slf
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let (join, slot) = {
            let this = slf.borrow();
            (this.inner.clone(), Arc::clone(&this.presence))
        };
        let handle = PresenceHandle { presence: Arc::clone(&slot) };
        let work = async move {
            *slot.lock().await = Some(join.await?);
            Ok::<_, Error>(())
        };
        bridge::spawn(py, work, move |py, joined| {
            joined.map_err(|e| to_py_err(&e))?;
            Ok(Py::new(py, handle)?.into_any())
        })
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(&self, py: Python<'py>, _exc: &Bound<'py, pyo3::types::PyTuple>) -> PyResult<Bound<'py, PyAny>> {
        let slot = Arc::clone(&self.presence);
        bridge::spawn(py, leave(slot), |py, left| {
            left.map_err(|e| to_py_err(&e))?;
            // Exceptions of the block propagate.
            Ok(PyBool::new(py, false).to_owned().into_any().unbind())
        })
    }
}

/// Leaves, unless this presence has left already.
async fn leave(slot: Arc<tokio::sync::Mutex<Option<Presence>>>) -> Result<(), Error> {
    match slot.lock().await.take() {
        Some(presence) => presence.leave().await,
        None => Ok(()),
    }
}

/// This user's presence while the `async with` block runs.
#[pyclass(module = "pubnub_presence", name = "Presence")]
pub struct PresenceHandle {
    presence: Arc<tokio::sync::Mutex<Option<Presence>>>,
}

#[pymethods]
impl PresenceHandle {
    /// Sets this user's state on one of the joined channels (the latest
    /// state set on a name wins, and every heartbeat carries it).
    fn set_state<'py>(&self, py: Python<'py>, channel: String, state: Json) -> PyResult<Bound<'py, PyAny>> {
        let slot = Arc::clone(&self.presence);
        // `None`: this presence has left.
        let work = async move {
            let guard = slot.lock().await;
            match guard.as_ref() {
                Some(presence) => Some(presence.set_state(&channel, state.0).await),
                None => None,
            }
        };
        bridge::spawn(py, work, |py, outcome| match outcome {
            Some(set) => set.map(|()| py.None()).map_err(|e| to_py_err(&e)),
            None => Err(PyRuntimeError::new_err("this presence has left")),
        })
    }

    /// Heartbeats sent so far.
    #[getter]
    fn heartbeats(&self) -> u64 {
        self.presence.try_lock().ok().and_then(|guard| guard.as_ref().map(Presence::heartbeats)).unwrap_or(0)
    }

    /// Leaves now (the block's exit then does nothing).
    fn leave<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let slot = Arc::clone(&self.presence);
        bridge::spawn(py, leave(slot), |py, left| left.map(|()| py.None()).map_err(|e| to_py_err(&e)))
    }
}

/// Registers this module's classes in the package's module.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<JoinBuilder>()?;
    module.add_class::<PresenceHandle>()?;
    Ok(())
}
