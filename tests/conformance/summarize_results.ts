/**
 * Reads `go test -v` output of the upstream conformance suite and tells which tests passed, failed and were skipped.
 *
 * Only top-level conformance tests count (`TestConformance/<Name>`); their sub-steps do not.
 *
 * @module
 */

/** The outcome of every conformance test seen in a run. */
export interface ConformanceResults {
  /** Names of the tests that passed, sorted. */
  passed: string[];
  /** Names of the tests that failed, sorted. */
  failed: string[];
  /** Names of the tests that were skipped, sorted. */
  skipped: string[];
}

const RESULT_LINE = /^\s*--- (PASS|FAIL|SKIP): TestConformance\/([^/\s]+) \(/;

/**
 * Collects the results of the top-level conformance tests from `go test -v` output.
 *
 * @example Usage
 * ```ts
 * import { summarizeResults } from "./summarize_results.ts";
 * summarizeResults("    --- PASS: TestConformance/HTTPRouteSimpleSameNamespace (2.01s)\n").passed;
 * // ["HTTPRouteSimpleSameNamespace"]
 * ```
 *
 * @param output The test binary's standard output.
 * @returns The tests by outcome.
 */
export function summarizeResults(output: string): ConformanceResults {
  const outcome = new Map<string, "PASS" | "FAIL" | "SKIP">();
  for (const line of output.split("\n")) {
    const m = RESULT_LINE.exec(line);
    if (m) outcome.set(m[2], m[1] as "PASS" | "FAIL" | "SKIP");
  }
  const pick = (kind: string) => [...outcome].filter(([, o]) => o === kind).map(([name]) => name).sort();
  return { passed: pick("PASS"), failed: pick("FAIL"), skipped: pick("SKIP") };
}

/**
 * Formats results as the closing lines of a run: one line per failed test, then the counts.
 *
 * @param results The results.
 * @returns The text, ending with a line like `12 passed, 1 failed, 40 skipped`.
 */
export function formatResults(results: ConformanceResults): string {
  const lines = results.failed.map((name) => `  FAILED ${name}`);
  lines.push(
    `conformance: ${results.passed.length} passed, ${results.failed.length} failed, ${results.skipped.length} skipped`,
  );
  return lines.join("\n");
}
