//! The swappable routing state of a router object and the reload procedure.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use ghost_core::{Report, Router, Skipped};
use varnish::vcl::Ctx;

use crate::backend::{BackendPool, BackendRef, Key, Lives};
use crate::peer::Peers;
use crate::stats::{carry_over, stats_key, RuleStats, StatsMap};

/// One loaded ghost.json: the compiled router and a native backend per endpoint (same order as
/// [`Router::endpoints`]).
#[derive(Debug, Default)]
pub struct State {
    /// The compiled routes.
    pub router: Router,
    /// `backends[i]` serves `router.endpoints()[i]`.
    pub backends: Vec<BackendRef>,
    /// Cache counters of the cached rules, by `namespace/name/rule`.
    pub stats: StatsMap,
    /// Counts the loads of this router object: a fetch retries on another endpoint only within the state it
    /// was routed with.
    pub generation: u64,
    /// The clustered cache's peers (none without a cluster).
    pub peers: Peers,
    /// The revision the reload request named for this state (see [`Reload`]): a delta applies only to the state of
    /// its base revision.
    pub revision: Option<String>,
    /// The cache counters by rule index, so that a request finds them without building a key.
    by_rule: Vec<Option<Arc<RuleStats>>>,
}

impl State {
    /// The state of `router`; after a delta, `before` is the state it was applied to, whose per-rule counters it
    /// shares but for the rules the delta changed.
    fn new(
        before: &Self,
        router: Router,
        (backends, peers, stats): (Vec<BackendRef>, Peers, StatsMap),
        (generation, revision): (u64, Option<String>),
    ) -> Self {
        let stats_of = |i: usize| {
            let cache = router.rule(i)?.cache.as_ref()?;
            stats.get(&stats_key(&cache.identity, &cache.policy)).cloned()
        };
        let by_rule = match router.rule_changes() {
            Some(changed) => {
                let mut by_rule = before.by_rule.clone();
                by_rule.resize(router.rule_count(), None);
                for &i in changed {
                    by_rule[i as usize] = stats_of(i as usize);
                }
                by_rule
            }
            None => (0..router.rule_count()).map(stats_of).collect(),
        };
        Self { router, backends, stats, generation, peers, revision, by_rule }
    }

    /// The cache counters of rule `rule`, when it has cache settings.
    pub fn rule_stats(&self, rule: usize) -> Option<Arc<RuleStats>> {
        self.by_rule.get(rule)?.clone()
    }
}

/// What a reload request asks for (`/.varnish-ghost/reload?revision=<r>[&delta=<base>]`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reload {
    /// The revision the new state is known by, for a later delta's base.
    pub revision: Option<String>,
    /// Apply the delta file (`<ghost.json>.delta`) to the state of this revision instead of loading ghost.json.
    pub delta_base: Option<String>,
}

impl Reload {
    /// Reads the request from the control URL's query; unknown parameters are ignored.
    pub fn from_url(url: &str) -> Self {
        let mut reload = Self::default();
        let query = url.split_once('?').map_or("", |(_, q)| q);
        for (name, value) in query.split('&').filter_map(|p| p.split_once('=')) {
            match name {
                "revision" => reload.revision = Some(value.to_owned()),
                "delta" => reload.delta_base = Some(value.to_owned()),
                _ => {}
            }
        }
        reload
    }
}

/// The result of one reload, for the control endpoint and `last_error()`.
#[derive(Debug)]
pub enum ReloadOutcome {
    /// The new state is serving.
    Loaded { report: Report, backends: usize, retired: usize, millis: f64, revision: Option<String> },
    /// The document could not be used; the previous state keeps serving.
    Failed { error: String, path: Option<String>, millis: f64 },
    /// A delta whose base is not the serving state's revision (a VCL load or varnishd start read ghost.json since):
    /// nothing changed; the caller reloads the whole document instead.
    Stale { serving: Option<String>, millis: f64 },
}

impl ReloadOutcome {
    /// The HTTP status of the control answer.
    pub fn status(&self) -> u16 {
        match self {
            Self::Loaded { .. } => 200,
            Self::Failed { .. } => 500,
            Self::Stale { .. } => 409,
        }
    }

    /// The JSON body of the control answer.
    pub fn to_json(&self) -> String {
        let value = match self {
            Self::Loaded { report, backends, retired, millis, revision } => serde_json::json!({
                "status": "ok",
                "revision": revision,
                "routes": report.routes,
                "vhosts": report.vhosts,
                "endpoints": report.endpoints,
                "backends": backends,
                "backendsRetired": retired,
                "skipped": report.skipped.iter().map(skipped_json).collect::<Vec<_>>(),
                "uncached": report.uncached.iter().map(skipped_json).collect::<Vec<_>>(),
                "durationMs": millis,
            }),
            Self::Failed { error, path, millis } => serde_json::json!({
                "status": "error",
                "error": error,
                "path": path,
                "durationMs": millis,
            }),
            Self::Stale { serving, millis } => serde_json::json!({
                "status": "stale",
                "error": "the delta's base is not the revision serving",
                "serving": serving,
                "durationMs": millis,
            }),
        };
        let mut text = value.to_string();
        text.push('\n');
        text
    }

    /// A one-line summary for `last_error()`: empty when everything loaded.
    pub fn problem(&self) -> String {
        match self {
            Self::Loaded { report, .. } if report.skipped.is_empty() && report.uncached.is_empty() => String::new(),
            Self::Loaded { report, .. } => {
                let mut text = format!("{} route(s) skipped", report.skipped.len());
                if !report.uncached.is_empty() {
                    let _ = write!(text, ", {} served without caching", report.uncached.len());
                }
                for s in report.skipped.iter().chain(&report.uncached).take(3) {
                    let _ = write!(text, "; {}: {}", s.path, s.reason);
                }
                text
            }
            Self::Failed { error, .. } => error.clone(),
            Self::Stale { .. } => String::new(),
        }
    }
}

fn skipped_json(s: &Skipped) -> serde_json::Value {
    serde_json::json!({ "path": s.path, "route": s.route, "reason": s.reason })
}

/// The state of one `ghost.router` object.
#[derive(Debug)]
pub struct Shared {
    path: String,
    current: ArcSwap<State>,
    pool: Mutex<(BackendPool, Lives<State>)>,
    last_error: Mutex<String>,
    stats: Mutex<StatsMap>,
}

impl Shared {
    /// Creates the object with an empty state; unused backends are deleted after `retire_after`.
    pub fn new(path: &str, retire_after: Duration) -> Self {
        Self {
            path: path.to_owned(),
            current: ArcSwap::from_pointee(State::default()),
            pool: Mutex::new((BackendPool::new(retire_after), Lives::default())),
            last_error: Mutex::new(String::new()),
            stats: Mutex::new(StatsMap::default()),
        }
    }

    /// The state serving now; lock-free.
    pub fn current(&self) -> Arc<State> {
        self.current.load_full()
    }

    /// The problem of the last reload, or an empty string.
    pub fn last_error(&self) -> String {
        self.last_error.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Reads the ghost.json file (or applies its delta file to the serving state), builds a new state and swaps it
    /// in; on failure the old state keeps serving.
    pub fn reload(&self, ctx: &mut Ctx, request: &Reload) -> ReloadOutcome {
        let started = Instant::now();
        // Reloads are serialized so that backends are created and retired in a consistent order.
        let mut guard = match self.pool.lock() {
            Ok(pool) => pool,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (pool, lives) = &mut *guard;
        let current = self.current();
        let built = match &request.delta_base {
            Some(base) if current.revision.as_ref() != Some(base) => {
                return ReloadOutcome::Stale { serving: current.revision.clone(), millis: elapsed_ms(started) };
            }
            Some(_) => apply_off_thread(format!("{}.delta", self.path), current.router.clone()),
            None => load_off_thread(&self.path),
        };
        let outcome = match built {
            Err(error) => ReloadOutcome::Failed { error, path: None, millis: elapsed_ms(started) },
            Ok(Err(err)) => ReloadOutcome::Failed {
                error: err.to_string(),
                path: Some(err.path().to_owned()),
                millis: elapsed_ms(started),
            },
            Ok(Ok((router, report))) => match acquire(ctx, pool, &current, &router)
                .and_then(|backends| Ok((backends, Peers::new(pool.acquire(ctx, &peer_keys(&router))?))))
            {
                Err(error) => ReloadOutcome::Failed { error, path: None, millis: elapsed_ms(started) },
                Ok((backends, peers)) => {
                    let listing = Listing::of(&current.router, &router);
                    let stats = carry_over(&current.router, &router, &self.stats);
                    let generation = current.generation + 1;
                    let next = Arc::new(State::new(
                        &current,
                        router,
                        (backends, peers, stats),
                        (generation, request.revision.clone()),
                    ));
                    lives.push(generation, &next);
                    self.current.store(next);
                    // The previous state may now go, unless requests still hold it.
                    drop(current);
                    let retired = match listing {
                        Listing::Changes { listed, unlisted } => {
                            pool.retain_changes(ctx, (&listed, &unlisted), generation, lives.oldest())
                        }
                        Listing::Whole(keep) => pool.retain(ctx, &keep, generation, lives.oldest()),
                    };
                    let (backends, millis) = (pool.len(), elapsed_ms(started));
                    ReloadOutcome::Loaded { report, backends, retired, millis, revision: request.revision.clone() }
                }
            },
        };
        if let Ok(mut last) = self.last_error.lock() {
            *last = outcome.problem();
        }
        outcome
    }
}

/// The router's endpoints with their transports, the backend pool's keys; none for a slot no rule uses (one that a
/// delta freed keeps its last address until it is reused).
fn keys(router: &Router) -> Vec<Option<Key>> {
    (0..router.endpoints().len()).map(|i| slot_key(router, i)).collect()
}

/// The backends of `router`'s endpoint slots: after a delta, those of the serving state with the slots it changed
/// acquired again (its cost is the change's); after a whole load, every slot's.
fn acquire(ctx: &mut Ctx, pool: &mut BackendPool, current: &State, router: &Router) -> Result<Vec<BackendRef>, String> {
    let Some(changed) = router.endpoint_changes() else { return pool.acquire(ctx, &keys(router)) };
    let mut slots = changed.to_vec();
    slots.sort_unstable();
    slots.dedup();
    let keys: Vec<Option<Key>> = slots.iter().map(|&i| slot_key(router, i)).collect();
    let mut backends = current.backends.clone();
    backends.resize(router.endpoints().len(), BackendRef::none());
    for (slot, backend) in slots.into_iter().zip(pool.acquire(ctx, &keys)?) {
        backends[slot] = backend;
    }
    Ok(backends)
}

/// What a new state lists, for the backend pool's bookkeeping.
enum Listing {
    /// After a delta: the keys of the endpoint slots it took, and of those it freed whose endpoint no rule or peer
    /// lists any more (see [`BackendPool::retain_changes`]).
    Changes { listed: Vec<Key>, unlisted: Vec<Key> },
    /// After a whole load: every key it lists, peers included.
    Whole(Vec<Key>),
}

impl Listing {
    fn of(before: &Router, router: &Router) -> Self {
        let peers: Vec<Key> = peer_keys(router).into_iter().flatten().collect();
        let Some(changed) = router.endpoint_changes() else {
            let mut keep: Vec<Key> = keys(router).into_iter().flatten().collect();
            keep.extend(peers);
            return Self::Whole(keep);
        };
        let listed = changed.iter().filter_map(|&i| slot_key(router, i)).collect();
        let unlisted = changed
            .iter()
            .filter_map(|&i| slot_key(before, i))
            .filter(|(addr, transport)| !router.lists_endpoint(*addr, transport.as_ref()))
            .filter(|key| !peers.contains(key))
            .collect();
        Self::Changes { listed, unlisted }
    }
}

/// The key of endpoint slot `i`, when a rule uses it.
fn slot_key(router: &Router, i: usize) -> Option<Key> {
    router.endpoint_used(i).then(|| (router.endpoints()[i], router.transports()[i].clone()))
}

/// The clustered cache's peer listeners, plain HTTP/1.1 (same order as `Cluster::peers`).
fn peer_keys(router: &Router) -> Vec<Option<Key>> {
    router.cluster().map_or_else(Vec::new, |c| c.peers().iter().map(|p| Some((*p, None))).collect())
}

/// Reads and compiles ghost.json on a thread of its own: Varnish worker threads have small stacks (tens of KiB),
/// too small for parsing and regex compilation of large documents.
fn load_off_thread(path: &str) -> Result<Result<(Router, Report), ghost_core::Error>, String> {
    let path = path.to_owned();
    let worker = std::thread::Builder::new()
        .name("ghost-load".to_owned())
        .stack_size(LOAD_STACK)
        .spawn(move || {
            std::fs::read_to_string(&path)
                .map_err(|err| format!("cannot read {path}: {err}"))
                .map(|text| Router::from_json(&text))
        })
        .map_err(|err| format!("cannot start the ghost.json loader thread: {err}"))?;
    worker.join().map_err(|_| "the ghost.json loader thread panicked".to_owned())?
}

/// Reads a delta file and applies it to `router` on a thread of its own (as [`load_off_thread`]).
fn apply_off_thread(path: String, router: Router) -> Result<Result<(Router, Report), ghost_core::Error>, String> {
    let worker = std::thread::Builder::new()
        .name("ghost-delta".to_owned())
        .stack_size(LOAD_STACK)
        .spawn(move || {
            std::fs::read_to_string(&path)
                .map_err(|err| format!("cannot read {path}: {err}"))
                .map(|text| router.apply_json(&text))
        })
        .map_err(|err| format!("cannot start the ghost.json delta thread: {err}"))?;
    worker.join().map_err(|_| "the ghost.json delta thread panicked".to_owned())?
}

const LOAD_STACK: usize = 16 << 20;

fn elapsed_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_outcome_to_json_reports_routes_skips_and_errors() {
        let (_, report) = Router::from_json(
            r#"{"version": 1, "vhosts": {"*": {"routes": [
                {"id": {"namespace": "ns", "name": "bad", "rule": 0}, "created": "nope", "listeners": ["l"]}]}}}"#,
        )
        .unwrap();
        let loaded = ReloadOutcome::Loaded { report, backends: 0, retired: 0, millis: 1.5, revision: None };
        let json: serde_json::Value = serde_json::from_str(&loaded.to_json()).unwrap();
        assert_eq!(loaded.status(), 200);
        assert_eq!(json["status"], "ok");
        assert_eq!(json["routes"], 0);
        assert_eq!(json["skipped"][0]["route"], "ns/bad rule 0");
        assert!(loaded.problem().starts_with("1 route(s) skipped"));

        let (_, report) = Router::from_json(
            r#"{"version": 1, "vhosts": {"*": {"routes": [{"id": {"namespace": "ns", "name": "r", "rule": 0},
                "created": "2026-01-01T00:00:00Z", "listeners": ["l"], "cache": "ns/gone"}]}}}"#,
        )
        .unwrap();
        let loaded = ReloadOutcome::Loaded { report, backends: 0, retired: 0, millis: 1.5, revision: None };
        let json: serde_json::Value = serde_json::from_str(&loaded.to_json()).unwrap();
        assert_eq!((json["routes"].as_u64(), json["skipped"].as_array().map(Vec::len)), (Some(1), Some(0)));
        assert_eq!(json["uncached"][0]["route"], "ns/r rule 0");
        assert!(loaded.problem().starts_with("0 route(s) skipped, 1 served without caching; "), "{}", loaded.problem());

        let stale = ReloadOutcome::Stale { serving: Some("r1".into()), millis: 0.1 };
        let json: serde_json::Value = serde_json::from_str(&stale.to_json()).unwrap();
        assert_eq!((stale.status(), &json["status"], &json["serving"]), (409, &"stale".into(), &"r1".into()));
        assert_eq!(stale.problem(), "");

        let failed = ReloadOutcome::Failed { error: "cannot load".into(), path: Some("$".into()), millis: 0.1 };
        let json: serde_json::Value = serde_json::from_str(&failed.to_json()).unwrap();
        assert_eq!(failed.status(), 500);
        assert_eq!(json["status"], "error");
        assert_eq!(failed.problem(), "cannot load");
    }

    #[test]
    fn reload_requests_read_the_revision_and_the_delta_base_from_the_query() {
        assert_eq!(Reload::from_url("/.varnish-ghost/reload"), Reload::default());
        assert_eq!(
            Reload::from_url("/.varnish-ghost/reload?revision=c-2&delta=c-1&x=y"),
            Reload { revision: Some("c-2".into()), delta_base: Some("c-1".into()) }
        );
    }
}
