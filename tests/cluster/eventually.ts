/**
 * Waiting in tests without fixed sleeps: poll until an assertion holds, or check that it keeps holding.
 *
 * @module
 */

/** Options for {@linkcode eventually} and {@linkcode consistently}. */
export interface PollOptions {
  /** Give up after this long. @default {30000} (for `consistently`: how long it must hold) */
  timeoutMs?: number;
  /** Pause between attempts. @default {100} */
  intervalMs?: number;
}

/**
 * Re-runs `fn` until it returns without throwing, and returns its value. On timeout it throws the last error, so
 * the failure shows what was actually seen.
 *
 * @example Usage
 * ```ts
 * import { eventually } from "./eventually.ts";
 * let n = 0;
 * await eventually(() => {
 *   if (++n < 3) throw new Error("not yet");
 * }, { intervalMs: 1 });
 * ```
 *
 * @param fn An assertion, usually reading from the API server.
 * @param options Timeout and interval.
 * @returns What `fn` returned.
 */
export async function eventually<T>(fn: () => T | Promise<T>, options: PollOptions = {}): Promise<T> {
  const deadline = performance.now() + (options.timeoutMs ?? 30_000);
  while (true) {
    try {
      return await fn();
    } catch (err) {
      if (performance.now() >= deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

/**
 * Runs `fn` repeatedly for `timeoutMs` and throws as soon as it throws ("stays true").
 *
 * @param fn An assertion.
 * @param options Duration and interval.
 */
export async function consistently(fn: () => unknown, options: PollOptions = {}): Promise<void> {
  const deadline = performance.now() + (options.timeoutMs ?? 1000);
  while (performance.now() < deadline) {
    await fn();
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}
