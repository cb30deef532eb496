//! What one client request carries between `vcl_recv`, `vcl_synth` and `vcl_deliver` (a `PRIV_TASK`).

use std::cell::{Cell, RefCell};
use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ghost_core::cors::{CorsHeaders, CorsRequest};
use ghost_core::filters::{apply_header_modifier, HeaderSink};
use ghost_core::forwarding::{set_forwarding_headers, Arrival};
use ghost_core::text::{push_decimal, push_socket_addr};
use ghost_core::{Decision, Request};
use varnish::ffi::VCL_BACKEND;
use varnish::vcl::{Ctx, HttpHeaders, LogTag, StrOrBytes, VclError};

use crate::cache::{BackendCache, ClientCache};
use crate::fetch::Attempt;
use crate::headers::{header, set_url, strip_internal, text, Sink, Source};
use crate::invalidation::{self, Invalidation, CONTROL_INVALIDATE};
use crate::mirror;
use crate::peer::{Hop, PeerRequest};
use crate::state::{Shared, State};

const CONTROL_RELOAD: &str = "/.varnish-ghost/reload";
const CONTROL_STATS: &str = "/.varnish-ghost/stats";
const CONTROL_DRAIN: &str = "/.varnish-ghost/drain";
const CONTROL_PREFIX: &str = "/.varnish-ghost/";

/// Set by the control path `/.varnish-ghost/drain` and never cleared (a drain ends with varnishd stopping): every
/// answer then carries `Connection: close`, so that no client reuses a connection of a gateway that goes away. One
/// flag for the process, whichever VCL and router answer.
static DRAINING: AtomicBool = AtomicBool::new(false);

/// Answers with `Connection: close` (Varnish then closes the client connection) while the gateway drains.
fn close_when_draining(ctx: &mut Ctx) {
    if !DRAINING.load(Ordering::Relaxed) {
        return;
    }
    if let Some(resp) = ctx.http_resp.as_mut() {
        HeaderSink::set(&mut Sink(resp), "Connection", "close");
    }
}

/// The decision for one request.
#[derive(Debug)]
pub enum Task {
    /// Forwarded to a backend, or only looked up in the cache (see `endpoint`).
    Forward {
        /// The state the decision was made with (kept alive for `deliver()`).
        state: Arc<State>,
        /// The rule.
        rule: usize,
        /// The backend group in the rule.
        group: usize,
        /// The endpoint (index into the state's backends), or, for a rule with cache settings whose backend has no
        /// ready endpoint, ghost's 500: a fresh or in-grace object may still answer, a miss or a pass gets it.
        endpoint: Result<usize, Answer>,
        /// The rewritten request target, if any.
        url: Option<String>,
        /// The cache decision, when the rule has cache settings (made by `receive()`).
        cache: Option<Box<ClientCache>>,
        /// Whether the request is a WebSocket upgrade that goes to a backend (piped, never looked up).
        upgrade: bool,
        /// The CORS headers of the answer, when the rule has the CORS filter.
        cors: Option<Box<CorsHeaders>>,
    },
    /// Answered by ghost itself.
    Answer(Answer),
    /// A backend fetch of a rule with cache settings, timeouts or retries (the backend task).
    Fetch(Box<BackendFetch>),
    /// An invalidation on the control socket, between `invalidation()` and `invalidated()`.
    Invalidation(Invalidation),
    /// A request another gateway pod sent to this one, the owner of its key (clustered cache).
    Peer(Box<PeerRequest>),
}

/// What the backend task of a fetch keeps from its first attempt to its last.
#[derive(Debug)]
pub struct BackendFetch {
    /// The rule's cache settings, when it has some.
    pub cache: Option<BackendCache>,
    /// The rule's timeouts and retries, when it has some.
    pub attempt: Option<Attempt>,
    /// The hop to the key's owner, when the request was sent to one (clustered cache).
    pub hop: Option<Hop>,
}

/// A synthetic answer.
#[derive(Debug)]
pub struct Answer {
    status: u16,
    content_type: Option<&'static str>,
    location: Option<String>,
    body: String,
    /// CORS headers of a preflight answer.
    cors: Option<Box<CorsHeaders>>,
    /// A refused peer request: the answer says so, and the first pod fetches from the origin itself.
    peer_refused: bool,
}

impl Answer {
    fn text(status: u16, reason: &str) -> Self {
        Self {
            status,
            content_type: Some("text/plain; charset=utf-8"),
            location: None,
            body: format!("{reason}\n"),
            cors: None,
            peer_refused: false,
        }
    }

    /// The owner's refusal of a peer request.
    pub fn peer_refusal(status: u16, reason: &str) -> Self {
        Self { peer_refused: true, ..Self::text(status, reason) }
    }

    fn redirect(status: u16, location: String) -> Self {
        let body = format!("redirecting to {location}\n");
        Self { status, location: Some(location), body, ..Self::text(status, "") }
    }

    /// The gateway's answer to a CORS preflight: 204 without a body.
    fn preflight(cors: CorsHeaders) -> Self {
        Self {
            status: 204,
            content_type: None,
            location: None,
            body: String::new(),
            cors: Some(Box::new(cors)),
            peer_refused: false,
        }
    }
}

/// What a client reads of a refusal. A 404 reason names nothing of the cluster; a 500 reason names namespaces,
/// Services and ReferenceGrant state, so the client gets a generic line and the reason goes to the log only.
fn client_reason(status: u16, reason: &str) -> &str {
    if status >= 500 {
        "no backend is available for this request"
    } else {
        reason
    }
}

impl Task {
    /// Whether the request goes to a backend.
    pub fn is_forward(&self) -> bool {
        matches!(self, Self::Forward { endpoint: Ok(_), .. })
    }

    /// Whether the request goes to a backend or is looked up in the cache although its backend has no endpoint.
    pub fn is_routed(&self) -> bool {
        matches!(self, Self::Forward { .. })
    }

    /// Whether the request is a WebSocket upgrade that goes to a backend.
    pub fn is_upgrade(&self) -> bool {
        matches!(self, Self::Forward { upgrade: true, .. })
    }

    /// ghost's own answer for the request, if any.
    fn answer(&self) -> Option<&Answer> {
        match self {
            Self::Answer(a) | Self::Forward { endpoint: Err(a), .. } => Some(a),
            Self::Forward { .. } | Self::Fetch(_) | Self::Invalidation(_) | Self::Peer(_) => None,
        }
    }

    /// The status of ghost's answer, or 0 when forwarded.
    pub fn status(&self) -> u16 {
        self.answer().map_or(0, |a| a.status)
    }

    /// The body of ghost's answer.
    pub fn body(&self) -> String {
        self.answer().map(|a| a.body.clone()).unwrap_or_default()
    }
}

thread_local! {
    static RANDOM: Cell<u64> = Cell::new(RandomState::new().hash_one(0u64) | 1);
}

/// xorshift64*: fast and good enough to spread traffic by weight.
fn random() -> u64 {
    RANDOM.with(|cell| {
        let mut x = cell.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        cell.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

/// `vcl_recv` in one VMOD call: routes the request (`route()`) into `task`, hands its fetch plan to the backend side,
/// and, unless it is a WebSocket upgrade, decides lookup or pass for a rule with cache settings: for every routed
/// request when `grace` (one whose backend has no ready endpoint is looked up too), else only for a forwarded one.
#[allow(clippy::too_many_arguments)] // recv()'s VCL arguments plus the state and the grace flag
pub fn receive<'t>(
    ctx: &mut Ctx,
    task: &'t mut Option<Box<Task>>,
    state: &Arc<State>,
    socket: &str,
    client: Option<SocketAddr>,
    sni: Option<&str>,
    grace: bool,
) -> Result<&'t Task, VclError> {
    let routed = task.insert(Box::new(route(ctx, state, socket, client, sni)?));
    crate::fetch::hand_over(ctx, Some(&**routed));
    let forward = routed.is_forward();
    let upgrade = forward
        && ctx.http_req.as_ref().is_some_and(|req| ghost_core::is_websocket_upgrade(text(req.method()), &Source(req)));
    if let Task::Forward { upgrade: flag, .. } = &mut **routed {
        *flag = upgrade;
    }
    if !upgrade && (forward || grace && routed.is_routed()) {
        crate::cache::recv(ctx, Some(&mut **routed));
    }
    Ok(routed)
}

/// Routes the request of `ctx` from `client` and applies the request side of the decision to `req`: forwarding
/// headers, filters.
///
/// Logs the decision as a `VCL_Log` record: `ghost: <status> <route> <listener> <backend> <endpoint>|<reason>`.
pub fn route(
    ctx: &mut Ctx,
    state: &Arc<State>,
    socket: &str,
    client: Option<SocketAddr>,
    sni: Option<&str>,
) -> Result<Task, VclError> {
    // One buffer per worker thread for the log line: this runs for every request.
    thread_local! {
        static LINE: RefCell<String> = const { RefCell::new(String::new()) };
    }
    LINE.with(|line| {
        let mut line = line.borrow_mut();
        line.clear();
        let task = decide(ctx, state, socket, client, sni, &mut line)?;
        ctx.log(LogTag::VclLog, line.as_str());
        Ok(task)
    })
}

#[allow(clippy::too_many_lines)] // one pass over the decision: headers, filters and the log line together
fn decide(
    ctx: &mut Ctx,
    state: &Arc<State>,
    socket: &str,
    client: Option<SocketAddr>,
    sni: Option<&str>,
    line: &mut String,
) -> Result<Task, VclError> {
    let req = ctx.http_req.as_mut().ok_or("ghost: router.recv() must be called from vcl_recv")?;
    strip_internal(req);
    let url = text(req.url());
    if url.starts_with(CONTROL_PREFIX) {
        line.push_str("ghost: 404 control path on a traffic socket");
        return Ok(Task::Answer(Answer::text(404, "not found")));
    }
    let received_host = header(req, "host");
    let decision = {
        let view = Source(req);
        let request =
            Request { socket, host: received_host, url, method: text(req.method()), headers: &view, random: random() };
        state.router.route_tls(&request, sni)
    };
    let router = &state.router;
    let name_of = |listener: Option<usize>| listener.and_then(|l| router.listener(l)).map(|l| l.name.as_str());
    let (listener_index, rule_index) = match &decision {
        Decision::Forward(f) => (f.listener, Some(f.rule)),
        Decision::Redirect(r) => (r.listener, r.rule),
        Decision::Refuse(r) => (r.listener, r.rule),
    };
    let route_name = rule_index.and_then(|i| router.rule(i)).map(|r| r.route_name.as_str());
    let listener = name_of(listener_index);
    let received_host = received_host.to_owned();
    // CORS reads the request as the client sent it, before request filters.
    let cors = rule_index.and_then(|rule| cors_of(router, req, rule));
    let mut sink = Sink(req);
    forwarding_headers(router, listener_index, client, &received_host, &mut sink);
    // strip_internal() removed any client-sent X-Gateway-* header.
    if let Some(l) = listener {
        sink.append("X-Gateway-Listener", l);
    }
    if let Some(r) = route_name {
        sink.append("X-Gateway-Route", r);
    }
    let route_label = |rule: Option<usize>, line: &mut String| match rule.and_then(|i| router.rule(i)) {
        Some(r) => {
            line.push_str(&r.route_name);
            line.push_str(" rule ");
            push_decimal(line, u64::from(r.id.rule));
        }
        None => line.push('-'),
    };
    let listener_label = listener.unwrap_or("-");
    // The request side of forwarding: request filters of the rule and group, then the rewritten Host and target
    // (`url()` returns the same, for VCL that sets it again).
    let mut forward_request = |rule: usize, group: usize, host: Option<&String>, url: Option<&String>| {
        if let Some(rule) = router.rule(rule) {
            for modifier in rule.request_modifiers(Some(group)) {
                apply_header_modifier(modifier, &mut sink);
            }
        }
        if let Some(host) = host {
            HeaderSink::set(&mut sink, "Host", host);
        }
        if let Some(url) = url {
            set_url(sink.0, url);
        }
    };
    Ok(match decision {
        // A preflight is answered by the gateway, whatever the rule would otherwise do.
        _ if cors.as_ref().is_some_and(|(preflight, _)| *preflight) => {
            line.push_str("ghost: 204 ");
            route_label(rule_index, line);
            let _ = write!(line, " {listener_label} CORS preflight");
            Task::Answer(Answer::preflight(cors.map(|(_, h)| h).unwrap_or_default()))
        }
        Decision::Forward(f) => {
            forward_request(f.rule, f.group, f.host.as_ref(), f.url.as_ref());
            let drawn = router.rule(f.rule).filter(|r| !r.mirrors.is_empty()).map(|r| mirror::draw(r, sink.0, random));
            // After the request filters; a body of known length within the limit is read into memory first.
            let mirrored = drawn.map(|drawn| mirror::submit(ctx, drawn));
            let group = router.rule(f.rule).and_then(|r| r.groups.get(f.group)).map_or("", |g| g.name.as_str());
            line.push_str("ghost: 200 ");
            route_label(Some(f.rule), line);
            for part in [" ", listener_label, " ", group, " "] {
                line.push_str(part);
            }
            if let Some(&endpoint) = router.endpoints().get(f.endpoint) {
                push_socket_addr(line, endpoint);
            }
            if let Some(n) = mirrored {
                line.push_str(" mirrored ");
                push_decimal(line, n as u64);
            }
            Task::Forward {
                state: state.clone(),
                rule: f.rule,
                group: f.group,
                endpoint: Ok(f.endpoint),
                url: f.url,
                cache: None,
                upgrade: false,
                cors: cors.map(|(_, h)| Box::new(h)),
            }
        }
        Decision::Redirect(r) => {
            let _ = write!(line, "ghost: {} ", r.status);
            route_label(r.rule, line);
            let _ = write!(line, " {listener_label} {}", r.location);
            Task::Answer(Answer::redirect(r.status, r.location))
        }
        Decision::Refuse(r) => {
            let _ = write!(line, "ghost: {} ", r.status);
            route_label(r.rule, line);
            let _ = write!(line, " {listener_label} {}", r.reason);
            let answer = Answer::text(r.status, client_reason(r.status, &r.reason));
            match (r.rule, r.lookup) {
                // Prepared exactly like a forwarded request, so that the lookup finds the objects it stored.
                (Some(rule), Some(lookup)) => {
                    forward_request(rule, lookup.group, lookup.host.as_ref(), lookup.url.as_ref());
                    Task::Forward {
                        state: state.clone(),
                        rule,
                        group: lookup.group,
                        endpoint: Err(answer),
                        url: lookup.url,
                        cache: None,
                        upgrade: false,
                        cors: cors.map(|(_, h)| Box::new(h)),
                    }
                }
                _ => Task::Answer(answer),
            }
        }
    })
}

/// The CORS headers for the request `req` of `rule`, and whether it is a preflight, when the rule has the filter.
fn cors_of(router: &ghost_core::Router, req: &HttpHeaders<'_>, rule: usize) -> Option<(bool, CorsHeaders)> {
    let cors = router.rule(rule)?.cors()?;
    let header = |name: &str| match req.header(name) {
        Some(StrOrBytes::Utf8(v)) => Some(v),
        _ => None,
    };
    let request = CorsRequest {
        method: text(req.method()),
        origin: header("origin"),
        request_method: header("access-control-request-method"),
        request_headers: header("access-control-request-headers"),
    };
    Some(match ghost_core::cors::preflight(cors, &request) {
        Some(headers) => (true, headers),
        None => (false, ghost_core::cors::response(cors, &request)),
    })
}

/// Sets the forwarding headers of a request from `client` that arrived on the listener at `listener`.
fn forwarding_headers(
    router: &ghost_core::Router,
    listener: Option<usize>,
    client: Option<SocketAddr>,
    host: &str,
    sink: &mut Sink<'_, '_>,
) {
    let client = client.map(|c| c.ip());
    let arrival = Arrival {
        client,
        trusted: client.is_some_and(|c| router.trusts(c)),
        listener: listener.and_then(|l| router.listener(l)).map(|l| (l.protocol, l.port)),
        host,
    };
    set_forwarding_headers(&arrival, sink);
}

/// The backend of a forwarded request, or a null backend.
pub fn backend_of(task: Option<&Task>) -> VCL_BACKEND {
    let backend = match task {
        Some(Task::Forward { state, cache: Some(c), .. }) if c.peer.is_some() => {
            c.peer.and_then(|peer| crate::peer::backend(state, peer))
        }
        Some(Task::Forward { state, endpoint: Ok(endpoint), .. }) => {
            state.backends.get(*endpoint).map(|b| b.vcl_backend())
        }
        Some(Task::Peer(p)) => p.state.backends.get(p.endpoint).map(|b| b.vcl_backend()),
        _ => None,
    };
    backend.unwrap_or(VCL_BACKEND(ptr::null()))
}

/// The request target to forward.
pub fn url_of(ctx: &Ctx, task: Option<&Task>) -> String {
    match task {
        Some(Task::Forward { url: Some(url), .. }) => url.clone(),
        _ => ctx.http_req.as_ref().map(|r| text(r.url()).to_owned()).unwrap_or_default(),
    }
}

/// Handles a request on the control socket.
pub fn control(ctx: &mut Ctx, shared: &Shared, url: &str, client: Option<SocketAddr>) -> Task {
    if !client.is_some_and(|c| c.ip().is_loopback()) {
        return Task::Answer(json_answer(403, "{\"status\":\"error\",\"error\":\"loopback clients only\"}\n".into()));
    }
    let path = url.split('?').next().unwrap_or(url);
    if path == CONTROL_STATS {
        let state = shared.current();
        return Task::Answer(json_answer(200, crate::stats::to_json(&state.stats, state.router.cluster().is_some())));
    }
    if path == CONTROL_INVALIDATE {
        // A well-formed invalidation never gets here: the VCL applies it after `invalidation()`.
        let error = match invalidation::parse(ctx, url, client) {
            Err(e) => e,
            Ok(_) => "the VCL does not apply invalidations (router.invalidation() is not called)".to_owned(),
        };
        let body = serde_json::json!({ "status": "error", "error": error }).to_string() + "\n";
        return Task::Answer(json_answer(400, body));
    }
    if path == CONTROL_DRAIN {
        DRAINING.store(true, Ordering::Relaxed);
        ctx.log(LogTag::VclLog, "ghost: draining: answers close their connections");
        return Task::Answer(json_answer(200, "{\"status\":\"ok\",\"draining\":true}\n".into()));
    }
    if path != CONTROL_RELOAD {
        return Task::Answer(json_answer(404, "{\"status\":\"error\",\"error\":\"not found\"}\n".into()));
    }
    let outcome = shared.reload(ctx, &crate::state::Reload::from_url(url));
    let body = outcome.to_json();
    ctx.log(LogTag::VclLog, format!("ghost: reload {}", body.trim_end()));
    Task::Answer(json_answer(outcome.status(), body))
}

/// The answer to an applied invalidation: 200 with the number of objects `xkey` affected.
pub fn invalidated(ctx: &mut Ctx, task: Option<&Task>, affected: i64) -> Task {
    match task {
        Some(Task::Invalidation(i)) => Task::Answer(json_answer(200, invalidation::applied(ctx, i, affected))),
        _ => Task::Answer(json_answer(500, "{\"status\":\"error\",\"error\":\"no invalidation\"}\n".into())),
    }
}

fn json_answer(status: u16, body: String) -> Answer {
    Answer { status, content_type: Some("application/json"), location: None, body, cors: None, peer_refused: false }
}

/// Decorates ghost's synthetic answer in `vcl_synth`; false when the synthetic response is not ghost's. Every
/// synthetic answer gets `Connection: close` while the gateway drains.
pub fn synth(ctx: &mut Ctx, task: Option<&Task>) -> bool {
    close_when_draining(ctx);
    let Some(answer) = task.and_then(Task::answer) else { return false };
    let Some(resp) = ctx.http_resp.as_mut() else { return false };
    if text(resp.status()).parse::<u16>().ok() != Some(answer.status) {
        return false;
    }
    let mut sink = Sink(resp);
    match answer.content_type {
        Some(content_type) => HeaderSink::set(&mut sink, "Content-Type", content_type),
        None => ghost_core::filters::HeaderSink::remove(&mut sink, "Content-Type"),
    }
    HeaderSink::set(&mut sink, "Cache-Control", "no-store");
    if let Some(location) = &answer.location {
        HeaderSink::set(&mut sink, "Location", location);
    }
    if let Some(cors) = &answer.cors {
        ghost_core::cors::apply(cors, &mut sink, &[]);
    }
    if answer.peer_refused {
        HeaderSink::set(&mut sink, crate::peer::REFUSED_HEADER, "1");
    }
    true
}

/// Applies response filters in `vcl_deliver`; every answer gets `Connection: close` while the gateway drains.
pub fn deliver(ctx: &mut Ctx, task: Option<&Task>) {
    close_when_draining(ctx);
    let Some(Task::Forward { state, rule, group, cors, .. }) = task else { return };
    let Some(rule) = state.router.rule(*rule) else { return };
    let Some(resp) = ctx.http_resp.as_mut() else { return };
    if let Some(cors) = cors {
        let names: Vec<String> = if cors.expose_response_headers {
            resp.iter().map(|(name, _)| name.to_owned()).collect()
        } else {
            Vec::new()
        };
        ghost_core::cors::apply(cors, &mut Sink(resp), &names);
    }
    let mut sink = Sink(resp);
    for modifier in rule.response_modifiers(Some(*group)) {
        apply_header_modifier(modifier, &mut sink);
    }
}
