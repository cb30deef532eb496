//! The request view matching works on, and the helpers that read it without allocating in the common case.

use std::borrow::Cow;

/// Read access to request headers.
pub trait HeaderSource {
    /// The value of the first header called `name` (compared case-insensitively).
    fn header(&self, name: &str) -> Option<&str>;
}

/// Headers as a list of pairs, for tests and tools.
impl HeaderSource for [(String, String)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl HeaderSource for Vec<(String, String)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

/// What matching needs to know about a request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a, H: HeaderSource + ?Sized> {
    /// The name of the varnishd socket the request arrived on (`local.socket`).
    pub socket: &'a str,
    /// The Host header as sent (port and case are normalized by the router).
    pub host: &'a str,
    /// The request target: path and optional query string.
    pub url: &'a str,
    /// The request method.
    pub method: &'a str,
    /// The request headers.
    pub headers: &'a H,
    /// A random number; picks the backend group and the endpoint.
    pub random: u64,
}

/// Whether a request asks to become a WebSocket (RFC 6455): `GET` with `Upgrade: websocket` and the `upgrade` token in
/// `Connection`. The gateway then hands the connection to the chosen endpoint as it is (Varnish `pipe`).
#[must_use]
pub fn is_websocket_upgrade<H: HeaderSource + ?Sized>(method: &str, headers: &H) -> bool {
    let has_token = |name: &str, token: &str| {
        headers.header(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    method == "GET" && has_token("upgrade", "websocket") && has_token("connection", "upgrade")
}

/// Lowercases a Host header value and strips its port and a trailing dot; IPv6 literals keep their brackets.
#[must_use]
pub fn normalize_host(host: &str) -> Cow<'_, str> {
    let host = host.trim();
    let host = if host.starts_with('[') {
        match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        }
    } else {
        match host.rfind(':') {
            Some(colon) if host[colon + 1..].bytes().all(|b| b.is_ascii_digit()) && !host[..colon].contains(':') => {
                &host[..colon]
            }
            _ => host,
        }
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

/// The port of a Host header value, if it names one.
#[must_use]
pub fn host_port(host: &str) -> Option<u16> {
    let after = if host.starts_with('[') { &host[host.find(']')? + 1..] } else { host };
    let colon = after.rfind(':')?;
    if after[..colon].contains(':') {
        return None;
    }
    after[colon + 1..].parse().ok()
}

/// Splits a request target into path and query (without the `?`).
#[must_use]
pub fn split_url(url: &str) -> (&str, Option<&str>) {
    match url.find('?') {
        Some(q) => (&url[..q], Some(&url[q + 1..])),
        None => (url, None),
    }
}

/// The decoded value of the first query parameter called `name` (compared exactly after decoding).
#[must_use]
pub fn query_param<'q>(query: &'q str, name: &str) -> Option<Cow<'q, str>> {
    for pair in query.split('&') {
        let (raw_name, raw_value) = match pair.find('=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, ""),
        };
        if raw_name.is_empty() {
            continue;
        }
        if decode_component(raw_name) == name {
            return Some(decode_component(raw_value));
        }
    }
    None
}

/// Decodes `%XX` escapes and `+` as a space; invalid escapes stay as they are.
#[must_use]
pub fn decode_component(raw: &str) -> Cow<'_, str> {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(raw);
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len() => {
                if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    out.push(h << 4 | l);
                    i += 3;
                } else {
                    out.push(b'%');
                    i += 1;
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_upgrades_need_get_upgrade_and_the_connection_token() {
        let headers = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
        };
        let ws = headers(&[("Upgrade", "WebSocket"), ("Connection", "keep-alive, Upgrade")]);
        assert!(is_websocket_upgrade("GET", &ws));
        assert!(!is_websocket_upgrade("POST", &ws));
        assert!(!is_websocket_upgrade("GET", &headers(&[("Upgrade", "websocket")])));
        assert!(!is_websocket_upgrade("GET", &headers(&[("Upgrade", "h2c"), ("Connection", "Upgrade")])));
    }

    #[test]
    fn normalize_host_strips_port_case_and_trailing_dot() {
        assert_eq!(normalize_host("API.Example.com:8080"), "api.example.com");
        assert_eq!(normalize_host("example.com."), "example.com");
        assert_eq!(normalize_host("[::1]:80"), "[::1]");
        assert_eq!(normalize_host("[FD00::A]"), "[fd00::a]");
        assert_eq!(normalize_host("fd00::1"), "fd00::1");
        assert!(matches!(normalize_host("a.example.com"), Cow::Borrowed(_)));
    }

    #[test]
    fn host_port_reads_ipv4_names_and_ipv6_literals() {
        assert_eq!(host_port("a.example.com:8080"), Some(8080));
        assert_eq!(host_port("[::1]:81"), Some(81));
        assert_eq!(host_port("[::1]"), None);
        assert_eq!(host_port("a.example.com"), None);
    }

    #[test]
    fn query_param_decodes_names_and_values() {
        assert_eq!(query_param("a=1&b=x%20y", "b").as_deref(), Some("x y"));
        assert_eq!(query_param("a=1&a=2", "a").as_deref(), Some("1"));
        assert_eq!(query_param("na%6De=v+w", "name").as_deref(), Some("v w"));
        assert_eq!(query_param("flag&x=1", "flag").as_deref(), Some(""));
        assert_eq!(query_param("x=%zz%", "x").as_deref(), Some("%zz%"));
        assert_eq!(query_param("x=1", "y"), None);
    }
}
