/**
 * The chaos suite's judgement, kept apart from the cluster: each scenario's counts against its target, the table
 * the suite prints and the results file it writes.
 *
 * @module
 */

/**
 * What a scenario must keep, as issue #14 words it: `no-failures` (churn, scaling, bad input, API server loss, and the
 * graceful pod removals: every request answered by the backend its route selects) or `in-flight` (process kills: no
 * more failures than the requests in flight when the process was killed).
 */
export type Target = "no-failures" | "in-flight";

/** One scenario's outcome. */
export interface ScenarioResult {
  /** What was done, e.g. "kill -9 varnishd". */
  name: string;
  target: Target;
  /** Requests sent through the Gateway during the scenario. */
  sent: number;
  /** Requests without an answer, or answered with anything but a 200. */
  failed: number;
  /** Requests answered with a 200 by a backend the routes did not select. */
  misrouted: number;
  /** For a process kill, the requests in flight when it struck; otherwise the most the load has (its workers). */
  inFlight: number;
  /** From the fault until the system was whole again (what that means is the scenario's), when it measures one. */
  recoveryMs?: number;
  /** Why the scenario could not run to its end, when it could not. */
  error?: string;
}

/** A scenario's verdict: passed, or the first target it missed. */
export interface Verdict {
  pass: boolean;
  /** "pass", or what was missed. */
  reason: string;
}

/**
 * Judges one scenario: an error, no load, any misrouted request, or more failures than its target allows fail it.
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { judge } from "./verdict.ts";
 * const r = { name: "kill", target: "in-flight" as const, sent: 900, failed: 3, misrouted: 0, inFlight: 4 };
 * equal(judge(r).pass, true);
 * ```
 *
 * @param r The scenario's outcome.
 * @returns The verdict.
 */
export function judge(r: ScenarioResult): Verdict {
  if (r.error) return { pass: false, reason: `error: ${r.error}` };
  if (r.sent === 0) return { pass: false, reason: "no request was sent" };
  if (r.misrouted > 0) return { pass: false, reason: `${r.misrouted} misrouted` };
  if (r.target === "no-failures" && r.failed > 0) return { pass: false, reason: `${r.failed} failed, target 0` };
  if (r.target === "in-flight" && r.failed > r.inFlight) {
    return { pass: false, reason: `${r.failed} failed, more than the ${r.inFlight} in flight` };
  }
  return { pass: true, reason: "pass" };
}

/** Formats milliseconds as seconds with one decimal, or "–" when not measured. */
function seconds(ms: number | undefined): string {
  return ms === undefined ? "–" : `${(ms / 1000).toFixed(1)} s`;
}

/** Escapes a table cell, cut to 100 characters (the log has the whole error). */
function cell(text: string): string {
  const short = text.length > 100 ? `${text.slice(0, 99)}…` : text;
  return short.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/**
 * Renders the results as a Markdown table: scenario, target, sent, failed, misrouted, recovery time, verdict.
 *
 * @example Usage
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { resultsTable } from "./verdict.ts";
 * const table = resultsTable([{ name: "route churn", target: "no-failures", sent: 10, failed: 0, misrouted: 0, inFlight: 4 }]);
 * ok(table.includes("| route churn | 0 failed | 10 | 0 | 0 | – | pass |"));
 * ```
 *
 * @param results The scenarios' outcomes, in the order they ran.
 * @returns The table (no trailing newline).
 */
export function resultsTable(results: ScenarioResult[]): string {
  const rows = results.map((r) => {
    const target = r.target === "no-failures" ? "0 failed" : `≤ ${r.inFlight} failed (in flight)`;
    const v = judge(r);
    return `| ${cell(r.name)} | ${target} | ${r.sent} | ${r.failed} | ${r.misrouted} | ${seconds(r.recoveryMs)} | ` +
      `${v.pass ? "pass" : cell(`FAIL: ${v.reason}`)} |`;
  });
  return [
    "| scenario | target | sent | failed | misrouted | recovery | verdict |",
    "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ...rows,
  ].join("\n");
}

/**
 * The results file: a title, how the run was made, the table and what the columns mean.
 *
 * @param results The scenarios' outcomes.
 * @param context One paragraph on the run (date, node, load).
 * @param task The deno task that ran them.
 * @returns The file's text.
 */
export function resultsMarkdown(results: ScenarioResult[], context: string, task = "chaos"): string {
  const passed = results.filter((r) => judge(r).pass).length;
  return `# \`deno task ${task}\`

${context}

${resultsTable(results)}

${passed} of ${results.length} scenarios met their target. Zero misrouted requests is every scenario's target: a request
is misrouted when a backend the routes did not select answers it (each echo backend names its pod). Churn, scaling, bad
input, the API server's absence and the graceful pod removals must fail no request; a process kill may fail at most the
requests in flight at the moment of the kill (counted then). Recovery is measured from the fault until the scenario sees the system whole again: the killed process back
and its pod ready, or a route change made after the fault served.
`;
}

/**
 * Whether every scenario met its target (the suite's exit status).
 *
 * @param results The scenarios' outcomes.
 * @returns True when all passed.
 */
export function allPassed(results: ScenarioResult[]): boolean {
  return results.length > 0 && results.every((r) => judge(r).pass);
}
