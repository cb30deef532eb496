//! Property tests of request matching: path normalisation invariants, the router's choice against a small reference
//! model of the precedence rules, and no panic whatever the method, host, path, query and headers. The case counts are
//! sized for CI (a few seconds); `GHOST_FUZZ_CASES=<n>` runs each property `n` times instead (see `ghost/README.md`).

use std::collections::BTreeMap;

use ghost_core::contract::EscapedSlashes;
use ghost_core::path::{normalize_path, PathCheck};
use ghost_core::{Decision, Request, Router};
use proptest::prelude::*;

mod common;
use common::config;

const POLICIES: [EscapedSlashes; 4] = [
    EscapedSlashes::Reject,
    EscapedSlashes::UnescapeAndRedirect,
    EscapedSlashes::UnescapeAndForward,
    EscapedSlashes::KeepUnchanged,
];

/// Paths made of the pieces normalisation cares about, and now and then anything at all.
fn raw_path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("/"),
        Just("."),
        Just(".."),
        Just("a"),
        Just("admin"),
        Just(";x"),
        Just("%2e"),
        Just("%2E"),
        Just("%2f"),
        Just("%5C"),
        Just("\\"),
        Just("%41"),
        Just("%7e"),
        Just("%25"),
        Just("%zz"),
        Just("%"),
        Just("é"),
        Just("%C3%A9"),
    ];
    prop_oneof![
        4 => prop::collection::vec(piece, 0..12).prop_map(|p| format!("/{}", p.concat())),
        1 => "\\PC{0,40}",
    ]
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// What a normalised path must look like: absolute, no empty or dot segment (a trailing slash aside), escapes upper
/// case and only for what is not unreserved.
fn check_normal(path: &str, original: &str) -> Result<(), TestCaseError> {
    prop_assert!(path.starts_with('/'), "{original:?} -> {path:?}");
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, segment) in segments.iter().enumerate() {
        let name = segment.split(';').next().unwrap_or(segment);
        prop_assert!(name != "." && name != "..", "{original:?} -> {path:?}: dot segment");
        prop_assert!(!segment.is_empty() || i + 1 == segments.len(), "{original:?} -> {path:?}: empty segment");
    }
    let bytes = path.as_bytes();
    for (i, _) in path.match_indices('%') {
        let escape = &bytes[i + 1..(i + 3).min(bytes.len())];
        prop_assert!(escape.len() == 2, "{original:?} -> {path:?}: cut escape");
        prop_assert!(escape.iter().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b)), "{path:?}: lower case");
        let value = u8::from_str_radix(std::str::from_utf8(escape).unwrap(), 16).unwrap();
        prop_assert!(!is_unreserved(value), "{original:?} -> {path:?}: escaped unreserved character");
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(1024))]

    /// A normalised path is normal, normalising it again changes nothing, and the path matched is the one sent
    /// without segment parameters; what is refused is malformed or (under Reject) holds an escaped separator.
    #[test]
    fn normalisation_yields_fixed_points(path in raw_path(), policy in 0..POLICIES.len()) {
        let policy = POLICIES[policy];
        if !path.starts_with('/') {
            let PathCheck::Use(n) = normalize_path(&path, policy) else { panic!("{path:?} is not a path: kept") };
            prop_assert_eq!(n.target.as_ref(), path.as_str());
            return Ok(());
        }
        match normalize_path(&path, policy) {
            PathCheck::Use(n) => {
                check_normal(&n.target, &path)?;
                prop_assert!(!n.matching.contains(';'));
                prop_assert_eq!(n.matching.as_ref(), n.target.split('/').map(|s| s.split(';').next().unwrap_or(s)).collect::<Vec<_>>().join("/"));
                let PathCheck::Use(again) = normalize_path(&n.target, policy) else { panic!("{path:?}: not stable") };
                prop_assert_eq!(again.target.as_ref(), n.target.as_ref(), "{:?}", path);
                prop_assert!(!again.changed(&n.target));
                if policy != EscapedSlashes::KeepUnchanged {
                    prop_assert!(!n.target.contains('\\') && !n.target.contains("%2F") && !n.target.contains("%5C"));
                }
            }
            PathCheck::Redirect(location) => {
                prop_assert_eq!(policy, EscapedSlashes::UnescapeAndRedirect);
                check_normal(&location, &path)?;
                let PathCheck::Use(again) = normalize_path(&location, policy) else { panic!("{path:?}: redirect loops") };
                prop_assert_eq!(again.target.as_ref(), location.as_str());
            }
            PathCheck::Reject(_) => {
                let lower = path.to_ascii_lowercase();
                let malformed = lower.match_indices('%').any(|(i, _)| {
                    lower.get(i + 1..i + 3).is_none_or(|h| !h.bytes().all(|b| b.is_ascii_hexdigit()))
                });
                let separator = lower.contains("%2f") || lower.contains("%5c") || lower.contains('\\');
                prop_assert!(malformed || (policy == EscapedSlashes::Reject && separator), "{path:?} refused");
            }
        }
    }
}

/// One match of a generated route.
#[derive(Debug, Clone)]
struct GenMatch {
    kind: &'static str,
    value: &'static str,
    method: Option<&'static str>,
    headers: Vec<(&'static str, &'static str)>,
    query: Vec<(&'static str, &'static str)>,
}

/// A generated route: one rule with its matches.
#[derive(Debug, Clone)]
struct GenRoute {
    name: String,
    created: u8,
    matches: Vec<GenMatch>,
}

const PATH_VALUES: [&str; 7] = ["/", "/a", "/a/", "/a/b", "/b", "/a/b/c", "/ab"];
const REGEXES: [&str; 4] = ["/a.*", "/[ab]+", ".*b", "/a/b/c"];

fn gen_match() -> impl Strategy<Value = GenMatch> {
    let path = prop_oneof![
        3 => (0..PATH_VALUES.len()).prop_map(|i| ("PathPrefix", PATH_VALUES[i])),
        2 => (0..PATH_VALUES.len()).prop_map(|i| ("Exact", PATH_VALUES[i])),
        1 => (0..REGEXES.len()).prop_map(|i| ("RegularExpression", REGEXES[i])),
    ];
    let method = prop::option::of(prop_oneof![Just("GET"), Just("POST")]);
    let header = (prop_oneof![Just("x-a"), Just("x-b")], prop_oneof![Just("1"), Just("2")]);
    let query = (prop_oneof![Just("q"), Just("r")], prop_oneof![Just("1"), Just("2")]);
    (path, method, prop::collection::vec(header, 0..3), prop::collection::vec(query, 0..2)).prop_map(
        |((kind, value), method, mut headers, mut query)| {
            // One condition per name, as the operator writes them.
            headers.sort_unstable();
            headers.dedup_by_key(|h| h.0);
            query.sort_unstable();
            query.dedup_by_key(|q| q.0);
            GenMatch { kind, value, method, headers, query }
        },
    )
}

fn gen_routes() -> impl Strategy<Value = Vec<GenRoute>> {
    prop::collection::vec((0..3u8, prop::collection::vec(gen_match(), 1..3)), 1..8).prop_map(|routes| {
        routes
            .into_iter()
            .enumerate()
            // Names in reverse creation order, so that age and name disagree.
            .map(|(i, (created, matches))| GenRoute { name: format!("r{}", 9 - i), created, matches })
            .collect()
    })
}

fn document(routes: &[GenRoute]) -> String {
    let route = |r: &GenRoute| {
        let matches: Vec<serde_json::Value> = r
            .matches
            .iter()
            .map(|m| {
                let mut v = serde_json::json!({
                    "path": {"type": m.kind, "value": m.value},
                    "headers": m.headers.iter().map(|(n, v)| serde_json::json!({"name": n, "value": v})).collect::<Vec<_>>(),
                    "queryParams": m.query.iter().map(|(n, v)| serde_json::json!({"name": n, "value": v})).collect::<Vec<_>>(),
                });
                if let Some(method) = m.method {
                    v["method"] = method.into();
                }
                v
            })
            .collect();
        serde_json::json!({
            "id": {"namespace": "ns", "name": r.name, "rule": 0},
            "created": format!("2026-01-0{}T00:00:00Z", r.created + 1),
            "listeners": ["web"],
            "matches": matches,
            "backends": [{"name": format!("ns/{}:80", r.name), "endpoints": [{"address": "10.0.0.1", "port": 80}]}],
        })
    };
    serde_json::json!({"version": 1, "vhosts": {"*": {"routes": routes.iter().map(route).collect::<Vec<_>>()}}})
        .to_string()
}

thread_local! {
    /// [`REGEXES`] compiled once, with the `regex` crate alone.
    static REGEX_MODELS: Vec<regex::Regex> =
        REGEXES.iter().map(|r| regex::Regex::new(&format!("^(?:{r})$")).unwrap()).collect();
}

/// The reference model: every match that holds, ranked by the Gateway API order, spelled out.
fn reference_pick<'r>(
    routes: &'r [GenRoute],
    method: &str,
    path: &str,
    headers: &[(String, String)],
    query: &[(String, String)],
) -> Option<&'r GenRoute> {
    let holds = |m: &GenMatch| -> Option<(u8, usize)> {
        let path_rank = match m.kind {
            "Exact" => (path == m.value).then_some((2, m.value.len()))?,
            "PathPrefix" => {
                let prefix = m.value.trim_end_matches('/');
                let ok = prefix.is_empty() || path == prefix || path.starts_with(&format!("{prefix}/"));
                ok.then_some((1, prefix.len()))?
            }
            _ => REGEX_MODELS
                .with(|models| {
                    let index = REGEXES.iter().position(|r| *r == m.value).unwrap();
                    models[index].is_match(path)
                })
                .then_some((0, 0))?,
        };
        let method_ok = m.method.is_none_or(|x| x == method);
        let headers_ok = m
            .headers
            .iter()
            .all(|(n, v)| headers.iter().find(|(hn, _)| hn.eq_ignore_ascii_case(n)).is_some_and(|(_, hv)| hv == v));
        let query_ok = m.query.iter().all(|(n, v)| query.iter().find(|(qn, _)| qn == n).is_some_and(|(_, qv)| qv == v));
        (method_ok && headers_ok && query_ok).then_some(path_rank)
    };
    routes
        .iter()
        .flat_map(|r| r.matches.iter().filter_map(move |m| holds(m).map(|rank| (r, m, rank))))
        .max_by(|(ra, ma, a), (rb, mb, b)| {
            a.cmp(b)
                .then(ma.method.is_some().cmp(&mb.method.is_some()))
                .then(ma.headers.len().cmp(&mb.headers.len()))
                .then(ma.query.len().cmp(&mb.query.len()))
                // Older wins, then the smaller name: reversed, since the maximum wins.
                .then(rb.created.cmp(&ra.created))
                .then(rb.name.cmp(&ra.name))
        })
        .map(|(r, _, _)| r)
}

/// Name-value pairs: headers or query parameters.
type Pairs = Vec<(String, String)>;

/// Method, path, headers and query parameters of a request.
fn request_parts() -> impl Strategy<Value = (String, String, Pairs, Pairs)> {
    let segment = prop_oneof![Just("a"), Just("b"), Just("c"), Just("ab")];
    let path = prop::collection::vec(segment, 0..4).prop_map(|s| format!("/{}", s.join("/")));
    let trailing = any::<bool>();
    let header = (prop_oneof![Just("x-a"), Just("X-B"), Just("x-c")], prop_oneof![Just("1"), Just("2")]);
    let query = (prop_oneof![Just("q"), Just("r")], prop_oneof![Just("1"), Just("2")]);
    (
        prop_oneof![Just("GET"), Just("POST"), Just("PUT")],
        (path, trailing).prop_map(|(p, t)| if t && p != "/" { format!("{p}/") } else { p }),
        prop::collection::vec(header, 0..3),
        prop::collection::vec(query, 0..3),
    )
        .prop_map(|(m, p, h, q)| {
            let pairs = |v: Vec<(&str, &str)>| v.into_iter().map(|(a, b)| (a.to_owned(), b.to_owned())).collect();
            (m.to_owned(), p, pairs(h), pairs(q))
        })
}

proptest! {
    #![proptest_config(config(128))]

    /// The router forwards to the rule the reference model ranks first, and refuses with 404 when it ranks none.
    #[test]
    fn the_router_picks_what_the_reference_model_ranks_first(
        routes in gen_routes(),
        requests in prop::collection::vec(request_parts(), 1..12),
    ) {
        let (router, report) = Router::from_json(&document(&routes)).unwrap();
        prop_assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        for (method, path, headers, query) in &requests {
            // The first occurrence of a query parameter counts, in the model as in the router.
            let query_text: Vec<String> = query.iter().map(|(n, v)| format!("{n}={v}")).collect();
            let url = if query.is_empty() { path.clone() } else { format!("{path}?{}", query_text.join("&")) };
            let req = Request { socket: "a0", host: "h.example", url: &url, method, headers, random: 0 };
            let picked = match router.route(&req) {
                Decision::Forward(f) => Some(router.rule(f.rule).unwrap().id.name.clone()),
                Decision::Refuse(r) if r.status == 404 => None,
                other => panic!("{other:?}"),
            };
            let expected = reference_pick(&routes, method, path, headers, query).map(|r| r.name.clone());
            prop_assert_eq!(picked, expected, "{} {}", method, url);
        }
    }

    /// A valid document loads whole, and what it loads serialises to a document that loads the same.
    #[test]
    fn valid_documents_round_trip(routes in gen_routes()) {
        let loaded = ghost_core::load(&document(&routes)).unwrap();
        prop_assert!(loaded.skipped.is_empty());
        prop_assert_eq!(loaded.doc.vhosts["*"].routes.len(), routes.len());
        let again = ghost_core::load(&serde_json::to_string(&loaded.doc).unwrap()).unwrap();
        prop_assert_eq!(again, loaded);
    }

    /// Whatever the request, the router answers, and what it answers points at things that exist.
    #[test]
    fn arbitrary_requests_never_panic(
        routes in gen_routes(),
        method in "\\PC{0,8}",
        host in prop_oneof![Just("[::1]:80".to_owned()), Just("H.Example.:8080".to_owned()), "\\PC{0,16}"],
        url in prop_oneof![raw_path(), "\\PC{0,40}", (raw_path(), "\\PC{0,20}").prop_map(|(p, q)| format!("{p}?{q}"))],
        headers in prop::collection::vec(("\\PC{0,6}", "\\PC{0,12}"), 0..4),
        random in any::<u64>(),
    ) {
        let (router, _) = Router::from_json(&document(&routes)).unwrap();
        let req = Request { socket: "a0", host: &host, url: &url, method: &method, headers: &headers, random };
        check_decision(&router, &router.route(&req))?;
    }
}

/// What any decision must satisfy: indexes in range, statuses from the documented sets, locations absolute.
fn check_decision(router: &Router, decision: &Decision) -> Result<(), TestCaseError> {
    match decision {
        Decision::Forward(f) => {
            let rule = router.rule(f.rule);
            prop_assert!(rule.is_some_and(
                |r| f.group < r.groups.len() && router.group_endpoints(&r.groups[f.group]).contains(&f.endpoint)
            ));
            prop_assert!(f.endpoint < router.endpoints().len());
            prop_assert!(f.listener.is_none_or(|l| router.listener(l).is_some()));
            prop_assert!(f.url.as_ref().is_none_or(|u| u.starts_with('/')), "{:?}", f.url);
        }
        Decision::Redirect(r) => {
            prop_assert!([301, 302, 303, 307, 308].contains(&r.status));
            prop_assert!(r.rule.is_none_or(|i| router.rule(i).is_some()));
            prop_assert!(!r.location.is_empty());
        }
        Decision::Refuse(r) => {
            prop_assert!([400, 404, 500].contains(&r.status));
            prop_assert!(r.rule.is_none_or(|i| router.rule(i).is_some()));
        }
    }
    Ok(())
}

/// The seed corpus (`testdata/fuzz/`): documents that load must round-trip and answer every request of the corpus
/// with a sound decision; the others must fail with an error, never a panic.
#[test]
fn the_seed_corpus_replays() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let requests: Vec<BTreeMap<String, serde_json::Value>> =
        serde_json::from_str(&std::fs::read_to_string(root.join("testdata/fuzz/requests.json")).unwrap()).unwrap();
    let dirs = [
        root.join("testdata/fuzz/ghost"),
        root.join("testdata/route"),
        root.join("../contract/testdata/ghost/valid"),
        root.join("../contract/testdata/ghost/invalid"),
    ];
    let (mut loaded, mut refused) = (0, 0);
    for dir in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files.iter().filter(|f| {
            let name = f.file_name().unwrap().to_string_lossy();
            name.ends_with(".json") && !name.ends_with(".error.json")
        }) {
            let text = String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned();
            let Ok((router, _)) = Router::from_json(&text) else {
                refused += 1;
                continue;
            };
            loaded += 1;
            let doc = ghost_core::load(&text).unwrap().doc;
            let again = ghost_core::load(&serde_json::to_string(&doc).unwrap()).unwrap();
            assert_eq!(again.doc, doc, "{} does not round-trip", file.display());
            assert!(again.skipped.is_empty(), "{}: {:?}", file.display(), again.skipped);
            for r in &requests {
                let text = |k: &str| r.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
                let headers: Vec<(String, String)> = r
                    .get("headers")
                    .and_then(serde_json::Value::as_object)
                    .map(|h| h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
                    .unwrap_or_default();
                let (socket, host, url, method) = (text("socket"), text("host"), text("url"), text("method"));
                for random in [0, 7, u64::MAX] {
                    let req =
                        Request { socket: &socket, host: &host, url: &url, method: &method, headers: &headers, random };
                    check_decision(&router, &router.route(&req)).unwrap();
                }
            }
        }
    }
    assert!(loaded > 20 && refused >= 10, "the corpus holds {loaded} loading and {refused} refused documents");
}
