//! Compiled route tables and request matching.
//!
//! Built once per load, read concurrently by every request. Precedence follows the Gateway API (and "Routing
//! semantics" in `ghost/README.md`) as a lexicographic order: hostname specificity (exact vhost, then the longest
//! matching wildcard, then `*`, falling through when no rule of a more specific vhost matches), then Exact path, then
//! the longest PathPrefix, then RegularExpression paths, then a method match, more header matches, more query
//! matches, the oldest route, `namespace/name`, rule index and match index.
//!
//! Lookup structure per vhost: Exact paths in a hash map, PathPrefix values in a hash map keyed by the prefix
//! without trailing slashes (a request path probes each of its element prefixes, longest first), regex paths in a
//! list searched by one multi-pattern automaton (a path is scanned once, whatever the number of patterns). Each
//! bucket is sorted by the remaining criteria, so the first entry whose conditions hold wins; the automaton's
//! pattern numbers are the regex list's positions, so it keeps that order.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use regex::{Regex, RegexSet};

use crate::cache::CacheRule;
use crate::cluster::Cluster;
use crate::contract::{BackendEntry, Endpoint, Vhost};
use crate::contract::{
    BackendFilter, Cors, EscapedSlashes, Filter, GhostJson, HeaderModifier, Method, PathMatchType, Protocol,
    RequestRedirect, Route, RouteId, Scheme, UrlRewrite, ValueMatchType,
};
use crate::contract::{Cache, Fraction, PolicyRef, Retry, RouteCache, Timeouts, Transport};
use crate::error::Error;
use crate::filters::{redirect_location, rewrite_path, RedirectInput};
use crate::forwarding::Cidr;
use crate::hash::FxHashMap;
use crate::load::{load_delta, load_parts, route_label, Delta, LoadedParts, Skipped};
use crate::mirror::MirrorTarget;
use crate::path::{normalize_path, NormalPath, PathCheck};
use crate::request::{host_port, normalize_host, query_param, split_url, HeaderSource, Request};
use crate::shards::{ChunkedVec, ShardedMap};

/// Gateway API allows 64 listeners per Gateway, so a listener set fits in a `u64`.
const MAX_LISTENERS: usize = 64;

/// A listener as the router keeps it.
#[derive(Debug, Clone)]
pub struct ListenerInfo {
    /// The listener name (sent as `X-Gateway-Listener`).
    pub name: String,
    /// The listener port.
    pub port: u16,
    /// The listener protocol.
    pub protocol: Protocol,
    hostname: Option<String>,
}

/// One backend group of a rule.
#[derive(Debug, Clone)]
pub struct Group {
    /// `namespace/service:port`.
    pub name: String,
    /// Relative share of traffic.
    pub weight: u32,
    /// The group's endpoint pool: [`Router::group_endpoints`] gives its endpoints. A group naming a `backends` entry
    /// shares that entry's pool, which a delta of the entry swaps without recompiling the group's rule.
    pub pool: usize,
    /// Why the group cannot take traffic, when it cannot.
    pub error: Option<String>,
    /// Header filters of the group.
    pub filters: Vec<BackendFilter>,
}

/// One compiled HTTPRoute rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule's identity.
    pub id: RouteId,
    /// `namespace/name`, sent as `X-Gateway-Route`.
    pub route_name: String,
    /// Rule filters in order.
    pub filters: Vec<Filter>,
    /// Backend groups.
    pub groups: Vec<Group>,
    /// The rule's cache settings; `None`: every request passes.
    pub cache: Option<CacheRule>,
    /// The rule's timeouts; `None`: varnishd's own.
    pub timeouts: Option<Timeouts>,
    /// The rule's retries; `None`: a failed attempt is not retried.
    pub retry: Option<Retry>,
    /// The rule's mirrors: each forwarded request may be copied to each.
    pub mirrors: Vec<MirrorTarget>,
    created: String,
    total_weight: u64,
}

impl Rule {
    /// Request header modifiers of the rule and then of `group`, in order.
    pub fn request_modifiers(&self, group: Option<usize>) -> impl Iterator<Item = &HeaderModifier> + '_ {
        let group_filters = group.and_then(|g| self.groups.get(g)).map(|g| g.filters.as_slice()).unwrap_or_default();
        self.filters
            .iter()
            .filter_map(|f| match f {
                Filter::RequestHeaderModifier { request_header_modifier } => Some(request_header_modifier),
                _ => None,
            })
            .chain(group_filters.iter().filter_map(|f| match f {
                BackendFilter::RequestHeaderModifier { request_header_modifier } => Some(request_header_modifier),
                BackendFilter::ResponseHeaderModifier { .. } => None,
            }))
    }

    /// Response header modifiers of the rule and then of `group`, in order.
    pub fn response_modifiers(&self, group: Option<usize>) -> impl Iterator<Item = &HeaderModifier> + '_ {
        let group_filters = group.and_then(|g| self.groups.get(g)).map(|g| g.filters.as_slice()).unwrap_or_default();
        self.filters
            .iter()
            .filter_map(|f| match f {
                Filter::ResponseHeaderModifier { response_header_modifier } => Some(response_header_modifier),
                _ => None,
            })
            .chain(group_filters.iter().filter_map(|f| match f {
                BackendFilter::ResponseHeaderModifier { response_header_modifier } => Some(response_header_modifier),
                BackendFilter::RequestHeaderModifier { .. } => None,
            }))
    }

    /// The rule's CORS settings, when it has the filter.
    #[must_use]
    pub fn cors(&self) -> Option<&Cors> {
        self.filters.iter().find_map(|f| match f {
            Filter::Cors { cors } => Some(cors),
            _ => None,
        })
    }

    fn redirect(&self) -> Option<&RequestRedirect> {
        self.filters.iter().find_map(|f| match f {
            Filter::RequestRedirect { request_redirect } => Some(request_redirect),
            _ => None,
        })
    }

    fn rewrite(&self) -> Option<&UrlRewrite> {
        self.filters.iter().find_map(|f| match f {
            Filter::UrlRewrite { url_rewrite } => Some(url_rewrite),
            _ => None,
        })
    }
}

/// The pool of a `backends` key the table lacks: its groups answer 500.
fn missing_entry(key: &str) -> Pool {
    Pool { endpoints: Vec::new(), error: Some(format!("the backends table has no entry {key:?}")) }
}

/// A compiled regular expression that must match a whole value.
///
/// Most patterns compile to a dense DFA, which searches through `&self` alone: the request path takes no lock.
/// Patterns a DFA cannot express (Unicode word boundaries) or that would make it too large fall back to the `regex`
/// crate, whose search borrows a scratch cache from an internal pool.
#[derive(Debug)]
enum WholeRegex {
    Dfa(Box<regex_automata::dfa::regex::Regex>),
    Pooled(Regex),
}

impl WholeRegex {
    fn is_match(&self, value: &str) -> bool {
        match self {
            Self::Dfa(re) => re.is_match(value),
            Self::Pooled(re) => re.is_match(value),
        }
    }
}

#[derive(Debug)]
enum ValueCond {
    Exact(Box<str>),
    Regex(WholeRegex),
}

impl ValueCond {
    fn matches(&self, value: &str) -> bool {
        match self {
            Self::Exact(want) => **want == *value,
            Self::Regex(re) => re.is_match(value),
        }
    }
}

#[derive(Debug)]
struct Entry {
    rule: u32,
    match_index: u32,
    listeners: u64,
    method: Option<Method>,
    headers: Box<[(Box<str>, ValueCond)]>,
    query: Box<[(Box<str>, ValueCond)]>,
    /// The RegularExpression path, as written; the table's [`PathSet`] matches it.
    path_regex: Option<Box<str>>,
    /// Length of the PathPrefix without trailing slashes, for `ReplacePrefixMatch`.
    prefix_len: Option<u32>,
}

#[derive(Debug, Default)]
struct Table {
    exact: FxHashMap<Box<str>, Vec<Entry>>,
    prefix: FxHashMap<Box<str>, Vec<Entry>>,
    regex: Vec<Entry>,
    /// The paths of `regex`, pattern `i` being `regex[i]`'s; built by [`Router::sort_table`].
    regex_set: Option<RegexSet>,
}

impl Table {
    fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefix.is_empty() && self.regex.is_empty()
    }
}

/// What the router decided for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send the request to an endpoint.
    Forward(Forward),
    /// Answer with a redirect.
    Redirect(Redirect),
    /// Answer with an error (404 no route, 500 no usable backend).
    Refuse(Refusal),
}

/// A request that goes to a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// Index of the rule in [`Router::rule`].
    pub rule: usize,
    /// Index of the chosen group in the rule.
    pub group: usize,
    /// Index of the chosen endpoint in [`Router::endpoints`].
    pub endpoint: usize,
    /// Index of the listener, when the document has listeners.
    pub listener: Option<usize>,
    /// The request target to send when it is not the one received: normalised, or rewritten by a URLRewrite.
    pub url: Option<String>,
    /// The rewritten Host header, when a URLRewrite changes the hostname.
    pub host: Option<String>,
}

/// A redirect answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// Index of the rule; none for the redirect of a path with escaped slashes.
    pub rule: Option<usize>,
    /// Index of the listener.
    pub listener: Option<usize>,
    /// 301, 302, 303, 307 or 308.
    pub status: u16,
    /// The `Location` header.
    pub location: String,
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The rule, when one matched.
    pub rule: Option<usize>,
    /// Index of the listener.
    pub listener: Option<usize>,
    /// 400 (unusable path), 404 or 500.
    pub status: u16,
    /// A short text saying why, for the response body.
    pub reason: Cow<'static, str>,
    /// Set when the rule has cache settings and the chosen backend has no ready endpoint: the request may still be
    /// answered by a fresh or in-grace object, and gets this refusal only without one.
    pub lookup: Option<Lookup>,
}

/// The request side of a refused request that may still be answered from the cache (see [`Refusal::lookup`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// Index of the chosen group in the rule.
    pub group: usize,
    /// The rewritten request target, as in [`Forward::url`].
    pub url: Option<String>,
    /// The rewritten Host header, as in [`Forward::host`].
    pub host: Option<String>,
}

/// What a load built and left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Route entries (rules) loaded.
    pub routes: usize,
    /// Vhost keys loaded.
    pub vhosts: usize,
    /// Distinct endpoints.
    pub endpoints: usize,
    /// Routes and vhosts left out, with reasons.
    pub skipped: Vec<Skipped>,
    /// Rules loaded without their cache settings, which could not be built (a dangling policy name, a bypass regex
    /// over the size limit): they are served as if they had none, every request passing to the backend.
    pub uncached: Vec<Skipped>,
}

/// Endpoint indexes by address and transport.
type EndpointIndex = ShardedMap<(SocketAddr, Option<Arc<Transport>>), usize>;

/// The endpoints of one pool: a `backends` entry's, or those a version 1 group holds inline.
#[derive(Debug, Default)]
struct Pool {
    /// Indexes into [`Router::endpoints`].
    endpoints: Vec<usize>,
    /// Why the pool takes no traffic (an unresolved Service port, a key the `backends` table lacks).
    error: Option<String>,
}

/// A `backends` key that the document lists or a group names.
#[derive(Debug, Clone, Copy)]
struct Keyed {
    pool: usize,
    /// Groups naming the key.
    users: u32,
    /// Whether the document lists the entry (it then holds its endpoints' uses).
    present: bool,
}

/// What one vhost key of the document left in a router: the rule slots, inline pools, `backends` keys named and
/// endpoint uses it holds (released when a delta replaces or removes it), and its share of the [`Report`].
#[derive(Debug, Default)]
struct VhostPart {
    rules: Vec<u32>,
    pools: Vec<usize>,
    keys: Vec<String>,
    endpoints: Vec<usize>,
    routes: usize,
    served: bool,
    /// Left out when the vhost was parsed, then when it was compiled.
    load_skipped: Vec<Skipped>,
    skipped: Vec<Skipped>,
    uncached: Vec<Skipped>,
}

/// The compiled routing state of one ghost.json document.
///
/// Vhosts are compiled apart from each other: [`Router::apply`] makes the state of a changed document from this one
/// by compiling only the vhosts a delta names and sharing the others' tables and rules. Rule and endpoint indexes
/// stay those of this state; the slots a replaced vhost held are reused by later ones. The per-vhost and per-rule
/// tables are sharded copy on write ([`crate::shards`]), so a clone and a delta's changes cost what the delta names,
/// not what the Gateway holds.
#[derive(Debug, Default, Clone)]
pub struct Router {
    listeners: Vec<ListenerInfo>,
    sockets: FxHashMap<Box<str>, Vec<usize>>,
    isolate: bool,
    exact_hosts: ShardedMap<Box<str>, Arc<Table>>,
    wildcard_hosts: ShardedMap<Box<str>, Arc<Table>>,
    catch_all: Arc<Table>,
    /// By rule index; `None` for a slot no vhost holds now.
    rules: ChunkedVec<Option<Arc<Rule>>>,
    free_rules: Vec<u32>,
    endpoints: Vec<SocketAddr>,
    /// `transports[i]`: how ghost reaches `endpoints[i]` itself, `None` for a native Varnish backend.
    transports: Vec<Option<Arc<Transport>>>,
    endpoint_index: EndpointIndex,
    /// How many backend group entries use each endpoint; a slot at 0 is free for the next new endpoint.
    endpoint_uses: Vec<u32>,
    free_endpoints: Vec<usize>,
    /// Endpoint slots in use (`endpoint_uses` above 0).
    live_endpoints: usize,
    /// The endpoint slots the last [`Router::apply`] took or freed; `None` after a whole load.
    changed_endpoints: Option<Vec<usize>>,
    /// The rule slots the last [`Router::apply`] took or freed; `None` after a whole load.
    changed_rules: Option<Vec<u32>>,
    /// By pool id ([`Group::pool`]); `None` for a free slot.
    pools: ChunkedVec<Option<Arc<Pool>>>,
    free_pools: Vec<usize>,
    /// The `backends` keys listed or named, with their pools.
    keyed: ShardedMap<String, Keyed>,
    /// The `backends` entries left out, in key order.
    backends_skipped: BTreeMap<String, Skipped>,
    escaped_slashes: EscapedSlashes,
    trusted_proxies: Vec<Cidr>,
    cluster: Option<Cluster>,
    policies: Arc<BTreeMap<String, Cache>>,
    /// Left out of the document-wide parts: cache policies, then listeners.
    policies_skipped: Arc<Vec<Skipped>>,
    listeners_skipped: Arc<Vec<Skipped>>,
    vhosts: ShardedMap<String, Arc<VhostPart>>,
    /// The vhosts that left something out, in key order (the report's order), apart so that a report costs what it
    /// lists.
    reported: BTreeMap<String, Arc<VhostPart>>,
    /// Rules and served vhosts over every vhost part.
    routes: usize,
    served: usize,
}

impl Router {
    /// Parses and compiles a ghost.json document.
    ///
    /// # Errors
    ///
    /// Returns an [`Error`] when the document cannot be used at all; bad routes are skipped and listed in the
    /// [`Report`] instead.
    pub fn from_json(text: &str) -> Result<(Self, Report), Error> {
        Ok(Self::build_parts(load_parts(text)?))
    }

    /// Compiles a parsed document; routes whose regular expressions do not compile are skipped.
    #[must_use]
    pub fn build(doc: GhostJson) -> (Self, Report) {
        let vhosts = doc.vhosts.keys().map(|k| (k.clone(), Vec::new())).collect();
        Self::build_parts(LoadedParts { doc, skipped: Vec::new(), vhosts, backends: BTreeMap::new() })
    }

    fn build_parts(parts: LoadedParts) -> (Self, Report) {
        let LoadedParts { doc, skipped, vhosts: mut vhost_skipped, backends: backends_skipped } = parts;
        let mut router = Self::default();
        let mut listeners_skipped = Vec::new();
        for listener in doc.listeners.iter().take(MAX_LISTENERS) {
            let index = router.listeners.len();
            router.listeners.push(ListenerInfo {
                name: listener.name.clone(),
                port: listener.port,
                protocol: listener.protocol,
                hostname: listener.hostname.clone(),
            });
            router.sockets.entry(listener.socket.as_str().into()).or_default().push(index);
        }
        for (i, extra) in doc.listeners.iter().enumerate().skip(MAX_LISTENERS) {
            listeners_skipped.push(Skipped {
                path: format!("$.listeners[{i}]"),
                route: None,
                reason: format!("listener {:?} exceeds the limit of {MAX_LISTENERS} listeners", extra.name),
            });
        }
        router.isolate = !router.listeners.is_empty();
        if let Some(requests) = &doc.requests {
            router.escaped_slashes = requests.escaped_slashes;
            // load() checked every entry.
            router.trusted_proxies = requests.trusted_proxies.iter().filter_map(|c| c.parse().ok()).collect();
        }
        router.cluster = doc.cluster.as_ref().map(Cluster::new);
        router.policies = Arc::new(doc.cache_policies.unwrap_or_default());
        router.policies_skipped = Arc::new(skipped);
        router.listeners_skipped = Arc::new(listeners_skipped);
        for (key, entry) in doc.backends {
            router.set_backend(key, Some(entry));
        }
        router.backends_skipped = backends_skipped;
        let mut vhosts = doc.vhosts;
        for (key, load_skipped) in std::mem::take(&mut vhost_skipped) {
            let vhost = vhosts.remove(&key);
            router.put_vhost(key, vhost, load_skipped);
        }
        let report = router.report();
        (router, report)
    }

    /// Parses a delta document (`ghost/README.md`) and turns this state into the one it leads to, compiling only
    /// the vhosts it names: the same state, request for request, as [`Router::from_json`] of the whole changed
    /// document (rule and endpoint indexes aside). Clone the router first to keep serving the old state.
    ///
    /// # Errors
    ///
    /// Returns an [`Error`] when the delta cannot be used at all; bad routes are skipped and listed in the
    /// [`Report`] instead.
    pub fn apply_json(self, text: &str) -> Result<(Self, Report), Error> {
        Ok(self.apply(load_delta(text)?))
    }

    /// Turns this state into the one a parsed delta leads to (see [`Router::apply_json`]).
    #[must_use]
    pub fn apply(self, delta: Delta) -> (Self, Report) {
        let mut router = self;
        router.changed_endpoints = Some(Vec::new());
        router.changed_rules = Some(Vec::new());
        let Delta { mut vhosts, skipped, backends, backends_skipped: mut entries_skipped } = delta;
        for (key, entry) in backends {
            router.backends_skipped.remove(&key);
            if let Some(skip) = entries_skipped.remove(&key) {
                router.backends_skipped.insert(key.clone(), skip);
            }
            router.set_backend(key, entry);
        }
        for (key, load_skipped) in skipped {
            router.remove_vhost(&key);
            let vhost = vhosts.remove(&key).flatten();
            // A key the delta removes leaves nothing behind; one that is not a vhost key stays reported.
            if vhost.is_some() || !load_skipped.is_empty() {
                router.put_vhost(key, vhost, load_skipped);
            }
        }
        let report = router.report();
        (router, report)
    }

    /// The report of this state, as a load of the whole document gives it.
    fn report(&self) -> Report {
        let mut report =
            Report { routes: self.routes, vhosts: self.served, endpoints: self.live_endpoints, ..Report::default() };
        report.skipped.extend(self.policies_skipped.iter().cloned());
        report.skipped.extend(self.backends_skipped.values().cloned());
        report.skipped.extend(self.reported.values().flat_map(|v| v.load_skipped.iter().cloned()));
        report.skipped.extend(self.listeners_skipped.iter().cloned());
        for part in self.reported.values() {
            report.skipped.extend(part.skipped.iter().cloned());
            report.uncached.extend(part.uncached.iter().cloned());
        }
        report
    }

    /// Releases what the vhost `key` holds: its table, its rule slots and its endpoint uses.
    fn remove_vhost(&mut self, key: &str) {
        let Some(part) = self.vhosts.remove(key) else { return };
        self.reported.remove(key);
        self.routes -= part.routes;
        self.served -= usize::from(part.served);
        if key == "*" {
            self.catch_all = Arc::default();
        } else if let Some(suffix) = key.strip_prefix('*') {
            self.wildcard_hosts.remove(suffix);
        } else {
            self.exact_hosts.remove(key);
        }
        for &rule in &part.rules {
            *self.rules.get_mut(rule as usize) = None;
            self.free_rules.push(rule);
        }
        if let Some(changed) = &mut self.changed_rules {
            changed.extend_from_slice(&part.rules);
        }
        for &pool in &part.pools {
            self.free_pool(pool);
        }
        for key in &part.keys {
            self.unuse_key(key);
        }
        self.release_endpoints(&part.endpoints);
    }

    /// Drops one use of each endpoint; a slot no use holds any more is free for the next new endpoint.
    fn release_endpoints(&mut self, endpoints: &[usize]) {
        for &endpoint in endpoints {
            self.endpoint_uses[endpoint] -= 1;
            if self.endpoint_uses[endpoint] == 0 {
                self.live_endpoints -= 1;
                if let Some(changed) = &mut self.changed_endpoints {
                    changed.push(endpoint);
                }
                self.endpoint_index.remove(&(self.endpoints[endpoint], self.transports[endpoint].clone()));
                self.free_endpoints.push(endpoint);
            }
        }
    }

    /// The endpoint indexes of `endpoints` reached over `transport`, each use counted.
    fn take_endpoints(&mut self, endpoints: &[Endpoint], transport: Option<&Transport>) -> Vec<usize> {
        let transport = transport.cloned().map(Arc::new);
        // load() checked the addresses; a parse failure here would be a bug, so skip rather than panic.
        endpoints
            .iter()
            .filter_map(|ep| Some(SocketAddr::new(ep.address.parse::<IpAddr>().ok()?, ep.port)))
            .map(|addr| self.endpoint(addr, transport.clone()))
            .collect()
    }

    /// A pool slot holding `pool`.
    fn new_pool(&mut self, pool: Pool) -> usize {
        let pool = Some(Arc::new(pool));
        if let Some(free) = self.free_pools.pop() {
            *self.pools.get_mut(free) = pool;
            free
        } else {
            self.pools.push(pool);
            self.pools.len() - 1
        }
    }

    fn free_pool(&mut self, pool: usize) {
        *self.pools.get_mut(pool) = None;
        self.free_pools.push(pool);
    }

    /// The pool of the `backends` key `key` for one more group naming it (the pool of a missing entry when the table
    /// lacks it).
    fn use_key(&mut self, key: &str) -> usize {
        if let Some(keyed) = self.keyed.get(key).copied() {
            self.keyed.insert(key.to_owned(), Keyed { users: keyed.users + 1, ..keyed });
            return keyed.pool;
        }
        let pool = self.new_pool(missing_entry(key));
        self.keyed.insert(key.to_owned(), Keyed { pool, users: 1, present: false });
        pool
    }

    /// One group fewer names `key`; a key nothing lists or names any more is forgotten.
    fn unuse_key(&mut self, key: &str) {
        let Some(keyed) = self.keyed.get(key).copied() else { return };
        if keyed.users == 1 && !keyed.present {
            self.keyed.remove(key);
            self.free_pool(keyed.pool);
        } else {
            self.keyed.insert(key.to_owned(), Keyed { users: keyed.users - 1, ..keyed });
        }
    }

    /// Sets (or, `None`, removes) the `backends` entry `key`: its pool's endpoints change in place, so every group
    /// naming it follows without its rule being recompiled; the endpoint uses move from the old endpoints to the new.
    fn set_backend(&mut self, key: String, entry: Option<BackendEntry>) {
        let old = self.keyed.get(key.as_str()).copied();
        if let Some(old) = old.filter(|k| k.present) {
            let endpoints =
                self.pools.get(old.pool).cloned().flatten().map(|p| p.endpoints.clone()).unwrap_or_default();
            self.release_endpoints(&endpoints);
        }
        let users = old.map_or(0, |k| k.users);
        let Some(entry) = entry else {
            match old {
                Some(old) if users > 0 => {
                    *self.pools.get_mut(old.pool) = Some(Arc::new(missing_entry(&key)));
                    self.keyed.insert(key, Keyed { present: false, ..old });
                }
                Some(old) => {
                    self.keyed.remove(key.as_str());
                    self.free_pool(old.pool);
                }
                None => {}
            }
            return;
        };
        let endpoints = self.take_endpoints(&entry.endpoints, entry.transport.as_ref());
        let pool = Pool { endpoints, error: entry.error };
        let id = match old {
            Some(old) => {
                *self.pools.get_mut(old.pool) = Some(Arc::new(pool));
                old.pool
            }
            None => self.new_pool(pool),
        };
        self.keyed.insert(key, Keyed { pool: id, users, present: true });
    }

    /// Compiles the vhost `key` (none: only what its parse left out is kept for the report).
    fn put_vhost(&mut self, key: String, vhost: Option<Vhost>, load_skipped: Vec<Skipped>) {
        let mut part = VhostPart { load_skipped, ..VhostPart::default() };
        let mut table = Table::default();
        for (i, route) in vhost.map(|v| v.routes).unwrap_or_default().into_iter().enumerate() {
            let path = || format!("$.vhosts[{}].routes[{i}]", serde_json::Value::String(key.clone()));
            match self.add_route(&mut table, route, &mut part) {
                Ok(None) => part.routes += 1,
                Ok(Some((reason, label))) => {
                    part.routes += 1;
                    part.uncached.push(Skipped { path: path(), route: Some(label), reason });
                }
                Err((reason, label)) => part.skipped.push(Skipped { path: path(), route: Some(label), reason }),
            }
        }
        let mut left_out: Vec<u32> = self.sort_table(&mut table).iter().map(|e| e.rule).collect();
        left_out.sort_unstable();
        left_out.dedup();
        for rule in left_out {
            let Some(rule) = self.rule(rule as usize) else { continue };
            part.routes = part.routes.saturating_sub(1);
            part.skipped.push(Skipped {
                path: format!("$.vhosts[{}]", serde_json::Value::String(key.clone())),
                route: Some(format!("{} rule {}", rule.route_name, rule.id.rule)),
                reason: "the vhost's regular expression paths together exceed the size limit".to_owned(),
            });
        }
        if !table.is_empty() {
            part.served = true;
            let table = Arc::new(table);
            if key == "*" {
                self.catch_all = table;
            } else if let Some(suffix) = key.strip_prefix('*') {
                self.wildcard_hosts.insert(suffix.into(), table);
            } else {
                self.exact_hosts.insert(key.as_str().into(), table);
            }
        }
        self.routes += part.routes;
        self.served += usize::from(part.served);
        let part = Arc::new(part);
        if !(part.load_skipped.is_empty() && part.skipped.is_empty() && part.uncached.is_empty()) {
            self.reported.insert(key.clone(), Arc::clone(&part));
        }
        self.vhosts.insert(key, part);
    }

    /// The index of a new endpoint, or of the one already known with this address and transport; counts the use.
    fn endpoint(&mut self, addr: SocketAddr, transport: Option<Arc<Transport>>) -> usize {
        let index = if let Some(&index) = self.endpoint_index.get(&(addr, transport.clone())) {
            index
        } else {
            let index = if let Some(free) = self.free_endpoints.pop() {
                self.endpoints[free] = addr;
                self.transports[free].clone_from(&transport);
                free
            } else {
                self.endpoints.push(addr);
                self.transports.push(transport.clone());
                self.endpoint_uses.push(0);
                self.endpoints.len() - 1
            };
            self.endpoint_index.insert((addr, transport), index);
            index
        };
        if self.endpoint_uses[index] == 0 {
            self.live_endpoints += 1;
            if let Some(changed) = &mut self.changed_endpoints {
                changed.push(index);
            }
        }
        self.endpoint_uses[index] += 1;
        index
    }

    /// The slot the next rule takes.
    fn next_rule(&self) -> usize {
        self.free_rules.last().map_or(self.rules.len(), |&free| free as usize)
    }

    /// Compiles one route into `table`, its cache settings taken from `policies` when it names a policy. Returns
    /// why the cache settings could not be built, when so: the route is then served without caching rather than
    /// lost, since a policy mistake must not cost its routes their traffic. On failure returns the reason. Reasons
    /// come with the route's label, built only then (a reload of many good routes allocates none).
    fn add_route(
        &mut self,
        table: &mut Table,
        route: Route,
        part: &mut VhostPart,
    ) -> Result<Option<(String, String)>, (String, String)> {
        let entries = self.compile_matches(&route).map_err(|reason| (reason, route_label(&route)))?;
        let built = route
            .cache
            .as_ref()
            .map(|named| resolve_cache(named, &self.policies).and_then(|settings| CacheRule::new(&route.id, settings)));
        let (cache, uncached) = match built {
            Some(Ok(rule)) => (Some(rule), None),
            Some(Err(reason)) => {
                (None, Some((format!("{reason}; the rule is served without caching"), route_label(&route))))
            }
            None => (None, None),
        };
        let Route { id, created, filters, backends, mirrors, timeouts, retry, .. } = route;
        let mirrors = mirrors
            .into_iter()
            .map(|m| {
                let fraction = m.fraction.unwrap_or(Fraction { numerator: 1, denominator: 1 });
                MirrorTarget {
                    name: m.backend.name,
                    // load() checked every address.
                    endpoints: m
                        .backend
                        .endpoints
                        .iter()
                        .filter_map(|ep| Some(SocketAddr::new(ep.address.parse().ok()?, ep.port)))
                        .collect(),
                    // Mirrors are sent by plain HTTP/1.1 senders: never in cleartext to a backend that wants TLS.
                    error: m.backend.error.or_else(|| {
                        m.backend
                            .transport
                            .is_some()
                            .then(|| "mirrors to TLS or H2C backends are not supported".to_owned())
                    }),
                    numerator: fraction.numerator,
                    denominator: fraction.denominator,
                }
            })
            .collect();
        let mut groups = Vec::with_capacity(backends.len());
        for backend in backends {
            let pool = if let Some(key) = &backend.backend {
                part.keys.push(key.clone());
                self.use_key(key)
            } else {
                let endpoints = self.take_endpoints(&backend.endpoints, backend.transport.as_ref());
                part.endpoints.extend_from_slice(&endpoints);
                let pool = self.new_pool(Pool { endpoints, error: None });
                part.pools.push(pool);
                pool
            };
            groups.push(Group {
                name: backend.name,
                weight: backend.weight,
                pool,
                error: backend.error,
                filters: backend.filters,
            });
        }
        for (kind, key, entry) in entries {
            match kind {
                PathMatchType::Exact => table.exact.entry(key).or_default().push(entry),
                PathMatchType::PathPrefix => table.prefix.entry(key).or_default().push(entry),
                PathMatchType::RegularExpression => table.regex.push(entry),
            }
        }
        let slot = self.next_rule();
        if slot == self.rules.len() {
            self.rules.push(None);
        } else {
            self.free_rules.pop();
        }
        part.rules.push(u32::try_from(slot).unwrap_or(u32::MAX));
        if let Some(changed) = &mut self.changed_rules {
            changed.push(u32::try_from(slot).unwrap_or(u32::MAX));
        }
        *self.rules.get_mut(slot) = Some(Arc::new(Rule {
            route_name: format!("{}/{}", id.namespace, id.name),
            id,
            filters,
            total_weight: groups.iter().map(|g| u64::from(g.weight)).sum(),
            groups,
            cache,
            timeouts,
            retry,
            mirrors,
            created,
        }));
        Ok(uncached)
    }

    /// The lookup entries of a route's matches, with their table and key.
    fn compile_matches(&self, route: &Route) -> Result<Vec<(PathMatchType, Box<str>, Entry)>, String> {
        let rule_index = u32::try_from(self.next_rule()).map_err(|_| "too many routes".to_owned())?;
        let listeners = self.listener_mask(&route.listeners);
        let mut entries = Vec::with_capacity(route.matches.len());
        for (match_index, m) in route.matches.iter().enumerate() {
            let headers = m
                .headers
                .iter()
                .map(|h| Ok((h.name.as_str().into(), value_cond(h.kind, &h.value)?)))
                .collect::<Result<Box<[_]>, String>>()
                .map_err(|e| format!("matches[{match_index}].headers: {e}"))?;
            let query = m
                .query_params
                .iter()
                .map(|q| Ok((q.name.as_str().into(), value_cond(q.kind, &q.value)?)))
                .collect::<Result<Box<[_]>, String>>()
                .map_err(|e| format!("matches[{match_index}].queryParams: {e}"))?;
            let (path_regex, prefix_len) = match m.path.kind {
                PathMatchType::RegularExpression => {
                    check_regex(&m.path.value).map_err(|e| format!("matches[{match_index}].path: {e}"))?;
                    (Some(m.path.value.as_str().into()), None)
                }
                PathMatchType::PathPrefix => (None, Some(u32::try_from(prefix_key(&m.path.value).len()).unwrap_or(0))),
                PathMatchType::Exact => (None, None),
            };
            let key: Box<str> = match m.path.kind {
                PathMatchType::PathPrefix => prefix_key(&m.path.value).into(),
                PathMatchType::Exact => m.path.value.as_str().into(),
                PathMatchType::RegularExpression => Box::default(),
            };
            entries.push((
                m.path.kind,
                key,
                Entry {
                    rule: rule_index,
                    match_index: u32::try_from(match_index).unwrap_or(u32::MAX),
                    listeners,
                    method: m.method,
                    headers,
                    query,
                    path_regex,
                    prefix_len,
                },
            ));
        }
        Ok(entries)
    }

    fn listener_mask(&self, names: &[String]) -> u64 {
        if !self.isolate {
            return u64::MAX;
        }
        self.listeners
            .iter()
            .enumerate()
            .filter(|(_, l)| names.contains(&l.name))
            .fold(0, |mask, (i, _)| mask | (1 << i))
    }

    /// Sorts every bucket by precedence and compiles the sorted regex paths into the table's automaton. Should the
    /// patterns that compiled one by one not compile together, their entries are left out and returned.
    fn sort_table(&self, table: &mut Table) -> Vec<Entry> {
        let cmp = |a: &Entry, b: &Entry| self.precedence(a, b);
        for bucket in table.exact.values_mut().chain(table.prefix.values_mut()) {
            bucket.sort_by(cmp);
        }
        table.regex.sort_by(cmp);
        if table.regex.is_empty() {
            return Vec::new();
        }
        match path_set(table.regex.iter().map(|e| e.path_regex.as_deref().unwrap_or_default())) {
            Ok(set) => {
                table.regex_set = Some(set);
                Vec::new()
            }
            Err(_) => std::mem::take(&mut table.regex),
        }
    }

    /// The order of two entries of the same path bucket: method, headers, query, age, name, rule, match.
    fn precedence(&self, a: &Entry, b: &Entry) -> Ordering {
        let (Some(ra), Some(rb)) = (self.rule(a.rule as usize), self.rule(b.rule as usize)) else {
            return Ordering::Equal;
        };
        b.method
            .is_some()
            .cmp(&a.method.is_some())
            .then(b.headers.len().cmp(&a.headers.len()))
            .then(b.query.len().cmp(&a.query.len()))
            .then_with(|| ra.created.cmp(&rb.created))
            .then_with(|| ra.id.namespace.cmp(&rb.id.namespace))
            .then_with(|| ra.id.name.cmp(&rb.id.name))
            .then(ra.id.rule.cmp(&rb.id.rule))
            .then(a.match_index.cmp(&b.match_index))
    }

    /// A compiled rule by index.
    #[must_use]
    pub fn rule(&self, index: usize) -> Option<&Rule> {
        self.rules.get(index)?.as_deref()
    }

    /// The endpoints of a group's pool, indexes into [`Router::endpoints`] (none when its `backends` entry is missing).
    #[must_use]
    pub fn group_endpoints(&self, group: &Group) -> &[usize] {
        self.pools.get(group.pool).and_then(Option::as_deref).map(|p| p.endpoints.as_slice()).unwrap_or_default()
    }

    /// A listener by index.
    #[must_use]
    pub fn listener(&self, index: usize) -> Option<&ListenerInfo> {
        self.listeners.get(index)
    }

    /// Every distinct endpoint address, indexed by [`Forward::endpoint`]. An address reached over two transports
    /// appears twice; after [`Router::apply`], a slot no rule uses any more keeps its last address until reused.
    #[must_use]
    pub fn endpoints(&self) -> &[SocketAddr] {
        &self.endpoints
    }

    /// Whether a rule uses the endpoint slot `index` of [`Router::endpoints`] (after [`Router::apply`], a freed slot
    /// keeps its last address until a new endpoint takes it).
    #[must_use]
    pub fn endpoint_used(&self, index: usize) -> bool {
        self.endpoint_uses.get(index).is_some_and(|&uses| uses > 0)
    }

    /// The endpoint slots whose endpoint the last [`Router::apply`] changed (taken, freed, or both; a slot may be
    /// listed twice), so that a caller keeping something per slot updates only those; `None` for a router a whole
    /// document built, where every slot is new.
    #[must_use]
    pub fn endpoint_changes(&self) -> Option<&[usize]> {
        self.changed_endpoints.as_deref()
    }

    /// The rule slots the last [`Router::apply`] changed (freed, taken, or both; a slot may be listed twice), as
    /// [`Router::endpoint_changes`] for endpoints; `None` for a router a whole document built.
    #[must_use]
    pub fn rule_changes(&self) -> Option<&[u32]> {
        self.changed_rules.as_deref()
    }

    /// Whether some rule uses the endpoint `addr` reached over `transport`.
    #[must_use]
    pub fn lists_endpoint(&self, addr: SocketAddr, transport: Option<&Arc<Transport>>) -> bool {
        self.endpoint_index.get(&(addr, transport.cloned())).is_some()
    }

    /// The transports of [`Router::endpoints`], same order: `None` for plain HTTP/1.1 (a native backend).
    #[must_use]
    pub fn transports(&self) -> &[Option<Arc<Transport>>] {
        &self.transports
    }

    /// The clustered cache, when ghost.json enables it.
    #[must_use]
    pub fn cluster(&self) -> Option<&Cluster> {
        self.cluster.as_ref()
    }

    /// Number of compiled rules.
    #[must_use]
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Whether `client`'s forwarding headers are believed (it is in `requests.trustedProxies`).
    #[must_use]
    pub fn trusts(&self, client: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|c| c.contains(client))
    }

    /// Decides what to do with a request that arrived over TLS with the server name `sni` (from hitch's PROXY
    /// header): 421 Misdirected Request when, on an HTTPS socket, the listener the server name selects is not the one
    /// the Host selects (both by the same most-specific-hostname rule), so a connection set up for one listener's
    /// certificate never reaches another listener's routes; otherwise as [`Router::route`]. Without a server name
    /// (absent or empty) nothing is compared.
    #[must_use]
    pub fn route_tls<H: HeaderSource + ?Sized>(&self, req: &Request<'_, H>, sni: Option<&str>) -> Decision {
        if let Some(listener) =
            sni.filter(|s| !s.is_empty()).and_then(|sni| self.misdirected(req.socket, req.host, sni))
        {
            return Decision::Refuse(Refusal {
                rule: None,
                listener: Some(listener),
                status: 421,
                reason: Cow::Borrowed("the TLS server name and the Host select different listeners"),
                lookup: None,
            });
        }
        self.route(req)
    }

    /// The listener the server name selects, when it is an HTTPS listener and the Host selects another one.
    fn misdirected(&self, socket: &str, host: &str, sni: &str) -> Option<usize> {
        if !self.isolate {
            return None;
        }
        let by_sni = self.pick_listener(socket, &normalize_host(sni))?;
        if self.listeners[by_sni].protocol != Protocol::Https {
            return None;
        }
        (self.pick_listener(socket, &normalize_host(host)) != Some(by_sni)).then_some(by_sni)
    }

    /// Decides what to do with a request.
    #[must_use]
    pub fn route<H: HeaderSource + ?Sized>(&self, req: &Request<'_, H>) -> Decision {
        let host = normalize_host(req.host);
        let (listener, mask) = if self.isolate {
            match self.pick_listener(req.socket, &host) {
                Some(i) => (Some(i), 1u64 << i),
                None => {
                    return Decision::Refuse(Refusal {
                        rule: None,
                        listener: None,
                        status: 404,
                        reason: Cow::Borrowed("no listener accepts this host on this port"),
                        lookup: None,
                    })
                }
            }
        } else {
            (None, u64::MAX)
        };
        let (raw_path, query) = split_url(req.url);
        let normal = match self.normalize(raw_path, query, listener) {
            Ok(normal) => normal,
            Err(decision) => return decision,
        };
        // Rules match (and rewrite and redirect) the path without segment parameters; an unchanged target is sent
        // as it is, a normalised one with its parameters.
        let path = normal.matching.as_ref();
        let target = normal.changed(raw_path).then(|| with_query(&normal.target, query));
        // No matching entry, or one whose rule is gone: the same 404.
        let Some((entry, rule)) =
            self.find(&host, path, query, req, mask).and_then(|entry| Some((entry, self.rule(entry.rule as usize)?)))
        else {
            return Decision::Refuse(Refusal {
                rule: None,
                listener,
                status: 404,
                reason: Cow::Borrowed("no route matches this request"),
                lookup: None,
            });
        };
        let rule_index = entry.rule as usize;
        let prefix_len = entry.prefix_len.map(|l| l as usize);
        if let Some(redirect) = rule.redirect() {
            let input = RedirectInput {
                scheme: self.scheme(listener),
                host: &host,
                port: listener.map(|l| self.listeners[l].port).or_else(|| host_port(req.host)),
                path,
                query,
                prefix_len,
            };
            return Decision::Redirect(Redirect {
                rule: Some(rule_index),
                listener,
                status: redirect.status_code,
                location: redirect_location(redirect, &input),
            });
        }
        let refuse = |reason: String, lookup: Option<Lookup>| {
            Decision::Refuse(Refusal { rule: Some(rule_index), listener, status: 500, reason: reason.into(), lookup })
        };
        if rule.groups.is_empty() {
            return refuse(format!("route {} rule {} has no backends", rule.route_name, rule.id.rule), None);
        }
        if rule.total_weight == 0 {
            return refuse(
                format!("every backend of route {} rule {} has weight 0", rule.route_name, rule.id.rule),
                None,
            );
        }
        let mut pick = req.random % rule.total_weight;
        let mut group_index = 0;
        for (i, g) in rule.groups.iter().enumerate() {
            if pick < u64::from(g.weight) {
                group_index = i;
                break;
            }
            pick -= u64::from(g.weight);
        }
        let group = &rule.groups[group_index];
        let pool = self.pools.get(group.pool).and_then(Option::as_deref);
        if let Some(error) = group.error.as_ref().or(pool.and_then(|p| p.error.as_ref())) {
            return refuse(format!("backend {}: {error}", group.name), None);
        }
        let endpoints = pool.map(|p| p.endpoints.as_slice()).unwrap_or_default();
        if endpoints.is_empty() {
            // Scaled to zero or every endpoint unready: grace still covers a rule with cache settings.
            let lookup = rule.cache.is_some().then(|| {
                let (url, host) = rewrite_request(rule, path, query, prefix_len);
                Lookup { group: group_index, url: url.or(target), host }
            });
            return refuse(format!("backend {} has no ready endpoints", group.name), lookup);
        }
        let spread = mix(req.random);
        let endpoint = endpoints[usize::try_from(spread % endpoints.len() as u64).unwrap_or(0)];
        let (url, new_host) = rewrite_request(rule, path, query, prefix_len);
        let url = url.or(target);
        Decision::Forward(Forward { rule: rule_index, group: group_index, endpoint, listener, url, host: new_host })
    }

    /// The normalised path, or the 400 or redirect that answers the request instead.
    fn normalize<'u>(
        &self,
        raw_path: &'u str,
        query: Option<&str>,
        listener: Option<usize>,
    ) -> Result<NormalPath<'u>, Decision> {
        match normalize_path(raw_path, self.escaped_slashes) {
            PathCheck::Use(normal) => Ok(normal),
            PathCheck::Reject(reason) => Err(Decision::Refuse(Refusal {
                rule: None,
                listener,
                status: 400,
                reason: Cow::Borrowed(reason),
                lookup: None,
            })),
            PathCheck::Redirect(path) => Err(Decision::Redirect(Redirect {
                rule: None,
                listener,
                status: 307,
                location: with_query(&path, query),
            })),
        }
    }

    fn scheme(&self, listener: Option<usize>) -> Scheme {
        match listener.map(|l| self.listeners[l].protocol) {
            Some(Protocol::Https) => Scheme::Https,
            _ => Scheme::Http,
        }
    }

    /// The listener on `socket` whose hostname fits `host` most specifically.
    fn pick_listener(&self, socket: &str, host: &str) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None; // (specificity, index)
        for &i in self.sockets.get(socket)? {
            let specificity = match self.listeners[i].hostname.as_deref() {
                None => 1,
                Some(h) if h == host => usize::MAX,
                Some(h) => match h.strip_prefix('*') {
                    Some(suffix) if host.len() > suffix.len() && host.ends_with(suffix) => 1 + suffix.len(),
                    _ => continue,
                },
            };
            if best.is_none_or(|(s, _)| specificity > s) {
                best = Some((specificity, i));
            }
        }
        best.map(|(_, i)| i)
    }

    fn find<H: HeaderSource + ?Sized>(
        &self,
        host: &str,
        path: &str,
        query: Option<&str>,
        req: &Request<'_, H>,
        mask: u64,
    ) -> Option<&Entry> {
        if let Some(table) = self.exact_hosts.get(host) {
            if let Some(e) = find_in(table, path, query, req, mask) {
                return Some(e);
            }
        }
        if !self.wildcard_hosts.is_empty() {
            // Longest suffix first: ".b.example.com" before ".example.com"; the wildcard needs at least one label.
            for (i, _) in host.match_indices('.') {
                if i == 0 {
                    continue;
                }
                if let Some(table) = self.wildcard_hosts.get(&host[i..]) {
                    if let Some(e) = find_in(table, path, query, req, mask) {
                        return Some(e);
                    }
                }
            }
        }
        find_in(&self.catch_all, path, query, req, mask)
    }
}

fn find_in<'t, H: HeaderSource + ?Sized>(
    table: &'t Table,
    path: &str,
    query: Option<&str>,
    req: &Request<'_, H>,
    mask: u64,
) -> Option<&'t Entry> {
    let check = |bucket: &'t [Entry]| bucket.iter().find(|e| conditions_hold(e, query, req, mask));
    if !table.exact.is_empty() {
        if let Some(e) = table.exact.get(path).and_then(|b| check(b)) {
            return Some(e);
        }
    }
    if !table.prefix.is_empty() {
        let mut candidate = path.trim_end_matches('/');
        loop {
            if let Some(e) = table.prefix.get(candidate).and_then(|b| check(b)) {
                return Some(e);
            }
            match candidate.rfind('/') {
                Some(cut) => candidate = &candidate[..cut],
                None => break,
            }
        }
    }
    let set = table.regex_set.as_ref()?;
    // Most requests that get here match no pattern: one scan without allocating says so.
    if !set.is_match(path) {
        return None;
    }
    set.matches(path).iter().map(|i| &table.regex[i]).find(|e| conditions_hold(e, query, req, mask))
}

fn conditions_hold<H: HeaderSource + ?Sized>(e: &Entry, query: Option<&str>, req: &Request<'_, H>, mask: u64) -> bool {
    if e.listeners & mask == 0 {
        return false;
    }
    if let Some(m) = e.method {
        if m.as_str() != req.method {
            return false;
        }
    }
    for (name, cond) in &*e.headers {
        match req.headers.header(name) {
            Some(v) if cond.matches(v) => {}
            _ => return false,
        }
    }
    for (name, cond) in &*e.query {
        let value: Option<Cow<'_, str>> = query.and_then(|q| query_param(q, name));
        match value {
            Some(v) if cond.matches(&v) => {}
            _ => return false,
        }
    }
    true
}

/// The prefix-table key of a PathPrefix value: the value without trailing slashes (`/` becomes the empty key).
fn prefix_key(value: &str) -> &str {
    value.trim_end_matches('/')
}

fn value_cond(kind: ValueMatchType, value: &str) -> Result<ValueCond, String> {
    Ok(match kind {
        ValueMatchType::Exact => ValueCond::Exact(value.into()),
        ValueMatchType::RegularExpression => ValueCond::Regex(whole_regex(value)?),
    })
}

/// The compiled-size limit of one regular expression.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// `pattern` anchored to match a whole value.
fn anchored(pattern: &str) -> String {
    format!("^(?:{pattern})$")
}

/// Checks that a path pattern compiles alone within the size limit, as [`path_set`] will compile it with others.
fn check_regex(pattern: &str) -> Result<(), String> {
    regex::RegexBuilder::new(&anchored(pattern))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map(drop)
        .map_err(|e| format!("invalid regular expression {pattern:?}: {}", first_line(&e.to_string())))
}

/// One automaton for whole-value patterns that each passed [`check_regex`]: it may take the sum of their limits. The
/// lazy DFA's cache, one per thread that searches, keeps the crate's default size (a search outgrowing it runs slower,
/// never fails), so the memory of hundreds of worker threads does not grow with the patterns.
fn path_set<'p>(patterns: impl ExactSizeIterator<Item = &'p str>) -> Result<RegexSet, regex::Error> {
    let limit = REGEX_SIZE_LIMIT.saturating_mul(patterns.len());
    regex::RegexSetBuilder::new(patterns.map(anchored)).size_limit(limit).build()
}

/// Compiles a regex that must match the whole value.
fn whole_regex(pattern: &str) -> Result<WholeRegex, String> {
    use regex_automata::dfa::{dense, regex::Builder};
    const LIMIT: usize = REGEX_SIZE_LIMIT;
    let anchored = anchored(pattern);
    let dfa = Builder::new()
        .dense(dense::Config::new().dfa_size_limit(Some(LIMIT)).determinize_size_limit(Some(LIMIT)))
        .build(&anchored);
    if let Ok(re) = dfa {
        return Ok(WholeRegex::Dfa(Box::new(re)));
    }
    regex::RegexBuilder::new(&anchored)
        .size_limit(LIMIT)
        .build()
        .map(WholeRegex::Pooled)
        .map_err(|e| format!("invalid regular expression {pattern:?}: {}", first_line(&e.to_string())))
}

fn first_line(text: &str) -> String {
    text.lines().last().unwrap_or(text).trim().to_owned()
}

/// Scrambles the random number again so that group and endpoint choices are independent.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The rewritten request target and Host header of a URLRewrite filter, when `rule` has one.
fn rewrite_request(
    rule: &Rule,
    path: &str,
    query: Option<&str>,
    prefix_len: Option<usize>,
) -> (Option<String>, Option<String>) {
    let Some(rewrite) = rule.rewrite() else { return (None, None) };
    let url = rewrite.path.as_ref().map(|modifier| with_query(&rewrite_path(path, modifier, prefix_len), query));
    (url, rewrite.hostname.clone())
}

/// `path` with `?query` when there is one.
fn with_query(path: &str, query: Option<&str>) -> String {
    match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    }
}

/// The settings a route's `cache` stands for: its own, or those of the policy it names (with that policy's name).
fn resolve_cache(cache: &RouteCache, policies: &BTreeMap<String, Cache>) -> Result<Cache, String> {
    match cache {
        RouteCache::Inline(settings) => Ok((**settings).clone()),
        RouteCache::Policy(key) => {
            let missing = || format!("cache names the cache policy {key:?}, which cachePolicies does not hold");
            let (namespace, name) = key.split_once('/').ok_or_else(missing)?;
            let settings = policies.get(key).ok_or_else(missing)?;
            Ok(Cache {
                policy: Some(PolicyRef { namespace: namespace.to_owned(), name: name.to_owned() }),
                ..settings.clone()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(listeners: &str) -> Router {
        let text = format!(r#"{{"version": 1, "listeners": [{listeners}], "vhosts": {{}}}}"#);
        Router::from_json(&text).unwrap().0
    }

    #[test]
    fn a_slot_freed_by_a_delta_is_unused_until_a_new_endpoint_takes_it() {
        let vhost = |port: u16| {
            format!(
                r#"{{"routes": [{{"id": {{"namespace": "ns", "name": "r{port}", "rule": 0}},
                    "created": "2026-01-01T00:00:00Z", "listeners": ["l"],
                    "backends": [{{"name": "ns/b:80", "endpoints": [{{"address": "10.0.0.1", "port": {port}}}]}}]}}]}}"#
            )
        };
        let text = format!(r#"{{"version": 1, "vhosts": {{"a": {}, "b": {}}}}}"#, vhost(1), vhost(2));
        let (router, _) = Router::from_json(&text).unwrap();
        assert_eq!(router.endpoints().len(), 2);
        assert!(router.endpoint_used(0) && router.endpoint_used(1) && !router.endpoint_used(2));
        let slot = |r: &Router, port: u16| r.endpoints().iter().position(|e| e.port() == port).unwrap();
        let freed = slot(&router, 2);

        let (router, _) = router.apply_json(r#"{"version": 1, "vhosts": {"b": null}}"#).unwrap();
        assert_eq!(router.endpoints()[freed].port(), 2, "the freed slot keeps its last address");
        assert!(!router.endpoint_used(freed));
        assert!(router.endpoint_used(slot(&router, 1)));

        let text = format!(r#"{{"version": 1, "vhosts": {{"c": {}}}}}"#, vhost(3));
        let (router, _) = router.apply_json(&text).unwrap();
        assert_eq!((slot(&router, 3), router.endpoint_used(freed)), (freed, true));
    }

    #[test]
    fn pick_listener_prefers_exact_then_longest_wildcard_then_none() {
        let r = router(
            r#"{"name": "any", "socket": "s", "port": 80, "protocol": "HTTP"},
               {"name": "wide", "socket": "s", "port": 80, "protocol": "HTTP", "hostname": "*.example.com"},
               {"name": "narrow", "socket": "s", "port": 80, "protocol": "HTTP", "hostname": "*.a.example.com"},
               {"name": "exact", "socket": "s", "port": 80, "protocol": "HTTP", "hostname": "x.a.example.com"},
               {"name": "other", "socket": "t", "port": 81, "protocol": "HTTP", "hostname": "x.a.example.com"}"#,
        );
        let name = |socket: &str, host: &str| r.pick_listener(socket, host).map(|i| r.listeners[i].name.as_str());
        assert_eq!(name("s", "x.a.example.com"), Some("exact"));
        assert_eq!(name("s", "y.a.example.com"), Some("narrow"));
        assert_eq!(name("s", "b.example.com"), Some("wide"));
        assert_eq!(name("s", "example.com"), Some("any"));
        assert_eq!(name("t", "y.a.example.com"), None);
        assert_eq!(name("u", "x.a.example.com"), None);
    }

    #[test]
    fn route_tls_answers_421_when_the_server_name_and_host_select_different_listeners() {
        // The listeners of the Gateway API conformance test for misdirected requests, all on one HTTPS socket.
        let r = router(
            r#"{"name": "https", "socket": "s", "port": 443, "protocol": "HTTPS"},
               {"name": "second", "socket": "s", "port": 443, "protocol": "HTTPS", "hostname": "second-example.org"},
               {"name": "wild", "socket": "s", "port": 443, "protocol": "HTTPS", "hostname": "*.wildcard.org"},
               {"name": "fourth", "socket": "s", "port": 443, "protocol": "HTTPS",
                "hostname": "fourth-example.wildcard.org"},
               {"name": "plain", "socket": "p", "port": 80, "protocol": "HTTP", "hostname": "example.org"}"#,
        );
        let headers: Vec<(String, String)> = Vec::new();
        let status = |socket: &str, sni: Option<&str>, host: &str| {
            let req = Request { socket, host, url: "/", method: "GET", headers: &headers, random: 7 };
            match r.route_tls(&req, sni) {
                Decision::Refuse(refusal) => refusal.status,
                Decision::Forward(_) | Decision::Redirect(_) => 200,
            }
        };
        // No route is loaded, so a request that is not misdirected gets the 404 of routing.
        let cases = [
            ("example.org", "example.org", 404),
            ("example.org", "second-example.org", 421),
            ("example.org", "unknown-example.org", 404),
            ("second-example.org", "second-example.org", 404),
            ("second-example.org", "Second-Example.org:443", 404),
            ("second-example.org", "example.org", 421),
            ("second-example.org", "unknown-example.org", 421),
            ("third-example.wildcard.org", "fith-example.wildcard.org", 404),
            ("third-example.wildcard.org", "fourth-example.wildcard.org", 421),
            ("third-example.wildcard.org", "unknown-example.org", 421),
            ("fourth-example.wildcard.org", "fith-example.wildcard.org", 421),
            ("unknown-example.org", "example.org", 404),
            ("unknown-example.org", "second-example.org", 421),
        ];
        for (sni, host, expected) in cases {
            assert_eq!(status("s", Some(sni), host), expected, "SNI {sni}, Host {host}");
        }
        // Without a server name nothing is compared; nor on an HTTP socket.
        assert_eq!(status("s", None, "second-example.org"), 404);
        assert_eq!(status("s", Some(""), "second-example.org"), 404);
        assert_eq!(status("p", Some("other.org"), "example.org"), 404);
    }

    #[test]
    fn prefix_key_drops_trailing_slashes() {
        assert_eq!(prefix_key("/"), "");
        assert_eq!(prefix_key("/api/"), "/api");
        assert_eq!(prefix_key("/api"), "/api");
    }

    #[test]
    fn whole_regex_matches_whole_values_only() {
        let re = whole_regex("/items/[0-9]+").unwrap();
        assert!(re.is_match("/items/42"));
        assert!(!re.is_match("/items/42/x"));
        assert!(!re.is_match("/x/items/42"));
        // A Unicode word boundary cannot be a DFA; the fallback still matches whole values.
        let re = whole_regex(r"\bfoo\b.*").unwrap();
        assert!(matches!(re, WholeRegex::Pooled(_)));
        assert!(re.is_match("foo bar"));
        assert!(whole_regex("(").is_err());
    }

    /// The selection before the automaton: each regex entry of the sorted list tried in turn with its own regex.
    fn linear_regex_pick<'t>(table: &'t Table, compiled: &[WholeRegex], path: &str, method: &str) -> Option<&'t Entry> {
        let headers: Vec<(String, String)> = Vec::new();
        let req = Request { socket: "a0", host: "h", url: path, method, headers: &headers, random: 0 };
        table
            .regex
            .iter()
            .zip(compiled)
            .find(|(e, re)| re.is_match(path) && conditions_hold(e, None, &req, 1))
            .map(|(e, _)| e)
    }

    const PATTERNS: [&str; 10] =
        ["/a.*", "/a/[0-9]+", "/(a|b)/.*", ".*", "/b", r"\bx\b.*", "/[ab]+", "/a/x", "(?i)/A/.*", "/é.*"];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// The automaton picks the entry the one-by-one scan of the sorted list picked, whatever the patterns, their
        /// order, their methods and ages, and whether a pattern needs the `regex` fallback (`\b`, non-ASCII).
        #[test]
        fn the_regex_automaton_selects_what_the_linear_scan_selected(
            routes in proptest::collection::vec((0..PATTERNS.len(), proptest::option::of(0..2u8), 0..4u8), 1..12),
            paths in proptest::collection::vec("/[abx/0-9é ]{0,8}", 1..16),
        ) {
            let routes: Vec<String> = routes.iter().enumerate().map(|(i, (pattern, method, age))| {
                let method = match method { Some(0) => r#", "method": "GET""#, Some(_) => r#", "method": "POST""#, None => "" };
                format!(
                    r#"{{"id": {{"namespace": "ns", "name": "r{i}", "rule": 0}}, "created": "2026-01-0{}T00:00:00Z",
                        "listeners": ["web"], "matches": [{{"path": {{"type": "RegularExpression", "value": {}}}{method}}}],
                        "backends": []}}"#,
                    age + 1,
                    serde_json::Value::String(PATTERNS[*pattern].to_owned())
                )
            }).collect();
            let text = format!(r#"{{"version": 1, "vhosts": {{"*": {{"routes": [{}]}}}}}}"#, routes.join(","));
            let (router, report) = Router::from_json(&text).unwrap();
            proptest::prop_assert!(report.skipped.is_empty(), "{:?}", report);
            let headers: Vec<(String, String)> = Vec::new();
            let compiled: Vec<WholeRegex> =
                router.catch_all.regex.iter().map(|e| whole_regex(e.path_regex.as_deref().unwrap()).unwrap()).collect();
            for path in &paths {
                for method in ["GET", "POST"] {
                    let req = Request { socket: "a0", host: "h", url: path, method, headers: &headers, random: 0 };
                    let picked = find_in(&router.catch_all, path, None, &req, 1).map(|e| (e.rule, e.match_index));
                    let linear = linear_regex_pick(&router.catch_all, &compiled, path, method).map(|e| (e.rule, e.match_index));
                    proptest::prop_assert_eq!(picked, linear, "{} {}", method, path);
                }
            }
        }
    }

    #[test]
    fn paths_are_normalised_before_matching_and_sent_normalised() {
        let rule = |name: &str, prefix: &str, filters: &str| {
            format!(
                r#"{{"id": {{"namespace": "ns", "name": "{name}", "rule": 0}}, "created": "2026-01-01T00:00:00Z", "listeners": ["web"],
                    "matches": [{{"path": {{"type": "PathPrefix", "value": "{prefix}"}}}}], "filters": [{filters}],
                    "backends": [{{"name": "ns/{name}:80", "endpoints": [{{"address": "10.0.0.1", "port": 80}}]}}]}}"#
            )
        };
        let rewrite = r#"{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v2"}}}"#;
        let doc = |requests: &str| {
            format!(
                r#"{{"version": 1, {requests} "vhosts": {{"*": {{"routes": [{}, {}, {}]}}}}}}"#,
                rule("admin", "/admin", ""),
                rule("root", "/", ""),
                rule("api", "/api", rewrite)
            )
        };
        let headers: Vec<(String, String)> = Vec::new();
        let decide = |router: &Router, url: &str| {
            let req = Request { socket: "a0", host: "a.example", url, method: "GET", headers: &headers, random: 7 };
            match router.route(&req) {
                Decision::Forward(f) => (router.rule(f.rule).unwrap().route_name.clone(), f.url),
                Decision::Redirect(r) => (format!("{} {}", r.status, r.location), None),
                Decision::Refuse(r) => (r.status.to_string(), None),
            }
        };
        let (router, _) = Router::from_json(&doc("")).unwrap();
        let admin = |url: Option<&str>| ("ns/admin".to_owned(), url.map(str::to_owned));
        assert_eq!(decide(&router, "/admin/x"), admin(None));
        assert_eq!(decide(&router, "/%61dmin"), admin(Some("/admin")));
        assert_eq!(decide(&router, "//admin?q=%2F"), admin(Some("/admin?q=%2F")));
        assert_eq!(decide(&router, "/./admin"), admin(Some("/admin")));
        assert_eq!(decide(&router, "/x/../admin"), admin(Some("/admin")));
        assert_eq!(decide(&router, "/admin;x"), admin(None));
        assert_eq!(decide(&router, "/public/..;/admin"), admin(Some("/admin")));
        assert_eq!(decide(&router, "/admin%2fx"), ("400".to_owned(), None));
        assert_eq!(decide(&router, "/a%zz"), ("400".to_owned(), None));
        assert_eq!(decide(&router, "/adminx"), ("ns/root".to_owned(), None));
        assert_eq!(decide(&router, "/%61pi//x?y=1"), ("ns/api".to_owned(), Some("/v2/x?y=1".to_owned())));
        let policy =
            |p: &str| Router::from_json(&doc(&format!(r#""requests": {{"escapedSlashes": "{p}"}},"#))).unwrap().0;
        assert_eq!(decide(&policy("UnescapeAndRedirect"), "/admin%2fx?a=1"), ("307 /admin/x?a=1".to_owned(), None));
        assert_eq!(decide(&policy("UnescapeAndForward"), "/admin%5Cx"), admin(Some("/admin/x")));
        assert_eq!(
            decide(&policy("KeepUnchanged"), "/admin%2fx"),
            ("ns/root".to_owned(), Some("/admin%2Fx".to_owned()))
        );
    }

    #[test]
    fn trusted_proxies_are_read_and_bad_ones_refuse_the_document() {
        let doc =
            |cidrs: &str| format!(r#"{{"version": 1, "requests": {{"trustedProxies": [{cidrs}]}}, "vhosts": {{}}}}"#);
        let (router, _) = Router::from_json(&doc(r#""10.0.0.0/8", "2001:db8::1""#)).unwrap();
        assert!(router.trusts("10.1.2.3".parse().unwrap()));
        assert!(router.trusts("2001:db8::1".parse().unwrap()));
        assert!(!router.trusts("192.0.2.1".parse().unwrap()));
        assert!(!Router::default().trusts("10.1.2.3".parse().unwrap()));
        let err = Router::from_json(&doc(r#""10.0.0.0/8", "10.0.0.0/40""#)).unwrap_err();
        assert!(err.to_string().contains("$.requests.trustedProxies[1]"), "{err}");
    }

    #[test]
    fn no_ready_endpoint_refuses_and_only_a_cached_rule_keeps_the_request_side_for_a_lookup() {
        let route = |name: &str, cache: &str| {
            format!(
                r#"{{"id": {{"namespace": "ns", "name": "{name}", "rule": 0}}, "created": "2026-01-01T00:00:00Z", "listeners": ["web"],
                    "matches": [{{"path": {{"type": "PathPrefix", "value": "/{name}"}}}}],
                    "filters": [{{"type": "URLRewrite", "urlRewrite": {{"hostname": "origin.example",
                        "path": {{"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v2"}}}}}}],
                    "backends": [{{"name": "ns/empty:80", "endpoints": []}}]{cache}}}"#
            )
        };
        let cache = r#", "cache": {"policy": {"namespace": "ns", "name": "p"}}"#;
        let text = format!(
            r#"{{"version": 1, "vhosts": {{"*": {{"routes": [{}, {}]}}}}}}"#,
            route("cached", cache),
            route("plain", "")
        );
        let (router, report) = Router::from_json(&text).unwrap();
        assert!(report.skipped.is_empty(), "{report:?}");
        let headers: Vec<(String, String)> = Vec::new();
        let refusal = |url: &str| {
            let req = Request { socket: "a0", host: "a.example", url, method: "GET", headers: &headers, random: 7 };
            match router.route(&req) {
                Decision::Refuse(r) => r,
                other => panic!("{other:?}"),
            }
        };
        let cached = refusal("/cached/x?q=1");
        assert_eq!((cached.status, cached.reason.as_ref()), (500, "backend ns/empty:80 has no ready endpoints"));
        let lookup = Lookup { group: 0, url: Some("/v2/x?q=1".into()), host: Some("origin.example".into()) };
        assert_eq!(cached.lookup, Some(lookup));
        let plain = refusal("/plain/x");
        assert_eq!((plain.status, plain.lookup), (500, None));
    }

    #[test]
    fn a_route_naming_a_cache_policy_takes_its_settings_and_unbuildable_settings_serve_it_uncached() {
        let route = |name: &str, cache: &str| {
            format!(
                r#"{{"id": {{"namespace": "ns", "name": "{name}", "rule": 0}}, "created": "2026-01-01T00:00:00Z",
                    "listeners": ["web"], "matches": [{{"path": {{"type": "PathPrefix", "value": "/{name}"}}}}],
                    "backends": [{{"name": "ns/empty:80", "endpoints": []}}], "cache": {cache}}}"#
            )
        };
        let text = format!(
            r#"{{"version": 1, "cachePolicies": {{"ns/p": {{"ttl": {{"default": 7}}}},
                    "ns/big": {{"bypass": [{{"type": "Header", "name": "x", "valueRegex": "[a-z]{{100000}}"}}]}}}},
                "vhosts": {{"*": {{"routes": [{}, {}, {}]}}}}}}"#,
            route("named", r#""ns/p""#),
            route("dangling", r#""ns/q""#),
            route("big", r#""ns/big""#)
        );
        let (router, report) = Router::from_json(&text).unwrap();
        assert!(report.skipped.is_empty(), "{report:?}");
        assert_eq!(report.routes, 3);
        assert_eq!(router.rules.len(), 3);
        let cache = router.rule(0).unwrap().cache.as_ref().unwrap();
        assert_eq!((cache.identity.as_str(), cache.policy.as_str()), ("ns/named/0", "ns/p"));
        assert_eq!(cache.settings.ttl.default, 7);
        assert!(router.rule(1).unwrap().cache.is_none() && router.rule(2).unwrap().cache.is_none());
        let uncached: Vec<_> = report.uncached.iter().map(|s| (s.path.as_str(), s.route.as_deref())).collect();
        assert_eq!(
            uncached,
            [
                (r#"$.vhosts["*"].routes[1]"#, Some("ns/dangling rule 0")),
                (r#"$.vhosts["*"].routes[2]"#, Some("ns/big rule 0"))
            ]
        );
        assert_eq!(
            report.uncached[0].reason,
            r#"cache names the cache policy "ns/q", which cachePolicies does not hold; the rule is served without caching"#
        );
        let big = &report.uncached[1].reason;
        assert!(big.starts_with("cache.bypass[0].valueRegex") && big.ends_with("served without caching"), "{big}");
        // With no ready endpoint, only a rule with cache settings keeps the request side for a cache lookup.
        let headers: Vec<(String, String)> = Vec::new();
        for url in ["/dangling/x", "/big/x"] {
            let req = Request { socket: "a0", host: "a.example", url, method: "GET", headers: &headers, random: 7 };
            assert!(matches!(router.route(&req), Decision::Refuse(Refusal { status: 500, lookup: None, .. })), "{url}");
        }
    }
}
