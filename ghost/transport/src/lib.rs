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
use std::sync::atomic::{AtomicU64, Ordering};
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
    pub fn counters(&self) -> [(&'static str, u64); 6] {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        [
            ("requests", get(&self.requests)),
            ("connections", get(&self.connections)),
            ("connectFailures", get(&self.connect_failures)),
            ("tlsFailures", get(&self.tls_failures)),
            ("timeouts", get(&self.timeouts)),
            ("protocolFailures", get(&self.protocol_failures)),
        ]
    }
}

enum Kind {
    Https {
        connector: TlsConnector,
        server_name: ServerName<'static>,
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
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let protocol = match self.kind {
            Kind::Https { .. } => "HTTPS",
            Kind::H2c { .. } => "H2C",
        };
        write!(f, "Endpoint({protocol} {})", self.addr)
    }
}

/// A request on its way: send the body through the writer (if any), then [`Pending::wait`] for the answer.
#[derive(Debug)]
pub struct Pending {
    task: tokio::task::JoinHandle<Result<Response<Incoming>, Error>>,
}

impl Endpoint {
    /// An endpoint for `addr` speaking `transport`.
    ///
    /// # Errors
    ///
    /// When the TLS settings cannot be used (bad CA bundle, hostname or client certificate).
    pub fn new(addr: SocketAddr, transport: &Transport) -> Result<Self, String> {
        let kind = match (transport.protocol, &transport.tls) {
            (TransportProtocol::Https, Some(settings)) => Kind::Https {
                connector: TlsConnector::from(tls::client_config(settings)?),
                server_name: tls::server_name(settings)?,
                idle: Mutex::new(Vec::new()),
            },
            (TransportProtocol::Https, None) => return Err("HTTPS needs TLS settings".to_owned()),
            (TransportProtocol::H2c, _) => Kind::H2c { conn: tokio::sync::Mutex::new(None) },
        };
        Ok(Self { addr, kind })
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
        Pending { task }
    }

    async fn send(
        self: Arc<Self>,
        mut request: Request<RequestBody>,
        timeouts: Timeouts,
    ) -> Result<Response<Incoming>, Error> {
        strip_hop_by_hop(request.headers_mut());
        let result = match &self.kind {
            Kind::Https { .. } => {
                let mut sender = self.http1_sender(timeouts.connect).await?;
                let sent = timeout(timeouts.first_byte, sender.send_request(request)).await;
                let response = self.answer(sent, timeouts)?;
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
            if let Some(sender) = sender {
                self.keep(sender);
            }
            Response::from_parts(parts, body)
        })
    }

    fn answer(
        &self,
        sent: Result<Result<Response<Incoming>, hyper::Error>, tokio::time::error::Elapsed>,
        timeouts: Timeouts,
    ) -> Result<Response<Incoming>, Error> {
        match sent {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(Error::new(ErrorKind::Protocol, format!("{}: {e}", self.addr))),
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
            Kind::Https { idle, .. } => idle.lock().map_or(0, |idle| idle.len()),
            Kind::H2c { .. } => 0,
        }
    }

    /// Keeps `sender` for reuse once its current response is complete.
    fn keep(self: &Arc<Self>, mut sender: http1::SendRequest<RequestBody>) {
        let endpoint = self.clone();
        tokio::spawn(async move {
            if sender.ready().await.is_ok() {
                if let Kind::Https { idle, .. } = &endpoint.kind {
                    let mut idle = idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if idle.len() < MAX_IDLE {
                        idle.push(sender);
                    }
                }
            }
        });
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

    async fn http1_sender(&self, limit: Duration) -> Result<http1::SendRequest<RequestBody>, Error> {
        let Kind::Https { connector, server_name, idle } = &self.kind else { unreachable!("HTTPS endpoints only") };
        loop {
            let sender = idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
            match sender {
                Some(s) if s.is_ready() && !s.is_closed() => return Ok(s),
                Some(_) => {}
                None => break,
            }
        }
        let tcp = self.connect(limit).await?;
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
        Ok(sender)
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
        *current = Some(sender.clone());
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
            Ok(response) => {
                let (parts, body) = response.into_parts();
                Ok(Answer {
                    parts,
                    body: ResponseBody { body, chunk: Bytes::new(), between_bytes: timeouts.between_bytes },
                })
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

/// A response body, read from a thread outside the runtime.
#[derive(Debug)]
pub struct ResponseBody {
    body: Incoming,
    chunk: Bytes,
    between_bytes: Duration,
}

impl ResponseBody {
    /// Fills `buf` with the next bytes; 0 at the end.
    ///
    /// # Errors
    ///
    /// When the backend stops sending for longer than the between-bytes timeout or the connection fails.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        while self.chunk.is_empty() {
            let next = runtime().block_on(async { timeout(self.between_bytes, self.body.frame()).await });
            match next {
                Ok(None) => return Ok(0),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.chunk = data;
                    }
                }
                Ok(Some(Err(e))) => {
                    let e = Error::new(ErrorKind::Protocol, format!("response body: {e}"));
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
