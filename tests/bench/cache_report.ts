/**
 * The cache benchmark's arithmetic: wrk's output parsed, ratios and hit ratio computed, a Markdown report. Pure.
 *
 * @module
 */

/** What one wrk run measured. */
export interface WrkRun {
  /** Requests per second. */
  rps: number;
  /** 99th percentile latency in milliseconds. */
  p99Ms: number;
  /** Non-2xx/3xx answers plus socket errors. */
  errors: number;
}

/** One named wrk run. */
export interface Scenario extends WrkRun {
  /** What was measured. */
  name: string;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/**
 * Parses `wrk --latency` output.
 *
 * @example Usage
 * ```ts
 * import { parseWrk } from "./cache_report.ts";
 * parseWrk("     99%   1.50ms\nRequests/sec:  1000.00\n"); // { rps: 1000, p99Ms: 1.5, errors: 0 }
 * ```
 *
 * @param text wrk's standard output.
 * @returns Requests per second, p99 and errors.
 * @throws {Error} When the output has no requests/s or p99 line.
 */
export function parseWrk(text: string): WrkRun {
  const rps = text.match(/^Requests\/sec:\s+([\d.]+)/m);
  const p99 = wrkPercentileMs(text, 99);
  if (!rps || p99 === undefined) throw new Error(`Cannot read wrk's output:\n${text}`);
  const non2xx = Number(text.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0);
  const socket = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const socketErrors = socket ? socket.slice(1).reduce((total, n) => total + Number(n), 0) : 0;
  return { rps: Number(rps[1]), p99Ms: p99, errors: non2xx + socketErrors };
}

/**
 * Reads one percentile of `wrk --latency`'s latency distribution (50, 75, 90 or 99).
 *
 * @example Usage
 * ```ts
 * import { wrkPercentileMs } from "./cache_report.ts";
 * wrkPercentileMs("     50%  250.00us\n", 50); // 0.25
 * ```
 *
 * @param text wrk's standard output.
 * @param percentile Which line.
 * @returns Milliseconds, or undefined when the output has no such line.
 */
export function wrkPercentileMs(text: string, percentile: 50 | 75 | 90 | 99): number | undefined {
  const line = text.match(new RegExp(`^\\s+${percentile}%\\s+([\\d.]+)(us|ms|s|m)\\b`, "m"));
  return line ? Number(line[1]) * UNIT_MS[line[2]] : undefined;
}

/** The Zipf workload's results. */
export interface ZipfResult {
  /** Distinct objects requested. */
  objects: number;
  /** The Zipf exponent. */
  exponent: number;
  /** The storage size given to varnishd (`-s malloc,<storage>`). */
  storage: string;
  /** The wrk run. */
  run: WrkRun;
  /** Fresh and stale hits of the rule during the measured run. */
  hits: number;
  /** Misses of the rule. */
  misses: number;
  /** Objects in the cache at the end. */
  objectsCached: number;
  /** Objects evicted (LRU) during the measured run. */
  evicted: number;
  /** Bytes of storage in use at the end. */
  storageUsed: number;
}

/** Everything the report shows. */
export interface CacheBenchResult {
  /** Hit, pass, origin direct, nginx proxy, plain-VCL hit, in that order. */
  scenarios: Scenario[];
  /** The Zipf workload. */
  zipf: ZipfResult;
  /** How wrk was run. */
  settings: { duration: number; rounds: number; connections: number; body: number };
  /** The load average (1, 5, 15 minutes) when the scenarios started, as `/proc/loadavg` has it. */
  loadAtStart: string;
}

/**
 * The round with the median requests/s (the lower middle one for an even count), with its own p99.
 *
 * @param runs The rounds of one scenario, at least one.
 * @returns The median round.
 */
export function medianRun<T extends WrkRun>(runs: readonly T[]): T {
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * Hits over hits plus misses, or 0 without requests.
 *
 * @param hits Hits.
 * @param misses Misses.
 * @returns The ratio.
 */
export function hitRatio(hits: number, misses: number): number {
  return hits + misses === 0 ? 0 : hits / (hits + misses);
}

const fixed = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits });

/**
 * Formats the report: a table of the scenarios, the target ratios, what ghost costs against a plain-VCL hit, and the
 * Zipf workload.
 *
 * @param result The measurements.
 * @returns Markdown text ending with a newline.
 */
export function formatReport(result: CacheBenchResult): string {
  const [hit, pass, , nginx, plain] = result.scenarios;
  const { settings, zipf } = result;
  const lines = [
    `wrk -t2 -c${settings.connections} -d${settings.duration}s, ${settings.body}-byte bodies, loopback; the median of ` +
    `${settings.rounds} interleaved rounds per scenario (load average ${result.loadAtStart} at the start):`,
    "",
    "| scenario | requests/s | p99 | errors |",
    "| --- | ---: | ---: | ---: |",
    ...result.scenarios.map((s) => `| ${s.name} | ${fixed(s.rps)} | ${fixed(s.p99Ms, 2)} ms | ${s.errors} |`),
    "",
    `- hit / pass: ${fixed(hit.rps / pass.rps, 2)}× (target ≥ 3×)`,
    `- hit / nginx proxying: ${fixed(hit.rps / nginx.rps, 2)}× (target ≥ 1.2×)`,
    `- pass / nginx proxying: ${fixed(pass.rps / nginx.rps, 2)}×`,
    `- hit / plain-VCL hit: ${fixed(hit.rps / plain.rps, 2)}× (what ghost's routing and cache decision cost on a hit)`,
    `- plain-VCL hit / nginx proxying: ${fixed(plain.rps / nginx.rps, 2)}×`,
    "",
    `Zipf (exponent ${zipf.exponent}) over ${fixed(zipf.objects)} objects, storage malloc,${zipf.storage}, ` +
    `after a warm-up run of the same length:`,
    `hit ratio ${fixed(hitRatio(zipf.hits, zipf.misses) * 100, 1)} % (${fixed(zipf.hits)} hits, ` +
    `${fixed(zipf.misses)} misses), ${fixed(zipf.run.rps)} requests/s, p99 ${fixed(zipf.run.p99Ms, 2)} ms, ` +
    `${fixed(zipf.objectsCached)} objects cached, ${fixed(zipf.evicted)} evicted, ` +
    `${fixed(zipf.storageUsed / 1048576, 1)} MiB used, ${zipf.run.errors} errors.`,
  ];
  return lines.join("\n") + "\n";
}
