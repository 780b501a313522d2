//! `PNConfiguration`: the seed's configuration object, turned into the Rust
//! client's `Config` when a `PubNubAsyncio` is made.

use std::time::Duration;

use pyo3::prelude::*;

use pubnub_presence_runtime::{Config, Error};

use super::errors::to_py_err;

/// Longest batch window accepted: a pause of more than a second between
/// polls would be a mistake, not a tuning.
const MAX_BATCH_WINDOW_SECS: f64 = 1.0;
/// Longest timeout accepted (an hour): beyond it, a typo.
const MAX_TIMEOUT_SECS: f64 = 3600.0;

/// The client's settings, as PubNub's Python SDK names them.
#[pyclass(module = "pubnub_presence", name = "PNConfiguration")]
#[derive(Debug, Clone)]
pub struct Configuration {
    /// The subscribe key (required).
    #[pyo3(get, set)]
    pub subscribe_key: Option<String>,
    /// The publish key (signed requests name it).
    #[pyo3(get, set)]
    pub publish_key: Option<String>,
    /// The secret key: every request is signed with it.
    #[pyo3(get, set)]
    pub secret_key: Option<String>,
    /// The Access Manager token or auth key sent as `auth`.
    #[pyo3(get, set)]
    pub auth_key: Option<String>,
    /// This user's id (`uuid` is the same attribute).
    #[pyo3(get, set)]
    pub user_id: Option<String>,
    /// The host (and port) requests go to.
    #[pyo3(get, set)]
    pub origin: String,
    /// `https` when true, else plain `http`.
    #[pyo3(get, set)]
    pub ssl: bool,
    /// Seconds of silence after which the server times this user out
    /// (`join()` heartbeats with it); `None`: the server's default.
    #[pyo3(get, set)]
    pub presence_timeout: Option<u32>,
    /// Seconds a presence-events subscription waits after an answer with
    /// events before it polls again (`Config::batch_window`), default 0.002;
    /// 0 polls again at once.
    #[pyo3(get)]
    pub batch_window: f64,
    /// Seconds one attempt of a call (not a subscription's long-poll) may
    /// take, default 10 (`Config::request_timeout`).
    #[pyo3(get)]
    pub non_subscribe_request_timeout: f64,
    /// Seconds connecting may take, default 5 (`Config::connect_timeout`).
    #[pyo3(get)]
    pub connect_timeout: f64,
}

/// `seconds` if it is within `range`; else the error naming `parameter`.
fn seconds(parameter: &'static str, seconds: f64, range: std::ops::RangeInclusive<f64>) -> PyResult<f64> {
    if range.contains(&seconds) {
        return Ok(seconds);
    }
    let rule = format!("must be seconds from {} to {}, not {seconds}", range.start(), range.end());
    Err(to_py_err(&Error::InvalidInput { parameter, rule }))
}

#[pymethods]
impl Configuration {
    #[new]
    fn new() -> Self {
        Configuration {
            subscribe_key: None,
            publish_key: None,
            secret_key: None,
            auth_key: None,
            user_id: None,
            origin: "ps.pndsn.com".to_owned(),
            ssl: true,
            presence_timeout: None,
            batch_window: Config::DEFAULT_BATCH_WINDOW.as_secs_f64(),
            non_subscribe_request_timeout: Config::DEFAULT_REQUEST_TIMEOUT.as_secs_f64(),
            connect_timeout: Config::DEFAULT_CONNECT_TIMEOUT.as_secs_f64(),
        }
    }

    #[setter]
    fn set_batch_window(&mut self, value: f64) -> PyResult<()> {
        self.batch_window = seconds("batch_window", value, 0.0..=MAX_BATCH_WINDOW_SECS)?;
        Ok(())
    }

    #[setter]
    fn set_non_subscribe_request_timeout(&mut self, value: f64) -> PyResult<()> {
        self.non_subscribe_request_timeout = seconds("non_subscribe_request_timeout", value, 0.001..=MAX_TIMEOUT_SECS)?;
        Ok(())
    }

    #[setter]
    fn set_connect_timeout(&mut self, value: f64) -> PyResult<()> {
        self.connect_timeout = seconds("connect_timeout", value, 0.001..=MAX_TIMEOUT_SECS)?;
        Ok(())
    }

    /// The same as `user_id` (the seed's older name).
    #[getter]
    fn uuid(&self) -> Option<String> {
        self.user_id.clone()
    }

    #[setter]
    fn set_uuid(&mut self, uuid: Option<String>) {
        self.user_id = uuid;
    }

    fn __repr__(&self) -> String {
        // Keys are credentials: only whether they are set.
        format!(
            "PNConfiguration(subscribe_key={:?}, user_id={:?}, origin={:?}, ssl={}, secret_key={}, auth_key={})",
            self.subscribe_key,
            self.user_id,
            self.origin,
            self.ssl,
            if self.secret_key.is_some() { "set" } else { "None" },
            if self.auth_key.is_some() { "set" } else { "None" },
        )
    }
}

impl Configuration {
    /// The defaults, as `PNConfiguration()` has them.
    pub fn default_for_tests() -> Self {
        Configuration::new()
    }

    /// The Rust client's `Config`. A missing key or id is left empty for the
    /// Rust checks to name when a request is built.
    pub fn to_config(&self) -> Config {
        let mut config = Config::new(self.subscribe_key.clone().unwrap_or_default())
            .user_id(self.user_id.clone().unwrap_or_default())
            .origin(self.origin.clone())
            .secure(self.ssl)
            .batch_window(Duration::from_secs_f64(self.batch_window))
            .request_timeout(Duration::from_secs_f64(self.non_subscribe_request_timeout))
            .connect_timeout(Duration::from_secs_f64(self.connect_timeout));
        if let Some(key) = &self.publish_key {
            config = config.publish_key(key.clone());
        }
        if let Some(key) = &self.secret_key {
            config = config.secret_key(key.clone());
        }
        if let Some(key) = &self.auth_key {
            config = config.auth_key(key.clone());
        }
        // Requests made on the asyncio loop's thread are sent from there.
        match super::loop_http::LoopHttp::for_config(&config) {
            Some(sender) => config.sender(std::sync::Arc::new(sender)),
            None => config,
        }
    }

    /// The presence timeout `join()` asks for, when one is set.
    pub fn presence_timeout(&self) -> Option<Duration> {
        self.presence_timeout.map(|secs| Duration::from_secs(u64::from(secs)))
    }
}
