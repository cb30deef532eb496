//! Timeouts and retries of a rule (ghost-core's [`FetchPlan`]) applied to Varnish's backend fetches.
//!
//! `vcl_recv` hands the plan to the backend task in the request header [`PLAN_HEADER`], which the backend side takes
//! off in `vcl_backend_fetch` (no `X-Ghost-*` header reaches an origin) and keeps in its `PRIV_TASK` for every retry:
//! Varnish keeps the changed `bereq` across retries, so the header is there only for the first attempt.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ghost_core::contract::MAX_BODY_BYTES;
use ghost_core::fetch::{retry_endpoint, timed_out, FetchPlan, Limit, Origin};
use ghost_core::filters::HeaderSink;
use ghost_core::HeaderToken;
use varnish::ffi::VCL_BACKEND;
use varnish::vcl::{Ctx, LogTag, StrOrBytes};

use crate::headers::{text, Sink};
use crate::state::State;
use crate::task::Task;

/// The request header that carries the [`FetchPlan`] from the client task to the backend task.
pub const PLAN_HEADER: &str = "X-Ghost-Fetch";

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The plan of a forwarded request whose rule has timeouts or retries.
fn plan_of(task: Option<&Task>) -> Option<FetchPlan> {
    let Some(Task::Forward { state, rule, group, endpoint: Ok(endpoint), .. }) = task else { return None };
    let r = state.router.rule(*rule)?;
    let origin = Origin { generation: state.generation, rule: *rule, group: *group, endpoint: *endpoint };
    FetchPlan::new(r.timeouts.as_ref(), r.retry.as_ref(), now_ms(), Some(origin))
}

/// The request's body, as far as a retry is concerned: none, one of known length that may be buffered, or one that
/// is streamed (unknown length or too long to buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    None,
    Bufferable,
    Streamed,
}

fn body(ctx: &Ctx) -> Body {
    let Some(req) = ctx.http_req.as_ref() else { return Body::None };
    if req.header("transfer-encoding").is_some() {
        return Body::Streamed;
    }
    let Some(length) = req.header("content-length") else { return Body::None };
    match text(Some(length)).trim().parse::<u64>() {
        Ok(0) => Body::None,
        Ok(n) if n <= u64::from(MAX_BODY_BYTES) => Body::Bufferable,
        _ => Body::Streamed,
    }
}

fn write_plan(ctx: &mut Ctx, plan: &FetchPlan) {
    if let Some(req) = ctx.http_req.as_mut() {
        Sink(req).set(PLAN_HEADER, &plan.to_token());
    }
}

/// In `vcl_recv`, after routing: hands the rule's plan to the backend side. A request with a body is not retried
/// until `buffered()` says its body was cached: a streamed body cannot be sent twice.
pub fn hand_over(ctx: &mut Ctx, task: Option<&Task>) {
    let Some(plan) = plan_of(task) else { return };
    let plan = if body(ctx) == Body::None { plan } else { plan.without_retry() };
    write_plan(ctx, &plan);
}

/// Whether the request's rule retries and its body may be buffered (known length, at most 1 MB): then cache it
/// (`std.cache_req_body(1MB)`) and report with `buffered()`.
pub fn wants_body(ctx: &Ctx, task: Option<&Task>) -> bool {
    plan_of(task).is_some_and(|p| p.has_retry()) && body(ctx) == Body::Bufferable
}

/// Records that the request body was cached (`cached`), so that its retries may send it again.
pub fn buffered(ctx: &mut Ctx, task: Option<&Task>, cached: bool) {
    if let (true, Some(plan)) = (cached, plan_of(task)) {
        write_plan(ctx, &plan);
    }
}

/// The backend side of one fetch: its plan and the attempt under way.
#[derive(Debug)]
pub struct Attempt {
    plan: FetchPlan,
    /// The routing state of the fetch's first attempt, to find another endpoint of its backend group.
    state: Arc<State>,
    retries: u32,
    started: Instant,
    limit: Limit,
}

impl Attempt {
    /// The attempt of `plan` starting now, within `state`.
    pub fn new(plan: FetchPlan, state: Arc<State>) -> Self {
        Self { plan, state, retries: 0, started: Instant::now(), limit: Limit::Keep }
    }
}

/// In `vcl_backend_fetch` of the first attempt: takes the plan off the backend request.
pub fn take(ctx: &mut Ctx, state: Arc<State>) -> Option<Attempt> {
    let bereq = ctx.http_bereq.as_mut()?;
    let plan = match bereq.header(PLAN_HEADER) {
        Some(StrOrBytes::Utf8(s)) => FetchPlan::from_token(s),
        _ => None,
    }?;
    bereq.unset_header(PLAN_HEADER);
    Some(Attempt::new(plan, state))
}

impl Attempt {
    /// Starts attempt `retries` (0 for the first): waits the back-off before a retry, then fixes the attempt's
    /// limit.
    pub fn start(&mut self, ctx: &mut Ctx, retries: u32) {
        self.retries = retries;
        let backoff = self.plan.backoff_ms(retries, now_ms());
        if backoff > 0 {
            // A fetch thread waiting, like one waiting for a slow backend: the client task waits for it either way.
            std::thread::sleep(Duration::from_millis(backoff));
        }
        self.started = Instant::now();
        self.limit = self.plan.attempt_limit(now_ms());
        if retries > 0 {
            ctx.log(LogTag::VclLog, format!("ghost: retry {retries} after {backoff} ms"));
        }
    }

    /// Whether the request timeout passed before the attempt could start (answer 504).
    pub fn expired(&self) -> bool {
        self.limit == Limit::Expired
    }

    /// The attempt's first-byte and between-bytes timeout: its limit, or `current` when the rule sets none.
    pub fn timeout(&self, current: Duration) -> Duration {
        match self.limit {
            Limit::Millis(ms) => Duration::from_millis(ms),
            Limit::Keep | Limit::Expired => current,
        }
    }

    /// The attempt's connect timeout: `current`, shortened to the attempt's limit.
    pub fn connect_timeout(&self, current: Duration) -> Duration {
        current.min(self.timeout(current))
    }

    /// The endpoint of a retry when it differs from the first attempt's: the next endpoint of the same backend
    /// group (same routing state only; after a reload the retry stays where it was sent).
    pub fn retry_backend(&self) -> Option<VCL_BACKEND> {
        if self.retries == 0 {
            return None;
        }
        let origin = self.plan.origin()?;
        if origin.generation != self.state.generation {
            return None;
        }
        let group = self.state.router.rule(origin.rule)?.groups.get(origin.group)?;
        let endpoint = retry_endpoint(self.state.router.group_endpoints(group), origin.endpoint, self.retries)?;
        if endpoint == origin.endpoint {
            return None;
        }
        self.state.backends.get(endpoint).map(|b| b.vcl_backend())
    }

    /// Whether a response with `status` is retried.
    pub fn retries_status(&self, status: u16) -> bool {
        self.plan.retries_status(status, self.retries, now_ms())
    }

    /// Whether the attempt, failed without a response, is retried.
    pub fn retries_failure(&self) -> bool {
        self.plan.retries_failure(self.retries, now_ms())
    }

    /// Whether the failed attempt ran out of time (the answer is then 504, not 503).
    pub fn timed_out(&self) -> bool {
        let elapsed = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.plan.expired(now_ms()) || timed_out(self.limit, elapsed)
    }
}
