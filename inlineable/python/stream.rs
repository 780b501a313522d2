//! A Rust `Subscription` as a Python async iterator. Each `__anext__` polls
//! the Rust stream directly (no background task), and cancelling the
//! asyncio task that awaits it cancels the long-poll request
//! (`Subscription::cancel_poll`); the subscription resumes from the same
//! cursor on the next `__anext__`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;

use pubnub_presence_runtime::Error;
use pubnub_presence_runtime::stream::{LongPoll, Subscription as RustSubscription};

use super::convert::ToPython;
use super::errors::to_py_err;

type Next = Pin<Box<dyn Future<Output = Option<Result<Py<PyAny>, PyErr>>> + Send>>;

/// One next-item step of a subscription, whatever its item type.
trait Stream: Send {
    fn next(self: Arc<Self>) -> Next;
    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

struct Typed<P: LongPoll> {
    inner: tokio::sync::Mutex<Option<RustSubscription<P>>>,
}

impl<P> Stream for Typed<P>
where
    P: LongPoll + Send + Sync + 'static,
    P::Item: ToPython + Send,
    RustSubscription<P>: Send,
{
    fn next(self: Arc<Self>) -> Next {
        Box::pin(async move {
            let mut guard = self.inner.lock().await;
            let mut poll = CancelOnDrop { subscription: guard.as_mut()?, finished: false };
            let item: Option<Result<P::Item, Error>> = poll.subscription.next().await;
            poll.finished = true;
            Some(match item? {
                Ok(item) => Python::attach(|py| item.to_python(py)),
                Err(error) => Err(to_py_err(&error)),
            })
        })
    }

    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            self.inner.lock().await.take();
        })
    }
}

/// Cancels the subscription's poll in flight when a `next()` is dropped
/// before it finished (the asyncio task was cancelled): the long-poll
/// request ends, and the next `__anext__` polls again from the same cursor.
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

/// An async iterator of events: `async for event in subscription`.
/// `await subscription.close()` ends it (the next `__anext__` stops).
#[pyclass(module = "pubnub_presence", name = "Subscription")]
pub struct Subscription {
    stream: Arc<dyn Stream + Sync>,
}

impl Subscription {
    /// Wraps a Rust subscription whose items convert to Python.
    pub fn new<P>(subscription: RustSubscription<P>) -> Self
    where
        P: LongPoll + Send + Sync + 'static,
        P::Item: ToPython + Send,
        RustSubscription<P>: Send,
    {
        Subscription { stream: Arc::new(Typed { inner: tokio::sync::Mutex::new(Some(subscription)) }) }
    }
}

#[pymethods]
impl Subscription {
    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let next = Arc::clone(&self.stream).next();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            match next.await {
                Some(item) => item,
                None => Err(PyStopAsyncIteration::new_err(())),
            }
        })
    }

    /// Ends the subscription; a pending `__anext__` finishes first.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let stream = Arc::clone(&self.stream);
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            stream.close().await;
            Ok(())
        })
    }
}
