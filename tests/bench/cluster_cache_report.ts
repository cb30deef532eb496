/**
 * The clustered-cache benchmark's report: per pod count and mode, the Zipf workload's origin fetches and hit ratio,
 * the target check, and the latency a peer hop adds to a hit. Pure.
 *
 * @module
 */
import { hitRatio } from "./cache_report.ts";

/** One configuration's measured Zipf run, summed over its pods. */
export interface ClusterRun {
  /** Gateway pods (varnishd instances). */
  pods: number;
  /** Whether the pods share one cache. */
  clustered: boolean;
  /** Requests the load generators sent. */
  requests: number;
  /** Requests/s over all pods. */
  rps: number;
  /** The worst pod's p99 in milliseconds. */
  p99Ms: number;
  /** Failed requests (non-2xx/3xx and socket errors). */
  errors: number;
  /** Requests the origin received. */
  originFetches: number;
  /** Lookups that hit (fresh or stale), counted by the pod that looked up. */
  hits: number;
  /** Lookups that missed. */
  misses: number;
  /** Looked-up requests that hopped to their owner. */
  hops: number;
  /** Objects stored over all pods at the end. */
  objects: number;
}

/** The latency of a hit asked of its owner and of another pod (one hop). */
export interface HopLatency {
  /** Connections of the latency runs. */
  connections: number;
  /** The owner's own hit. */
  local: { p50Ms: number; p99Ms: number; rps: number };
  /** The hit through a pod that hops to the owner. */
  hop: { p50Ms: number; p99Ms: number; rps: number };
}

/** Everything the report shows. */
export interface ClusterBenchResult {
  /** The runs, in the order measured. */
  runs: ClusterRun[];
  /** The peer hop's cost. */
  latency: HopLatency;
  /** Workload and storage. */
  settings: {
    objects: number;
    exponent: number;
    storage: string;
    duration: number;
    connections: number;
    body: number;
    rounds: number;
    /** Lookups served before each measured run. */
    warmup?: number;
  };
  /** The load average when the runs started. */
  loadAtStart: string;
  /** varnishd's version, the VMOD measured and the machine. */
  versions?: string;
}

const fixed = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits });
const percent = (ratio: number) => `${(ratio * 100).toFixed(1)} %`;

/**
 * Whether the target holds: with 3 pods, the clustered hit ratio is at least a single pod's and its origin fetches
 * per request at most the single pod's. Undefined when a run is missing.
 *
 * @param runs The runs.
 * @returns The verdict and why.
 */
export function targetVerdict(runs: readonly ClusterRun[]): { met: boolean; why: string } | undefined {
  const single = runs.find((r) => r.pods === 1 && !r.clustered);
  const three = runs.find((r) => r.pods === 3 && r.clustered);
  if (!single || !three) return undefined;
  const singleRatio = hitRatio(single.hits, single.misses), threeRatio = hitRatio(three.hits, three.misses);
  const fetchRate = (r: ClusterRun) => r.originFetches / Math.max(1, r.requests);
  const met = threeRatio >= singleRatio && fetchRate(three) <= fetchRate(single);
  return {
    met,
    why: `3 clustered pods ${percent(threeRatio)} vs 1 pod ${percent(singleRatio)}; origin fetches per 1,000 ` +
      `requests ${fixed(fetchRate(three) * 1000, 1)} vs ${fixed(fetchRate(single) * 1000, 1)}`,
  };
}

/**
 * Formats the report.
 *
 * @param result The measurements.
 * @returns Markdown text ending with a newline.
 */
export function formatClusterReport(result: ClusterBenchResult): string {
  const { settings, latency } = result;
  const verdict = targetVerdict(result.runs);
  const lines = [
    `Zipf (exponent ${settings.exponent}) over ${fixed(settings.objects)} objects of ${settings.body} bytes, ` +
    `malloc,${settings.storage} of storage per pod; ${settings.connections} connections spread over the pods ` +
    `(one wrk per pod, as a Service spreads clients); per configuration warm-up runs ` +
    `${settings.warmup === undefined ? "" : `until the pods served ${fixed(settings.warmup)} lookups `}` +
    `then a measured run of ` +
    `${settings.duration} s (load average ${result.loadAtStart} at the start${
      result.versions ? `; ${result.versions}` : ""
    }):`,
    "",
    "| pods | cache | requests | origin fetches | per 1,000 requests | hit ratio | hopped | objects stored | requests/s | p99 | errors |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...result.runs.map((r) =>
      `| ${r.pods} | ${r.clustered ? "clustered" : "independent"} | ${fixed(r.requests)} | ${
        fixed(r.originFetches)
      } | ` +
      `${fixed((r.originFetches / Math.max(1, r.requests)) * 1000, 1)} | ${percent(hitRatio(r.hits, r.misses))} | ` +
      `${percent(r.hops / Math.max(1, r.hits + r.misses))} | ${fixed(r.objects)} | ${fixed(r.rps)} | ` +
      `${fixed(r.p99Ms, 2)} ms | ${r.errors} |`
    ),
    "",
    verdict
      ? `Target (3 clustered pods hit at least as often as 1 pod, origin fetches fall accordingly): ` +
        `${verdict.met ? "met" : "NOT met"}: ${verdict.why}.`
      : "Target not evaluated: the 1-pod or the 3-pod clustered run is missing.",
    "",
    `A peer hop's cost: one object, hit, asked with wrk -t1 -c${latency.connections} of its owner and of another pod ` +
    `of 3 clustered pods (which hops to the owner), the median of ${settings.rounds} interleaved rounds:`,
    "",
    "| hit | p50 | p99 | requests/s |",
    "| --- | ---: | ---: | ---: |",
    `| on the owner | ${fixed(latency.local.p50Ms, 3)} ms | ${fixed(latency.local.p99Ms, 2)} ms | ` +
    `${fixed(latency.local.rps)} |`,
    `| through another pod (one hop) | ${fixed(latency.hop.p50Ms, 3)} ms | ${fixed(latency.hop.p99Ms, 2)} ms | ` +
    `${fixed(latency.hop.rps)} |`,
    "",
    `The hop adds ${fixed(latency.hop.p50Ms - latency.local.p50Ms, 3)} ms at the median and ` +
    `${fixed(latency.hop.p99Ms - latency.local.p99Ms, 2)} ms at p99.`,
  ];
  return lines.join("\n") + "\n";
}
