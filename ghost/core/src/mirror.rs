//! Request mirroring (Gateway API `RequestMirror`): which mirrors of a rule get a copy of a request, the copy as
//! HTTP/1.1 bytes, and a bounded queue that a few sender threads drain, so that a slow or dead mirror never delays,
//! fails or changes the request it copies.
//!
//! Bounds: the queue holds at most [`Limits::queue`] copies and at most [`Limits::senders`] are on the wire at once;
//! a copy that finds the queue full is dropped and counted, never waited for. A sender gives a mirror
//! [`Limits::connect_timeout`] to accept the connection and [`Limits::timeout`] for each write and for the status
//! line of its answer, which is all it reads. Waiting copies hold at most [`Limits::queue_bytes`] bytes in all.
//!
//! Bodies: a request whose `Content-Length` is at most [`MAX_BODY_BYTES`] has its body read into memory before it is
//! forwarded (as for a retry), and its copies carry that body; a request with a longer body, or one of unknown length
//! (`Transfer-Encoding`), is not mirrored and is counted, since its body streams to the backend and is never kept
//! whole.

use std::collections::VecDeque;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// One mirror of a rule, compiled: where copies go and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorTarget {
    /// `namespace/service:port`, for logs.
    pub name: String,
    /// Ready endpoints; a copy goes to one of them.
    pub endpoints: Vec<SocketAddr>,
    /// Why the mirror's backendRef cannot be used, when it cannot.
    pub error: Option<String>,
    /// Copies go to `numerator` of every `denominator` requests (drawn per request).
    pub numerator: u32,
    /// At least 1.
    pub denominator: u32,
}

/// What one request draws for one mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The request is outside the mirror's share.
    Skip,
    /// Drawn, but the mirror has no usable endpoint.
    Unavailable,
    /// Drawn: the copy goes to this endpoint.
    To(SocketAddr),
}

impl MirrorTarget {
    /// Draws for one request with the random number `random`: its low bits decide the share, its high 32 bits the
    /// endpoint.
    #[must_use]
    pub fn pick(&self, random: u64) -> Pick {
        if random % u64::from(self.denominator.max(1)) >= u64::from(self.numerator) {
            return Pick::Skip;
        }
        if self.error.is_some() || self.endpoints.is_empty() {
            return Pick::Unavailable;
        }
        let index = usize::try_from((random >> 32) % self.endpoints.len() as u64).unwrap_or(0);
        Pick::To(self.endpoints[index])
    }
}

/// Why a copy was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// The queue was full.
    QueueFull,
    /// The request has a body longer than [`MAX_BODY_BYTES`], of unknown length, or one that could not be read.
    Body,
    /// The mirror had no usable endpoint.
    Unavailable,
}

/// The longest request body that copies carry (64 KiB): a longer one is not read into memory for mirrors.
pub const MAX_BODY_BYTES: u64 = 65_536;

/// Headers a copy never carries: hop-by-hop ones, and the framing of the body, which the copy sets itself.
const LEFT_OUT: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "expect",
];

/// The body of a request, as far as its copies are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// None (no `Content-Length` other than 0, no `Transfer-Encoding`): the copy is the head alone.
    None,
    /// This many bytes (its `Content-Length`, at most [`MAX_BODY_BYTES`]): read the body into memory, then
    /// [`Head::finish`] the copy with it.
    Buffer(u64),
    /// Longer than [`MAX_BODY_BYTES`], of unknown length, or with a `Content-Length` that is not a number: no copy.
    Streamed,
}

/// The head of a request's copy, waiting for its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    bytes: Vec<u8>,
    body: Body,
}

/// The head of the copy of a request as HTTP/1.1 bytes: `method target` and the header lines as forwarded
/// (hop-by-hop ones and the body's framing left out), and what the request's body needs. `None` for a request line
/// that could not be written safely (Varnish never hands one over).
#[must_use]
pub fn copy_head<'h>(method: &str, target: &str, headers: impl IntoIterator<Item = &'h [u8]>) -> Option<Head> {
    let unsafe_text = |t: &[u8]| t.is_empty() || t.iter().any(|&b| b <= b' ' || b == 0x7f);
    if unsafe_text(method.as_bytes()) || unsafe_text(target.as_bytes()) {
        return None;
    }
    let mut bytes = Vec::with_capacity(512);
    for part in [method.as_bytes(), b" ", target.as_bytes(), b" HTTP/1.1\r\n"] {
        bytes.extend_from_slice(part);
    }
    let mut body = Body::None;
    for line in headers {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let name = &line[..colon];
        let value = line[colon + 1..].trim_ascii();
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            body = Body::Streamed;
        } else if name.eq_ignore_ascii_case(b"content-length") && body == Body::None {
            body = match std::str::from_utf8(value).ok().and_then(|v| v.parse::<u64>().ok()) {
                Some(0) => Body::None,
                Some(n) if n <= MAX_BODY_BYTES => Body::Buffer(n),
                _ => Body::Streamed,
            };
        }
        if LEFT_OUT.iter().any(|h| name.eq_ignore_ascii_case(h.as_bytes())) || line.contains(&b'\n') {
            continue;
        }
        bytes.extend_from_slice(line);
        bytes.extend_from_slice(b"\r\n");
    }
    Some(Head { bytes, body })
}

impl Head {
    /// What the request's body needs before the copy can be finished.
    #[must_use]
    pub fn body(&self) -> Body {
        self.body
    }

    /// The whole copy: the head, `Content-Length` when there is a body, `Connection: close` and `body` (the request's
    /// body as read: empty for [`Body::None`]).
    ///
    /// # Errors
    ///
    /// [`Dropped::Body`] for a [`Body::Streamed`] request, or a body whose length is not the announced one (it could
    /// not be read whole).
    pub fn finish(self, body: &[u8]) -> Result<Arc<[u8]>, Dropped> {
        let Self { mut bytes, body: need } = self;
        match need {
            Body::None if body.is_empty() => {}
            Body::Buffer(n) if body.len() as u64 == n => {
                bytes.extend_from_slice(b"Content-Length: ");
                bytes.extend_from_slice(n.to_string().as_bytes());
                bytes.extend_from_slice(b"\r\n");
            }
            _ => return Err(Dropped::Body),
        }
        bytes.extend_from_slice(b"Connection: close\r\n\r\n");
        bytes.extend_from_slice(body);
        Ok(bytes.into())
    }
}

/// A copy on its way to a mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorCopy {
    /// The mirror endpoint.
    pub to: SocketAddr,
    /// The request with its body, from [`Head::finish`] (shared by the copies of one request).
    pub bytes: Arc<[u8]>,
}

/// How much mirrored traffic a process may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Copies waiting for a sender.
    pub queue: usize,
    /// Bytes (heads and bodies) of the copies waiting for a sender.
    pub queue_bytes: usize,
    /// Sender threads: copies on the wire at once.
    pub senders: usize,
    /// For a mirror to accept the connection.
    pub connect_timeout: Duration,
    /// For each write and for the status line of the answer.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            queue: 1024,
            queue_bytes: 16 << 20,
            senders: 8,
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
        }
    }
}

/// Sends one copy; true when the mirror answered with a status line.
pub trait Deliver: Sync + Send + 'static {
    /// Sends `copy` and waits for the status line of the answer, within `limits`' timeouts.
    fn deliver(&self, copy: &MirrorCopy, limits: &Limits) -> bool;
}

/// The real sender: one TCP connection per copy, closed after the status line of the answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Http;

impl Deliver for Http {
    fn deliver(&self, copy: &MirrorCopy, limits: &Limits) -> bool {
        let Ok(mut stream) = TcpStream::connect_timeout(&copy.to, limits.connect_timeout) else { return false };
        if stream.set_write_timeout(Some(limits.timeout)).is_err()
            || stream.set_read_timeout(Some(limits.timeout)).is_err()
            || stream.write_all(&copy.bytes).is_err()
        {
            return false;
        }
        let mut head = [0u8; 64];
        let mut read = 0;
        while read < 12 {
            match stream.read(&mut head[read..]) {
                Ok(0) | Err(_) => return false,
                Ok(n) => read += n,
            }
        }
        head.starts_with(b"HTTP/1.")
    }
}

/// The process's mirrored traffic, for `/.varnish-ghost/stats` (`mirrors`): counters since the start, one count per
/// copy (a request two mirrors draw counts twice), and the copies waiting now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MirrorStats {
    /// Copies the mirror took and answered with an HTTP/1.x status line.
    pub sent: u64,
    /// Copies the mirror did not take or answer: it refused the connection or did not accept it in time, a write
    /// failed, or no HTTP/1.x status line came back in time.
    pub failed: u64,
    /// Copies dropped because the queue was full, of copies ([`Limits::queue`]) or of bytes ([`Limits::queue_bytes`]).
    pub dropped_queue_full: u64,
    /// Copies not made because the request's body is longer than [`MAX_BODY_BYTES`], of unknown length, or could not
    /// be read (a request with a shorter body is mirrored with it).
    pub dropped_body: u64,
    /// Copies not made because the drawn mirror had no usable endpoint.
    pub dropped_unavailable: u64,
    /// Copies waiting in the queue now: a gauge, where the other fields only grow.
    pub queued: u64,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_body: AtomicU64,
    dropped_unavailable: AtomicU64,
}

/// The waiting copies and their bytes.
#[derive(Default)]
struct Waiting {
    copies: VecDeque<MirrorCopy>,
    bytes: usize,
}

struct Inner {
    queue: Mutex<Waiting>,
    ready: Condvar,
    limits: Limits,
    counters: Counters,
    deliver: Box<dyn Deliver>,
}

/// The bounded queue of copies and its sender threads.
#[derive(Clone)]
pub struct MirrorQueue {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MirrorQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MirrorQueue").field("limits", &self.inner.limits).finish_non_exhaustive()
    }
}

impl MirrorQueue {
    /// Starts `limits.senders` sender threads (at least one) that deliver copies with `deliver`; they live as long as
    /// the process.
    #[must_use]
    pub fn start(limits: Limits, deliver: impl Deliver) -> Self {
        let inner = Arc::new(Inner {
            queue: Mutex::new(Waiting { copies: VecDeque::with_capacity(limits.queue), bytes: 0 }),
            ready: Condvar::new(),
            limits,
            counters: Counters::default(),
            deliver: Box::new(deliver),
        });
        for i in 0..limits.senders.max(1) {
            let inner = inner.clone();
            // A thread that cannot start leaves the others; with none, copies queue up and are dropped when full.
            let _ = std::thread::Builder::new().name(format!("ghost-mirror-{i}")).spawn(move || send_loop(&inner));
        }
        Self { inner }
    }

    /// Queues `copy`, or drops it when the queue is full (of copies or of bytes); never blocks on a sender.
    ///
    /// # Errors
    ///
    /// [`Dropped::QueueFull`] when the queue is full (the drop is counted).
    pub fn submit(&self, copy: MirrorCopy) -> Result<(), Dropped> {
        let limits = &self.inner.limits;
        let mut queue = self.inner.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.copies.len() >= limits.queue || queue.bytes + copy.bytes.len() > limits.queue_bytes {
            drop(queue);
            self.count(Dropped::QueueFull);
            return Err(Dropped::QueueFull);
        }
        queue.bytes += copy.bytes.len();
        queue.copies.push_back(copy);
        drop(queue);
        self.inner.ready.notify_one();
        Ok(())
    }

    /// Counts a copy that was not sent.
    pub fn count(&self, reason: Dropped) {
        let c = &self.inner.counters;
        let counter = match reason {
            Dropped::QueueFull => &c.dropped_queue_full,
            Dropped::Body => &c.dropped_body,
            Dropped::Unavailable => &c.dropped_unavailable,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    #[must_use]
    pub fn stats(&self) -> MirrorStats {
        let c = &self.inner.counters;
        let queued = self.inner.queue.lock().unwrap_or_else(PoisonError::into_inner).copies.len();
        MirrorStats {
            sent: c.sent.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            dropped_queue_full: c.dropped_queue_full.load(Ordering::Relaxed),
            dropped_body: c.dropped_body.load(Ordering::Relaxed),
            dropped_unavailable: c.dropped_unavailable.load(Ordering::Relaxed),
            queued: queued as u64,
        }
    }
}

fn send_loop(inner: &Inner) {
    loop {
        let copy = {
            let mut queue = inner.queue.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(copy) = queue.copies.pop_front() {
                    queue.bytes -= copy.bytes.len();
                    break copy;
                }
                queue = inner.ready.wait(queue).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let counter =
            if inner.deliver.deliver(&copy, &inner.limits) { &inner.counters.sent } else { &inner.counters.failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufRead as _;
    use std::net::TcpListener;
    use std::time::Instant;

    use super::*;

    fn target(numerator: u32, denominator: u32, endpoints: usize) -> MirrorTarget {
        MirrorTarget {
            name: "ns/m:80".into(),
            endpoints: (0..endpoints).map(|i| SocketAddr::from(([10, 0, 0, u8::try_from(i).unwrap()], 80))).collect(),
            error: None,
            numerator,
            denominator,
        }
    }

    #[test]
    fn pick_draws_the_share_and_spreads_endpoints() {
        let t = target(20, 100, 2);
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let (mut drawn, mut first) = (0, 0);
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if let Pick::To(addr) = t.pick(x) {
                drawn += 1;
                first += usize::from(addr == t.endpoints[0]);
            }
        }
        assert!((19_000..21_000).contains(&drawn), "{drawn} of 100000 drawn, expected about 20%");
        assert!((drawn * 45 / 100..drawn * 55 / 100).contains(&first), "{first} of {drawn} to the first endpoint");
        assert_eq!(target(0, 100, 1).pick(0), Pick::Skip);
        assert_eq!(target(1, 1, 0).pick(12345), Pick::Unavailable);
        assert!(matches!(target(100, 100, 1).pick(u64::MAX), Pick::To(_)));
        assert_eq!(target(25, 50, 1).pick(25), Pick::Skip);
        assert!(matches!(target(25, 50, 1).pick(24), Pick::To(_)));
    }

    #[test]
    fn copy_keeps_forwarded_headers_without_hop_by_hop_ones() {
        let lines: [&[u8]; 5] =
            [b"Host: a.example", b"Connection: keep-alive", b"X-Set: 1", b"Content-Length: 0", b"Upgrade: h2c"];
        let head = copy_head("GET", "/m?x=1", lines).unwrap();
        assert_eq!(head.body(), Body::None);
        assert_eq!(
            &*head.finish(b"").unwrap(),
            b"GET /m?x=1 HTTP/1.1\r\nHost: a.example\r\nX-Set: 1\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(copy_head("GET", "/a b", []), None);
        assert_eq!(copy_head("GET\r\n", "/", []), None);
    }

    #[test]
    fn copy_carries_a_body_of_known_length_within_the_limit() {
        let lines: [&[u8]; 3] = [b"Host: h", b"content-length: 7", b"Expect: 100-continue"];
        let head = copy_head("POST", "/orders", lines).unwrap();
        assert_eq!(head.body(), Body::Buffer(7));
        assert_eq!(
            &*head.clone().finish(b"order=1").unwrap(),
            b"POST /orders HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nConnection: close\r\n\r\norder=1"
        );
        // A body that could not be read whole is not sent in part.
        assert_eq!(head.clone().finish(b"order"), Err(Dropped::Body));
        assert_eq!(head.finish(b""), Err(Dropped::Body));
        let binary = [0u8, 13, 10, 255];
        let head = copy_head("PUT", "/b", [b"Content-Length: 4".as_slice()]).unwrap();
        assert!(head.finish(&binary).unwrap().ends_with(b"Content-Length: 4\r\nConnection: close\r\n\r\n\0\r\n\xff"));
        // A request without a body gets none.
        assert_eq!(copy_head("GET", "/", []).unwrap().finish(b"x"), Err(Dropped::Body));
    }

    #[test]
    fn bodies_over_the_limit_or_of_unknown_length_are_not_copied() {
        let at_limit = format!("Content-Length: {MAX_BODY_BYTES}");
        assert_eq!(copy_head("POST", "/", [at_limit.as_bytes()]).unwrap().body(), Body::Buffer(MAX_BODY_BYTES));
        let over = format!("Content-Length: {}", MAX_BODY_BYTES + 1);
        let cases: [&[&[u8]]; 5] = [
            &[over.as_bytes()],
            &[b"Transfer-Encoding: chunked"],
            &[b"Content-Length: 5", b"Transfer-Encoding: chunked"],
            &[b"Content-Length: five"],
            &[b"Content-Length: -1"],
        ];
        for lines in cases {
            let head = copy_head("POST", "/", lines.iter().copied()).unwrap();
            assert_eq!(head.body(), Body::Streamed, "{lines:?}");
            assert_eq!(head.finish(b""), Err(Dropped::Body), "{lines:?}");
        }
    }

    struct Slow(Duration);
    impl Deliver for Slow {
        fn deliver(&self, _: &MirrorCopy, _: &Limits) -> bool {
            std::thread::sleep(self.0);
            true
        }
    }

    fn copy() -> MirrorCopy {
        MirrorCopy { to: SocketAddr::from(([127, 0, 0, 1], 9)), bytes: b"GET / HTTP/1.1\r\n\r\n".as_slice().into() }
    }

    #[test]
    fn a_full_queue_drops_and_counts_without_waiting_for_a_slow_mirror() {
        let limits = Limits { queue: 4, senders: 2, ..Limits::default() };
        let queue = MirrorQueue::start(limits, Slow(Duration::from_secs(30)));
        let started = Instant::now();
        let results: Vec<_> = (0..100).map(|_| queue.submit(copy())).collect();
        assert!(started.elapsed() < Duration::from_secs(1), "submit waited: {:?}", started.elapsed());
        let accepted = results.iter().filter(|r| r.is_ok()).count();
        // Two senders may each have taken one copy off the queue before it filled.
        assert!((4..=6).contains(&accepted), "{accepted} copies accepted with a queue of 4 and 2 senders");
        let stats = queue.stats();
        assert_eq!(stats.dropped_queue_full, 100 - accepted as u64);
        assert!(stats.queued <= 4);
        queue.count(Dropped::Body);
        queue.count(Dropped::Unavailable);
        assert_eq!((queue.stats().dropped_body, queue.stats().dropped_unavailable), (1, 1));
    }

    #[test]
    fn waiting_bytes_are_bounded_too() {
        let limits = Limits { queue: 100, queue_bytes: 100, senders: 1, ..Limits::default() };
        let queue = MirrorQueue::start(limits, Slow(Duration::from_secs(30)));
        let big = || MirrorCopy { to: SocketAddr::from(([127, 0, 0, 1], 9)), bytes: [b'x'; 40].as_slice().into() };
        let accepted = (0..10).filter(|_| queue.submit(big()).is_ok()).count();
        // Two copies of 40 bytes fit in 100; the sender may have taken one off the queue before.
        assert!((2..=3).contains(&accepted), "{accepted} copies of 40 bytes accepted within 100 bytes");
        assert_eq!(queue.stats().dropped_queue_full, 10 - accepted as u64);
        assert_eq!(queue.submit(copy()), Ok(()), "a small copy still fits");
    }

    #[test]
    fn senders_bound_concurrency_and_count_what_they_sent() {
        let limits = Limits { queue: 64, senders: 3, ..Limits::default() };
        let queue = MirrorQueue::start(limits, Slow(Duration::from_millis(50)));
        let started = Instant::now();
        for _ in 0..9 {
            queue.submit(copy()).unwrap();
        }
        while queue.stats().sent < 9 {
            assert!(started.elapsed() < Duration::from_secs(20), "copies not sent: {:?}", queue.stats());
            std::thread::sleep(Duration::from_millis(5));
        }
        // Nine copies of 50 ms through three senders take at least three rounds.
        assert!(started.elapsed() >= Duration::from_millis(150), "more than 3 at once: {:?}", started.elapsed());
    }

    #[test]
    fn http_sends_the_copy_with_its_body_and_reads_the_status_line() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let to = server.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let (stream, _) = server.accept().unwrap();
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                request.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = [0u8; 7];
            reader.read_exact(&mut body).unwrap();
            (&stream).write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
            (request, body)
        });
        let bytes = copy_head("POST", "/m", [b"Host: h".as_slice(), b"Content-Length: 7"]).unwrap().finish(b"order=1");
        assert!(Http.deliver(&MirrorCopy { to, bytes: bytes.unwrap() }, &Limits::default()));
        let (head, body) = handle.join().unwrap();
        assert_eq!(head, "POST /m HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nConnection: close\r\n\r\n");
        assert_eq!(&body, b"order=1");
    }

    #[test]
    fn http_fails_fast_on_a_dead_or_silent_mirror() {
        let dead = TcpListener::bind("127.0.0.1:0").unwrap();
        let to = dead.local_addr().unwrap();
        drop(dead);
        let limits = Limits { timeout: Duration::from_millis(200), ..Limits::default() };
        assert!(!Http.deliver(&MirrorCopy { to, bytes: b"GET / HTTP/1.1\r\n\r\n".as_slice().into() }, &limits));
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        let to = silent.local_addr().unwrap();
        let started = Instant::now();
        assert!(!Http.deliver(&MirrorCopy { to, bytes: b"GET / HTTP/1.1\r\n\r\n".as_slice().into() }, &limits));
        assert!(started.elapsed() < Duration::from_secs(5), "waited {:?} for a silent mirror", started.elapsed());
    }
}
