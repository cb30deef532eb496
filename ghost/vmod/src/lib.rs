//! The ghost VMOD: routes every request inside varnishd per ghost.json. See README.md for the VCL API.
//!
//! This crate only converts between Varnish and ghost-core types: matching and filters live in `ghost-core`, native
//! backends in `backend.rs`, direct header-line access in `headers.rs` and the client request's body in `body.rs`
//! (between them all of the `unsafe` code), the swappable state and reloads in `state.rs`.

// The `ghost` module's functions are exported to VCL, not called from Rust: `#[must_use]` and `# Errors` sections
// would only repeat the generated README.
#![allow(clippy::must_use_candidate, clippy::missing_errors_doc)]

mod backend;
mod body;
mod cache;
mod fetch;
mod headers;
mod invalidation;
mod mirror;
mod peer;
mod state;
mod stats;
mod task;

use state::Shared;

/// A router serving the routes of one ghost.json file (VCL: `new router = ghost.router(path)`).
#[allow(non_camel_case_types)]
pub struct router {
    shared: Shared,
}

/// Routes requests per ghost.json (Gateway API semantics) and swaps its routing state atomically on reload.
#[varnish::vmod(docs = "README.md")]
mod ghost {
    use std::net::SocketAddr;
    use std::time::Duration;

    use varnish::ffi::VCL_BACKEND;
    use varnish::vcl::{Ctx, VclError};

    use super::router;
    use crate::cache::{self, Outcome};
    use crate::fetch_task;
    use crate::task::{self, BackendFetch, Task};
    use crate::{attempt_mut, fetch, hop_mut, Shared};

    impl router {
        /// Creates the router and loads `path`. A missing or unusable file does not fail the VCL load: the
        /// router starts empty (every request answers 404) and `last_error()` says why. A backend whose endpoint
        /// left ghost.json is deleted at the first reload at least `retire_after` (default 10s) later at which no
        /// request routed with a state that listed it is under way.
        pub fn new(ctx: &mut Ctx, path: &str, retire_after: Option<Duration>) -> Self {
            let shared = Shared::new(path, retire_after.unwrap_or(Duration::from_secs(10)));
            let _ = shared.reload(ctx, &crate::state::Reload::default());
            Self { shared }
        }

        /// Call in `vcl_recv`. Strips client-sent `X-Ghost-*`/`X-Gateway-*` headers, normalises the path, routes
        /// the request on `socket` (pass `local.socket`), sets the forwarding headers for `client` (pass
        /// `client.ip`: the real client behind the PROXY protocol), answers 421 when the TLS server name `sni` (pass
        /// `proxy.authority()`: hitch sends the client's SNI in the PROXY header) selects another HTTPS listener than
        /// the Host does, applies request filters (a URLRewrite sets `req.url`) and sets `X-Gateway-Listener` and
        /// `X-Gateway-Route`. For a rule with RequestMirror filters it queues the copies the request draws, with its
        /// body when its `Content-Length` is at most 64 KiB (read into memory first, as `std.cache_req_body()`
        /// does; the request is then forwarded from there). For a rule with cache settings it then decides lookup or pass (method, bypass
        /// conditions, Authorization, cookies; see `cacheable()`), unless the request is a WebSocket upgrade (see
        /// `upgrade()`); for a lookup it sets `req.url` to the URL of the key (`cache_url()`) and removes cookies the
        /// key does not name. Returns true when the request goes to a backend (then use `backend()`), false when
        /// ghost answers itself (a redirect, a refusal, a CORS preflight) (then `return (synth(router.status()))`).
        pub fn recv(
            &self,
            ctx: &mut Ctx,
            #[shared_per_task] task: &mut Option<Box<Task>>,
            socket: &str,
            client: Option<SocketAddr>,
            sni: Option<&str>,
        ) -> Result<bool, VclError> {
            let state = self.shared.current();
            Ok(task::receive(ctx, task, &state, socket, client, sni, false)?.is_forward())
        }

        /// Like `recv()`, but also true for a request of a rule with cache settings whose chosen backend has no
        /// ready endpoint (scaled to zero, say): it is looked up, so that a fresh or in-grace object still answers
        /// (its background refresh fails harmlessly). On a miss or a pass `status()` is then 500: answer
        /// `return (synth(router.status()))` in `vcl_miss` and `vcl_pass` when it is not 0.
        pub fn recv_grace(
            &self,
            ctx: &mut Ctx,
            #[shared_per_task] task: &mut Option<Box<Task>>,
            socket: &str,
            client: Option<SocketAddr>,
            sni: Option<&str>,
        ) -> Result<bool, VclError> {
            let state = self.shared.current();
            Ok(task::receive(ctx, task, &state, socket, client, sni, true)?.is_routed())
        }

        /// After `recv()`: whether the request's rule retries and its body may be buffered (a known length of at
        /// most 1 MB). Then cache it and report: `router.retry_body_cached(std.cache_req_body(1MB));`. A request
        /// whose body is streamed to the backend is never retried: the body cannot be sent twice.
        pub fn retry_body(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            fetch::wants_body(ctx, task.as_deref())
        }

        /// Records whether `std.cache_req_body()` cached the body (`cached`): only then may the request be retried.
        pub fn retry_body_cached(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>, cached: bool) {
            fetch::buffered(ctx, task.as_deref(), cached);
        }

        /// Call in `vcl_recv` after `recv()`: whether the request is a WebSocket upgrade (`GET` with `Upgrade:
        /// websocket` and `Connection: upgrade`) that goes to a backend: then `return (pipe);`, and in `vcl_pipe` copy
        /// `Upgrade` and `Connection` to `bereq`. The connection then belongs to the chosen endpoint until either side
        /// closes it (`MAIN.s_pipe` counts them, `MAIN.n_pipe` says how many are open).
        pub fn upgrade(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            task.as_deref().is_some_and(Task::is_upgrade)
        }

        /// The backend `recv()` chose, for `set req.backend_hint = router.backend();`.
        // SAFETY: the macro requires `unsafe` on every method returning a raw VCL type; this one performs no unsafe
        // operation and returns a director owned by this router's backend pool, so callers have nothing to uphold.
        #[allow(clippy::missing_safety_doc)]
        pub unsafe fn backend(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> VCL_BACKEND {
            task::backend_of(task.as_deref())
        }

        /// The request target to send: rewritten by a URLRewrite filter, else the current `req.url` (`recv()` has
        /// already set `req.url` to it).
        pub fn url(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>) -> String {
            task::url_of(ctx, task.as_deref())
        }

        /// The status of ghost's own answer for this request (404, 500, a redirect, a control answer), or 0.
        pub fn status(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> i64 {
            task.as_deref().map_or(0, |t| i64::from(t.status()))
        }

        /// Call in `vcl_recv` after `recv_grace()` (which decided the lookup) and `cache_body()`'s caching of the
        /// body: true for a looked-up request when the gateway is clustered and another ready gateway pod owns the
        /// request's key (a cached POST takes its body along). Then `set req.backend_hint =
        /// router.backend();` (that pod's peer listener): `cacheable()` is now false, so the request passes, signed
        /// for the owner, which looks it up and fetches from the origin on a miss; this pod stores nothing.
        pub fn peer(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            crate::peer::hop(ctx, task.as_deref_mut())
        }

        /// Call in `vcl_recv` for requests on the peer listener, instead of `recv()`: checks the signature of the
        /// first pod's decision and restores it (key, origin endpoint, cache and fetch settings) without routing or
        /// filtering again. True: `set req.backend_hint = router.backend(); return (hash);`. False: `return
        /// (synth(router.status()));` (403 bad signature, 503 unknown origin endpoint; the first pod then fetches
        /// from the origin itself).
        pub fn peer_recv(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            let accepted = task.insert(Box::new(crate::peer::accept(ctx, &self.shared.current())));
            matches!(**accepted, Task::Peer(_))
        }

        /// Call in `vcl_backend_fetch` after `cache_fetch()`: true on the retry after a failed peer hop (the owner
        /// could not be reached or refused): then `set bereq.backend = router.fetch_backend();`, the origin endpoint
        /// the client side chose. The owner is skipped for a few seconds.
        pub fn peer_fallback(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            let Some(Task::Fetch(f)) = task.as_deref_mut() else { return false };
            let Some(hop) = f.hop.as_mut().filter(|h| h.stage == crate::peer::Stage::Failed) else { return false };
            let state = self.shared.current();
            let plan = hop.fall_back(ctx, &state);
            f.attempt = plan.map(|plan| crate::fetch::Attempt::new(plan, state));
            true
        }

        /// Call in `vcl_recv` for requests on the control socket (`local.socket == "ghost"`); returns the
        /// status to `synth()`. `/.varnish-ghost/reload` reloads ghost.json (200 or 500 with a JSON report);
        /// `/.varnish-ghost/stats` answers the cache counters; `/.varnish-ghost/drain` makes every later answer
        /// of the process carry `Connection: close` (see `deliver()` and `synth()`); clients that are not on a
        /// loopback address get 403, other paths 404.
        pub fn control(
            &self,
            ctx: &mut Ctx,
            #[shared_per_task] task: &mut Option<Box<Task>>,
            url: &str,
            client: Option<SocketAddr>,
        ) -> i64 {
            let answer = task::control(ctx, &self.shared, url, client);
            let status = answer.status();
            *task = Some(Box::new(answer));
            i64::from(status)
        }

        /// Call in `vcl_recv` for requests on the control socket, before `control()`. True for a well-formed
        /// invalidation (`POST /.varnish-ghost/invalidate` from a loopback client, described in
        /// `X-Ghost-Invalidate-*` headers): then purge `invalidation_keys()` with varnish-modules' `xkey` (`softpurge`
        /// when `invalidation_soft()`, else `purge`) and `return (synth(router.invalidated(<objects affected>)));`.
        /// False otherwise; `control()` then answers a malformed invalidation with 400 and the reason.
        pub fn invalidation(
            &self,
            ctx: &mut Ctx,
            #[shared_per_task] task: &mut Option<Box<Task>>,
            url: &str,
            client: Option<SocketAddr>,
        ) -> bool {
            match crate::invalidation::parse(ctx, url, client) {
                Ok(Some(i)) => {
                    *task = Some(Box::new(Task::Invalidation(i)));
                    true
                }
                Ok(None) | Err(_) => false,
            }
        }

        /// The `xkey` keys of the invalidation `invalidation()` accepted (scoped to its namespace), space-separated.
        pub fn invalidation_keys(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> String {
            match task.as_deref() {
                Some(Task::Invalidation(i)) => i.keys.clone(),
                _ => String::new(),
            }
        }

        /// Whether the accepted invalidation is soft (mark stale) rather than hard (remove).
        pub fn invalidation_soft(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            matches!(task.as_deref(), Some(Task::Invalidation(i)) if i.soft)
        }

        /// Records how many objects `xkey` affected and returns the status to `synth()` (200; the body says
        /// `{"affected": n}`).
        pub fn invalidated(
            &self,
            ctx: &mut Ctx,
            #[shared_per_task] task: &mut Option<Box<Task>>,
            affected: i64,
        ) -> i64 {
            let answer = task::invalidated(ctx, task.as_deref(), affected);
            let status = answer.status();
            *task = Some(Box::new(answer));
            i64::from(status)
        }

        /// Call first in `vcl_synth`. When the synthetic response is ghost's own answer it sets status,
        /// `Content-Type`, `Cache-Control: no-store`, `Location` and a CORS preflight's headers, and returns true: then
        /// `synthetic(router.body()); return (deliver);`. While draining, every synthetic answer (ghost's or not)
        /// gets `Connection: close`.
        pub fn synth(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            task::synth(ctx, task.as_deref())
        }

        /// The body of ghost's synthetic answer.
        pub fn body(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> String {
            task.as_deref().map(Task::body).unwrap_or_default()
        }

        /// Call in `vcl_deliver` with `obj.hits`: applies the CORS filter (the backend's `Access-Control-*` headers
        /// replaced by the filter's for an allowed `Origin`, `Vary: Origin`) and the ResponseHeaderModifier filters of
        /// the chosen rule and backend; then removes what clients never see (Varnish's `Via` and `X-Varnish`, which
        /// the logs keep, and ghost's internal headers; for a rule with cache settings also `xkey`,
        /// `Surrogate-Control` and the surrogate-key header) and adds `X-Cache` and `X-Cache-Hits` when the rule asks
        /// for debug headers. While draining, adds `Connection: close`, so that Varnish closes the client connection
        /// after the answer. User VCL's `vcl_deliver` runs after it and may set any of these again.
        pub fn deliver(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>, hits: i64) {
            task::deliver(ctx, task.as_deref());
            cache::deliver(ctx, task.as_deref(), hits);
        }

        /// After `recv()`, for a looked-up request (`cacheable()`): whether the request's method and body join the key (a POST the
        /// rule's policy allows, its `Content-Length` within the policy's limit). Then cache the body
        /// (`std.cache_req_body()`), hash it in `vcl_hash` (`bodyaccess.hash_req_body()`) and keep the method for
        /// the fetch of a miss, which Varnish would otherwise send as a GET. On the peer listener, after
        /// `peer_recv()`: whether the first pod's request was such a POST (its body came along).
        pub fn cache_body(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            cache::body(task.as_deref())
        }

        /// The URL a looked-up request is sent with on a miss: the path and the normalised query of the key
        /// (`recv()` has already set `req.url` to it).
        pub fn cache_url(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> String {
            cache::url(task.as_deref())
        }

        /// Whether `recv()` decided a lookup: then `return (hash);`, else `return (pass);`.
        pub fn cacheable(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            cache::cacheable(task.as_deref())
        }

        /// The cache key, for `hash_data()` in `vcl_hash`: host, rule, URL, named headers and cookies. For a
        /// rule without cache settings (user VCL returned hash): host, rule and URL.
        pub fn cache_key(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>) -> String {
            cache::key(ctx, task.as_deref())
        }

        /// Call in `vcl_hit` with `obj.ttl <= 0s`: counts a hit, stale when the object is past its TTL.
        pub fn cache_hit(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>, stale: bool) {
            cache::lookup_outcome(ctx, task.as_deref_mut(), if stale { Outcome::Stale } else { Outcome::Hit });
        }

        /// Call in `vcl_miss`: counts a miss and hands the rule's fetch settings to the backend fetch.
        pub fn cache_miss(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>) {
            cache::lookup_outcome(ctx, task.as_deref_mut(), Outcome::Miss);
        }

        /// Call in `vcl_pass`: counts a pass (or a bypass).
        pub fn cache_pass(&self, #[shared_per_task] task: &mut Option<Box<Task>>) {
            cache::record(task.as_deref_mut(), Outcome::Pass);
        }

        /// Call first in `vcl_backend_fetch`: takes ghost's internal headers off the backend request (they never
        /// reach the origin) and keeps the rule's cache settings for `cache_response()` and its timeouts and
        /// retries for `fetch()`, for every retry of the fetch (Varnish keeps the changed backend request).
        pub fn cache_fetch(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>) {
            if matches!(task.as_deref(), Some(Task::Fetch(_))) {
                return;
            }
            let state = self.shared.current();
            if let Some(hop) = crate::peer::fetch(ctx, &state) {
                *task =
                    Some(Box::new(Task::Fetch(Box::new(BackendFetch { cache: None, attempt: None, hop: Some(hop) }))));
                return;
            }
            let attempt = fetch::take(ctx, state.clone());
            let cache = cache::fetch(ctx, &state);
            *task = (cache.is_some() || attempt.is_some())
                .then(|| Box::new(Task::Fetch(Box::new(BackendFetch { cache, attempt, hop: None }))));
        }

        /// Call in `vcl_backend_fetch` after `cache_fetch()`, with `bereq.retries`. True when the fetch's rule has
        /// timeouts or retries: a retry first waits the rule's back-off; then `return (error(504))` when
        /// `fetch_expired()`, set `bereq.backend = router.fetch_backend()` when `fetch_moves()`, and set the
        /// timeouts from `fetch_timeout()` and `fetch_connect_timeout()`.
        pub fn fetch(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>, retries: i64) -> bool {
            // The failed hop to a peer used one retry.
            let hop_retries = i64::from(hop_mut(task).is_some_and(|h| h.stage == crate::peer::Stage::Origin));
            let Some(attempt) = attempt_mut(task) else { return false };
            attempt.start(ctx, u32::try_from(retries - hop_retries).unwrap_or(0));
            true
        }

        /// Whether the request timeout passed before this attempt could start.
        pub fn fetch_expired(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            attempt_mut(task).is_some_and(|a| a.expired())
        }

        /// Whether this retry goes to another endpoint of the backend group than the first attempt did.
        pub fn fetch_moves(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            attempt_mut(task).and_then(|a| a.retry_backend()).is_some()
        }

        /// The endpoint of this retry, for `set bereq.backend = router.fetch_backend();` when `fetch_moves()`.
        // SAFETY: as for `backend()`: no unsafe operation, a director owned by the router's backend pool.
        #[allow(clippy::missing_safety_doc)]
        pub unsafe fn fetch_backend(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> VCL_BACKEND {
            attempt_mut(task)
                .and_then(|a| a.retry_backend())
                .or_else(|| hop_mut(task).and_then(|h| h.origin_backend).map(crate::backend::BackendRef::vcl_backend))
                .unwrap_or(VCL_BACKEND(std::ptr::null()))
        }

        /// The attempt's first-byte and between-bytes timeout: the rule's backend timeout cut to what is left of
        /// its request timeout, or `current` when the rule sets neither.
        pub fn fetch_timeout(&self, #[shared_per_task] task: &mut Option<Box<Task>>, current: Duration) -> Duration {
            attempt_mut(task).map_or(current, |a| a.timeout(current))
        }

        /// The attempt's connect timeout: `current`, never longer than `fetch_timeout()`.
        pub fn fetch_connect_timeout(
            &self,
            #[shared_per_task] task: &mut Option<Box<Task>>,
            current: Duration,
        ) -> Duration {
            attempt_mut(task).map_or(current, |a| a.connect_timeout(current))
        }

        /// Call first in `vcl_backend_response` with `beresp.status`: true when the rule retries the status and
        /// retries and time are left: then `return (retry);`.
        pub fn fetch_retry(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>, status: i64) -> bool {
            if crate::peer::refused(ctx) {
                if let Some(hop) = hop_mut(task) {
                    return hop.fail(ctx, &self.shared.current(), true);
                }
            }
            attempt_mut(task).is_some_and(|a| a.retries_status(u16::try_from(status).unwrap_or(0)))
        }

        /// Call first in `vcl_backend_error`: true when the rule retries and retries and time are left (a
        /// connection error or a timeout): then `return (retry);`.
        pub fn fetch_failed(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            if let Some(hop) = hop_mut(task) {
                if hop.fail(ctx, &self.shared.current(), false) {
                    return true;
                }
            }
            attempt_mut(task).is_some_and(|a| a.retries_failure())
        }

        /// In `vcl_backend_error`: whether the failed attempt ran out of the rule's time, so that the answer is
        /// 504 (Gateway Timeout) rather than 503.
        pub fn fetch_timed_out(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            attempt_mut(task).is_some_and(|a| a.timed_out())
        }

        /// Call in `vcl_backend_response`. For a cached rule decides whether and how long the response is stored,
        /// prepares the object (Set-Cookie removed when allowed, surrogate keys in `xkey`, host, URL and namespace
        /// for invalidation) and returns true: then set `beresp.ttl`, `grace`, `keep` from `cache_ttl()` …, and
        /// `beresp.uncacheable` when `cache_hit_for_miss()`. False when the fetch has no cache settings.
        pub fn cache_response(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            cache::response(ctx, fetch_task(task))
        }

        /// The object's TTL decided by `cache_response()` (the hit-for-miss time for uncacheable answers).
        pub fn cache_ttl(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> Duration {
            Duration::from_secs(cache::lifetime(fetch_task(task).map(|c| &*c)).0.into())
        }

        /// The object's grace decided by `cache_response()`.
        pub fn cache_grace(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> Duration {
            Duration::from_secs(cache::lifetime(fetch_task(task).map(|c| &*c)).1.into())
        }

        /// The object's keep decided by `cache_response()`.
        pub fn cache_keep(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> Duration {
            Duration::from_secs(cache::lifetime(fetch_task(task).map(|c| &*c)).2.into())
        }

        /// Whether `cache_response()` found the answer uncacheable: then `set beresp.uncacheable = true;`
        /// (hit-for-miss, so that later requests do not wait for each other).
        pub fn cache_hit_for_miss(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            cache::lifetime(fetch_task(task).map(|c| &*c)).3
        }

        /// Whether `cache_response()` decided for this fetch (its rule has cache settings): generated VCL then
        /// returns `deliver` so that the built-in rules do not undo an allowed `private` or `no-store`.
        pub fn cache_decided(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            cache::decided(fetch_task(task).map(|c| &*c))
        }

        /// Reloads ghost.json now; returns false (and keeps the old state) when it cannot be used.
        pub fn reload(&self, ctx: &mut Ctx) -> bool {
            self.shared.reload(ctx, &crate::state::Reload::default()).status() == 200
        }

        /// What went wrong in the last load: the error, or the routes skipped; empty when all is well.
        pub fn last_error(&self) -> String {
            self.shared.last_error()
        }
    }
}

fn fetch_task(task: &mut Option<Box<task::Task>>) -> Option<&mut cache::BackendCache> {
    match task.as_deref_mut() {
        Some(task::Task::Fetch(f)) => f.cache.as_mut(),
        _ => None,
    }
}

fn hop_mut(task: &mut Option<Box<task::Task>>) -> Option<&mut peer::Hop> {
    match task.as_deref_mut() {
        Some(task::Task::Fetch(f)) => f.hop.as_mut(),
        _ => None,
    }
}

fn attempt_mut(task: &mut Option<Box<task::Task>>) -> Option<&mut fetch::Attempt> {
    match task.as_deref_mut() {
        Some(task::Task::Fetch(f)) => f.attempt.as_mut(),
        _ => None,
    }
}
