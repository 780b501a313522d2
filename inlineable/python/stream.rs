//! A Rust `Subscription` as a Python async iterator.
//!
//! An answer of the long-poll often carries many events. `__anext__` first
//! takes an event the last answer carried (`Subscription::take_ready`),
//! right there: it comes back at once, as an awaitable that is already done
//! (no task, the GIL kept). Only when none is ready does it start a task of
//! the loop ([`bridge`](super::bridge)), which sends the next poll.
//! Cancelling the asyncio task that awaits it cancels the long-poll
//! request (`Subscription::cancel_poll`); the next `__anext__` polls again
//! from the same cursor, so nothing is lost. An event already taken for an
//! `__anext__` that was cancelled, or never awaited, goes back
//! ([`bridge::GiveBack`]) and comes with the next one, in order.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;

use pubnub_presence_runtime::Error;
use pubnub_presence_runtime::stream::{LongPoll, Subscription as RustSubscription};

use super::bridge;
use super::convert::ToPython;
use super::errors::to_py_err;

/// A converted next item: `None` once the subscription has ended.
type Converted = Option<PyResult<Py<PyAny>>>;
/// A next item not yet converted: converted on the loop's thread when the
/// awaitable is resumed; dropped instead, it gives a held item back.
type Deliver = Box<dyn FnOnce(Python<'_>) -> Converted + Send>;
/// Waits for the next item.
type Pending = Pin<Box<dyn Future<Output = Deliver> + Send>>;

/// A subscription, whatever its item type.
trait Stream: Send + Sync {
    /// The next item if one is ready now (`None`: wait with [`Stream::next`]).
    fn try_next(&self) -> Option<Deliver>;
    /// Waits for the next item.
    fn next(self: Arc<Self>) -> Pending;
    /// Ends the subscription, ending a pending `next` first.
    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

struct Typed<P: LongPoll> {
    inner: tokio::sync::Mutex<Option<RustSubscription<P>>>,
    /// Items on their way to Python, and those a cancelled `__anext__`
    /// gave back: the next `__anext__` gives them first.
    returned: Arc<bridge::GiveBack<Result<P::Item, Error>>>,
    closing: bridge::Closing,
}

impl<P> Typed<P>
where
    P: LongPoll + Send + Sync + 'static,
    P::Item: ToPython + Send,
{
    /// `item`, held until the awaitable hands it over.
    fn deliver(&self, item: Option<Result<P::Item, Error>>) -> Deliver {
        let mut held = bridge::Held::new(item, &self.returned);
        Box::new(move |py: Python<'_>| convert(py, held.take()))
    }
}

/// Cancels the subscription's poll in flight when a `next()` is dropped
/// before it finished (the asyncio task was cancelled, or the stream closed).
struct CancelOnDrop<'a, P: LongPoll> {
    subscription: &'a mut RustSubscription<P>,
    finished: bool,
}

impl<P: LongPoll> Drop for CancelOnDrop<'_, P> {
    fn drop(&mut self) {
        if !self.finished {
            self.subscription.cancel_poll();
        }
    }
}

fn convert<T: ToPython>(py: Python<'_>, item: Option<Result<T, Error>>) -> Converted {
    Some(match item? {
        Ok(item) => item.to_python(py),
        Err(error) => Err(to_py_err(&error)),
    })
}

impl<P> Stream for Typed<P>
where
    P: LongPoll + Send + Sync + 'static,
    P::Item: ToPython + Send,
    RustSubscription<P>: Send,
{
    fn try_next(&self) -> Option<Deliver> {
        if self.closing.is_closed() {
            return Some(self.deliver(None));
        }
        // An item still on its way to Python comes first: wait for it.
        if self.returned.is_holding() {
            return None;
        }
        if let Some(item) = self.returned.take() {
            return Some(self.deliver(Some(item)));
        }
        let mut guard = self.inner.try_lock().ok()?;
        // An item of the last answer: no I/O, no task.
        let item = guard.as_mut()?.take_ready()?;
        Some(self.deliver(Some(item)))
    }

    fn next(self: Arc<Self>) -> Pending {
        Box::pin(async move {
            let item = {
                let mut guard = self.inner.lock().await;
                match guard.as_mut() {
                    None => None,
                    Some(subscription) => {
                        let mut poll = CancelOnDrop { subscription, finished: false };
                        match self.returned.next_from(poll.subscription, &self.closing).await {
                            // An item, or one given back (the poll in flight stays).
                            bridge::Next::Item(item) => {
                                poll.finished = true;
                                item
                            }
                            bridge::Next::Closed => None,
                        }
                    }
                }
            };
            self.deliver(item)
        })
    }

    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            self.closing.close();
            self.inner.lock().await.take();
        })
    }
}

/// An awaitable that is already done: `await` gives its item at once. The
/// item is converted when awaited; dropped unawaited, it is given back.
#[pyclass(module = "pubnub_presence")]
struct Ready {
    deliver: Mutex<Option<Deliver>>,
}

#[pymethods]
impl Ready {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    // `yield from` (asyncio's wrapping of awaitables) iterates it.
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let deliver = self.deliver.lock().unwrap_or_else(|p| p.into_inner()).take();
        match deliver {
            Some(deliver) => Err(PyStopIteration::new_err((end_of_stream(deliver(py))?,))),
            // Awaited again: done, with nothing.
            None => Err(PyStopIteration::new_err((py.None(),))),
        }
    }
}

/// An async iterator of events: `async for event in subscription`.
/// `await subscription.close()` ends it (a pending `__anext__` ends too).
#[pyclass(module = "pubnub_presence", name = "Subscription")]
pub struct Subscription {
    stream: Arc<dyn Stream>,
}

impl Subscription {
    /// Wraps a Rust subscription whose items convert to Python.
    pub fn new<P>(subscription: RustSubscription<P>) -> Self
    where
        P: LongPoll + Send + Sync + 'static,
        P::Item: ToPython + Send,
        RustSubscription<P>: Send,
    {
        let typed = Typed {
            inner: tokio::sync::Mutex::new(Some(subscription)),
            returned: Arc::default(),
            closing: bridge::Closing::default(),
        };
        Subscription { stream: Arc::new(typed) }
    }
}

fn end_of_stream(converted: Converted) -> PyResult<Py<PyAny>> {
    converted.unwrap_or_else(|| Err(PyStopAsyncIteration::new_err(())))
}

#[pymethods]
impl Subscription {
    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(deliver) = self.stream.try_next() {
            return Ok(Bound::new(py, Ready { deliver: Mutex::new(Some(deliver)) })?.into_any());
        }
        bridge::spawn(py, Arc::clone(&self.stream).next(), |py, deliver| end_of_stream(deliver(py)))
    }

    /// Ends the subscription (a pending `__anext__` raises `StopAsyncIteration`).
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let stream = Arc::clone(&self.stream);
        bridge::spawn(py, async move { stream.close().await }, |py, ()| Ok(py.None()))
    }
}
