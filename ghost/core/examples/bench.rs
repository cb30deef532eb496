//! `deno task bench:ghost`: ns per match with 10, 1,000 and 10,000 routes in one vhost (mixed prefixes, exact
//! paths, header matches and a few regexes), each decision checked inside the timed loop, the 10,000/10 ratio, and
//! the time to load a 10,000-route document from its file (read, parse, validate, compile: ghost-core's share of a
//! reload; the VMOD's native backends and the control request come on top).
//! Targets: at most 1 µs per match at 1,000 routes, reload of 10,000 routes within 50 ms.
//!
//! `GHOST_BENCH_SIZES` (for example `100,1000,5000,20000,50000`) measures the match cost and the load time at those
//! route counts instead, and prints them as one JSON line last (`deno task bench` puts them in its report).
//!
//! `GHOST_BENCH_SHARED` (for example `1000,5000,20000`) measures instead what a delta costs when that many vhosts of
//! one route each send to one Service port and one of its pods comes: the chaperone's delta names every vhost
//! (`deno task bench:sync-stages`), and ghost applies it (parse, then each vhost recompiled) on a clone of the router,
//! as the VMOD does. Then the same change in version 2's form: the vhosts name the Service port's `backends` entry,
//! and the delta carries that one entry.
//!
//! `GHOST_BENCH_ONE` (for example `5000,20000,50000`) measures what a delta naming one vhost costs in a Gateway of
//! that many vhosts of one route and one endpoint each: the router cloned and the delta applied, as the VMOD does, and
//! the clone alone. The cost should not grow with the Gateway.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

use ghost_core::{Decision, Request, Router};

/// A small deterministic generator, so every run measures the same documents and requests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

fn route_json(out: &mut String, i: usize, matches: &str) {
    let _ = write!(
        out,
        r#"{{"id": {{"namespace": "ns{ns}", "name": "route-{i}", "rule": 0}}, "created": "2026-01-{day:02}T00:00:00Z",
  "listeners": ["http"], "matches": [{matches}],
  "backends": [{{"name": "ns/svc-{i}:80", "endpoints": [{{"address": "10.{a}.{b}.{c}", "port": 8080}}]}}]}}"#,
        ns = i % 7,
        day = 1 + i % 28,
        a = (i >> 16) & 255,
        b = (i >> 8) & 255,
        c = i & 255,
    );
}

/// A ghost.json with `n` routes on one vhost: 60% prefixes of depth 1-3, 25% exact paths, 10% prefixes with a
/// header match, and 5 regex routes.
fn document(n: usize) -> String {
    let mut out = String::from(r#"{"version": 1, "vhosts": {"bench.example.com": {"routes": ["#);
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        let matches = if i < 5 && n > 5 {
            format!(r#"{{"path": {{"type": "RegularExpression", "value": "/re{i}/[a-z]+/[0-9]+"}}}}"#)
        } else {
            match i % 20 {
                0..=11 => format!(r#"{{"path": {{"type": "PathPrefix", "value": "{}"}}}}"#, prefix(i)),
                12..=16 => format!(r#"{{"path": {{"type": "Exact", "value": "/exact/{i}/item"}}}}"#),
                _ => format!(
                    r#"{{"path": {{"type": "PathPrefix", "value": "{}"}}, "headers": [{{"name": "x-tenant", "value": "t{}"}}]}}"#,
                    prefix(i),
                    i % 3
                ),
            }
        };
        route_json(&mut out, i, &matches);
    }
    out.push_str("]}}}");
    out
}

fn prefix(i: usize) -> String {
    match i % 3 {
        0 => format!("/svc{i}"),
        1 => format!("/api/v{}/svc{i}", i % 4),
        _ => format!("/team{}/app{i}/v1", i % 10),
    }
}

/// What a benchmark request must get: the route of that name, or a 404.
#[derive(Clone)]
enum Expect {
    Route(String),
    NotFound,
}

/// Request paths with the answer each must get: most hit a route (deeper than its prefix), some hit exact paths and
/// regexes, some miss. The expectations follow from how [`document`] builds route `i`.
fn requests(n: usize, rng: &mut Rng) -> Vec<(String, Expect)> {
    let route = |i: usize| Expect::Route(format!("route-{i}"));
    let is_regex = |i: usize| i < 5 && n > 5;
    (0..1000)
        .map(|_| {
            let i = rng.below(n);
            match rng.below(20) {
                0 => ("/nothing/here/at/all".to_owned(), Expect::NotFound),
                1 => {
                    let k = rng.below(5);
                    (format!("/re{k}/abc/42"), route(k))
                }
                2..=5 => {
                    let exact = !is_regex(i) && (12..=16).contains(&(i % 20));
                    (format!("/exact/{i}/item"), if exact { route(i) } else { Expect::NotFound })
                }
                _ => {
                    // the requests carry x-tenant: t1, which the header routes (17..=19) of tenant t1 match
                    let hit = !is_regex(i) && ((0..=11).contains(&(i % 20)) || (i % 20 >= 17 && i % 3 == 1));
                    (format!("{}/deeper/path?x=1", prefix(i)), if hit { route(i) } else { Expect::NotFound })
                }
            }
        })
        .collect()
}

/// Checks one decision against its expectation (rule indexes resolved once, before timing).
#[derive(Clone, Copy)]
enum Check {
    Rule(usize),
    NotFound,
}

fn checks(router: &Router, requests: &[(String, Expect)]) -> Vec<Check> {
    let index: std::collections::HashMap<&str, usize> =
        (0..).map_while(|i| router.rule(i).map(|r| (r.id.name.as_str(), i))).collect();
    requests
        .iter()
        .map(|(path, expect)| match expect {
            Expect::Route(name) => {
                Check::Rule(*index.get(name.as_str()).unwrap_or_else(|| panic!("{path}: no rule {name}")))
            }
            Expect::NotFound => Check::NotFound,
        })
        .collect()
}

/// Nanoseconds per match; every decision is checked against its expectation inside the timed loop.
fn ns_per_match(router: &Router, paths: &[String], expected: &[Check]) -> f64 {
    let headers: Vec<(String, String)> =
        vec![("x-tenant".into(), "t1".into()), ("user-agent".into(), "bench".into()), ("accept".into(), "*/*".into())];
    let rounds: u32 = 1000;
    let mut wrong = 0u64;
    let started = Instant::now();
    for round in 0..rounds {
        for (path, check) in paths.iter().zip(expected) {
            let request = Request {
                socket: "a0",
                host: "bench.example.com",
                url: path,
                method: "GET",
                headers: &headers,
                random: u64::from(round),
            };
            let right = match (router.route(black_box(&request)), check) {
                (Decision::Forward(f), Check::Rule(rule)) => f.rule == *rule,
                (Decision::Refuse(r), Check::NotFound) => r.status == 404,
                _ => false,
            };
            wrong += u64::from(!right);
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(wrong, 0, "{wrong} of {} decisions were wrong", u64::from(rounds) * paths.len() as u64);
    let per_round = f64::from(u32::try_from(paths.len()).unwrap_or(u32::MAX));
    elapsed.as_secs_f64() * 1e9 / (f64::from(rounds) * per_round)
}

/// The time to load `n` routes from a file as a reload does (read, parse, validate, compile), best and median of 7.
fn load_ms(n: usize) -> (f64, f64) {
    let text = document(n);
    let file = std::env::temp_dir().join(format!("ghost-bench-{}-{n}.json", std::process::id()));
    std::fs::write(&file, &text).expect("writes the benchmark document");
    let mut timings: Vec<f64> = (0..7)
        .map(|_| {
            let started = Instant::now();
            let read = std::fs::read_to_string(&file).expect("reads the benchmark document");
            let (loaded, _) = Router::from_json(black_box(&read)).expect("loads");
            let ms = started.elapsed().as_secs_f64() * 1e3;
            assert!(loaded.rule(n - 1).is_some(), "every route compiled");
            drop(black_box(loaded));
            ms
        })
        .collect();
    let _ = std::fs::remove_file(&file);
    timings.sort_by(f64::total_cmp);
    (timings[0], timings[timings.len() / 2])
}

/// A router of `n` routes, the benchmark's request paths and what each must get.
fn prepared(n: usize, rng: &mut Rng) -> (Router, Vec<String>, Vec<Check>) {
    let text = document(n);
    let (router, report) = Router::from_json(&text).expect("benchmark document loads");
    assert!(report.skipped.is_empty(), "benchmark document skipped routes: {:?}", report.skipped);
    let requests = requests(n, rng);
    let expected = checks(&router, &requests);
    let paths: Vec<String> = requests.into_iter().map(|(path, _)| path).collect();
    (router, paths, expected)
}

/// The best of 5 trials of the match cost, in ns per match: other processes on the machine only ever make a trial
/// slower.
fn best_ns(router: &Router, paths: &[String], expected: &[Check]) -> f64 {
    (0..5).map(|_| ns_per_match(router, paths, expected)).fold(f64::INFINITY, f64::min)
}

/// `GHOST_BENCH_SIZES`: each size's match cost and load time, then one JSON line of them all.
fn sweep(sizes: &str) {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut rows = Vec::new();
    for n in sizes.split(',').map(|s| s.trim().parse::<usize>().expect("GHOST_BENCH_SIZES: route counts")) {
        let (router, paths, expected) = prepared(n, &mut rng);
        let ns = best_ns(&router, &paths, &expected);
        let (best, median) = load_ms(n);
        println!("  {n:>6} routes: {ns:8.1} ns/match, load {best:.1} ms (best of 7; median {median:.1} ms)");
        rows.push(format!(r#"{{"routes":{n},"matchNs":{ns:.1},"loadMs":{best:.2},"loadMedianMs":{median:.2}}}"#));
    }
    println!("[{}]", rows.join(","));
}

/// `n` vhosts `h<i>.example` of one route each, all to one backend group of `pods` endpoints, as ghost.json's
/// `vhosts` object's members (no braces).
fn shared_vhosts(n: usize, pods: usize) -> String {
    let endpoints: Vec<String> =
        (0..pods).map(|p| format!(r#"{{"address": "10.2.{}.{}", "port": 8080}}"#, p >> 8, p & 255)).collect();
    let endpoints = endpoints.join(",");
    let vhosts: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#""h{i}.example": {{"routes": [{{"id": {{"namespace": "ns", "name": "r{i}", "rule": 0}},
  "created": "2026-01-01T00:00:00Z", "listeners": ["http"],
  "backends": [{{"name": "ns/shared:80", "endpoints": [{endpoints}]}}]}}]}}"#
            )
        })
        .collect();
    vhosts.join(",")
}

/// `n` vhosts `h<i>.example` of one route each naming the `backends` entry `ns/shared:80` (version 2).
fn keyed_vhosts(n: usize) -> String {
    let vhosts: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#""h{i}.example": {{"routes": [{{"id": {{"namespace": "ns", "name": "r{i}", "rule": 0}},
  "created": "2026-01-01T00:00:00Z", "listeners": ["http"],
  "backends": [{{"name": "ns/shared:80", "backend": "ns/shared:80"}}]}}]}}"#
            )
        })
        .collect();
    vhosts.join(",")
}

/// The `backends` table member of the shared Service port with `pods` endpoints.
fn shared_entry(pods: usize) -> String {
    let endpoints: Vec<String> =
        (0..pods).map(|p| format!(r#"{{"address": "10.2.{}.{}", "port": 8080}}"#, p >> 8, p & 255)).collect();
    format!(r#""ns/shared:80": {{"endpoints": [{}]}}"#, endpoints.join(","))
}

/// Best and median of 5 trials of cloning `router` and applying `delta`, checking that `endpoints` are live after.
fn apply_ms(router: &Router, delta: &str, endpoints: usize) -> (f64, f64) {
    let mut timings: Vec<f64> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let (applied, report) = router.clone().apply_json(black_box(delta)).expect("the delta applies");
            let ms = started.elapsed().as_secs_f64() * 1e3;
            assert_eq!(report.endpoints, endpoints, "the new pod is live");
            drop(black_box(applied));
            ms
        })
        .collect();
    timings.sort_by(f64::total_cmp);
    (timings[0], timings[timings.len() / 2])
}

/// `GHOST_BENCH_SHARED`: per vhost count, the time to apply the delta of one pod added to the one shared Service port.
fn shared(sizes: &str) {
    let mut rows = Vec::new();
    for n in sizes.split(',').map(|s| s.trim().parse::<usize>().expect("GHOST_BENCH_SHARED: vhost counts")) {
        let document = format!(r#"{{"version": 1, "vhosts": {{{}}}}}"#, shared_vhosts(n, 10));
        let delta = format!(r#"{{"version": 1, "vhosts": {{{}}}}}"#, shared_vhosts(n, 11));
        let (router, report) = Router::from_json(&document).expect("the shared document loads");
        assert_eq!(report.vhosts, n, "every vhost served");
        let (best, median) = apply_ms(&router, &delta, 11);
        println!(
            "  {n:>6} vhosts on one Service port: a {} KiB delta applies in {best:.1} ms (best of 5; median {median:.1} ms)",
            delta.len() / 1024
        );
        let keyed =
            format!(r#"{{"version": 2, "backends": {{{}}}, "vhosts": {{{}}}}}"#, shared_entry(10), keyed_vhosts(n));
        let entry_delta = format!(r#"{{"version": 2, "backends": {{{}}}}}"#, shared_entry(11));
        let (router, report) = Router::from_json(&keyed).expect("the version 2 document loads");
        assert_eq!(report.vhosts, n, "every vhost served");
        let (keyed_best, keyed_median) = apply_ms(&router, &entry_delta, 11);
        println!(
            "  {n:>6} vhosts naming one backends entry (version 2): a {} B delta applies in {keyed_best:.2} ms (best of 5; median {keyed_median:.2} ms)",
            entry_delta.len()
        );
        rows.push(format!(
            r#"{{"vhosts":{n},"deltaBytes":{},"applyMs":{best:.2},"applyMedianMs":{median:.2},"v2DeltaBytes":{},"v2ApplyMs":{keyed_best:.3},"v2ApplyMedianMs":{keyed_median:.3}}}"#,
            delta.len(),
            entry_delta.len()
        ));
    }
    println!("[{}]", rows.join(","));
}

/// `n` vhosts `v<i>.example` of one route each, each to a Service of its own with one endpoint (`pods` for the
/// first), as ghost.json's `vhosts` object's members (no braces).
fn distinct_vhosts(range: std::ops::Range<usize>, pods: usize) -> String {
    let vhosts: Vec<String> = range
        .map(|i| {
            let count = if i == 0 { pods } else { 1 };
            let endpoints: Vec<String> = (0..count)
                .map(|p| format!(r#"{{"address": "10.{}.{}.{}", "port": {}}}"#, (i >> 16) & 255, (i >> 8) & 255, i & 255, 8080 + p))
                .collect();
            format!(
                r#""v{i}.example": {{"routes": [{{"id": {{"namespace": "ns{ns}", "name": "r{i}", "rule": 0}},
  "created": "2026-01-01T00:00:00Z", "listeners": ["http"], "matches": [{{"path": {{"type": "PathPrefix", "value": "/app{i}"}}}}],
  "backends": [{{"name": "ns/svc-{i}:80", "endpoints": [{}]}}]}}]}}"#,
                endpoints.join(","),
                ns = i % 7,
            )
        })
        .collect();
    vhosts.join(",")
}

/// `GHOST_BENCH_ONE`: per vhost count, the time to clone the router and apply a delta naming one vhost (a pod added
/// to its Service), and the time of the clone alone.
fn one_vhost(sizes: &str) {
    let mut rows = Vec::new();
    for n in sizes.split(',').map(|s| s.trim().parse::<usize>().expect("GHOST_BENCH_ONE: vhost counts")) {
        let document = format!(r#"{{"version": 1, "vhosts": {{{}}}}}"#, distinct_vhosts(0..n, 1));
        let delta = format!(r#"{{"version": 1, "vhosts": {{{}}}}}"#, distinct_vhosts(0..1, 2));
        let (router, report) = Router::from_json(&document).expect("the document loads");
        assert_eq!(report.vhosts, n, "every vhost served");
        let best_median = |mut timings: Vec<f64>| {
            timings.sort_by(f64::total_cmp);
            (timings[0], timings[timings.len() / 2])
        };
        let (best, median) = best_median(
            (0..9)
                .map(|_| {
                    let started = Instant::now();
                    let (applied, report) = router.clone().apply_json(black_box(&delta)).expect("the delta applies");
                    let ms = started.elapsed().as_secs_f64() * 1e3;
                    assert_eq!(report.endpoints, n + 1, "the new pod is live");
                    drop(black_box(applied));
                    ms
                })
                .collect(),
        );
        let (clone_best, _) = best_median(
            (0..9)
                .map(|_| {
                    let started = Instant::now();
                    let copy = black_box(router.clone());
                    let ms = started.elapsed().as_secs_f64() * 1e3;
                    drop(copy);
                    ms
                })
                .collect(),
        );
        println!(
            "  {n:>6} vhosts: a delta naming one applies in {best:.2} ms (best of 9; median {median:.2} ms), of which the clone {clone_best:.2} ms"
        );
        rows.push(format!(
            r#"{{"vhosts":{n},"applyMs":{best:.3},"applyMedianMs":{median:.3},"cloneMs":{clone_best:.3}}}"#
        ));
    }
    println!("[{}]", rows.join(","));
}

fn main() {
    if let Ok(sizes) = std::env::var("GHOST_BENCH_ONE") {
        one_vhost(&sizes);
        return;
    }
    if let Ok(sizes) = std::env::var("GHOST_BENCH_SHARED") {
        shared(&sizes);
        return;
    }
    if let Ok(sizes) = std::env::var("GHOST_BENCH_SIZES") {
        sweep(&sizes);
        return;
    }
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    println!("ghost-core routing benchmark (one vhost, mixed prefixes/exact/header/regex routes)");
    let mut results = Vec::new();
    for n in [10, 1_000, 10_000] {
        let (router, paths, expected) = prepared(n, &mut rng);
        let ns = best_ns(&router, &paths, &expected);
        println!("  {n:>6} routes: {ns:8.1} ns/match");
        if std::env::var("GHOST_BENCH_DETAIL").is_ok() {
            for (i, p) in paths.iter().enumerate().take(5) {
                println!("      {p}: {:.1}", ns_per_match(&router, &paths[i..=i], &expected[i..=i]));
            }
        }
        results.push((n, ns));
    }
    let ratio = results[2].1 / results[0].1;
    println!("  ratio 10,000/10: {ratio:.2}");

    // As a reload does: read the file, parse, validate and compile it. The VMOD's native backends and the control
    // request come on top (GET /.varnish-ghost/reload inside varnishd); this measures ghost-core's share.
    let (reload_ms, median_ms) = load_ms(10_000);
    println!(
        "  load of 10,000 routes from a {} KiB file (read, parse, compile): {reload_ms:.1} ms (best of 7; median {median_ms:.1} ms)",
        document(10_000).len() / 1024
    );

    if std::env::var("GHOST_BENCH_DETAIL").is_ok() {
        let text = document(10_000);
        let started = Instant::now();
        let loaded = ghost_core::load(&text).expect("loads");
        println!("      parse + validate: {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        black_box(Router::build(loaded.doc));
        println!("      compile: {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        black_box(serde_json::from_str::<serde_json::Value>(&text).expect("json"));
        println!("      serde_json::Value parse alone: {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
    }
    let at_1000 = results[1].1;
    let ok_match = at_1000 <= 1000.0;
    let ok_reload = reload_ms <= 50.0;
    println!(
        "  targets: match at 1,000 routes <= 1000 ns: {}; reload <= 50 ms: {}",
        if ok_match { "met" } else { "MISSED" },
        if ok_reload { "met" } else { "MISSED" }
    );
}
