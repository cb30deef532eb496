//! Caching semantics of a rule's `cache` settings, without Varnish types: whether a request may be looked up and
//! under which key, the URL and cookies sent on a miss, and how long (if at all) a response is stored.
//!
//! Request side ([`CacheRule::decide`], in `vcl_recv`): only GET and HEAD are looked up; a bypass condition, an
//! `Authorization` header or a cookie outside the key pass the request unless the settings allow them. The key is
//! the normalised host, the rule identity and its policy, the path and the normalised query (parameters kept per mode, sorted by
//! name), then the named headers and cookies; the URL sent on a miss is exactly that path and query.
//!
//! Response side ([`FetchSettings::decide`], in `vcl_backend_response`): freshness from `Surrogate-Control`
//! max-age, then `Cache-Control` s-maxage, max-age, then `Expires`, else the default; a forced TTL overrides all.
//! Server errors, `no-store`, `private`, `no-cache`, `Vary: *` and `Set-Cookie` make a response uncacheable unless
//! allowed.

use std::borrow::Cow;
use std::fmt::Write as _;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::contract::{Bypass, Cache, QueryMode, RouteId, DEFAULT_MAX_BODY_BYTES};
use crate::request::{decode_component, split_url, HeaderSource};
use crate::text::push_decimal;
use crate::HeaderToken;

/// The most surrogate keys stored per object; more are dropped.
pub const MAX_SURROGATE_KEYS: usize = 256;

/// How long an uncacheable answer is remembered as hit-for-miss, in seconds: short, so that a cacheable answer
/// soon replaces it, and long enough that concurrent requests for it are not serialised on the waiting list.
pub const HIT_FOR_MISS_SECONDS: u32 = 10;

/// A rule's compiled cache settings.
#[derive(Debug, Clone)]
pub struct CacheRule {
    /// The settings as in ghost.json.
    pub settings: Cache,
    /// `namespace/name/rule`: the rule's part of every key, and its name in metrics.
    pub identity: String,
    /// `namespace/name` of the CachePolicy: also part of every key, since one rule served on listeners with different
    /// policies becomes several route entries with the same identity.
    pub policy: String,
    bypass: Vec<BypassCond>,
}

#[derive(Debug, Clone)]
enum BypassCond {
    Header { name: String, regex: Option<Regex> },
    Cookie(String),
}

/// Why a request of a cached rule is not looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassReason {
    /// Not GET or HEAD, nor a method the settings allow.
    Method,
    /// An allowed method besides GET and HEAD whose body has no `Content-Length` or a larger one than allowed.
    Body,
    /// The request carries `Authorization` and the settings do not allow it.
    Authorization,
    /// The request carries a cookie the key does not name and the settings do not allow removing it.
    Cookie,
    /// A bypass condition holds (the index in `bypass`).
    Bypass(usize),
}

impl PassReason {
    /// A short text for logs.
    #[must_use]
    pub fn describe(self) -> Cow<'static, str> {
        match self {
            Self::Method => "method is not GET or HEAD".into(),
            Self::Body => "request body is larger than allow.maxBodyBytes or has no Content-Length".into(),
            Self::Authorization => "request has Authorization".into(),
            Self::Cookie => "request has a cookie outside the key".into(),
            Self::Bypass(i) => format!("bypass[{i}] holds").into(),
        }
    }
}

/// What to do with the `Cookie` header before lookup and fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieChange {
    /// Leave it as it is.
    Keep,
    /// Replace it with this value (only cookies named in the key).
    Set(String),
    /// Remove it.
    Remove,
}

/// A request that is looked up in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The request target to send on a miss (and to hash): the path and the normalised query.
    pub url: String,
    /// The change to the `Cookie` header.
    pub cookie: CookieChange,
    /// The cache key, each part length-prefixed so that no two different part lists give the same key.
    pub key: String,
    /// The normalised host, stored on the object for invalidation.
    pub host: String,
    /// Whether the request body joins the key (a method besides GET and HEAD that the settings allow): the VCL
    /// caches the body, hashes it and fetches a miss with the client's method and body.
    pub body: bool,
}

/// The request-side decision of a cached rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestDecision {
    /// Look the request up.
    Lookup(Lookup),
    /// Pass it to the origin, uncached.
    Pass(PassReason),
}

/// What the request side needs to know about a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a, H: HeaderSource + ?Sized> {
    /// The request method.
    pub method: &'a str,
    /// The normalised host.
    pub host: &'a str,
    /// The request target as it will be forwarded (after a URLRewrite).
    pub url: &'a str,
    /// The request headers.
    pub headers: &'a H,
}

impl CacheRule {
    /// Compiles the settings of the rule `id`.
    ///
    /// # Errors
    ///
    /// Returns a message when the settings name no policy or a bypass regular expression does not compile.
    pub fn new(id: &RouteId, settings: Cache) -> Result<Self, String> {
        let Some(policy) = &settings.policy else { return Err("cache settings name no policy".to_owned()) };
        let policy = format!("{}/{}", policy.namespace, policy.name);
        let bypass = settings
            .bypass
            .iter()
            .enumerate()
            .map(|(i, b)| match b {
                Bypass::Header { name, value_regex } => {
                    let regex = value_regex
                        .as_deref()
                        .map(|r| {
                            regex::RegexBuilder::new(r).size_limit(1 << 20).build().map_err(|_| {
                                format!("cache.bypass[{i}].valueRegex {r:?} is not a valid regular expression")
                            })
                        })
                        .transpose()?;
                    Ok(BypassCond::Header { name: name.clone(), regex })
                }
                Bypass::Cookie { name } => Ok(BypassCond::Cookie(name.clone())),
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { identity: format!("{}/{}/{}", id.namespace, id.name, id.rule), policy, settings, bypass })
    }

    /// Decides whether a request is looked up, and under which key.
    #[must_use]
    pub fn decide<H: HeaderSource + ?Sized>(&self, req: &RequestView<'_, H>) -> RequestDecision {
        let body = req.method != "GET" && req.method != "HEAD";
        if body {
            let allow = &self.settings.allow;
            if !allow.methods.as_deref().unwrap_or_default().iter().any(|m| m.as_str() == req.method) {
                return RequestDecision::Pass(PassReason::Method);
            }
            // Only a body of known, small size is read into memory; a chunked or larger one passes unread.
            let limit = u64::from(allow.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES));
            let length = req.headers.header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
            if length.is_none_or(|n| n > limit) || req.headers.header("transfer-encoding").is_some() {
                return RequestDecision::Pass(PassReason::Body);
            }
        }
        let cookie_header = req.headers.header("cookie").unwrap_or("");
        for (i, cond) in self.bypass.iter().enumerate() {
            let holds = match cond {
                BypassCond::Header { name, regex } => {
                    req.headers.header(name).is_some_and(|v| regex.as_ref().is_none_or(|re| re.is_match(v)))
                }
                BypassCond::Cookie(name) => cookies(cookie_header).any(|(n, _)| n == name),
            };
            if holds {
                return RequestDecision::Pass(PassReason::Bypass(i));
            }
        }
        let allow = &self.settings.allow;
        if !allow.authorization && req.headers.header("authorization").is_some() {
            return RequestDecision::Pass(PassReason::Authorization);
        }
        let key_cookies = &self.settings.key.cookies;
        let mut kept = String::new();
        let mut dropped = false;
        for (name, value) in cookies(cookie_header) {
            if key_cookies.iter().any(|k| k == name) {
                if !kept.is_empty() {
                    kept.push_str("; ");
                }
                let _ = write!(kept, "{name}={value}");
            } else {
                dropped = true;
            }
        }
        if dropped && !allow.other_cookies {
            return RequestDecision::Pass(PassReason::Cookie);
        }
        let cookie = match (dropped, kept.is_empty()) {
            (false, _) => CookieChange::Keep,
            (true, true) => CookieChange::Remove,
            (true, false) => CookieChange::Set(kept.clone()),
        };
        let (path, query) = split_url(req.url);
        let url = match query.map(|q| normalize_query(q, self.settings.key.query.mode, &self.settings.key.query.params))
        {
            Some(q) if !q.is_empty() => format!("{path}?{q}"),
            _ => path.to_owned(),
        };
        let mut key = String::with_capacity(req.host.len() + self.identity.len() + self.policy.len() + url.len() + 32);
        push_part(&mut key, req.host);
        push_part(&mut key, &self.identity);
        push_part(&mut key, &self.policy);
        push_part(&mut key, &url);
        if body {
            // GET and POST of one URL are different objects (the body's hash follows in the VCL).
            push_part(&mut key, req.method);
        }
        for name in &self.settings.key.headers {
            push_optional(&mut key, req.headers.header(name));
        }
        for name in key_cookies {
            push_optional(&mut key, cookies(&kept).find(|(n, _)| n == name).map(|(_, v)| v));
        }
        RequestDecision::Lookup(Lookup { url, cookie, key, host: req.host.to_owned(), body })
    }

    /// What the backend side needs, for its header token ([`HeaderToken`]).
    #[must_use]
    pub fn fetch_settings(&self, host: &str) -> FetchSettings {
        let s = &self.settings;
        FetchSettings {
            rule: self.identity.clone(),
            policy: self.policy.clone(),
            route_namespace: self.identity.split('/').next().unwrap_or_default().to_owned(),
            host: host.to_owned(),
            default: s.ttl.default,
            forced: s.ttl.forced,
            grace: s.ttl.grace,
            keep: s.ttl.keep,
            no_store: s.allow.no_store,
            private: s.allow.private,
            set_cookie: s.allow.set_cookie,
            surrogate_header: s.surrogate_keys.header.clone(),
        }
    }
}

/// The key of a request that a rule without cache settings looks up anyway (user VCL returned `hash`): host, rule
/// and the whole URL, so that rules never share objects.
#[must_use]
pub fn fallback_key(host: &str, rule: &str, url: &str) -> String {
    let mut key = String::new();
    push_part(&mut key, host);
    push_part(&mut key, rule);
    push_part(&mut key, url);
    key
}

fn push_part(key: &mut String, part: &str) {
    push_decimal(key, u64::try_from(part.len()).unwrap_or(u64::MAX));
    key.push(':');
    key.push_str(part);
    key.push(';');
}

fn push_optional(key: &mut String, part: Option<&str>) {
    match part {
        Some(p) => push_part(key, p),
        None => key.push_str("-;"),
    }
}

/// The `name=value` pairs of a `Cookie` header, trimmed; pairs without `=` are skipped.
pub fn cookies(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        let name = name.trim();
        (!name.is_empty()).then(|| (name, value.trim()))
    })
}

/// The query string kept per `mode`, parameters sorted by decoded name (stable, so repeated parameters keep their
/// order), raw pairs unchanged, empty pairs dropped.
#[must_use]
pub fn normalize_query(query: &str, mode: QueryMode, params: &[String]) -> String {
    if mode == QueryMode::None {
        return String::new();
    }
    let mut pairs: Vec<(Cow<'_, str>, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| (decode_component(p.split_once('=').map_or(p, |(n, _)| n)), p))
        .filter(|(name, _)| match mode {
            QueryMode::Include => params.iter().any(|p| p == name),
            QueryMode::Exclude => !params.iter().any(|p| p == name),
            QueryMode::All | QueryMode::None => true,
        })
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::with_capacity(query.len());
    for (i, (_, raw)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(raw);
    }
    out
}

/// What the backend side of a cached rule needs, carried from `vcl_recv` to `vcl_backend_fetch` in one request
/// header (the two run in different tasks) that ghost removes before the request leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchSettings {
    /// `namespace/name/rule`.
    #[serde(rename = "r")]
    pub rule: String,
    /// The CachePolicy, `namespace/name`.
    #[serde(rename = "p")]
    pub policy: String,
    /// The route's namespace: the prefix of surrogate keys.
    #[serde(rename = "n")]
    pub route_namespace: String,
    /// The normalised host, stored on the object.
    #[serde(rename = "h")]
    pub host: String,
    /// `ttl.default`.
    #[serde(rename = "d")]
    pub default: u32,
    /// `ttl.forced`.
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub forced: Option<u32>,
    /// `ttl.grace`.
    #[serde(rename = "g")]
    pub grace: u32,
    /// `ttl.keep`.
    #[serde(rename = "k")]
    pub keep: u32,
    /// `allow.noStore`.
    #[serde(rename = "ns", default)]
    pub no_store: bool,
    /// `allow.private`.
    #[serde(rename = "pr", default)]
    pub private: bool,
    /// `allow.setCookie`.
    #[serde(rename = "sc", default)]
    pub set_cookie: bool,
    /// `surrogateKeys.header`.
    #[serde(rename = "sk")]
    pub surrogate_header: String,
}

/// Why a response is not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uncacheable {
    /// A 5xx answer.
    ServerError,
    /// A status that is cacheable only with explicit freshness, and there is none.
    Status,
    /// `Cache-Control: no-store`.
    NoStore,
    /// `Cache-Control: private`.
    Private,
    /// `Cache-Control: no-cache`.
    NoCache,
    /// `Set-Cookie`.
    SetCookie,
    /// `Vary: *`.
    VaryStar,
    /// Freshness of zero and nothing to keep.
    Expired,
}

impl Uncacheable {
    /// A short text for logs.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::ServerError => "server error",
            Self::Status => "status without explicit freshness",
            Self::NoStore => "no-store",
            Self::Private => "private",
            Self::NoCache => "no-cache",
            Self::SetCookie => "Set-Cookie",
            Self::VaryStar => "Vary: *",
            Self::Expired => "already stale",
        }
    }
}

/// How a response is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    /// Seconds fresh.
    pub ttl: u32,
    /// Seconds served stale while refreshing.
    pub grace: u32,
    /// Seconds kept for conditional revalidation.
    pub keep: u32,
    /// Remove `Set-Cookie` before storing.
    pub strip_set_cookie: bool,
    /// Remove `Cache-Control` and `Expires` (a forced TTL replaces them).
    pub strip_freshness: bool,
}

/// The response-side decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseDecision {
    /// Store the response.
    Store(Storage),
    /// Do not store it: remember it as hit-for-miss for [`HIT_FOR_MISS_SECONDS`].
    HitForMiss(Uncacheable),
}

/// What the response side needs to know about a backend response.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponseView<'a> {
    /// The status code.
    pub status: u16,
    /// Every `Cache-Control` value, joined by commas.
    pub cache_control: Option<&'a str>,
    /// `Surrogate-Control`.
    pub surrogate_control: Option<&'a str>,
    /// `Expires`.
    pub expires: Option<&'a str>,
    /// `Date`.
    pub date: Option<&'a str>,
    /// `Age`.
    pub age: Option<&'a str>,
    /// Whether `Set-Cookie` is present.
    pub set_cookie: bool,
    /// `Vary`.
    pub vary: Option<&'a str>,
    /// Whether the response has a validator (`ETag` or `Last-Modified`), which makes keep useful.
    pub validator: bool,
    /// Now, in seconds since the Unix epoch (for `Expires` without `Date`).
    pub now: i64,
}

impl HeaderToken for FetchSettings {}

impl FetchSettings {
    /// Decides whether and how long a response is stored.
    #[must_use]
    pub fn decide(&self, resp: &ResponseView<'_>) -> ResponseDecision {
        use ResponseDecision::HitForMiss;
        if resp.status >= 500 {
            return HitForMiss(Uncacheable::ServerError);
        }
        let cc = resp.cache_control.map(directives).unwrap_or_default();
        let sc = resp.surrogate_control.map(directives).unwrap_or_default();
        let has = |list: &[(String, Option<String>)], name: &str| list.iter().any(|(n, _)| n == name);
        if (has(&cc, "no-store") || has(&sc, "no-store")) && !self.no_store {
            return HitForMiss(Uncacheable::NoStore);
        }
        if has(&cc, "private") && !self.private {
            return HitForMiss(Uncacheable::Private);
        }
        if resp.set_cookie && !self.set_cookie {
            return HitForMiss(Uncacheable::SetCookie);
        }
        if resp.vary.is_some_and(|v| v.split(',').any(|p| p.trim() == "*")) {
            return HitForMiss(Uncacheable::VaryStar);
        }
        let origin = || -> Option<u32> {
            let seconds = |list: &[(String, Option<String>)], name: &str| {
                list.iter().find(|(n, _)| n == name).and_then(|(_, v)| v.as_deref()?.trim().parse::<u32>().ok())
            };
            let lifetime =
                seconds(&sc, "max-age").or_else(|| seconds(&cc, "s-maxage")).or_else(|| seconds(&cc, "max-age"));
            let age = resp.age.and_then(|a| a.trim().parse::<u32>().ok()).unwrap_or(0);
            if let Some(lifetime) = lifetime {
                return Some(lifetime.saturating_sub(age));
            }
            let expires = resp.expires?;
            let base = resp.date.and_then(http_date).unwrap_or(resp.now);
            let lifetime = http_date(expires).map_or(0, |at| at - base);
            Some(u32::try_from(lifetime.max(0)).unwrap_or(u32::MAX).saturating_sub(age))
        };
        let ttl = if let Some(forced) = self.forced {
            forced
        } else {
            if has(&cc, "no-cache") {
                return HitForMiss(Uncacheable::NoCache);
            }
            match origin() {
                Some(ttl) => ttl,
                None if heuristically_cacheable(resp.status) => self.default,
                None => return HitForMiss(Uncacheable::Status),
            }
        };
        if ttl == 0 && self.grace == 0 && (self.keep == 0 || !resp.validator) {
            return HitForMiss(Uncacheable::Expired);
        }
        ResponseDecision::Store(Storage {
            ttl,
            grace: self.grace,
            keep: self.keep,
            strip_set_cookie: resp.set_cookie,
            strip_freshness: self.forced.is_some(),
        })
    }

    /// The `xkey` value of an object: the keys of the configured header and of `xkey`, each prefixed with the
    /// route's namespace (`namespace/key`, so tenants never share keys), deduplicated, at most
    /// [`MAX_SURROGATE_KEYS`].
    #[must_use]
    pub fn surrogate_keys<'v>(&self, values: impl IntoIterator<Item = &'v str>) -> String {
        let mut seen: Vec<&str> = Vec::new();
        for value in values {
            for key in value.split(|c: char| c.is_ascii_whitespace() || c == ',').filter(|k| !k.is_empty()) {
                if seen.len() < MAX_SURROGATE_KEYS && !seen.contains(&key) {
                    seen.push(key);
                }
            }
        }
        let mut out = String::new();
        for key in seen {
            if !out.is_empty() {
                out.push(' ');
            }
            let _ = write!(out, "{}/{key}", self.route_namespace);
        }
        out
    }
}

/// Statuses RFC 9111 lets a cache store without explicit freshness (206 left out: Varnish handles ranges itself).
fn heuristically_cacheable(status: u16) -> bool {
    matches!(status, 200 | 203 | 204 | 300 | 301 | 308 | 404 | 405 | 410 | 414)
}

/// `Cache-Control`-style directives: lowercase names, optional values without quotes.
fn directives(value: &str) -> Vec<(String, Option<String>)> {
    value
        .split(',')
        .filter_map(|part| {
            let part = part.trim();
            if part.is_empty() {
                return None;
            }
            Some(match part.split_once('=') {
                Some((n, v)) => (n.trim().to_ascii_lowercase(), Some(v.trim().trim_matches('"').to_owned())),
                None => (part.to_ascii_lowercase(), None),
            })
        })
        .collect()
}

/// Seconds since the Unix epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`); other forms give `None`.
#[must_use]
pub fn http_date(value: &str) -> Option<i64> {
    let mut parts = value.split_ascii_whitespace();
    let _weekday = parts.next()?;
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3_600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{CacheAllow, CacheKey, CacheQuery, CacheTtl, PolicyRef, SurrogateKeys};

    fn settings() -> Cache {
        Cache {
            policy: Some(PolicyRef { namespace: "shop".into(), name: "catalog".into() }),
            ttl: CacheTtl::default(),
            allow: CacheAllow::default(),
            key: CacheKey::default(),
            bypass: Vec::new(),
            surrogate_keys: SurrogateKeys::default(),
            debug_headers: false,
        }
    }

    fn id(rule: u32) -> RouteId {
        RouteId { namespace: "shop".into(), name: "catalog".into(), rule, rule_name: None }
    }

    fn decide(cache: &Cache, method: &str, url: &str, headers: &[(&str, &str)]) -> RequestDecision {
        let rule = CacheRule::new(&id(0), cache.clone()).unwrap();
        let headers: Vec<(String, String)> = headers.iter().map(|(n, v)| ((*n).into(), (*v).into())).collect();
        rule.decide(&RequestView { method, host: "shop.example.com", url, headers: &headers })
    }

    fn lookup(cache: &Cache, url: &str, headers: &[(&str, &str)]) -> Lookup {
        match decide(cache, "GET", url, headers) {
            RequestDecision::Lookup(l) => l,
            other @ RequestDecision::Pass(_) => panic!("expected a lookup, got {other:?}"),
        }
    }

    #[test]
    fn only_get_and_head_are_looked_up() {
        let c = settings();
        assert!(matches!(decide(&c, "HEAD", "/", &[]), RequestDecision::Lookup(_)));
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            assert_eq!(decide(&c, method, "/", &[]), RequestDecision::Pass(PassReason::Method));
        }
    }

    #[test]
    fn an_allowed_post_is_looked_up_with_its_method_in_the_key_when_its_body_fits() {
        let mut c = settings();
        c.allow.methods = Some(vec![crate::contract::Method::Post]);
        c.allow.max_body_bytes = Some(10);
        let post = |headers: &[(&str, &str)]| decide(&c, "POST", "/q?b=1&a=2", headers);
        let RequestDecision::Lookup(looked_up) = post(&[("content-length", "10")]) else { panic!("not looked up") };
        assert!(looked_up.body);
        assert_eq!(looked_up.url, "/q?a=2&b=1");
        let get = lookup(&c, "/q?a=2&b=1", &[]);
        assert!(!get.body);
        assert_ne!(looked_up.key, get.key, "GET and POST of one URL share no object");
        assert_eq!(post(&[("content-length", "11")]), RequestDecision::Pass(PassReason::Body));
        assert_eq!(post(&[]), RequestDecision::Pass(PassReason::Body), "no Content-Length");
        let chunked = [("content-length", "3"), ("transfer-encoding", "chunked")];
        assert_eq!(post(&chunked), RequestDecision::Pass(PassReason::Body));
        assert_eq!(decide(&c, "PUT", "/q", &[("content-length", "1")]), RequestDecision::Pass(PassReason::Method));
        c.allow.max_body_bytes = None;
        let fits = decide(&c, "POST", "/q", &[("content-length", &DEFAULT_MAX_BODY_BYTES.to_string())]);
        assert!(matches!(fits, RequestDecision::Lookup(_)));
    }

    #[test]
    fn query_modes_sort_and_filter_parameters() {
        let params = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        assert_eq!(normalize_query("b=1&a=2", QueryMode::All, &[]), "a=2&b=1");
        assert_eq!(normalize_query("a=2&&b=1&", QueryMode::All, &[]), "a=2&b=1");
        assert_eq!(normalize_query("a=2&a=1", QueryMode::All, &[]), "a=2&a=1");
        assert_eq!(normalize_query("b=1&a=2", QueryMode::None, &[]), "");
        assert_eq!(normalize_query("b=1&a=2&c=3", QueryMode::Include, &params(&["c", "a"])), "a=2&c=3");
        assert_eq!(normalize_query("utm_source=x&b=1&a=2", QueryMode::Exclude, &params(&["utm_source"])), "a=2&b=1");
        assert_eq!(normalize_query("utm%5Fsource=x&a", QueryMode::Exclude, &params(&["utm_source"])), "a");
    }

    #[test]
    fn excluded_parameters_merge_urls_and_the_origin_gets_the_key_url() {
        let mut c = settings();
        c.key.query = CacheQuery { mode: QueryMode::Exclude, params: vec!["utm_source".into()] };
        let a = lookup(&c, "/p?b=1&a=2", &[]);
        let b = lookup(&c, "/p?a=2&b=1&utm_source=x", &[]);
        let d = lookup(&c, "/p?a=2&b=1&utm_source=y", &[]);
        assert_eq!(a.url, "/p?a=2&b=1");
        assert_eq!((a.key.as_str(), a.url.as_str()), (b.key.as_str(), b.url.as_str()));
        assert_eq!(b.key, d.key);
        assert_eq!(lookup(&c, "/p?utm_source=x", &[]).url, "/p");
        assert_ne!(lookup(&c, "/p?a=3", &[]).key, a.key);
    }

    #[test]
    fn keys_separate_hosts_rules_headers_and_cookies() {
        let mut c = settings();
        c.key.headers = vec!["accept-language".into()];
        c.key.cookies = vec!["lang".into()];
        let base = lookup(&c, "/", &[]);
        let rule1 = CacheRule::new(&id(1), c.clone()).unwrap();
        let headers: Vec<(String, String)> = Vec::new();
        let other_rule =
            rule1.decide(&RequestView { method: "GET", host: "shop.example.com", url: "/", headers: &headers });
        let RequestDecision::Lookup(other_rule) = other_rule else { panic!() };
        assert_ne!(other_rule.key, base.key);
        // One rule served under two policies (listeners with different policies) never shares objects either.
        let mut other_policy = c.clone();
        other_policy.policy.as_mut().unwrap().name = "other".into();
        assert_ne!(lookup(&other_policy, "/", &[]).key, base.key);
        let fr = lookup(&c, "/", &[("Accept-Language", "fr")]);
        assert_ne!(fr.key, base.key);
        // An empty value and an absent header are different keys.
        assert_ne!(lookup(&c, "/", &[("Accept-Language", "")]).key, base.key);
        let lang = lookup(&c, "/", &[("Cookie", "lang=de")]);
        assert_ne!(lang.key, base.key);
        assert_eq!(lang.cookie, CookieChange::Keep);
        // Length prefixes keep parts apart: "/a" + header "b" differs from "/ab" + no header.
        assert_ne!(fallback_key("h", "r", "/a"), fallback_key("h", "r/a", ""),);
    }

    #[test]
    fn cookies_outside_the_key_pass_or_are_removed() {
        let mut c = settings();
        c.key.cookies = vec!["lang".into()];
        assert_eq!(
            decide(&c, "GET", "/", &[("Cookie", "session=1; lang=de")]),
            RequestDecision::Pass(PassReason::Cookie)
        );
        c.allow.other_cookies = true;
        let l = lookup(&c, "/", &[("Cookie", "session=1; lang=de")]);
        assert_eq!(l.cookie, CookieChange::Set("lang=de".into()));
        assert_eq!(l.key, lookup(&c, "/", &[("Cookie", "lang=de")]).key);
        assert_eq!(lookup(&c, "/", &[("Cookie", "session=1")]).cookie, CookieChange::Remove);
    }

    #[test]
    fn authorization_and_bypass_conditions_pass() {
        let mut c = settings();
        assert_eq!(
            decide(&c, "GET", "/", &[("Authorization", "Basic x")]),
            RequestDecision::Pass(PassReason::Authorization)
        );
        c.allow.authorization = true;
        assert!(matches!(decide(&c, "GET", "/", &[("Authorization", "Basic x")]), RequestDecision::Lookup(_)));
        c.bypass = vec![
            Bypass::Header { name: "x-preview".into(), value_regex: Some("^1$".into()) },
            Bypass::Header { name: "x-debug".into(), value_regex: None },
            Bypass::Cookie { name: "preview".into() },
        ];
        c.allow.other_cookies = true;
        assert!(matches!(decide(&c, "GET", "/", &[("X-Preview", "0")]), RequestDecision::Lookup(_)));
        assert_eq!(decide(&c, "GET", "/", &[("X-Preview", "1")]), RequestDecision::Pass(PassReason::Bypass(0)));
        assert_eq!(decide(&c, "GET", "/", &[("X-Debug", "")]), RequestDecision::Pass(PassReason::Bypass(1)));
        assert_eq!(
            decide(&c, "GET", "/", &[("Cookie", "a=1; preview=yes")]),
            RequestDecision::Pass(PassReason::Bypass(2))
        );
        c.bypass = vec![Bypass::Header { name: "x".into(), value_regex: Some("(".into()) }];
        assert!(CacheRule::new(&id(0), c).is_err());
    }

    fn fetch() -> FetchSettings {
        CacheRule::new(&id(0), settings()).unwrap().fetch_settings("shop.example.com")
    }

    fn ttl_of(f: &FetchSettings, resp: &ResponseView<'_>) -> u32 {
        match f.decide(resp) {
            ResponseDecision::Store(s) => s.ttl,
            other @ ResponseDecision::HitForMiss(_) => panic!("expected storage, got {other:?}"),
        }
    }

    #[test]
    fn freshness_prefers_surrogate_control_then_s_maxage_then_max_age_then_expires() {
        let f = fetch();
        let ok = ResponseView { status: 200, now: 1_000_000, ..ResponseView::default() };
        assert_eq!(ttl_of(&f, &ok), 120);
        let cc = ResponseView { cache_control: Some("public, max-age=30, s-maxage=60"), ..ok };
        assert_eq!(ttl_of(&f, &cc), 60);
        assert_eq!(ttl_of(&f, &ResponseView { surrogate_control: Some("max-age=90"), ..cc }), 90);
        assert_eq!(ttl_of(&f, &ResponseView { cache_control: Some("max-age=30"), age: Some("10"), ..ok }), 20);
        let expires = ResponseView {
            expires: Some("Sun, 06 Nov 1994 08:50:37 GMT"),
            date: Some("Sun, 06 Nov 1994 08:49:37 GMT"),
            ..ok
        };
        assert_eq!(ttl_of(&f, &expires), 60);
        // An invalid Expires means already expired; grace still keeps the object briefly.
        assert_eq!(ttl_of(&f, &ResponseView { expires: Some("0"), ..ok }), 0);
        let forced = FetchSettings { forced: Some(600), ..f.clone() };
        match forced.decide(&cc) {
            ResponseDecision::Store(s) => assert!(s.ttl == 600 && s.strip_freshness && s.grace == 10),
            other @ ResponseDecision::HitForMiss(_) => panic!("{other:?}"),
        }
    }

    #[test]
    fn uncacheable_responses_become_hit_for_miss_unless_allowed() {
        let f = fetch();
        let ok = ResponseView { status: 200, ..ResponseView::default() };
        let hfm = |f: &FetchSettings, r: ResponseView<'_>| match f.decide(&r) {
            ResponseDecision::HitForMiss(why) => Some(why),
            ResponseDecision::Store(_) => None,
        };
        assert_eq!(hfm(&f, ResponseView { status: 503, ..ok }), Some(Uncacheable::ServerError));
        assert_eq!(hfm(&f, ResponseView { status: 302, ..ok }), Some(Uncacheable::Status));
        assert_eq!(hfm(&f, ResponseView { status: 302, cache_control: Some("max-age=5"), ..ok }), None);
        assert_eq!(hfm(&f, ResponseView { cache_control: Some("No-Store"), ..ok }), Some(Uncacheable::NoStore));
        assert_eq!(
            hfm(&f, ResponseView { cache_control: Some("private, max-age=9"), ..ok }),
            Some(Uncacheable::Private)
        );
        assert_eq!(hfm(&f, ResponseView { cache_control: Some("no-cache"), ..ok }), Some(Uncacheable::NoCache));
        assert_eq!(hfm(&f, ResponseView { set_cookie: true, ..ok }), Some(Uncacheable::SetCookie));
        assert_eq!(hfm(&f, ResponseView { vary: Some("Accept, *"), ..ok }), Some(Uncacheable::VaryStar));
        let no_grace = FetchSettings { grace: 0, ..f.clone() };
        assert_eq!(hfm(&no_grace, ResponseView { cache_control: Some("max-age=0"), ..ok }), Some(Uncacheable::Expired));
        let allowed = FetchSettings { no_store: true, private: true, set_cookie: true, forced: Some(60), ..f };
        match allowed.decide(&ResponseView { cache_control: Some("no-store, private"), set_cookie: true, ..ok }) {
            ResponseDecision::Store(s) => assert!(s.strip_set_cookie && s.ttl == 60),
            other @ ResponseDecision::HitForMiss(_) => panic!("{other:?}"),
        }
    }

    #[test]
    fn surrogate_keys_are_prefixed_with_the_route_namespace() {
        let f = fetch();
        assert_eq!(f.surrogate_keys(["p1 p2  p1", "p3,p4"]), "shop/p1 shop/p2 shop/p3 shop/p4");
        assert_eq!(f.surrogate_keys([]), "");
    }

    #[test]
    fn fetch_settings_survive_their_token() {
        let f = FetchSettings { forced: Some(5), ..fetch() };
        let token = f.to_token();
        assert!(!token.contains('\n'));
        assert_eq!(FetchSettings::from_token(&token), Some(f));
        assert_eq!(FetchSettings::from_token("nope"), None);
    }

    #[test]
    fn http_date_reads_imf_fixdate() {
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(http_date("0"), None);
    }
}
