/**
 * Single-flight with a short cache, for probes and scrapes that anyone can send as often as they like: however many
 * callers ask at once, one call runs, and its result answers every caller for a while after it.
 *
 * @module
 */

/** Options for {@linkcode cachedCall}. */
export interface CachedCallOptions {
  /** How long a successful result is reused after it arrived, in milliseconds. */
  ttlMs: number;
  /** The clock, in milliseconds. @default {performance.now} */
  now?: () => number;
}

/**
 * Wraps `call` so that concurrent callers share one run and a success is reused for `ttlMs`. A failure is shared by
 * the callers waiting for it but not kept: the next caller runs `call` again.
 *
 * @example Usage
 * ```ts
 * import { cachedCall } from "./cached_call.ts";
 * let runs = 0;
 * const read = cachedCall(() => Promise.resolve(++runs), { ttlMs: 1000 });
 * await Promise.all([read(), read(), read()]); // [1, 1, 1]
 * ```
 *
 * @param call The expensive call.
 * @param options How long results are reused, and the clock.
 * @returns The wrapped call.
 */
export function cachedCall<T>(call: () => Promise<T>, options: CachedCallOptions): () => Promise<T> {
  const now = options.now ?? (() => performance.now());
  let inFlight: Promise<T> | undefined;
  let cached: { value: T; at: number } | undefined;
  return () => {
    if (cached && now() - cached.at < options.ttlMs) return Promise.resolve(cached.value);
    inFlight ??= call().then(
      (value) => {
        cached = { value, at: now() };
        inFlight = undefined;
        return value;
      },
      (err) => {
        inFlight = undefined;
        throw err;
      },
    );
    return inFlight;
  };
}
