/**
 * `deno task bench:operator-scale`: the operator's translation of one Gateway against the number of its HTTPRoutes,
 * without a cluster. For each route count (`LACQUER_BENCH_SIZES`, 100, 1,000, 5,000, 20,000 and 50,000 by default;
 * one route per 10 hostnames beyond 5,000, so 50,000 routes on 5,000 hostnames; one hostname per route with
 * `LACQUER_BENCH_HOSTNAMES=per-route`) a process of its own, run with the
 * V8 flags the Helm chart ships (`operator.v8Flags`, or `LACQUER_OPERATOR_V8_FLAGS`), holds what the operator holds
 * (each route, with a status entry, as its cache keeps it: `cachedForm` of `kind_cache.ts`, the reflector's object and
 * the parsed one; the translation memo; the last result) and measures:
 *
 * - the first translation of the whole Gateway (the operator's start), and the regeneration after one route is
 *   created, updated or deleted (the memo kept, as the operator keeps it);
 * - the V8 heap in use after a full collection, beyond the same process's heap before the routes existed;
 * - routing.json's size, its shards, the manifest naming them, and the largest object stored (each must stay under
 *   the API server's 1 MiB).
 *
 * A size whose process runs out of heap under those flags is reported as such. Prints one JSON line per size;
 * `tests/bench/report.ts` puts them in the report.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { CONTROLLER_NAME } from "../internal/names.ts";
import { routingJsonData } from "../internal/routing_config_map.ts";
import { percentile } from "../tests/bench/percentile.ts";
import { operatorV8Flags } from "../tests/stack/shipped_v8_flags.ts";
import type { KubeObject } from "../internal/kube/mod.ts";
import type { HttpRoute } from "./api_types.ts";
import { WATCHED_KINDS } from "./cluster_watcher.ts";
import { cachedForm } from "./kind_cache.ts";
import { parseSnapshot, type Snapshot } from "./snapshot.ts";
import { translate } from "./translate.ts";
import { TranslationMemo } from "./translation_memo.ts";

/** What one route count measured. */
export interface ScaleSample {
  /** HTTPRoutes on the Gateway. */
  routes: number;
  /** Hostnames they spread over. */
  hostnames: number;
  /** The V8 flags the process ran with. */
  v8Flags: string;
  /** Whether it completed under them (false: out of heap; the other figures are then absent). */
  fits: boolean;
  /** The first translation of the whole Gateway, in ms. */
  coldMs?: number;
  /** Regeneration after one route changed, by kind of change: p50 and p99 in ms, and the number of changes. */
  regenerate?: Record<"create" | "update" | "delete", { p50: number; p99: number; n: number }>;
  /** The heap in use beyond the baseline, in bytes, and per route. */
  heapBytes?: number;
  /** Bytes per route. */
  heapPerRoute?: number;
  /** routing.json's size in bytes. */
  routingBytes?: number;
  /** Its shards (0: stored whole). */
  shards?: number;
  /** The largest stored ConfigMap data (after the gzip the ConfigMap codec applies), in bytes. */
  largestStoredBytes?: number;
  /** routing-shards.json's size in bytes, which every route change rewrites (0: stored whole). */
  manifestBytes?: number;
}

const CHANGES = Number(Deno.env.get("LACQUER_BENCH_CHANGES") ?? 20);

/**
 * `LACQUER_BENCH_HOSTNAMES=per-route`: every route has a hostname of its own (the shape of `deno task bench:e2e`, and
 * of a Gateway serving one site per route), instead of routes spread over {@linkcode hostnamesFor}'s hostnames.
 */
const HOST_PER_ROUTE = Deno.env.get("LACQUER_BENCH_HOSTNAMES") === "per-route";

/** The hostnames `routes` routes spread over. */
export function hostnamesFor(routes: number): number {
  return HOST_PER_ROUTE ? routes : Math.min(routes, Math.max(500, Math.ceil(routes / 10)));
}

/**
 * The `i`th bench HTTPRoute (namespace `bench`, named `r<i>`, on Gateway `bench/gw`), as the cache holds it once the
 * operator wrote its status.
 *
 * @param i Its number.
 * @param hosts The hostnames routes spread over ({@linkcode hostnamesFor}).
 * @param path Its rule's path prefix (another path: an update).
 * @returns The object as the API server sends it.
 */
export function routeObject(i: number, hosts: number, path = `/r${i}`): Record<string, unknown> {
  const name = `r${i}`;
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: {
      name,
      namespace: "bench",
      uid: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
      resourceVersion: String(1000 + i),
      generation: 1,
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec: {
      parentRefs: [{ name: "gw" }],
      // one hostname per route: a created route's is new too
      hostnames: [`h${HOST_PER_ROUTE ? i : i % hosts}.bench.example`],
      rules: [{
        matches: [{ path: { type: "PathPrefix", value: path }, headers: [{ name: "x-tenant", value: `t${i}` }] }],
        filters: [{
          type: "RequestHeaderModifier",
          requestHeaderModifier: { set: [{ name: "x-route", value: name }] },
        }],
        backendRefs: [{ name: `svc${i % 50}`, port: 8080, weight: 1 }],
      }],
    },
    // what the route carries once the operator wrote its status: the cache holds it
    status: {
      parents: [{
        parentRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" },
        controllerName: CONTROLLER_NAME,
        conditions: ["Accepted", "ResolvedRefs"].map((type) => ({
          type,
          status: "True",
          reason: type,
          message: "",
          observedGeneration: 1,
          lastTransitionTime: "2026-01-01T00:00:00Z",
        })),
      }],
    },
  };
}

/**
 * What the bench Gateway needs besides its routes: its GatewayClass, the Gateway `bench/gw` (one HTTP listener) and
 * the 50 Services the routes' backends name.
 *
 * @returns The objects as the API server sends them.
 */
export function baseObjects(): Record<string, unknown>[] {
  return [
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "lacquer" },
      spec: { controllerName: CONTROLLER_NAME },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "bench", uid: "gw" },
      spec: { gatewayClassName: "lacquer", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
    },
    ...Array.from({ length: 50 }, (_, i) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: `svc${i}`, namespace: "bench" },
      spec: { ports: [{ port: 8080 }] },
    })),
  ];
}

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("Run with --expose-gc in DENO_V8_FLAGS");
  for (let i = 0; i < 3; i++) gc();
  return Deno.memoryUsage().heapUsed;
}

/**
 * Measures one route count in this process (run it in a process of its own: the heap figures count everything).
 *
 * @param routes The number of HTTPRoutes.
 * @param v8Flags The flags this process runs with, for the record.
 * @returns The sample.
 */
export function measureScale(routes: number, v8Flags: string): ScaleSample {
  const hosts = hostnamesFor(routes);
  const options = {
    now: "2026-01-01T00:00:00Z",
    defaults: { image: "lacquer:bench" },
    gateways: ["bench/gw"],
    memo: new TranslationMemo(),
  };
  const base = parseSnapshot(baseObjects());
  translate(base, { ...options, memo: new TranslationMemo() });
  const baseline = heapAfterGc();
  // what the cache keeps of each route: the reflector's object and the parsed one
  const kind = WATCHED_KINDS.find((k) => k.kind === "HTTPRoute")!;
  const forms = Array.from(
    { length: routes },
    (_, i) => cachedForm(kind, routeObject(i, hosts) as unknown as KubeObject),
  );
  const raw = forms.map((form) => form.stored);
  const snapshot: Snapshot = { ...base, httpRoutes: forms.map((form) => form.parsed!.data as HttpRoute) };
  forms.length = 0;
  let start = performance.now();
  let result = translate(snapshot, options);
  const coldMs = performance.now() - start;
  const regenerate = { create: [] as number[], update: [] as number[], delete: [] as number[] };
  const timed = (kind: keyof typeof regenerate) => {
    start = performance.now();
    result = translate(snapshot, options);
    regenerate[kind].push(performance.now() - start);
  };
  for (let c = 0; c < CHANGES; c++) {
    const i = (c * 37) % routes;
    const changed = parseSnapshot([routeObject(i, hosts, `/changed${c}`)]).httpRoutes[0];
    snapshot.httpRoutes = snapshot.httpRoutes.map((r) => r.metadata.name === `r${i}` ? changed : r);
    timed("update");
    snapshot.httpRoutes = [...snapshot.httpRoutes, parseSnapshot([routeObject(routes + c, hosts)]).httpRoutes[0]];
    timed("create");
    snapshot.httpRoutes = snapshot.httpRoutes.filter((r) => r.metadata.name !== `r${routes + c}`);
    timed("delete");
  }
  const heapBytes = heapAfterGc() - baseline;
  const gw = result.gateways[0];
  const stored = gw.routingShards
    ? [gw.routingShards.manifest, ...gw.routingShards.shards.map((s) => s.text)]
    : [gw.routingJson ?? ""];
  const storedSize = (text: string) => {
    const { data, binaryData = {} } = routingJsonData(text);
    return [...Object.values(data), ...Object.values(binaryData)].reduce((n, v) => n + Buffer.byteLength(v), 0);
  };
  const largestStoredBytes = Math.max(...stored.map(storedSize));
  const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), n: xs.length });
  // keep what the operator keeps alive until the figure is taken
  if (raw.length !== routes || snapshot.httpRoutes.length !== routes) throw new Error("lost routes");
  return {
    routes,
    hostnames: hosts,
    v8Flags,
    fits: true,
    coldMs,
    regenerate: {
      create: stats(regenerate.create),
      update: stats(regenerate.update),
      delete: stats(regenerate.delete),
    },
    heapBytes,
    heapPerRoute: heapBytes / routes,
    routingBytes: Buffer.byteLength(gw.routingJson ?? "", "utf8"),
    shards: gw.routingShards?.shards.length ?? 0,
    largestStoredBytes,
    manifestBytes: Buffer.byteLength(gw.routingShards?.manifest ?? "", "utf8"),
  };
}

/**
 * Runs {@linkcode measureScale} for `routes` in a process of its own under `v8Flags`.
 *
 * @param routes The number of HTTPRoutes.
 * @param v8Flags The operator's V8 flags.
 * @returns The sample (`fits: false` when the process ran out of heap).
 */
export async function scaleSample(routes: number, v8Flags: string): Promise<ScaleSample> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(import.meta.url).pathname, String(routes)],
    env: { DENO_V8_FLAGS: `${v8Flags},--expose-gc`, LACQUER_SCALE_FLAGS: v8Flags },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.success) return JSON.parse(text.split("\n").pop()!);
  const err = new TextDecoder().decode(out.stderr);
  // V8 prints its fatal out-of-memory report on stdout
  if (/out of memory|Reached heap limit/i.test(text + err)) {
    return { routes, hostnames: hostnamesFor(routes), v8Flags, fits: false };
  }
  throw new Error(`The scale bench with ${routes} routes failed: ${err.slice(-2000)}`);
}

if (import.meta.main) {
  if (Deno.args[0]) {
    console.log(JSON.stringify(measureScale(Number(Deno.args[0]), Deno.env.get("LACQUER_SCALE_FLAGS") ?? "")));
  } else {
    const flags = operatorV8Flags();
    const sizes = (Deno.env.get("LACQUER_BENCH_SIZES") ?? "100,1000,5000,20000,50000").split(",").map(Number);
    for (const routes of sizes) console.log(JSON.stringify(await scaleSample(routes, flags)));
  }
}
