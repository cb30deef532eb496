/**
 * What one fan-out returned, summed up for the HTTP API: `ok` when every pod confirmed (200), `partial` when some
 * did (207), `failed` when none did (503). No pod to ask at all is `ok`: nothing is cached there. Pure.
 *
 * @module
 */

/** One pod's answer to one invalidation request. */
export interface PodAttempt {
  /** The pod, `namespace/name`. */
  pod: string;
  /** Whether the pod confirmed. */
  ok: boolean;
  /** Objects affected, when the pod can tell. */
  affected?: number;
  /** How long the request took, in milliseconds. */
  durationMs: number;
  /** Why it failed. */
  error?: string;
}

/** The outcome of a fan-out as the HTTP API answers it. */
export interface FanOutSummary {
  /** `ok`: every pod confirmed; `partial`: some did; `failed`: none did. */
  status: "ok" | "partial" | "failed";
  /** Pods asked. */
  total: number;
  /** Pods that confirmed. */
  succeeded: number;
  /** Every pod, in pod order. */
  results: { pod: string; result: "ok" | "failed"; affected?: number; error?: string }[];
}

/**
 * Sums up a fan-out.
 *
 * @example Usage
 * ```ts
 * import { summarizeFanOut } from "./results.ts";
 * summarizeFanOut([{ pod: "ns/a", ok: true, durationMs: 3 }, { pod: "ns/b", ok: false, durationMs: 5, error: "x" }]);
 * // { status: "partial", total: 2, succeeded: 1, results: [...] }
 * ```
 *
 * @param attempts One attempt per pod.
 * @returns The summary.
 */
export function summarizeFanOut(attempts: readonly PodAttempt[]): FanOutSummary {
  const results = [...attempts].sort((a, b) => a.pod.localeCompare(b.pod)).map((a) => ({
    pod: a.pod,
    result: a.ok ? "ok" as const : "failed" as const,
    ...(a.affected !== undefined ? { affected: a.affected } : {}),
    ...(a.error !== undefined ? { error: a.error } : {}),
  }));
  const succeeded = results.filter((r) => r.result === "ok").length;
  const status = succeeded === results.length ? "ok" : succeeded > 0 ? "partial" : "failed";
  return { status, total: results.length, succeeded, results };
}

/**
 * The HTTP status of a summary: 200, 207 (Multi-Status) or 503.
 *
 * @param summary The summary.
 * @returns The status code.
 */
export function fanOutHttpStatus(summary: FanOutSummary): 200 | 207 | 503 {
  return summary.status === "ok" ? 200 : summary.status === "partial" ? 207 : 503;
}
