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

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::ffi::{c_void, CString};
use std::net::SocketAddr;
use std::ptr;
use std::time::{Duration, Instant};

use varnish::ffi;
use varnish::vcl::Ctx;

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
    /// The backend as a VCL value, for `req.backend_hint`.
    #[must_use]
    pub fn vcl_backend(self) -> ffi::VCL_BACKEND {
        self.director
    }
}

#[derive(Debug)]
struct Slot {
    backend: NativeBackend,
    /// Since when no loaded state uses the backend.
    unused_since: Option<Instant>,
}

/// The native backends of one router object, keyed by `address:port`.
///
/// A backend that the new state no longer uses is deleted only once it has been unused for `retire_after`, at a later
/// reload: a request that picked it from the previous state just before the swap still finds it enabled, and an
/// endpoint that comes back quickly (a flapping readiness probe) keeps its backend and pooled connections.
#[derive(Debug)]
pub struct BackendPool {
    slots: HashMap<SocketAddr, Slot>,
    retire_after: Duration,
}

impl BackendPool {
    /// Creates an empty pool.
    #[must_use]
    pub fn new(retire_after: Duration) -> Self {
        Self { slots: HashMap::new(), retire_after }
    }

    /// Returns the backends for `addrs`, in order, creating the missing ones.
    ///
    /// # Errors
    ///
    /// Returns a message when Varnish refuses to create a backend; backends created so far stay in the pool.
    pub fn acquire(&mut self, ctx: &Ctx, addrs: &[SocketAddr]) -> Result<Vec<BackendRef>, String> {
        let mut out = Vec::with_capacity(addrs.len());
        for addr in addrs {
            let slot = match self.slots.entry(*addr) {
                Entry::Occupied(o) => o.into_mut(),
                Entry::Vacant(v) => v.insert(Slot { backend: NativeBackend::create(ctx, *addr)?, unused_since: None }),
            };
            out.push(BackendRef { director: slot.backend.director });
        }
        Ok(out)
    }

    /// Marks the backends whose address is not in `keep` as unused and deletes those unused for long enough;
    /// returns how many were deleted.
    pub fn retain(&mut self, ctx: &Ctx, keep: &[SocketAddr]) -> usize {
        let keep: HashSet<&SocketAddr> = keep.iter().collect();
        let now = Instant::now();
        let mut expired = Vec::new();
        for (addr, slot) in &mut self.slots {
            if keep.contains(addr) {
                slot.unused_since = None;
                continue;
            }
            let since = *slot.unused_since.get_or_insert(now);
            if now.duration_since(since) >= self.retire_after {
                expired.push(*addr);
            }
        }
        for addr in &expired {
            if let Some(slot) = self.slots.remove(addr) {
                slot.backend.retire(ctx);
            }
        }
        expired.len()
    }

    /// Number of backends, used or waiting to be retired.
    #[must_use]
    pub fn len(&self) -> usize {
        self.slots.len()
    }
}
