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

use std::collections::HashMap;
use std::ffi::{c_void, CString};
use std::net::SocketAddr;
use std::ptr;

use varnish::ffi;
use varnish::vcl::Ctx;

const AF_INET: ffi::sa_family_t = 2;
const AF_INET6: ffi::sa_family_t = 10;

/// A handle on a native Varnish backend.
#[derive(Debug)]
pub struct NativeBackend {
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

    /// The backend as a VCL value, for `req.backend_hint`.
    #[must_use]
    pub fn vcl_backend(&self) -> ffi::VCL_BACKEND {
        self.director
    }

    /// Deletes the backend; requests still using it finish, then Varnish frees it.
    fn retire(self, ctx: &Ctx) {
        let mut director = self.director;
        // SAFETY: the director was created by VRT_new_backend in this VCL and is deleted exactly once, because
        // `retire` consumes the only handle.
        unsafe { ffi::VRT_delete_backend(&raw const *ctx.raw, &raw mut director) };
    }
}

/// The native backends of one router object, keyed by `address:port`.
#[derive(Debug, Default)]
pub struct BackendPool {
    backends: HashMap<SocketAddr, std::sync::Arc<NativeBackend>>,
}

impl BackendPool {
    /// Returns the backends for `addrs`, in order, creating the missing ones.
    ///
    /// # Errors
    ///
    /// Returns a message when Varnish refuses to create a backend; backends created so far stay in the pool.
    pub fn acquire(&mut self, ctx: &Ctx, addrs: &[SocketAddr]) -> Result<Vec<std::sync::Arc<NativeBackend>>, String> {
        let mut out = Vec::with_capacity(addrs.len());
        for addr in addrs {
            let backend = if let Some(b) = self.backends.get(addr) {
                b.clone()
            } else {
                let b = std::sync::Arc::new(NativeBackend::create(ctx, *addr)?);
                self.backends.insert(*addr, b.clone());
                b
            };
            out.push(backend);
        }
        Ok(out)
    }

    /// Deletes the backends whose address is not in `keep`; returns how many were deleted.
    pub fn retain(&mut self, ctx: &Ctx, keep: &[SocketAddr]) -> usize {
        let keep: std::collections::HashSet<&SocketAddr> = keep.iter().collect();
        let gone: Vec<SocketAddr> = self.backends.keys().filter(|a| !keep.contains(a)).copied().collect();
        for addr in &gone {
            if let Some(backend) = self.backends.remove(addr) {
                // A state that is still in use by a request holds another reference; the director stays valid for
                // that request either way (Varnish keeps deleted backends usable while they cool down).
                match std::sync::Arc::try_unwrap(backend) {
                    Ok(b) => b.retire(ctx),
                    Err(shared) => NativeBackend { director: shared.director }.retire(ctx),
                }
            }
        }
        gone.len()
    }

    /// Number of live backends.
    #[must_use]
    pub fn len(&self) -> usize {
        self.backends.len()
    }
}
