/**
 * The life of a CacheInvalidation, one controller pass at a time. Pure: the controller gives the previous status,
 * the live pods and this pass's attempts; this module says what the status becomes and when to look again.
 *
 * - The pods to invalidate are fixed by the first pass: the live pods of the target Gateways then. A pod started
 *   later fetched its content after the invalidation was asked for, so it is not a target.
 * - A target that confirmed is `Succeeded`; one whose request failed is `Failed` and retried with back-off while it
 *   is live, so a pod that comes back after a network failure is still invalidated (catch-up); one that is no longer
 *   live (deleted or terminating: its cache goes with it) is `Gone`, which counts as done.
 * - Phases: `Pending` (written first, and kept while no Gateway serves the hostname yet) → `Running` (some target
 *   not done) → `Complete` (every target done), `PartiallyFailed` (the deadline passed with some targets done) or
 *   `Failed` (the deadline passed with none done, the spec is refused, or no Gateway served the hostname before the
 *   deadline).
 *
 * @module
 */
import { backoffDelay } from "../../internal/backoff.ts";
import type { PodAttempt } from "./results.ts";

/** A pod's state in a CacheInvalidation's status. */
export type PodResult = "Pending" | "Succeeded" | "Failed" | "Gone";

/** The phase of a CacheInvalidation. */
export type Phase = "Pending" | "Running" | "Complete" | "PartiallyFailed" | "Failed";

/** One pod in `status.pods`. */
export interface PodStatus {
  /** `namespace/name`. */
  pod: string;
  /** Its state. */
  result: PodResult;
  /** Objects affected, when the pod could tell. */
  objectsAffected?: number;
  /** Duration of the last attempt. */
  durationMs?: number;
  /** Attempts so far. */
  attempts?: number;
  /** Why the last attempt failed. */
  error?: string;
}

/** `status` of a CacheInvalidation. */
export interface InvalidationStatus {
  phase: Phase;
  observedGeneration: number;
  startedAt?: string;
  completedAt?: string;
  message?: string;
  total: number;
  succeeded: number;
  pods: PodStatus[];
}

/** The retry delays of unreachable pods. */
export const RETRY_BACKOFF = { initialMs: 1_000, maxMs: 30_000 };

/** The phases after which nothing more happens but garbage collection. */
export function isTerminal(phase: Phase | undefined): boolean {
  return phase === "Complete" || phase === "PartiallyFailed" || phase === "Failed";
}

/** What one pass knows. */
export interface PassFacts {
  /** `metadata.generation`. */
  generation: number;
  /** Now, as Kubernetes writes times. */
  now: string;
  /** Milliseconds since the first pass started (0 in the first pass). */
  elapsedMs: number;
  /** How long the invalidation may run before it turns terminal. */
  deadlineMs: number;
  /** The status before this pass, if any pass ran. */
  previous?: InvalidationStatus;
  /** The live pods of the target Gateways now. */
  live: readonly string[];
  /** This pass's attempts. */
  attempts: readonly PodAttempt[];
}

/**
 * Returns the pods this pass must ask: in the first pass every live pod; later, the targets not done that are
 * live.
 *
 * @param previous The status before this pass.
 * @param live The live pods now.
 * @returns Pod keys.
 */
export function podsToAttempt(previous: InvalidationStatus | undefined, live: readonly string[]): string[] {
  if (!previous || previous.phase === "Pending") return [...live].sort();
  const alive = new Set(live);
  return previous.pods.filter((p) => (p.result === "Pending" || p.result === "Failed") && alive.has(p.pod))
    .map((p) => p.pod);
}

function updatePod(previous: PodStatus, attempt: PodAttempt | undefined, live: Set<string>): PodStatus {
  if (previous.result === "Succeeded" || previous.result === "Gone") return previous;
  if (attempt) {
    const attempts = (previous.attempts ?? 0) + 1;
    if (attempt.ok) {
      return {
        pod: previous.pod,
        result: "Succeeded",
        ...(attempt.affected !== undefined ? { objectsAffected: attempt.affected } : {}),
        durationMs: Math.round(attempt.durationMs),
        attempts,
      };
    }
    return {
      pod: previous.pod,
      result: "Failed",
      durationMs: Math.round(attempt.durationMs),
      attempts,
      error: attempt.error,
    };
  }
  if (!live.has(previous.pod)) {
    const { error: _, ...rest } = previous;
    return { ...rest, result: "Gone" };
  }
  return previous;
}

/**
 * Computes the status after a pass, and when the next pass is due.
 *
 * @param facts What the pass knows.
 * @returns The new status, and `retryAfterMs` while it is `Running`.
 */
export function nextStatus(facts: PassFacts): { status: InvalidationStatus; retryAfterMs?: number } {
  const live = new Set(facts.live);
  const byPod = new Map(facts.attempts.map((a) => [a.pod, a]));
  const first = !facts.previous || facts.previous.phase === "Pending";
  const targets: PodStatus[] = first
    ? [...facts.live].sort().map((pod) => ({ pod, result: "Pending" }))
    : facts.previous!.pods;
  const pods = targets.map((p) => updatePod(p, byPod.get(p.pod), live));
  const done = pods.filter((p) => p.result === "Succeeded" || p.result === "Gone").length;
  const base = {
    observedGeneration: facts.generation,
    startedAt: facts.previous?.startedAt ?? facts.now,
    total: pods.length,
    succeeded: done,
    pods,
  };
  if (done === pods.length) {
    const message = pods.length === 0 ? "no live gateway pod: nothing was cached" : undefined;
    return { status: { phase: "Complete", ...base, completedAt: facts.now, ...(message ? { message } : {}) } };
  }
  const pending = pods.filter((p) => p.result === "Pending" || p.result === "Failed");
  if (facts.elapsedMs >= facts.deadlineMs) {
    const names = pending.map((p) => p.pod).join(", ");
    return {
      status: {
        phase: done > 0 ? "PartiallyFailed" : "Failed",
        ...base,
        completedAt: facts.now,
        message: `not invalidated before the deadline: ${names}`,
      },
    };
  }
  const fewest = Math.min(...pending.map((p) => Math.max(1, p.attempts ?? 1)));
  const retryAfterMs = Math.min(backoffDelay(fewest, RETRY_BACKOFF), facts.deadlineMs - facts.elapsedMs);
  return {
    status: { phase: "Running", ...base, message: `waiting for ${pending.map((p) => p.pod).join(", ")}` },
    retryAfterMs,
  };
}

/**
 * The status of an invalidation before its first fan-out: `Pending`, without `startedAt` (nothing was sent yet).
 *
 * @param generation `metadata.generation`.
 * @param message Why it waits, when it waits for something.
 * @returns The status.
 */
export function pendingStatus(generation: number, message?: string): InvalidationStatus {
  return {
    phase: "Pending",
    observedGeneration: generation,
    ...(message ? { message } : {}),
    total: 0,
    succeeded: 0,
    pods: [],
  };
}

/**
 * The status of an invalidation that cannot run (invalid spec, no Gateway by the deadline): `Failed`, with the
 * reason. What earlier passes did (when the Gateway stopped serving the hostname meanwhile) is kept.
 *
 * @param generation `metadata.generation`.
 * @param now Now, as Kubernetes writes times.
 * @param message The reason.
 * @param previous The status before, if any pass ran.
 * @returns The status.
 */
export function failedStatus(
  generation: number,
  now: string,
  message: string,
  previous?: InvalidationStatus,
): InvalidationStatus {
  return {
    phase: "Failed",
    observedGeneration: generation,
    startedAt: previous?.startedAt ?? now,
    completedAt: now,
    message,
    total: previous?.total ?? 0,
    succeeded: previous?.succeeded ?? 0,
    pods: previous?.pods ?? [],
  };
}
