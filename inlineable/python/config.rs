//! `PNConfiguration`: the seed's configuration object, turned into the Rust
//! client's `Config` when a `PubNubAsyncio` is made.

use std::time::Duration;

use pyo3::prelude::*;

use pubnub_presence_runtime::Config;

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
        }
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
            .secure(self.ssl);
        if let Some(key) = &self.publish_key {
            config = config.publish_key(key.clone());
        }
        if let Some(key) = &self.secret_key {
            config = config.secret_key(key.clone());
        }
        if let Some(key) = &self.auth_key {
            config = config.auth_key(key.clone());
        }
        config
    }

    /// The presence timeout `join()` asks for, when one is set.
    pub fn presence_timeout(&self) -> Option<Duration> {
        self.presence_timeout.map(|secs| Duration::from_secs(u64::from(secs)))
    }
}
