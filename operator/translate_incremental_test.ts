import { deepStrictEqual, ok } from "node:assert/strict";
import { CONTROLLER_NAME } from "../internal/names.ts";
import { keepUnchangedSpec } from "./kind_cache.ts";
import { parseSnapshot, type Snapshot } from "./snapshot.ts";
import { restatusGateway, translate, type TranslateResult } from "./translate.ts";
import { TranslationMemo } from "./translation_memo.ts";
import { baseObjects, hostnamesFor, routeObject } from "./scale_bench.ts";

// The incremental translation (one memo kept across changes, unchanged objects kept as the same parsed objects, as
// the operator's caches keep them) must give exactly what a translation from scratch gives, after any sequence of
// route creations, updates and deletions. Routes compete for the same hostnames and paths so that every precedence
// rule (match kind, path length, headers, query, method, age, name) decides between them. Between the changes, the
// status the operator computed is written to a route or to the Gateway, as the operator does: the cache then holds a
// new object whose spec is the old spec object (`keepUnchangedSpec`), and the memo must keep serving it. And what
// routes read besides themselves changes too, each taking another path of the route table (`route_table.ts`): a
// Service comes and goes or changes its ports (the routes reading it are attached again), the BackendTLSPolicy of a
// Service changes its CA certificates, moves to another Service or goes (the routes of those Services are attached
// again, and routing.json's caBundles, stored in a shard of its own, follow), the Namespace's labels change (a
// listener selects routes by them), the CachePolicy moves to another route and the Gateway's listeners change (both
// start a new table).

/** Two CA bundles a BackendTLSPolicy's ConfigMap takes turns holding: the first certificate of the 37, and all 37. */
const CA_BUNDLES = (() => {
  const all = Deno.readTextFileSync(new URL("testdata/ca_bundle_37.pem", import.meta.url));
  const end = "-----END CERTIFICATE-----\n";
  return [all.slice(0, all.indexOf(end) + end.length), all];
})();

const BASE_OPTIONS = { now: "2026-01-01T00:00:00Z", defaults: { image: "lacquer:test" }, gateways: ["ns/gw"] };

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
          {
            name: "labelled",
            port: 8081,
            protocol: "HTTP",
            allowedRoutes: { namespaces: { from: "Selector", selector: { matchLabels: { team: "a" } } } },
          },
        ],
      },
    },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "ns", labels: { team: "a" } } },
    ...["svc0", "svc1", "svc2"].map((name) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "ns" },
      spec: { ports: [{ port: 80 }] },
    })),
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "ca", namespace: "ns" },
      data: { "ca.crt": CA_BUNDLES[0] },
    },
    backendTlsPolicy("svc2"),
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

/** The BackendTLSPolicy "tls" of the Service `service`, its CA certificates in the ConfigMap "ca". */
function backendTlsPolicy(service: string): Raw {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "BackendTLSPolicy",
    metadata: { name: "tls", namespace: "ns", creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: {
      targetRefs: [{ group: "", kind: "Service", name: service }],
      validation: {
        hostname: `${service}.internal`,
        caCertificateRefs: [{ group: "", kind: "ConfigMap", name: "ca" }],
      },
    },
  };
}

/** A random route named `name`; `pad` bytes of header value make the Gateway's routing.json large enough to shard. */
function randomRoute(rand: () => number, name: string, pad: number): Raw {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const hosts = ["x.a.example", "y.a.example", "*.a.example", "b.example", "*.example", "c.example"];
  // a hostname of its own now and then: created, moved (to another shard) and gone with the route
  const own = rand() < 0.3 ? [`${name}-${Math.floor(rand() * 3)}.d.example`] : [];
  const hostnames = rand() < 0.2 ? own : [...new Set([pick(hosts), ...(rand() < 0.3 ? [pick(hosts)] : []), ...own])];
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
      parentRefs: [pick([
        { name: "gw" },
        { name: "gw", sectionName: "team" },
        { name: "gw", sectionName: "http" },
        { name: "gw", sectionName: "labelled" },
      ])],
      ...(hostnames.length ? { hostnames } : {}),
      rules: Array.from({ length: 1 + Math.floor(rand() * 2) }, rule),
    },
  };
}

/** The objects other than routes that a step changes, by kind and name, and how each changes them. */
const OTHER_CHANGES: Record<string, (objects: Raw[], rand: () => number) => void> = {
  // svc9 comes and goes (routes naming it answer 500 while it is missing); svc1 changes its port
  service(objects, rand) {
    const at = objects.findIndex((o) => o.kind === "Service" && (o.metadata as { name: string }).name === "svc9");
    if (rand() < 0.5) {
      const svc1 = objects.find((o) => o.kind === "Service" && (o.metadata as { name: string }).name === "svc1")!;
      const port = (svc1.spec as { ports: { port: number }[] }).ports[0].port === 80 ? 81 : 80;
      objects[objects.indexOf(svc1)] = { ...svc1, spec: { ports: [{ port }] } };
    } else if (at >= 0) objects.splice(at, 1);
    else {
      objects.push({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "svc9", namespace: "ns" },
        spec: { ports: [{ port: 80 }] },
      });
    }
  },
  // the policy comes back when gone; else mostly the CA ConfigMap holds the other bundle, or the policy moves between
  // svc2 and svc0, or goes
  "backend tls"(objects, rand) {
    const dice = rand();
    const at = objects.findIndex((o) => o.kind === "BackendTLSPolicy");
    if (at < 0) objects.push(backendTlsPolicy("svc2"));
    else if (dice < 0.7) {
      const ca = objects.findIndex((o) => o.kind === "ConfigMap");
      const pem = (objects[ca].data as Record<string, string>)["ca.crt"] === CA_BUNDLES[0] ? 1 : 0;
      objects[ca] = { ...objects[ca], data: { "ca.crt": CA_BUNDLES[pem] } };
    } else if (dice < 0.85) {
      const target = (objects[at].spec as { targetRefs: { name: string }[] }).targetRefs[0].name;
      objects[at] = backendTlsPolicy(target === "svc2" ? "svc0" : "svc2");
    } else objects.splice(at, 1);
  },
  // the listener "labelled" admits the routes of the namespace only while it has the label
  "namespace labels"(objects) {
    const at = objects.findIndex((o) => o.kind === "Namespace");
    const labels = (objects[at].metadata as { labels?: Record<string, string> }).labels;
    objects[at] = { ...objects[at], metadata: { name: "ns", labels: labels?.team ? { team: "b" } : { team: "a" } } };
  },
  "cache policy"(objects, rand) {
    const at = objects.findIndex((o) => o.kind === "CachePolicy");
    const name = `r${Math.floor(rand() * 10)}`;
    const spec = {
      ...objects[at].spec as Raw,
      targetRefs: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name }],
    };
    objects[at] = { ...objects[at], spec };
  },
  // the listener "team" serves another hostname
  listeners(objects) {
    const at = objects.findIndex((o) => o.kind === "Gateway");
    const spec = objects[at].spec as { listeners: { name: string; hostname?: string }[] };
    const listeners = spec.listeners.map((l) =>
      l.name === "team" ? { ...l, hostname: l.hostname === "*.a.example" ? "*.example" : "*.a.example" } : l
    );
    objects[at] = { ...objects[at], spec: { ...spec, listeners } };
  },
};

/**
 * The snapshot with the objects other than routes parsed again where they changed (compared as JSON), the Gateway
 * keeping its spec object when only its status changed, as the cache does.
 */
function reparseOthers(snapshot: Snapshot, before: readonly Raw[], after: readonly Raw[]): Snapshot {
  const kept = new Map(before.map((raw) => [raw, parseSnapshot([raw])]));
  const next = parseSnapshot([]);
  const previous = new Map<string, unknown>();
  for (const [field, list] of Object.entries(snapshot)) {
    if (!Array.isArray(list) || field === "httpRoutes") continue;
    for (const obj of list as { metadata: { name: string; namespace?: string } }[]) {
      previous.set(`${field} ${obj.metadata.namespace}/${obj.metadata.name}`, obj);
    }
  }
  for (const raw of after) {
    const parsed = parseSnapshot([raw]);
    for (const [field, list] of Object.entries(parsed)) {
      if (!Array.isArray(list) || list.length === 0) continue;
      const obj = list[0] as { metadata: { name: string; namespace?: string } };
      const old = previous.get(`${field} ${obj.metadata.namespace}/${obj.metadata.name}`);
      const same = kept.has(raw) && old !== undefined;
      (next[field as keyof Snapshot] as unknown[]).push(same ? old : keepUnchangedSpec(old, obj));
    }
  }
  return { ...next, httpRoutes: snapshot.httpRoutes };
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
  const { seed, routes: count, pad, label, budget } of [
    { seed: 1, routes: 40, pad: 10, label: "whole routing.json" },
    { seed: 7, routes: 120, pad: 2600, label: "routing.json in shards" },
    { seed: 11, routes: 120, pad: 2600, label: "routing.json in shards past its budget", budget: 80 },
  ]
) {
  Deno.test(`translate() with a memo after random changes of routes and what they read equals a fresh translation (${label})`, () => {
    const rand = random(seed);
    const memo = new TranslationMemo();
    // a budget of regular expressions: shards are each far below the byte budget
    const OPTIONS = { ...BASE_OPTIONS, ...(budget ? { regexBudget: { patterns: budget, characters: 1 << 16 } } : {}) };
    let refused = 0;
    const routes = new Map<string, Raw>();
    for (let i = 0; i < count; i++) routes.set(`r${i}`, randomRoute(rand, `r${i}`, pad));
    let base = fixed();
    let snapshot = parseSnapshot([...base, ...routes.values()]);
    let last = translate(snapshot, { ...OPTIONS, memo });
    let sharded = 0;
    const kinds = new Set<string>();
    const steps = 100;
    // the other objects' changes take turns, so that each case covers all of them
    let otherSteps = 0;
    for (let step = 0; step < steps; step++) {
      const name = `r${Math.floor(rand() * (count + 10))}`;
      const dice = rand();
      const other = Object.keys(OTHER_CHANGES);
      const kind = dice < 0.1
        ? "gateway status"
        : dice < 0.25
        ? other[otherSteps++ % other.length]
        : !routes.has(name)
        ? "create"
        : dice < 0.4
        ? "delete"
        : dice < 0.55
        ? "route status"
        : "update";
      kinds.add(kind);
      if (kind === "gateway status") {
        const gateway = base.find((o) => o.kind === "Gateway")!;
        snapshot = withGatewayStatus(snapshot, gateway, last);
      } else if (kind in OTHER_CHANGES) {
        const next = [...base];
        OTHER_CHANGES[kind](next, rand);
        snapshot = reparseOthers(snapshot, base, next);
        base = next;
      } else {
        if (kind === "delete") routes.delete(name);
        else {routes.set(
            name,
            kind === "route status" ? withRouteStatus(routes.get(name)!, last) : randomRoute(rand, name, pad),
          );}
        snapshot = reparse(snapshot, routes, name);
      }
      // After a write of its status alone, the Gateway's status computed again from the last translation is what
      // translating again gives (the operator's reconciles of status-only changes rely on it).
      const gw = snapshot.gateways[0];
      const key = `${gw.metadata.namespace}/${gw.metadata.name}`;
      const redone = kind === "gateway status" ? restatusGateway(memo, key, gw, snapshot.pods, OPTIONS.now) : undefined;
      const incremental = translate(snapshot, { ...OPTIONS, memo });
      const full = translate(parseSnapshot([...base, ...routes.values()]), OPTIONS);
      deepStrictEqual(incremental, full, `seed ${seed}, step ${step}: ${kind} ${name}`);
      if (kind === "gateway status") {
        ok(redone, `step ${step}: the last translation is kept`);
        deepStrictEqual(redone.gateway, full.gateways[0], `seed ${seed}, step ${step}: status computed again`);
        deepStrictEqual(redone.listenerSets, full.listenerSets, `seed ${seed}, step ${step}: ListenerSets`);
      }
      if (full.gateways[0].routingShards) sharded++;
      if (JSON.stringify(full.routes).includes("RoutingBudgetExceeded")) refused++;
      // A status write keeps the memo's work: the same status entries, the same vhost objects (within the budget: the
      // refused routes' entries are made again).
      if (kind === "route status" && !budget) {
        const entries = (r: TranslateResult) => r.routes.find((x) => x.key === `ns/${name}`)?.parents;
        ok(entries(incremental) === entries(last), `step ${step}: ${name}'s entries computed again`);
      }
      // (past a budget the routes that fit are rendered afresh)
      if (kind.endsWith("status") && !budget) {
        const [before, after] = [last, incremental].map((r) => Object.values(r.gateways[0].routing!.vhosts));
        ok(after.every((v, i) => v === before[i]), `step ${step}: vhosts built again after a ${kind} write`);
      }
      last = incremental;
    }
    // the case covers what its label says
    ok(label.includes("shards") ? sharded === steps : sharded === 0, `${sharded} of ${steps} steps sharded`);
    ok(budget ? refused > steps / 2 : refused === 0, `${refused} of ${steps} steps past the budget`);
    deepStrictEqual([...kinds].sort(), [
      "backend tls",
      "cache policy",
      "create",
      "delete",
      "gateway status",
      "listeners",
      "namespace labels",
      "route status",
      "service",
      "update",
    ]);
  });
}

Deno.test("a large Gateway's routing.vhosts read after the next translation is still its own translation's", () => {
  const hosts = hostnamesFor(2000);
  const base = baseObjects();
  const routes = Array.from({ length: 2000 }, (_, i) => routeObject(i, hosts));
  const options = { ...BASE_OPTIONS, gateways: ["bench/gw"] };
  const memo = new TranslationMemo();
  const first = translate(parseSnapshot([...base, ...routes]), { ...options, memo });
  ok(first.gateways[0].routingShards, "stored in shards: its vhosts are not built by translation");
  // r5 moves to a hostname of its own, r6 goes
  const next = routes.filter((_, i) => i !== 6).map((r, i) => i === 5 ? routeObject(5, hosts, "/moved") : r);
  (next[5].spec as { hostnames: string[] }).hostnames = ["own.bench.example"];
  const second = translate(parseSnapshot([...base, ...next]), { ...options, memo });
  const fresh = (objects: Record<string, unknown>[]) => translate(parseSnapshot(objects), options).gateways[0].routing!;
  const [late, now] = [first, second].map((r) => r.gateways[0].routing!.vhosts);
  deepStrictEqual(Object.entries(late), Object.entries(fresh([...base, ...routes]).vhosts));
  deepStrictEqual(Object.entries(now), Object.entries(fresh([...base, ...next]).vhosts));
});
