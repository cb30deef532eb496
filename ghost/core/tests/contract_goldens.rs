//! The shared contract goldens of `ghost/contract/testdata/ghost/` and `ghost/contract/testdata/ghost-delta/` (see
//! the README there) and every ghost.json that chaperone's merge goldens produce: the serde types must agree with
//! the zod schemas.

use std::fs;
use std::path::{Path, PathBuf};

use ghost_core::contract::GhostJson;
use ghost_core::{load, load_delta, Error, Report, Router};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn json_files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(suffix)))
        .collect();
    files.sort();
    files
}

#[test]
fn valid_goldens_round_trip_to_their_parsed_form() {
    let dir = repo_root().join("ghost/contract/testdata/ghost/valid");
    let inputs: Vec<PathBuf> =
        json_files(&dir, ".json").into_iter().filter(|p| !p.to_string_lossy().ends_with(".parsed.json")).collect();
    assert!(!inputs.is_empty(), "no goldens found in {}", dir.display());
    for input in inputs {
        let text = fs::read_to_string(&input).unwrap();
        let loaded = load(&text).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
        assert!(loaded.skipped.is_empty(), "{}: skipped {:?}", input.display(), loaded.skipped);
        let strict: GhostJson = serde_json::from_str(&text).unwrap();
        assert_eq!(strict, loaded.doc, "{}: load() and plain serde disagree", input.display());
        let parsed_path = input.with_extension("parsed.json");
        let want: serde_json::Value = serde_json::from_str(&fs::read_to_string(&parsed_path).unwrap()).unwrap();
        let got = serde_json::to_value(&loaded.doc).unwrap();
        assert_eq!(got, want, "{}: re-serialized document differs from {}", input.display(), parsed_path.display());
        let (_, report) = Router::from_json(&text).unwrap();
        assert!(report.skipped.is_empty(), "{}: router skipped {:?}", input.display(), report.skipped);
    }
}

#[test]
fn invalid_goldens_are_rejected_or_their_route_skipped_or_served_uncached() {
    check_invalid_goldens("ghost", |text| Router::from_json(text).map(|(_, report)| report));
}

#[test]
fn valid_delta_goldens_round_trip_to_their_parsed_form_and_apply() {
    let dir = repo_root().join("ghost/contract/testdata/ghost-delta/valid");
    let inputs: Vec<PathBuf> =
        json_files(&dir, ".json").into_iter().filter(|p| !p.to_string_lossy().ends_with(".parsed.json")).collect();
    assert!(!inputs.is_empty(), "no goldens found in {}", dir.display());
    for input in inputs {
        let text = fs::read_to_string(&input).unwrap();
        let delta = load_delta(&text).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
        let skipped: Vec<_> = delta.skipped.values().flatten().collect();
        assert!(skipped.is_empty(), "{}: skipped {skipped:?}", input.display());
        let parsed_path = input.with_extension("parsed.json");
        let want: serde_json::Value = serde_json::from_str(&fs::read_to_string(&parsed_path).unwrap()).unwrap();
        // A delta has no type of its own to serialize: its version is the one load_delta checked.
        let version = serde_json::from_str::<serde_json::Value>(&text).unwrap()["version"].clone();
        let mut got = serde_json::json!({ "version": version, "vhosts": delta.vhosts });
        if !delta.backends.is_empty() {
            got["backends"] = serde_json::json!(delta.backends);
        }
        assert_eq!(got, want, "{}: re-serialized delta differs from {}", input.display(), parsed_path.display());
        let (_, report) = Router::default().apply_json(&text).unwrap();
        assert!(report.skipped.is_empty(), "{}: router skipped {:?}", input.display(), report.skipped);
    }
}

#[test]
fn invalid_delta_goldens_are_rejected_or_their_route_skipped() {
    check_invalid_goldens("ghost-delta", |text| Router::default().apply_json(text).map(|(_, report)| report));
}

/// Every `ghost/contract/testdata/<format>/invalid/` golden must be rejected by `parse` at (a prefix of) the path
/// its `.error.json` names, or accepted with that path (or a prefix) skipped, or served uncached when only its cache
/// settings cannot be built.
fn check_invalid_goldens(format: &str, parse: impl Fn(&str) -> Result<Report, Error>) {
    let dir = repo_root().join("ghost/contract/testdata").join(format).join("invalid");
    let inputs: Vec<PathBuf> =
        json_files(&dir, ".json").into_iter().filter(|p| !p.to_string_lossy().ends_with(".error.json")).collect();
    assert!(!inputs.is_empty(), "no goldens found in {}", dir.display());
    let mut failures = Vec::new();
    for input in inputs {
        let text = fs::read_to_string(&input).unwrap();
        let error: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(input.with_extension("error.json")).unwrap()).unwrap();
        let want_path = error["path"].as_str().unwrap().to_owned();
        match parse(&text) {
            Err(err) => {
                if !want_path.starts_with(err.path()) {
                    failures.push(format!(
                        "{}: rejected at {} but the problem is at {want_path}",
                        input.display(),
                        err.path()
                    ));
                }
            }
            Ok(report) => {
                // Cache settings ghost cannot build leave the route served without caching, reported in `uncached`.
                if !report.skipped.iter().chain(&report.uncached).any(|s| want_path.starts_with(&s.path)) {
                    failures.push(format!(
                        "{}: accepted; skipped {:?}, uncached {:?}, expected {want_path}",
                        input.display(),
                        report.skipped,
                        report.uncached
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn chaperone_merge_goldens_deserialize_strictly() {
    for file in json_files(&repo_root().join("chaperone/testdata/merge"), ".ghost.json") {
        let text = fs::read_to_string(&file).unwrap();
        let loaded = load(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(loaded.skipped.is_empty(), "{}: skipped {:?}", file.display(), loaded.skipped);
    }
}

#[test]
fn route_goldens_deserialize_strictly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/route");
    for file in json_files(&dir, ".ghost.json") {
        let text = fs::read_to_string(&file).unwrap();
        serde_json::from_str::<GhostJson>(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
}
