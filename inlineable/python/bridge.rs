//! How a Rust future's outcome reaches asyncio, cheaply.
//!
//! A call spawns its Rust future on the process's one tokio runtime and
//! returns an `asyncio.Future` of the running loop. When the Rust future
//! ends, its outcome (still a Rust value) is pushed onto the loop's
//! completion queue, and a byte on a socket pair that the loop watches
//! (`loop.add_reader`) wakes the loop, once for however many outcomes are
//! queued. The loop's thread, which holds the GIL anyway, converts each
//! outcome to Python objects and resolves its future.
//!
//! So the runtime's threads never take the GIL (they would wait for the
//! loop thread to let it go, up to the interpreter's 5 ms switch interval
//! when it is busy), Rust work never holds it, and a busy loop is woken
//! once per batch, not once per call. Cancelling the asyncio future aborts
//! the Rust task, which drops its future (and so its HTTP request).

use std::collections::VecDeque;
use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::exceptions::PyRuntimeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use pubnub_presence_runtime::stream::Stream as ItemStream;

/// Turns a finished call's Rust outcome into the asyncio future's result or
/// exception, on the loop's thread.
type Deliver = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// One loop's completion queue and the socket that wakes it.
struct Queue {
    done: Mutex<Vec<(Py<PyAny>, Deliver)>>,
    wake: UnixStream,
}

impl Queue {
    /// Queues an outcome; wakes the loop if the queue was empty (a wake
    /// already on its way covers the rest).
    fn push(&self, future: Py<PyAny>, deliver: Deliver) {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        let was_empty = done.is_empty();
        done.push((future, deliver));
        drop(done);
        if was_empty {
            // Full socket buffer: a wake is pending already, which is all we need.
            let _ = (&self.wake).write(&[1]);
        }
    }
}

/// The loop's reader callback: drains the wake bytes and resolves every
/// queued future.
#[pyclass(module = "pubnub_presence")]
struct Drain {
    queue: Arc<Queue>,
    woken: UnixStream,
}

#[pymethods]
impl Drain {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let mut bytes = [0u8; 64];
        loop {
            match (&self.woken).read(&mut bytes) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let done = std::mem::take(&mut *self.queue.done.lock().unwrap_or_else(|p| p.into_inner()));
        // Every future is resolved even if one fails; the last failure is
        // raised (asyncio reports it) once all are done.
        let mut failed = Ok(());
        for (future, deliver) in done {
            if let Err(error) = resolve(py, future.bind(py), deliver) {
                failed = Err(error);
            }
        }
        failed
    }
}

/// Resolves `future` with `deliver`'s outcome, unless it was cancelled
/// meanwhile (its task was aborted; `deliver` is dropped, which gives a
/// [`Held`] item back).
fn resolve(py: Python<'_>, future: &Bound<'_, PyAny>, deliver: Deliver) -> PyResult<()> {
    if future.call_method0(intern!(py, "done"))?.is_truthy()? {
        return Ok(());
    }
    match deliver(py) {
        Ok(value) => future.call_method1(intern!(py, "set_result"), (value,))?,
        Err(error) => future.call_method1(intern!(py, "set_exception"), (error.into_value(py),))?,
    };
    Ok(())
}

/// A done-callback of each call's future: a cancelled future aborts its task.
#[pyclass(module = "pubnub_presence")]
struct AbortOnCancel {
    task: tokio::task::AbortHandle,
}

#[pymethods]
impl AbortOnCancel {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0(intern!(future.py(), "cancelled"))?.is_truthy()? {
            self.task.abort();
        }
        Ok(())
    }
}

/// The process's one runtime: one worker thread. The work per call is
/// small and the event loop is one thread; a second worker mostly added
/// wake-ups and work stealing (measured on 2 cores: runtime CPU per
/// presence event 64 µs on two workers, 55 µs on one; here_now of 10 × 100
/// occupants 430 → 296 µs of CPU per call; here_now at 64 in flight 29.6k
/// → 33.2k calls/s).
static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// Starts the runtime (the module's init calls this, so an import fails
/// with the reason rather than a later call).
pub fn init_runtime() -> PyResult<()> {
    if RUNTIME.get().is_none() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("pubnub-presence")
            .build()
            .map_err(|e| PyRuntimeError::new_err(format!("pubnub_presence could not start its runtime: {e}")))?;
        // Another thread's runtime may have won meanwhile; this one is dropped.
        let _ = RUNTIME.set(runtime);
    }
    Ok(())
}

/// The runtime ([`init_runtime`] ran at import).
fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    RUNTIME.get().ok_or_else(|| PyRuntimeError::new_err("pubnub_presence's runtime is not started"))
}

/// The items of one stream on their way to Python, so that a cancellation
/// loses none and reorders none. An item is [`Held`] from the moment a Rust
/// task takes it for an awaitable until the loop hands it over; if the
/// awaitable is cancelled first (a `wait_for` timing out just as an event
/// arrived), the item is given back here. While any item is held, the next
/// awaitable waits ([`GiveBack::is_holding`], [`GiveBack::changed`]): it gets
/// the item given back, or the next one once the held item was delivered.
pub struct GiveBack<T> {
    items: Mutex<VecDeque<T>>,
    held: AtomicUsize,
    changed: tokio::sync::Notify,
}

impl<T> Default for GiveBack<T> {
    fn default() -> Self {
        GiveBack { items: Mutex::new(VecDeque::new()), held: AtomicUsize::new(0), changed: tokio::sync::Notify::new() }
    }
}

impl<T> GiveBack<T> {
    /// An item given back, oldest first.
    pub fn take(&self) -> Option<T> {
        self.items.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
    }

    /// Whether an item is on its way to Python: a later one must not overtake it.
    pub fn is_holding(&self) -> bool {
        self.held.load(Ordering::Acquire) > 0
    }

    /// Resolves when a held item is delivered or given back. Create it (and
    /// `enable` it) before looking at [`GiveBack::take`] and
    /// [`GiveBack::is_holding`], so that no change slips between.
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }
}

impl<T> GiveBack<T> {
    /// The next item for an awaitable of a stream: one given back first;
    /// while another awaitable's item is held, nothing (it is delivered or
    /// given back first); otherwise `source`'s next item. `None` inside
    /// [`Next::Item`] is the end of `source`. `source` must be cancel-safe
    /// (dropping its `poll_next` loses nothing): it is left whenever an item
    /// is given back meanwhile.
    pub async fn next_from<S>(&self, source: &mut S, closing: &Closing) -> Next<T>
    where
        S: ItemStream<Item = T> + Unpin,
    {
        let closed = closing.notify.notified();
        tokio::pin!(closed);
        closed.as_mut().enable();
        loop {
            if closing.is_closed() {
                return Next::Closed;
            }
            let changed = self.changed();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(item) = self.take() {
                return Next::Item(Some(item));
            }
            if self.is_holding() {
                tokio::select! {
                    () = &mut closed => return Next::Closed,
                    () = changed => continue,
                }
            }
            tokio::select! {
                item = std::future::poll_fn(|cx| std::pin::Pin::new(&mut *source).poll_next(cx)) => return Next::Item(item),
                () = &mut closed => return Next::Closed,
                () = changed => {}
            }
        }
    }
}

/// How [`GiveBack::next_from`] ended.
pub enum Next<T> {
    /// An item, or `None`: the source ended.
    Item(Option<T>),
    /// [`Closing::close`] was called.
    Closed,
}

/// A stream's `close()`: set once, it ends a pending [`GiveBack::next_from`].
#[derive(Default)]
pub struct Closing {
    closed: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Closing {
    /// Closes: every pending and later `next_from` ends.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    /// Whether [`Closing::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// An item (or none: the stream ended) on its way to Python:
/// [`Held::take`] hands it over; dropped before that (the delivery was
/// cancelled), it is given back.
pub struct Held<T> {
    item: Option<T>,
    back: Arc<GiveBack<T>>,
}

impl<T> Held<T> {
    /// Holds `item` for delivery.
    pub fn new(item: Option<T>, back: &Arc<GiveBack<T>>) -> Self {
        if item.is_some() {
            back.held.fetch_add(1, Ordering::AcqRel);
        }
        Held { item, back: Arc::clone(back) }
    }

    /// The item, delivered.
    pub fn take(&mut self) -> Option<T> {
        let item = self.item.take();
        if item.is_some() {
            self.release();
        }
        item
    }

    fn release(&self) {
        self.back.held.fetch_sub(1, Ordering::AcqRel);
        self.back.changed.notify_waiters();
    }
}

impl<T> Drop for Held<T> {
    fn drop(&mut self) {
        if let Some(item) = self.item.take() {
            self.back.items.lock().unwrap_or_else(|p| p.into_inner()).push_back(item);
            self.release();
        }
    }
}

/// The queue of `event_loop` (made, and its reader added, on first use).
fn queue_of(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Queue>> {
    static QUEUES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let queues = QUEUES.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("weakref")?.getattr("WeakKeyDictionary")?.call0()?.unbind())
    })?;
    let queues = queues.bind(py);
    if let Ok(drain) = queues.call_method1("get", (event_loop,))?.cast::<Drain>() {
        return Ok(Arc::clone(&drain.borrow().queue));
    }
    let (woken, wake) = UnixStream::pair()?;
    woken.set_nonblocking(true)?;
    wake.set_nonblocking(true)?;
    let fd = woken.as_raw_fd();
    let queue = Arc::new(Queue { done: Mutex::new(Vec::new()), wake });
    let drain = Bound::new(py, Drain { queue: Arc::clone(&queue), woken })?;
    event_loop.call_method1("add_reader", (fd, &drain))?;
    queues.set_item(event_loop, drain)?;
    Ok(queue)
}

/// Runs `work` on the runtime; returns an `asyncio.Future` of the running
/// loop that `deliver` resolves with the work's outcome (on the loop's
/// thread, holding the GIL).
pub fn spawn<'py, T, W, D>(py: Python<'py>, work: W, deliver: D) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    W: Future<Output = T> + Send + 'static,
    D: FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
{
    static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let get_running_loop = GET_RUNNING_LOOP
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("asyncio")?.getattr("get_running_loop")?.unbind()))?;
    let event_loop = get_running_loop.bind(py).call0()?;
    let queue = queue_of(py, &event_loop)?;
    let future = event_loop.call_method0(intern!(py, "create_future"))?;
    let resolve = future.clone().unbind();
    let task = runtime()?.spawn(async move {
        let outcome = work.await;
        queue.push(resolve, Box::new(move |py| deliver(py, outcome)));
    });
    future.call_method1(intern!(py, "add_done_callback"), (AbortOnCancel { task: task.abort_handle() },))?;
    Ok(future)
}
