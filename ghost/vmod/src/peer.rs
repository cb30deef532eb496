//! The clustered cache in Varnish: the hop of a request whose object another gateway pod owns, its fallback to the
//! origin when the owner fails, and the owner's side of it (ghost-core's [`ghost_core::cluster`] decides).
//!
//! The first pod routes the request, decides the lookup and, when the key's owner is another ready peer, passes it
//! to that peer's listener with a signed [`PeerToken`] instead of looking it up locally: it stores nothing, so a
//! purge on every pod still removes every copy. The owner checks the signature, restores the decision (key, origin
//! endpoint, cache and fetch settings) without routing or filtering again, looks the object up and fetches it from
//! the origin on a miss. A peer that cannot be reached, or refuses, is marked down for [`DOWN_MS`] and the same
//! fetch retries at the origin endpoint, so a failed owner never costs a request while the origin is healthy.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ghost_core::cluster::PeerToken;
use ghost_core::filters::HeaderSink;
use ghost_core::HeaderToken;
use varnish::ffi::VCL_BACKEND;
use varnish::vcl::{Ctx, LogTag, StrOrBytes};

use crate::cache::{Outcome, TOKEN_HEADER};
use crate::fetch::PLAN_HEADER;
use crate::headers::{has_prefix, header, remove_where, text, Sink};
use crate::state::State;
use crate::stats::bump;
use crate::task::Task;

/// The request header with the token of a peer hop.
pub const PEER_HEADER: &str = "X-Ghost-Peer";
/// The request header with the token's signature.
const SIGNATURE_HEADER: &str = "X-Ghost-Peer-Signature";
/// The owner's answer header: how its lookup went (`HIT`, `MISS`, `STALE`).
pub const OUTCOME_HEADER: &str = "X-Ghost-Peer-Cache";
/// The owner's answer header on a refusal: the first pod then fetches from the origin itself.
pub const REFUSED_HEADER: &str = "X-Ghost-Peer-Refused";

/// How long a peer that failed is skipped (its keys go to the origin from the pod that received them).
pub const DOWN_MS: u64 = 5_000;

/// The clustered cache's counters of the varnishd process (every loaded VCL and state adds to the same ones): a fixed
/// set, whatever the number of peers.
#[derive(Debug, Default)]
pub struct ClusterStats {
    /// Looked-up requests whose key this pod owns: looked up here.
    pub local: AtomicU64,
    /// Looked-up requests sent to the key's owner.
    pub hop: AtomicU64,
    /// Looked-up requests whose owner was skipped (it failed within [`DOWN_MS`]): looked up here instead.
    pub skipped: AtomicU64,
    /// Hops whose owner could not be reached, timed out or failed the fetch: fetched from the origin instead.
    pub hop_errors: AtomicU64,
    /// Hops the owner refused (bad signature, unknown origin endpoint): fetched from the origin instead.
    pub hop_refused: AtomicU64,
    /// Peer requests this pod accepted as the owner.
    pub peer_accepted: AtomicU64,
    /// Peer requests this pod refused.
    pub peer_refused: AtomicU64,
}

/// The process's clustered-cache counters.
pub static STATS: ClusterStats = ClusterStats {
    local: AtomicU64::new(0),
    hop: AtomicU64::new(0),
    skipped: AtomicU64::new(0),
    hop_errors: AtomicU64::new(0),
    hop_refused: AtomicU64::new(0),
    peer_accepted: AtomicU64::new(0),
    peer_refused: AtomicU64::new(0),
};

impl ClusterStats {
    /// The counters as the stats endpoint reports them.
    pub fn to_json(&self) -> serde_json::Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "local": get(&self.local),
            "hop": get(&self.hop),
            "skipped": get(&self.skipped),
            "hopErrors": get(&self.hop_errors),
            "hopRefused": get(&self.hop_refused),
            "peerAccepted": get(&self.peer_accepted),
            "peerRefused": get(&self.peer_refused),
        })
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The peers of a loaded state: their backends and until when each is skipped.
#[derive(Debug, Default)]
pub struct Peers {
    /// `backends[i]` serves `cluster.peers()[i]`.
    pub backends: Vec<crate::backend::BackendRef>,
    down_until: Vec<AtomicU64>,
}

impl Peers {
    /// The peers' backends, none of them down.
    pub fn new(backends: Vec<crate::backend::BackendRef>) -> Self {
        let down_until = backends.iter().map(|_| AtomicU64::new(0)).collect();
        Self { backends, down_until }
    }

    fn is_up(&self, peer: usize) -> bool {
        self.down_until.get(peer).is_some_and(|d| d.load(Ordering::Relaxed) <= now_ms())
    }
}

/// Marks `peer` down in `state` for [`DOWN_MS`].
fn mark_down(ctx: &mut Ctx, state: &State, peer: SocketAddr) {
    let Some(index) = state.router.cluster().and_then(|c| c.peers().iter().position(|p| *p == peer)) else { return };
    if let Some(d) = state.peers.down_until.get(index) {
        d.store(now_ms() + DOWN_MS, Ordering::Relaxed);
    }
    ctx.log(LogTag::VclLog, format!("ghost: peer {peer} failed: skipped for {DOWN_MS} ms"));
}

/// In `vcl_recv`, after routing decided the lookup: when the request is looked up and another ready peer owns its
/// key, prepares the hop (signed token on `req`, the plan header removed: the owner applies it)
/// and returns true; `backend()` then answers the peer's backend and `cacheable()` false (the request passes).
#[allow(clippy::needless_pass_by_value)] // the caller's `Option<Box<Task>>::as_deref_mut()`
pub fn hop(ctx: &mut Ctx, task: Option<&mut Task>) -> bool {
    let Some(Task::Forward { state, rule, endpoint: Ok(endpoint), cache: Some(client), .. }) = task else {
        return false;
    };
    let (Some(cluster), Some((key, _))) = (state.router.cluster(), client.lookup.as_ref()) else { return false };
    let Some(owner) = cluster.owner(key) else { return false };
    if Some(owner) == cluster.own() {
        bump(&STATS.local);
        return false;
    }
    if !state.peers.is_up(owner) {
        bump(&STATS.skipped);
        return false;
    }
    let (Some(settings), Some(&origin), Some(req)) = (
        state.router.rule(*rule).and_then(|r| r.cache.as_ref()),
        state.router.endpoints().get(*endpoint),
        ctx.http_req.as_mut(),
    ) else {
        return false;
    };
    let plan = match req.header(PLAN_HEADER) {
        Some(StrOrBytes::Utf8(s)) => {
            ghost_core::fetch::FetchPlan::from_token(s).map(ghost_core::fetch::FetchPlan::without_origin)
        }
        _ => None,
    };
    let forwarded_for = Some(header(req, "x-forwarded-for")).filter(|v| !v.is_empty()).map(str::to_owned);
    let token = PeerToken {
        key: key.clone(),
        endpoint: origin,
        cache: settings.fetch_settings(&client.host),
        plan,
        forwarded_for,
        issued_ms: now_ms(),
        body: client.body,
    }
    .to_token();
    let signature = cluster.sign(&token, text(req.method()), text(req.url()), header(req, "host"));
    req.unset_header(PLAN_HEADER);
    let mut sink = Sink(req);
    sink.set(PEER_HEADER, &token);
    sink.set(SIGNATURE_HEADER, &signature);
    client.peer = Some(owner);
    client.outcome = Outcome::Pending;
    bump(&STATS.hop);
    true
}

/// The backend of the peer a request hops to.
pub fn backend(state: &State, peer: usize) -> Option<VCL_BACKEND> {
    state.peers.backends.get(peer).map(|b| b.vcl_backend())
}

/// What the owner restored of a peer request.
#[derive(Debug)]
pub struct PeerRequest {
    /// The state the request was accepted with.
    pub state: Arc<State>,
    /// The origin endpoint (index into the state's backends).
    pub endpoint: usize,
    /// The cache key.
    pub key: String,
    /// The rule's counters, when this pod has the rule.
    pub stats: Option<Arc<crate::stats::RuleStats>>,
    /// How the lookup went.
    pub outcome: Outcome,
    /// Whether the request's body joins the key (a cached POST, its body sent along by the first pod).
    pub body: bool,
}

/// In `vcl_recv` on the peer listener: checks the token and its signature and restores the first pod's decision;
/// otherwise ghost's refusal (403 for a bad or stale signature, 503 when the origin endpoint is unknown here, both
/// with [`REFUSED_HEADER`], so the first pod fetches from the origin itself).
pub fn accept(ctx: &mut Ctx, state: &Arc<State>) -> Task {
    match restore(ctx, state) {
        Ok(request) => {
            bump(&STATS.peer_accepted);
            Task::Peer(Box::new(request))
        }
        Err((status, reason)) => {
            bump(&STATS.peer_refused);
            ctx.log(LogTag::VclLog, format!("ghost: peer request refused: {reason}"));
            Task::Answer(crate::task::Answer::peer_refusal(status, reason))
        }
    }
}

fn restore(ctx: &mut Ctx, state: &Arc<State>) -> Result<PeerRequest, (u16, &'static str)> {
    let req = ctx.http_req.as_mut().ok_or((500, "not in vcl_recv"))?;
    let cluster = state.router.cluster().ok_or((403, "this gateway is not clustered"))?;
    let token_text = header(req, PEER_HEADER).to_owned();
    let signature = header(req, SIGNATURE_HEADER);
    if !cluster.verify(signature, &token_text, text(req.method()), text(req.url()), header(req, "host")) {
        return Err((403, "bad signature"));
    }
    let token = PeerToken::from_token(&token_text).ok_or((403, "unreadable token"))?;
    if !token.is_fresh(now_ms()) {
        return Err((403, "expired token"));
    }
    let endpoint =
        state.router.endpoints().iter().position(|e| *e == token.endpoint).ok_or((503, "unknown origin endpoint"))?;
    remove_where(req, |line| has_prefix(line, b"x-ghost-"));
    let mut sink = Sink(req);
    sink.set(TOKEN_HEADER, &token.cache.to_token());
    if let Some(plan) = &token.plan {
        sink.set(PLAN_HEADER, &plan.to_token());
    }
    match &token.forwarded_for {
        Some(xff) => sink.set("X-Forwarded-For", xff),
        None => sink.remove("X-Forwarded-For"),
    }
    let counters = state.stats.get(&crate::stats::stats_key(&token.cache.rule, &token.cache.policy)).cloned();
    Ok(PeerRequest {
        state: state.clone(),
        endpoint,
        key: token.key,
        stats: counters,
        outcome: Outcome::Pending,
        body: token.body,
    })
}

/// Where a hop's fetch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Sent to the owner.
    Sent,
    /// The owner failed; the next attempt goes to the origin.
    Failed,
    /// Sent to the origin endpoint (its backend, when this pod still has it).
    Origin,
}

/// The backend side of a hop on the first pod: where to go when the owner fails.
#[derive(Debug)]
pub struct Hop {
    /// The owner.
    peer: SocketAddr,
    /// The origin endpoint the client side chose.
    origin: SocketAddr,
    /// The rule's plan, for the fetch at the origin.
    plan: Option<ghost_core::fetch::FetchPlan>,
    /// Where the fetch stands.
    pub stage: Stage,
    /// The origin endpoint's backend, once the fetch went there.
    pub origin_backend: Option<crate::backend::BackendRef>,
}

/// In `vcl_backend_fetch` of a hop's first attempt: reads the token (set by this pod's client side, which removed
/// any client-sent `X-Ghost-*` header) and keeps it and its signature on the request to the owner.
pub fn fetch(ctx: &mut Ctx, state: &State) -> Option<Hop> {
    let bereq = ctx.http_bereq.as_mut()?;
    let token = match bereq.header(PEER_HEADER) {
        Some(StrOrBytes::Utf8(s)) => PeerToken::from_token(s)?,
        _ => return None,
    };
    let cluster = state.router.cluster()?;
    let peer = *cluster.peers().get(cluster.owner(&token.key)?)?;
    // The token and its signature travel; nothing else of ghost's does.
    remove_where(bereq, |line| has_prefix(line, b"x-ghost-") && !has_prefix(line, PEER_HEADER.as_bytes()));
    Some(Hop { peer, origin: token.endpoint, plan: token.plan, stage: Stage::Sent, origin_backend: None })
}

impl Hop {
    /// After a connection error (`refused` false) or a refusal of the owner: marks it down and prepares the retry
    /// at the origin. False when the hop already failed (the origin's own failure is the rule's business).
    pub fn fail(&mut self, ctx: &mut Ctx, state: &State, refused: bool) -> bool {
        if self.stage != Stage::Sent {
            return false;
        }
        bump(if refused { &STATS.hop_refused } else { &STATS.hop_errors });
        self.stage = Stage::Failed;
        mark_down(ctx, state, self.peer);
        true
    }

    /// In `vcl_backend_fetch` of the retry after a failed hop: takes the peer headers off, finds the origin's backend
    /// (none when the endpoint left this pod's state: the fetch then fails) and returns the rule's plan.
    pub fn fall_back(&mut self, ctx: &mut Ctx, state: &State) -> Option<ghost_core::fetch::FetchPlan> {
        if let Some(bereq) = ctx.http_bereq.as_mut() {
            remove_where(bereq, |line| has_prefix(line, b"x-ghost-"));
        }
        self.stage = Stage::Origin;
        self.origin_backend = state
            .router
            .endpoints()
            .iter()
            .enumerate()
            .position(|(i, e)| *e == self.origin && state.router.endpoint_used(i))
            .and_then(|i| state.backends.get(i))
            .copied();
        ctx.log(LogTag::VclLog, format!("ghost: peer {} failed: fetching from the origin {}", self.peer, self.origin));
        self.plan.take()
    }
}

/// Whether the owner's answer in `beresp` is a refusal.
pub fn refused(ctx: &Ctx) -> bool {
    ctx.http_beresp.as_ref().is_some_and(|r| r.header(REFUSED_HEADER).is_some())
}
