/**
 * `deno task bench:operator`: the operator with 5,000 HTTPRoutes on one Gateway. It prints
 *
 * 1. the time to regenerate routing.json after one route changes (the pure translation of the whole Gateway,
 *    serializer included; the changed route is a new object, the other routes hit the translation memo);
 * 2. the time from applying a route change (an update, a new route, its deletion) to the API server until the
 *    Gateway's ConfigMap carries it, with the real operator running against the local cluster;
 * 3. the operator's resident memory (VmRSS) with everything cached;
 * 4. parts 2 and 3 again, from a fresh start, once 20,000 unrelated 50 kB ConfigMaps and TLS Secrets (half each,
 *    1 GB; `LACQUER_BENCH_UNRELATED` changes the number, 0 leaves this part out) share the Gateway's namespace: the
 *    operator must not cache them;
 * 5. the size of routing.json without a CachePolicy and with one on the whole Gateway (its settings are written
 *    once, each rule names it), stored in `routing_size_bench_results.md`.
 *
 * Targets (issues 6 and 14): regeneration ≤ 100 ms, RSS ≤ 300 MB with and without the unrelated objects. Run as a test file inside the test cluster's network
 * namespace (see deno.json); parts 1 and 5 also run without the cluster.
 *
 * @module
 */
import { assembleRouting, parseRoutingJson, parseRoutingManifest, type RoutingJson } from "../ghost/contract/mod.ts";
import { type KubeClient, type KubeObject } from "../internal/kube/mod.ts";
import { CONTROLLER_NAME } from "../internal/names.ts";
import { readRoutingConfigMapData } from "../internal/routing_config_map.ts";
import { installLacquerCrds } from "../tests/cluster/crd_installer.ts";
import { clusterAvailable, createTestNamespace, eventually, PAUSE_IMAGE, useCluster } from "../tests/cluster/mod.ts";
import { startOperatorProcess } from "../tests/stack/operator_process.ts";
import { ROUTING_HASH_ANNOTATION } from "./children.ts";
import { parseSnapshot } from "./snapshot.ts";
import { translate } from "./translate.ts";
import { TranslationMemo } from "./translation_memo.ts";
import { benchResultsHeading } from "../tests/bench/results_heading.ts";
import { percentile } from "../tests/bench/percentile.ts";

const ROUTES = Number(Deno.env.get("LACQUER_BENCH_ROUTES") ?? 5000);
const CHANGES = Number(Deno.env.get("LACQUER_BENCH_CHANGES") ?? 20);
/** Unrelated ConfigMaps and Secrets (half each, 50 kB) the second operator run shares the cluster with. */
const UNRELATED = Number(Deno.env.get("LACQUER_BENCH_UNRELATED") ?? 20_000);
/** Hostnames the routes spread over: 500, or one per 10 routes beyond 5,000 (50,000 routes on 5,000 hostnames). */
const HOSTS = Math.max(500, Math.ceil(ROUTES / 10));
const GW = "/apis/gateway.networking.k8s.io/v1";
const SIZE_RESULTS = new URL("routing_size_bench_results.md", import.meta.url);

function routeObject(ns: string, i: number, path = `/r${i}`) {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: `r${i}`, namespace: ns, creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: {
      parentRefs: [{ name: "gw" }],
      hostnames: [`h${i % HOSTS}.bench.example`],
      rules: [{
        matches: [{ path: { type: "PathPrefix", value: path }, headers: [{ name: "x-tenant", value: `t${i}` }] }],
        filters: [{
          type: "RequestHeaderModifier",
          requestHeaderModifier: { set: [{ name: "x-route", value: `r${i}` }] },
        }],
        backendRefs: [{ name: `svc${i % 50}`, port: 8080, weight: 1 }],
      }],
    },
  };
}

function baseObjects(ns: string, cls: string) {
  const services = Array.from({ length: 50 }, (_, i) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `svc${i}`, namespace: ns },
    spec: { ports: [{ port: 8080 }] },
  }));
  return [
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: cls },
      spec: { controllerName: CONTROLLER_NAME },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: ns },
      spec: { gatewayClassName: cls, listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
    },
    ...services,
  ];
}

function report(label: string, values: number[]): void {
  console.log(
    `${label}: p50 ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms, ` +
      `max ${Math.max(...values).toFixed(1)} ms (n=${values.length})`,
  );
}

Deno.test("bench: regenerate routing.json for 5,000 routes after one route changes", () => {
  const objects: Record<string, unknown>[] = [
    ...baseObjects("bench", "lacquer"),
    ...Array.from({ length: ROUTES }, (_, i) => routeObject("bench", i)),
  ];
  const snapshot = parseSnapshot(objects);
  const options = {
    now: "2026-01-01T00:00:00Z",
    defaults: { image: "lacquer:bench" },
    gateways: ["bench/gw"],
    memo: new TranslationMemo(),
  };
  const first = performance.now();
  translate(snapshot, options);
  console.log(`first translation (cold memo): ${(performance.now() - first).toFixed(1)} ms`);
  const times: number[] = [];
  let bytes = 0;
  for (let c = 0; c < CHANGES; c++) {
    const i = (c * 37) % ROUTES;
    const changed = parseSnapshot([routeObject("bench", i, `/changed${c}`)]).httpRoutes[0];
    snapshot.httpRoutes = snapshot.httpRoutes.map((r) => r.metadata.name === `r${i}` ? changed : r);
    const start = performance.now();
    const result = translate(snapshot, options);
    times.push(performance.now() - start);
    bytes = result.gateways[0].routingJson!.length;
  }
  report(`regenerate routing.json (${ROUTES} routes, ${(bytes / 1024).toFixed(0)} KiB)`, times);
  console.log(`target: p50 <= 100 ms -> ${percentile(times, 50) <= 100 ? "met" : "MISSED"}`);
});

Deno.test("bench: routing.json size for 5,000 routes with and without a Gateway-wide CachePolicy", async () => {
  const policy = {
    apiVersion: "lacquer.dev/v1alpha1",
    kind: "CachePolicy",
    metadata: { name: "site", namespace: "bench", creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: {
      targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" }],
      ttl: { default: "5m", grace: "1m" },
      key: { query: { mode: "Exclude", params: ["utm_source", "utm_medium"] }, headers: ["Accept-Language"] },
      bypass: [{ header: { name: "X-Preview", valueRegex: "^1$" } }],
      debugHeaders: true,
    },
  };
  const routes = Array.from({ length: ROUTES }, (_, i) => routeObject("bench", i));
  const size = (objects: Record<string, unknown>[]) =>
    translate(parseSnapshot([...baseObjects("bench", "lacquer"), ...routes, ...objects]), {
      now: "2026-01-01T00:00:00Z",
      defaults: { image: "lacquer:bench" },
      gateways: ["bench/gw"],
    }).gateways[0].routingJson!.length;
  const [plain, cached] = [size([]), size([policy])];
  const line = `routing.json, ${ROUTES} routes: ${(plain / 1e6).toFixed(2)} MB without a CachePolicy, ` +
    `${(cached / 1e6).toFixed(2)} MB with one on the Gateway (+${((cached - plain) / ROUTES).toFixed(0)} bytes a rule)`;
  console.log(line);
  // the stored output the operator README's figures come from (`scripts/bench_figures.ts`)
  await Deno.writeTextFile(SIZE_RESULTS, `${await benchResultsHeading("bench:operator")}${line}\n`);
});

type StoredConfigMap = KubeObject & { data?: Record<string, string>; binaryData?: Record<string, string> };

/** The Gateway's routing hash, and its routing.json document (joined from its shards when it is stored in shards). */
async function routingOf(client: KubeClient, ns: string): Promise<{ hash?: string; doc?: RoutingJson }> {
  const read = (name: string) => client.request<StoredConfigMap>(`/api/v1/namespaces/${ns}/configmaps/${name}`);
  const cm = await read("gw-lacquer");
  const { routingJson, routingShards } = readRoutingConfigMapData(cm);
  const hash = cm.metadata.annotations?.[ROUTING_HASH_ANNOTATION];
  if (routingShards === undefined) return { hash, doc: routingJson ? parseRoutingJson(routingJson) : undefined };
  const shards = await Promise.all(
    parseRoutingManifest(routingShards).shards.map(async (s) =>
      parseRoutingJson(readRoutingConfigMapData(await read(s.name)).routingJson ?? "")
    ),
  );
  return { hash, doc: assembleRouting(shards) };
}

/** The Gateway's routing hash alone: one read, however many shards. */
async function routingHash(client: KubeClient, ns: string): Promise<string | undefined> {
  const cm = await client.request<StoredConfigMap>(`/api/v1/namespaces/${ns}/configmaps/gw-lacquer`);
  return cm.metadata.annotations?.[ROUTING_HASH_ANNOTATION];
}

async function rssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** Creates `count` unrelated objects of about 50 kB, half ConfigMaps and half TLS Secrets. */
async function createUnrelated(client: KubeClient, ns: string, count: number): Promise<void> {
  const blob = btoa("u".repeat(37_500)); // 50 kB once base64-encoded
  const create = (i: number) =>
    client.request(`/api/v1/namespaces/${ns}/${i % 2 ? "secrets" : "configmaps"}`, {
      method: "POST",
      body: i % 2
        ? { metadata: { name: `unrelated-${i}` }, type: "kubernetes.io/tls", data: { "tls.crt": blob, "tls.key": "" } }
        : { metadata: { name: `unrelated-${i}` }, data: { blob } },
    });
  for (let i = 0; i < count; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, j) => create(i + j)));
  }
}

Deno.test({
  name: "bench: operator with 5,000 routes against the API server (apply → ConfigMap, RSS)",
  ignore: !clusterAvailable(),
  sanitizeResources: false,
  async fn() {
    const cluster = await useCluster();
    await using ns = await createTestNamespace(cluster);
    const client = ns.client;
    await installLacquerCrds(client);
    const cls = `lacquer-bench-${ns.name}`;
    const paths: Record<string, string> = {
      GatewayClass: `${GW}/gatewayclasses`,
      Gateway: `${GW}/namespaces/${ns.name}/gateways`,
      Service: `/api/v1/namespaces/${ns.name}/services`,
      HTTPRoute: `${GW}/namespaces/${ns.name}/httproutes`,
    };
    const create = (o: Record<string, unknown>) => {
      const { creationTimestamp: _, ...metadata } = o.metadata as Record<string, unknown>;
      return client.request(paths[o.kind as string], { method: "POST", body: { ...o, metadata } });
    };
    for (const o of baseObjects(ns.name, cls)) await create(o);
    const started = performance.now();
    for (let i = 0; i < ROUTES; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, ROUTES - i) }, (_, j) => create(routeObject(ns.name, i + j))),
      );
    }
    console.log(`created ${ROUTES} HTTPRoutes in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    /** Runs the operator from start to a settled state, changes routes, and returns its RSS in MiB. */
    const measure = async (run: number, label: string): Promise<number> => {
      console.log(`--- operator run: ${label}`);
      const port = 20000 + Math.floor(Math.random() * 20000);
      const logFile = await Deno.makeTempFile({ prefix: "operator-bench-", suffix: ".log" });
      const child = startOperatorProcess({
        kubeconfig: cluster.kubeconfig,
        logFile,
        port,
        args: ["--gateway-image", PAUSE_IMAGE, "--gateway-class", cls],
      });
      console.log(`operator log: ${logFile}`);
      try {
        const boot = performance.now();
        await eventually(async () => {
          const ready = await fetch(`http://127.0.0.1:${port + 1}/readyz`);
          await ready.body?.cancel();
          if (!ready.ok) throw new Error(`operator not ready (${ready.status})`);
          const { doc } = await routingOf(client, ns.name);
          const count = Object.values(doc?.vhosts ?? {}).reduce((n, v) => n + v.routes.length, 0);
          if (count !== ROUTES) throw new Error(`routing.json has ${count} routes`);
        }, { timeoutMs: Math.max(300_000, ROUTES * 20), intervalMs: ROUTES > 10_000 ? 5000 : 500 });
        console.log(
          `operator start → ready, routing.json with ${ROUTES} routes: ${
            ((performance.now() - boot) / 1000).toFixed(1)
          } s`,
        );

        // Steady state: wait until the first status writes for every route are done (the write counter settles).
        const settle = performance.now();
        let last = -1;
        await eventually(async () => {
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          const total = text.split("\n").filter((l) => l.startsWith("lacquer_operator_writes_total"))
            .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
          const depth = Number(/lacquer_operator_queue_depth\{controller="gateway"\} (\d+)/.exec(text)?.[1] ?? 1);
          const stable = total === last && depth === 0;
          last = total;
          if (!stable) throw new Error(`still writing (${total} writes, queue ${depth})`);
        }, { timeoutMs: Math.max(600_000, ROUTES * 40), intervalMs: 2000 });
        console.log(`initial status writes settled after ${((performance.now() - settle) / 1000).toFixed(1)} s`);

        // Each change (an update, then a new route, then its deletion) is timed until the Gateway's ConfigMap
        // carries a new routing hash.
        const times = { update: [] as number[], create: [] as number[], delete: [] as number[] };
        const timed = async (kind: keyof typeof times, write: () => Promise<unknown>) => {
          const before = await routingHash(client, ns.name);
          const start = performance.now();
          await write();
          await eventually(async () => {
            if (await routingHash(client, ns.name) === before) throw new Error("routing.json not rewritten yet");
          }, { timeoutMs: 60_000, intervalMs: 10 });
          times[kind].push(performance.now() - start);
        };
        for (let c = 0; c < CHANGES; c++) {
          const i = (c * 97) % ROUTES;
          await timed("update", () =>
            client.request(`${paths.HTTPRoute}/r${i}`, {
              method: "PATCH",
              contentType: "application/merge-patch+json",
              body: { spec: { rules: [{ ...routeObject(ns.name, i, `/changed${run}-${c}`).spec.rules[0] }] } },
            }));
          const added = ROUTES + c;
          await timed("create", () => create(routeObject(ns.name, added)));
          await timed("delete", () => client.request(`${paths.HTTPRoute}/r${added}`, { method: "DELETE" }));
        }
        for (const [kind, values] of Object.entries(times)) {
          report(`apply one route ${kind} → ConfigMap written (${ROUTES} routes)`, values);
        }
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const heap = Number(/lacquer_operator_heap_used_bytes (\d+)/.exec(metrics)?.[1] ?? 0) / 2 ** 20;
        console.log(`operator V8 heap in use: ${heap.toFixed(0)} MiB`);
        const cached = metrics.split("\n").filter((l) => l.startsWith("lacquer_operator_cached_objects"))
          .map((l) => `${/kind="([^"]+)"/.exec(l)?.[1]}=${l.split(" ").pop()}`);
        console.log(`operator caches: ${cached.join(" ")}`);
        const rss = await rssMiB(child.pid);
        console.log(
          `operator RSS: ${rss.toFixed(0)} MiB (target <= 300 MB -> ${rss * 1.048576 <= 300 ? "met" : "MISSED"})`,
        );
        return rss;
      } finally {
        const stopAt = performance.now();
        const status = await child.stop(30_000);
        console.log(`operator stopped in ${((performance.now() - stopAt) / 1000).toFixed(1)} s (exit ${status.code})`);
      }
    };

    try {
      const without = await measure(1, "no unrelated objects");
      // LACQUER_BENCH_UNRELATED=0: the run without unrelated objects only
      if (UNRELATED === 0) return;
      const t0 = performance.now();
      await createUnrelated(client, ns.name, UNRELATED);
      console.log(
        `created ${UNRELATED} unrelated 50 kB objects (ConfigMaps and TLS Secrets, half each) in the Gateway's ` +
          `namespace in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      const withUnrelated = await measure(2, `${UNRELATED} unrelated ConfigMaps and Secrets`);
      console.log(
        `operator RSS without unrelated objects ${without.toFixed(0)} MiB, with ${UNRELATED} unrelated 50 kB ` +
          `ConfigMaps and Secrets ${withUnrelated.toFixed(0)} MiB (target <= 300 MB -> ` +
          `${Math.max(without, withUnrelated) * 1.048576 <= 300 ? "met" : "MISSED"})`,
      );
    } finally {
      await client.request(`${GW}/namespaces/${ns.name}/gateways/gw`, { method: "DELETE" }).catch(() => {});
      await client.request(`${GW}/gatewayclasses/${cls}`, { method: "DELETE" }).catch(() => {});
    }
  },
});
