//! `join()`: be present on channels until told otherwise. A hand-written
//! module the generator copies into the crate (like smithy-rs's
//! "inlineable" code), because it is built on the generated `heartbeat`,
//! `set_state` and `leave` builders rather than on the wire.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::runtime::validate::serialized;
use crate::{Error, IntoNames, PubNub};

/// The presence timeout `join()` announces unless told otherwise (the server's default).
pub const DEFAULT_PRESENCE_TIMEOUT: Duration = Duration::from_secs(300);

/// The shortest presence timeout, in seconds (the heartbeat's `min`; PubNub's SDKs refuse less).
const MIN_PRESENCE_TIMEOUT_SECS: u32 = 20;

impl PubNub {
    /// Be present on channels and channel groups, with optional state, until
    /// the returned [`Presence`] handle leaves or is dropped.
    ///
    /// Awaiting the builder sends the first heartbeat (so errors such as a
    /// `403` are returned here); the handle then heartbeats in the background
    /// every `timeout / 2 - 1` seconds. Needs a Tokio runtime.
    ///
    /// ```no_run
    /// # async fn example(pubnub: pubnub_presence::PubNub) -> Result<(), pubnub_presence::Error> {
    /// use std::time::Duration;
    /// use serde_json::json;
    ///
    /// let presence = pubnub
    ///     .join()
    ///     .channels(["lobby"])
    ///     .state(json!({"mood": "happy"}))
    ///     .timeout(Duration::from_secs(60))
    ///     .await?;
    /// presence.set_state("lobby", json!({"mood": "busy"})).await?;
    /// presence.leave().await?; // dropping the handle also leaves, in the background
    /// # Ok(())
    /// # }
    /// ```
    pub fn join(&self) -> Join {
        Join {
            pubnub: self.clone(),
            channels: Vec::new(),
            channel_groups: Vec::new(),
            state: None,
            timeout: DEFAULT_PRESENCE_TIMEOUT,
            interval: None,
        }
    }
}

/// Builder for [`PubNub::join`]; await it to become present.
#[derive(Debug, Clone)]
#[must_use = "nothing is sent until the builder is awaited"]
pub struct Join {
    pubnub: PubNub,
    channels: Vec<String>,
    channel_groups: Vec<String>,
    state: Option<Result<serde_json::Value, String>>,
    timeout: Duration,
    interval: Option<Duration>,
}

impl Join {
    /// Channels to be present on. Takes one name or many.
    pub fn channels(mut self, channels: impl IntoNames) -> Self {
        self.channels = channels.into_names();
        self
    }

    /// Channel groups to be present on (on each member channel). Takes one name or many.
    pub fn channel_groups(mut self, channel_groups: impl IntoNames) -> Self {
        self.channel_groups = channel_groups.into_names();
        self
    }

    /// State to hold on every channel and group: anything that serializes
    /// to a JSON object.
    pub fn state(mut self, state: impl serde::Serialize) -> Self {
        self.state = Some(serde_json::to_value(state).map_err(|err| err.to_string()));
        self
    }

    /// The presence timeout: the server lets the user time out after this
    /// long without a heartbeat. Default 300 s; at least 20 s (whole seconds).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How often to heartbeat; default `timeout / 2 - 1` seconds, as
    /// PubNub's SDKs do. Shorter is allowed (tests use it), longer than the
    /// timeout is not.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    async fn send(self) -> Result<Presence, Error> {
        let seconds = u32::try_from(self.timeout.as_secs()).unwrap_or(u32::MAX);
        // The heartbeat's own bound, named as the caller set it.
        if seconds < MIN_PRESENCE_TIMEOUT_SECS {
            return Err(Error::InvalidInput {
                parameter: "timeout",
                rule: format!("must be at least {MIN_PRESENCE_TIMEOUT_SECS} s, got {} s", self.timeout.as_secs()),
            });
        }
        let interval = self.interval.unwrap_or(Duration::from_secs(u64::from(seconds / 2).saturating_sub(1).max(1)));
        if interval.is_zero() || interval >= self.timeout {
            return Err(Error::InvalidInput {
                parameter: "heartbeat_interval",
                rule: format!("must be above zero and below the timeout ({} s)", self.timeout.as_secs()),
            });
        }
        let mut states = serde_json::Map::new();
        if let Some(outcome) = &self.state {
            let state = serialized("state", outcome)?;
            for name in self.channels.iter().chain(&self.channel_groups) {
                states.insert(name.clone(), state.clone());
            }
        }
        let inner = Arc::new(Inner {
            pubnub: self.pubnub,
            channels: self.channels,
            channel_groups: self.channel_groups,
            timeout: seconds,
            states: Mutex::new(states),
            gate: tokio::sync::Mutex::new(false),
            heartbeats: AtomicU64::new(0),
        });
        inner.heartbeat().await?;
        let background = Arc::clone(&inner);
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                if let Err(err) = background.heartbeat().await {
                    tracing::warn!(error = %err, "presence heartbeat failed; trying again next interval");
                }
            }
        });
        Ok(Presence { inner, task: Some(task) })
    }
}

impl IntoFuture for Join {
    type Output = Result<Presence, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

struct Inner {
    pubnub: PubNub,
    channels: Vec<String>,
    channel_groups: Vec<String>,
    timeout: u32,
    /// Each channel's and group's state, sent with every heartbeat so that a
    /// heartbeat never undoes a `set_state`.
    states: Mutex<serde_json::Map<String, serde_json::Value>>,
    /// Held while a heartbeat, a state change or the leave is on the wire,
    /// so they reach the server one at a time and in order; `true` once left,
    /// after which no heartbeat is sent (one would make the user present again).
    gate: tokio::sync::Mutex<bool>,
    heartbeats: AtomicU64,
}

impl Inner {
    async fn heartbeat(&self) -> Result<(), Error> {
        let left = self.gate.lock().await;
        if *left {
            return Ok(());
        }
        let states = self.states.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let mut request = self
            .pubnub
            .heartbeat()
            .channels(self.channels.as_slice())
            .channel_groups(self.channel_groups.as_slice())
            .heartbeat(self.timeout);
        if !states.is_empty() {
            request = request.state(states);
        }
        request.await?;
        drop(left);
        self.heartbeats.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Leaves once: after any heartbeat on the wire has been answered.
    async fn leave(&self) -> Result<(), Error> {
        let mut left = self.gate.lock().await;
        if *left {
            return Ok(());
        }
        *left = true;
        self.pubnub.leave().channels(self.channels.as_slice()).channel_groups(self.channel_groups.as_slice()).await
    }
}

/// The user is present while this handle lives: it heartbeats in the
/// background. [`Presence::leave`] leaves at once; dropping it leaves too,
/// best effort, in a background task (the server would otherwise see a
/// timeout after the presence timeout).
#[must_use = "dropping the handle leaves at once"]
pub struct Presence {
    inner: Arc<Inner>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence")
            .field("channels", &self.inner.channels)
            .field("channel_groups", &self.inner.channel_groups)
            .field("timeout", &self.inner.timeout)
            .field("heartbeats", &self.heartbeats())
            .finish()
    }
}

impl Presence {
    /// Sets the user's state on one of the joined channels or groups; later
    /// heartbeats carry it.
    pub async fn set_state(&self, channel: &str, state: impl serde::Serialize) -> Result<(), Error> {
        let value = serialized("state", &serde_json::to_value(state).map_err(|err| err.to_string()))?.clone();
        let request = self.inner.pubnub.set_state().state(value.clone());
        let request = if self.inner.channel_groups.iter().any(|g| g == channel) {
            request.channel_groups(channel)
        } else {
            request.channels(channel)
        };
        // No heartbeat (carrying the old state) can be on the wire meanwhile.
        let _gate = self.inner.gate.lock().await;
        request.await?;
        self.inner.states.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(channel.to_owned(), value);
        Ok(())
    }

    /// Successful heartbeats so far, the first included.
    pub fn heartbeats(&self) -> u64 {
        self.inner.heartbeats.load(Ordering::Relaxed)
    }

    /// Stops heartbeating and leaves every channel and group now.
    pub async fn leave(mut self) -> Result<(), Error> {
        // Leave first: it waits for a heartbeat on the wire to be answered,
        // and none is sent after it. Only then stop the (idle) task.
        let left = self.inner.leave().await;
        if let Some(task) = self.task.take() {
            task.abort();
        }
        left
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        let Some(task) = self.task.take() else { return };
        let inner = Arc::clone(&self.inner);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(err) = inner.leave().await {
                        tracing::warn!(error = %err, "leave after dropping a Presence handle failed");
                    }
                    task.abort();
                });
            }
            // No runtime left to leave with: stop heartbeating; the server times the user out.
            Err(_) => task.abort(),
        }
    }
}
