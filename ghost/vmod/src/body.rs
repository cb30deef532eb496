//! The client request's body in `vcl_recv`: whether Varnish expects one, and reading one of known length into memory
//! (what `std.cache_req_body()` does) to copy it for mirrors.

use std::ffi::{c_int, c_uint, c_void};
use std::ptr;

use varnish::ffi;
use varnish::vcl::Ctx;

/// Whether the client request has a body by Varnish's reading of its framing (an HTTP/2 request may have one without
/// `Content-Length`), or has one cached already.
pub fn announced(ctx: &Ctx) -> bool {
    // SAFETY: `ctx.raw.req`, when set, is the client request of this `vcl_recv`, alive for the whole call.
    unsafe { ctx.raw.req.as_ref().is_some_and(|req| req.req_body_status != ffi::BS_NONE.as_ptr()) }
}

/// Reads the client request's body of `length` bytes into memory (`vcl_recv` only) and returns a copy of it. Varnish
/// then sends the cached body to the backend, unchanged. `None` when it could not be read whole (the client went
/// away, or sent another length).
pub fn cache(ctx: &mut Ctx, length: u64) -> Option<Vec<u8>> {
    unsafe extern "C" fn push(priv_: *mut c_void, _flush: c_uint, ptr: *const c_void, len: isize) -> c_int {
        // SAFETY: `priv_` is the `&mut Vec<u8>` passed below, alive for the whole iteration; Varnish hands `len`
        // readable bytes at `ptr`.
        let body = unsafe { &mut *priv_.cast::<Vec<u8>>() };
        let Ok(len) = usize::try_from(len) else { return -1 };
        if len > 0 && !ptr.is_null() {
            body.extend_from_slice(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) });
        }
        0
    }
    let limit = i64::try_from(length).ok()?;
    // SAFETY: the VRT call behind `std.cache_req_body()`, from `vcl_recv` (it refuses any other method); with a
    // limit of the announced length, a body of known length is read whole or the call fails.
    let cached = unsafe { ffi::VRT_CacheReqBody(ptr::from_ref(&*ctx.raw), ffi::VCL_BYTES(limit)) };
    if cached.0 != limit {
        return None;
    }
    let mut body = Vec::with_capacity(usize::try_from(length).ok()?);
    // SAFETY: as in `announced`; iterating a cached body only reads the request's body object, as bodyaccess does.
    let iterated = unsafe {
        let req = ctx.raw.req.as_mut()?;
        let priv_ = ptr::from_mut(&mut body).cast::<c_void>();
        ffi::VRB_Iterate(req.wrk, req.vsl.as_mut_ptr(), ptr::from_mut(req), Some(push), priv_)
    };
    (iterated >= 0).then_some(body)
}
