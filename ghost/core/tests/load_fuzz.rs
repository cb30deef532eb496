//! Bad input never panics: arbitrary JSON values, arbitrary strings, and byte mutations of real documents all load
//! or fail with an error, and whatever loads can route requests.

use std::fs;
use std::path::PathBuf;

use ghost_core::{Request, Router};
use proptest::prelude::*;

mod common;
use common::config;

fn route_some_requests(router: &Router) {
    let headers: Vec<(String, String)> =
        vec![("x-canary".into(), "yes".into()), ("user-agent".into(), "Mobile".into())];
    for (host, url, method) in [
        ("api.example.com", "/v2/items/7?debug=1&region=eu-west", "POST"),
        ("x.shop.example.com:8080", "/old/a", "GET"),
        ("[::1]:80", "/", "HEAD"),
        ("", "", ""),
        ("a.example.com", "*", "OPTIONS"),
    ] {
        for socket in ["port-80", "port-443", "a0"] {
            for random in [0, 1, u64::MAX] {
                let _ = router.route(&Request { socket, host, url, method, headers: &headers, random });
            }
        }
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
        prop_oneof![
            Just("/".to_owned()),
            Just("version".to_owned()),
            Just("vhosts".to_owned()),
            Just("routes".to_owned()),
            Just("*".to_owned()),
            "[a-z*./(]{0,12}",
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("version".to_owned()),
                    Just("vhosts".to_owned()),
                    Just("routes".to_owned()),
                    Just("listeners".to_owned()),
                    Just("matches".to_owned()),
                    Just("backends".to_owned()),
                    "[a-z]{1,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_json_values_never_panic(value in json_value()) {
        if let Ok((router, _)) = Router::from_json(&value.to_string()) {
            route_some_requests(&router);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = Router::from_json(&text);
    }
}

#[test]
fn byte_mutations_of_real_documents_never_panic() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let seeds = [
        root.join("../contract/testdata/ghost/valid/every_field.json"),
        root.join("testdata/route/redirects.ghost.json"),
        root.join("testdata/route/listener_isolation.ghost.json"),
    ];
    let alphabet = b"{}[]\",:0123456789-./*abcxyzAZ \\n\x00\xff";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut loaded = 0;
    for seed in seeds {
        let original = fs::read(&seed).unwrap();
        for _ in 0..config(3000).cases {
            let mut bytes = original.clone();
            for _ in 0..=(next() % 4) {
                let at = usize::try_from(next() % bytes.len() as u64).unwrap();
                let byte = alphabet[usize::try_from(next() % alphabet.len() as u64).unwrap()];
                match next() % 3 {
                    0 => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            if let Ok((router, _)) = Router::from_json(&text) {
                loaded += 1;
                route_some_requests(&router);
            }
        }
    }
    assert!(loaded > 0, "no mutation loaded at all; the loop tests nothing");
}
