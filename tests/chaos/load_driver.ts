/**
 * The chaos suite's steady, bounded load through the Gateway: a few workers, each sending one request after the
 * other at a capped rate, each on a connection of its own, each request checked against the apps its route selects ({@linkcode classifyAnswer}).
 *
 * @module
 */
import { classifyAnswer } from "./answer_check.ts";

/** A path of the load and the apps whose pods may answer it. */
export interface Probe {
  path: string;
  apps: readonly string[];
}

/** What the load saw. */
export interface LoadCounts {
  sent: number;
  failed: number;
  misrouted: number;
  /** The first few failures and misroutes, each with its time, for the log. */
  samples: string[];
  /** The worker count: the most requests in flight at once. */
  inFlight: number;
  /**
   * The longest time a request took that was answered: after a process kill, how long a connection waited in the
   * kept listening socket's queue for the restarted varnishd (0 when none was answered).
   */
  slowestMs: number;
}

/** A running load. */
export interface ChaosLoad {
  /** How many requests are in flight now (sent, not yet answered or failed). */
  inFlightNow(): number;
  /** Stops the workers once their current request ends and returns the counts. */
  stop(): Promise<LoadCounts>;
}

/** Options for {@linkcode startChaosLoad}. */
export interface LoadOptions {
  /** Concurrent workers. @default {4} */
  workers?: number;
  /** Requests per second per worker at most. @default {25} */
  ratePerWorker?: number;
  /** A request without an answer after this long failed. @default {5000} */
  timeoutMs?: number;
}

const SAMPLES = 10;

/**
 * Starts the load: worker `i` sends its requests to the probes in turn, starting at probe `i`.
 *
 * @param address The Gateway's address (host or host:port).
 * @param probes The paths to request and who may answer each.
 * @param options Workers, rate, timeout.
 * @returns The running load.
 */
export function startChaosLoad(address: string, probes: readonly Probe[], options: LoadOptions = {}): ChaosLoad {
  const workers = options.workers ?? 4;
  const interval = 1000 / (options.ratePerWorker ?? 25);
  const timeoutMs = options.timeoutMs ?? 5000;
  const counts: LoadCounts = { sent: 0, failed: 0, misrouted: 0, samples: [], inFlight: workers, slowestMs: 0 };
  const note = (what: string) => {
    if (counts.samples.length < SAMPLES) counts.samples.push(`${new Date().toISOString()} ${what}`);
  };
  // A new connection for every request, as from many clients: the Service spreads connections, not requests, so
  // a few kept-alive connections could all land on the gateway pod a scenario leaves alone.
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  let stopped = false;
  let inFlight = 0;
  const worker = async (index: number) => {
    for (let n = index; !stopped; n++) {
      const started = performance.now();
      const probe = probes[n % probes.length];
      counts.sent++;
      inFlight++;
      try {
        const response = await fetch(`http://${address}${probe.path}`, {
          client,
          signal: AbortSignal.timeout(timeoutMs),
        });
        const { outcome, detail } = classifyAnswer(response.status, await response.text(), probe.apps);
        if (outcome === "failed") counts.failed++;
        else counts.slowestMs = Math.max(counts.slowestMs, performance.now() - started);
        if (outcome === "misrouted") counts.misrouted++;
        if (detail) note(`${probe.path}: ${outcome}: ${detail}`);
      } catch (err) {
        counts.failed++;
        const cause = (err as Error).cause;
        note(`${probe.path}: failed: ${err}${cause ? ` (${cause})` : ""}`);
      } finally {
        inFlight--;
      }
      const rest = interval - (performance.now() - started);
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    }
  };
  const running = Array.from({ length: workers }, (_, i) => worker(i));
  return {
    inFlightNow: () => inFlight,
    async stop() {
      stopped = true;
      await Promise.all(running);
      client.close();
      return { ...counts, samples: [...counts.samples] };
    },
  };
}
