//! ghost's own HTTP client for backends that Varnish's native backends cannot reach: HTTP/1.1 over TLS (rustls)
//! and cleartext HTTP/2 (H2C), on a tokio runtime owned by the VMOD. No Varnish types and no `unsafe` here: the
//! VMOD's backend glue converts `bereq`/`beresp` and calls [`Endpoint::start`] from a Varnish worker thread.
//!
//! One [`Endpoint`] per address and transport pools its connections: idle HTTP/1.1 connections are reused (up to
//! [`MAX_IDLE`]), an H2C endpoint multiplexes every request over one connection and opens a new one when it closes.
//! The worker thread only waits: connecting, TLS and the protocol run on the runtime's threads, whose stacks are
//! large (Varnish worker stacks are not).

mod body;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod tls;

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use ghost_core::contract::{Transport, TransportProtocol};
use http::{header, HeaderMap, HeaderValue, Request, Response, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::runtime::{Handle, Runtime};
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

pub use body::{BodyWriter, RequestBody};

/// Idle HTTP/1.1 connections kept per endpoint.
pub const MAX_IDLE: usize = 64;

/// The runtime every endpoint runs on: two worker threads, started at first use (in the varnishd child, after its
/// fork).
///
/// # Panics
///
/// When the operating system refuses the runtime's threads or its I/O driver.
pub fn runtime() -> &'static Handle {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("ghost-transport")
                .enable_all()
                .build()
                .expect("cannot start the ghost transport runtime")
        })
        .handle()
}

/// The timeouts of one request, from the fetch (`bereq.*_timeout`, a rule's timeouts).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// For the TCP connection and the TLS handshake of a new connection.
    pub connect: Duration,
    /// From the request sent to the response headers.
    pub first_byte: Duration,
    /// Between two chunks of the response body.
    pub between_bytes: Duration,
}

/// What went wrong, for the counter it bumps and the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// TCP connect failed or timed out.
    Connect,
    /// The TLS handshake failed: certificate not trusted or not valid for the name, no common protocol.
    Tls,
    /// No response headers within the first-byte timeout, or no body chunk within the between-bytes timeout.
    Timeout,
    /// The connection failed or the backend broke the protocol.
    Protocol,
}

/// A failed request; the backend fetch fails with it (503, or a retry).
#[derive(Debug, Clone)]
pub struct Error {
    /// The class of failure.
    pub kind: ErrorKind,
    message: String,
}

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Process-wide transport counters, for the stats endpoint.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests sent.
    pub requests: AtomicU64,
    /// New connections made (TCP, and TLS where configured).
    pub connections: AtomicU64,
    /// Requests that failed to connect.
    pub connect_failures: AtomicU64,
    /// TLS handshakes that failed (verification included).
    pub tls_failures: AtomicU64,
    /// Requests that timed out.
    pub timeouts: AtomicU64,
    /// Other failures (connection reset, protocol errors).
    pub protocol_failures: AtomicU64,
    /// Requests sent again on a new connection because the pooled one had been closed by the backend.
    pub resent: AtomicU64,
}

impl Stats {
    /// The counters, process-wide.
    pub fn global() -> &'static Stats {
        static STATS: OnceLock<Stats> = OnceLock::new();
        STATS.get_or_init(Stats::default)
    }

    fn count(&self, error: &Error) {
        let counter = match error.kind {
            ErrorKind::Connect => &self.connect_failures,
            ErrorKind::Tls => &self.tls_failures,
            ErrorKind::Timeout => &self.timeouts,
            ErrorKind::Protocol => &self.protocol_failures,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters by name, for the stats endpoint.
    pub fn counters(&self) -> [(&'static str, u64); 7] {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        [
            ("requests", get(&self.requests)),
            ("connections", get(&self.connections)),
            ("connectFailures", get(&self.connect_failures)),
            ("tlsFailures", get(&self.tls_failures)),
            ("timeouts", get(&self.timeouts)),
            ("protocolFailures", get(&self.protocol_failures)),
            ("resent", get(&self.resent)),
        ]
    }
}

/// The TLS side of an HTTPS endpoint.
struct Tls {
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

enum Kind {
    /// HTTP/1.1, over TLS or plain, with a pool of idle connections.
    Http1 {
        tls: Option<Tls>,
        idle: Mutex<Vec<http1::SendRequest<RequestBody>>>,
    },
    H2c {
        conn: tokio::sync::Mutex<Option<http2::SendRequest<RequestBody>>>,
    },
}

/// One backend endpoint reached through the transport, with its connection pool.
pub struct Endpoint {
    addr: SocketAddr,
    kind: Kind,
    /// Left ghost.json: connections are closed once their request is over instead of pooled.
    retired: AtomicBool,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let protocol = match self.kind {
            Kind::Http1 { tls: Some(_), .. } => "HTTPS",
            Kind::Http1 { tls: None, .. } => "HTTP",
            Kind::H2c { .. } => "H2C",
        };
        write!(f, "Endpoint({protocol} {})", self.addr)
    }
}

/// An answer's head and, over HTTP/1.1, its connection, to pool again once the body has been read.
type Sent = (Response<Incoming>, Option<http1::SendRequest<RequestBody>>);

/// A request on its way: send the body through the writer (if any), then [`Pending::wait`] for the answer.
#[derive(Debug)]
pub struct Pending {
    task: tokio::task::JoinHandle<Result<Sent, Error>>,
    endpoint: Arc<Endpoint>,
}

impl Endpoint {
    /// An endpoint for `addr` speaking `transport`.
    ///
    /// # Errors
    ///
    /// When the TLS settings cannot be used (bad CA bundle, hostname or client certificate).
    pub fn new(addr: SocketAddr, transport: &Transport) -> Result<Self, String> {
        let kind = match (transport.protocol, &transport.tls) {
            (TransportProtocol::Https, Some(settings)) => Kind::Http1 {
                tls: Some(Tls {
                    connector: TlsConnector::from(tls::client_config(settings)?),
                    server_name: tls::server_name(settings)?,
                }),
                idle: Mutex::new(Vec::new()),
            },
            (TransportProtocol::Https, None) => return Err("HTTPS needs TLS settings".to_owned()),
            (TransportProtocol::Http, _) => Kind::Http1 { tls: None, idle: Mutex::new(Vec::new()) },
            (TransportProtocol::H2c, _) => Kind::H2c { conn: tokio::sync::Mutex::new(None) },
        };
        Ok(Self { addr, kind, retired: AtomicBool::new(false) })
    }

    /// Closes the idle connections (and the H2C connection once its streams are over) and pools none from now on:
    /// the endpoint left ghost.json. Requests in flight finish on their connections.
    pub fn retire(&self) {
        self.retired.store(true, Ordering::Relaxed);
        match &self.kind {
            Kind::Http1 { idle, .. } => idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear(),
            // Dropping the last sender lets hyper close the connection once its streams have ended.
            Kind::H2c { conn } => drop(conn.blocking_lock().take()),
        }
    }

    /// Whether [`Endpoint::retire`] was the last call.
    pub fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Relaxed)
    }

    /// Pools connections again: the endpoint is back in ghost.json.
    pub fn resume(&self) {
        self.retired.store(false, Ordering::Relaxed);
    }

    /// The endpoint's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts `request` (`uri` in origin form, `Host` among the headers; hop-by-hop headers are dropped here) on the
    /// runtime. Call from outside the runtime.
    pub fn start(self: &Arc<Self>, request: Request<RequestBody>, timeouts: Timeouts) -> Pending {
        Stats::global().requests.fetch_add(1, Ordering::Relaxed);
        let endpoint = self.clone();
        let task = runtime().spawn(async move { endpoint.send(request, timeouts).await });
        Pending { task, endpoint: self.clone() }
    }

    async fn send(self: Arc<Self>, mut request: Request<RequestBody>, timeouts: Timeouts) -> Result<Sent, Error> {
        strip_hop_by_hop(request.headers_mut());
        let result = match &self.kind {
            Kind::Http1 { .. } => {
                let (response, sender) = self.send_http1(request, timeouts).await?;
                // The connection is free again once the body has been read; the reader returns it then.
                Ok(response.map(|body| (body, Some(sender))))
            }
            Kind::H2c { .. } => {
                let authority = request
                    .headers_mut()
                    .remove(header::HOST)
                    .and_then(|h| h.to_str().ok().map(str::to_owned))
                    .unwrap_or_else(|| self.addr.to_string());
                let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
                *request.uri_mut() = Uri::builder()
                    .scheme("http")
                    .authority(authority.as_str())
                    .path_and_query(path)
                    .build()
                    .map_err(|e| Error::new(ErrorKind::Protocol, format!("bad request target: {e}")))?;
                *request.version_mut() = http::Version::HTTP_2;
                let mut sender = self.h2_sender(timeouts.connect).await?;
                let sent = async {
                    sender.ready().await?;
                    sender.send_request(request).await
                };
                let sent = timeout(timeouts.first_byte, sent).await;
                Ok(self.answer(sent, timeouts)?.map(|body| (body, None)))
            }
        };
        result.map(|r: Response<(Incoming, Option<http1::SendRequest<RequestBody>>)>| {
            let (parts, (body, sender)) = r.into_parts();
            (Response::from_parts(parts, body), sender)
        })
    }

    /// Sends `request` on a pooled connection, or a new one. A pooled connection the backend closed while it was idle
    /// must not fail the request: when nothing of it was written, or when it is idempotent and bodiless (so that the
    /// backend cannot have acted on it twice in a way that matters), it is sent again once on a new connection.
    async fn send_http1(
        &self,
        mut request: Request<RequestBody>,
        timeouts: Timeouts,
    ) -> Result<(Response<Incoming>, http1::SendRequest<RequestBody>), Error> {
        let (mut sender, reused) = self.http1_sender(timeouts.connect, false).await?;
        let replay = (reused && replayable(&request)).then(|| head_copy(&request));
        let sent = match timeout(timeouts.first_byte, sender.try_send_request(request)).await {
            Ok(Err(mut failed)) if reused && stale_connection(failed.error()) => {
                match failed.take_message().or(replay) {
                    Some(again) => {
                        request = again;
                        Stats::global().resent.fetch_add(1, Ordering::Relaxed);
                    }
                    None => return Err(self.failure(&failed.into_error())),
                }
                sender = self.http1_sender(timeouts.connect, true).await?.0;
                timeout(timeouts.first_byte, sender.send_request(request)).await
            }
            sent => sent.map(|r| r.map_err(hyper::client::conn::TrySendError::into_error)),
        };
        Ok((self.answer(sent, timeouts)?, sender))
    }

    fn answer(
        &self,
        sent: Result<Result<Response<Incoming>, hyper::Error>, tokio::time::error::Elapsed>,
        timeouts: Timeouts,
    ) -> Result<Response<Incoming>, Error> {
        match sent {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(self.failure(&e)),
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("{}: no response within the first-byte timeout of {:?}", self.addr, timeouts.first_byte),
            )),
        }
    }

    /// How many idle HTTP/1.1 connections the pool holds.
    #[cfg(test)]
    fn idle_connections(&self) -> usize {
        match &self.kind {
            Kind::Http1 { idle, .. } => idle.lock().map_or(0, |idle| idle.len()),
            Kind::H2c { .. } => 0,
        }
    }

    /// How many of the idle HTTP/1.1 connections hyper has seen closed by the backend.
    #[cfg(test)]
    fn idle_closed(&self) -> usize {
        match &self.kind {
            Kind::Http1 { idle, .. } => idle.lock().map_or(0, |idle| idle.iter().filter(|s| s.is_closed()).count()),
            Kind::H2c { .. } => 0,
        }
    }

    fn failure(&self, error: &hyper::Error) -> Error {
        Error::new(ErrorKind::Protocol, format!("{}: {}", self.addr, with_causes(error)))
    }

    /// Pools `sender` again: its response has been read whole. Until hyper has seen the end of the exchange it is not
    /// ready yet; the next request waits for that.
    fn keep(&self, sender: http1::SendRequest<RequestBody>) {
        if let Kind::Http1 { idle, .. } = &self.kind {
            let mut idle = idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if idle.len() < MAX_IDLE && !sender.is_closed() && !self.retired.load(Ordering::Relaxed) {
                idle.push(sender);
            }
        }
    }

    async fn connect(&self, limit: Duration) -> Result<TcpStream, Error> {
        let stream = match timeout(limit, TcpStream::connect(self.addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(Error::new(ErrorKind::Connect, format!("connect to {}: {e}", self.addr))),
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Connect,
                    format!("connect to {}: timed out after {limit:?}", self.addr),
                ))
            }
        };
        let _ = stream.set_nodelay(true);
        Stats::global().connections.fetch_add(1, Ordering::Relaxed);
        Ok(stream)
    }

    /// An idle pooled connection (unless `fresh`), `true` with it, or a new one.
    async fn http1_sender(
        &self,
        limit: Duration,
        fresh: bool,
    ) -> Result<(http1::SendRequest<RequestBody>, bool), Error> {
        let Kind::Http1 { tls, idle } = &self.kind else { unreachable!("HTTP/1.1 endpoints only") };
        if !fresh {
            // The lock is taken and released for each pop: never held across the wait.
            let pop = || idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
            while let Some(mut sender) = pop() {
                if sender.is_ready() || matches!(timeout(limit, sender.ready()).await, Ok(Ok(()))) {
                    return Ok((sender, true));
                }
            }
        }
        let tcp = self.connect(limit).await?;
        let Some(Tls { connector, server_name }) = tls else {
            let (sender, conn) = http1::handshake(TokioIo::new(tcp))
                .await
                .map_err(|e| Error::new(ErrorKind::Protocol, format!("{}: {e}", self.addr)))?;
            tokio::spawn(conn);
            return Ok((sender, false));
        };
        let tls = match timeout(limit, connector.connect(server_name.clone(), tcp)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                return Err(Error::new(
                    ErrorKind::Tls,
                    format!("TLS handshake with {} ({}): {e}", self.addr, server_name.to_str()),
                ))
            }
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Tls,
                    format!("TLS handshake with {}: timed out after {limit:?}", self.addr),
                ))
            }
        };
        let (sender, conn) = http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| Error::new(ErrorKind::Protocol, format!("{}: {e}", self.addr)))?;
        tokio::spawn(conn);
        Ok((sender, false))
    }

    async fn h2_sender(&self, limit: Duration) -> Result<http2::SendRequest<RequestBody>, Error> {
        let Kind::H2c { conn } = &self.kind else { unreachable!("H2C endpoints only") };
        let mut current = conn.lock().await;
        if let Some(sender) = current.as_ref().filter(|s| !s.is_closed()) {
            return Ok(sender.clone());
        }
        let tcp = self.connect(limit).await?;
        let handshake = http2::handshake(TokioExecutor::new(), TokioIo::new(tcp));
        let (sender, connection) = match timeout(limit, handshake).await {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => {
                return Err(Error::new(ErrorKind::Protocol, format!("HTTP/2 handshake with {}: {e}", self.addr)))
            }
            Err(_) => {
                return Err(Error::new(ErrorKind::Connect, format!("HTTP/2 handshake with {}: timed out", self.addr)))
            }
        };
        tokio::spawn(connection);
        if !self.retired.load(Ordering::Relaxed) {
            *current = Some(sender.clone());
        }
        Ok(sender)
    }
}

impl Pending {
    /// Waits for the response headers.
    ///
    /// # Errors
    ///
    /// The request's failure, counted in [`Stats::global`].
    pub fn wait(self, timeouts: Timeouts) -> Result<Answer, Error> {
        let result = runtime()
            .block_on(self.task)
            .unwrap_or_else(|e| Err(Error::new(ErrorKind::Protocol, format!("the request task failed: {e}"))));
        match result {
            Ok((response, sender)) => {
                let (parts, body) = response.into_parts();
                let between_bytes = timeouts.between_bytes;
                let connection = sender.map(|s| (self.endpoint, s));
                Ok(Answer { parts, body: ResponseBody { body, chunk: Bytes::new(), between_bytes, connection } })
            }
            Err(e) => {
                Stats::global().count(&e);
                Err(e)
            }
        }
    }
}

/// A response: status, headers (hop-by-hop ones removed) and the body to read.
#[derive(Debug)]
pub struct Answer {
    /// Status, version and headers.
    pub parts: http::response::Parts,
    /// The body.
    pub body: ResponseBody,
}

impl Answer {
    /// The body length when the backend announced it (`Content-Length`, or none for a `HEAD` or 204).
    pub fn length(&self) -> Option<u64> {
        http_body::Body::size_hint(&self.body.body).exact()
    }

    /// The response headers to copy into `beresp`, without the hop-by-hop ones.
    pub fn headers(&mut self) -> &HeaderMap<HeaderValue> {
        strip_hop_by_hop(&mut self.parts.headers);
        &self.parts.headers
    }
}

/// A response body, read from a thread outside the runtime. An HTTP/1.1 connection goes back to its endpoint's pool
/// once the body has been read whole (or had none); a body left unread closes it.
pub struct ResponseBody {
    body: Incoming,
    chunk: Bytes,
    between_bytes: Duration,
    connection: Option<(Arc<Endpoint>, http1::SendRequest<RequestBody>)>,
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("body", &self.body)
            .field("chunk", &self.chunk.len())
            .finish_non_exhaustive()
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        if http_body::Body::is_end_stream(&self.body) {
            self.release();
        }
    }
}

impl ResponseBody {
    /// Fills `buf` with the next bytes; 0 at the end.
    ///
    /// # Errors
    ///
    /// When the backend stops sending for longer than the between-bytes timeout or the connection fails.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        while self.chunk.is_empty() {
            if http_body::Body::is_end_stream(&self.body) {
                self.release();
                return Ok(0);
            }
            let next = runtime().block_on(async { timeout(self.between_bytes, self.body.frame()).await });
            match next {
                Ok(None) => {
                    self.release();
                    return Ok(0);
                }
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.chunk = data;
                    }
                }
                Ok(Some(Err(e))) => {
                    let e = Error::new(ErrorKind::Protocol, format!("response body: {}", with_causes(&e)));
                    Stats::global().count(&e);
                    return Err(e);
                }
                Err(_) => {
                    let e =
                        Error::new(ErrorKind::Timeout, format!("response body: nothing for {:?}", self.between_bytes));
                    Stats::global().count(&e);
                    return Err(e);
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }

    /// Returns the connection to the pool: the body is over.
    fn release(&mut self) {
        if let Some((endpoint, sender)) = self.connection.take() {
            endpoint.keep(sender);
        }
    }
}

/// `error` and its causes, `: `-separated: hyper's own message alone ("error reading a body from connection") does not
/// say what failed underneath (a reset, an early end, a TLS alert).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text = format!("{text}: {e}");
        cause = e.source();
    }
    text
}

/// Whether `request` may be sent again after it was written to a connection that closed without an answer:
/// idempotent (RFC 9110) and without a body (a streamed body is gone once sent).
fn replayable(request: &Request<RequestBody>) -> bool {
    use http::Method;
    let idempotent = [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE, Method::PUT, Method::DELETE];
    http_body::Body::is_end_stream(request.body()) && idempotent.contains(request.method())
}

/// A bodiless copy of `request`, to send again.
fn head_copy(request: &Request<RequestBody>) -> Request<RequestBody> {
    let mut copy = Request::new(RequestBody::empty());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy
}

/// Whether a pooled connection failed the way one closed by the backend while idle does: closed, reset or ended
/// before any answer.
fn stale_connection(error: &hyper::Error) -> bool {
    use std::io::ErrorKind as Io;
    let io =
        std::error::Error::source(error).and_then(|s| s.downcast_ref::<std::io::Error>()).map(std::io::Error::kind);
    error.is_closed()
        || error.is_canceled()
        || error.is_incomplete_message()
        || matches!(io, Some(Io::ConnectionReset | Io::BrokenPipe | Io::ConnectionAborted))
}

/// Headers that describe one connection, not the message: never forwarded.
fn strip_hop_by_hop(headers: &mut HeaderMap<HeaderValue>) {
    for name in [header::CONNECTION, header::TRANSFER_ENCODING, header::UPGRADE, header::TE, header::PROXY_AUTHENTICATE]
    {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

#[cfg(test)]
mod tests;
