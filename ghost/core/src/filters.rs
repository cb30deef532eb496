//! Filter semantics: header modifiers, redirect locations and path rewrites (Gateway API `HTTPRouteFilter`).

use crate::contract::{HeaderModifier, PathModifier, RequestRedirect, Scheme};

/// Write access to a set of headers, implemented by the VMOD over Varnish's `req`/`resp` and by tests over a list.
pub trait HeaderSink {
    /// The value of the first header called `name` (case-insensitive).
    fn get(&self, name: &str) -> Option<String>;
    /// Replaces every header called `name` with one header.
    fn set(&mut self, name: &str, value: &str);
    /// Removes every header called `name`.
    fn remove(&mut self, name: &str);
    /// Removes every header called one of `names` (a sink may do it in one pass).
    fn remove_each(&mut self, names: &[&str]) {
        for name in names {
            self.remove(name);
        }
    }
    /// Adds a header known to be absent (removed just before), without looking for an old one to replace.
    fn append(&mut self, name: &str, value: &str) {
        self.set(name, value);
    }
}

impl HeaderSink for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<String> {
        self.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }

    fn set(&mut self, name: &str, value: &str) {
        HeaderSink::remove(self, name);
        self.push((name.to_owned(), value.to_owned()));
    }

    fn remove(&mut self, name: &str) {
        self.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
}

/// Applies a header modifier: first `remove`, then `set` (replace), then `add` (append to an existing value after a
/// comma, as a proxy that folds repeated headers would).
pub fn apply_header_modifier(modifier: &HeaderModifier, headers: &mut impl HeaderSink) {
    for name in &modifier.remove {
        headers.remove(name);
    }
    for h in &modifier.set {
        headers.set(&h.name, &h.value);
    }
    for h in &modifier.add {
        match headers.get(&h.name) {
            Some(existing) if !existing.is_empty() => headers.set(&h.name, &format!("{existing},{}", h.value)),
            _ => headers.set(&h.name, &h.value),
        }
    }
}

/// Rewrites a path per a path modifier. `prefix_len` is the length of the request path part that the rule's
/// PathPrefix matched (without trailing slashes); without it a prefix replacement leaves the path unchanged.
///
/// Prefix replacement works on whole path elements: replacing `/foo` by `/` turns `/foo/bar` into `/bar`, and
/// replacing `/foo` by `/bar` turns `/foo` into `/bar` and `/foo/x` into `/bar/x`.
#[must_use]
pub fn rewrite_path(path: &str, modifier: &PathModifier, prefix_len: Option<usize>) -> String {
    match modifier {
        PathModifier::ReplaceFullPath { replace_full_path } => replace_full_path.clone(),
        PathModifier::ReplacePrefixMatch { replace_prefix_match } => match prefix_len {
            Some(len) if len <= path.len() && path.is_char_boundary(len) => {
                let rest = &path[len..];
                let base = replace_prefix_match.trim_end_matches('/');
                let joined = format!("{base}{rest}");
                if joined.is_empty() {
                    "/".to_owned()
                } else {
                    joined
                }
            }
            _ => path.to_owned(),
        },
    }
}

/// What a redirect needs to know about the request.
#[derive(Debug, Clone, Copy)]
pub struct RedirectInput<'a> {
    /// The scheme the request arrived with (the listener protocol).
    pub scheme: Scheme,
    /// The normalized request host.
    pub host: &'a str,
    /// The listener port, or the port the client named when there are no listeners.
    pub port: Option<u16>,
    /// The request path.
    pub path: &'a str,
    /// The query string, without `?`.
    pub query: Option<&'a str>,
    /// The length of the matched PathPrefix, for `ReplacePrefixMatch`.
    pub prefix_len: Option<usize>,
}

/// Builds the `Location` of a redirect.
///
/// Per the Gateway API: without a port the location uses the well-known port of the redirect scheme when a scheme
/// is given, else the listener port; ports 80 for http and 443 for https are left out. The query string is kept.
#[must_use]
pub fn redirect_location(redirect: &RequestRedirect, input: &RedirectInput<'_>) -> String {
    let scheme = redirect.scheme.unwrap_or(input.scheme);
    let host = redirect.hostname.as_deref().unwrap_or(input.host);
    let port = redirect
        .port
        .or_else(|| redirect.scheme.map(Scheme::default_port))
        .or(input.port)
        .unwrap_or_else(|| scheme.default_port());
    let path = match &redirect.path {
        Some(modifier) => rewrite_path(input.path, modifier, input.prefix_len),
        None => input.path.to_owned(),
    };
    let mut location = String::with_capacity(scheme.as_str().len() + host.len() + path.len() + 16);
    location.push_str(scheme.as_str());
    location.push_str("://");
    location.push_str(host);
    if port != scheme.default_port() {
        location.push(':');
        location.push_str(&port.to_string());
    }
    location.push_str(&path);
    if let Some(query) = input.query {
        location.push('?');
        location.push_str(query);
    }
    location
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::HeaderValue;

    fn hv(name: &str, value: &str) -> HeaderValue {
        HeaderValue { name: name.to_owned(), value: value.to_owned() }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn apply_header_modifier_sets_adds_and_removes() {
        let mut headers =
            pairs(&[("X-Header-Set", "old"), ("x-header-add-append", "append-val-1"), ("X-Header-Remove", "r")]);
        let modifier = HeaderModifier {
            set: vec![hv("X-Header-Set", "set-overwrites-values")],
            add: vec![hv("X-Header-Add", "header-val-1"), hv("X-Header-Add-Append", "header-val-2")],
            remove: vec!["x-header-remove".to_owned()],
        };
        apply_header_modifier(&modifier, &mut headers);
        assert_eq!(headers.get("x-header-set").as_deref(), Some("set-overwrites-values"));
        assert_eq!(headers.get("X-Header-Add").as_deref(), Some("header-val-1"));
        assert_eq!(headers.get("X-Header-Add-Append").as_deref(), Some("append-val-1,header-val-2"));
        assert_eq!(headers.get("X-Header-Remove"), None);
    }

    #[test]
    fn rewrite_path_replaces_whole_prefix_elements() {
        let prefix = |v: &str| PathModifier::ReplacePrefixMatch { replace_prefix_match: v.to_owned() };
        assert_eq!(rewrite_path("/prefix/one/two", &prefix("/one"), Some(11)), "/one/two");
        assert_eq!(rewrite_path("/strip-prefix/x", &prefix("/"), Some(13)), "/x");
        assert_eq!(rewrite_path("/strip-prefix", &prefix("/"), Some(13)), "/");
        assert_eq!(rewrite_path("/foo/", &prefix("/bar/"), Some(4)), "/bar/");
        assert_eq!(rewrite_path("/x/y", &prefix("/z"), Some(0)), "/z/x/y");
        assert_eq!(rewrite_path("/x/y", &prefix("/z"), None), "/x/y");
        let full = PathModifier::ReplaceFullPath { replace_full_path: "/one".to_owned() };
        assert_eq!(rewrite_path("/full/one/two", &full, Some(9)), "/one");
    }

    fn redirect(scheme: Option<Scheme>, port: Option<u16>) -> RequestRedirect {
        RequestRedirect { scheme, hostname: Some("example.org".to_owned()), port, path: None, status_code: 302 }
    }

    fn input(scheme: Scheme, port: u16) -> RedirectInput<'static> {
        RedirectInput { scheme, host: "gw.test", port: Some(port), path: "/p", query: None, prefix_len: None }
    }

    #[test]
    fn redirect_location_follows_the_port_rules() {
        let http = Scheme::Http;
        let https = Scheme::Https;
        let cases = [
            (redirect(None, None), input(http, 80), "http://example.org/p"),
            (redirect(None, None), input(http, 8080), "http://example.org:8080/p"),
            (redirect(None, Some(80)), input(http, 8080), "http://example.org/p"),
            (redirect(Some(https), None), input(http, 8080), "https://example.org/p"),
            (redirect(Some(https), Some(8443)), input(http, 80), "https://example.org:8443/p"),
            (redirect(None, None), input(https, 443), "https://example.org/p"),
            (redirect(Some(http), None), input(https, 443), "http://example.org/p"),
            (redirect(Some(http), Some(8080)), input(https, 443), "http://example.org:8080/p"),
        ];
        for (r, i, want) in cases {
            assert_eq!(redirect_location(&r, &i), want);
        }
    }

    #[test]
    fn redirect_location_rewrites_the_path_and_keeps_the_query() {
        let r = RequestRedirect {
            scheme: None,
            hostname: None,
            port: None,
            path: Some(PathModifier::ReplacePrefixMatch { replace_prefix_match: "/replacement-prefix".to_owned() }),
            status_code: 302,
        };
        let i = RedirectInput {
            scheme: Scheme::Http,
            host: "gw.test",
            port: Some(80),
            path: "/original-prefix/lemon",
            query: Some("a=1"),
            prefix_len: Some(16),
        };
        assert_eq!(redirect_location(&r, &i), "http://gw.test/replacement-prefix/lemon?a=1");
    }
}
