/**
 * A token bucket per caller: each caller may burst `burst` calls and then `perSecond` calls a second. Callers idle
 * long enough to have a full bucket again are forgotten, so the map stays as small as the set of recent callers.
 * Pure (time is an argument).
 *
 * @module
 */

/** Options of {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /** Sustained calls per second per caller. */
  perSecond: number;
  /** Calls a caller may make at once. */
  burst: number;
}

/** Token buckets keyed by caller. */
export class RateLimiter {
  #buckets = new Map<string, { tokens: number; atMs: number }>();
  #o: RateLimiterOptions;
  #sweptAtMs = -Infinity;

  /** Creates the limiter. */
  constructor(options: RateLimiterOptions) {
    this.#o = options;
  }

  /**
   * Takes one token for a caller.
   *
   * @example Usage
   * ```ts
   * import { RateLimiter } from "./rate_limiter.ts";
   * const limiter = new RateLimiter({ perSecond: 1, burst: 2 });
   * limiter.take("alice", 0); // 0 (allowed)
   * limiter.take("alice", 0); // 0
   * limiter.take("alice", 0); // 1000 (refused: retry in 1000 ms)
   * ```
   *
   * @param caller Who calls.
   * @param nowMs Now, in milliseconds of a monotonic clock.
   * @returns 0 when the call is allowed, else the milliseconds until it would be.
   */
  take(caller: string, nowMs: number): number {
    const { perSecond, burst } = this.#o;
    const bucket = this.#buckets.get(caller) ?? { tokens: burst, atMs: nowMs };
    const tokens = Math.min(burst, bucket.tokens + ((nowMs - bucket.atMs) / 1000) * perSecond);
    if (tokens < 1) {
      this.#buckets.set(caller, { tokens, atMs: nowMs });
      return Math.ceil(((1 - tokens) / perSecond) * 1000);
    }
    this.#buckets.set(caller, { tokens: tokens - 1, atMs: nowMs });
    this.#forgetFull(nowMs);
    return 0;
  }

  /** Number of callers remembered. */
  get size(): number {
    return this.#buckets.size;
  }

  // At most once a second, so a call costs O(1) on average.
  #forgetFull(nowMs: number): void {
    if (nowMs - this.#sweptAtMs < 1000) return;
    this.#sweptAtMs = nowMs;
    const fullAfterMs = (this.#o.burst / this.#o.perSecond) * 1000;
    for (const [caller, bucket] of this.#buckets) {
      if (nowMs - bucket.atMs >= fullAfterMs) this.#buckets.delete(caller);
    }
  }
}
