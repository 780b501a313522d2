//! HTTP/1.1 (and TLS, with rustls) on the asyncio loop's own thread: the
//! client's [`Sender`], so that a call made from Python never crosses a
//! thread.
//!
//! A request of a task the loop runs ([`bridge`]) is written to a pooled
//! keep-alive socket right away; the loop watches the socket
//! (`loop.add_reader`), and the answer wakes the task inside that reader
//! callback, where it is parsed (`httparse`) and decoded. Timeouts are the
//! loop's timers (`loop.call_later`). Connecting (name lookup, the connect
//! timeout) is done on the runtime, once per pooled connection.
//!
//! Requests made elsewhere (`join()`'s heartbeat loop, which runs on the
//! runtime) go through the runtime's reqwest client: this sender declines
//! them. `https` certificates are checked as reqwest checks them (the
//! platform's verifier and roots).

use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use pyo3::intern;
use pyo3::prelude::*;

use pubnub_presence_runtime::transport::{Get, HttpAnswer, Sender, Sending, Timer, body_too_big};
use pubnub_presence_runtime::{Config, Error, TimeoutKind};

use super::bridge::{self, Home};

/// Idle connections kept per client (64 calls in flight reuse 64).
const MAX_IDLE: usize = 128;
/// Longest answer head (status line and headers) read.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most headers an answer head may have.
const MAX_HEADERS: usize = 64;
/// Answers from this size up are decoded with the GIL released (the
/// benchmark's here_now of 10 channels × 100 uuids is 18 KiB, of 2 × 10
/// half a KiB).
const DECODE_WITHOUT_GIL_BYTES: usize = 16 * 1024;

/// Where requests go.
struct Origin {
    /// `host:port` to connect to.
    address: String,
    /// What follows a request's path and query: the version and the
    /// headers, the same for every request, so made once.
    request_tail: String,
    /// For `https`: the TLS settings and the name the certificate must have.
    tls: Option<(Arc<rustls::ClientConfig>, rustls::pki_types::ServerName<'static>)>,
}

/// TLS settings for `hostname`, verifying as reqwest does (the platform's
/// verifier); `None` if they cannot be made (the runtime's client then
/// sends, and reports why).
fn tls_for(hostname: &str) -> Option<(Arc<rustls::ClientConfig>, rustls::pki_types::ServerName<'static>)> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_platform_verifier()
        .ok()?
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(hostname.to_owned()).ok()?;
    Some((Arc::new(config), name))
}

/// Whether the environment names a proxy for this scheme (`HTTP_PROXY`,
/// `HTTPS_PROXY`, `ALL_PROXY`, in either case): then reqwest, which honours
/// them (and `NO_PROXY`), sends every request; this sender does not speak
/// to proxies.
fn proxy_from_environment(secure: bool) -> bool {
    let names: &[&str] = if secure {
        &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    } else {
        &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
    };
    names.iter().any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

/// The sender for one client: its origin and its idle connections.
pub struct LoopHttp {
    origin: Origin,
    connect_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl LoopHttp {
    /// A sender for `config`'s origin (`host[:port]`, no path); `None`
    /// leaves every request to the runtime's client, which reports an
    /// origin it cannot use.
    pub fn for_config(config: &Config) -> Option<LoopHttp> {
        let base = config.base_url();
        let (secure, authority) = match base.strip_prefix("https://") {
            Some(authority) => (true, authority),
            None => (false, base.strip_prefix("http://")?),
        };
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) || proxy_from_environment(secure) {
            return None;
        }
        let (hostname, has_port) = match authority.strip_prefix('[') {
            Some(bracketed) => {
                let (ip, after) = bracketed.split_once(']')?;
                (ip, after.starts_with(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((hostname, _)) => (hostname, true),
                None => (authority, false),
            },
        };
        let address = match (has_port, secure) {
            (true, _) => authority.to_owned(),
            (false, true) => format!("{authority}:443"),
            (false, false) => format!("{authority}:80"),
        };
        let tls = if secure { Some(tls_for(hostname)?) } else { None };
        Some(LoopHttp {
            origin: Origin {
                address,
                request_tail: format!(" HTTP/1.1\r\nHost: {authority}\r\nAccept: */*\r\n\r\n"),
                tls,
            },
            connect_timeout: config.connect_timeout_value(),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// An idle connection of `home`'s loop that the server has not closed.
    /// Those of this loop that the server closed, and those of loops that
    /// are gone, are dropped (after the lock: a drop calls into Python);
    /// other live loops keep theirs.
    fn checkout(&self, home: &Arc<Home>) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let mut dead = Vec::new();
        let mut found = None;
        // The most recently returned first; those after the one found wait for a later look.
        for at in (0..idle.len()).rev() {
            let connection = &idle[at];
            let ours = Arc::ptr_eq(&connection.home, home);
            if connection.readiness.hung_up.load(Ordering::Acquire) || (!ours && !connection.home.is_alive()) {
                dead.push(idle.swap_remove(at));
            } else if ours {
                found = Some(idle.swap_remove(at));
                break;
            }
        }
        drop(idle);
        drop(dead);
        found
    }

    fn checkin(&self, connection: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let extra = if idle.len() < MAX_IDLE {
            idle.push(connection);
            None
        } else {
            Some(connection)
        };
        drop(idle);
        drop(extra);
    }

    /// Opens a connection on the runtime (name lookup and connect, bounded
    /// by the connect timeout) and hands its socket to `home`'s loop.
    async fn connect(&self, home: &Arc<Home>) -> Result<Connection, Error> {
        let address = self.origin.address.clone();
        let timeout = self.connect_timeout;
        let connecting = bridge::spawn_on_runtime(async move {
            match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&address)).await {
                Err(_) => Err(Error::Timeout { kind: TimeoutKind::Connect, timeout }),
                Ok(Err(err)) => Err(transport(format!("could not connect to {address}: {err}"))),
                // Still non-blocking, as tokio set it.
                Ok(Ok(stream)) => {
                    stream.into_std().map_err(|err| transport(format!("connected to {address}, then: {err}")))
                }
            }
        })
        .map_err(|err| transport(err.to_string()))?;
        let socket = connecting.await.map_err(|err| transport(format!("the connect task failed: {err}")))??;
        let _ = socket.set_nodelay(true);
        // The handshake goes with the first request's bytes.
        let tls = match &self.origin.tls {
            Some((config, name)) => Some(Box::new(
                rustls::ClientConnection::new(Arc::clone(config), name.clone())
                    .map_err(|err| transport(format!("TLS: {err}")))?,
            )),
            None => None,
        };
        Ok(Connection::new(socket, tls, Arc::clone(home)))
    }

    /// One GET on `home`'s loop: on a pooled connection when there is one
    /// (again on a new one if the server had closed it unseen), within
    /// `get.timeout`.
    async fn send(&self, home: Arc<Home>, get: Get<'_>) -> Result<HttpAnswer, Error> {
        let timer = LoopTimer::start(&home, get.timeout)?;
        let tail = &self.origin.request_tail;
        let mut request = String::with_capacity(4 + get.path_and_query.len() + tail.len());
        request.push_str("GET ");
        request.push_str(get.path_and_query);
        request.push_str(tail);
        let exchange = async {
            loop {
                let (mut connection, reused) = match self.checkout(&home) {
                    Some(connection) => (connection, true),
                    None => (self.connect(&home).await?, false),
                };
                match connection.exchange(request.as_bytes(), get.max_body).await {
                    Ok((answer, keep_alive)) => {
                        if keep_alive {
                            self.checkin(connection);
                        }
                        return Ok(answer);
                    }
                    // Closed by the server while idle, before we saw it: a fresh one.
                    Err(Failure::ClosedBeforeAnswer) if reused => continue,
                    Err(failure) => return Err(failure.into_error(get.max_body)),
                }
            }
        };
        let mut exchange = std::pin::pin!(exchange);
        let mut timer = std::pin::pin!(timer);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(outcome) = exchange.as_mut().poll(cx) {
                return Poll::Ready(outcome);
            }
            timer.as_mut().poll(cx).map(|()| Err(Error::Timeout { kind: TimeoutKind::Request, timeout: get.timeout }))
        })
        .await
    }
}

impl Sender for LoopHttp {
    fn get<'a>(&'a self, get: Get<'a>) -> Option<Sending<'a>> {
        // Only a task of a loop, polled on its thread, does its I/O there.
        let home = bridge::running_home()?;
        Some(Box::pin(self.send(home, get)))
    }

    fn timer(&self, after: Duration) -> Option<Timer> {
        let timer = LoopTimer::start(&bridge::running_home()?, after).ok()?;
        Some(Box::pin(timer))
    }

    /// A large answer is decoded with the GIL released, so other Python
    /// threads run meanwhile; a small one is decoded holding it (letting
    /// it go and taking it back would cost more than the decoding, and
    /// taking it back can wait for another thread's switch interval).
    fn run_decode(&self, body_bytes: usize, decode: &mut (dyn FnMut() + Send)) {
        if body_bytes >= DECODE_WITHOUT_GIL_BYTES && bridge::running_home().is_some() {
            Python::attach(|py| py.detach(decode));
        } else {
            decode();
        }
    }
}

fn transport(message: String) -> Error {
    Error::Transport { message, source: None }
}

/// How an exchange failed.
enum Failure {
    /// The connection ended before any byte of an answer.
    ClosedBeforeAnswer,
    Io(std::io::Error),
    /// An answer that is not HTTP/1.1 as we read it.
    Malformed(String),
    TooBig(usize),
}

impl Failure {
    fn into_error(self, max_body: usize) -> Error {
        match self {
            Failure::ClosedBeforeAnswer => transport("the server closed the connection before answering".to_owned()),
            Failure::Io(err) => transport(format!("connection failed: {err}")),
            Failure::Malformed(what) => transport(format!("the server's answer is not valid HTTP/1.1: {what}")),
            Failure::TooBig(seen) => body_too_big(max_body, seen),
        }
    }
}

/// What the loop's callbacks tell a connection's reader.
#[derive(Default)]
struct Readiness {
    /// The task waiting to read or write, woken by the callback.
    waker: Mutex<Option<Waker>>,
    /// Readable with nobody waiting: the server closed an idle connection
    /// (or sent what nobody asked for); it is not used again.
    hung_up: AtomicBool,
    /// Whether the loop has our reader for the socket (added on the first
    /// wait, taken off when it fires with nobody waiting).
    watched: AtomicBool,
    /// The task waiting for the socket to take more bytes, and whether the
    /// loop has our (one-shot) writer for it.
    write_waker: Mutex<Option<Waker>>,
    writing: AtomicBool,
}

/// A socket the loop watches, kept alive between requests.
struct Connection {
    socket: Option<TcpStream>,
    /// For `https`: the TLS session over the socket.
    tls: Option<Box<rustls::ClientConnection>>,
    fd: RawFd,
    readiness: Arc<Readiness>,
    home: Arc<Home>,
}

impl Connection {
    fn new(socket: TcpStream, tls: Option<Box<rustls::ClientConnection>>, home: Arc<Home>) -> Self {
        let fd = socket.as_raw_fd();
        Connection { socket: Some(socket), tls, fd, readiness: Arc::default(), home }
    }

    fn socket(&self) -> &TcpStream {
        self.socket.as_ref().expect("the socket lives as long as the connection")
    }

    /// Writes `request`, then reads one answer: the answer, and whether the
    /// connection can carry another.
    async fn exchange(&mut self, request: &[u8], max_body: usize) -> Result<(HttpAnswer, bool), Failure> {
        match &mut self.tls {
            Some(tls) => {
                // Into the session's buffer (sent once the handshake is done), then out.
                tls.writer().write_all(request).map_err(Failure::Io)?;
                std::future::poll_fn(|cx| self.poll_flush_tls(cx)).await.map_err(Failure::Io)?;
            }
            None => {
                let mut written = 0;
                while written < request.len() {
                    let wrote = std::future::poll_fn(|cx| self.poll_write(cx, &request[written..])).await;
                    written += wrote.map_err(Failure::Io)?;
                }
            }
        }
        let mut reader = AnswerReader::default();
        loop {
            if let Some(done) = reader.parse(max_body)? {
                return Ok(done);
            }
            let read = std::future::poll_fn(|cx| self.poll_read(cx, &mut reader.bytes)).await;
            match read {
                Ok(0) if reader.bytes.is_empty() => return Err(Failure::ClosedBeforeAnswer),
                Ok(0) => return reader.at_eof(max_body),
                Ok(_) => {}
                Err(err) if reader.bytes.is_empty() && is_reset(&err) => return Err(Failure::ClosedBeforeAnswer),
                Err(err) => return Err(Failure::Io(err)),
            }
        }
    }

    /// Reads what is there into `into`: `Ok(0)` at the end of the stream.
    fn poll_read(&mut self, cx: &mut Context<'_>, into: &mut Vec<u8>) -> Poll<std::io::Result<usize>> {
        if self.tls.is_some() {
            return self.poll_read_tls(cx, into);
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.socket().read(&mut chunk) {
                Ok(n) => {
                    into.extend_from_slice(&chunk[..n]);
                    return Poll::Ready(Ok(n));
                }
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) if err.kind() == ErrorKind::WouldBlock => return self.wait_readable(cx),
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }

    /// [`Connection::poll_read`] through the TLS session: records are read
    /// and decrypted until plaintext comes (or the stream ends); what the
    /// session must send meanwhile (the handshake) is sent first.
    fn poll_read_tls(&mut self, cx: &mut Context<'_>, into: &mut Vec<u8>) -> Poll<std::io::Result<usize>> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Poll::Ready(Err(err)) = self.poll_flush_tls(cx) {
                return Poll::Ready(Err(err));
            }
            let (Some(tls), Some(socket)) = (self.tls.as_mut(), self.socket.as_ref()) else {
                return Poll::Ready(Err(ErrorKind::NotConnected.into()));
            };
            match tls.reader().read(&mut chunk) {
                // `Ok(0)`: the server ended the session (close_notify).
                Ok(n) => {
                    into.extend_from_slice(&chunk[..n]);
                    return Poll::Ready(Ok(n));
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => {}
                // Closed without close_notify: a body that runs until the end could be cut
                // short, so it is an error (as in reqwest); an answer already whole was
                // returned before this read.
                Err(err) if err.kind() == ErrorKind::UnexpectedEof => return Poll::Ready(Err(err)),
                Err(err) => return Poll::Ready(Err(err)),
            }
            let mut socket: &TcpStream = socket;
            match tls.read_tls(&mut socket) {
                Ok(0) => {
                    // The socket ended: what the last records held, if anything, then the end.
                    tls.process_new_packets().map_err(std::io::Error::other)?;
                    return match tls.reader().read(&mut chunk) {
                        Ok(n) => {
                            into.extend_from_slice(&chunk[..n]);
                            Poll::Ready(Ok(n))
                        }
                        Err(err) if err.kind() == ErrorKind::WouldBlock => {
                            Poll::Ready(Err(ErrorKind::UnexpectedEof.into()))
                        }
                        Err(err) => Poll::Ready(Err(err)),
                    };
                }
                Ok(_) => {
                    tls.process_new_packets().map_err(std::io::Error::other)?;
                }
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) if err.kind() == ErrorKind::WouldBlock => return self.wait_readable(cx),
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }

    /// Sends what the TLS session has to send (records of the request, the
    /// handshake); pending while the socket cannot take them.
    fn poll_flush_tls(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let (Some(tls), Some(socket)) = (self.tls.as_mut(), self.socket.as_ref()) else { return Poll::Ready(Ok(())) };
        let mut socket: &TcpStream = socket;
        while tls.wants_write() {
            match tls.write_tls(&mut socket) {
                Ok(_) => {}
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) if err.kind() == ErrorKind::WouldBlock => return self.wait_writable(cx),
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Pending until the loop reports the socket readable.
    fn wait_readable<T>(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<T>> {
        *self.readiness.waker.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        match self.watch() {
            Ok(()) => Poll::Pending,
            Err(err) => Poll::Ready(Err(std::io::Error::other(err.to_string()))),
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<std::io::Result<usize>> {
        loop {
            match self.socket().write(bytes) {
                Ok(0) => return Poll::Ready(Err(ErrorKind::WriteZero.into())),
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) if err.kind() == ErrorKind::WouldBlock => return self.wait_writable(cx),
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }

    /// Pending until the loop reports the socket writable (rare: a request
    /// is small), through a one-shot writer.
    fn wait_writable<T>(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<T>> {
        *self.readiness.write_waker.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        if self.readiness.writing.load(Ordering::Acquire) {
            return Poll::Pending;
        }
        let added = Python::attach(|py| -> PyResult<()> {
            let event_loop = self.home.event_loop(py)?;
            let writable =
                Writable { readiness: Arc::clone(&self.readiness), fd: self.fd, home: Arc::clone(&self.home) };
            event_loop.call_method1(intern!(py, "add_writer"), (self.fd, writable))?;
            Ok(())
        });
        match added {
            Ok(()) => {
                self.readiness.writing.store(true, Ordering::Release);
                Poll::Pending
            }
            Err(err) => Poll::Ready(Err(std::io::Error::other(err.to_string()))),
        }
    }

    /// Adds our reader for the socket to the loop, unless it is there: it
    /// stays between requests (so a request costs no `add_reader`).
    fn watch(&mut self) -> PyResult<()> {
        if self.readiness.watched.load(Ordering::Acquire) {
            return Ok(());
        }
        Python::attach(|py| -> PyResult<()> {
            let readable =
                Readable { readiness: Arc::clone(&self.readiness), home: Arc::clone(&self.home), fd: self.fd };
            self.home.event_loop(py)?.call_method1(intern!(py, "add_reader"), (self.fd, readable))?;
            Ok(())
        })?;
        self.readiness.watched.store(true, Ordering::Release);
        Ok(())
    }
}

impl Drop for Connection {
    /// Takes our reader (and writer) off the loop before the socket closes
    /// (a closed fd's number is soon another socket's), on the loop's thread.
    fn drop(&mut self) {
        let reader = self.readiness.watched.load(Ordering::Acquire);
        let writer = self.readiness.writing.load(Ordering::Acquire);
        if !reader && !writer {
            return;
        }
        let socket = self.socket.take();
        let fd = self.fd;
        // A loop that is gone has no selector left: the socket just closes.
        self.home.on_loop_thread(Box::new(move |py, event_loop| {
            if reader {
                let _ = event_loop.call_method1(intern!(py, "remove_reader"), (fd,));
            }
            if writer {
                let _ = event_loop.call_method1(intern!(py, "remove_writer"), (fd,));
            }
            drop(socket);
        }));
    }
}

/// The connection ended under the request: reset, or (TLS) closed without close_notify.
fn is_reset(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof
    )
}

/// The loop's reader for a connection: wakes the task waiting on it, or,
/// with none waiting, marks the connection closed by the server and stops
/// watching it (the loop's `select` would report it again and again; a
/// task that reads it later adds the reader back).
#[pyclass(module = "pubnub_presence")]
struct Readable {
    readiness: Arc<Readiness>,
    home: Arc<Home>,
    fd: RawFd,
}

#[pymethods]
impl Readable {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let waiting = self.readiness.waker.lock().unwrap_or_else(|p| p.into_inner()).take();
        match waiting {
            Some(waker) => bridge::turn(&self.home, || waker.wake()),
            None => {
                self.home.event_loop(py)?.call_method1(intern!(py, "remove_reader"), (self.fd,))?;
                self.readiness.watched.store(false, Ordering::Release);
                self.readiness.hung_up.store(true, Ordering::Release);
            }
        }
        Ok(())
    }
}

/// A one-shot writer: the socket can take more of a request.
#[pyclass(module = "pubnub_presence")]
struct Writable {
    readiness: Arc<Readiness>,
    fd: RawFd,
    home: Arc<Home>,
}

#[pymethods]
impl Writable {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        self.home.event_loop(py)?.call_method1(intern!(py, "remove_writer"), (self.fd,))?;
        self.readiness.writing.store(false, Ordering::Release);
        if let Some(waker) = self.readiness.write_waker.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bridge::turn(&self.home, || waker.wake());
        }
        Ok(())
    }
}

/// An answer being read: its bytes so far, and its head once parsed.
#[derive(Default)]
struct AnswerReader {
    bytes: Vec<u8>,
    head: Option<Head>,
}

struct Head {
    /// Where the body starts in `bytes`.
    body_at: usize,
    status: u16,
    framing: Framing,
    keep_alive: bool,
    retry_after: Option<String>,
    location: Option<String>,
}

enum Framing {
    Length(usize),
    Chunked(Chunks),
    /// No length: the body ends when the server closes the connection.
    UntilClose,
}

/// How far a chunked body has been decoded (so each read decodes only what is new).
#[derive(Default)]
struct Chunks {
    /// Bytes of the body (after the head) decoded so far.
    at: usize,
    body: Vec<u8>,
    /// The last chunk is in; its trailers are being read.
    in_trailers: bool,
}

impl AnswerReader {
    /// The answer, once all of it is in, and whether the connection can
    /// carry another; `None` while more is needed.
    fn parse(&mut self, max_body: usize) -> Result<Option<(HttpAnswer, bool)>, Failure> {
        while self.head.is_none() {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut headers);
            let body_at = match response.parse(&self.bytes) {
                Ok(httparse::Status::Complete(at)) => at,
                Ok(httparse::Status::Partial) if self.bytes.len() > MAX_HEAD_BYTES => {
                    return Err(Failure::Malformed(format!("a head over {MAX_HEAD_BYTES} bytes")));
                }
                Ok(httparse::Status::Partial) => return Ok(None),
                Err(err) => return Err(Failure::Malformed(err.to_string())),
            };
            if response.code.is_some_and(|status| (100..200).contains(&status)) {
                // An interim answer (`100 Continue`): the real one follows.
                self.bytes.drain(..body_at);
                continue;
            }
            self.head = Some(Head::new(&response, body_at, max_body)?);
        }
        let Some(head) = &mut self.head else { return Ok(None) };
        let body = &self.bytes[head.body_at..];
        let (body, used) = match &mut head.framing {
            Framing::Length(length) if body.len() >= *length => (body[..*length].to_vec(), *length),
            Framing::Length(_) => return Ok(None),
            Framing::UntilClose if body.len() > max_body => return Err(Failure::TooBig(body.len())),
            Framing::UntilClose => return Ok(None),
            Framing::Chunked(chunks) => {
                if !dechunk(body, chunks, max_body)? {
                    return Ok(None);
                }
                (std::mem::take(&mut chunks.body), chunks.at)
            }
        };
        // Bytes past the answer were not asked for: the connection is not reused.
        let leftover = self.bytes.len() - head.body_at > used;
        let (answer, keep_alive) = self.answer(body);
        Ok(Some((answer, keep_alive && !leftover)))
    }

    /// The connection ended: complete only for a body that runs until then.
    fn at_eof(&mut self, max_body: usize) -> Result<(HttpAnswer, bool), Failure> {
        match &self.head {
            Some(head) if matches!(head.framing, Framing::UntilClose) => {
                let body = self.bytes[head.body_at..].to_vec();
                if body.len() > max_body {
                    return Err(Failure::TooBig(body.len()));
                }
                let (answer, _) = self.answer(body);
                Ok((answer, false))
            }
            _ => Err(Failure::Io(std::io::Error::new(ErrorKind::UnexpectedEof, "the answer was cut short"))),
        }
    }

    fn answer(&mut self, body: Vec<u8>) -> (HttpAnswer, bool) {
        let head = self.head.take().expect("parsed");
        let keep_alive = head.keep_alive && !matches!(head.framing, Framing::UntilClose);
        let answer = HttpAnswer { status: head.status, retry_after: head.retry_after, location: head.location, body };
        (answer, keep_alive)
    }
}

impl Head {
    fn new(response: &httparse::Response<'_, '_>, body_at: usize, max_body: usize) -> Result<Head, Failure> {
        let status = response.code.unwrap_or_default();
        let mut head = Head {
            body_at,
            status,
            framing: Framing::UntilClose,
            // HTTP/1.1 keeps the connection unless told otherwise; 1.0 closes it.
            keep_alive: response.version == Some(1),
            retry_after: None,
            location: None,
        };
        let mut length = None;
        for header in response.headers.iter() {
            let value = std::str::from_utf8(header.value).map(str::trim);
            let name = header.name;
            if name.eq_ignore_ascii_case("content-length") {
                let parsed = value.ok().and_then(|v| v.parse::<usize>().ok());
                length = Some(parsed.ok_or_else(|| Failure::Malformed("a bad Content-Length".to_owned()))?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                if value.is_ok_and(|v| v.to_ascii_lowercase().ends_with("chunked")) {
                    head.framing = Framing::Chunked(Chunks::default());
                }
            } else if name.eq_ignore_ascii_case("connection") {
                if let Ok(value) = value {
                    let value = value.to_ascii_lowercase();
                    if value.contains("close") {
                        head.keep_alive = false;
                    } else if value.contains("keep-alive") {
                        head.keep_alive = true;
                    }
                }
            } else if name.eq_ignore_ascii_case("retry-after") {
                head.retry_after = value.ok().map(str::to_owned);
            } else if name.eq_ignore_ascii_case("location") {
                head.location = value.ok().map(str::to_owned);
            }
        }
        // No body: 204, 304 (a GET's 1xx were skipped).
        if status == 204 || status == 304 {
            head.framing = Framing::Length(0);
        } else if let (Some(length), false) = (length, matches!(head.framing, Framing::Chunked(_))) {
            if length > max_body {
                return Err(Failure::TooBig(length));
            }
            head.framing = Framing::Length(length);
        }
        Ok(head)
    }
}

/// Decodes the chunks of `all` (a chunked body so far) from where `chunks`
/// stopped: true once the last chunk and the trailers are in.
fn dechunk(all: &[u8], chunks: &mut Chunks, max_body: usize) -> Result<bool, Failure> {
    loop {
        let rest = &all[chunks.at..];
        if chunks.in_trailers {
            // Trailer lines, if any, then an empty line.
            let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else { return Ok(false) };
            chunks.at += end + 2;
            if end == 0 {
                return Ok(true);
            }
            continue;
        }
        let (at, size) = match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete(parsed)) => parsed,
            Ok(httparse::Status::Partial) => return Ok(false),
            Err(_) => return Err(Failure::Malformed("a bad chunk size".to_owned())),
        };
        if size == 0 {
            chunks.at += at;
            chunks.in_trailers = true;
            continue;
        }
        let size = usize::try_from(size).map_err(|_| Failure::TooBig(usize::MAX))?;
        if chunks.body.len().saturating_add(size) > max_body {
            return Err(Failure::TooBig(chunks.body.len().saturating_add(size)));
        }
        // The whole chunk and its line end, or wait (its size line is read again then).
        let Some(chunk) = rest.get(at..at + size + 2) else { return Ok(false) };
        if !chunk.ends_with(b"\r\n") {
            return Err(Failure::Malformed("a chunk without its line end".to_owned()));
        }
        chunks.body.extend_from_slice(&chunk[..size]);
        chunks.at += at + size + 2;
    }
}

/// A timer of the loop (`loop.call_later`), cancelled when dropped.
struct LoopTimer {
    fired: Arc<Fired>,
    /// The `TimerHandle` (taken when cancelled).
    handle: Option<Py<PyAny>>,
    home: Arc<Home>,
}

#[derive(Default)]
struct Fired {
    done: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl LoopTimer {
    fn start(home: &Arc<Home>, after: Duration) -> Result<LoopTimer, Error> {
        let fired = Arc::new(Fired::default());
        let fire = Fire { fired: Arc::clone(&fired), home: Arc::clone(home) };
        Python::attach(|py| {
            let event_loop = home.event_loop(py)?;
            let handle = event_loop.call_method1(intern!(py, "call_later"), (after.as_secs_f64(), fire))?;
            Ok(LoopTimer { fired, handle: Some(handle.unbind()), home: Arc::clone(home) })
        })
        .map_err(|err: PyErr| transport(format!("could not set the request's timer on the event loop: {err}")))
    }
}

impl Future for LoopTimer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired.done.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        *self.fired.waker.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for LoopTimer {
    /// Cancels the timer on the loop's thread (asyncio's handles are not
    /// for other threads).
    fn drop(&mut self) {
        let Some(handle) = self.handle.take() else { return };
        if self.fired.done.load(Ordering::Acquire) {
            return;
        }
        self.home.on_loop_thread(Box::new(move |py, _| {
            let _ = handle.bind(py).call_method0(intern!(py, "cancel"));
        }));
    }
}

#[pyclass(module = "pubnub_presence")]
struct Fire {
    fired: Arc<Fired>,
    home: Arc<Home>,
}

#[pymethods]
impl Fire {
    fn __call__(&self) {
        self.fired.done.store(true, Ordering::Release);
        if let Some(waker) = self.fired.waker.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bridge::turn(&self.home, || waker.wake());
        }
    }
}
