/**
 * Draining before shutdown: once `/readyz` answers 503, endpoints drop the pod, but requests already routed to it
 * keep arriving for a while, and clients hold keep-alive connections that they may reuse at any moment. The drain
 * first has every answer close its connection (`closeConnections`), then waits until no request arrived for a quiet
 * window and no client connection is left open, or a bound. Stopping varnishd while a client still holds a
 * connection would race that client's next request ("connection closed before message completed").
 *
 * @module
 */
import type { Logger } from "../internal/log.ts";

/** Options of {@linkcode Drain}. */
export interface DrainOptions {
  /** Reads the number of requests received so far (varnishd's `MAIN.client_req`). */
  requests: () => Promise<number>;
  /** Reads the number of client connections still open. @default {none are counted} */
  sessions?: () => Promise<number>;
  /** Makes every later answer close its connection (ghost's drain switch); a failure is logged. */
  closeConnections?: () => Promise<void>;
  /** The longest a drain waits. */
  maxMs: number;
  /** How long no new request must arrive. @default {2000} */
  quietMs?: number;
  /** How often the request count is read. @default {250} */
  pollMs?: number;
  /** Logger. */
  log: Logger;
}

/**
 * Why a drain ended: no request for the quiet window and no open connection, or the bound ran out while requests
 * still arrived or connections stayed open.
 */
export type DrainEnd = "quiet" | "deadline";

/**
 * A drain that starts once: {@linkcode Drain.start} flips {@linkcode Drain.draining} at once and resolves when
 * requests have stopped arriving (or at the bound), with why it ended.
 *
 * @example Usage
 * ```ts
 * import { Drain } from "./drain.ts";
 * import { createLogger } from "../internal/log.ts";
 * const drain = new Drain({ requests: () => Promise.resolve(7), maxMs: 1000, quietMs: 10, pollMs: 5,
 *   log: createLogger({ level: "error" }) });
 * await drain.start(); // "quiet"
 * drain.draining; // true
 * ```
 */
export class Drain {
  #o: DrainOptions;
  #done: Promise<DrainEnd> | undefined;
  #markStarted!: () => void;
  /** Resolves when the drain starts, whoever started it (SIGTERM or `/drain`). */
  readonly started: Promise<void> = new Promise((resolve) => this.#markStarted = resolve);

  /**
   * Creates the drain; nothing happens until {@linkcode Drain.start}.
   *
   * @param options Where the request count comes from, and the timings.
   */
  constructor(options: DrainOptions) {
    this.#o = options;
  }

  /** Whether the drain has started. */
  get draining(): boolean {
    return this.#done !== undefined;
  }

  /** Starts draining (idempotent); resolves when drained. */
  start(): Promise<DrainEnd> {
    this.#done ??= this.#run();
    this.#markStarted();
    return this.#done;
  }

  async #run(): Promise<DrainEnd> {
    const { log, maxMs, sessions = () => Promise.resolve(0) } = this.#o;
    const quietMs = this.#o.quietMs ?? 2000;
    log.info("Draining", { maxSeconds: maxMs / 1000 });
    const deadline = performance.now() + maxMs;
    await this.#o.closeConnections?.().catch((err) =>
      log.warn("Cannot make answers close their connections", { error: (err as Error).message })
    );
    let last = -1;
    let open = 0;
    let quietSince = performance.now();
    let end: DrainEnd = "deadline";
    while (performance.now() < deadline) {
      const requests = await this.#o.requests();
      if (requests !== last) {
        last = requests;
        quietSince = performance.now();
      } else if (performance.now() - quietSince >= quietMs && (open = await sessions()) === 0) {
        end = "quiet";
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, this.#o.pollMs ?? 250));
    }
    log.info("Drained", { reason: end, ...(end === "deadline" ? { openConnections: open } : {}) });
    return end;
  }
}
