//! Golden route cases: `testdata/route/<case>.ghost.json` + `<case>.requests.yaml` (request → expected outcome).
//!
//! `LACQUER_UPDATE_GOLDEN=1 cargo test` rewrites the `expect` of every request; read the diff before committing.
//! Each case runs a second time with the routes of every vhost in reverse order and must decide the same.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use ghost_core::contract::GhostJson;
use ghost_core::{Decision, Request, Router};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    request: Req,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expect: Option<Outcome>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Req {
    host: String,
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    socket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    random: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Outcome {
    status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    route: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    listener: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    backend: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn outcome(router: &Router, req: &Req) -> Outcome {
    let headers: Vec<(String, String)> = req.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let request = Request {
        socket: req.socket.as_deref().unwrap_or("http"),
        host: &req.host,
        url: &req.path,
        method: req.method.as_deref().unwrap_or("GET"),
        headers: &headers,
        random: req.random.unwrap_or(0),
    };
    let label = |rule: usize| {
        let r = router.rule(rule).unwrap();
        format!("{} rule {}", r.route_name, r.id.rule)
    };
    let listener = |l: Option<usize>| l.map(|l| router.listener(l).unwrap().name.clone());
    match router.route(&request) {
        Decision::Forward(f) => Outcome {
            status: 200,
            route: Some(label(f.rule)),
            listener: listener(f.listener),
            backend: Some(router.rule(f.rule).unwrap().groups[f.group].name.clone()),
            endpoint: Some(router.endpoints()[f.endpoint].to_string()),
            url: f.url,
            host: f.host,
            location: None,
            reason: None,
        },
        Decision::Redirect(r) => Outcome {
            status: r.status,
            route: r.rule.map(label),
            listener: listener(r.listener),
            backend: None,
            endpoint: None,
            url: None,
            host: None,
            location: Some(r.location),
            reason: None,
        },
        Decision::Refuse(r) => Outcome {
            status: r.status,
            route: r.rule.map(label),
            listener: listener(r.listener),
            backend: None,
            endpoint: None,
            url: None,
            host: None,
            location: None,
            reason: Some(r.reason.into_owned()),
        },
    }
}

fn case_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".ghost.json").map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[test]
fn route_goldens_decide_as_recorded() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/route");
    let update = std::env::var("LACQUER_UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for name in case_names(&dir) {
        let text = fs::read_to_string(dir.join(format!("{name}.ghost.json"))).unwrap();
        let (router, _) = Router::from_json(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut doc: GhostJson = ghost_core::load(&text).unwrap().doc;
        for vhost in doc.vhosts.values_mut() {
            vhost.routes.reverse();
        }
        let (reversed, _) = Router::build(doc);
        let requests_path = dir.join(format!("{name}.requests.yaml"));
        let Ok(requests_text) = fs::read_to_string(&requests_path) else {
            failures.push(format!(
                "{name}: missing {}; write the requests and run with LACQUER_UPDATE_GOLDEN=1",
                requests_path.display()
            ));
            continue;
        };
        let mut cases: Vec<Case> = serde_yaml::from_str(&requests_text).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (i, case) in cases.iter_mut().enumerate() {
            let got = outcome(&router, &case.request);
            let again = outcome(&reversed, &case.request);
            if got != again {
                failures.push(format!("{name}[{i}]: route order changes the decision: {got:?} vs {again:?}"));
            }
            if update {
                case.expect = Some(got);
            } else if case.expect.as_ref() != Some(&got) {
                failures.push(format!(
                    "{name}[{i}] {} {}: expected {:?}, got {got:?} (LACQUER_UPDATE_GOLDEN=1 rewrites expectations)",
                    case.request.host, case.request.path, case.expect
                ));
            }
        }
        if update {
            fs::write(&requests_path, serde_yaml::to_string(&cases).unwrap()).unwrap();
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
