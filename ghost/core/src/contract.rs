//! The ghost.json v1 contract as serde types.
//!
//! These types mirror `ghost/contract/ghost_json.ts` field for field: unknown fields are rejected and defaults are
//! the zod defaults, so deserializing a document and serializing it again yields what the zod schema outputs.
//! Value-level rules that serde cannot express (timestamps, header-name syntax, regex syntax, …) live in
//! [`crate::load()`], which skips the offending route instead of rejecting the document.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The ghost.json version this build writes; it reads [`OLDEST_VERSION`] up to this one.
pub const VERSION: u64 = 2;

/// The oldest ghost.json version this build reads: version 1 has no top-level `backends` table (every backend group
/// holds its endpoints inline).
pub const OLDEST_VERSION: u64 = 1;

/// A whole ghost.json document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GhostJson {
    /// Format version; must be [`VERSION`].
    pub version: u64,
    /// The Gateway's listeners and the varnishd sockets their traffic arrives on.
    #[serde(default)]
    pub listeners: Vec<Listener>,
    /// Each CachePolicy's settings once, by `namespace/name`, for the routes that name it.
    #[serde(rename = "cachePolicies", default, skip_serializing_if = "Option::is_none")]
    pub cache_policies: Option<BTreeMap<String, Cache>>,
    /// Routes per vhost key: an exact hostname, a `*.` wildcard or `*`.
    pub vhosts: BTreeMap<String, Vhost>,
    /// Version 2: the endpoints of each Service port (its TLS settings in the key), which backend groups name by key
    /// ([`Backend::backend`]), so that an endpoint change is one entry, whatever the number of routes using it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub backends: BTreeMap<String, BackendEntry>,
    /// How client requests are normalised and whose forwarding headers are believed; absent: the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Requests>,
    /// The clustered cache: the gateway's pods and the key that signs their requests to each other; absent: every
    /// pod caches on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Cluster>,
}

/// The clustered cache of a Gateway: each cacheable object has one owner among the ready gateway pods, which stores
/// it; the others fetch it from the owner's peer listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// This pod's peer listener.
    #[serde(rename = "self")]
    pub own: Endpoint,
    /// The peer listeners of the gateway's ready pods (this one among them when it is ready).
    pub peers: Vec<Endpoint>,
    /// The key that signs and checks peer requests (at least 32 characters; never derived from public fields).
    pub secret: String,
}

/// How client requests are normalised and whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Requests {
    /// What an encoded `/` or `\` (`%2F`, `%5C`) or a raw `\` in the request path does.
    #[serde(default)]
    pub escaped_slashes: EscapedSlashes,
    /// Clients (CIDRs, `10.0.0.0/8`, `2001:db8::/32`) whose `X-Forwarded-*`, `Forwarded` and `X-Real-IP` headers
    /// are kept; everyone else's are replaced.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

/// The policy for encoded or backslash path separators, which many frameworks turn into `/` after routing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum EscapedSlashes {
    /// Answer 400.
    #[default]
    Reject,
    /// Answer a redirect (307) to the path with them unescaped (`\` becomes `/`).
    UnescapeAndRedirect,
    /// Unescape them and route and forward the result.
    UnescapeAndForward,
    /// Forward them as they are; they do not separate segments when matching.
    KeepUnchanged,
}

/// A Gateway listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    /// The listener's name in the Gateway.
    pub name: String,
    /// The varnishd `-a` socket name that carries this listener's traffic.
    pub socket: String,
    /// The listener port as declared on the Gateway.
    pub port: u16,
    /// The listener protocol.
    pub protocol: Protocol,
    /// The listener hostname; absent means any hostname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

/// A listener protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    /// Plain HTTP.
    #[serde(rename = "HTTP")]
    Http,
    /// HTTPS (TLS terminated in front of varnishd).
    #[serde(rename = "HTTPS")]
    Https,
}

/// The routes of one vhost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vhost {
    /// One entry per HTTPRoute rule.
    pub routes: Vec<Route>,
}

/// One HTTPRoute rule on one vhost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Which rule this is.
    pub id: RouteId,
    /// The HTTPRoute's creationTimestamp (`YYYY-MM-DDTHH:MM:SSZ`).
    pub created: String,
    /// Names of the listeners this route serves on this vhost.
    pub listeners: Vec<String>,
    /// The rule's matches; any one matching selects the rule.
    #[serde(default = "default_matches")]
    pub matches: Vec<Match>,
    /// Rule filters, in order.
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// Weighted backend groups.
    #[serde(default)]
    pub backends: Vec<Backend>,
    /// The rule's RequestMirror filters: a copy of each forwarded request goes to each (see [`crate::mirror`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<Mirror>,
    /// How the rule caches; absent: every request passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<RouteCache>,
    /// The rule's timeouts; absent: varnishd's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
    /// The rule's retries; absent: a failed attempt is not retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
}

/// One RequestMirror filter of a rule: the backend that gets copies of the rule's requests, and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mirror {
    /// The mirror's backend group; its `weight` and `filters` are not used.
    pub backend: Backend,
    /// The share of requests mirrored; absent: every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<Fraction>,
}

/// `numerator / denominator` of a rule's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fraction {
    /// At most `denominator`.
    pub numerator: u32,
    /// At least 1.
    #[serde(default = "default_denominator")]
    pub denominator: u32,
}

fn default_denominator() -> u32 {
    100
}

/// The most mirrors a rule may have.
pub const MAX_MIRRORS: usize = 16;

/// A rule's timeouts (Gateway API `HTTPRouteTimeouts`) in milliseconds: 0 disables one, absent keeps varnishd's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Timeouts {
    /// The whole request, every retry and back-off included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_ms: Option<u32>,
    /// Each attempt at a backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_request_ms: Option<u32>,
}

/// A rule's retries (Gateway API `HTTPRouteRetry`): on `codes`, on connection errors and on timeouts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Retry {
    /// Response statuses that are retried (400 to 599).
    #[serde(default)]
    pub codes: Vec<u16>,
    /// How many times a failed attempt is retried (1 to [`MAX_RETRY_ATTEMPTS`]).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// The least time between a failed attempt and the next one.
    #[serde(default)]
    pub backoff_ms: u32,
}

/// The most retries a rule may ask for: varnishd's default `max_retries`, past which Varnish ends a fetch with 503.
pub const MAX_RETRY_ATTEMPTS: u32 = 4;

fn default_attempts() -> u32 {
    1
}

/// A route's `cache`: the `namespace/name` of its policy in `cachePolicies`, or the settings written out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RouteCache {
    /// A key of the document's `cachePolicies` (what the operator writes).
    Policy(String),
    /// The settings themselves, `policy` included.
    Inline(Box<Cache>),
}

// By hand rather than untagged, so that an error inside written-out settings keeps its path and message.
impl<'de> Deserialize<'de> for RouteCache {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RouteCache;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a cache policy's namespace/name or cache settings")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<RouteCache, E> {
                Ok(RouteCache::Policy(key.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RouteCache, A::Error> {
                Cache::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|c| RouteCache::Inline(Box::new(c)))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

fn default_matches() -> Vec<Match> {
    vec![Match::default()]
}

/// The identity of an HTTPRoute rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteId {
    /// The HTTPRoute's namespace.
    pub namespace: String,
    /// The HTTPRoute's name.
    pub name: String,
    /// The rule's index in `spec.rules`.
    pub rule: u32,
    /// The rule's name, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<String>,
}

/// One match of a rule: every present condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Match {
    /// The path condition (default: `PathPrefix /`).
    #[serde(default)]
    pub path: PathMatch,
    /// The method condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// Header conditions (names case-insensitive).
    #[serde(default)]
    pub headers: Vec<HeaderMatch>,
    /// Query parameter conditions on decoded values.
    #[serde(default)]
    pub query_params: Vec<QueryParamMatch>,
}

/// A path condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathMatch {
    /// How the value is compared.
    #[serde(rename = "type")]
    pub kind: PathMatchType,
    /// The path, prefix or regular expression.
    pub value: String,
}

impl Default for PathMatch {
    fn default() -> Self {
        Self { kind: PathMatchType::PathPrefix, value: "/".to_owned() }
    }
}

/// How a path is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PathMatchType {
    /// The whole path equals the value.
    Exact,
    /// The path starts with the value, element by element.
    PathPrefix,
    /// The whole path matches the regular expression.
    RegularExpression,
}

/// How a header or query value is compared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValueMatchType {
    /// Equal strings.
    #[default]
    Exact,
    /// The whole value matches the regular expression.
    RegularExpression,
}

/// The HTTP methods a route may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Method {
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "HEAD")]
    Head,
    #[serde(rename = "POST")]
    Post,
    #[serde(rename = "PUT")]
    Put,
    #[serde(rename = "DELETE")]
    Delete,
    #[serde(rename = "CONNECT")]
    Connect,
    #[serde(rename = "OPTIONS")]
    Options,
    #[serde(rename = "TRACE")]
    Trace,
    #[serde(rename = "PATCH")]
    Patch,
}

impl Method {
    /// The method as it appears on the request line.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Connect => "CONNECT",
            Self::Options => "OPTIONS",
            Self::Trace => "TRACE",
            Self::Patch => "PATCH",
        }
    }
}

/// A header condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderMatch {
    /// How the value is compared.
    #[serde(rename = "type", default)]
    pub kind: ValueMatchType,
    /// The header name (case-insensitive).
    pub name: String,
    /// The value or regular expression.
    pub value: String,
}

/// A query parameter condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryParamMatch {
    /// How the value is compared.
    #[serde(rename = "type", default)]
    pub kind: ValueMatchType,
    /// The parameter name (exact).
    pub name: String,
    /// The value or regular expression.
    pub value: String,
}

/// A rule filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Filter {
    /// Changes request headers before the backend sees them.
    RequestHeaderModifier {
        /// The changes.
        #[serde(rename = "requestHeaderModifier")]
        request_header_modifier: HeaderModifier,
    },
    /// Changes response headers before the client sees them.
    ResponseHeaderModifier {
        /// The changes.
        #[serde(rename = "responseHeaderModifier")]
        response_header_modifier: HeaderModifier,
    },
    /// Answers with a redirect instead of forwarding.
    RequestRedirect {
        /// The redirect.
        #[serde(rename = "requestRedirect")]
        request_redirect: RequestRedirect,
    },
    /// Rewrites host and path before forwarding.
    #[serde(rename = "URLRewrite")]
    UrlRewrite {
        /// The rewrite.
        #[serde(rename = "urlRewrite")]
        url_rewrite: UrlRewrite,
    },
    /// Answers CORS preflights at the gateway and adds CORS headers to answers (see [`crate::cors`]).
    #[serde(rename = "CORS")]
    Cors {
        /// The CORS settings.
        cors: Cors,
    },
}

/// The CORS settings of a rule (Gateway API `HTTPCORSFilter`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cors {
    /// Allowed origins: `scheme://host[:port]`, the host possibly starting with `*`, or `*` for every origin.
    #[serde(default)]
    pub allow_origins: Vec<String>,
    /// Whether answers carry `Access-Control-Allow-Credentials: true`.
    #[serde(default)]
    pub allow_credentials: bool,
    /// Methods for `Access-Control-Allow-Methods`, or `*`.
    #[serde(default)]
    pub allow_methods: Vec<String>,
    /// Request headers for `Access-Control-Allow-Headers`, or `*`.
    #[serde(default)]
    pub allow_headers: Vec<String>,
    /// Response headers for `Access-Control-Expose-Headers`, or `*`.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// Seconds a client may cache a preflight answer (`Access-Control-Max-Age`).
    #[serde(default = "default_cors_max_age")]
    pub max_age: u32,
}

fn default_cors_max_age() -> u32 {
    5
}

/// A filter allowed on one backend group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum BackendFilter {
    /// Changes request headers before the backend sees them.
    RequestHeaderModifier {
        /// The changes.
        #[serde(rename = "requestHeaderModifier")]
        request_header_modifier: HeaderModifier,
    },
    /// Changes response headers before the client sees them.
    ResponseHeaderModifier {
        /// The changes.
        #[serde(rename = "responseHeaderModifier")]
        response_header_modifier: HeaderModifier,
    },
}

/// Header changes: `set` replaces, `add` appends, `remove` deletes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderModifier {
    /// Headers to replace.
    #[serde(default)]
    pub set: Vec<HeaderValue>,
    /// Headers to append to.
    #[serde(default)]
    pub add: Vec<HeaderValue>,
    /// Header names to delete.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// A header name and value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderValue {
    /// The header name.
    pub name: String,
    /// The header value.
    pub value: String,
}

/// A URL scheme of a redirect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// `http`, well-known port 80.
    Http,
    /// `https`, well-known port 443.
    Https,
}

impl Scheme {
    /// The scheme as written in a URL.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    /// The scheme's well-known port.
    #[must_use]
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }
}

/// A redirect answered by the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequestRedirect {
    /// The new scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<Scheme>,
    /// The new hostname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The new port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The new path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathModifier>,
    /// The redirect status (301, 302, 303, 307 or 308).
    #[serde(default = "default_redirect_status")]
    pub status_code: u16,
}

fn default_redirect_status() -> u16 {
    302
}

/// A rewrite of the request before forwarding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlRewrite {
    /// The new Host header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The new path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathModifier>,
}

/// A path change of a redirect or rewrite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum PathModifier {
    /// Replace the whole path.
    ReplaceFullPath {
        /// The new path.
        #[serde(rename = "replaceFullPath")]
        replace_full_path: String,
    },
    /// Replace the part of the path that the rule's PathPrefix matched.
    ReplacePrefixMatch {
        /// The new prefix.
        #[serde(rename = "replacePrefixMatch")]
        replace_prefix_match: String,
    },
}

/// A weighted backend group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// Relative share of traffic; 0 takes none.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// `namespace/service:port`, for logs and error bodies.
    pub name: String,
    /// Ready endpoints (version 1, or a group without a [`Backend::backend`] key).
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Version 2: the key of the document's `backends` entry holding the group's endpoints and transport (then
    /// `endpoints` is empty and `transport` absent). A key the table lacks makes the group answer 500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Why the backendRef could not be resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Header filters of this group.
    #[serde(default)]
    pub filters: Vec<BackendFilter>,
    /// How ghost itself reaches the endpoints when Varnish's own HTTP/1.1 backends cannot (TLS, H2C); absent for
    /// plain HTTP/1.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
}

/// An entry of ghost.json's `backends` table: the ready endpoints of one Service port and how ghost reaches them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendEntry {
    /// Ready endpoints; none makes the groups naming the entry answer 500 (or from cache).
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Why the Service port could not be resolved; the groups naming the entry answer 500 with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How ghost itself reaches the endpoints (TLS, H2C); absent for plain HTTP/1.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
}

/// A backend group reached through ghost's own client transport.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transport {
    /// The protocol spoken to the endpoints.
    pub protocol: TransportProtocol,
    /// TLS settings: present exactly when `protocol` is `HTTPS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<BackendTls>,
}

/// The protocol of a [`Transport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TransportProtocol {
    /// Plain HTTP/1.1 through ghost's transport rather than a native backend: for comparing the two (the chaperone
    /// never writes it).
    #[serde(rename = "HTTP")]
    Http,
    /// HTTP/1.1 over TLS (a BackendTLSPolicy).
    #[serde(rename = "HTTPS")]
    Https,
    /// Cleartext HTTP/2 with prior knowledge (`appProtocol: kubernetes.io/h2c`).
    #[serde(rename = "H2C")]
    H2c,
}

/// How a TLS backend connection is made and verified (a BackendTLSPolicy's `validation`, the Gateway's client
/// certificate).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BackendTls {
    /// The server name sent as SNI and, without `subjectAltNames` and `uriSubjectAltNames`, the name the certificate
    /// must carry.
    pub hostname: String,
    /// PEM CA certificates the server's chain must end in; absent means the well-known (system) roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificates: Option<String>,
    /// DNS names of which the certificate must carry at least one (or one of `uriSubjectAltNames`), instead of
    /// `hostname`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject_alt_names: Vec<String>,
    /// URIs of which the certificate must carry one as a URI subjectAltName, exactly (or one of `subjectAltNames`),
    /// instead of `hostname`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uri_subject_alt_names: Vec<String>,
    /// The certificate chain and key presented to the backend (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<ClientCertificate>,
}

/// A client certificate chain and its private key, in PEM.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCertificate {
    /// The certificate chain, leaf first.
    pub certificate: String,
    /// The private key.
    pub key: String,
}

fn default_weight() -> u32 {
    1
}

/// One ready endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// An IPv4 or IPv6 address.
    pub address: String,
    /// The target port.
    pub port: u16,
}

/// How a rule caches: an entry of `cachePolicies` (without `policy`: the key names it) or a route's written-out
/// `cache` (with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cache {
    /// The CachePolicy that applies, on written-out settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyRef>,
    /// Freshness.
    #[serde(default)]
    pub ttl: CacheTtl,
    /// Explicit opt-ins.
    #[serde(default)]
    pub allow: CacheAllow,
    /// What joins the cache key.
    #[serde(default)]
    pub key: CacheKey,
    /// Conditions that pass the request.
    #[serde(default)]
    pub bypass: Vec<Bypass>,
    /// Where surrogate keys come from.
    #[serde(default)]
    pub surrogate_keys: SurrogateKeys,
    /// Whether responses carry `X-Cache`, `X-Cache-Hits` and `Age`.
    #[serde(default)]
    pub debug_headers: bool,
}

/// The namespace and name of a CachePolicy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRef {
    /// The policy's namespace.
    pub namespace: String,
    /// The policy's name.
    pub name: String,
}

/// Freshness in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheTtl {
    /// Used only when the origin gives no freshness.
    #[serde(default = "default_ttl")]
    pub default: u32,
    /// Overrides the origin's freshness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced: Option<u32>,
    /// How long a stale object may be served while one background fetch refreshes it.
    #[serde(default = "default_grace")]
    pub grace: u32,
    /// How long objects with validators are kept for conditional revalidation.
    #[serde(default)]
    pub keep: u32,
}

fn default_ttl() -> u32 {
    120
}

fn default_grace() -> u32 {
    10
}

impl Default for CacheTtl {
    fn default() -> Self {
        Self { default: default_ttl(), forced: None, grace: default_grace(), keep: 0 }
    }
}

/// Explicit opt-ins to cache what is otherwise never cached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(clippy::struct_excessive_bools)] // five independent switches, as in the contract
pub struct CacheAllow {
    /// Cache `Cache-Control: no-store` responses.
    #[serde(default)]
    pub no_store: bool,
    /// Cache `Cache-Control: private` responses.
    #[serde(default)]
    pub private: bool,
    /// Cache responses with `Set-Cookie` (the cookie is removed from the object).
    #[serde(default)]
    pub set_cookie: bool,
    /// Cache requests carrying `Authorization`.
    #[serde(default)]
    pub authorization: bool,
    /// Remove cookies not named in the key instead of passing.
    #[serde(default)]
    pub other_cookies: bool,
    /// Methods besides GET and HEAD that are looked up (POST only), the method and the body joining the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<Method>>,
    /// The largest `Content-Length` such a request may have to be looked up (absent: [`DEFAULT_MAX_BODY_BYTES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<u32>,
}

/// The body limit of a policy that allows methods besides GET and HEAD but names no limit.
pub const DEFAULT_MAX_BODY_BYTES: u32 = 16_384;

/// The largest body limit a policy may name (the VCL caches request bodies up to this size).
pub const MAX_BODY_BYTES: u32 = 1_048_576;

/// What joins the cache key besides host, rule and path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheKey {
    /// Which query parameters are kept.
    #[serde(default)]
    pub query: CacheQuery,
    /// Lowercase request header names.
    #[serde(default)]
    pub headers: Vec<String>,
    /// Cookie names.
    #[serde(default)]
    pub cookies: Vec<String>,
}

/// Which query parameters are kept (sorted) in the key and in the URL sent on a miss.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheQuery {
    /// How `params` is read.
    #[serde(default)]
    pub mode: QueryMode,
    /// Parameter names for Include and Exclude.
    #[serde(default)]
    pub params: Vec<String>,
}

/// How the query joins the key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryMode {
    /// Every parameter.
    #[default]
    All,
    /// No parameter: the query is dropped.
    None,
    /// Only the named parameters.
    Include,
    /// Every parameter but the named ones.
    Exclude,
}

/// A condition that passes the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Bypass {
    /// A request header is present (and its value contains a match of `value_regex`, when given).
    Header {
        /// The header name.
        name: String,
        /// A regular expression searched in the value.
        #[serde(rename = "valueRegex", default, skip_serializing_if = "Option::is_none")]
        value_regex: Option<String>,
    },
    /// A request cookie is present.
    Cookie {
        /// The cookie name.
        name: String,
    },
}

/// Where surrogate keys come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurrogateKeys {
    /// The response header with space-separated keys.
    #[serde(default = "default_surrogate_header")]
    pub header: String,
}

fn default_surrogate_header() -> String {
    "Surrogate-Key".to_owned()
}

impl Default for SurrogateKeys {
    fn default() -> Self {
        Self { header: default_surrogate_header() }
    }
}
