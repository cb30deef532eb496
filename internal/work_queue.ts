/**
 * A de-duplicating, rate-limited work queue with client-go's guarantees (`util/workqueue/doc.go`), and the worker
 * loop that runs reconciles from it (controller-runtime `reconcileHandler`):
 *
 * - a key added while it waits is queued once;
 * - a key is never processed by two workers at once;
 * - a key added while it is being processed runs once more afterwards;
 * - outcomes: error → retry with per-key exponential backoff; {@linkcode TerminalError} → logged, not retried;
 *   `{ requeueAfterMs }` → timed retry; success → backoff reset. Panics (thrown non-errors) are caught too.
 *
 * @module
 */
import { backoffDelay, type BackoffPolicy } from "./backoff.ts";
import type { Logger } from "./log.ts";

/** An error the reconciler cannot fix by retrying (logged, not retried). */
export class TerminalError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TerminalError";
  }
}

/** What a reconcile returns. */
export type ReconcileResult = void | { requeueAfterMs: number };

/** Options for {@linkcode WorkQueue}. */
export interface WorkQueueOptions {
  /** First retry delay after a failure. @default {100} */
  baseDelayMs?: number;
  /** Largest retry delay. @default {60000} */
  maxDelayMs?: number;
}

/** The work queue. Keys are strings such as `namespace/name`. */
export class WorkQueue {
  #queue: string[] = [];
  #dirty = new Set<string>();
  #processing = new Set<string>();
  #failures = new Map<string, number>();
  #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #waiters: ((key: string | undefined) => void)[] = [];
  #shuttingDown = false;
  #backoff: BackoffPolicy;

  /** Creates a queue. */
  constructor(options: WorkQueueOptions = {}) {
    this.#backoff = { initialMs: options.baseDelayMs ?? 100, maxMs: options.maxDelayMs ?? 60_000 };
  }

  /** Adds a key now (no-op when it already waits). */
  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
    } else this.#queue.push(key);
  }

  /** Adds a key after a delay; an earlier pending timer for the key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    if (this.#timers.has(key)) return;
    this.#timers.set(
      key,
      setTimeout(() => {
        this.#timers.delete(key);
        this.add(key);
      }, delayMs),
    );
  }

  /** Adds a key after its per-key exponential backoff and returns the delay used. */
  addRateLimited(key: string): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    const delay = backoffDelay(failures, this.#backoff);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the backoff of a key. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Waits for the next key; resolves undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks a key as processed; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key);
      this.add(key);
    }
  }

  /** Number of keys waiting. */
  get length(): number {
    return this.#queue.length;
  }

  /** Number of keys being processed. */
  get inFlight(): number {
    return this.#processing.size;
  }

  /** Stops handing out keys and clears timers; waiting workers get undefined. */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }
}

/** Counters and timings a controller reports. */
export interface ControllerObserver {
  /** Called after each reconcile. */
  reconciled?(outcome: "success" | "error" | "requeue" | "terminal", durationMs: number): void;
}

/** Options for {@linkcode runWorkers}. */
export interface RunWorkersOptions {
  /** Parallel workers. @default {1} */
  workers?: number;
  /** Logger; each run gets a `reconcileId`. */
  log: Logger;
  /** Metrics hooks. */
  observer?: ControllerObserver;
  /** Returns the current time in ms (durations). @default {performance.now} */
  now?: () => number;
}

/**
 * Runs workers that take keys from a queue and reconcile them, until the queue shuts down.
 *
 * @example Usage
 * ```ts ignore
 * import { runWorkers, WorkQueue } from "./work_queue.ts";
 * const queue = new WorkQueue();
 * const done = runWorkers(queue, async (key) => console.log(key), { log });
 * queue.add("default/gw");
 * queue.shutDown();
 * await done;
 * ```
 *
 * @param queue The queue.
 * @param reconcile The reconcile function; receives only the key.
 * @param options Workers, logger, metrics.
 * @returns Resolves when every worker has stopped.
 */
export async function runWorkers(
  queue: WorkQueue,
  reconcile: (key: string, log: Logger) => Promise<ReconcileResult>,
  options: RunWorkersOptions,
): Promise<void> {
  const now = options.now ?? (() => performance.now());
  let runs = 0;
  const worker = async () => {
    while (true) {
      const key = await queue.get();
      if (key === undefined) return;
      const log = options.log.child({ key, reconcileId: ++runs });
      const start = now();
      try {
        const result = await reconcile(key, log);
        if (result && result.requeueAfterMs > 0) {
          queue.forget(key);
          queue.addAfter(key, result.requeueAfterMs);
          options.observer?.reconciled?.("requeue", now() - start);
        } else {
          queue.forget(key);
          options.observer?.reconciled?.("success", now() - start);
        }
      } catch (err) {
        if (err instanceof TerminalError) {
          queue.forget(key);
          log.error("Reconcile failed for good", { err, durationMs: Math.round(now() - start) });
          options.observer?.reconciled?.("terminal", now() - start);
        } else {
          const retryInMs = queue.addRateLimited(key);
          log.warn("Reconcile failed", { err, retryInMs, durationMs: Math.round(now() - start) });
          options.observer?.reconciled?.("error", now() - start);
        }
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers ?? 1 }, worker));
}
