/**
 * `deno task bench:cache`: the gateway's data plane (varnishd with the ghost VMOD and the operator's generated VCL)
 * against the same origin, side by side in one run: a cache hit, a pass, the origin direct, Debian's nginx proxying
 * the origin (keep-alive upstream), and a cache hit of the same varnishd with a minimal VCL that caches everything
 * (what ghost's routing and cache decision cost on a hit), each with wrk (requests/s and p99); then a Zipf workload
 * over a given number of objects with a given storage size: one warm-up run, then a measured run whose hit ratio comes
 * from ghost's per-rule counters.
 *
 * The origin is nginx serving a fixed body for every path. Everything runs on loopback on this machine, so the numbers
 * compare the configurations with each other, not with other machines. Needs root (varnishd drops to its own users),
 * varnishd, the ghost VMOD (`$LACQUER_GHOST_VMOD_DIR` to measure a build of one's own, else the one `scripts/setup.sh`
 * installed), nginx and wrk (`scripts/setup.sh`).
 *
 * It runs the gateway's data plane as the pod runs it (same varnishd, VMOD and generated VCL; routing fed as
 * ghost.json instead of by the chaperone, which adds nothing per request), not through a gateway pod of the local
 * cluster. On the default process node, Service and LoadBalancer traffic goes through the test cluster's own
 * user-space TCP proxy (a Deno process; see tests/README.md), which would cap every scenario at its own throughput. The
 * real node (kube-proxy, nftables) has no such cap, but runs only the images `deno task images` builds: there is no
 * nginx image for the origin and the nginx proxy, so those two would stay on the host and the scenarios would no
 * longer cross the same veth and bridge hops.
 *
 * varnishd's `-n` directories are on a memory-backed filesystem, as in the gateway pod (`loopback_stack.ts`).
 *
 * The scenarios run interleaved in rounds (hit, pass, origin, nginx, plain-VCL hit, hit, …) and each reports its median
 * round, so that load from elsewhere on the machine spreads over all of them.
 *
 * Flags: `--duration <s>` per run (5), `--rounds <n>` (3), `--connections <n>` (32), `--body <bytes>` (1024), `--objects <n>` (20000),
 * `--storage <size>` (16m), `--zipf <exponent>` (1.0), `--out <file>` (also write the report there).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { GHOST_JSON_PATH, GHOST_STATS_PATH } from "../../internal/names.ts";
import { freePort } from "../cluster/free_port.ts";
import { generateMainVcl } from "../../vcl/mod.ts";
import { parseGhostStats } from "../../chaperone/cache_metrics.ts";
import { formatReport, medianRun, parseWrk, type Scenario } from "./cache_report.ts";
import { LoopbackStack, varnishCounters, ZIPF_LUA } from "./loopback_stack.ts";
import { benchResultsHeading } from "./results_heading.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    duration: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
    body: { type: "string", default: "1024" },
    objects: { type: "string", default: "20000" },
    storage: { type: "string", default: "16m" },
    zipf: { type: "string", default: "1.0" },
    out: { type: "string" },
  },
});

function ghostJson(originPort: number): string {
  const origin = [{ name: "bench/origin:80", endpoints: [{ address: "127.0.0.1", port: originPort }] }];
  const rule = (index: number, prefix: string, cache: boolean) => ({
    id: { namespace: "bench", name: "site", rule: index },
    created: "2026-01-01T00:00:00Z",
    listeners: ["http"],
    matches: [{ path: { type: "PathPrefix", value: prefix } }],
    backends: origin,
    ...(cache ? { cache: { policy: { namespace: "bench", name: prefix.slice(1) }, ttl: { forced: 3600 } } } : {}),
  });
  return JSON.stringify({
    version: 1,
    listeners: [{ name: "http", socket: "http", port: 80, protocol: "HTTP" }],
    vhosts: { "*": { routes: [rule(0, "/hit", true), rule(1, "/pass", false), rule(2, "/zipf", true)] } },
  });
}

/** A VCL that caches everything for an hour: what a cache hit costs in varnishd itself, without ghost. */
function plainVcl(originPort: number): string {
  return `vcl 4.1;
backend origin { .host = "127.0.0.1"; .port = "${originPort}"; }
sub vcl_backend_response { set beresp.ttl = 1h; }
`;
}

await using stack = await LoopbackStack.create("cache-bench");
const wrk = (url: string, script?: { text: string; args: string[] }) =>
  stack.wrk(url, { duration: Number(flags.duration), connections: Number(flags.connections), script });
const originPort = freePort(), nginxPort = freePort(), varnishPort = freePort(), ghostPort = freePort();
const plainPort = freePort();
await stack.writeFile("payload", "x".repeat(Number(flags.body)));
await stack.startNginx(
  "origin",
  `server { listen 127.0.0.1:${originPort}; root ${stack.dir};
    location / { default_type application/octet-stream; try_files /payload =404; } }`,
  originPort,
);
await stack.startNginx(
  "proxy",
  `upstream origin { server 127.0.0.1:${originPort}; keepalive 64; }
  server { listen 127.0.0.1:${nginxPort};
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; } }`,
  nginxPort,
);
const ghostJsonFile = await stack.writeFile("ghost.json", ghostJson(originPort));
const { instance } = await stack.startVarnish(
  "lacquer",
  generateMainVcl({ gateway: "bench/gw" }).replaceAll(GHOST_JSON_PATH, ghostJsonFile),
  [`http=127.0.0.1:${varnishPort}`, `ghost=127.0.0.1:${ghostPort}`],
  varnishPort,
  flags.storage,
);
await stack.startVarnish("plain", plainVcl(originPort), [`127.0.0.1:${plainPort}`], plainPort, flags.storage);
for (const url of [`http://127.0.0.1:${varnishPort}/hit/object`, `http://127.0.0.1:${plainPort}/object`]) {
  await fetch(url).then((r) => r.arrayBuffer());
}
const targets: [string, string][] = [
  ["cache hit (varnishd + ghost)", `http://127.0.0.1:${varnishPort}/hit/object`],
  ["pass (varnishd + ghost)", `http://127.0.0.1:${varnishPort}/pass/object`],
  ["origin direct (nginx)", `http://127.0.0.1:${originPort}/object`],
  ["nginx proxying the origin", `http://127.0.0.1:${nginxPort}/object`],
  ["cache hit (varnishd, plain VCL)", `http://127.0.0.1:${plainPort}/object`],
];
const loadAtStart = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
const runs: Scenario[][] = targets.map(() => []);
for (let round = 1; round <= Number(flags.rounds); round++) {
  for (const [i, [name, url]] of targets.entries()) {
    console.error(`bench:cache: round ${round}: ${name} (${url})`);
    runs[i].push({ name, ...parseWrk(await wrk(url)) });
  }
}
const scenarios = runs.map(medianRun);

console.error(
  `bench:cache: Zipf over ${flags.objects} objects, storage malloc,${flags.storage}: warm-up, then measured`,
);
const zipfWrk = () => wrk(`http://127.0.0.1:${varnishPort}/`, { text: ZIPF_LUA, args: [flags.objects, flags.zipf] });
const zipfStats = async () => {
  const answer = await (await fetch(`http://127.0.0.1:${ghostPort}${GHOST_STATS_PATH}`)).text();
  const rule = parseGhostStats(answer).find((s) => s.rule === "bench/site/2");
  if (!rule) throw new Error("ghost has no counters for the Zipf rule");
  return { counters: await varnishCounters(instance), hits: rule.hits + rule.staleHits, misses: rule.misses };
};
await zipfWrk();
const before = await zipfStats();
const zipfRun = parseWrk(await zipfWrk());
const after = await zipfStats();
const report = formatReport({
  scenarios,
  zipf: {
    objects: Number(flags.objects),
    exponent: Number(flags.zipf),
    storage: flags.storage,
    run: zipfRun,
    hits: after.hits - before.hits,
    misses: after.misses - before.misses,
    objectsCached: after.counters["MAIN.n_object"] ?? 0,
    evicted: (after.counters["MAIN.n_lru_nuked"] ?? 0) - (before.counters["MAIN.n_lru_nuked"] ?? 0),
    storageUsed: after.counters["SMA.s0.g_bytes"] ?? 0,
  },
  loadAtStart,
  settings: {
    duration: Number(flags.duration),
    rounds: Number(flags.rounds),
    connections: Number(flags.connections),
    body: Number(flags.body),
  },
});
console.log(report);
if (flags.out) {
  await Deno.writeTextFile(flags.out, (await benchResultsHeading("bench:cache")) + report);
}
