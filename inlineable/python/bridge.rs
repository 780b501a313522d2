//! Where the bindings' Rust futures run, and how their outcomes reach asyncio.
//!
//! A call's Rust future runs **on the asyncio loop's own thread**, as a
//! [`Task`] of that loop: [`spawn`] polls it at once (building and writing
//! the request there), and the loop polls it again when it is woken. Its
//! HTTP requests go through [`super::loop_http`], whose sockets the loop
//! watches itself (`loop.add_reader`), so an answer wakes the loop directly
//! and the task runs inside that reader callback: no thread hop, no context
//! switch beyond the one the loop's `select` makes anyway. When the future
//! ends, the task resolves its `asyncio.Future` right there.
//!
//! Work that must run on a tokio runtime (connecting, `join()`'s heartbeat
//! loop, the local server) runs on the process's one runtime ([`runtime`]);
//! a task woken from that runtime's thread is queued on its loop and a byte
//! on a socket pair that the loop watches wakes it, once for however many
//! tasks are queued; what the runtime's thread must have done with the loop
//! (closing a connection it dropped) goes the same way ([`Home::on_loop_thread`]),
//! so that thread never takes the GIL. Rust work on the loop's thread holds
//! the GIL, as asyncio's own callbacks do (microseconds per call), except
//! decoding a large answer; the loop waits for I/O in its `select`, with the
//! GIL released. Cancelling an asyncio future drops its task's Rust future
//! (and so its HTTP request); a task that panics fails its future.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::ThreadId;

use pyo3::exceptions::PyRuntimeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use pubnub_presence_runtime::stream::Stream as ItemStream;

/// One asyncio loop's side of the bridge: its tasks woken and not yet run,
/// and the socket that wakes the loop for them.
pub struct Home {
    woken: Mutex<VecDeque<Arc<Task>>>,
    /// Work for the loop's thread asked for on another ([`Home::on_loop_thread`]).
    chores: Mutex<Vec<Chore>>,
    wake: UnixStream,
    /// The loop's thread: a task woken there while the loop runs tasks needs no wake byte.
    thread: ThreadId,
    /// A weak reference to the `asyncio` loop (the loop's table of homes
    /// must not keep it alive).
    event_loop: Py<PyAny>,
}

/// Something to do with the loop, on its thread; given the loop.
pub type Chore = Box<dyn FnOnce(Python<'_>, &Bound<'_, PyAny>) + Send>;

impl Home {
    /// Does `chore` on the loop's thread: now, if this is it; else by the
    /// loop's wake reader, so that another thread (the runtime's, dropping a
    /// connection or a timer) never takes the GIL. If the loop is gone, the
    /// chore is dropped undone (a socket it holds closes with it). Called
    /// from `Drop`s, so an exception Python has in flight is kept
    /// ([`keeping_python_error`]).
    pub fn on_loop_thread(&self, chore: Chore) {
        if self.is_current_thread() {
            Python::attach(|py| {
                keeping_python_error(py, || {
                    if let Ok(event_loop) = self.event_loop(py) {
                        chore(py, &event_loop);
                    }
                })
            });
        } else {
            self.chores.lock().unwrap_or_else(|p| p.into_inner()).push(chore);
            let _ = (&self.wake).write(&[1]);
        }
    }

    /// Whether the loop still exists (its connections are worth keeping).
    pub fn is_alive(&self) -> bool {
        Python::attach(|py| self.event_loop(py).is_ok())
    }

    /// The loop, for [`super::loop_http`]'s readers and timers.
    pub fn event_loop<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let event_loop = self.event_loop.bind(py).call0()?;
        if event_loop.is_none() {
            return Err(PyRuntimeError::new_err("the event loop is gone"));
        }
        Ok(event_loop)
    }

    /// Whether this is the loop's thread (where its Python objects may be used).
    pub fn is_current_thread(&self) -> bool {
        std::thread::current().id() == self.thread
    }
}

thread_local! {
    /// The loop whose tasks this thread is running now, if any.
    static RUNNING: RefCell<Option<Arc<Home>>> = const { RefCell::new(None) };
}

/// The loop whose tasks this thread is running: a task polled now may do
/// its I/O on it. `None` on the runtime's threads.
pub fn running_home() -> Option<Arc<Home>> {
    RUNNING.with(|running| running.borrow().clone())
}

/// Runs `work`, which calls into Python, from a `Drop` (of a connection, a
/// timer): a drop may run while Python has an exception in flight (the
/// frame of a finishing coroutine dropping its locals), and a call made
/// then would clear it, so the coroutine would end with no exception set
/// ("returned NULL without setting an error", seen on Python 3.9). The
/// exception is set aside and put back.
fn keeping_python_error<R>(py: Python<'_>, work: impl FnOnce() -> R) -> R {
    let in_flight = PyErr::take(py);
    let result = work();
    if let Some(error) = in_flight {
        error.restore(py);
    }
    result
}

/// Turns a finished call's Rust outcome into the asyncio future's result or
/// exception, on the loop's thread.
type Deliver = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// A Rust future run by an asyncio loop; what it ends with resolves the
/// task's asyncio future.
struct Task {
    future: Mutex<Option<Pin<Box<dyn Future<Output = Deliver> + Send>>>>,
    /// Queued on its loop, not yet polled (so a second wake queues nothing).
    queued: AtomicBool,
    /// Cancelled while being polled: dropped once the poll returns.
    cancelled: AtomicBool,
    /// The asyncio future the task resolves (failed if the task panics).
    resolves: Py<PyAny>,
    home: Arc<Home>,
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let home = &self.home;
        let mut woken = home.woken.lock().unwrap_or_else(|p| p.into_inner());
        let was_empty = woken.is_empty();
        woken.push_back(Arc::clone(self));
        drop(woken);
        // The loop's thread, running tasks: they run before it returns to the loop.
        let runs_it_now = RUNNING.with(|running| running.borrow().as_ref().is_some_and(|r| Arc::ptr_eq(r, home)));
        if was_empty && !runs_it_now {
            // Full socket buffer: a wake is pending already, which is all we need.
            let _ = (&home.wake).write(&[1]);
        }
    }
}

impl Task {
    fn poll(self: &Arc<Self>) {
        self.queued.store(false, Ordering::Release);
        let waker = Waker::from(Arc::clone(self));
        let mut cx = Context::from_waker(&waker);
        let mut slot = self.future.lock().unwrap_or_else(|p| p.into_inner());
        let Some(future) = slot.as_mut() else { return };
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
        let outcome: Option<Deliver> = match polled {
            Ok(Poll::Pending) => None,
            Ok(Poll::Ready(deliver)) => Some(deliver),
            // A bug: the call fails with it (rather than never ending), and the loop goes on.
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let message = format!("pubnub_presence: internal error (a panic): {what}");
                Some(Box::new(move |_| Err(PyRuntimeError::new_err(message))))
            }
        };
        let finished = if outcome.is_some() || self.cancelled.load(Ordering::Acquire) { slot.take() } else { None };
        drop(slot);
        drop(finished);
        if let Some(deliver) = outcome {
            // On the loop's thread, which holds the GIL.
            Python::attach(|py| resolve(py, self.resolves.bind(py), deliver));
        }
    }

    /// Drops the future (its request with it): the asyncio future was
    /// cancelled. (During the task's own poll, which would be a callback
    /// run from inside it, once that poll returns.)
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        let dropped = match self.future.try_lock() {
            Ok(mut slot) => slot.take(),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner().take(),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        drop(dropped);
    }
}

/// Runs `work` on `home`'s thread as one of the loop's turns: inside it, a
/// task woken on this thread is run before this returns (no wake byte), then
/// every task woken so far. Reentrant: a nested call leaves the queue to the
/// outer one. Called by the loop's callbacks (wake socket, readers, timers)
/// and by [`spawn`].
pub fn turn<R>(home: &Arc<Home>, work: impl FnOnce() -> R) -> R {
    /// Puts back the thread's running loop, even if a task panicked (PyO3
    /// turns the panic into a Python exception; the next turn must not take
    /// itself for a nested one).
    struct Restore(Option<Arc<Home>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            RUNNING.with(|running| *running.borrow_mut() = outer);
        }
    }
    let outer = Restore(RUNNING.with(|running| running.borrow_mut().replace(Arc::clone(home))));
    let nested = outer.0.as_ref().is_some_and(|outer| Arc::ptr_eq(outer, home));
    let result = work();
    if !nested {
        // Timers and spawns of the tasks' code go to the runtime.
        let _runtime = RUNTIME.get().map(tokio::runtime::Runtime::enter);
        loop {
            let next = home.woken.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
            let Some(task) = next else { break };
            task.poll();
        }
    }
    drop(outer);
    result
}

/// The loop's reader callback for its wake socket: drains the wake bytes,
/// does the chores other threads left, and runs every task woken from
/// another thread.
#[pyclass(module = "pubnub_presence")]
struct Drain {
    home: Arc<Home>,
    woken: UnixStream,
}

#[pymethods]
impl Drain {
    fn __call__(&self, py: Python<'_>) {
        let mut bytes = [0u8; 64];
        loop {
            match (&self.woken).read(&mut bytes) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let chores = std::mem::take(&mut *self.home.chores.lock().unwrap_or_else(|p| p.into_inner()));
        if !chores.is_empty()
            && let Ok(event_loop) = self.home.event_loop(py)
        {
            for chore in chores {
                chore(py, &event_loop);
            }
        }
        turn(&self.home, || ());
    }
}

/// Resolves `future` with `deliver`'s outcome, unless it was cancelled
/// meanwhile (`deliver` is dropped then, which gives a [`Held`] item back).
/// A failure to convert or resolve goes to `sys.unraisablehook`.
fn resolve(py: Python<'_>, future: &Bound<'_, PyAny>, deliver: impl FnOnce(Python<'_>) -> PyResult<Py<PyAny>>) {
    let resolved = (|| -> PyResult<()> {
        if future.call_method0(intern!(py, "done"))?.is_truthy()? {
            return Ok(());
        }
        match deliver(py) {
            Ok(value) => future.call_method1(intern!(py, "set_result"), (value,))?,
            Err(error) => future.call_method1(intern!(py, "set_exception"), (error.into_value(py),))?,
        };
        Ok(())
    })();
    if let Err(error) = resolved {
        error.write_unraisable(py, Some(future));
    }
}

/// A done-callback of each call's future: a cancelled future drops its task's work.
#[pyclass(module = "pubnub_presence")]
struct CancelTask {
    task: Arc<Task>,
}

#[pymethods]
impl CancelTask {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0(intern!(future.py(), "cancelled"))?.is_truthy()? {
            self.task.cancel();
        }
        Ok(())
    }
}

/// The process's one runtime, one worker thread: for what needs tokio
/// (connecting, `join()`'s heartbeat loop, the local server, timers of
/// code that is not a loop's task). When it ran every call, a second
/// worker mostly added wake-ups and work stealing on 2 cores.
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

/// Runs `work` on the process's runtime (for what needs tokio's I/O or
/// timers); a loop's task awaits the handle.
pub fn spawn_on_runtime<W>(work: W) -> PyResult<tokio::task::JoinHandle<W::Output>>
where
    W: Future + Send + 'static,
    W::Output: Send + 'static,
{
    Ok(runtime()?.spawn(work))
}

/// The [`Home`] of `event_loop` (made, and its wake reader added, on first use).
fn home_of(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Home>> {
    static HOMES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let homes = HOMES.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("weakref")?.getattr("WeakKeyDictionary")?.call0()?.unbind())
    })?;
    let homes = homes.bind(py);
    if let Ok(drain) = homes.call_method1("get", (event_loop,))?.cast::<Drain>() {
        return Ok(Arc::clone(&drain.borrow().home));
    }
    let (woken, wake) = UnixStream::pair()?;
    woken.set_nonblocking(true)?;
    wake.set_nonblocking(true)?;
    let fd = woken.as_raw_fd();
    let home = Arc::new(Home {
        woken: Mutex::new(VecDeque::new()),
        chores: Mutex::new(Vec::new()),
        wake,
        thread: std::thread::current().id(),
        event_loop: py.import("weakref")?.getattr("ref")?.call1((event_loop,))?.unbind(),
    });
    let drain = Bound::new(py, Drain { home: Arc::clone(&home), woken })?;
    event_loop.call_method1("add_reader", (fd, &drain))?;
    homes.set_item(event_loop, drain)?;
    Ok(home)
}

/// Runs `work` as a task of the running asyncio loop (polled at once, here);
/// returns an `asyncio.Future` that `deliver` resolves with the work's
/// outcome, on the loop's thread. Cancelling the future drops the work.
pub fn spawn<'py, T, W, D>(py: Python<'py>, work: W, deliver: D) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    W: Future<Output = T> + Send + 'static,
    D: FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
{
    static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let get_running_loop = GET_RUNNING_LOOP
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("asyncio")?.getattr("get_running_loop")?.unbind()))?;
    runtime()?;
    let event_loop = get_running_loop.bind(py).call0()?;
    let home = home_of(py, &event_loop)?;
    let future = event_loop.call_method0(intern!(py, "create_future"))?;
    let run = async move {
        let outcome = work.await;
        Box::new(move |py: Python<'_>| deliver(py, outcome)) as Deliver
    };
    let task = Arc::new(Task {
        future: Mutex::new(Some(Box::pin(run))),
        queued: AtomicBool::new(false),
        cancelled: AtomicBool::new(false),
        resolves: future.clone().unbind(),
        home,
    });
    future.call_method1(intern!(py, "add_done_callback"), (CancelTask { task: Arc::clone(&task) },))?;
    turn(&task.home, || Waker::from(Arc::clone(&task)).wake());
    Ok(future)
}
