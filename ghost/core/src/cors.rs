//! CORS (Gateway API `HTTPCORSFilter`): preflights answered by the gateway, CORS headers on forwarded answers.
//!
//! The gateway owns CORS on a rule with the filter: the backend's own `Access-Control-*` headers are removed from
//! every answer (also from cached objects, which were stored for some other origin), and the filter's headers are
//! added on delivery, never stored. An origin the filter does not allow gets no CORS header at all. Whenever the
//! answer depends on the `Origin` (everything but `*` without credentials), it carries `Vary: Origin`.

use crate::contract::Cors;
use crate::filters::HeaderSink;

/// The CORS response headers the gateway owns on a rule with the filter.
pub const RESPONSE_HEADERS: [&str; 6] = [
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
];

/// The request headers CORS reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct CorsRequest<'a> {
    /// The request method.
    pub method: &'a str,
    /// `Origin`.
    pub origin: Option<&'a str>,
    /// `Access-Control-Request-Method` (preflights).
    pub request_method: Option<&'a str>,
    /// `Access-Control-Request-Headers` (preflights).
    pub request_headers: Option<&'a str>,
}

impl CorsRequest<'_> {
    /// Whether the request is a preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
    #[must_use]
    pub fn is_preflight(&self) -> bool {
        self.method == "OPTIONS" && self.origin.is_some() && self.request_method.is_some()
    }
}

/// The CORS headers of one answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsHeaders {
    /// Headers to set, in order.
    pub set: Vec<(&'static str, String)>,
    /// Whether `Origin` joins `Vary`.
    pub vary: bool,
    /// `exposeHeaders: ["*"]` with credentials: the answer's own header names are listed, since `*` would not be
    /// read as a wildcard.
    pub expose_response_headers: bool,
}

/// Whether `pattern`, an `allowOrigins` entry, is well formed: `*`, or `http(s)://host[:port]` whose host may
/// start with `*`.
#[must_use]
pub fn is_origin_pattern(pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let Some(origin) = Origin::parse(pattern) else { return false };
    if !matches!(origin.scheme, "http" | "https") {
        return false;
    }
    let host = origin.host.strip_prefix('*').unwrap_or(origin.host);
    !host.contains('*') && (host.is_empty() && origin.host == "*" || !host.is_empty())
}

/// An origin split into its parts, the port made explicit for `http` and `https`.
#[derive(Debug, PartialEq, Eq)]
struct Origin<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<u16>,
}

impl<'a> Origin<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let (scheme, rest) = text.split_once("://")?;
        if scheme.is_empty() || rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return None;
        }
        // An IPv6 literal keeps its colons inside the brackets.
        let (host, port) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains(']') => (&rest[..i], Some(rest[i + 1..].parse::<u16>().ok()?)),
            _ => (rest, None),
        };
        if host.is_empty() || port == Some(0) {
            return None;
        }
        let default = match scheme {
            s if s.eq_ignore_ascii_case("http") => Some(80),
            s if s.eq_ignore_ascii_case("https") => Some(443),
            _ => None,
        };
        Some(Self { scheme, host, port: port.or(default) })
    }

    /// Whether this request origin is allowed by `pattern` (case-insensitive; a leading `*` in the pattern's host
    /// stands for one or more characters, dots included).
    fn allowed_by(&self, pattern: &Origin<'_>) -> bool {
        if !self.scheme.eq_ignore_ascii_case(pattern.scheme) || self.port != pattern.port {
            return false;
        }
        match pattern.host.strip_prefix('*') {
            Some("") => true,
            Some(suffix) => {
                self.host.len() > suffix.len()
                    && self.host.is_char_boundary(self.host.len() - suffix.len())
                    && self.host[self.host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
            }
            None => self.host.eq_ignore_ascii_case(pattern.host),
        }
    }
}

fn any(list: &[String]) -> bool {
    list.iter().any(|v| v == "*")
}

/// Whether `origin` is allowed by the filter.
fn allowed(cors: &Cors, origin: &str) -> bool {
    if any(&cors.allow_origins) {
        return !origin.is_empty();
    }
    let Some(origin) = Origin::parse(origin) else { return false };
    cors.allow_origins.iter().filter_map(|p| Origin::parse(p)).any(|p| origin.allowed_by(&p))
}

/// `*` without credentials: every origin gets the same answer.
fn uniform(cors: &Cors) -> bool {
    any(&cors.allow_origins) && !cors.allow_credentials
}

/// The headers every allowed answer carries: origin, credentials, exposed headers.
fn allowed_headers(cors: &Cors, origin: &str, preflight: bool) -> CorsHeaders {
    let mut out = CorsHeaders { vary: !uniform(cors), ..CorsHeaders::default() };
    let allow_origin = if uniform(cors) { "*" } else { origin };
    out.set.push(("Access-Control-Allow-Origin", allow_origin.to_owned()));
    if cors.allow_credentials {
        out.set.push(("Access-Control-Allow-Credentials", "true".to_owned()));
    }
    if any(&cors.expose_headers) && cors.allow_credentials {
        // The answer's own header names; a preflight answer has nothing worth exposing.
        out.expose_response_headers = !preflight;
    } else if any(&cors.expose_headers) {
        out.set.push(("Access-Control-Expose-Headers", "*".to_owned()));
    } else if !cors.expose_headers.is_empty() {
        out.set.push(("Access-Control-Expose-Headers", cors.expose_headers.join(", ")));
    }
    out
}

/// The headers of the gateway's own answer to a preflight (status 204), or `None` when `request` is no preflight.
/// A preflight from an origin the filter does not allow is answered too, without CORS headers: the browser then
/// refuses the cross-origin request.
#[must_use]
pub fn preflight(cors: &Cors, request: &CorsRequest<'_>) -> Option<CorsHeaders> {
    if !request.is_preflight() {
        return None;
    }
    let origin = request.origin.unwrap_or_default();
    if !allowed(cors, origin) {
        return Some(CorsHeaders { vary: !uniform(cors), ..CorsHeaders::default() });
    }
    let mut out = allowed_headers(cors, origin, true);
    let requested_method = request.request_method.unwrap_or_default();
    if any(&cors.allow_methods) {
        // Echoed: `*` is not a wildcard for requests with credentials, and the echo is right for both.
        if !requested_method.is_empty() {
            out.set.push(("Access-Control-Allow-Methods", requested_method.to_owned()));
        }
    } else if !cors.allow_methods.is_empty() {
        out.set.push(("Access-Control-Allow-Methods", cors.allow_methods.join(", ")));
    }
    if any(&cors.allow_headers) {
        if let Some(requested) = request.request_headers.filter(|h| !h.trim().is_empty()) {
            out.set.push(("Access-Control-Allow-Headers", requested.to_owned()));
        }
    } else if !cors.allow_headers.is_empty() {
        out.set.push(("Access-Control-Allow-Headers", cors.allow_headers.join(", ")));
    }
    out.set.push(("Access-Control-Max-Age", cors.max_age.to_string()));
    Some(out)
}

/// The CORS headers of a forwarded request's answer: none for a request without `Origin` or from an origin the
/// filter does not allow (only `Vary`).
#[must_use]
pub fn response(cors: &Cors, request: &CorsRequest<'_>) -> CorsHeaders {
    match request.origin {
        Some(origin) if allowed(cors, origin) => allowed_headers(cors, origin, false),
        _ => CorsHeaders { vary: !uniform(cors), ..CorsHeaders::default() },
    }
}

/// Applies `cors` to an answer's headers: the backend's CORS headers off, the filter's on, `Origin` added to
/// `Vary`. `names` lists the answer's header names, for `exposeHeaders: ["*"]` with credentials.
pub fn apply(cors: &CorsHeaders, headers: &mut impl HeaderSink, names: &[String]) {
    for name in RESPONSE_HEADERS {
        headers.remove(name);
    }
    for (name, value) in &cors.set {
        headers.set(name, value);
    }
    if cors.expose_response_headers {
        let mut exposed: Vec<&str> = Vec::new();
        for name in names {
            let known = |n: &&str| n.eq_ignore_ascii_case(name);
            if !RESPONSE_HEADERS.iter().any(known) && !exposed.iter().any(known) {
                exposed.push(name);
            }
        }
        if !exposed.is_empty() {
            headers.set("Access-Control-Expose-Headers", &exposed.join(", "));
        }
    }
    if cors.vary {
        match headers.get("Vary") {
            Some(v) if v.split(',').any(|p| p.trim() == "*" || p.trim().eq_ignore_ascii_case("origin")) => {}
            Some(v) if !v.trim().is_empty() => headers.set("Vary", &format!("{v}, Origin")),
            _ => headers.set("Vary", "Origin"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str], credentials: bool) -> Cors {
        let list = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Cors {
            allow_origins: list(origins),
            allow_credentials: credentials,
            allow_methods: list(&["GET", "OPTIONS"]),
            allow_headers: list(&["x-header-1", "x-header-2"]),
            expose_headers: list(&["x-header-3", "x-header-4"]),
            max_age: 3600,
        }
    }

    fn preflight_from(origin: &str) -> CorsRequest<'_> {
        CorsRequest {
            method: "OPTIONS",
            origin: Some(origin),
            request_method: Some("GET"),
            request_headers: Some("x-header-1, x-header-2"),
        }
    }

    fn value<'a>(h: &'a CorsHeaders, name: &str) -> Option<&'a str> {
        h.set.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    #[test]
    fn origins_match_exactly_by_wildcard_and_by_default_port() {
        let c = cors(&["https://www.foo.com", "https://*.bar.com", "http://local:8080"], false);
        for ok in ["https://www.foo.com", "HTTPS://WWW.FOO.COM", "https://www.foo.com:443", "https://xpto.www.bar.com"]
        {
            assert!(allowed(&c, ok), "{ok}");
        }
        assert!(allowed(&c, "http://local:8080"));
        for no in ["https://foobar.com", "http://www.foo.com", "https://bar.com", "https://www.foo.com:8443", "null"] {
            assert!(!allowed(&c, no), "{no}");
        }
        assert!(allowed(&cors(&["*"], false), "https://foobar.com:12345"));
    }

    #[test]
    fn origin_patterns_are_checked() {
        for ok in ["*", "https://a.example", "http://*.example", "https://*", "http://a:8080", "https://[::1]:8443"] {
            assert!(is_origin_pattern(ok), "{ok}");
        }
        for no in ["a.example", "ftp://a.example", "https://a.*.example", "https://a/path", "https://a:0", "https://"] {
            assert!(!is_origin_pattern(no), "{no}");
        }
    }

    #[test]
    fn preflight_from_an_allowed_origin_gets_every_header() {
        let h = preflight(&cors(&["https://*.bar.com"], true), &preflight_from("https://www.bar.com")).unwrap();
        assert_eq!(value(&h, "access-control-allow-origin"), Some("https://www.bar.com"));
        assert_eq!(value(&h, "access-control-allow-methods"), Some("GET, OPTIONS"));
        assert_eq!(value(&h, "access-control-allow-headers"), Some("x-header-1, x-header-2"));
        assert_eq!(value(&h, "access-control-expose-headers"), Some("x-header-3, x-header-4"));
        assert_eq!(value(&h, "access-control-max-age"), Some("3600"));
        assert_eq!(value(&h, "access-control-allow-credentials"), Some("true"));
        assert!(h.vary);
    }

    #[test]
    fn preflight_from_another_origin_gets_no_cors_header() {
        let h = preflight(&cors(&["https://www.foo.com"], true), &preflight_from("https://foobar.com")).unwrap();
        assert!(h.set.is_empty());
        assert!(h.vary);
    }

    #[test]
    fn only_options_with_origin_and_request_method_is_a_preflight() {
        let c = cors(&["*"], false);
        assert!(preflight(&c, &CorsRequest { method: "GET", ..preflight_from("https://a.example") }).is_none());
        assert!(preflight(&c, &CorsRequest { request_method: None, ..preflight_from("https://a.example") }).is_none());
        assert!(preflight(&c, &CorsRequest { origin: None, ..preflight_from("https://a.example") }).is_none());
    }

    #[test]
    fn wildcards_echo_with_credentials_and_stay_uniform_without() {
        let mut c = cors(&["*"], true);
        c.allow_methods = vec!["*".to_owned()];
        c.allow_headers = vec!["*".to_owned()];
        let request = CorsRequest { request_method: Some("PUT"), ..preflight_from("https://other.foo.com") };
        let h = preflight(&c, &request).unwrap();
        assert_eq!(value(&h, "access-control-allow-origin"), Some("https://other.foo.com"));
        assert_eq!(value(&h, "access-control-allow-methods"), Some("PUT"));
        assert_eq!(value(&h, "access-control-allow-headers"), Some("x-header-1, x-header-2"));
        assert!(h.vary);
        c.allow_credentials = false;
        let h = preflight(&c, &request).unwrap();
        assert_eq!(value(&h, "access-control-allow-origin"), Some("*"));
        assert_eq!(value(&h, "access-control-allow-credentials"), None);
        assert!(!h.vary);
        let no_headers = CorsRequest { request_headers: None, ..request };
        assert_eq!(value(&preflight(&c, &no_headers).unwrap(), "access-control-allow-headers"), None);
    }

    #[test]
    fn actual_requests_get_origin_credentials_and_exposed_headers_only_when_allowed() {
        let c = cors(&["https://www.foo.com"], true);
        let get = |origin| CorsRequest { method: "GET", origin, ..CorsRequest::default() };
        let h = response(&c, &get(Some("https://www.foo.com")));
        assert_eq!(value(&h, "access-control-allow-origin"), Some("https://www.foo.com"));
        assert_eq!(value(&h, "access-control-allow-credentials"), Some("true"));
        assert_eq!(value(&h, "access-control-allow-methods"), None);
        assert_eq!(response(&c, &get(Some("https://foobar.com"))), CorsHeaders { vary: true, ..Default::default() });
        assert_eq!(response(&c, &get(None)), CorsHeaders { vary: true, ..Default::default() });
    }

    #[test]
    fn apply_replaces_backend_cors_headers_and_adds_origin_to_vary() {
        let c = cors(&["https://www.foo.com"], false);
        let mut headers: Vec<(String, String)> = vec![
            ("Access-Control-Allow-Origin".into(), "https://evil.example".into()),
            ("access-control-max-age".into(), "99".into()),
            ("Vary".into(), "Accept-Encoding".into()),
        ];
        apply(
            &response(&c, &CorsRequest { method: "GET", origin: Some("https://x.example"), ..Default::default() }),
            &mut headers,
            &[],
        );
        assert_eq!(headers, vec![("Vary".to_owned(), "Accept-Encoding, Origin".to_owned())]);
        let mut headers: Vec<(String, String)> = vec![("Vary".into(), "origin".into())];
        let allowed = CorsRequest { method: "GET", origin: Some("https://www.foo.com"), ..Default::default() };
        apply(&response(&c, &allowed), &mut headers, &[]);
        assert_eq!(headers.get("vary").as_deref(), Some("origin"));
        assert_eq!(headers.get("access-control-allow-origin").as_deref(), Some("https://www.foo.com"));
    }

    #[test]
    fn exposing_everything_with_credentials_lists_the_answer_headers() {
        let mut c = cors(&["*"], true);
        c.expose_headers = vec!["*".to_owned()];
        let request = CorsRequest { method: "GET", origin: Some("https://a.example"), ..Default::default() };
        let mut headers: Vec<(String, String)> = Vec::new();
        let names = ["Content-Type", "X-Custom", "x-custom"].map(str::to_owned);
        apply(&response(&c, &request), &mut headers, &names);
        assert_eq!(headers.get("access-control-expose-headers").as_deref(), Some("Content-Type, X-Custom"));
        c.allow_credentials = false;
        let mut headers: Vec<(String, String)> = Vec::new();
        apply(&response(&c, &request), &mut headers, &names);
        assert_eq!(headers.get("access-control-expose-headers").as_deref(), Some("*"));
        assert_eq!(headers.get("access-control-allow-origin").as_deref(), Some("*"));
        assert_eq!(headers.get("vary"), None);
    }
}
