//! What the property tests share: their case count.

use proptest::prelude::ProptestConfig;

/// `default_cases` cases (sized for CI), or `GHOST_FUZZ_CASES` when set, for a longer run.
pub fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("GHOST_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default_cases);
    ProptestConfig::with_cases(cases)
}
