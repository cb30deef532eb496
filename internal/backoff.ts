/**
 * Exponential back-off: the delay before a retry doubles per consecutive failure up to a bound, optionally with
 * jitter. Every retry loop of Lacquer (reflectors, the work queue, the sync loop, the varnishd and hitch supervisors)
 * computes its delay here. Pure.
 *
 * @module
 */

/** The first delay and the largest one. */
export interface BackoffPolicy {
  /** First delay. */
  initialMs: number;
  /** Largest delay. */
  maxMs: number;
}

/** Back-off with jitter as client-go's reflector uses it (0.8 s, ×2, at most 30 s). */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 800, maxMs: 30_000 };

/**
 * Returns the delay before retry number `failures` (1-based): `initialMs × 2^(failures-1)`, at most `maxMs`, plus up
 * to 20 % jitter when a `random` number in [0, 1) is given (spreads the retries of many clients apart).
 *
 * @example Usage
 * ```ts
 * import { backoffDelay } from "./backoff.ts";
 * backoffDelay(3, { initialMs: 500, maxMs: 30_000 }); // 2000
 * ```
 *
 * @param failures Consecutive failures so far (1 for the first retry).
 * @param options The policy and, for jitter, a random number in [0, 1).
 * @returns The delay in milliseconds.
 */
export function backoffDelay(failures: number, options: BackoffPolicy & { random?: number }): number {
  const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, failures - 1));
  return options.random === undefined ? base : Math.round(base * (1 + 0.2 * options.random));
}
