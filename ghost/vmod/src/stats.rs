//! Cache counters per cached rule, kept across reloads for as long as the rule has cache settings, and their JSON
//! form, with the process's mirror counters, for the control endpoint `/.varnish-ghost/stats` (which the chaperone
//! turns into metrics).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ghost_core::shards::ShardedMap;
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

/// The counters of every cached rule of one loaded state, by [`stats_key`], with how many rule slots use each. Sharded
/// copy on write: a delta's state shares what it leaves alone with the state before.
#[derive(Debug, Clone, Default)]
pub struct StatsMap {
    map: ShardedMap<String, (Arc<RuleStats>, u32)>,
}

impl StatsMap {
    /// The counters of `key` ([`stats_key`]).
    pub fn get(&self, key: &str) -> Option<&Arc<RuleStats>> {
        self.map.get(key).map(|(stats, _)| stats)
    }

    /// Number of counted rule identities.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// One more rule slot uses `key`'s counters: `previous`'s when they have them, else new ones.
    fn add(&mut self, key: String, rule: &str, policy: &str, previous: &Self) {
        let (stats, uses) = match self.map.get(key.as_str()) {
            Some((stats, uses)) => (Arc::clone(stats), uses + 1),
            None => (
                previous.get(&key).cloned().unwrap_or_else(|| {
                    Arc::new(RuleStats { rule: rule.to_owned(), policy: policy.to_owned(), ..RuleStats::default() })
                }),
                1,
            ),
        };
        self.map.insert(key, (stats, uses));
    }

    /// One rule slot fewer uses `key`'s counters; they go with the last.
    fn remove_use(&mut self, key: &str) {
        match self.map.get(key) {
            Some((_, 1)) => {
                self.map.remove(key);
            }
            Some((stats, uses)) => {
                let entry = (Arc::clone(stats), uses - 1);
                self.map.insert(key.to_owned(), entry);
            }
            None => {}
        }
    }
}

/// The key of a rule's counters: its identity and its policy (one rule may be served under two policies).
pub fn stats_key(rule: &str, policy: &str) -> String {
    format!("{rule} {policy}")
}

/// The cache settings of rule `i`, when it has them.
fn cache_of(router: &Router, i: usize) -> Option<&ghost_core::cache::CacheRule> {
    router.rule(i)?.cache.as_ref()
}

/// Builds the counters of `router`'s cached rules, reusing those of `previous` for rules that are still cached. After
/// a delta (`router` made from `before` by [`Router::apply`]), at the cost of the rules it changed.
pub fn carry_over(before: &Router, router: &Router, previous: &Mutex<StatsMap>) -> StatsMap {
    let mut previous = previous.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let next = if let Some(changed) = router.rule_changes() {
        let mut slots: Vec<usize> = changed.iter().map(|&i| i as usize).collect();
        slots.sort_unstable();
        slots.dedup();
        let mut next = previous.clone();
        // Uses added before uses dropped, so that a rule compiled again keeps its counters.
        for cache in slots.iter().filter_map(|&i| cache_of(router, i)) {
            next.add(stats_key(&cache.identity, &cache.policy), &cache.identity, &cache.policy, &previous);
        }
        for cache in slots.iter().filter_map(|&i| cache_of(before, i)) {
            next.remove_use(&stats_key(&cache.identity, &cache.policy));
        }
        next
    } else {
        let mut next = StatsMap::default();
        for cache in (0..router.rule_count()).filter_map(|i| cache_of(router, i)) {
            next.add(stats_key(&cache.identity, &cache.policy), &cache.identity, &cache.policy, &previous);
        }
        next
    };
    previous.clone_from(&next);
    next
}

/// The JSON answer of the stats endpoint: one entry per cached rule, sorted, the counters of ghost's backend
/// transport (`transport`: requests, new connections and failures by kind) and, when the gateway is `clustered`, those
/// of the clustered cache (`cluster`).
pub fn to_json(stats: &StatsMap, clustered: bool) -> String {
    let mut entries: Vec<(&String, &Arc<RuleStats>)> = stats.map.iter().map(|(k, (s, _))| (k, s)).collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let rules: Vec<serde_json::Value> = entries
        .into_iter()
        .map(|(_, s)| {
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

    /// A delta replacing the vhost with `routes` (cached by policy `p` each) on `before`.
    fn delta(before: &Router, routes: &[&str]) -> Router {
        let routes: Vec<String> = routes
            .iter()
            .map(|name| {
                format!(
                    r#"{{"id": {{"namespace": "ns", "name": "{name}", "rule": 0}}, "created": "2026-01-01T00:00:00Z",
                      "listeners": ["l"], "cache": {{"policy": {{"namespace": "ns", "name": "p"}}}}}}"#
                )
            })
            .collect();
        let text = format!(r#"{{"version": 2, "vhosts": {{"*": {{"routes": [{}]}}}}}}"#, routes.join(","));
        before.clone().apply_json(&text).unwrap().0
    }

    #[test]
    fn after_a_delta_counters_follow_the_rules_it_changed_and_survive_a_rule_compiled_again() {
        let registry = Mutex::new(StatsMap::default());
        let whole = router("p", true);
        let first = carry_over(&Router::default(), &whole, &registry);
        bump(&first.get(&stats_key("ns/r/0", "ns/p")).unwrap().hits);
        // r compiled again beside a new rule s: r keeps its counters, s gets new ones
        let next = delta(&whole, &["r", "s"]);
        let second = carry_over(&whole, &next, &registry);
        assert_eq!(second.get(&stats_key("ns/r/0", "ns/p")).map(|s| s.hits.load(Ordering::Relaxed)), Some(1));
        assert_eq!(second.len(), 2);
        // r gone: its counters go; a whole carry-over of the same router agrees
        let last = delta(&next, &["s"]);
        let third = carry_over(&next, &last, &registry);
        assert_eq!((third.len(), third.get(&stats_key("ns/r/0", "ns/p")).is_none()), (1, true));
        let only_s = r#"{"version": 2, "vhosts": {"*": {"routes": [{"id": {"namespace": "ns", "name": "s", "rule": 0},
            "created": "2026-01-01T00:00:00Z", "listeners": ["l"], "cache": {"policy": {"namespace": "ns", "name": "p"}}}]}}}"#;
        let whole_again = carry_over(&Router::default(), &Router::from_json(only_s).unwrap().0, &registry);
        assert_eq!(whole_again.len(), 1);
    }

    #[test]
    fn counters_survive_reloads_of_the_same_rule_and_policy_only() {
        let registry = Mutex::new(StatsMap::default());
        let none = Router::default();
        let hits = |map: &StatsMap, policy: &str| {
            map.get(&stats_key("ns/r/0", policy)).map(|s| s.hits.load(Ordering::Relaxed))
        };
        let first = carry_over(&none, &router("p", true), &registry);
        assert_eq!(first.len(), 1, "only cached rules have counters");
        bump(&first.get(&stats_key("ns/r/0", "ns/p")).unwrap().hits);
        let second = carry_over(&none, &router("p", true), &registry);
        assert_eq!(hits(&second, "ns/p"), Some(1));
        let other_policy = carry_over(&none, &router("q", true), &registry);
        assert_eq!(hits(&other_policy, "ns/q"), Some(0));
        assert_eq!(carry_over(&none, &router("q", false), &registry).len(), 0);
        let json: serde_json::Value = serde_json::from_str(&to_json(&other_policy, false)).unwrap();
        assert_eq!(json["rules"][0]["rule"], "ns/r/0");
        assert_eq!(json["rules"][0]["policy"], "ns/q");
        assert!(json.get("cluster").is_none(), "a gateway that is not clustered reports no cluster counters");
        let clustered: serde_json::Value = serde_json::from_str(&to_json(&other_policy, true)).unwrap();
        assert!(clustered["cluster"]["hop"].is_u64());
    }
}
