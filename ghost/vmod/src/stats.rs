//! Cache counters per cached rule, kept across reloads for as long as the rule has cache settings, and their JSON
//! form, with the process's mirror counters, for the control endpoint `/.varnish-ghost/stats` (which the chaperone
//! turns into metrics).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ghost_core::Router;

/// The counters of one cached rule. Only rules with cache settings have them, so their number is bounded by the
/// configuration.
#[derive(Debug, Default)]
pub struct RuleStats {
    /// `namespace/name/rule`.
    pub rule: String,
    /// `namespace/name` of the CachePolicy that applies.
    pub policy: String,
    /// Fresh hits.
    pub hits: AtomicU64,
    /// Hits on stale objects within grace.
    pub stale_hits: AtomicU64,
    /// Misses, hit-for-miss included.
    pub misses: AtomicU64,
    /// Requests passed: method, Authorization, cookies, or user VCL.
    pub passes: AtomicU64,
    /// Requests passed by a bypass condition.
    pub bypasses: AtomicU64,
    /// Responses stored.
    pub stored: AtomicU64,
    /// Responses not stored (remembered as hit-for-miss).
    pub uncacheable: AtomicU64,
    /// Responses stored with their Set-Cookie removed (`allow.setCookie`).
    pub set_cookie_stripped: AtomicU64,
}

/// Adds one to a counter.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The counters of every cached rule of one loaded state, by [`stats_key`].
pub type StatsMap = HashMap<String, Arc<RuleStats>>;

/// The key of a rule's counters: its identity and its policy (one rule may be served under two policies).
pub fn stats_key(rule: &str, policy: &str) -> String {
    format!("{rule} {policy}")
}

/// Builds the counters of `router`'s cached rules, reusing those of `previous` for rules that are still cached.
pub fn carry_over(router: &Router, previous: &Mutex<StatsMap>) -> StatsMap {
    let mut previous = previous.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut next = StatsMap::new();
    for rule in (0..router.rule_count()).filter_map(|i| router.rule(i)) {
        let Some(cache) = &rule.cache else { continue };
        let key = stats_key(&cache.identity, &cache.policy);
        let stats = previous.get(&key).cloned().unwrap_or_else(|| {
            Arc::new(RuleStats { rule: cache.identity.clone(), policy: cache.policy.clone(), ..RuleStats::default() })
        });
        next.insert(key, stats);
    }
    previous.clone_from(&next);
    next
}

/// The JSON answer of the stats endpoint: one entry per cached rule, sorted, the counters of ghost's backend
/// transport (`transport`: requests, new connections and failures by kind) and, when the gateway is `clustered`, those
/// of the clustered cache (`cluster`).
pub fn to_json(stats: &StatsMap, clustered: bool) -> String {
    let mut names: Vec<&String> = stats.keys().collect();
    names.sort();
    let rules: Vec<serde_json::Value> = names
        .into_iter()
        .map(|name| {
            let s = &stats[name];
            let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
            serde_json::json!({
                "rule": s.rule,
                "policy": s.policy,
                "hits": get(&s.hits),
                "staleHits": get(&s.stale_hits),
                "misses": get(&s.misses),
                "passes": get(&s.passes),
                "bypasses": get(&s.bypasses),
                "stored": get(&s.stored),
                "uncacheable": get(&s.uncacheable),
                "setCookieStripped": get(&s.set_cookie_stripped),
            })
        })
        .collect();
    let m = crate::mirror::stats();
    let mirrors = serde_json::json!({
        "sent": m.sent,
        "failed": m.failed,
        "droppedQueueFull": m.dropped_queue_full,
        "droppedBody": m.dropped_body,
        "droppedUnavailable": m.dropped_unavailable,
        "queued": m.queued,
    });
    let transport: serde_json::Map<String, serde_json::Value> =
        ghost_transport::Stats::global().counters().into_iter().map(|(k, v)| (k.to_owned(), v.into())).collect();
    let mut answer = serde_json::json!({ "status": "ok", "rules": rules, "mirrors": mirrors, "transport": transport });
    if clustered {
        answer["cluster"] = crate::peer::STATS.to_json();
    }
    let mut text = answer.to_string();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(policy: &str, cached: bool) -> Router {
        let cache = if cached {
            format!(r#", "cache": {{"policy": {{"namespace": "ns", "name": "{policy}"}}}}"#)
        } else {
            String::new()
        };
        let text = format!(
            r#"{{"version": 1, "vhosts": {{"*": {{"routes": [
                {{"id": {{"namespace": "ns", "name": "r", "rule": 0}}, "created": "2026-01-01T00:00:00Z",
                  "listeners": ["l"]{cache}}},
                {{"id": {{"namespace": "ns", "name": "r", "rule": 1}}, "created": "2026-01-01T00:00:00Z",
                  "listeners": ["l"]}}]}}}}}}"#
        );
        Router::from_json(&text).unwrap().0
    }

    #[test]
    fn counters_survive_reloads_of_the_same_rule_and_policy_only() {
        let registry = Mutex::new(StatsMap::new());
        let first = carry_over(&router("p", true), &registry);
        assert_eq!(first.len(), 1, "only cached rules have counters");
        bump(&first[&stats_key("ns/r/0", "ns/p")].hits);
        let second = carry_over(&router("p", true), &registry);
        assert_eq!(second[&stats_key("ns/r/0", "ns/p")].hits.load(Ordering::Relaxed), 1);
        let other_policy = carry_over(&router("q", true), &registry);
        assert_eq!(other_policy[&stats_key("ns/r/0", "ns/q")].hits.load(Ordering::Relaxed), 0);
        assert!(carry_over(&router("q", false), &registry).is_empty());
        let json: serde_json::Value = serde_json::from_str(&to_json(&other_policy, false)).unwrap();
        assert_eq!(json["rules"][0]["rule"], "ns/r/0");
        assert_eq!(json["rules"][0]["policy"], "ns/q");
        assert!(json.get("cluster").is_none(), "a gateway that is not clustered reports no cluster counters");
        let clustered: serde_json::Value = serde_json::from_str(&to_json(&other_policy, true)).unwrap();
        assert!(clustered["cluster"]["hop"].is_u64());
    }
}
