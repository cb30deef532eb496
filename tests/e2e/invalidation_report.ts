/**
 * The results of `deno task bench:invalidation` as Markdown, from the measured figures (pure, so the text is tested
 * without a cluster).
 *
 * @module
 */
import { percentile } from "../bench/percentile.ts";

/** The target of the fan-out tail. */
export const TARGET_P99_MS = 100;

/** What `deno task bench:invalidation` measured. */
export interface InvalidationFigures {
  /** Gateway pods every call went to. */
  pods: number;
  /** Milliseconds from each HTTP call to the answer that every pod confirmed. */
  calls: number[];
  /** The tag purge under a cached workload. */
  purge: {
    /** Objects cached with the purged tag on one pod. */
    objects: number;
    /** Seconds it took to cache them. */
    fillSeconds: number;
    /** Milliseconds of the purge call. */
    ms: number;
    /** Objects each pod reported affected (`undefined` when a pod did not say). */
    affected: (number | undefined)[];
    /** Cached requests/s on that pod before the purge. */
    rpsBefore: number;
    /** Cached requests/s on that pod during a run with the purge in it. */
    rpsDuring: number;
  };
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * Renders the results file's body (everything after the heading of `tests/bench/results_heading.ts`).
 *
 * @param f The measured figures.
 * @returns Markdown text ending in a newline.
 */
export function invalidationReport(f: InvalidationFigures): string {
  const sorted = [...f.calls].sort((a, b) => a - b);
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const p99 = percentile(sorted, 99);
  const target = p99 <= TARGET_P99_MS
    ? `met (p99 ${ms(p99)})`
    : `missed by ${(p99 - TARGET_P99_MS).toFixed(1)} ms (p99 ${ms(p99)})`;
  const { purge } = f;
  const affected = purge.affected.map((a) => a === undefined ? "unknown" : int(a)).join(" / ");
  const change = ((purge.rpsDuring / purge.rpsBefore - 1) * 100).toFixed(0);
  return [
    `On the local cluster: the operator of this checkout as a local process, one Gateway of ${f.pods} pods ` +
    "(chaperone, varnishd with ghost and xkey), an echo origin.",
    "",
    "## HTTP call → every pod confirmed",
    "",
    `\`POST /invalidate\` with one surrogate key, hard, from the call to the 200 answer naming all ${f.pods} pods ` +
    "(TokenReview and SubjectAccessReview answers remembered for 10 s, as in production), " +
    `${f.calls.length} calls one after the other:`,
    "",
    "| p50 | p99 | min | max |",
    "| --: | --: | --: | --: |",
    `| ${ms(percentile(sorted, 50))} | ${ms(p99)} | ${ms(sorted[0])} | ${ms(sorted.at(-1)!)} |`,
    "",
    `Target p99 ≤ ${TARGET_P99_MS} ms: ${target}.`,
    "",
    `## Tag purge of ${int(purge.objects)} objects on one pod`,
    "",
    `${int(purge.objects)} objects carrying the surrogate key \`bulk\` cached on one pod (filled in ` +
    `${purge.fillSeconds.toFixed(1)} s), then a purge of that key through the HTTP API while wrk (1 thread, 16 ` +
    "connections, one hot cached URL, 5 s, the purge 1 s in) loads that pod; beside it a 5 s wrk run just before:",
    "",
    `| purge call (${f.pods} pods) | objects affected | cached req/s before | cached req/s during |`,
    "| --: | --- | --: | --: |",
    `| ${purge.ms.toFixed(0)} ms | ${affected} | ${int(purge.rpsBefore)} | ${int(purge.rpsDuring)} ` +
    `(${Number(change) >= 0 ? "+" : ""}${change} %) |`,
    "",
  ].join("\n");
}
