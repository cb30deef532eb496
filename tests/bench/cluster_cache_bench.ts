/**
 * `deno task bench:cluster-cache`: the clustered cache against independent caches, side by side in one run. For 1, 3
 * and 5 gateway pods, each mode: the pods (varnishd with the ghost VMOD and the operator's generated VCL, ghost.json
 * as the chaperone writes it, a `cluster` section in clustered mode) in front of one nginx origin, a warm-up Zipf run,
 * then a measured one: requests, origin fetches (the origin's access log), hit ratio (ghost's per-rule counters, summed
 * over the pods: each lookup is counted by the pod that made it), hops (ghost's cluster counters) and objects stored.
 * The warm-up lasts until the pods have served a given number of lookups, whatever their throughput.
 * Then the cost of a peer hop: one cached object asked of its owner and of another pod, p50 and p99.
 *
 * The pods are varnishd processes on loopback (each with its own listeners, peer listener and `-n` directory), not
 * gateway pods of the local cluster: 18 pod starts and the load would not fit the shared 2-core machine, and the
 * cluster's Service path would add its own proxy hops to every request. A pod's load comes from its own wrk, as a
 * Service spreads clients over pods. The numbers compare the configurations with each other, not with other machines;
 * the hop crosses loopback, not a pod network.
 *
 * Flags: `--duration <s>` per run (5), `--connections <n>` (32, spread over the pods), `--body <bytes>` (1024),
 * `--objects <n>` (20000), `--storage <size>` per pod (16m), `--zipf <exponent>` (1.0), `--pods <list>` (1,3,5),
 * `--rounds <n>` of the hop latency (3), `--warmup <n>` lookups before each measured run (150000), `--out <file>`
 * (also write the report there).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { GHOST_JSON_PATH, GHOST_STATS_PATH } from "../../internal/names.ts";
import { parseGhostStats } from "../../chaperone/cache_metrics.ts";
import { ghostVmodDir } from "../../chaperone/_test_varnish.ts";
import { parseClusterStats } from "../../chaperone/cluster_metrics.ts";
import { generateMainVcl } from "../../vcl/mod.ts";
import { freePort } from "../cluster/free_port.ts";
import { medianRun, parseWrk, wrkPercentileMs } from "./cache_report.ts";
import { type ClusterRun, formatClusterReport, type HopLatency } from "./cluster_cache_report.ts";
import { LoopbackStack, type LoopbackVarnish, varnishCounters, ZIPF_LUA } from "./loopback_stack.ts";
import { benchResultsHeading } from "./results_heading.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    body: { type: "string", default: "1024" },
    objects: { type: "string", default: "20000" },
    storage: { type: "string", default: "16m" },
    zipf: { type: "string", default: "1.0" },
    pods: { type: "string", default: "1,3,5" },
    rounds: { type: "string", default: "3" },
    warmup: { type: "string", default: "150000" },
    out: { type: "string" },
  },
});

const SECRET = "0123456789abcdef0123456789abcdef-bench";
const LATENCY_CONNECTIONS = 4;

/** One pod: its ports and its varnishd. */
interface Pod {
  http: number;
  ghost: number;
  peer: number;
  varnish: LoopbackVarnish;
}

function ghostJson(originPort: number, self: number, peers: number[] | undefined): string {
  const origin = [{ name: "bench/origin:80", endpoints: [{ address: "127.0.0.1", port: originPort }] }];
  const rule = (index: number, prefix: string) => ({
    id: { namespace: "bench", name: "site", rule: index },
    created: "2026-01-01T00:00:00Z",
    listeners: ["http"],
    matches: [{ path: { type: "PathPrefix", value: prefix } }],
    backends: origin,
    cache: { policy: { namespace: "bench", name: prefix.slice(1) }, ttl: { forced: 3600 } },
  });
  return JSON.stringify({
    version: 1,
    listeners: [{ name: "http", socket: "http", port: 80, protocol: "HTTP" }],
    ...(peers && {
      cluster: {
        self: { address: "127.0.0.1", port: self },
        peers: peers.map((port) => ({ address: "127.0.0.1", port })),
        secret: SECRET,
      },
    }),
    vhosts: { "*": { routes: [rule(0, "/zipf"), rule(1, "/hot")] } },
  });
}

/** Starts `count` pods, clustered or not, in parallel. */
async function startPods(stack: LoopbackStack, originPort: number, count: number, clustered: boolean, run: string) {
  const ports = Array.from({ length: count }, () => ({ http: freePort(), ghost: freePort(), peer: freePort() }));
  const peers = clustered ? ports.map((p) => p.peer) : undefined;
  return await Promise.all(ports.map(async (p, i): Promise<Pod> => {
    const name = `${run}-${i}`;
    const file = await stack.writeFile(`${name}.json`, ghostJson(originPort, p.peer, peers));
    const varnish = await stack.startVarnish(
      name,
      generateMainVcl({ gateway: "bench/gw" }).replaceAll(GHOST_JSON_PATH, file),
      [`http=127.0.0.1:${p.http}`, `ghost=127.0.0.1:${p.ghost}`, `peer=127.0.0.1:${p.peer}`],
      p.http,
      flags.storage,
    );
    return { ...p, varnish };
  }));
}

/** ghost's counters of one pod: lookups of the Zipf rule and hops. */
async function podStats(pod: Pod) {
  const answer = await (await fetch(`http://127.0.0.1:${pod.ghost}${GHOST_STATS_PATH}`)).text();
  const rule = parseGhostStats(answer).find((s) => s.rule === "bench/site/0");
  if (!rule) throw new Error("ghost has no counters for the Zipf rule");
  const counters = await varnishCounters(pod.varnish.instance);
  return {
    hits: rule.hits + rule.staleHits,
    misses: rule.misses,
    hops: parseClusterStats(answer)?.hop ?? 0,
    objects: counters["MAIN.n_object"] ?? 0,
  };
}

async function sumStats(pods: Pod[]) {
  const all = await Promise.all(pods.map(podStats));
  return all.reduce((a, b) => ({
    hits: a.hits + b.hits,
    misses: a.misses + b.misses,
    hops: a.hops + b.hops,
    objects: a.objects + b.objects,
  }));
}

await using stack = await LoopbackStack.create("cluster-cache-bench");
const originPort = freePort();
const originLog = `${stack.dir}/origin-access.log`;
await stack.writeFile("payload", "x".repeat(Number(flags.body)));
await stack.startNginx(
  "origin",
  `log_format count "$request_uri";
  server { listen 127.0.0.1:${originPort}; root ${stack.dir}; access_log ${originLog} count;
    location / { default_type application/octet-stream; try_files /payload =404; } }`,
  originPort,
);
const originFetches = async () => {
  const text = await Deno.readTextFile(originLog).catch(() => "");
  return text.length === 0 ? 0 : text.split("\n").length - 1;
};

const loadAtStart = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
const varnishVersion = new TextDecoder().decode(
  (await new Deno.Command("varnishd", { args: ["-V"], stderr: "piped" })
    .output()).stderr,
).match(/varnish-[\d.]+/)?.[0] ?? "varnishd";
const vmod = `${ghostVmodDir()}/libvmod_ghost.so`;
const versions = `${varnishVersion}, the ghost VMOD ${vmod} built ${(await Deno.stat(vmod)).mtime?.toISOString()}, ` +
  `${navigator.hardwareConcurrency} cores`;
const duration = Number(flags.duration);
const warmup = Number(flags.warmup);
const runs: ClusterRun[] = [];
for (const count of flags.pods.split(",").map(Number)) {
  for (const clustered of [false, true]) {
    const name = `${count}-${clustered ? "clustered" : "independent"}`;
    console.error(`bench:cluster-cache: ${count} pods, ${clustered ? "clustered" : "independent"}`);
    const pods = await startPods(stack, originPort, count, clustered, name);
    const connections = Math.max(2, Math.round(Number(flags.connections) / count));
    // Each run's objects are its own (the path prefix), so the origin's log counts this run's fetches only.
    const zipf = () =>
      Promise.all(pods.map((pod) =>
        stack.wrk(`http://127.0.0.1:${pod.http}/`, {
          duration,
          connections,
          threads: 1,
          script: { text: ZIPF_LUA, args: [flags.objects, flags.zipf, `/zipf/${name}/`] },
        })
      ));
    // Warm-up runs until the pods have served --warmup lookups: a run of a fixed length would leave the slower
    // configurations (hops cost CPU on this shared machine) colder, and their hit ratio would measure that.
    const lookups = async () => {
      const { hits, misses } = await sumStats(pods);
      return hits + misses;
    };
    for (let run = 0; run < 20 && await lookups() < warmup; run++) await zipf();
    const [before, fetchedBefore] = [await sumStats(pods), await originFetches()];
    const outputs = await Promise.all((await zipf()).map((text) => ({ text, run: parseWrk(text) })));
    const [after, fetchedAfter] = [await sumStats(pods), await originFetches()];
    runs.push({
      pods: count,
      clustered,
      requests: outputs.reduce((n, o) => n + Number(o.text.match(/^\s*(\d+) requests in/m)?.[1] ?? 0), 0),
      rps: outputs.reduce((n, o) => n + o.run.rps, 0),
      p99Ms: Math.max(...outputs.map((o) => o.run.p99Ms)),
      errors: outputs.reduce((n, o) => n + o.run.errors, 0),
      originFetches: fetchedAfter - fetchedBefore,
      hits: after.hits - before.hits,
      misses: after.misses - before.misses,
      hops: after.hops - before.hops,
      objects: after.objects,
    });
    for (const pod of pods) await pod.varnish.stop();
  }
}

console.error("bench:cluster-cache: the hop's latency, 3 clustered pods");
const pods = await startPods(stack, originPort, 3, true, "latency");
const hot = "/hot/object";
// The owner is the pod that looks the object up itself: its `local` counter moves.
const locals = async () =>
  await Promise.all(pods.map(async (p) => {
    const answer = await (await fetch(`http://127.0.0.1:${p.ghost}${GHOST_STATS_PATH}`)).text();
    return parseClusterStats(answer)?.local ?? 0;
  }));
const localsBefore = await locals();
for (const pod of pods) await (await fetch(`http://127.0.0.1:${pod.http}${hot}`)).arrayBuffer();
const localsAfter = await locals();
const owner = pods.find((_, i) => localsAfter[i] > localsBefore[i]);
const other = pods.find((p) => p !== owner);
if (!owner || !other) throw new Error(`No single owner of ${hot}: ${localsBefore} -> ${localsAfter}`);
const measure = async (pod: Pod) => {
  const text = await stack.wrk(`http://127.0.0.1:${pod.http}${hot}`, {
    duration,
    connections: LATENCY_CONNECTIONS,
    threads: 1,
  });
  return { ...parseWrk(text), p50Ms: wrkPercentileMs(text, 50) ?? NaN };
};
const localRuns = [], hopRuns = [];
for (let round = 0; round < Number(flags.rounds); round++) {
  localRuns.push(await measure(owner));
  hopRuns.push(await measure(other));
}
const pick = (r: { rps: number; p50Ms: number; p99Ms: number }) => ({ rps: r.rps, p50Ms: r.p50Ms, p99Ms: r.p99Ms });
const latency: HopLatency = {
  connections: LATENCY_CONNECTIONS,
  local: pick(medianRun(localRuns)),
  hop: pick(medianRun(hopRuns)),
};

const report = formatClusterReport({
  runs,
  latency,
  settings: {
    objects: Number(flags.objects),
    exponent: Number(flags.zipf),
    storage: flags.storage,
    duration,
    connections: Number(flags.connections),
    body: Number(flags.body),
    rounds: Number(flags.rounds),
    warmup,
  },
  loadAtStart,
  versions,
});
console.log(report);
if (flags.out) await Deno.writeTextFile(flags.out, (await benchResultsHeading("bench:cluster-cache")) + report);
