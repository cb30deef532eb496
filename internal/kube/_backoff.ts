/** Exponential backoff with jitter, as client-go's reflector uses it (0.8 s, ×2, at most 30 s). */
export interface BackoffPolicy {
  /** First delay. */
  initialMs: number;
  /** Largest delay. */
  maxMs: number;
}

/** The reflector's default backoff. */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 800, maxMs: 30_000 };

/**
 * Returns the delay before retry number `failures` (1-based), with up to 20 % jitter from `random`.
 *
 * @param failures Consecutive failures so far (1 for the first retry).
 * @param options The policy and a random source in [0, 1).
 * @returns The delay in milliseconds.
 */
export function backoffDelay(failures: number, options: BackoffPolicy & { random: number }): number {
  const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (1 + 0.2 * options.random));
}
