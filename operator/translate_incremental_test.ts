import { deepStrictEqual, ok } from "node:assert/strict";
import { CONTROLLER_NAME } from "../internal/names.ts";
import { keepUnchangedSpec } from "./kind_cache.ts";
import { parseSnapshot, type Snapshot } from "./snapshot.ts";
import { translate, type TranslateResult } from "./translate.ts";
import { TranslationMemo } from "./translation_memo.ts";

// The incremental translation (one memo kept across changes, unchanged objects kept as the same parsed objects, as
// the operator's caches keep them) must give exactly what a translation from scratch gives, after any sequence of
// route creations, updates and deletions. Routes compete for the same hostnames and paths so that every precedence
// rule (match kind, path length, headers, query, method, age, name) decides between them. Between the changes, the
// status the operator computed is written to a route or to the Gateway, as the operator does: the cache then holds a
// new object whose spec is the old spec object (`keepUnchangedSpec`), and the memo must keep serving it.

const OPTIONS = { now: "2026-01-01T00:00:00Z", defaults: { image: "lacquer:test" }, gateways: ["ns/gw"] };

/** mulberry32: a small seeded generator, so that a failure names a sequence that can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Raw = Record<string, unknown>;

function fixed(): Raw[] {
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
      metadata: { name: "gw", namespace: "ns", uid: "u1" },
      spec: {
        gatewayClassName: "lacquer",
        listeners: [
          { name: "http", port: 80, protocol: "HTTP" },
          { name: "team", port: 8080, protocol: "HTTP", hostname: "*.a.example" },
        ],
      },
    },
    ...["svc0", "svc1", "svc2"].map((name) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "ns" },
      spec: { ports: [{ port: 80 }] },
    })),
    {
      apiVersion: "lacquer.dev/v1alpha1",
      kind: "CachePolicy",
      metadata: { name: "cached", namespace: "ns", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec: {
        targetRefs: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "r3" }],
        ttl: { default: "5m" },
      },
    },
  ];
}

/** A random route named `name`; `pad` bytes of header value make the Gateway's routing.json large enough to shard. */
function randomRoute(rand: () => number, name: string, pad: number): Raw {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const hosts = ["x.a.example", "y.a.example", "*.a.example", "b.example", "*.example", "c.example"];
  const hostnames = rand() < 0.2 ? [] : [...new Set([pick(hosts), ...(rand() < 0.3 ? [pick(hosts)] : [])])];
  const match = () => ({
    path: pick([
      { type: "PathPrefix", value: pick(["/", "/a", "/a/b", "/c"]) },
      { type: "Exact", value: pick(["/a", "/a/b", "/c"]) },
      { type: "RegularExpression", value: pick(["/a/[0-9]+", "/c.*"]) },
    ]),
    ...(rand() < 0.3 ? { headers: [{ name: "x-h", value: pick(["1", "2"]) }] } : {}),
    ...(rand() < 0.2 ? { queryParams: [{ name: "q", value: "1" }] } : {}),
    ...(rand() < 0.2 ? { method: pick(["GET", "POST"]) } : {}),
  });
  const rule = () => ({
    matches: Array.from({ length: 1 + Math.floor(rand() * 2) }, match),
    filters: [{
      type: "RequestHeaderModifier",
      requestHeaderModifier: { set: [{ name: "x-pad", value: "p".repeat(pad) }] },
    }],
    // svc9 does not exist: the rule answers 500 and the route reports ResolvedRefs False
    backendRefs: [{ name: pick(["svc0", "svc1", "svc2", "svc9"]), port: 80, weight: 1 + Math.floor(rand() * 3) }],
  });
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: {
      name,
      namespace: "ns",
      // few distinct ages: ties are decided by name
      creationTimestamp: `2026-01-01T00:00:0${Math.floor(rand() * 3)}Z`,
    },
    spec: {
      parentRefs: [pick([{ name: "gw" }, { name: "gw", sectionName: "team" }, { name: "gw", sectionName: "http" }])],
      ...(hostnames.length ? { hostnames } : {}),
      rules: Array.from({ length: 1 + Math.floor(rand() * 2) }, rule),
    },
  };
}

/**
 * The snapshot the operator's caches hold: a changed object is parsed anew (keeping its spec object when the spec is
 * the same, as the cache does), the others stay the same objects.
 */
function reparse(snapshot: Snapshot, routes: Map<string, Raw>, changed: string): Snapshot {
  const byName = new Map(snapshot.httpRoutes.map((r) => [r.metadata.name, r]));
  const raw = routes.get(changed);
  if (raw) byName.set(changed, keepUnchangedSpec(byName.get(changed), parseSnapshot([raw]).httpRoutes[0]));
  else byName.delete(changed);
  return { ...snapshot, httpRoutes: [...byName.values()] };
}

/** The Gateway with the status a translation computed written to it, as the cache then holds it. */
function withGatewayStatus(snapshot: Snapshot, gateway: Raw, result: TranslateResult): Snapshot {
  gateway.status = structuredClone(result.gateways[0].status);
  const parsed = keepUnchangedSpec(snapshot.gateways[0], parseSnapshot([gateway]).gateways[0]);
  return { ...snapshot, gateways: [parsed] };
}

/** A route with the parent entries a translation computed for it written to its status. */
function withRouteStatus(route: Raw, result: TranslateResult): Raw {
  const key = `ns/${(route.metadata as { name: string }).name}`;
  const parents = result.routes.filter((r) => r.key === key).flatMap((r) => r.parents);
  return { ...route, status: structuredClone({ parents }) };
}

for (
  const { seed, routes: count, pad, label } of [
    { seed: 1, routes: 40, pad: 10, label: "whole routing.json" },
    { seed: 7, routes: 120, pad: 2600, label: "routing.json in shards" },
  ]
) {
  Deno.test(`translate() with a memo after random route creations, updates and deletions equals a fresh translation (${label})`, () => {
    const rand = random(seed);
    const memo = new TranslationMemo();
    const routes = new Map<string, Raw>();
    for (let i = 0; i < count; i++) routes.set(`r${i}`, randomRoute(rand, `r${i}`, pad));
    const base = fixed();
    const gateway = base.find((o) => o.kind === "Gateway")!;
    let snapshot = parseSnapshot([...base, ...routes.values()]);
    let last = translate(snapshot, { ...OPTIONS, memo });
    let sharded = 0;
    const kinds = new Set<string>();
    for (let step = 0; step < 60; step++) {
      const name = `r${Math.floor(rand() * (count + 10))}`;
      const dice = rand();
      const kind = dice < 0.1
        ? "gateway status"
        : !routes.has(name)
        ? "create"
        : dice < 0.3
        ? "delete"
        : dice < 0.5
        ? "route status"
        : "update";
      kinds.add(kind);
      if (kind === "gateway status") snapshot = withGatewayStatus(snapshot, gateway, last);
      else {
        if (kind === "delete") routes.delete(name);
        else {routes.set(
            name,
            kind === "route status" ? withRouteStatus(routes.get(name)!, last) : randomRoute(rand, name, pad),
          );}
        snapshot = reparse(snapshot, routes, name);
      }
      const incremental = translate(snapshot, { ...OPTIONS, memo });
      const full = translate(parseSnapshot([...base, ...routes.values()]), OPTIONS);
      deepStrictEqual(incremental, full, `seed ${seed}, step ${step}: ${kind} ${name}`);
      if (full.gateways[0].routingShards) sharded++;
      // A status write keeps the memo's work: the same status entries, the same vhost objects.
      if (kind === "route status") {
        const entries = (r: TranslateResult) => r.routes.find((x) => x.key === `ns/${name}`)?.parents;
        ok(entries(incremental) === entries(last), `step ${step}: ${name}'s entries computed again`);
      }
      if (kind.endsWith("status")) {
        const [before, after] = [last, incremental].map((r) => Object.values(r.gateways[0].routing!.vhosts));
        ok(after.every((v, i) => v === before[i]), `step ${step}: vhosts built again after a ${kind} write`);
      }
      last = incremental;
    }
    // the case covers what its label says
    ok(label.includes("shards") ? sharded === 60 : sharded === 0, `${sharded} of 60 steps sharded`);
    deepStrictEqual([...kinds].sort(), ["create", "delete", "gateway status", "route status", "update"]);
  });
}
