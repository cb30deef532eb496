/**
 * A timer that an AbortSignal cuts short, for back-off and retry loops that must stop promptly.
 *
 * @module
 */

/**
 * Resolves after `ms` milliseconds, or as soon as `signal` aborts (at once when it already has). Never rejects, so
 * loops check the signal themselves after waking.
 *
 * @example Usage
 * ```ts
 * import { abortableSleep } from "./abortable_sleep.ts";
 * const stop = new AbortController();
 * stop.abort();
 * await abortableSleep(60_000, stop.signal); // returns at once
 * ```
 *
 * @param ms How long to wait.
 * @param signal Ends the wait early.
 * @returns A promise that resolves when the time is up or the signal aborts.
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
