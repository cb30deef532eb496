//! Adapters between Varnish's HTTP objects and the header traits of ghost-core.

use ghost_core::filters::HeaderSink;
use ghost_core::HeaderSource;
use varnish::vcl::{HttpHeaders, StrOrBytes};

/// Read-only view of request headers for matching.
pub struct Source<'a, 'h>(pub &'a HttpHeaders<'h>);

impl HeaderSource for Source<'_, '_> {
    fn header(&self, name: &str) -> Option<&str> {
        match self.0.header(name)? {
            StrOrBytes::Utf8(s) => Some(s),
            StrOrBytes::Bytes(_) => None,
        }
    }
}

/// Writable view of `req` or `resp` headers for filters.
pub struct Sink<'a, 'h>(pub &'a mut HttpHeaders<'h>);

impl HeaderSink for Sink<'_, '_> {
    fn get(&self, name: &str) -> Option<String> {
        match self.0.header(name)? {
            StrOrBytes::Utf8(s) => Some(s.to_owned()),
            StrOrBytes::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        }
    }

    fn set(&mut self, name: &str, value: &str) {
        self.0.unset_header(name);
        // Fails only when the HTTP object has no free header slot left; the header is then missing, which
        // Varnish also logs as a workspace/header overflow.
        let _ = self.0.set_header(name, value);
    }

    fn remove(&mut self, name: &str) {
        self.0.unset_header(name);
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

/// Removes every header whose name starts with one of the internal prefixes (case-insensitive).
pub fn strip_internal(headers: &mut HttpHeaders<'_>) {
    let doomed: Vec<String> = headers
        .iter()
        .map(|(name, _)| name)
        .filter(|name| has_prefix(name, "x-ghost-") || has_prefix(name, "x-gateway-"))
        .map(str::to_owned)
        .collect();
    for name in doomed {
        headers.unset_header(&name);
    }
}

/// Whether `name` starts with `prefix` (ASCII case-insensitive).
pub fn has_prefix(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len() && name.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}
