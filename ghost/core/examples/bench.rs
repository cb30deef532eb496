//! `deno task bench:ghost`: ns per match with 10, 1,000 and 10,000 routes in one vhost (mixed prefixes, exact
//! paths, header matches and a few regexes), each decision checked inside the timed loop, the 10,000/10 ratio, and
//! the time to load a 10,000-route document from its file (read, parse, validate, compile: ghost-core's share of a
//! reload; the VMOD's native backends and the control request come on top).
//! Targets: at most 1 µs per match at 1,000 routes, reload of 10,000 routes within 50 ms.
//!
//! `GHOST_BENCH_SIZES` (for example `100,1000,5000,20000,50000`) measures the match cost and the load time at those
//! route counts instead, and prints them as one JSON line last (`deno task bench` puts them in its report).

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

fn main() {
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
