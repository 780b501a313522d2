//! `pubnub.presence_view()`: the Rust live member set, read synchronously
//! (`members`, `occupancy`, `is_present`) and its changes awaited one by
//! one (`await view.next_change()`, or `async for change in view`).

use std::sync::Arc;

use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;

use pubnub_presence::{Error, LeaveReason, PresenceChange, PresenceReader, PresenceView, PresenceViewBuilder, PubNub};

use crate::support::bridge;
use crate::support::config::Configuration;
use crate::support::convert::{Names, ToPython};
use crate::support::errors::to_py_err;

/// `view = await pubnub.presence_view().channels(["lobby"]).start()`
#[pyclass(module = "pubnub_presence", name = "PresenceViewBuilder")]
pub struct ViewBuilder {
    inner: PresenceViewBuilder,
}

/// What the client's `presence_view()` returns.
pub type Builder = ViewBuilder;

/// The client's `presence_view()`: the Rust builder.
pub fn builder(client: &PubNub, _config: &Configuration) -> Builder {
    ViewBuilder { inner: client.presence_view() }
}

#[pymethods]
impl ViewBuilder {
    /// Channels to follow (a str, list or tuple).
    fn channels(mut slf: PyRefMut<'_, Self>, channels: Names) -> PyRefMut<'_, Self> {
        slf.inner = slf.inner.clone().channels(channels.0);
        slf
    }

    /// Channel groups to follow.
    fn channel_groups(mut slf: PyRefMut<'_, Self>, channel_groups: Names) -> PyRefMut<'_, Self> {
        slf.inner = slf.inner.clone().channel_groups(channel_groups.0);
        slf
    }

    /// Keep each member's state too.
    fn include_state(mut slf: PyRefMut<'_, Self>, include_state: bool) -> PyRefMut<'_, Self> {
        slf.inner = slf.inner.clone().include_state(include_state);
        slf
    }

    /// Takes the first snapshot and starts following; resolves to the view,
    /// whose changes queue from then on for `next_change()`.
    fn start<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let builder = self.inner.clone();
        let work = async move {
            let mut view = builder.await?;
            // Queue changes from the start, so `next_change()` misses none
            // that happened before it was first awaited.
            view.changes();
            Ok::<_, Error>(view)
        };
        bridge::spawn(py, work, |py, started| {
            let view = started.map_err(|e| to_py_err(&e))?;
            let view = View {
                reader: view.reader(),
                view: Arc::new(tokio::sync::Mutex::new(Some(view))),
                returned: Arc::default(),
                closing: Arc::default(),
            };
            Ok(Py::new(py, view)?.into_any())
        })
    }
}

/// The live member set of some channels.
#[pyclass(module = "pubnub_presence", name = "PresenceView")]
pub struct View {
    reader: PresenceReader,
    view: Arc<tokio::sync::Mutex<Option<PresenceView>>>,
    /// Changes on their way to Python, and those a cancelled `next_change()`
    /// gave back: the next one gives them first.
    returned: Arc<bridge::GiveBack<Result<PresenceChange, Error>>>,
    /// Set by `close()`: a pending `next_change()` ends (it holds the
    /// view's lock, which `close()` then takes).
    closing: Arc<bridge::Closing>,
}

/// One user on a channel, with their state.
#[pyclass(module = "pubnub_presence", name = "Member", get_all, frozen)]
pub struct Member {
    /// The user.
    pub uuid: String,
    /// Their state (`None` without `include_state(True)`, or when they have none).
    pub state: Py<PyAny>,
}

/// One change to the view: `kind` is `joined`, `left`, `updated` or
/// `resynced` (after a gap, with the names that changed in `joined`, `left`
/// and `updated`, dicts of channel → uuids).
#[pyclass(module = "pubnub_presence", name = "PresenceChange", get_all, frozen)]
pub struct Change {
    /// `joined`, `left`, `updated` or `resynced`.
    pub kind: &'static str,
    /// The channel (`None` for `resynced`).
    pub channel: Option<String>,
    /// The user (`None` for `resynced`).
    pub uuid: Option<String>,
    /// The new state, for `updated`.
    pub state: Py<PyAny>,
    /// `leave` or `timeout`, for `left`.
    pub reason: Option<&'static str>,
    /// For `resynced`: channel → uuids that joined.
    pub joined: Py<PyAny>,
    /// For `resynced`: channel → uuids that left.
    pub left: Py<PyAny>,
    /// For `resynced`: channel → uuids whose state changed.
    pub updated: Py<PyAny>,
}

impl ToPython for PresenceChange {
    fn to_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let none = || py.None();
        let change = match self {
            PresenceChange::Joined { channel, uuid } => Change {
                kind: "joined",
                channel: Some(channel),
                uuid: Some(uuid),
                state: none(),
                reason: None,
                joined: none(),
                left: none(),
                updated: none(),
            },
            PresenceChange::Left { channel, uuid, reason } => Change {
                kind: "left",
                channel: Some(channel),
                uuid: Some(uuid),
                state: none(),
                reason: Some(match reason {
                    LeaveReason::Timeout => "timeout",
                    _ => "leave",
                }),
                joined: none(),
                left: none(),
                updated: none(),
            },
            PresenceChange::Updated { channel, uuid, state } => Change {
                kind: "updated",
                channel: Some(channel),
                uuid: Some(uuid),
                state: state.to_python(py)?,
                reason: None,
                joined: none(),
                left: none(),
                updated: none(),
            },
            PresenceChange::Resynced { joined, left, updated } => Change {
                kind: "resynced",
                channel: None,
                uuid: None,
                state: none(),
                reason: None,
                joined: joined.to_python(py)?,
                left: left.to_python(py)?,
                updated: updated.to_python(py)?,
            },
            // A kind this version does not know: reported, never mistaken for another.
            _ => Change {
                kind: "other",
                channel: None,
                uuid: None,
                state: none(),
                reason: None,
                joined: none(),
                left: none(),
                updated: none(),
            },
        };
        Ok(Py::new(py, change)?.into_any())
    }
}

#[pymethods]
impl View {
    /// The members of `channel`.
    fn members(&self, py: Python<'_>, channel: &str) -> PyResult<Vec<Member>> {
        self.reader
            .members(channel)
            .into_iter()
            .map(|m| Ok(Member { uuid: m.uuid, state: m.state.to_python(py)? }))
            .collect()
    }

    /// How many users are on `channel`.
    fn occupancy(&self, channel: &str) -> usize {
        self.reader.occupancy(channel)
    }

    /// Whether `uuid` is on `channel`.
    fn is_present(&self, channel: &str, uuid: &str) -> bool {
        self.reader.is_present(channel, uuid)
    }

    /// channel → uuid → state, for every channel the view knows.
    fn snapshot(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.reader.snapshot().to_python(py)
    }

    /// The next change (waits for one); raises `StopAsyncIteration` once the
    /// view has ended (closed, or a 400/403 ended its stream).
    fn next_change<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (view, returned, closing) = (Arc::clone(&self.view), Arc::clone(&self.returned), Arc::clone(&self.closing));
        let work = async move {
            let mut guard = view.lock().await;
            let change = match guard.as_mut() {
                None => None,
                Some(view) => match returned.next_from(view.changes(), &closing).await {
                    bridge::Next::Item(change) => change,
                    bridge::Next::Closed => None,
                },
            };
            // Dropped undelivered (the awaitable was cancelled), it is given back.
            bridge::Held::new(change, &returned)
        };
        bridge::spawn(py, work, |py, mut held| match held.take() {
            Some(Ok(change)) => change.to_python(py),
            Some(Err(error)) => Err(to_py_err(&error)),
            None => Err(PyStopAsyncIteration::new_err(())),
        })
    }

    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.next_change(py)
    }

    /// Stops following (the members stay as they were); a pending
    /// `next_change()` raises `StopAsyncIteration`.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (view, closing) = (Arc::clone(&self.view), Arc::clone(&self.closing));
        let work = async move {
            closing.close();
            drop(view.lock().await.take());
        };
        bridge::spawn(py, work, |py, ()| Ok(py.None()))
    }
}

/// Registers this module's classes in the package's module.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<ViewBuilder>()?;
    module.add_class::<View>()?;
    module.add_class::<Member>()?;
    module.add_class::<Change>()?;
    Ok(())
}
