//! ghost/README.md shows the canonical wiring; it must be ghost.vcl, the file the vtc suite includes.

#[test]
fn readme_example_contains_ghost_vcl_verbatim() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let vcl = std::fs::read_to_string(root.join("ghost.vcl")).unwrap();
    assert!(readme.contains(&vcl), "ghost/README.md must contain ghost/ghost.vcl verbatim in its example VCL");
}
