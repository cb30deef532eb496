/**
 * Decides whether a conformance run passed, from everything it left behind: the suite's exit status, its `go test
 * -v` results and the report it writes as its very last step (so a report exists only when the run completed).
 *
 * @module
 */
import { parse } from "yaml";
import type { ConformanceResults } from "./summarize_results.ts";

/** What a finished conformance run left behind. */
export interface ConformanceRun {
  /** The suite's exit status (0 only when every test it ran passed). */
  exitCode: number;
  /** The top-level test results parsed from its output. */
  results: ConformanceResults;
  /** The report's YAML text, or `undefined` when the suite wrote none (it crashed or timed out). */
  report: string | undefined;
}

/**
 * Lists why a run does not prove conformance; an empty list means it passed: the suite exited 0, ran at least one
 * test, failed none, and its report says every profile's core and extended tests (those of the features we claim)
 * succeeded.
 *
 * @example Usage
 * ```ts
 * import { conformanceProblems } from "./judge_run.ts";
 * conformanceProblems({ exitCode: 2, results: { passed: [], failed: [], skipped: [] }, report: undefined });
 * // ["the suite exited with status 2", "the suite wrote no report (it crashed or timed out)", "no test passed"]
 * ```
 *
 * @param run The run's exit status, results and report.
 * @returns One sentence per problem.
 */
export function conformanceProblems(run: ConformanceRun): string[] {
  const problems: string[] = [];
  if (run.exitCode !== 0) problems.push(`the suite exited with status ${run.exitCode}`);
  if (run.report === undefined) problems.push("the suite wrote no report (it crashed or timed out)");
  if (run.results.passed.length === 0) problems.push("no test passed");
  for (const name of run.results.failed) problems.push(`${name} failed`);
  if (run.report !== undefined) problems.push(...reportProblems(run.report));
  return problems;
}

function reportProblems(text: string): string[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    return [`the report is not YAML: ${(err as Error).message}`];
  }
  const profiles = (doc as { profiles?: unknown } | null)?.profiles;
  if (!Array.isArray(profiles) || profiles.length === 0) return ["the report lists no profile"];
  const problems: string[] = [];
  for (const profile of profiles as Record<string, { result?: string } | string | undefined>[]) {
    for (const part of ["core", "extended"]) {
      const result = (profile[part] as { result?: string } | undefined)?.result;
      // a profile without extended features claimed has no extended part
      if (part === "extended" && result === undefined) continue;
      if (result !== "success") {
        problems.push(`the report's ${profile.name} ${part} result is "${result ?? "missing"}"`);
      }
    }
  }
  return problems;
}
