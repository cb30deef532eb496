//! The cache side of the VMOD: applies ghost-core's cache decisions to `req`, `bereq`, `beresp` and `resp`.
//!
//! The client task (`vcl_recv` … `vcl_deliver`) and the backend task (`vcl_backend_fetch` …
//! `vcl_backend_response`) have separate `PRIV_TASK`s, so `vcl_recv` hands the rule's fetch settings to the backend
//! side in the request header [`TOKEN_HEADER`], which `fetch()` removes before the request leaves: no `X-Ghost-*`
//! header ever reaches an origin.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ghost_core::cache::{
    fallback_key, CookieChange, FetchSettings, RequestDecision, RequestView, ResponseDecision, ResponseView,
    HIT_FOR_MISS_SECONDS,
};
use ghost_core::filters::HeaderSink;
use ghost_core::invalidation::object_keys;
use ghost_core::request::normalize_host;
use ghost_core::HeaderToken;
use varnish::vcl::{Ctx, HttpHeaders, LogTag, StrOrBytes};

use crate::headers::{has_prefix, header, remove_where, set_url, text, value_of, Sink, Source};
use crate::state::State;
use crate::stats::{bump, stats_key, RuleStats};
use crate::task::Task;

/// The request header that carries [`FetchSettings`] from the client task to the backend task.
pub const TOKEN_HEADER: &str = "X-Ghost-Cache";

/// Object headers kept for invalidation (ban-lurker friendly) and removed before delivery.
const OBJ_HOST: &str = "X-Ghost-Host";
const OBJ_URL: &str = "X-Ghost-Url";
const OBJ_NAMESPACE: &str = "X-Ghost-Namespace";

/// How a client request of a cached rule went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not decided yet.
    Pending,
    /// A fresh object.
    Hit,
    /// An object past its TTL, within grace.
    Stale,
    /// Fetched from the origin.
    Miss,
    /// Passed to the origin.
    Pass,
    /// Fetched from the gateway pod that owns the key (clustered cache).
    Peer,
}

/// The cache state of a client request whose rule has cache settings.
#[derive(Debug)]
pub struct ClientCache {
    stats: Option<Arc<RuleStats>>,
    /// The normalised host, for the fetch settings of a miss.
    pub host: String,
    /// `(key, url)` when the request is looked up.
    pub lookup: Option<(String, String)>,
    /// Whether the looked-up request's body joins the key (an allowed method besides GET and HEAD).
    pub body: bool,
    bypass: bool,
    /// How the request went.
    pub outcome: Outcome,
    /// The peer (index in the cluster) that owns the key, when the request hops to it instead of a lookup here.
    pub peer: Option<usize>,
}

/// Decides lookup or pass for the request of `ctx` routed by `task` (in `vcl_recv`, after `req.url` was set to the
/// forwarded URL). For a lookup it removes cookies outside the key; returns whether the request is looked up.
#[allow(clippy::needless_pass_by_value)] // the caller's `Option<Box<Task>>::as_deref_mut()`
pub fn recv(ctx: &mut Ctx, task: Option<&mut Task>) -> bool {
    let Some(Task::Forward { state, rule, cache, .. }) = task else { return false };
    let Some(settings) = state.router.rule(*rule).and_then(|r| r.cache.as_ref()) else { return false };
    let Some(req) = ctx.http_req.as_mut() else { return false };
    let host = normalize_host(header(req, "host")).into_owned();
    let decision = {
        let view = Source(req);
        settings.decide(&RequestView { method: text(req.method()), host: &host, url: text(req.url()), headers: &view })
    };
    let mut client = ClientCache {
        stats: state.rule_stats(*rule),
        host,
        lookup: None,
        body: false,
        bypass: false,
        outcome: Outcome::Pending,
        peer: None,
    };
    // Hits log nothing more than the routing line; misses log in `miss()`.
    let mut line = None;
    match decision {
        RequestDecision::Pass(reason) => {
            client.bypass = matches!(reason, ghost_core::cache::PassReason::Bypass(_));
            line = Some(format!("ghost: cache pass {}: {}", settings.identity, reason.describe()));
        }
        RequestDecision::Lookup(lookup) => {
            // The key's URL (query normalised) is the one a miss fetches (`cache_url()` returns the same).
            if text(req.url()) != lookup.url {
                set_url(req, &lookup.url);
            }
            let mut sink = Sink(req);
            match &lookup.cookie {
                CookieChange::Keep => {}
                CookieChange::Set(value) => sink.set("Cookie", value),
                CookieChange::Remove => sink.remove("Cookie"),
            }
            client.lookup = Some((lookup.key, lookup.url));
            client.body = lookup.body;
        }
    }
    let looked_up = client.lookup.is_some();
    *cache = Some(Box::new(client));
    if let Some(line) = line {
        ctx.log(LogTag::VclLog, line);
    }
    looked_up
}

/// In `vcl_hit` and `vcl_miss`: counts the outcome; a miss or a stale hit (whose background fetch refreshes the
/// object) hands the rule's fetch settings to the backend task in [`TOKEN_HEADER`] (the backend request is copied
/// from the client request after these subroutines).
pub fn lookup_outcome(ctx: &mut Ctx, task: Option<&mut Task>, outcome: Outcome) {
    let Some(task) = task else { return };
    if let (Outcome::Miss, Task::Peer(p)) = (outcome, &*task) {
        ctx.log(LogTag::VclLog, format!("ghost: cache miss for a peer {}", p.key));
    }
    if let (Outcome::Miss | Outcome::Stale, Task::Forward { state, rule, cache: Some(c), .. }) = (outcome, &*task) {
        if let (Some(settings), Some(req)) =
            (state.router.rule(*rule).and_then(|r| r.cache.as_ref()), ctx.http_req.as_mut())
        {
            Sink(req).set(TOKEN_HEADER, &settings.fetch_settings(&c.host).to_token());
            if outcome == Outcome::Miss {
                let url = c.lookup.as_ref().map_or("", |(_, url)| url.as_str());
                ctx.log(LogTag::VclLog, format!("ghost: cache miss {} {url}", settings.identity));
            }
        }
    }
    record(Some(task), outcome);
}

fn client(task: Option<&Task>) -> Option<&ClientCache> {
    match task {
        Some(Task::Forward { cache: Some(c), .. }) => Some(c),
        _ => None,
    }
}

/// The URL of a looked-up request: the path and the normalised query the key is computed from.
pub fn url(task: Option<&Task>) -> String {
    client(task).and_then(|c| c.lookup.as_ref()).map(|(_, url)| url.clone()).unwrap_or_default()
}

/// Whether the looked-up request's body joins the key: the VCL caches and hashes it and fetches with its method. On
/// the owner of a clustered cache, whether the first pod's decision said so.
pub fn body(task: Option<&Task>) -> bool {
    if let Some(Task::Peer(p)) = task {
        return p.body;
    }
    client(task).is_some_and(|c| c.lookup.is_some() && c.body)
}

/// Whether the request is looked up here (not when it hops to the key's owner); a peer request always is.
pub fn cacheable(task: Option<&Task>) -> bool {
    matches!(task, Some(Task::Peer(_))) || client(task).is_some_and(|c| c.lookup.is_some() && c.peer.is_none())
}

/// The cache key of the request (in `vcl_hash`): the rule's key, or host, rule and URL for requests that user VCL
/// looks up although their rule has no cache settings.
pub fn key(ctx: &Ctx, task: Option<&Task>) -> String {
    if let Some((key, _)) = client(task).and_then(|c| c.lookup.as_ref()) {
        return key.clone();
    }
    if let Some(Task::Peer(p)) = task {
        return p.key.clone();
    }
    let rule = match task {
        Some(Task::Forward { state, rule, .. }) => {
            state.router.rule(*rule).map(|r| format!("{}/{}", r.route_name, r.id.rule)).unwrap_or_default()
        }
        _ => String::new(),
    };
    let Some(req) = ctx.http_req.as_ref() else { return String::new() };
    fallback_key(&normalize_host(header(req, "host")), &rule, text(req.url()))
}

/// Records how the request went (`vcl_hit`, `vcl_miss`, `vcl_pass`) and counts it.
#[allow(clippy::needless_pass_by_value)] // the caller's `Option<Box<Task>>::as_deref_mut()`
pub fn record(task: Option<&mut Task>, outcome: Outcome) {
    let (stats, bypass) = match task {
        Some(Task::Forward { cache: Some(c), .. }) => {
            // A hop passes here; the owner counts its lookup.
            if c.peer.is_some() {
                c.outcome = Outcome::Peer;
                return;
            }
            c.outcome = outcome;
            (&c.stats, c.bypass)
        }
        Some(Task::Peer(p)) => {
            p.outcome = outcome;
            (&p.stats, false)
        }
        _ => return,
    };
    if let Some(stats) = stats {
        bump(match outcome {
            Outcome::Hit => &stats.hits,
            Outcome::Stale => &stats.stale_hits,
            Outcome::Miss => &stats.misses,
            Outcome::Pass if bypass => &stats.bypasses,
            Outcome::Pass | Outcome::Pending | Outcome::Peer => &stats.passes,
        });
    }
}

/// In `vcl_deliver`, in one pass over the response: removes Varnish's `Via` and `X-Varnish` (the logs keep the version
/// and the transaction ids), ghost's internal headers and, for a rule with cache settings, the surrogate headers; then
/// adds the debug headers when asked to.
pub fn deliver(ctx: &mut Ctx, task: Option<&Task>, hits: i64) {
    let Some(resp) = ctx.http_resp.as_mut() else { return };
    if let Some(Task::Peer(p)) = task {
        // The first pod strips the rest and labels its answer with this pod's outcome.
        remove_where(resp, |line| has_prefix(line, b"x-ghost-") || value_of(line, "xkey").is_some());
        Sink(resp).set(crate::peer::OUTCOME_HEADER, label(p.outcome));
        return;
    }
    let owner_outcome = header(resp, crate::peer::OUTCOME_HEADER).to_owned();
    let cached = match task {
        Some(Task::Forward { state, rule, cache: Some(c), .. }) => {
            state.router.rule(*rule).and_then(|r| r.cache.as_ref()).map(|settings| (settings, c))
        }
        _ => None,
    };
    let surrogate = cached.map(|(settings, _)| settings.settings.surrogate_keys.header.as_str());
    remove_where(resp, |line| {
        has_prefix(line, b"x-ghost-")
            || value_of(line, "Via").is_some()
            || value_of(line, "X-Varnish").is_some()
            || surrogate.is_some_and(|surrogate| {
                [surrogate, "xkey", "Surrogate-Control"].iter().any(|name| value_of(line, name).is_some())
            })
    });
    let Some((settings, c)) = cached else { return };
    let mut sink = Sink(resp);
    if settings.settings.debug_headers {
        let label = match c.outcome {
            Outcome::Pass if c.bypass => "BYPASS",
            Outcome::Peer => &format!("PEER {owner_outcome}"),
            outcome => label(outcome),
        };
        sink.set("X-Cache", label);
        sink.set("X-Cache-Hits", &hits.max(0).to_string());
    }
}

fn label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Hit => "HIT",
        Outcome::Stale => "STALE",
        Outcome::Miss => "MISS",
        Outcome::Pass | Outcome::Pending => "PASS",
        Outcome::Peer => "PEER",
    }
}

/// The backend task of a fetch whose rule has cache settings.
#[derive(Debug)]
pub struct BackendCache {
    settings: FetchSettings,
    stats: Option<Arc<RuleStats>>,
    decision: Option<ResponseDecision>,
}

/// In `vcl_backend_fetch`: takes the fetch settings out of the request (and every other `X-Ghost-*` header) so that
/// the origin never sees them.
pub fn fetch(ctx: &mut Ctx, state: &State) -> Option<BackendCache> {
    let bereq = ctx.http_bereq.as_mut()?;
    let token = match bereq.header(TOKEN_HEADER) {
        Some(StrOrBytes::Utf8(s)) => Some(s.to_owned()),
        _ => None,
    };
    remove_where(bereq, |line| has_prefix(line, b"x-ghost-"));
    let settings = FetchSettings::from_token(&token?)?;
    Some(BackendCache {
        stats: state.stats.get(&stats_key(&settings.rule, &settings.policy)).cloned(),
        settings,
        decision: None,
    })
}

/// In `vcl_backend_response`: decides whether and how long the response is stored and prepares the object's
/// headers. Returns false when the fetch has no cache settings (then VCL and the built-in rules decide).
pub fn response(ctx: &mut Ctx, cache: Option<&mut BackendCache>) -> bool {
    let Some(cache) = cache else { return false };
    let url = ctx.http_bereq.as_ref().map(|b| text(b.url()).to_owned()).unwrap_or_default();
    let Some(beresp) = ctx.http_beresp.as_mut() else { return false };
    let cache_control = all_values(beresp, "cache-control");
    let set_cookie = beresp.header("set-cookie").is_some();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    let status = text(beresp.status()).parse().unwrap_or(0);
    let decision = {
        let view = ResponseView {
            status,
            cache_control: cache_control.as_deref(),
            surrogate_control: beresp.header("surrogate-control").map(|v| text(Some(v))),
            expires: beresp.header("expires").map(|v| text(Some(v))),
            date: beresp.header("date").map(|v| text(Some(v))),
            age: beresp.header("age").map(|v| text(Some(v))),
            set_cookie,
            vary: beresp.header("vary").map(|v| text(Some(v))),
            validator: beresp.header("etag").is_some() || beresp.header("last-modified").is_some(),
            now,
        };
        cache.settings.decide(&view)
    };
    let keys = {
        let configured = all_values(beresp, &cache.settings.surrogate_header);
        let xkey = all_values(beresp, "xkey");
        let mut keys = cache.settings.surrogate_keys(configured.iter().chain(xkey.iter()).map(String::as_str));
        // The implicit keys of host, URL path and path prefixes, for invalidations through xkey.
        if !keys.is_empty() {
            keys.push(' ');
        }
        keys.push_str(&object_keys(&cache.settings.route_namespace, &cache.settings.host, &url));
        keys
    };
    let mut sink = Sink(beresp);
    sink.remove("Surrogate-Control");
    sink.remove(&cache.settings.surrogate_header);
    sink.set("xkey", &keys);
    sink.set(OBJ_HOST, &cache.settings.host);
    sink.set(OBJ_URL, &url);
    sink.set(OBJ_NAMESPACE, &cache.settings.route_namespace);
    let line = match &decision {
        ResponseDecision::Store(storage) => {
            if storage.strip_set_cookie {
                sink.remove("Set-Cookie");
                if let Some(stats) = &cache.stats {
                    bump(&stats.set_cookie_stripped);
                }
            }
            if storage.strip_freshness {
                sink.remove("Cache-Control");
                sink.remove("Expires");
            }
            if let Some(stats) = &cache.stats {
                bump(&stats.stored);
            }
            format!(
                "ghost: cache store {} ttl={} grace={} keep={}",
                cache.settings.rule, storage.ttl, storage.grace, storage.keep
            )
        }
        ResponseDecision::HitForMiss(why) => {
            if let Some(stats) = &cache.stats {
                bump(&stats.uncacheable);
            }
            format!("ghost: cache hit-for-miss {}: {}", cache.settings.rule, why.describe())
        }
    };
    cache.decision = Some(decision);
    ctx.log(LogTag::VclLog, line);
    true
}

/// `(ttl, grace, keep)` in seconds and whether the object is a hit-for-miss marker.
pub fn lifetime(cache: Option<&BackendCache>) -> (u32, u32, u32, bool) {
    match cache.and_then(|c| c.decision.as_ref()) {
        Some(ResponseDecision::Store(s)) => (s.ttl, s.grace, s.keep, false),
        Some(ResponseDecision::HitForMiss(_)) => (HIT_FOR_MISS_SECONDS, 0, 0, true),
        None => (0, 0, 0, false),
    }
}

/// Whether `response()` decided for this fetch.
pub fn decided(cache: Option<&BackendCache>) -> bool {
    cache.is_some_and(|c| c.decision.is_some())
}

/// Every value of header `name`, joined by `, `.
fn all_values(headers: &HttpHeaders<'_>, name: &str) -> Option<String> {
    let mut out: Option<String> = None;
    for (n, v) in headers.iter() {
        if !n.eq_ignore_ascii_case(name) {
            continue;
        }
        let v = text(Some(v));
        match &mut out {
            Some(o) => {
                o.push_str(", ");
                o.push_str(v);
            }
            None => out = Some(v.to_owned()),
        }
    }
    out
}
