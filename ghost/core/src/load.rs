//! Parsing ghost.json: the whole document must have the contract's shape, while a route with a bad value is
//! skipped and reported so that the rest still loads.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::contract::{
    Backend, BackendEntry, BackendFilter, Bypass, Cache, Cluster, Cors, Filter, GhostJson, HeaderModifier, Listener,
    Match, Method, PathMatchType, PathModifier, QueryMode, Requests, Retry, Route, RouteCache, Transport,
    TransportProtocol, Vhost, MAX_BODY_BYTES, MAX_MIRRORS, MAX_RETRY_ATTEMPTS, OLDEST_VERSION, VERSION,
};
use crate::error::{Error, ErrorKind};
use crate::forwarding::Cidr;

/// A route or vhost left out of the loaded state, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// JSON path of what was skipped (`$.vhosts["a.example.com"].routes[3]`).
    pub path: String,
    /// `namespace/name` and rule index of the route, when known.
    pub route: Option<String>,
    /// Why it was skipped.
    pub reason: String,
}

/// A parsed document holding only the routes that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The document without the skipped routes and vhosts.
    pub doc: GhostJson,
    /// What was left out.
    pub skipped: Vec<Skipped>,
}

/// A parsed document, what was left out of it split by vhost key (a router keeps each vhost's share for deltas).
#[derive(Debug)]
pub(crate) struct LoadedParts {
    /// The document without the skipped routes and vhosts.
    pub doc: GhostJson,
    /// Left out of the document-wide parts (cache policies).
    pub skipped: Vec<Skipped>,
    /// Left out per vhost key, every key of the document listed (a key that is not a vhost key, with nothing in
    /// `doc`, too).
    pub vhosts: BTreeMap<String, Vec<Skipped>>,
    /// The `backends` entries left out (not in `doc`), by key.
    pub backends: BTreeMap<String, Skipped>,
}

/// A change to a loaded document: vhosts replaced (`Some`) or removed (`None`), parsed as [`load`] parses a
/// document's vhosts; a key that is not a vhost key is removed and reported.
#[derive(Debug)]
pub struct Delta {
    /// The new vhosts by key; `None` removes the key.
    pub vhosts: BTreeMap<String, Option<Vhost>>,
    /// What was left out of each key's vhost (every key listed).
    pub skipped: BTreeMap<String, Vec<Skipped>>,
    /// The `backends` entries replaced (`Some`) or removed (`None`: gone, or left out as [`Delta::backends_skipped`]
    /// says); the vhosts naming them are not recompiled.
    pub backends: BTreeMap<String, Option<BackendEntry>>,
    /// The `backends` entries of the delta left out, by key.
    pub backends_skipped: BTreeMap<String, Skipped>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelta<'a> {
    version: Option<serde_json::Value>,
    #[serde(borrow, default)]
    vhosts: BTreeMap<String, Option<RawVhost<'a>>>,
    #[serde(borrow, default)]
    backends: BTreeMap<String, Option<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDoc<'a> {
    version: Option<serde_json::Value>,
    #[serde(default)]
    listeners: Vec<Listener>,
    #[serde(rename = "cachePolicies", default, borrow)]
    cache_policies: Option<BTreeMap<String, &'a RawValue>>,
    #[serde(borrow)]
    vhosts: BTreeMap<String, RawVhost<'a>>,
    #[serde(borrow, default)]
    backends: BTreeMap<String, &'a RawValue>,
    #[serde(default)]
    requests: Option<Requests>,
    #[serde(default)]
    cluster: Option<Cluster>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVhost<'a> {
    #[serde(borrow)]
    routes: Vec<&'a RawValue>,
}

/// Parses a ghost.json document.
///
/// # Errors
///
/// Returns an [`Error`] when the text is not JSON, the document or a listener does not have the contract's shape,
/// or the version is not [`VERSION`]. Problems inside one route or vhost skip it instead (see [`Loaded::skipped`]).
pub fn load(text: &str) -> Result<Loaded, Error> {
    let parts = load_parts(text)?;
    let mut skipped = parts.skipped;
    skipped.extend(parts.backends.into_values());
    skipped.extend(parts.vhosts.into_values().flatten());
    Ok(Loaded { doc: parts.doc, skipped })
}

/// Parses a delta document (`{"version": 1, "vhosts": {"<key>": {"routes": [...]}, "<gone>": null}}`, see
/// `ghost/README.md`).
///
/// # Errors
///
/// Returns an [`Error`] when the text is not JSON, does not have the delta's shape, or the version is not
/// [`VERSION`]. Problems inside one route or vhost skip it instead, as in [`load`].
pub fn load_delta(text: &str) -> Result<Delta, Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let raw: RawDelta<'_> = parse_raw(&mut de)?;
    check_version(raw.version.as_ref())?;
    let mut vhosts = BTreeMap::new();
    let mut skipped = BTreeMap::new();
    for (key, raw_vhost) in raw.vhosts {
        let mut left_out = Vec::new();
        let vhost = raw_vhost.and_then(|raw| load_vhost(&key, &raw, &mut left_out));
        vhosts.insert(key.clone(), vhost);
        skipped.insert(key, left_out);
    }
    let mut backends = BTreeMap::new();
    let mut backends_skipped = BTreeMap::new();
    for (key, raw) in raw.backends {
        let entry =
            raw.and_then(|raw| load_backend_entry(&key, raw).map_err(|s| backends_skipped.insert(key.clone(), s)).ok());
        backends.insert(key, entry);
    }
    Ok(Delta { vhosts, skipped, backends, backends_skipped })
}

/// Deserializes a whole document, with the JSON path of a shape error.
fn parse_raw<'a, T: Deserialize<'a>>(
    de: &mut serde_json::Deserializer<serde_json::de::StrRead<'a>>,
) -> Result<T, Error> {
    let raw: T = match serde_path_to_error::deserialize(&mut *de) {
        Ok(raw) => raw,
        Err(err) => {
            let message = strip_position(&err.inner().to_string());
            if err.inner().is_syntax() || err.inner().is_eof() {
                return Err(Error::new(ErrorKind::Syntax, "$", format!("not JSON: {}", err.inner())));
            }
            return Err(Error::new(ErrorKind::Schema, error_path(&err, &message), message));
        }
    };
    if let Err(err) = de.end() {
        return Err(Error::new(ErrorKind::Syntax, "$", err.to_string()));
    }
    Ok(raw)
}

fn check_version(version: Option<&serde_json::Value>) -> Result<(), Error> {
    match version {
        Some(v) if v.as_u64().is_some_and(|v| (OLDEST_VERSION..=VERSION).contains(&v)) => Ok(()),
        _ => Err(Error::new(
            ErrorKind::Version,
            "$.version",
            format!("must be {OLDEST_VERSION} to {VERSION}, the versions this build reads"),
        )),
    }
}

/// [`load`], with what was left out split by vhost key.
pub(crate) fn load_parts(text: &str) -> Result<LoadedParts, Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let raw: RawDoc<'_> = parse_raw(&mut de)?;
    check_version(raw.version.as_ref())?;
    for (i, listener) in raw.listeners.iter().enumerate() {
        check_listener(listener)
            .map_err(|(field, msg)| Error::new(ErrorKind::Schema, format!("$.listeners[{i}]{field}"), msg))?;
    }
    for (i, cidr) in raw.requests.iter().flat_map(|r| r.trusted_proxies.iter()).enumerate() {
        cidr.parse::<Cidr>()
            .map_err(|msg| Error::new(ErrorKind::Schema, format!("$.requests.trustedProxies[{i}]"), msg))?;
    }
    if let Some(cluster) = &raw.cluster {
        crate::cluster::check(cluster)
            .map_err(|(field, msg)| Error::new(ErrorKind::Schema, format!("$.cluster{field}"), msg))?;
    }
    let mut skipped = Vec::new();
    let cache_policies = raw.cache_policies.map(|table| load_cache_policies(table, &mut skipped));
    let mut vhosts = BTreeMap::new();
    let mut vhost_skipped = BTreeMap::new();
    for (key, raw_vhost) in raw.vhosts {
        let mut left_out = Vec::new();
        if let Some(vhost) = load_vhost(&key, &raw_vhost, &mut left_out) {
            vhosts.insert(key.clone(), vhost);
        }
        vhost_skipped.insert(key, left_out);
    }
    let mut backends = BTreeMap::new();
    let mut backends_skipped = BTreeMap::new();
    for (key, raw) in raw.backends {
        match load_backend_entry(&key, raw) {
            Ok(entry) => {
                backends.insert(key, entry);
            }
            Err(skipped) => {
                backends_skipped.insert(key, skipped);
            }
        }
    }
    Ok(LoadedParts {
        doc: GhostJson {
            // check_version() took it.
            version: raw.version.as_ref().and_then(serde_json::Value::as_u64).unwrap_or(VERSION),
            listeners: raw.listeners,
            cache_policies,
            vhosts,
            backends,
            requests: raw.requests,
            cluster: raw.cluster,
        },
        skipped,
        vhosts: vhost_skipped,
        backends: backends_skipped,
    })
}

/// Parses and checks one entry of the `backends` table; a bad one is left out and reported, and the groups naming it
/// answer 500 as for a key the table lacks.
fn load_backend_entry(key: &str, raw: &RawValue) -> Result<BackendEntry, Skipped> {
    let path = format!("$.backends{}", path_key(key));
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let checked = match serde_path_to_error::deserialize::<_, BackendEntry>(&mut de) {
        Ok(entry) => check_endpoints(&entry.endpoints)
            .and_then(|()| {
                entry.transport.as_ref().map_or(Ok(()), |t| check_transport(t).map_err(|e| format!("transport: {e}")))
            })
            .map(|()| entry),
        Err(err) => {
            let message = strip_position(&err.inner().to_string());
            let at = error_path(&err, &message);
            Err(if at == "$" { message } else { format!("at {}: {message}", &at[1..]) })
        }
    };
    checked.map_err(|reason| Skipped { path, route: None, reason })
}

/// Parses one vhost's routes, skipping (into `skipped`) the routes that do not pass; `None` when the key is not a
/// vhost key.
fn load_vhost(key: &str, raw_vhost: &RawVhost<'_>, skipped: &mut Vec<Skipped>) -> Option<Vhost> {
    let vhost_path = format!("$.vhosts{}", path_key(key));
    if !is_vhost_key(key) {
        skipped.push(Skipped {
            path: vhost_path,
            route: None,
            reason: "vhost key must be a lowercase hostname, a `*.`-wildcard hostname or `*`".to_owned(),
        });
        return None;
    }
    let mut routes = Vec::with_capacity(raw_vhost.routes.len());
    for (i, raw_route) in raw_vhost.routes.iter().enumerate() {
        let path = format!("{vhost_path}.routes[{i}]");
        // The plain parse is the fast path; the path-tracking parse runs only to explain a failure.
        let parsed = serde_json::from_str::<Route>(raw_route.get()).map_err(|_| {
            let mut de = serde_json::Deserializer::from_str(raw_route.get());
            serde_path_to_error::deserialize::<_, Route>(&mut de).err()
        });
        match parsed {
            Ok(route) => match check_route(&route) {
                Ok(()) => routes.push(route),
                Err(reason) => skipped.push(Skipped { path, route: Some(route_label(&route)), reason }),
            },
            Err(None) => skipped.push(Skipped {
                route: route_label_of_raw(raw_route.get()),
                reason: "route does not have the ghost.json route shape".to_owned(),
                path,
            }),
            Err(Some(err)) => {
                let message = strip_position(&err.inner().to_string());
                let at = error_path(&err, &message);
                let reason = if at == "$" { message } else { format!("at {}: {message}", &at[1..]) };
                skipped.push(Skipped { route: route_label_of_raw(raw_route.get()), reason, path });
            }
        }
    }
    Some(Vhost { routes })
}

/// The entries of `cachePolicies` that parse and pass the checks; the others are skipped and reported, and so are
/// the routes that name them (the router finds no such policy).
fn load_cache_policies(table: BTreeMap<String, &RawValue>, skipped: &mut Vec<Skipped>) -> BTreeMap<String, Cache> {
    let mut good = BTreeMap::new();
    for (key, raw) in table {
        let path = format!("$.cachePolicies{}", path_key(&key));
        let mut de = serde_json::Deserializer::from_str(raw.get());
        let checked = match serde_path_to_error::deserialize::<_, Cache>(&mut de) {
            Ok(cache) => check_policy_key(&key).and_then(|()| check_cache(&cache, false)).map(|()| cache),
            Err(err) => {
                let message = strip_position(&err.inner().to_string());
                let at = error_path(&err, &message);
                Err(if at == "$" { message } else { format!("at {}: {message}", &at[1..]) })
            }
        };
        match checked {
            Ok(cache) => {
                good.insert(key, cache);
            }
            Err(reason) => skipped.push(Skipped { path, route: None, reason }),
        }
    }
    good
}

fn check_policy_key(key: &str) -> Result<(), String> {
    match key.split_once('/') {
        Some((namespace, name)) if !namespace.is_empty() && !name.is_empty() && !name.contains('/') => Ok(()),
        _ => Err(format!("key {key:?} must be a CachePolicy's namespace/name")),
    }
}

/// `namespace/name rule N`, how reports name a route.
#[must_use]
pub fn route_label(route: &Route) -> String {
    format!("{}/{} rule {}", route.id.namespace, route.id.name, route.id.rule)
}

fn route_label_of_raw(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Id {
        namespace: String,
        name: String,
        rule: u32,
    }
    #[derive(Deserialize)]
    struct WithId {
        id: Id,
    }
    let with_id: WithId = serde_json::from_str(text).ok()?;
    Some(format!("{}/{} rule {}", with_id.id.namespace, with_id.id.name, with_id.id.rule))
}

// serde_json appends " at line L column C", which means nothing to a reader of a route that was re-parsed alone.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

// serde reports an unknown field at the field's own path; the problem belongs to the object that holds it.
fn error_path(err: &serde_path_to_error::Error<serde_json::Error>, message: &str) -> String {
    let mut path = json_path(err.path());
    if message.starts_with("unknown field") {
        if let Some(cut) = path.rfind(['.', '[']) {
            path.truncate(cut.max(1));
        }
    }
    path
}

fn json_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::from("$");
    for segment in path {
        match segment {
            serde_path_to_error::Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
            }
            serde_path_to_error::Segment::Map { key } => out.push_str(&path_key(key)),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
        }
    }
    out
}

fn path_key(key: &str) -> String {
    let ident = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ident {
        format!(".{key}")
    } else {
        format!("[{}]", serde_json::Value::String(key.to_owned()))
    }
}

fn check_listener(listener: &Listener) -> Result<(), (&'static str, String)> {
    if listener.name.is_empty() {
        return Err((".name", "must not be empty".to_owned()));
    }
    let mut chars = listener.socket.chars();
    let socket_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !socket_ok {
        return Err((".socket", "must be a varnishd socket name".to_owned()));
    }
    if listener.port == 0 {
        return Err((".port", "must be between 1 and 65535".to_owned()));
    }
    if let Some(hostname) = &listener.hostname {
        if !is_hostname(hostname) {
            return Err((".hostname", "must be a lowercase hostname, optionally `*.`-prefixed".to_owned()));
        }
    }
    Ok(())
}

fn check_route(route: &Route) -> Result<(), String> {
    if route.id.namespace.is_empty() || route.id.name.is_empty() {
        return Err("id.namespace and id.name must not be empty".to_owned());
    }
    if !is_kube_time(&route.created) {
        return Err(format!("created {:?} must be a UTC timestamp like 2026-01-02T03:04:05Z", route.created));
    }
    if route.listeners.is_empty() || route.listeners.iter().any(String::is_empty) {
        return Err("listeners must name at least one listener".to_owned());
    }
    for (i, m) in route.matches.iter().enumerate() {
        check_match(m).map_err(|e| format!("matches[{i}]: {e}"))?;
    }
    for (i, filter) in route.filters.iter().enumerate() {
        check_filter(filter).map_err(|e| format!("filters[{i}]: {e}"))?;
    }
    for (i, backend) in route.backends.iter().enumerate() {
        check_backend(backend).map_err(|e| format!("backends[{i}]: {e}"))?;
    }
    if route.mirrors.len() > MAX_MIRRORS {
        return Err(format!("mirrors: at most {MAX_MIRRORS}"));
    }
    for (i, mirror) in route.mirrors.iter().enumerate() {
        check_backend(&mirror.backend).map_err(|e| format!("mirrors[{i}].backend: {e}"))?;
        if mirror.backend.backend.is_some() {
            return Err(format!("mirrors[{i}].backend: a mirror holds its endpoints inline, not a backends key"));
        }
        if let Some(f) = mirror.fraction {
            if f.denominator == 0 || f.numerator > f.denominator || f.denominator > 1_000_000 {
                return Err(format!(
                    "mirrors[{i}].fraction: {}/{} must have 1 <= denominator <= 1000000 and numerator <= denominator",
                    f.numerator, f.denominator
                ));
            }
        }
    }
    // A named policy is looked up when the router compiles the route (`Router::build`), which skips it when missing.
    if let Some(RouteCache::Inline(cache)) = &route.cache {
        check_cache(cache, true).map_err(|e| format!("cache: {e}"))?;
    }
    if let Some(retry) = &route.retry {
        check_retry(retry).map_err(|e| format!("retry: {e}"))?;
    }
    let too_long = |ms: Option<u32>| ms.is_some_and(|ms| ms > MAX_MILLIS);
    if let Some(t) = &route.timeouts {
        if too_long(t.request_ms) || too_long(t.backend_request_ms) {
            return Err(format!("timeouts: at most {MAX_MILLIS} ms"));
        }
    }
    Ok(())
}

/// The longest timeout or back-off, in milliseconds (fits a signed 32-bit integer).
const MAX_MILLIS: u32 = 2_147_483_647;

fn check_retry(retry: &Retry) -> Result<(), String> {
    if let Some(code) = retry.codes.iter().find(|c| !(400..=599).contains(*c)) {
        return Err(format!("codes: {code} is not an error status (400 to 599)"));
    }
    if retry.codes.len() > 200 {
        return Err("codes: at most 200".to_owned());
    }
    if !(1..=MAX_RETRY_ATTEMPTS).contains(&retry.attempts) {
        return Err(format!("attempts: {} is not between 1 and {MAX_RETRY_ATTEMPTS}", retry.attempts));
    }
    if retry.backoff_ms > MAX_MILLIS {
        return Err(format!("backoffMs: at most {MAX_MILLIS}"));
    }
    Ok(())
}

/// The largest number of seconds a TTL, grace or keep may hold (fits a signed 32-bit integer).
const MAX_SECONDS: u32 = 2_147_483_647;

/// Checks settings written out on a route (`inline`: they must name their policy) or in `cachePolicies` (where the
/// key names it, so they must not).
fn check_cache(cache: &Cache, inline: bool) -> Result<(), String> {
    match (&cache.policy, inline) {
        (Some(policy), true) if policy.namespace.is_empty() || policy.name.is_empty() => {
            return Err("policy.namespace and policy.name must not be empty".to_owned());
        }
        (None, true) => return Err("policy is required on settings written out on a route".to_owned()),
        (Some(_), false) => return Err("unknown field \"policy\": the key names the policy".to_owned()),
        _ => {}
    }
    let ttl = &cache.ttl;
    if [ttl.default, ttl.grace, ttl.keep].into_iter().chain(ttl.forced).any(|s| s > MAX_SECONDS) {
        return Err(format!("ttl values must be at most {MAX_SECONDS} seconds"));
    }
    let query = &cache.key.query;
    if matches!(query.mode, QueryMode::All | QueryMode::None) && !query.params.is_empty() {
        return Err("key.query.params are only allowed with mode Include or Exclude".to_owned());
    }
    if query.params.len() > 64 || query.params.iter().any(|p| p.is_empty() || p.len() > 256) {
        return Err("key.query.params must hold at most 64 names of 1 to 256 characters".to_owned());
    }
    if cache.key.headers.len() > 16 || cache.key.cookies.len() > 16 || cache.bypass.len() > 16 {
        return Err("key.headers, key.cookies and bypass must hold at most 16 entries each".to_owned());
    }
    for name in &cache.key.headers {
        if !is_header_name(name) || name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(format!("key header {name:?} must be a lowercase HTTP header name"));
        }
    }
    let cookies = cache.key.cookies.iter().chain(cache.bypass.iter().filter_map(|b| match b {
        Bypass::Cookie { name } => Some(name),
        Bypass::Header { .. } => None,
    }));
    for name in cookies {
        if !is_header_name(name) {
            return Err(format!("cookie name {name:?} must be a token"));
        }
    }
    for bypass in &cache.bypass {
        if let Bypass::Header { name, value_regex } = bypass {
            if !is_header_name(name) {
                return Err(format!("bypass header name {name:?} must be an HTTP header name (token characters)"));
            }
            if value_regex.as_ref().is_some_and(|r| r.is_empty() || r.len() > 1024) {
                return Err("bypass valueRegex must hold 1 to 1024 characters".to_owned());
            }
        }
    }
    let methods = cache.allow.methods.as_deref().unwrap_or_default();
    if methods.len() > 1 || methods.iter().any(|m| *m != Method::Post) {
        return Err("allow.methods may only hold POST".to_owned());
    }
    if cache.allow.max_body_bytes.is_some_and(|n| n == 0 || n > MAX_BODY_BYTES) {
        return Err(format!("allow.maxBodyBytes must be between 1 and {MAX_BODY_BYTES}"));
    }
    if !is_header_name(&cache.surrogate_keys.header) {
        return Err("surrogateKeys.header must be an HTTP header name".to_owned());
    }
    Ok(())
}

fn check_match(m: &Match) -> Result<(), String> {
    if m.path.value.is_empty() {
        return Err("path.value must not be empty".to_owned());
    }
    if m.path.kind != PathMatchType::RegularExpression && !m.path.value.starts_with('/') {
        return Err(format!("path.value {:?} must start with /", m.path.value));
    }
    for h in &m.headers {
        if !is_header_name(&h.name) {
            return Err(format!("header name {:?} must be an HTTP header name (token characters)", h.name));
        }
    }
    if m.query_params.iter().any(|q| q.name.is_empty()) {
        return Err("query parameter name must not be empty".to_owned());
    }
    Ok(())
}

fn check_filter(filter: &Filter) -> Result<(), String> {
    match filter {
        Filter::RequestHeaderModifier { request_header_modifier: m }
        | Filter::ResponseHeaderModifier { response_header_modifier: m } => check_modifier(m),
        Filter::RequestRedirect { request_redirect: r } => {
            if !matches!(r.status_code, 301 | 302 | 303 | 307 | 308) {
                return Err(format!("statusCode {} must be one of 301, 302, 303, 307, 308", r.status_code));
            }
            if r.port == Some(0) {
                return Err("port must be between 1 and 65535".to_owned());
            }
            check_optional_hostname(r.hostname.as_deref())?;
            check_path_modifier(r.path.as_ref())
        }
        Filter::UrlRewrite { url_rewrite: r } => {
            check_optional_hostname(r.hostname.as_deref())?;
            check_path_modifier(r.path.as_ref())
        }
        Filter::Cors { cors } => check_cors(cors),
    }
}

fn check_cors(cors: &Cors) -> Result<(), String> {
    if let Some(origin) = cors.allow_origins.iter().find(|o| !crate::cors::is_origin_pattern(o)) {
        return Err(format!("allowOrigins entry {origin:?} must be `*` or http(s)://host[:port]"));
    }
    let names = cors.allow_headers.iter().chain(&cors.expose_headers).chain(&cors.allow_methods);
    if let Some(name) = names.into_iter().find(|n| !is_header_name(n)) {
        return Err(format!("CORS name {name:?} must be an HTTP token"));
    }
    Ok(())
}

fn check_modifier(m: &HeaderModifier) -> Result<(), String> {
    let names = m.set.iter().chain(&m.add).map(|h| h.name.as_str()).chain(m.remove.iter().map(String::as_str));
    for name in names {
        if !is_header_name(name) {
            return Err(format!("header name {name:?} must be an HTTP header name (token characters)"));
        }
    }
    for h in m.set.iter().chain(&m.add) {
        if h.value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(format!("header value of {:?} must not contain CR, LF or NUL", h.name));
        }
    }
    Ok(())
}

fn check_optional_hostname(hostname: Option<&str>) -> Result<(), String> {
    match hostname {
        Some(h) if !is_hostname(h) || h.starts_with('*') => Err(format!("hostname {h:?} must be a lowercase hostname")),
        _ => Ok(()),
    }
}

fn check_path_modifier(modifier: Option<&PathModifier>) -> Result<(), String> {
    let value = match modifier {
        None => return Ok(()),
        Some(
            PathModifier::ReplaceFullPath { replace_full_path: v }
            | PathModifier::ReplacePrefixMatch { replace_prefix_match: v },
        ) => v,
    };
    if !value.starts_with('/') || value.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(format!("path {value:?} must start with / and hold no spaces or control characters"));
    }
    Ok(())
}

fn check_backend(backend: &Backend) -> Result<(), String> {
    if backend.name.is_empty() {
        return Err("name must not be empty".to_owned());
    }
    if backend.weight > 1_000_000 {
        return Err(format!("weight {} must be at most 1000000", backend.weight));
    }
    if backend.backend.is_some() && (!backend.endpoints.is_empty() || backend.transport.is_some()) {
        return Err("a group naming a backends entry must hold no endpoints or transport of its own".to_owned());
    }
    check_endpoints(&backend.endpoints)?;
    for filter in &backend.filters {
        match filter {
            BackendFilter::RequestHeaderModifier { request_header_modifier: m }
            | BackendFilter::ResponseHeaderModifier { response_header_modifier: m } => check_modifier(m)?,
        }
    }
    if let Some(transport) = &backend.transport {
        check_transport(transport).map_err(|e| format!("transport: {e}"))?;
    }
    Ok(())
}

fn check_endpoints(endpoints: &[crate::contract::Endpoint]) -> Result<(), String> {
    for ep in endpoints {
        if ep.address.parse::<IpAddr>().is_err() {
            return Err(format!("endpoint address {:?} must be an IPv4 or IPv6 address", ep.address));
        }
        if ep.port == 0 {
            return Err(format!("endpoint port of {} must be between 1 and 65535", ep.address));
        }
    }
    Ok(())
}

fn check_transport(transport: &Transport) -> Result<(), String> {
    match (transport.protocol, &transport.tls) {
        (TransportProtocol::H2c | TransportProtocol::Http, Some(_)) => {
            Err("tls must be absent for protocols HTTP and H2C".to_owned())
        }
        (TransportProtocol::Https, None) => Err("tls is required for protocol HTTPS".to_owned()),
        (TransportProtocol::H2c | TransportProtocol::Http, None) => Ok(()),
        (TransportProtocol::Https, Some(tls)) => {
            if tls.hostname.is_empty() {
                return Err("tls.hostname must not be empty".to_owned());
            }
            if tls.subject_alt_names.iter().any(String::is_empty) {
                return Err("tls.subjectAltNames must not hold an empty name".to_owned());
            }
            if let Some(uri) = tls.uri_subject_alt_names.iter().find(|u| !is_absolute_uri(u)) {
                return Err(format!("tls.uriSubjectAltNames: {uri:?} must be an absolute URI (scheme://authority...)"));
            }
            Ok(())
        }
    }
}

/// Whether `uri` starts with a scheme and `//`, as the Gateway API's AbsoluteURI does.
fn is_absolute_uri(uri: &str) -> bool {
    uri.split_once("://").is_some_and(|(scheme, _)| !scheme.is_empty() && !scheme.contains([':', '/', '?', '#']))
}

/// Whether `name` is an HTTP header name (RFC 9110 token).
#[must_use]
pub fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `host` is a lowercase DNS name, optionally starting with a `*.` label.
#[must_use]
pub fn is_hostname(host: &str) -> bool {
    let rest = host.strip_prefix("*.").unwrap_or(host);
    if rest.is_empty() || host.len() > 253 {
        return false;
    }
    rest.split('.').all(|label| {
        let bytes = label.as_bytes();
        !bytes.is_empty()
            && bytes.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-'
    })
}

fn is_vhost_key(key: &str) -> bool {
    key == "*" || is_hostname(key)
}

fn is_kube_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_rejects_text_that_is_not_json() {
        let err = load("{\"version\": 1,").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Syntax);
        assert_eq!(err.path(), "$");
    }

    #[test]
    fn load_reads_versions_1_and_2_and_rejects_others() {
        for version in [0, 3] {
            let err = load(&format!(r#"{{"version": {version}, "vhosts": {{}}}}"#)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Version);
            assert_eq!(err.path(), "$.version");
        }
        assert!(load(r#"{"version": 1, "vhosts": {}}"#).is_ok());
        assert!(load(r#"{"version": 2, "backends": {}, "vhosts": {}}"#).is_ok());
    }

    #[test]
    fn a_bad_backends_entry_is_left_out_and_reported_and_a_group_naming_one_holds_nothing_else() {
        let loaded = load(
            r#"{"version": 2, "backends": {"ns/a:80": {"endpoints": [{"address": "10.0.0.1", "port": 80}]},
                "ns/b:80": {"endpoints": [{"address": "nope", "port": 80}]}, "ns/c:80": {"extra": 1}}, "vhosts": {"a": {"routes": [
                {"id": {"namespace": "ns", "name": "r", "rule": 0}, "created": "2026-01-01T00:00:00Z", "listeners": ["l"],
                 "backends": [{"name": "ns/a:80", "backend": "ns/a:80", "endpoints": [{"address": "10.0.0.2", "port": 80}]}]}]}}}"#,
        )
        .unwrap();
        assert_eq!(loaded.doc.backends.keys().collect::<Vec<_>>(), ["ns/a:80"]);
        let paths: Vec<&str> = loaded.skipped.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(paths, [r#"$.backends["ns/b:80"]"#, r#"$.backends["ns/c:80"]"#, "$.vhosts.a.routes[0]"]);
        assert!(loaded.skipped[2].reason.contains("no endpoints or transport of its own"), "{:?}", loaded.skipped[2]);
    }

    #[test]
    fn load_skips_a_route_with_a_bad_value_and_keeps_the_others() {
        let text = r#"{"version": 1, "vhosts": {"a.example.com": {"routes": [
            {"id": {"namespace": "ns", "name": "bad", "rule": 0}, "created": "yesterday", "listeners": ["l"]},
            {"id": {"namespace": "ns", "name": "good", "rule": 0}, "created": "2026-01-01T00:00:00Z", "listeners": ["l"]}
        ]}}}"#;
        let loaded = load(text).unwrap();
        assert_eq!(loaded.doc.vhosts["a.example.com"].routes.len(), 1);
        assert_eq!(loaded.skipped.len(), 1);
        assert_eq!(loaded.skipped[0].path, r#"$.vhosts["a.example.com"].routes[0]"#);
        assert_eq!(loaded.skipped[0].route.as_deref(), Some("ns/bad rule 0"));
    }

    #[test]
    fn is_hostname_accepts_wildcards_and_rejects_uppercase() {
        assert!(is_hostname("a.example.com"));
        assert!(is_hostname("*.example.com"));
        assert!(!is_hostname("A.example.com"));
        assert!(!is_hostname("a.*.com"));
        assert!(!is_hostname("-a.com"));
    }

    #[test]
    fn path_key_quotes_keys_that_are_not_identifiers() {
        assert_eq!(path_key("vhosts"), ".vhosts");
        assert_eq!(path_key("a.example.com"), r#"["a.example.com"]"#);
    }
}
