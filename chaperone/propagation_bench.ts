/**
 * `deno task bench:propagation`: how fast changes reach traffic through a real chaperone, API server and varnishd.
 *
 * With 1,000 routes configured (`LACQUER_BENCH_ROUTES`), it changes 100 times (`LACQUER_BENCH_CHANGES`) (a) routing.json
 * (one route moves to a Service on another backend) and measures until the first response from the new backend, and
 * (b) the EndpointSlice of one Service (its endpoint moves to another backend) and measures until traffic reaches the
 * new backend. routing.json is written as the operator stores it: whole in the ConfigMap while small, else in shards
 * (the changed shard, then the manifest); `LACQUER_BENCH_STORAGE=whole` stores it whole at any size, as before
 * shards existed. It prints p50/p99 of each and stores them in `propagation_bench_results.md` (the chaperone's own
 * share: the end-to-end figures, through the operator and gateway pods, are `deno task bench:e2e`'s). Backends are
 * HTTP servers on addresses of the run's own network namespace.
 *
 * When the ghost VMOD is not built yet, a stand-in VCL answers the reload and the bench measures up to ghost.json
 * written and reload acknowledged instead (it says so in its output).
 *
 * Run as a test file inside the test cluster's network namespace (see deno.json).
 *
 * @module
 */
import { equal } from "node:assert/strict";
import { contentHash } from "../internal/content_hash.ts";
import { createLogger } from "../internal/log.ts";
import { parseRoutingJson, shardRouting } from "../ghost/contract/mod.ts";
import { routingConfigMapData, routingJsonData, shardedConfigMapData } from "../internal/routing_config_map.ts";
import { clusterAvailable, createTestNamespace, type TestNamespace, useCluster } from "../tests/cluster/mod.ts";
import {
  collections,
  startBackends,
  startTestChaperone,
  testEndpointSlice,
  testService,
} from "./_test_cluster_fixtures.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import { benchResultsHeading } from "../tests/bench/results_heading.ts";
import { percentile } from "../tests/bench/percentile.ts";
import { DEBIAN_VMOD_DIR, freePort, getWithHost, ghostTestVcl, ghostVmodDir, stageGhostVmod } from "./_test_varnish.ts";

/** Routes configured: 1,000, or `LACQUER_BENCH_ROUTES`. */
const ROUTES = Number(Deno.env.get("LACQUER_BENCH_ROUTES") ?? 1000);
const SERVICES = 10;
/** Changes measured of each kind: 100, or `LACQUER_BENCH_CHANGES`. */
const CHANGES = Number(Deno.env.get("LACQUER_BENCH_CHANGES") ?? 100);
const RESULTS = new URL("propagation_bench_results.md", import.meta.url);
const BACKENDS = ["10.245.0.1", "10.245.0.2"];
/** Changes measured in each turn of one storage (shards or whole). */
const TURN = 3;
/** Whether routing.json is stored whole at any size (as before shards), rather than as the operator stores it. */
const WHOLE = Deno.env.get("LACQUER_BENCH_STORAGE") === "whole";

const STAND_IN_VCL = `vcl 4.1;
backend default none;
sub vcl_recv { return (synth(200, "ok")); }
`;

/** 1,000 routes `h<i>.bench.example` → Service `s<i mod 10>`, except `h0`, which goes to Service `s<h0Service>`. */
function routingJson(namespace: string, h0Service: number): string {
  const vhosts: Record<string, unknown> = {};
  for (let i = 0; i < ROUTES; i++) {
    vhosts[`h${i}.bench.example`] = {
      routes: [{
        id: { namespace, name: `r${i}`, rule: 0 },
        created: "2026-01-01T00:00:00Z",
        listeners: ["http"],
        backends: [{ weight: 1, service: { namespace, name: `s${i === 0 ? h0Service : i % SERVICES}`, port: 80 } }],
      }],
    };
  }
  return JSON.stringify({
    version: 1,
    listeners: [{ name: "http", socket: "port-http", port: 80, protocol: "HTTP" }],
    vhosts,
  }) + "\n";
}

/** The EndpointSlice `<service>-1` of `service` with the one endpoint `address`. */
function slice(service: string, address: string) {
  return testEndpointSlice(`${service}-1`, service, [address]);
}

/** Reads the object's resourceVersion, then PUTs the new version; returns when the PUT started and ended. */
async function put(
  ns: TestNamespace,
  path: string,
  body: Record<string, unknown>,
): Promise<{ started: number; acknowledged: number }> {
  const current = await ns.client.request<{ metadata: { resourceVersion: string } }>(path);
  const metadata = { ...(body.metadata as object), resourceVersion: current.metadata.resourceVersion };
  const started = performance.now();
  await ns.client.request(path, { method: "PUT", body: { ...body, metadata } });
  return { started, acknowledged: performance.now() };
}

interface Sample {
  /** From the PUT's start. */
  total: number;
  /** From the API server's answer to the PUT (its own write latency left out). */
  afterWrite: number;
}

function sample(times: { started: number; acknowledged: number }): Sample {
  const now = performance.now();
  return { total: now - times.started, afterWrite: Math.max(0, now - times.acknowledged) };
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error("Cannot observe the change: timed out");
    await new Promise((r) => setTimeout(r, 1));
  }
}

Deno.test({
  name: "bench: propagation of ConfigMap and EndpointSlice changes",
  ignore: !clusterAvailable(),
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const vmod = ghostVmodDir();
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  const servers = await startBackends(BACKENDS);
  const workDir = await Deno.makeTempDir({ prefix: "lacquer-bench-" });
  const httpPort = freePort();
  const { configMaps: CM, services, slices } = collections(ns);
  for (let s = 0; s < SERVICES; s++) {
    await ns.client.request(services, { method: "POST", body: testService(`s${s}`) });
    await ns.client.request(slices, {
      method: "POST",
      // Even Services send to the first backend, odd ones to the second.
      body: slice(`s${s}`, BACKENDS[s % 2]),
    });
  }
  const vcl = vmod ? ghostTestVcl(`${workDir}/ghost.json`) : STAND_IN_VCL;
  // h0 starts on s1 (second backend), then s2 (first), s1, ...: every change, the first one included, moves it (it
  // started on s0, on the first backend, so the first change measured nothing). Two documents, computed once.
  const documents = [0, 1].map((version) => {
    const text = routingJson(ns.name, (version % 2) + 1);
    const sharded = shardRouting(parseRoutingJson(text), {
      bytes: new TextEncoder().encode(text).length,
      prefix: "gw-lacquer-r",
    });
    return { text, sharded, hash: contentHash(sharded?.manifest ?? text) };
  });
  /** The document of change `version`, stored whole or (when large enough) in shards. */
  const texts = (version: number, whole: boolean) => {
    const { text, sharded } = documents[version % 2];
    return whole || !sharded
      ? { text, hash: contentHash(text) }
      : { text, sharded, hash: contentHash(sharded.manifest) };
  };
  const configMap = (version: number, whole: boolean) => {
    const { text, sharded } = texts(version, whole);
    return {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "gw-lacquer" },
      // stored as the operator stores it
      ...(sharded ? shardedConfigMapData(sharded.manifest, vcl) : routingConfigMapData(text, vcl)),
    };
  };
  /** The shards written, by name and hash: a change writes the shards that differ, then the manifest. */
  const written = new Map<string, string>();
  const writeShards = async (version: number, whole: boolean) => {
    for (const shard of texts(version, whole).sharded?.shards ?? []) {
      if (written.get(shard.name) === shard.hash) continue;
      const body = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: shard.name },
        ...routingJsonData(shard.text),
      };
      const exists = written.has(shard.name);
      await ns.client.request(exists ? `${CM}/${shard.name}` : CM, { method: exists ? "PUT" : "POST", body });
      written.set(shard.name, shard.hash);
    }
  };
  /** Writes change `version` of routing.json: its changed shards, then the Gateway's ConfigMap. */
  const writeRouting = async (version: number, whole: boolean) => {
    const current = await ns.client.request<{ metadata: { resourceVersion: string } }>(`${CM}/gw-lacquer`);
    const body = configMap(version, whole);
    const started = performance.now();
    await writeShards(version, whole);
    const metadata = { ...body.metadata, resourceVersion: current.metadata.resourceVersion };
    await ns.client.request(`${CM}/gw-lacquer`, { method: "PUT", body: { ...body, metadata } });
    return { started, acknowledged: performance.now() };
  };
  await writeShards(0, WHOLE);
  await ns.client.request(CM, { method: "POST", body: configMap(0, WHOLE) });
  const { chaperone, stop } = await startTestChaperone(ns, {
    workDir,
    log: createLogger({ level: Deno.env.get("LACQUER_BENCH_LOG") === "debug" ? "debug" : "warn" }),
    config: {
      listen: [`port-http=127.0.0.1:${httpPort}`],
      storage: "malloc,64m",
      vmodPath: vmod ? `${await stageGhostVmod(workDir)}:${DEBIAN_VMOD_DIR}` : undefined,
      coalesceMs: "2",
    },
  });
  const request = async (host: string) => {
    const answer = await getWithHost(httpPort, host);
    return answer.slice(answer.indexOf(" ") + 1);
  };
  try {
    await eventually(async () => {
      const response = await chaperone.handler(new Request("http://admin/readyz"));
      await response.body?.cancel();
      equal(response.status, 200);
    }, { timeoutMs: 60_000 });
    // the starting point, so that the first change moves h0 and h10 for real
    if (vmod) await until(async () => (await request("h0.bench.example")) === BACKENDS[1], 30_000);
    if (vmod) await until(async () => (await request("h10.bench.example")) === BACKENDS[0], 30_000);
    // A large document is stored in shards and whole by turns of a few changes, so that both meet the same load.
    // The first change of a turn switches the storage, which the chaperone takes as a new document (every vhost
    // merged again, a storage switch being rare), and is not measured.
    const sharded = documents[0].sharded !== undefined && !WHOLE;
    const configTimes = { whole: [] as Sample[], sharded: [] as Sample[] };
    let i = 0;
    const change = async (whole: boolean) => {
      i++;
      const { hash } = texts(i, whole);
      const times = await writeRouting(i, whole);
      // h0 alternates between s1 (second backend) and s2 (first backend).
      if (vmod) await until(async () => (await request("h0.bench.example")) === BACKENDS[((i % 2) + 1) % 2]);
      else await until(() => chaperone.sync.status().ghostRoutingHash === hash);
      return sample(times);
    };
    for (let turn = 0; configTimes.whole.length < CHANGES; turn++) {
      const whole = !sharded || turn % 2 === 1;
      if (sharded) await change(whole);
      for (let k = 0; k < TURN && configTimes.whole.length < CHANGES; k++) {
        configTimes[whole ? "whole" : "sharded"].push(await change(whole));
      }
    }
    const sliceTimes: Sample[] = [];
    for (let i = 1; i <= CHANGES; i++) {
      const target = BACKENDS[i % 2];
      const reloads = chaperone.metrics.ghostReloads.success;
      const path = `${slices}/s0-1`;
      const times = await put(ns, path, slice("s0", target));
      if (vmod) await until(async () => (await request("h10.bench.example")) === target);
      else await until(() => chaperone.metrics.ghostReloads.success > reloads);
      sliceTimes.push(sample(times));
    }
    const what = vmod ? "first correct response" : "ghost.json written and reload acknowledged (ghost VMOD not built)";
    const ms = (values: number[], p: number) => percentile(values, p).toFixed(1);
    const line = (name: string, samples: Sample[]) => {
      const total = samples.map((x) => x.total);
      const after = samples.map((x) => x.afterWrite);
      return `${name}: p50 ${ms(total, 50)} ms, p99 ${ms(total, 99)} ms from the update ` +
        `(p50 ${ms(after, 50)} ms, p99 ${ms(after, 99)} ms after the API server acknowledged it; ` +
        `${samples.length} changes, ${ROUTES} routes; until ${what})`;
    };
    const lines = [
      ...(configTimes.sharded.length > 0
        ? [line(`routing.json in ${documents[0].sharded!.shards.length} shards → traffic`, configTimes.sharded)]
        : []),
      line("routing.json whole in the ConfigMap → traffic", configTimes.whole),
      line("EndpointSlice → traffic", sliceTimes),
    ];
    for (const l of lines) console.log(l);
    // the stored output the README's figures come from (`scripts/bench_figures.ts`)
    await Deno.writeTextFile(
      RESULTS,
      (await benchResultsHeading("bench:propagation")) + lines.map((l) => `- ${l}\n`).join(""),
    );
  } finally {
    stop();
    await chaperone.exit;
    for (const server of servers) await server.shutdown();
    await Deno.remove(workDir, { recursive: true });
  }
});
