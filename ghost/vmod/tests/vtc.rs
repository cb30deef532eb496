//! Runs every `tests/*.vtc` with varnishtest against the VMOD built by this `cargo test`.
//!
//! The `.so` is copied to a world-readable temporary directory first: varnishd drops privileges to its own users
//! when started as root, and they cannot read below a private home directory. `VTC_FILTER=<substring>` runs a
//! subset; `VTC_VERBOSE=1` prints varnishtest's output for passing tests too. `VTC_RESULTS=<file>` writes one line
//! per `.vtc` file, `<name> passed|failed|skipped`, so the test command can count each file as a test of its own.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn built_vmod() -> PathBuf {
    // <target>/<profile>/deps/vtc-<hash> → <target>/<profile>/libvmod_ghost.so
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let so = profile_dir.join("libvmod_ghost.so");
    assert!(so.exists(), "{} is missing; build the vmod first (cargo build -p vmod_ghost)", so.display());
    so
}

/// The TLS and H2C echo servers of `examples/transport_echo.rs`, built beside this test by `cargo test`.
fn transport_echo() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().join("examples/transport_echo")
}

#[test]
fn varnishtest_suite_passes() {
    let tests_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let filter = std::env::var("VTC_FILTER").unwrap_or_default();
    let mut files: Vec<PathBuf> = fs::read_dir(&tests_dir)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "vtc"))
        .filter(|p| p.to_string_lossy().contains(&filter))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .vtc files in {}", tests_dir.display());

    let stage = std::env::temp_dir().join(format!("ghost-vtc-{}", std::process::id()));
    fs::create_dir_all(&stage).unwrap();
    fs::set_permissions(&stage, fs::Permissions::from_mode(0o755)).unwrap();
    let so = stage.join("libvmod_ghost.so");
    fs::copy(built_vmod(), &so).unwrap();
    let vcl = stage.join("ghost.vcl");
    fs::copy(tests_dir.join("../../ghost.vcl"), &vcl).unwrap();
    for file in [&so, &vcl] {
        fs::set_permissions(file, fs::Permissions::from_mode(0o644)).unwrap();
    }

    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get().min(8));
    let output = Command::new("varnishtest")
        .arg(format!("-j{jobs}"))
        .arg("-t60")
        // every file runs, also after a failure, and reports its own outcome
        .arg("-k")
        // a test's log buffer (1 MiB by default) overflows when s00 dumps its shared-memory log: varnishtest aborts
        .arg("-b8M")
        .arg("-D")
        .arg(format!("vmod={}", so.display()))
        .arg("-D")
        .arg(format!("ghostvcl={}", vcl.display()))
        .arg("-D")
        .arg(format!("transport_echo={}", transport_echo().display()))
        .args(&files)
        .output()
        .expect("cannot run varnishtest");
    let _ = fs::remove_dir_all(&stage);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() || std::env::var("VTC_VERBOSE").is_ok_and(|v| v == "1") {
        println!("{stdout}\n{stderr}");
    }
    let outcomes = file_outcomes(&stdout, &files);
    if let Ok(path) = std::env::var("VTC_RESULTS") {
        let lines = outcomes.iter().fold(String::new(), |mut text, (name, outcome)| {
            let _ = writeln!(text, "{name} {outcome}");
            text
        });
        fs::write(&path, lines).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
    }
    for (name, outcome) in &outcomes {
        assert!(*outcome != "missing", "varnishtest reported no outcome for {name}");
    }
    assert!(output.status.success(), "varnishtest failed for some of {} files", files.len());
}

/// Each file's outcome from varnishtest's `#    top  TEST <file> passed|FAILED|skipped (...)` lines, in file order;
/// `missing` when varnishtest said nothing about a file (it stopped early).
fn file_outcomes(stdout: &str, files: &[PathBuf]) -> Vec<(String, &'static str)> {
    files
        .iter()
        .map(|file| {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let path = file.to_string_lossy();
            let outcome = stdout
                .lines()
                .filter_map(|line| line.split_once(" TEST ").map(|(_, rest)| rest))
                .filter_map(|rest| rest.strip_prefix(path.as_ref()))
                .find_map(|rest| match rest.split_whitespace().next() {
                    Some("passed") => Some("passed"),
                    Some("FAILED" | "TIMED") => Some("failed"),
                    Some("skipped") => Some("skipped"),
                    _ => None,
                })
                .unwrap_or("missing");
            (name, outcome)
        })
        .collect()
}
