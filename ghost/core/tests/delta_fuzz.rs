//! Property test of deltas: a router made by applying a chain of random deltas (vhosts replaced, added, removed;
//! `backends` entries replaced, added, removed, some bad) answers every request as the router of the whole resulting
//! document does, and reports the same.

use std::collections::BTreeMap;

use ghost_core::{Decision, Request, Router};
use proptest::prelude::*;
use serde_json::{json, Value};

mod common;
use common::config;

/// Vhost keys, one not a vhost key (reported, never served).
const KEYS: [&str; 6] = ["a.example", "b.example", "*.example", "*", "x.b.example", "Bad_Key"];
const PATHS: [&str; 5] = ["/", "/a", "/a/b", "/b", "/c"];
/// Endpoint addresses, few, so that vhosts share them and a removed vhost frees some.
const ADDRESSES: [&str; 4] = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"];
/// `backends` keys (version 2), which some groups name instead of holding endpoints.
const SERVICES: [&str; 3] = ["ns/p:80", "ns/q:80", "ns/r:443"];

/// A generated route: path match kind and value, age, endpoints, and what is special about it.
type GenRoute = (usize, usize, u8, Vec<usize>, u8);

/// One generated route: a path match, its backend's endpoints, and now and then something ghost skips or serves
/// without caching.
fn gen_route() -> impl Strategy<Value = GenRoute> {
    (0..3usize, 0..PATHS.len(), 0..3u8, prop::collection::vec(0..ADDRESSES.len(), 0..3), 0..10u8)
}

fn route(key: usize, i: usize, (kind, path, created, endpoints, special): GenRoute) -> Value {
    let kind = ["PathPrefix", "Exact", "RegularExpression"][kind];
    let value = if kind == "RegularExpression" { format!("{}.*", PATHS[path]) } else { PATHS[path].to_owned() };
    let mut route = json!({
        "id": {"namespace": "ns", "name": format!("k{key}-r{i}"), "rule": 0},
        "created": format!("2026-01-0{}T00:00:00Z", created + 1),
        "listeners": ["web"],
        "matches": [{"path": {"type": kind, "value": value}}],
        "backends": [{"name": format!("ns/s{i}:80"), "endpoints": endpoints.iter().map(|&e| json!({"address": ADDRESSES[e], "port": 80})).collect::<Vec<_>>()}],
    });
    match special {
        // a group naming a backends entry (which the table may lack)
        2..=4 => {
            let key = SERVICES[usize::from(special - 2)];
            route["backends"][0] = json!({"name": key, "backend": key});
        }
        // a regex that does not compile: the route is skipped
        0 => route["matches"][0]["path"] = json!({"type": "RegularExpression", "value": "/("}),
        // a cache policy that does not exist: served without caching
        1 => route["cache"] = json!("ns/gone"),
        _ => {}
    }
    route
}

/// A vhost's routes (none: the delta removes the key).
fn gen_vhost() -> impl Strategy<Value = Option<Vec<GenRoute>>> {
    prop::option::weighted(0.8, prop::collection::vec(gen_route(), 0..4))
}

/// A delta: some keys with their new vhost or removal.
fn gen_delta() -> impl Strategy<Value = BTreeMap<usize, Option<Vec<GenRoute>>>> {
    prop::collection::btree_map(0..KEYS.len(), gen_vhost(), 0..4)
}

/// A `backends` entry (none: the delta removes the key): endpoint indexes, `ADDRESSES.len()` being a bad address
/// (the entry is left out and reported), and whether it goes over ghost's transport (H2C).
fn gen_entry() -> impl Strategy<Value = Option<(Vec<usize>, bool)>> {
    prop::option::weighted(0.8, (prop::collection::vec(0..=ADDRESSES.len(), 0..3), any::<bool>()))
}

/// Changes to the `backends` table.
fn gen_entries() -> impl Strategy<Value = BTreeMap<usize, Option<(Vec<usize>, bool)>>> {
    prop::collection::btree_map(0..SERVICES.len(), gen_entry(), 0..3)
}

fn entry_json((endpoints, h2c): &(Vec<usize>, bool)) -> Value {
    let endpoints: Vec<Value> =
        endpoints.iter().map(|&e| json!({"address": ADDRESSES.get(e).unwrap_or(&"not-an-ip"), "port": 8080})).collect();
    if *h2c {
        json!({"endpoints": endpoints, "transport": {"protocol": "H2C"}})
    } else {
        json!({"endpoints": endpoints})
    }
}

fn vhost_json(key: usize, routes: &[GenRoute]) -> Value {
    json!({"routes": routes.iter().cloned().enumerate().map(|(i, r)| route(key, i, r)).collect::<Vec<_>>()})
}

/// What a decision means, without the rule and endpoint indexes that differ between the two routers.
fn meaning(router: &Router, decision: Decision) -> String {
    let rule = |i: Option<usize>| i.and_then(|i| router.rule(i)).map(|r| r.route_name.clone());
    match decision {
        Decision::Forward(f) => format!(
            "forward {:?} group {} to {} url {:?} host {:?}",
            rule(Some(f.rule)),
            f.group,
            router.endpoints()[f.endpoint],
            f.url,
            f.host
        ),
        Decision::Redirect(r) => format!("redirect {:?} {} {}", rule(r.rule), r.status, r.location),
        Decision::Refuse(r) => format!("refuse {:?} {} {}", rule(r.rule), r.status, r.reason),
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn a_chain_of_deltas_routes_and_reports_as_the_whole_document(
        start in gen_delta(),
        start_entries in gen_entries(),
        deltas in prop::collection::vec((gen_delta(), gen_entries()), 1..5),
        random in any::<u64>(),
    ) {
        let listeners = json!([{"name": "web", "socket": "a0", "port": 80, "protocol": "HTTP"}]);
        let mut vhosts = serde_json::Map::new();
        for (&key, vhost) in &start {
            if let Some(routes) = vhost {
                vhosts.insert(KEYS[key].to_owned(), vhost_json(key, routes));
            }
        }
        let mut entries = serde_json::Map::new();
        for (&key, entry) in &start_entries {
            if let Some(entry) = entry {
                entries.insert(SERVICES[key].to_owned(), entry_json(entry));
            }
        }
        let doc = |vhosts: &serde_json::Map<String, Value>, entries: &serde_json::Map<String, Value>| {
            json!({"version": 2, "listeners": listeners, "backends": entries, "vhosts": vhosts}).to_string()
        };
        let (mut router, _) = Router::from_json(&doc(&vhosts, &entries)).unwrap();
        for (delta, entry_delta) in &deltas {
            let mut changed_entries = serde_json::Map::new();
            for (&key, entry) in entry_delta {
                let value = entry.as_ref().map_or(Value::Null, entry_json);
                match &value {
                    Value::Null => entries.remove(SERVICES[key]),
                    v => entries.insert(SERVICES[key].to_owned(), v.clone()),
                };
                changed_entries.insert(SERVICES[key].to_owned(), value);
            }
            let mut changed = serde_json::Map::new();
            for (&key, vhost) in delta {
                let value = vhost.as_ref().map_or(Value::Null, |routes| vhost_json(key, routes));
                match &value {
                    Value::Null => vhosts.remove(KEYS[key]),
                    v => vhosts.insert(KEYS[key].to_owned(), v.clone()),
                };
                changed.insert(KEYS[key].to_owned(), value);
            }
            let delta = json!({"version": 2, "backends": changed_entries, "vhosts": changed}).to_string();
            let (next, report) = router.clone().apply_json(&delta).unwrap();
            let (whole, whole_report) = Router::from_json(&doc(&vhosts, &entries)).unwrap();
            prop_assert_eq!(&report, &whole_report);
            let headers: Vec<(String, String)> = Vec::new();
            for host in ["a.example", "b.example", "x.b.example", "y.example", "other.test"] {
                for path in PATHS {
                    let url = format!("{path}/x");
                    let req = Request { socket: "a0", host, url: &url, method: "GET", headers: headers.as_slice(), random };
                    prop_assert_eq!(meaning(&next, next.route(&req)), meaning(&whole, whole.route(&req)), "{} {}", host, url);
                }
            }
            // every endpoint a rule uses is a live slot with the address the rule names, and the live slots are as
            // many as the whole document's endpoints (a freed slot gets no backend)
            for i in 0..next.rule_count() {
                for group in next.rule(i).iter().flat_map(|r| r.groups.iter()) {
                    prop_assert!(next.group_endpoints(group).iter().all(|&e| e < next.endpoints().len() && next.endpoint_used(e)));
                }
            }
            let used = (0..next.endpoints().len()).filter(|&i| next.endpoint_used(i)).count();
            prop_assert_eq!(used, whole.endpoints().len());
            // every slot whose endpoint the delta changed is listed (the VMOD acquires and retires backends by it)
            let changes = next.endpoint_changes().unwrap();
            let slot = |r: &Router, i: usize| {
                r.endpoint_used(i).then(|| (r.endpoints()[i], r.transports()[i].clone()))
            };
            for i in 0..next.endpoints().len() {
                if slot(&router, i) != slot(&next, i) {
                    prop_assert!(changes.contains(&i), "slot {} changed unlisted", i);
                }
            }
            router = next;
        }
    }
}

#[test]
fn a_delta_that_is_not_a_delta_is_refused_and_names_the_problem() {
    let (router, _) = Router::from_json(r#"{"version": 1, "vhosts": {}}"#).unwrap();
    let err = router.clone().apply_json(r#"{"version": 3, "vhosts": {}}"#).unwrap_err();
    assert_eq!(err.path(), "$.version");
    let err = router.clone().apply_json(r#"{"version": 1, "vhosts": {"a": 3}}"#).unwrap_err();
    assert_eq!(err.path(), "$.vhosts.a", "{err}");
    let err = router.clone().apply_json(r#"{"version": 1, "listeners": [], "vhosts": {}}"#).unwrap_err();
    assert!(err.to_string().contains("listeners"), "{err}");
    assert!(router.apply_json("{").is_err());
}
