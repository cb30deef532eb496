/**
 * The signals that ask a Lacquer process to stop (SIGTERM from the kubelet, SIGINT from a terminal), as one promise.
 *
 * @module
 */

/** A pending stop request. */
export interface StopSignals {
  /** Resolves with the first stop signal received. */
  promise: Promise<Deno.Signal>;
  /** Removes the signal listeners. */
  dispose(): void;
}

/**
 * Listens for stop signals until {@linkcode StopSignals.dispose}.
 *
 * @example Usage
 * ```ts ignore
 * import { listenForStopSignals } from "./stop_signals.ts";
 * const signals = listenForStopSignals(["SIGTERM", "SIGINT"]);
 * const signal = await signals.promise;
 * signals.dispose();
 * ```
 *
 * @param signals The signals that mean "stop".
 * @param onSignal Called with each signal received (for a log line).
 * @returns The stop request.
 */
export function listenForStopSignals(
  signals: readonly Deno.Signal[],
  onSignal?: (signal: Deno.Signal) => void,
): StopSignals {
  let resolve!: (signal: Deno.Signal) => void;
  const promise = new Promise<Deno.Signal>((r) => resolve = r);
  const handlers = signals.map((signal) => {
    const handler = () => {
      onSignal?.(signal);
      resolve(signal);
    };
    Deno.addSignalListener(signal, handler);
    return { signal, handler };
  });
  return {
    promise,
    dispose: () => {
      for (const { signal, handler } of handlers) Deno.removeSignalListener(signal, handler);
    },
  };
}
