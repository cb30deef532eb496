//! Native Varnish backends, created and deleted through the VRT API. Every `unsafe` of the VMOD lives here.
//!
//! A [`NativeBackend`] is a plain TCP backend, the same kind VCL declares with `backend x { … }`, so Varnish's
//! connection pooling, counters (`VBE.*`) and timeouts apply. [`BackendPool`] keeps one per `address:port` for
//! the lifetime of a router object, so a reload reuses the backends (and their pooled connections) of endpoints
//! that are still present and deletes only the ones that disappeared.
//!
//! Lifetime rules (Varnish 7.1): a backend belongs to the VCL whose context created it. `VRT_delete_backend`
//! disables it and lets Varnish free it once it has cooled down and has no connections, so requests still using
//! it finish normally. Backends still alive when their VCL is discarded are freed by Varnish itself, so dropping
//! the pool deletes nothing.
//!
//! A [`TransportBackend`] serves endpoints that need TLS or H2C through `ghost-transport` (a director of the
//! `varnish` crate's backend API). When its endpoint has been unused for `retire_after` its connections are closed
//! (idle ones at once, busy ones when their request is over) and none is pooled again unless the endpoint comes back.
//!
//! Deleting a backend waits until no request can use it. Varnish 7.1 counts the references of requests
//! (`req.backend_hint`) and fetches (`bereq.backend`, the director answering) to a director, but ghost hands out
//! directors from its routing states without counting: a request routed with a state picks its director from it before
//! VCL assigns it. So a backend is deleted only once no state that listed it is alive ([`Lives`]). A native backend is
//! then deleted with `VRT_delete_backend`, which Varnish completes when the last request using it lets go. A transport
//! director is freed by the `varnish` crate at once (its state with it), and Varnish 7.1's `VRT_DelDirector` asserts that
//! nothing else holds it: it is deleted only when Varnish counts no reference but the pool's, else at a later reload.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::ffi::{c_int, c_uint, c_void, CString};
use std::net::SocketAddr;
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ghost_core::contract::Transport;
use ghost_transport::{Answer, BodyWriter, Endpoint, RequestBody, ResponseBody, Timeouts};
use varnish::ffi;
use varnish::vcl::{Backend, Ctx, LogTag, VclBackend, VclError, VclResponse};

use crate::headers::{append, text};

const AF_INET: ffi::sa_family_t = 2;
const AF_INET6: ffi::sa_family_t = 10;

/// A native Varnish backend, owned by the pool, deleted exactly once by [`NativeBackend::retire`].
#[derive(Debug)]
struct NativeBackend {
    director: ffi::VCL_BACKEND,
}

// SAFETY: the handle is a pointer to a director that Varnish shares between its worker threads anyway; the VMOD
// only copies the pointer into `req.backend_hint` and never dereferences it. It stays valid until `retire`.
unsafe impl Send for NativeBackend {}
// SAFETY: see `Send`; no method mutates through a shared reference.
unsafe impl Sync for NativeBackend {}

impl NativeBackend {
    /// Creates a backend for `addr` in the VCL of `ctx`.
    ///
    /// `ctx` must be a context of a warm (or initialising) VCL: `vcl_init`, or a client request.
    fn create(ctx: &Ctx, addr: SocketAddr) -> Result<Self, String> {
        let name = CString::new(format!("ghost({addr})")).map_err(|e| e.to_string())?;
        // SAFETY: reading an immutable size exported by varnishd.
        let sa_len = unsafe { ffi::vsa_suckaddr_len };
        // u64 elements keep the buffer aligned for the sockaddr that VSA_BuildFAP writes into it.
        let mut buf = vec![0u64; sa_len.div_ceil(8)];
        let port = addr.port().to_be_bytes();
        let (family, ip_bytes): (ffi::sa_family_t, Vec<u8>) = match addr {
            SocketAddr::V4(a) => (AF_INET, a.ip().octets().to_vec()),
            SocketAddr::V6(a) => (AF_INET6, a.ip().octets().to_vec()),
        };
        // SAFETY: `buf` holds at least `vsa_suckaddr_len` bytes; the address and port slices outlive the call and
        // their lengths are passed along (4 or 16, and 2).
        let sua = unsafe {
            ffi::VSA_BuildFAP(
                buf.as_mut_ptr().cast::<c_void>(),
                family,
                ip_bytes.as_ptr().cast::<c_void>(),
                u32::try_from(ip_bytes.len()).unwrap_or(0),
                port.as_ptr().cast::<c_void>(),
                2,
            )
        };
        if sua.is_null() {
            return Err(format!("cannot build a socket address for {addr}"));
        }
        let ip = ffi::VCL_IP(sua.cast_const());
        let none = ffi::VCL_IP(ptr::null());
        let endpoint = ffi::vrt_endpoint {
            magic: ffi::VRT_ENDPOINT_MAGIC,
            ipv4: if addr.is_ipv4() { ip } else { none },
            ipv6: if addr.is_ipv6() { ip } else { none },
            uds_path: ptr::null(),
            preamble: ptr::null(),
        };
        let spec = ffi::vrt_backend {
            magic: ffi::VRT_BACKEND_MAGIC,
            endpoint: &raw const endpoint,
            vcl_name: name.as_ptr(),
            hosthdr: ptr::null(),
            // In Varnish 7.1 a zero timeout means "use the varnishd parameter" (later versions use NaN/negative).
            connect_timeout: ffi::vtim_dur(0.0),
            first_byte_timeout: ffi::vtim_dur(0.0),
            between_bytes_timeout: ffi::vtim_dur(0.0),
            max_connections: 0,
            proxy_header: 0,
            probe: ffi::VCL_PROBE(ptr::null()),
        };
        // SAFETY: `ctx.raw` is the live context of the calling VCL method; `spec`, `endpoint`, `name` and `buf` stay
        // alive during the call, and VRT_new_backend copies the endpoint and the strings it keeps.
        let director = unsafe { ffi::VRT_new_backend(&raw const *ctx.raw, &raw const spec) };
        if director.0.is_null() {
            return Err(format!("VRT_new_backend failed for {addr}"));
        }
        Ok(Self { director })
    }

    /// Deletes the backend; requests still using it finish, then Varnish frees it.
    fn retire(self, ctx: &Ctx) {
        let mut director = self.director;
        // SAFETY: the director was created by VRT_new_backend in this VCL and is deleted exactly once, because
        // `retire` consumes the only handle.
        unsafe { ffi::VRT_delete_backend(&raw const *ctx.raw, &raw mut director) };
    }
}

/// A copy of a backend's VCL handle, for the routing state; the pool owns the backend itself.
#[derive(Debug, Clone, Copy)]
pub struct BackendRef {
    director: ffi::VCL_BACKEND,
}

// SAFETY: as for `NativeBackend`: only the pointer value is copied and handed to Varnish.
unsafe impl Send for BackendRef {}
// SAFETY: see `Send`.
unsafe impl Sync for BackendRef {}

impl BackendRef {
    /// No backend: an endpoint slot no rule uses.
    #[must_use]
    pub fn none() -> Self {
        Self { director: ffi::VCL_BACKEND(ptr::null()) }
    }

    /// The backend as a VCL value, for `req.backend_hint`.
    #[must_use]
    pub fn vcl_backend(self) -> ffi::VCL_BACKEND {
        self.director
    }
}

#[derive(Debug)]
enum Director {
    Native(NativeBackend),
    Transport(TransportDirector),
}

impl Director {
    fn create(ctx: &mut Ctx, key: &Key) -> Result<Self, String> {
        match &key.1 {
            None => NativeBackend::create(ctx, key.0).map(Self::Native),
            Some(transport) => TransportDirector::create(ctx, key.0, transport).map(Self::Transport),
        }
    }

    fn vcl_backend(&self) -> ffi::VCL_BACKEND {
        match self {
            Self::Native(n) => n.director,
            Self::Transport(t) => t.0.vcl_ptr(),
        }
    }

    /// The transport endpoint behind a transport director.
    fn endpoint(&self) -> Option<&Endpoint> {
        match self {
            Self::Native(_) => None,
            Self::Transport(t) => t.0.get_inner().endpoint.as_deref().ok(),
        }
    }
}

#[derive(Debug)]
struct Slot {
    backend: Director,
    tenure: Tenure,
}

/// When a backend that the serving state no longer lists may be deleted (the bookkeeping apart from Varnish).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tenure {
    /// Since when no loaded state lists the backend.
    unused_since: Option<Instant>,
    /// The newest state (by generation) that listed it.
    listed_until: u64,
}

impl Tenure {
    /// Records whether the state of `generation` lists the backend; true when it may go: unlisted for
    /// `retire_after`, and every state still alive is newer than the last one that listed it (`oldest_alive`).
    fn update(
        &mut self,
        listed: bool,
        generation: u64,
        now: Instant,
        retire_after: Duration,
        oldest_alive: u64,
    ) -> bool {
        if listed {
            *self = Self { unused_since: None, listed_until: generation };
            return false;
        }
        if self.unused_since.is_none() {
            // Listed until now: the previous state is the last that lists it (a delta's bookkeeping does not mark the
            // backends it leaves alone as listed by each state).
            self.listed_until = self.listed_until.max(generation.saturating_sub(1));
        }
        let since = *self.unused_since.get_or_insert(now);
        now.duration_since(since) >= retire_after && self.listed_until < oldest_alive
    }
}

/// The routing states built so far that requests may still hold, by generation: a request keeps the state it was
/// routed with until it is over, and takes its backend from it.
#[derive(Debug)]
pub struct Lives<T> {
    states: Vec<(u64, Weak<T>)>,
}

impl<T> Default for Lives<T> {
    fn default() -> Self {
        Self { states: Vec::new() }
    }
}

impl<T> Lives<T> {
    /// Records the state of `generation`.
    pub fn push(&mut self, generation: u64, state: &Arc<T>) {
        self.states.push((generation, Arc::downgrade(state)));
    }

    /// The generation of the oldest state still alive (`u64::MAX` when none is), forgetting the dead ones.
    pub fn oldest(&mut self) -> u64 {
        self.states.retain(|(_, state)| state.strong_count() > 0);
        self.states.iter().map(|(generation, _)| *generation).min().unwrap_or(u64::MAX)
    }
}

/// An endpoint and how it is reached (`None`: a native backend).
pub type Key = (SocketAddr, Option<Arc<Transport>>);

/// The backends of one router object, by endpoint and transport.
///
/// A backend that the new state no longer uses is deleted only once it has been unused for `retire_after` and no
/// state that listed it is alive, at a later reload (see the module documentation): an endpoint that comes back
/// quickly (a flapping readiness probe) keeps its backend and pooled connections.
#[derive(Debug)]
pub struct BackendPool {
    slots: HashMap<Key, Slot>,
    /// The keys no state lists now (their tenure counts down): a delta's bookkeeping visits only these and the keys
    /// it changes.
    unlisted: HashSet<Key>,
    retire_after: Duration,
}

impl BackendPool {
    /// Creates an empty pool.
    #[must_use]
    pub fn new(retire_after: Duration) -> Self {
        Self { slots: HashMap::new(), unlisted: HashSet::new(), retire_after }
    }

    /// Returns the backends for `keys`, in order, creating the missing ones; a slot without a key (an endpoint slot no
    /// rule uses) gets no backend.
    ///
    /// # Errors
    ///
    /// Returns a message when Varnish refuses to create a backend; backends created so far stay in the pool.
    pub fn acquire(&mut self, ctx: &mut Ctx, keys: &[Option<Key>]) -> Result<Vec<BackendRef>, String> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(key) = key else {
                out.push(BackendRef::none());
                continue;
            };
            let slot = match self.slots.entry(key.clone()) {
                Entry::Occupied(o) => {
                    let slot = o.into_mut();
                    if slot.tenure.unused_since.is_some() {
                        if let Some(endpoint) = slot.backend.endpoint() {
                            endpoint.resume();
                        }
                    }
                    slot
                }
                Entry::Vacant(v) => v.insert(Slot { backend: Director::create(ctx, key)?, tenure: Tenure::default() }),
            };
            out.push(BackendRef { director: slot.backend.vcl_backend() });
        }
        Ok(out)
    }

    /// After the state of `generation`, listing the backends of `keep`, was swapped in: marks the others as unused and
    /// deletes those that may go (see [`Tenure::update`]); a transport director that Varnish still counts references
    /// to has its connections closed instead and is deleted at a later reload. Returns how many backends were deleted
    /// or closed.
    pub fn retain(&mut self, ctx: &Ctx, keep: &[Key], generation: u64, oldest_alive: u64) -> usize {
        let keep: HashSet<&Key> = keep.iter().collect();
        let now = Instant::now();
        let mut expired = Vec::new();
        let mut closed = 0;
        for (key, slot) in &mut self.slots {
            let listed = keep.contains(key);
            closed += settle(key, slot, (listed, generation, oldest_alive), now, self.retire_after, &mut expired);
        }
        closed += self.delete(ctx, &expired);
        self.unlisted =
            self.slots.iter().filter(|(_, s)| s.tenure.unused_since.is_some()).map(|(k, _)| k.clone()).collect();
        closed
    }

    /// [`BackendPool::retain`] after a delta, at the cost of what it changed: `listed` are the keys of the endpoint
    /// slots it took, `unlisted` those of the slots it freed that no rule or peer lists any more; the backends it left
    /// alone are listed as before. Visits those and the backends already unlisted, whose tenure counts down.
    pub fn retain_changes(
        &mut self,
        ctx: &Ctx,
        (listed, unlisted): (&[Key], &[Key]),
        generation: u64,
        oldest_alive: u64,
    ) -> usize {
        let now = Instant::now();
        let mut expired = Vec::new();
        let mut closed = 0;
        for key in listed {
            if let Some(slot) = self.slots.get_mut(key) {
                closed += settle(key, slot, (true, generation, oldest_alive), now, self.retire_after, &mut expired);
                self.unlisted.remove(key);
            }
        }
        self.unlisted.extend(unlisted.iter().filter(|k| self.slots.contains_key(*k)).cloned());
        for key in &self.unlisted {
            let Some(slot) = self.slots.get_mut(key) else { continue };
            closed += settle(key, slot, (false, generation, oldest_alive), now, self.retire_after, &mut expired);
        }
        closed + self.delete(ctx, &expired)
    }

    /// Deletes the backends of `expired` (see [`BackendPool::retain`]); returns how many.
    fn delete(&mut self, ctx: &Ctx, expired: &[Key]) -> usize {
        let mut closed = 0;
        for key in expired {
            self.unlisted.remove(key);
            let Some(slot) = self.slots.remove(key) else { continue };
            match slot.backend {
                Director::Native(native) => {
                    native.retire(ctx);
                    closed += 1;
                }
                // Dropping it deletes the director (`VRT_DelDirector`) and frees its state.
                Director::Transport(transport) => drop(transport),
            }
        }
        closed
    }

    /// Number of backends, used or waiting to be retired.
    #[must_use]
    pub fn len(&self) -> usize {
        self.slots.len()
    }
}

/// Records whether the state of `generation` lists `slot`'s backend; one that may go is added to `expired` (a transport
/// director Varnish still references has its connections closed instead). Returns how many connections' backends it
/// closed.
fn settle(
    key: &Key,
    slot: &mut Slot,
    (listed, generation, oldest_alive): (bool, u64, u64),
    now: Instant,
    retire_after: Duration,
    expired: &mut Vec<Key>,
) -> usize {
    if !slot.tenure.update(listed, generation, now, retire_after, oldest_alive) {
        return 0;
    }
    match &slot.backend {
        Director::Native(_) => expired.push(key.clone()),
        Director::Transport(t) if t.references() == 0 => expired.push(key.clone()),
        Director::Transport(_) => {}
    }
    match slot.backend.endpoint().filter(|e| !e.is_retired()) {
        Some(endpoint) => {
            endpoint.retire();
            1
        }
        None => 0,
    }
}

/// A director of the `varnish` crate whose fetches go through ghost's transport.
#[derive(Debug)]
struct TransportDirector(Backend<TransportBackend, TransportBody>);

// SAFETY: as for `NativeBackend`: Varnish shares the director between its threads; the backend state behind it is
// `Sync` (an `Arc<Endpoint>` or an error message), and the pool only hands out copies of the pointer.
unsafe impl Send for TransportDirector {}
// SAFETY: see `Send`.
unsafe impl Sync for TransportDirector {}

impl TransportDirector {
    /// How many references to the director Varnish counts besides the pool's own: requests whose
    /// `req.backend_hint`, fetches whose `bereq.backend` or answering director it is.
    fn references(&self) -> i32 {
        // SAFETY: the director was created by `VRT_AddDirector` and is alive until the pool drops it, and so is its
        // `vcldir`; `refcnt` is an aligned int that Varnish changes under the director's lock, read atomically here.
        // A director created by a VMOD is counted (only VCL's static backends are not, `VRT_StaticDirector`).
        let count = unsafe {
            let vdir = (*self.0.vcl_ptr().0).vdir;
            AtomicI32::from_ptr(&raw mut (*vdir).refcnt).load(Ordering::Acquire)
        };
        count - 1
    }

    fn create(ctx: &mut Ctx, addr: SocketAddr, transport: &Transport) -> Result<Self, String> {
        let protocol = match transport.protocol {
            ghost_core::contract::TransportProtocol::Http => "http",
            ghost_core::contract::TransportProtocol::Https => "https",
            ghost_core::contract::TransportProtocol::H2c => "h2c",
        };
        // Unusable TLS settings do not fail the reload: every fetch of the endpoint fails with the reason instead.
        let endpoint = Endpoint::new(addr, transport).map(Arc::new);
        let backend = TransportBackend { endpoint };
        Backend::new(ctx, "ghost-transport", &format!("ghost({protocol}://{addr})"), backend, false)
            .map(Self)
            .map_err(|e| e.to_string())
    }
}

/// The state behind a transport director.
#[derive(Debug)]
struct TransportBackend {
    endpoint: Result<Arc<Endpoint>, String>,
}

/// The response body of a transport fetch, pulled by Varnish's fetch processor.
#[derive(Debug)]
pub struct TransportBody {
    body: ResponseBody,
    length: Option<usize>,
}

impl VclResponse for TransportBody {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, VclError> {
        self.body.read(buf).map_err(|e| VclError::from(format!("ghost transport: {e}")))
    }

    fn len(&self) -> Option<usize> {
        self.length
    }
}

impl VclBackend<TransportBody> for TransportBackend {
    fn get_response(&self, ctx: &mut Ctx) -> Result<Option<TransportBody>, VclError> {
        let endpoint = self.endpoint.as_ref().map_err(|e| VclError::from(format!("ghost transport: {e}")))?;
        let timeouts = fetch_timeouts(ctx);
        let (request, length) = backend_request(ctx)?;
        let source = body_source(ctx);
        let (body, writer) = if source == BodySource::None {
            (RequestBody::empty(), None)
        } else {
            let (body, writer) = RequestBody::channel(length);
            (body, Some(writer))
        };
        let pending = endpoint.start(request.body(body).map_err(|e| VclError::from(e.to_string()))?, timeouts);
        if let Some(writer) = writer {
            if !send_body(ctx, source, &writer) {
                writer.abort();
            }
        }
        let answer = pending.wait(timeouts).map_err(|e| {
            ctx.log(LogTag::VclLog, format!("ghost: transport failure {}: {e}", endpoint.addr()));
            VclError::from(format!("ghost transport: {e}"))
        })?;
        Ok(set_response(ctx, answer))
    }
}

/// The fetch's timeouts as VCL left them (`bereq.*_timeout`, set from a rule's timeouts); unset ones take
/// Varnish's defaults.
fn fetch_timeouts(ctx: &Ctx) -> Timeouts {
    // SAFETY: `bo` of a backend fetch's context is its live busyobj (or null elsewhere, handled).
    let bo = unsafe { ctx.raw.bo.as_ref() };
    let pick = |value: Option<f64>, default: f64| {
        Duration::from_secs_f64(value.filter(|v| v.is_finite() && *v > 0.0).unwrap_or(default))
    };
    Timeouts {
        connect: pick(bo.map(|b| b.connect_timeout.0), 3.5),
        first_byte: pick(bo.map(|b| b.first_byte_timeout.0), 60.0),
        between_bytes: pick(bo.map(|b| b.between_bytes_timeout.0), 60.0),
    }
}

/// `bereq` as an `http` request (without its body) and the body's announced length.
fn backend_request(ctx: &Ctx) -> Result<(http::request::Builder, Option<u64>), VclError> {
    let bereq = ctx.http_bereq.as_ref().ok_or_else(|| VclError::from("ghost transport: no bereq".to_owned()))?;
    let mut builder = http::Request::builder().method(text(bereq.method())).uri(text(bereq.url()));
    let mut length = None;
    for (name, value) in bereq.iter() {
        let value = match value {
            varnish::vcl::StrOrBytes::Utf8(s) => s.as_bytes(),
            varnish::vcl::StrOrBytes::Bytes(b) => b,
        };
        if name.eq_ignore_ascii_case("content-length") {
            length = std::str::from_utf8(value).ok().and_then(|v| v.trim().parse().ok());
        }
        builder = builder.header(name, value);
    }
    Ok((builder, length))
}

/// Where a fetch's request body is: none, cached (`bereq_body`) or still on the client request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodySource {
    None,
    Cached,
    Client,
}

fn body_source(ctx: &Ctx) -> BodySource {
    // SAFETY: `bo` is the fetch's busyobj; `bo.req`, when set, is the client request waiting for this fetch (a pass),
    // alive until the fetch has sent its body. The same fields Varnish's HTTP/1 fetch reads.
    unsafe {
        let Some(bo) = ctx.raw.bo.as_ref() else { return BodySource::None };
        if !bo.bereq_body.is_null() {
            return BodySource::Cached;
        }
        match bo.req.as_ref() {
            Some(req) if req.req_body_status != ffi::BS_NONE.as_ptr() => BodySource::Client,
            _ => BodySource::None,
        }
    }
}

/// Iterates the request body into `writer`; false when it could not be read whole (or the backend stopped
/// reading).
fn send_body(ctx: &Ctx, source: BodySource, writer: &BodyWriter) -> bool {
    unsafe extern "C" fn push(priv_: *mut c_void, _flush: c_uint, ptr: *const c_void, len: isize) -> c_int {
        // SAFETY: `priv_` is the `&BodyWriter` passed below, alive for the whole iteration; Varnish hands `len`
        // readable bytes at `ptr`.
        let writer = unsafe { &*priv_.cast::<BodyWriter>() };
        let Ok(len) = usize::try_from(len) else { return 0 };
        if len == 0 || ptr.is_null() {
            return 0;
        }
        let chunk = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
        if writer.write(chunk) {
            0
        } else {
            -1
        }
    }
    let priv_ = ptr::from_ref(writer).cast_mut().cast::<c_void>();
    // SAFETY: as in `body_source`; these are the calls Varnish's own HTTP/1 fetch makes from this context, with a
    // callback that only copies the bytes it is given.
    unsafe {
        let Some(bo) = ctx.raw.bo.as_mut() else { return true };
        match source {
            BodySource::None => true,
            BodySource::Cached => ffi::ObjIterate(bo.wrk, bo.bereq_body, priv_, Some(push), 0) == 0,
            BodySource::Client => ffi::VRB_Iterate(bo.wrk, bo.vsl.as_mut_ptr(), bo.req, Some(push), priv_) >= 0,
        }
    }
}

/// Copies status and headers into `beresp` and returns the body, if any.
fn set_response(ctx: &mut Ctx, mut answer: Answer) -> Option<TransportBody> {
    let status = answer.parts.status;
    let length = answer.length();
    if let Some(beresp) = ctx.http_beresp.as_mut() {
        beresp.set_status(status.as_u16());
        let _ = beresp.set_proto("HTTP/1.1");
        let _ = beresp.set_reason(status.canonical_reason().unwrap_or(""));
        for (name, value) in answer.headers() {
            append(beresp, name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
        }
    }
    match length {
        Some(0) => None,
        _ => Some(TransportBody { body: answer.body, length: length.and_then(|l| usize::try_from(l).ok()) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_goes_once_unlisted_for_retire_after_and_no_state_that_listed_it_is_alive() {
        let mut lives = Lives::default();
        let (first, second) = (Arc::new(()), Arc::new(()));
        lives.push(1, &first);
        lives.push(2, &second);
        let t0 = Instant::now();
        let after = |ms| t0 + Duration::from_millis(ms);
        let retire_after = Duration::from_millis(100);
        let mut tenure = Tenure::default();
        // Listed by state 1, not by state 2.
        assert!(!tenure.update(true, 1, t0, retire_after, lives.oldest()));
        assert!(!tenure.update(false, 2, t0, retire_after, lives.oldest()));
        // Unlisted long enough, but a request still holds state 1.
        assert_eq!(lives.oldest(), 1);
        assert!(!tenure.update(false, 3, after(200), retire_after, lives.oldest()));
        drop(first);
        assert_eq!(lives.oldest(), 2);
        assert!(tenure.update(false, 3, after(200), retire_after, lives.oldest()));
        // Listed again: the clock starts over.
        assert!(!tenure.update(true, 4, after(300), retire_after, lives.oldest()));
        drop(second);
        assert_eq!(lives.oldest(), u64::MAX);
        assert!(!tenure.update(false, 5, after(350), retire_after, lives.oldest()));
        assert!(tenure.update(false, 6, after(450), retire_after, lives.oldest()));
    }
}
