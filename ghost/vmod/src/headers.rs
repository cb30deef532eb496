//! Adapters between Varnish's HTTP objects and the header traits of ghost-core, and the header operations of the
//! request path.
//!
//! These read and change the header lines of Varnish's `struct http` directly: `HttpHeaders::header()` and
//! `unset_header()` of varnish-rs split and UTF-8-check every line of the object for each call, and `set_header()`
//! formats each new line in a temporary `String`, which made header work the largest part of ghost's cost on a cache
//! hit. Here a name is compared byte by byte (ASCII case-insensitive), only a matched value is checked for UTF-8, one
//! pass removes any number of headers, and a new line is written straight into the workspace. Varnish's log records
//! stay as varnish-rs writes them (`ReqHeader`/`RespHeader` for a new line, `ReqUnset`/`RespUnset` for a removed one).

use std::mem::transmute;
use std::ptr;

use ghost_core::filters::HeaderSink;
use ghost_core::HeaderSource;
use varnish::ffi::{self, VslTag};
use varnish::vcl::{HttpHeaders, StrOrBytes};

const HDR_FIRST: usize = ffi::HTTP_HDR_FIRST as usize;

/// Read-only view of request headers for matching.
pub struct Source<'a, 'h>(pub &'a HttpHeaders<'h>);

impl HeaderSource for Source<'_, '_> {
    fn header(&self, name: &str) -> Option<&str> {
        std::str::from_utf8(find(self.0, name)?).ok()
    }
}

/// Writable view of `req` or `resp` headers for filters.
pub struct Sink<'a, 'h>(pub &'a mut HttpHeaders<'h>);

impl HeaderSink for Sink<'_, '_> {
    fn get(&self, name: &str) -> Option<String> {
        find(self.0, name).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    fn set(&mut self, name: &str, value: &str) {
        remove_where(self.0, |line| value_of(line, name).is_some());
        append(self.0, name, value);
    }

    fn remove(&mut self, name: &str) {
        remove_where(self.0, |line| value_of(line, name).is_some());
    }

    fn remove_each(&mut self, names: &[&str]) {
        remove_where(self.0, |line| names.iter().any(|name| value_of(line, name).is_some()));
    }

    fn append(&mut self, name: &str, value: &str) {
        append(self.0, name, value);
    }
}

/// A `&str` of a Varnish string, or `""` when it is not UTF-8.
#[allow(clippy::needless_pass_by_value)] // takes what HttpHeaders returns, by value
pub fn text(value: Option<StrOrBytes<'_>>) -> &str {
    match value {
        Some(StrOrBytes::Utf8(s)) => s,
        _ => "",
    }
}

/// The value of the first header called `name` (ASCII case-insensitive), or `""` when there is none or it is not
/// UTF-8.
pub fn header<'h>(headers: &'h HttpHeaders<'_>, name: &str) -> &'h str {
    find(headers, name).and_then(|v| std::str::from_utf8(v).ok()).unwrap_or("")
}

/// Removes every header whose name starts with one of the internal prefixes (case-insensitive).
pub fn strip_internal(headers: &mut HttpHeaders<'_>) {
    remove_where(headers, |line| has_prefix(line, b"x-ghost-") || has_prefix(line, b"x-gateway-"));
}

/// Whether header line `line` starts with `prefix` (ASCII case-insensitive; a prefix without `:` only matches
/// names).
pub fn has_prefix(line: &[u8], prefix: &[u8]) -> bool {
    line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// The value of header line `line` (`Name: value`) when its name is `name` (ASCII case-insensitive).
pub fn value_of<'l>(line: &'l [u8], name: &str) -> Option<&'l [u8]> {
    let n = name.len();
    (line.len() > n && line[n] == b':' && line[..n].eq_ignore_ascii_case(name.as_bytes()))
        .then(|| line[n + 1..].trim_ascii_start())
}

/// The header lines of `headers`, in order.
pub fn lines<'h>(headers: &'h HttpHeaders<'_>) -> impl Iterator<Item = &'h [u8]> + 'h {
    let http: &'h ffi::http = headers.raw;
    (HDR_FIRST..usize::from(http.nhd)).filter_map(move |i| {
        // SAFETY: Varnish keeps `nhd` entries in `hd`; each is null or a line of the object's workspace, which
        // outlives the `HttpHeaders` borrowed here.
        unsafe { (*http.hd.add(i)).to_slice() }
    })
}

/// The value of the first header called `name`.
fn find<'h>(headers: &'h HttpHeaders<'_>, name: &str) -> Option<&'h [u8]> {
    lines(headers).find_map(|line| value_of(line, name))
}

/// Removes every header line for which `doomed` holds, in one pass, logging each removal as Varnish does.
pub fn remove_where(headers: &mut HttpHeaders<'_>, doomed: impl Fn(&[u8]) -> bool) {
    let http = &mut *headers.raw;
    let count = usize::from(http.nhd);
    let mut kept = HDR_FIRST;
    for i in HDR_FIRST..count {
        // SAFETY: `i` and `kept <= i` are below `nhd`, within `hd` and `hdf`; lines live in the workspace.
        unsafe {
            let hd = *http.hd.add(i);
            if hd.to_slice().is_some_and(&doomed) {
                // SLT_ReqUnset and friends: the object's header tag plus HDR_UNSET (a valid tag, as in varnish-rs).
                let tag = transmute::<u32, VslTag>(http.logtag as u32 + ffi::HTTP_HDR_UNSET + ffi::HTTP_HDR_METHOD);
                ffi::VSLbt(http.vsl, tag, hd);
                continue;
            }
            if i != kept {
                *http.hd.add(kept) = hd;
                *http.hdf.add(kept) = *http.hdf.add(i);
            }
        }
        kept += 1;
    }
    // `kept <= count <= u16::MAX`.
    http.nhd = u16::try_from(kept).unwrap_or(http.nhd);
}

/// Adds the line `name: value` (after any header of that name: use `remove_where` first to replace). Like
/// varnish-rs, leaves the object unchanged when it has no free header slot or the workspace is full (Varnish logs the
/// overflow).
pub fn append(headers: &mut HttpHeaders<'_>, name: &str, value: &str) {
    let http = &mut *headers.raw;
    if http.nhd >= http.shd {
        return;
    }
    let len = name.len() + 2 + value.len();
    let Ok(size) = u32::try_from(len + 1) else { return };
    // SAFETY: WS_Alloc returns null or `size` writable bytes of the object's workspace, which outlives the object's
    // use of the line; `nhd < shd` leaves room for one more entry in `hd` and `hdf`.
    unsafe {
        let line = ffi::WS_Alloc(http.ws, size).cast::<u8>();
        if line.is_null() {
            return;
        }
        ptr::copy_nonoverlapping(name.as_ptr(), line, name.len());
        ptr::copy_nonoverlapping(b": ".as_ptr(), line.add(name.len()), 2);
        ptr::copy_nonoverlapping(value.as_ptr(), line.add(name.len() + 2), value.len());
        *line.add(len) = 0;
        let hd = ffi::txt { b: line.cast(), e: line.add(len).cast() };
        let i = usize::from(http.nhd);
        *http.hd.add(i) = hd;
        *http.hdf.add(i) = 0;
        http.nhd += 1;
        // SLT_ReqHeader and friends: the object's header tag plus HDR_FIRST (a valid tag, as in varnish-rs).
        let tag = transmute::<u32, VslTag>(http.logtag as u32 + ffi::HTTP_HDR_FIRST);
        ffi::VSLbt(http.vsl, tag, hd);
    }
}

/// Sets the request target of `req` to `url` (a copy in the workspace), logged as `ReqURL` as VCL's
/// `set req.url` does. Leaves it unchanged when the workspace is full (Varnish logs the overflow).
pub fn set_url(req: &mut HttpHeaders<'_>, url: &str) {
    let http = &mut *req.raw;
    let Ok(size) = u32::try_from(url.len() + 1) else { return };
    // SAFETY: WS_Alloc returns null or `size` writable bytes of the request's workspace; http_SetH stores the
    // NUL-terminated copy as the URL field (always present in a request) and logs it.
    unsafe {
        let copy = ffi::WS_Alloc(http.ws, size).cast::<u8>();
        if copy.is_null() {
            return;
        }
        ptr::copy_nonoverlapping(url.as_ptr(), copy, url.len());
        *copy.add(url.len()) = 0;
        ffi::http_SetH(http, ffi::HTTP_HDR_URL, copy.cast());
    }
}
