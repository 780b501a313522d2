//! `pubnub_presence.testing.LocalServer`: the embedded presence server on an
//! ephemeral loopback port, as an async context manager, so Python tests
//! need no other process.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBool;

use presence_server::{PresenceServer, ServerConfig};

use super::bridge;
use super::config::Configuration;

/// The subscribe key `LocalServer.config()` uses (the server serves any).
const SUBSCRIBE_KEY: &str = "demo";

/// A local PubNub-compatible presence server:
/// `async with LocalServer() as server: ... server.config("alice")`.
#[pyclass(module = "pubnub_presence.testing", name = "LocalServer")]
pub struct LocalServer {
    presence_timeout: Option<u64>,
    running: Arc<Mutex<Option<PresenceServer>>>,
    origin: Arc<Mutex<Option<String>>>,
}

#[pymethods]
impl LocalServer {
    /// `presence_timeout`: the server's default presence timeout in seconds
    /// (300 when `None`; at least 1).
    #[new]
    #[pyo3(signature = (presence_timeout = None))]
    fn new(presence_timeout: Option<u64>) -> Self {
        LocalServer { presence_timeout, running: Arc::default(), origin: Arc::default() }
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.borrow();
        let (running, origin, timeout) = (Arc::clone(&this.running), Arc::clone(&this.origin), this.presence_timeout);
        let me: Py<Self> = slf.clone().unbind();
        let work = async move {
            let mut config = ServerConfig::default().with_listen(([127, 0, 0, 1], 0).into());
            if let Some(secs) = timeout {
                config = config.with_presence_timeout(Duration::from_secs(secs));
            }
            let server = PresenceServer::start(config).await.map_err(|e| e.to_string())?;
            *origin.lock().unwrap_or_else(|p| p.into_inner()) = Some(server.origin());
            *running.lock().unwrap_or_else(|p| p.into_inner()) = Some(server);
            Ok::<_, String>(())
        };
        bridge::spawn(py, work, move |_py, started| {
            started.map_err(|e| PyRuntimeError::new_err(format!("the local server did not start: {e}")))?;
            Ok(me.into_any())
        })
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(&self, py: Python<'py>, _exc: &Bound<'py, pyo3::types::PyTuple>) -> PyResult<Bound<'py, PyAny>> {
        let server = self.running.lock().unwrap_or_else(|p| p.into_inner()).take();
        let work = async move {
            if let Some(server) = server {
                server.shutdown().await;
            }
        };
        // False: exceptions of the block propagate.
        bridge::spawn(py, work, |py, ()| Ok(PyBool::new(py, false).to_owned().into_any().unbind()))
    }

    /// `host:port` (what `PNConfiguration.origin` takes).
    #[getter]
    fn origin(&self) -> PyResult<String> {
        self.origin
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| PyRuntimeError::new_err("the LocalServer is not running (use `async with`)"))
    }

    /// `http://host:port`.
    #[getter]
    fn url(&self) -> PyResult<String> {
        Ok(format!("http://{}", self.origin()?))
    }

    /// The subscribe key `config()` uses.
    #[getter]
    fn subscribe_key(&self) -> &'static str {
        SUBSCRIBE_KEY
    }

    /// A `PNConfiguration` pointed at this server, for `user_id`.
    fn config(&self, user_id: String) -> PyResult<Configuration> {
        let mut config = Configuration::default_for_tests();
        config.subscribe_key = Some(SUBSCRIBE_KEY.to_owned());
        config.publish_key = Some(SUBSCRIBE_KEY.to_owned());
        config.user_id = Some(user_id);
        config.origin = self.origin()?;
        config.ssl = false;
        Ok(config)
    }
}
