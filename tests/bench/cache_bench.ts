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
 * varnishd's `-n` directories are on a memory-backed filesystem (`/dev/shm`), as in the gateway pod (its own
 * `medium: Memory` volume): on a disk-backed one the kernel writes the shared-memory log's pages back and faults them
 * in again.
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
import { DEBIAN_VMOD_DIR, stageGhostVmod } from "../../chaperone/_test_varnish.ts";
import { GHOST_JSON_PATH, GHOST_STATS_PATH } from "../../internal/names.ts";
import { freePort } from "../cluster/free_port.ts";
import { generateMainVcl } from "../../vcl/mod.ts";
import { parseGhostStats } from "../../chaperone/cache_metrics.ts";
import { formatReport, medianRun, parseWrk, type Scenario } from "./cache_report.ts";
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

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`Nothing listens on port ${port} after 10 s`);
}

const dir = await Deno.makeTempDir({ prefix: "lacquer-cache-bench-" });
await Deno.chmod(dir, 0o755);
// varnishd's -n directories, memory-backed as in the gateway pod.
const shm = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "lacquer-cache-bench-" });
await Deno.chmod(shm, 0o755);
const children: Deno.ChildProcess[] = [];
// $LACQUER_GHOST_VMOD_DIR measures a VMOD of one's own build; by default the one set-up installed.
const vmods = await stageGhostVmod(dir);

function nginxConfig(name: string, server: string): string {
  const temp = `${dir}/${name}`;
  Deno.mkdirSync(temp, { recursive: true });
  return `worker_processes auto;
pid ${temp}/nginx.pid;
error_log ${temp}/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${temp}; proxy_temp_path ${temp}; fastcgi_temp_path ${temp};
  uwsgi_temp_path ${temp}; scgi_temp_path ${temp};
  ${server}
}
`;
}

async function startNginx(name: string, server: string, port: number): Promise<void> {
  const conf = `${dir}/${name}.conf`;
  await Deno.writeTextFile(conf, nginxConfig(name, server));
  children.push(
    new Deno.Command("nginx", { args: ["-c", conf, "-g", "daemon off;"], stdout: "null", stderr: "inherit" }).spawn(),
  );
  await waitForPort(port);
}

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

/** Starts varnishd (instance `name`) with `vcl` on the `-a` sockets `listen`; returns its instance directory. */
async function startVarnish(name: string, vcl: string, listen: string[], port: number): Promise<string> {
  const instance = `${shm}/${name}`;
  await Deno.writeTextFile(`${dir}/${name}.vcl`, vcl);
  await Deno.chmod(`${dir}/${name}.vcl`, 0o644);
  children.push(
    new Deno.Command("varnishd", {
      args: [
        "-F",
        "-n",
        instance,
        ...listen.flatMap((socket) => ["-a", socket]),
        "-f",
        `${dir}/${name}.vcl`,
        "-s",
        `malloc,${flags.storage}`,
        "-p",
        `vmod_path=${vmods}:${DEBIAN_VMOD_DIR}`,
      ],
      stdout: "null",
      stderr: "inherit",
    }).spawn(),
  );
  await waitForPort(port);
  return instance;
}

async function wrk(url: string, script?: string, scriptArgs: string[] = []): Promise<string> {
  const args = ["-t2", `-c${flags.connections}`, `-d${flags.duration}s`, "--latency"];
  if (script) args.push("-s", script);
  args.push(url);
  if (scriptArgs.length) args.push("--", ...scriptArgs);
  const out = await new Deno.Command("wrk", { args, stdout: "piped", stderr: "inherit" }).output();
  if (!out.success) throw new Error(`wrk failed for ${url}`);
  return new TextDecoder().decode(out.stdout);
}

async function varnishCounters(instance: string): Promise<Record<string, number>> {
  const out = await new Deno.Command("varnishstat", { args: ["-n", instance, "-j", "-t", "2"], stdout: "piped" })
    .output();
  const counters = JSON.parse(new TextDecoder().decode(out.stdout)).counters as Record<string, { value: number }>;
  return Object.fromEntries(Object.entries(counters).map(([k, v]) => [k, v.value]));
}

const ZIPF_LUA = `
local n, s = 1000, 1.0
local cdf = {}
function init(args)
  n = tonumber(args[1]); s = tonumber(args[2])
  local total = 0
  for k = 1, n do total = total + 1 / k ^ s end
  local acc = 0
  for k = 1, n do acc = acc + 1 / k ^ s / total; cdf[k] = acc end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000) + tonumber(tostring({}):sub(8), 16))
end
function request()
  local u, lo, hi = math.random(), 1, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return wrk.format("GET", "/zipf/" .. lo)
end
`;

try {
  const originPort = freePort(), nginxPort = freePort(), varnishPort = freePort(), ghostPort = freePort();
  const plainPort = freePort();
  await Deno.writeTextFile(`${dir}/payload`, "x".repeat(Number(flags.body)));
  await Deno.chmod(`${dir}/payload`, 0o644);
  await startNginx(
    "origin",
    `server { listen 127.0.0.1:${originPort}; root ${dir};
      location / { default_type application/octet-stream; try_files /payload =404; } }`,
    originPort,
  );
  await startNginx(
    "proxy",
    `upstream origin { server 127.0.0.1:${originPort}; keepalive 64; }
    server { listen 127.0.0.1:${nginxPort};
      location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; } }`,
    nginxPort,
  );
  await Deno.writeTextFile(`${dir}/ghost.json`, ghostJson(originPort));
  await Deno.chmod(`${dir}/ghost.json`, 0o644);
  const instance = await startVarnish(
    "lacquer",
    generateMainVcl({ gateway: "bench/gw" }).replaceAll(GHOST_JSON_PATH, `${dir}/ghost.json`),
    [`http=127.0.0.1:${varnishPort}`, `ghost=127.0.0.1:${ghostPort}`],
    varnishPort,
  );
  await startVarnish("plain", plainVcl(originPort), [`127.0.0.1:${plainPort}`], plainPort);
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
  await Deno.writeTextFile(`${dir}/zipf.lua`, ZIPF_LUA);
  const zipfWrk = () => wrk(`http://127.0.0.1:${varnishPort}/`, `${dir}/zipf.lua`, [flags.objects, flags.zipf]);
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
} finally {
  for (const child of children) {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
  }
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(shm, { recursive: true });
}
