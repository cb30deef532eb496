/**
 * The chaperone's counters and their Prometheus text rendering, with Varnish counters from varnishstat. Pure.
 *
 * Format: https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 *
 * @module
 */
import { MetricsRegistry } from "../internal/metrics.ts";

/** A count and total duration of one kind of operation. */
export interface OperationStats {
  /** Successful runs. */
  success: number;
  /** Failed runs. */
  failure: number;
  /** Total seconds spent, successful and failed runs together. */
  seconds: number;
}

/** The chaperone's own numbers. */
export interface ChaperoneMetrics {
  /** VCL loads (`vcl.inline` + `vcl.use`). */
  vclReloads: OperationStats;
  /** ghost reloads. */
  ghostReloads: OperationStats;
  /** ghost.json files written (identical content is not written). */
  ghostWrites: number;
  /** routing.json documents rejected by the contract. */
  routingRejected: number;
  /**
   * routing.json shards new to the pod, by where they came from: pushed with their generation by the operator, held by
   * the watch of the shards as their manifest was read, or fetched by name (the watch did not hold them in time).
   */
  routingShards: { push: number; watch: number; api: number };
  /** Routing generations the operator pushed: taken, or stale (a newer one was there already). */
  routingPushes: { taken: number; stale: number };
  /** Completed sync runs. */
  syncs: number;
  /** Seconds spent in completed sync runs. */
  syncSeconds: number;
  /**
   * Seconds of completed sync runs by stage (`wait`: first change event → sync start, `read`: ConfigMap and shards,
   * `build`: ghost.json merged and serialized, `write`: ghost.json written, `ghost`: ghost reloads, `vcl`: the rest of
   * applying to varnishd).
   */
  syncStageSeconds: Record<SyncStage, number>;
  /** varnishd starts. */
  varnishdStarts: number;
  /** Backend groups in ghost.json. */
  backends: number;
  /** Backend groups without any endpoint. */
  backendsEmpty: number;
  /** Endpoints in ghost.json (an endpoint used by several groups counts each time). */
  endpoints: number;
  /** Route entries in ghost.json. */
  routes: number;
  /** Routes ghost reported loaded at its last reload. */
  ghostRoutesLoaded: number;
  /** Routes ghost reported skipped (unusable) at its last reload. */
  ghostRoutesSkipped: number;
  /** 1 when /readyz answers 200. */
  ready: number;
  /** 1 while draining. */
  draining: number;
  /** Per TLS listener socket: whether hitch serves TLS, its starts and its certificate reloads. */
  hitch: Record<string, { up: number; starts: number; reloads: number }>;
  /** `POST /invalidate` calls by `<kind>/<result>` (at most 5 × 5 entries), with time spent and objects affected. */
  invalidations: Record<string, { count: number; seconds: number; objects: number }>;
}

/** The stages of a sync, from the change event to the state ghost serves ({@linkcode ChaperoneMetrics.syncStageSeconds}). */
export const SYNC_STAGES = ["wait", "read", "build", "write", "ghost", "vcl"] as const;

/** One of {@linkcode SYNC_STAGES}. */
export type SyncStage = typeof SYNC_STAGES[number];

/** Returns a zeroed {@linkcode ChaperoneMetrics}. */
export function emptyMetrics(): ChaperoneMetrics {
  const op = () => ({ success: 0, failure: 0, seconds: 0 });
  return {
    vclReloads: op(),
    ghostReloads: op(),
    ghostWrites: 0,
    routingRejected: 0,
    routingShards: { push: 0, watch: 0, api: 0 },
    routingPushes: { taken: 0, stale: 0 },
    syncs: 0,
    syncSeconds: 0,
    syncStageSeconds: { wait: 0, read: 0, build: 0, write: 0, ghost: 0, vcl: 0 },
    varnishdStarts: 0,
    backends: 0,
    backendsEmpty: 0,
    endpoints: 0,
    routes: 0,
    ghostRoutesLoaded: 0,
    ghostRoutesSkipped: 0,
    ready: 0,
    draining: 0,
    hitch: {},
    invalidations: {},
  };
}

/**
 * Counts one `POST /invalidate` call in {@linkcode ChaperoneMetrics.invalidations}.
 *
 * @example Usage
 * ```ts
 * import { countInvalidation, emptyMetrics } from "./metrics.ts";
 * const metrics = emptyMetrics();
 * countInvalidation(metrics, { kind: "tag", result: "ok", affected: 3, durationMs: 2 });
 * ```
 *
 * @param metrics The chaperone's numbers, updated in place.
 * @param call The call's kind and result, objects affected and time spent when known.
 */
export function countInvalidation(
  metrics: ChaperoneMetrics,
  call: { kind: string; result: string; affected?: number | null; durationMs?: number },
): void {
  const key = `${call.kind}/${call.result}`;
  const entry = metrics.invalidations[key] ?? { count: 0, seconds: 0, objects: 0 };
  entry.count++;
  entry.seconds += (call.durationMs ?? 0) / 1000;
  entry.objects += call.affected ?? 0;
  metrics.invalidations[key] = entry;
}

/** One varnishstat counter (`varnishstat -j`). */
export interface VarnishCounter {
  /** The counter's description. */
  description: string;
  /** `c` counter, `g` gauge, `b` bitmap. */
  flag: string;
  /** The value. */
  value: number;
}

const PREFIX = "lacquer_chaperone_";

function metricName(counter: string): string {
  return "varnish_" + counter.toLowerCase().replace(/[^a-z0-9_]/g, "_");
}

/**
 * Renders the metrics in the Prometheus text format. Varnish counters become `varnish_<name>` (`MAIN.client_req`
 * → `varnish_main_client_req`); per-backend `VBE.*` counters are left out, since ghost creates one backend per
 * endpoint and their number is unbounded.
 *
 * @example Usage
 * ```ts
 * import { emptyMetrics, renderMetrics } from "./metrics.ts";
 * const text = renderMetrics(emptyMetrics(), { "MAIN.client_req": { description: "Good requests", flag: "c", value: 3 } });
 * ```
 *
 * @param metrics The chaperone's numbers.
 * @param varnish Varnish counters by name.
 * @returns The exposition text.
 */
export function renderMetrics(metrics: ChaperoneMetrics, varnish: Record<string, VarnishCounter>): string {
  const registry = new MetricsRegistry();
  const op = (name: string, text: string, stats: OperationStats) => {
    const total = registry.counter(`${PREFIX}${name}_total`, text);
    total.inc({ result: "success" }, stats.success);
    total.inc({ result: "failure" }, stats.failure);
    registry.counter(`${PREFIX}${name}_seconds_total`, `Time spent in ${text.toLowerCase()}`).inc({}, stats.seconds);
  };
  const one = (name: string, type: "counter" | "gauge", text: string, value: number) => {
    if (type === "counter") registry.counter(`${PREFIX}${name}`, text).inc({}, value);
    else registry.gauge(`${PREFIX}${name}`, text).set(value);
  };
  op("vcl_reloads", "VCL reloads", metrics.vclReloads);
  op("ghost_reloads", "Ghost reloads", metrics.ghostReloads);
  one("ghost_writes_total", "counter", "ghost.json files written", metrics.ghostWrites);
  one("routing_rejected_total", "counter", "routing.json documents rejected", metrics.routingRejected);
  const shards = registry.counter(
    `${PREFIX}routing_shards_total`,
    "routing.json shards new to the pod: pushed with their generation (push), held by the watch (watch) or fetched by name (api)",
  );
  for (const source of ["push", "watch", "api"] as const) shards.inc({ source }, metrics.routingShards[source]);
  const pushes = registry.counter(
    `${PREFIX}routing_pushes_total`,
    "Routing generations the operator pushed: taken, or stale (a newer one was there already)",
  );
  for (const result of ["taken", "stale"] as const) pushes.inc({ result }, metrics.routingPushes[result]);
  one("syncs_total", "counter", "Sync runs completed", metrics.syncs);
  one("sync_seconds_total", "counter", "Time spent in completed sync runs", metrics.syncSeconds);
  const stages = registry.counter(`${PREFIX}sync_stage_seconds_total`, "Time of completed sync runs by stage");
  for (const stage of SYNC_STAGES) stages.inc({ stage }, metrics.syncStageSeconds[stage]);
  one("varnishd_starts_total", "counter", "varnishd starts", metrics.varnishdStarts);
  one("backends", "gauge", "Backend groups in ghost.json", metrics.backends);
  one("backends_without_endpoints", "gauge", "Backend groups without endpoints", metrics.backendsEmpty);
  one("endpoints", "gauge", "Endpoints in ghost.json", metrics.endpoints);
  one("routes", "gauge", "Route entries in ghost.json", metrics.routes);
  one("ghost_routes_loaded", "gauge", "Routes ghost loaded at its last reload", metrics.ghostRoutesLoaded);
  one(
    "ghost_routes_skipped",
    "gauge",
    "Routes ghost skipped as unusable at its last reload",
    metrics.ghostRoutesSkipped,
  );
  one("ready", "gauge", "1 when the gateway is ready", metrics.ready);
  one("draining", "gauge", "1 while draining", metrics.draining);
  const sockets = Object.keys(metrics.hitch).sort();
  if (sockets.length > 0) {
    const perSocket = (name: string, type: "counter" | "gauge", text: string, field: "up" | "starts" | "reloads") => {
      const family = type === "counter" ? registry.counter(`${PREFIX}${name}`, text) : undefined;
      const gauge = type === "gauge" ? registry.gauge(`${PREFIX}${name}`, text) : undefined;
      for (const socket of sockets) {
        family?.inc({ socket }, metrics.hitch[socket][field]);
        gauge?.set(metrics.hitch[socket][field], { socket });
      }
    };
    perSocket("hitch_up", "gauge", "1 when hitch accepts TLS connections on the listener socket", "up");
    perSocket("hitch_starts_total", "counter", "hitch starts", "starts");
    perSocket("hitch_reloads_total", "counter", "hitch certificate reloads (SIGHUP)", "reloads");
  }
  const invalidations = Object.keys(metrics.invalidations).sort();
  if (invalidations.length > 0) {
    const calls = registry.counter(`${PREFIX}invalidations_total`, "POST /invalidate calls by kind and result");
    const seconds = registry.counter(`${PREFIX}invalidation_seconds_total`, "Time spent applying invalidations");
    const objects = registry.counter(`${PREFIX}invalidated_objects_total`, "Objects removed or marked stale");
    for (const key of invalidations) {
      const [kind, result] = key.split("/");
      const entry = metrics.invalidations[key];
      calls.inc({ kind, result }, entry.count);
      seconds.inc({ kind, result }, entry.seconds);
      if (result === "ok") objects.inc({ kind }, entry.objects);
    }
  }
  for (const name of Object.keys(varnish).sort()) {
    const counter = varnish[name];
    if (name.startsWith("VBE.") || (counter.flag !== "c" && counter.flag !== "g")) continue;
    if (counter.flag === "c") registry.counter(metricName(name), counter.description).inc({}, counter.value);
    else registry.gauge(metricName(name), counter.description).set(counter.value);
  }
  return registry.render();
}

/**
 * Counts backends, endpoints and routes of a ghost.json document for the gauges.
 *
 * @param ghost The document.
 * @returns The counts.
 */
export function countGhost(
  ghost: {
    vhosts: Record<string, { routes: { backends: { endpoints: unknown[]; backend?: string }[] }[] }>;
    backends?: Record<string, { endpoints: unknown[] }>;
  },
): Pick<ChaperoneMetrics, "backends" | "backendsEmpty" | "endpoints" | "routes"> {
  let backends = 0, backendsEmpty = 0, endpoints = 0, routes = 0;
  for (const vhost of Object.values(ghost.vhosts)) {
    for (const route of vhost.routes) {
      routes++;
      for (const backend of route.backends) {
        // a group naming a `backends` entry the document does not hold is counted by whoever holds the entry
        const held = backend.backend === undefined ? backend.endpoints : ghost.backends?.[backend.backend]?.endpoints;
        if (held === undefined) continue;
        backends++;
        endpoints += held.length;
        if (held.length === 0) backendsEmpty++;
      }
    }
  }
  return { backends, backendsEmpty, endpoints, routes };
}

/**
 * Reads the route counts from ghost's reload answer (`{"routes": n, "skipped": [...]}`); other answers count 0.
 *
 * @example Usage
 * ```ts
 * import { ghostReportCounts } from "./metrics.ts";
 * ghostReportCounts({ routes: 3, skipped: [{ route: "ns/r rule 0" }] }); // { ghostRoutesLoaded: 3, ghostRoutesSkipped: 1 }
 * ```
 *
 * @param report The parsed answer.
 * @returns The counts.
 */
export function ghostReportCounts(
  report: unknown,
): Pick<ChaperoneMetrics, "ghostRoutesLoaded" | "ghostRoutesSkipped"> {
  const r = (typeof report === "object" && report !== null ? report : {}) as { routes?: unknown; skipped?: unknown };
  return {
    ghostRoutesLoaded: typeof r.routes === "number" ? r.routes : 0,
    ghostRoutesSkipped: Array.isArray(r.skipped) ? r.skipped.length : 0,
  };
}

/** The states read at scrape time. */
export interface LiveStates {
  /** The readiness verdict. */
  ready: boolean;
  /** Whether a drain has started. */
  draining: boolean;
  /** Each hitch, by TLS listener socket name. */
  hitches: ReadonlyMap<string, { readonly state: string; readonly starts: number; readonly reloads: number }>;
}

/**
 * Returns the counters with the gauges that mirror live states (ready, draining, per-hitch) filled in, for
 * {@linkcode renderMetrics}.
 *
 * @example Usage
 * ```ts
 * import { emptyMetrics, withLiveGauges } from "./metrics.ts";
 * withLiveGauges(emptyMetrics(), { ready: true, draining: false, hitches: new Map() }).ready; // 1
 * ```
 *
 * @param metrics The counters.
 * @param live The states.
 * @returns A copy with the gauges set.
 */
export function withLiveGauges(metrics: ChaperoneMetrics, live: LiveStates): ChaperoneMetrics {
  const hitch = Object.fromEntries(
    [...live.hitches].map((
      [name, h],
    ) => [name, { up: h.state === "running" ? 1 : 0, starts: h.starts, reloads: h.reloads }]),
  );
  return { ...metrics, ready: live.ready ? 1 : 0, draining: live.draining ? 1 : 0, hitch };
}
