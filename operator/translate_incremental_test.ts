import { deepStrictEqual, ok } from "node:assert/strict";
import { CONTROLLER_NAME } from "../internal/names.ts";
import { parseSnapshot, type Snapshot } from "./snapshot.ts";
import { translate } from "./translate.ts";
import { TranslationMemo } from "./translation_memo.ts";

// The incremental translation (one memo kept across changes, unchanged objects kept as the same parsed objects, as
// the operator's caches keep them) must give exactly what a translation from scratch gives, after any sequence of
// route creations, updates and deletions. Routes compete for the same hostnames and paths so that every precedence
// rule (match kind, path length, headers, query, method, age, name) decides between them.

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

/** The snapshot the operator's caches hold: a changed object is parsed anew, the others stay the same objects. */
function reparse(snapshot: Snapshot, routes: Map<string, Raw>, changed: string): Snapshot {
  const byName = new Map(snapshot.httpRoutes.map((r) => [r.metadata.name, r]));
  const raw = routes.get(changed);
  if (raw) byName.set(changed, parseSnapshot([raw]).httpRoutes[0]);
  else byName.delete(changed);
  return { ...snapshot, httpRoutes: [...byName.values()] };
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
    let snapshot = parseSnapshot([...fixed(), ...routes.values()]);
    translate(snapshot, { ...OPTIONS, memo });
    let sharded = 0;
    for (let step = 0; step < 40; step++) {
      const name = `r${Math.floor(rand() * (count + 10))}`;
      const kind = !routes.has(name) ? "create" : rand() < 0.3 ? "delete" : "update";
      if (kind === "delete") routes.delete(name);
      else routes.set(name, randomRoute(rand, name, pad));
      snapshot = reparse(snapshot, routes, name);
      const incremental = translate(snapshot, { ...OPTIONS, memo });
      const full = translate(parseSnapshot([...fixed(), ...routes.values()]), OPTIONS);
      deepStrictEqual(incremental, full, `seed ${seed}, step ${step}: ${kind} ${name}`);
      if (full.gateways[0].routingShards) sharded++;
    }
    // the case covers what its label says
    ok(label.includes("shards") ? sharded === 40 : sharded === 0, `${sharded} of 40 steps sharded`);
  });
}
