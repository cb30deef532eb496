//! Timeouts and retries of a backend fetch (Gateway API `HTTPRouteTimeouts` and `HTTPRouteRetry`), without Varnish
//! types.
//!
//! The client side (`vcl_recv`) turns a rule's settings into a [`FetchPlan`] whose request timeout is an absolute
//! deadline, and hands it to the backend side as a request-header token ([`HeaderToken`]). The backend side
//! asks it, per attempt, how long the attempt may take ([`FetchPlan::attempt_limit`]: the backend timeout, cut to what
//! is left of the request timeout) and whether a failed attempt is tried again ([`FetchPlan::retries_status`],
//! [`FetchPlan::retries_failure`]): while retries are left and the deadline has not passed, so that the request
//! timeout covers every retry and back-off.

use serde::{Deserialize, Serialize};

use crate::contract::{Retry, Timeouts};
use crate::HeaderToken;

/// What a disabled timeout (`0s`) becomes: Varnish has no infinite timeout, so the longest it is given is a day.
pub const DISABLED_MS: u64 = 86_400_000;

/// Where the first attempt of a fetch went, so that a retry can pick another endpoint of the same backend group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The routing state the decision was made with (a reload starts a new one).
    pub generation: u64,
    /// The rule (index in the router).
    pub rule: usize,
    /// The backend group in the rule.
    pub group: usize,
    /// The endpoint of the first attempt (index into the router's endpoints).
    pub endpoint: usize,
}

/// A fetch's timeouts and retries, handed from the client side to the backend side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchPlan {
    /// When the whole request expires (milliseconds since the Unix epoch); `None`: no request timeout.
    deadline_ms: Option<u64>,
    /// Each attempt's limit in milliseconds ([`DISABLED_MS`] for a disabled timeout); `None`: varnishd's own.
    attempt_ms: Option<u64>,
    /// The rule's retries; `None` also when the request body cannot be sent twice.
    retry: Option<Retry>,
    /// Where the first attempt went.
    origin: Option<Origin>,
}

/// How long one attempt may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The rule says nothing: keep varnishd's timeouts.
    Keep,
    /// At most this many milliseconds.
    Millis(u64),
    /// The request timeout has already passed: answer 504 without trying.
    Expired,
}

impl HeaderToken for FetchPlan {}

impl FetchPlan {
    /// The plan of a request that arrived at `now_ms` for a rule with these settings; `None` when the rule has
    /// neither timeouts nor retries.
    #[must_use]
    pub fn new(
        timeouts: Option<&Timeouts>,
        retry: Option<&Retry>,
        now_ms: u64,
        origin: Option<Origin>,
    ) -> Option<Self> {
        if timeouts.is_none() && retry.is_none() {
            return None;
        }
        let timeouts = timeouts.copied().unwrap_or_default();
        let disabled_or = |ms: u32| if ms == 0 { DISABLED_MS } else { u64::from(ms) };
        let deadline_ms = timeouts.request_ms.filter(|ms| *ms > 0).map(|ms| now_ms.saturating_add(u64::from(ms)));
        // A disabled request timeout with no backend timeout must not leave varnishd's first-byte timeout in charge.
        let attempt_ms = timeouts.backend_request_ms.or(timeouts.request_ms.filter(|ms| *ms == 0)).map(disabled_or);
        Some(Self { deadline_ms, attempt_ms, retry: retry.cloned(), origin })
    }

    /// The same plan without retries: for a request whose body is streamed to the backend and cannot be sent again.
    #[must_use]
    pub fn without_retry(mut self) -> Self {
        self.retry = None;
        self
    }

    /// The same plan without the first attempt's endpoint: for a fetch that another gateway pod makes, whose
    /// routing state numbers rules and endpoints differently.
    #[must_use]
    pub fn without_origin(mut self) -> Self {
        self.origin = None;
        self
    }

    /// Whether a failed attempt may be retried at all (before looking at attempts and the deadline).
    #[must_use]
    pub fn has_retry(&self) -> bool {
        self.retry.is_some()
    }

    /// Where the first attempt went.
    #[must_use]
    pub fn origin(&self) -> Option<Origin> {
        self.origin
    }

    /// Whether the request timeout has passed at `now_ms`.
    #[must_use]
    pub fn expired(&self, now_ms: u64) -> bool {
        self.deadline_ms.is_some_and(|d| now_ms >= d)
    }

    /// How long an attempt starting at `now_ms` may take: the backend timeout cut to what is left of the request
    /// timeout.
    #[must_use]
    pub fn attempt_limit(&self, now_ms: u64) -> Limit {
        let left = self.deadline_ms.map(|d| d.saturating_sub(now_ms));
        match (self.attempt_ms, left) {
            (_, Some(0)) => Limit::Expired,
            (None, None) => Limit::Keep,
            (Some(ms), None) | (None, Some(ms)) => Limit::Millis(ms),
            (Some(a), Some(l)) => Limit::Millis(a.min(l)),
        }
    }

    /// The back-off before retry number `retries` (1 for the first retry) starting at `now_ms`: the rule's
    /// back-off, never past the deadline.
    #[must_use]
    pub fn backoff_ms(&self, retries: u32, now_ms: u64) -> u64 {
        let Some(retry) = &self.retry else { return 0 };
        if retries == 0 {
            return 0;
        }
        let left = self.deadline_ms.map_or(u64::MAX, |d| d.saturating_sub(now_ms));
        u64::from(retry.backoff_ms).min(left)
    }

    /// Whether a response with `status` after `retries` retries is retried at `now_ms`.
    #[must_use]
    pub fn retries_status(&self, status: u16, retries: u32, now_ms: u64) -> bool {
        self.retry.as_ref().is_some_and(|r| r.codes.contains(&status)) && self.retries_failure(retries, now_ms)
    }

    /// Whether an attempt that failed without a response (connection error, timeout) after `retries` retries is
    /// retried at `now_ms`.
    #[must_use]
    pub fn retries_failure(&self, retries: u32, now_ms: u64) -> bool {
        self.retry.as_ref().is_some_and(|r| retries < r.attempts) && !self.expired(now_ms)
    }
}

/// Whether a failed attempt that began `elapsed_ms` ago under `limit` ran out of time (then the answer is 504)
/// rather than failing to connect; a timeout fires no earlier than its limit, so most of it having passed says so.
#[must_use]
pub fn timed_out(limit: Limit, elapsed_ms: u64) -> bool {
    match limit {
        Limit::Expired => true,
        Limit::Millis(ms) => elapsed_ms.saturating_mul(10) >= ms.saturating_mul(9),
        Limit::Keep => false,
    }
}

/// The endpoint of retry number `retries` among `endpoints` of the group whose first attempt went to `first`: the
/// following ones in turn, so that a retry goes elsewhere whenever the group has another endpoint.
#[must_use]
pub fn retry_endpoint(endpoints: &[usize], first: usize, retries: u32) -> Option<usize> {
    let start = endpoints.iter().position(|e| *e == first)?;
    let step = usize::try_from(retries).unwrap_or(0);
    Some(endpoints[(start + step) % endpoints.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry(codes: &[u16], attempts: u32, backoff_ms: u32) -> Retry {
        Retry { codes: codes.to_vec(), attempts, backoff_ms }
    }

    fn timeouts(request_ms: Option<u32>, backend_request_ms: Option<u32>) -> Timeouts {
        Timeouts { request_ms, backend_request_ms }
    }

    #[test]
    fn new_is_none_without_timeouts_or_retries() {
        assert_eq!(FetchPlan::new(None, None, 0, None), None);
    }

    #[test]
    fn attempt_limit_is_the_backend_timeout_cut_to_what_is_left_of_the_request() {
        let t = timeouts(Some(1000), Some(400));
        let plan = FetchPlan::new(Some(&t), None, 10_000, None).unwrap();
        assert_eq!(plan.attempt_limit(10_000), Limit::Millis(400));
        assert_eq!(plan.attempt_limit(10_800), Limit::Millis(200));
        assert_eq!(plan.attempt_limit(11_000), Limit::Expired);
        assert!(plan.expired(11_000));
        assert!(!plan.expired(10_999));
    }

    #[test]
    fn attempt_limit_keeps_varnishd_timeouts_unless_the_rule_sets_one() {
        let plan = FetchPlan::new(None, Some(&retry(&[500], 1, 0)), 0, None).unwrap();
        assert_eq!(plan.attempt_limit(5), Limit::Keep);
        let only_request = FetchPlan::new(Some(&timeouts(Some(500), None)), None, 0, None).unwrap();
        assert_eq!(only_request.attempt_limit(100), Limit::Millis(400));
    }

    #[test]
    fn zero_disables_a_timeout() {
        let backend = FetchPlan::new(Some(&timeouts(None, Some(0))), None, 0, None).unwrap();
        assert_eq!(backend.attempt_limit(0), Limit::Millis(DISABLED_MS));
        let request = FetchPlan::new(Some(&timeouts(Some(0), None)), None, 0, None).unwrap();
        assert_eq!(request.attempt_limit(0), Limit::Millis(DISABLED_MS));
        assert!(!request.expired(u64::MAX));
        let both = FetchPlan::new(Some(&timeouts(Some(0), Some(300))), None, 0, None).unwrap();
        assert_eq!(both.attempt_limit(0), Limit::Millis(300));
    }

    #[test]
    fn statuses_are_retried_only_when_listed_while_attempts_and_time_are_left() {
        let t = timeouts(Some(1000), None);
        let plan = FetchPlan::new(Some(&t), Some(&retry(&[500, 503], 2, 0)), 0, None).unwrap();
        assert!(plan.retries_status(500, 0, 10));
        assert!(plan.retries_status(503, 1, 10));
        assert!(!plan.retries_status(500, 2, 10), "attempts are retries: 2 allows a third request, not a fourth");
        assert!(!plan.retries_status(502, 0, 10));
        assert!(!plan.retries_status(500, 0, 1000), "the request timeout covers retries");
        assert!(plan.retries_failure(1, 10));
        assert!(!plan.retries_failure(2, 10));
        assert!(!plan.clone().without_retry().retries_failure(0, 10));
        assert!(!plan.without_retry().retries_status(500, 0, 10));
    }

    #[test]
    fn backoff_waits_the_rule_s_minimum_but_never_past_the_deadline() {
        let t = timeouts(Some(1000), None);
        let plan = FetchPlan::new(Some(&t), Some(&retry(&[500], 3, 300)), 0, None).unwrap();
        assert_eq!(plan.backoff_ms(0, 0), 0);
        assert_eq!(plan.backoff_ms(1, 100), 300);
        assert_eq!(plan.backoff_ms(2, 900), 100);
        let no_deadline = FetchPlan::new(None, Some(&retry(&[500], 3, 300)), 0, None).unwrap();
        assert_eq!(no_deadline.backoff_ms(3, 123_456), 300);
    }

    #[test]
    fn token_round_trips_on_one_line() {
        let origin = Origin { generation: 7, rule: 2, group: 1, endpoint: 9 };
        let plan = FetchPlan::new(Some(&timeouts(Some(5000), Some(100))), Some(&retry(&[502], 4, 25)), 1, Some(origin))
            .unwrap();
        let token = plan.to_token();
        assert!(!token.contains('\n'));
        assert_eq!(FetchPlan::from_token(&token), Some(plan));
        assert_eq!(FetchPlan::from_token("nope"), None);
    }

    #[test]
    fn timed_out_tells_a_timeout_from_a_refused_connection() {
        assert!(timed_out(Limit::Millis(500), 500));
        assert!(timed_out(Limit::Millis(500), 460));
        assert!(!timed_out(Limit::Millis(500), 3));
        assert!(!timed_out(Limit::Keep, 60_000));
        assert!(timed_out(Limit::Expired, 0));
    }

    #[test]
    fn retry_endpoint_takes_the_following_endpoints_in_turn() {
        assert_eq!(retry_endpoint(&[4, 7, 9], 7, 1), Some(9));
        assert_eq!(retry_endpoint(&[4, 7, 9], 7, 2), Some(4));
        assert_eq!(retry_endpoint(&[4, 7, 9], 7, 3), Some(7));
        assert_eq!(retry_endpoint(&[4], 4, 1), Some(4));
        assert_eq!(retry_endpoint(&[4, 7], 5, 1), None);
    }
}
