/**
 * `deno task bench:ghost-reload`: the whole reload of 10,000 routes, as the chaperone does it, in a real varnishd
 * with the ghost VMOD: write ghost.json (10,000 routes, each with a native backend of its own), then
 * `GET /.varnish-ghost/reload` on the control socket, which reads, compiles and swaps the state and creates the
 * backends. Every reload moves one host to another local backend, and the sample ends with its first correct answer.
 * Then the same change as a delta (`ghost.json.delta` with that one host, applied to the state ghost serves), as the
 * chaperone sends a change that leaves the document-wide fields alone.
 * Skipped when the VMOD is not built. `LACQUER_BENCH_ROUTES` and `LACQUER_BENCH_RELOADS` set the routes (one host
 * and one native backend each) and reloads; `LACQUER_BENCH_CACHED=1` gives every route cache settings (and counters);
 * `LACQUER_BENCH_JSON` names a file for the figures as JSON.
 *
 * @module
 */
import { equal } from "node:assert/strict";
import { GHOST_SOCKET_NAME } from "../internal/names.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import { reloadGhost } from "./ghost_reload_client.ts";
import { DEBIAN_VMOD_DIR, freePort, getWithHost, ghostTestVcl, ghostVmodDir, stageGhostVmod } from "./_test_varnish.ts";

const ROUTES = Number(Deno.env.get("LACQUER_BENCH_ROUTES") ?? 10_000);
const RELOADS = Number(Deno.env.get("LACQUER_BENCH_RELOADS") ?? 21);
const CACHED = Deno.env.get("LACQUER_BENCH_CACHED") === "1";
/** Where to write the figures as JSON (`tests/bench/report.ts`), besides printing them. */
const JSON_OUT = Deno.env.get("LACQUER_BENCH_JSON");

/** One host's vhost: `h0.bench` to the local backend on `port`, the others nowhere reachable. */
function vhost(i: number, port: number) {
  const endpoint = i === 0 ? { address: "127.0.0.1", port } : {
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 8080,
  };
  return {
    routes: [{
      id: { namespace: "bench", name: `r${i}`, rule: 0 },
      created: "2026-01-01T00:00:00Z",
      listeners: ["http"],
      backends: [{ name: `bench/s${i}:80`, endpoints: [endpoint] }],
      ...(CACHED ? { cache: "bench/p" } : {}),
    }],
  };
}

/** ghost.json with `ROUTES` hosts; `h0.bench` goes to the local backend on `port`, the others nowhere reachable. */
function ghostJson(port: number): string {
  const vhosts: Record<string, unknown> = {};
  for (let i = 0; i < ROUTES; i++) vhosts[`h${i}.bench`] = vhost(i, port);
  return JSON.stringify({ version: 1, ...(CACHED ? { cachePolicies: { "bench/p": {} } } : {}), vhosts });
}

/** The percentile `p` of sorted samples. */
function at(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Summary of samples in ms, sorted in place. */
function summary(samples: number[]): string {
  samples.sort((a, b) => a - b);
  return `best ${samples[0].toFixed(1)} ms, median ${at(samples, 50).toFixed(1)} ms, p90 ${
    at(samples, 90).toFixed(1)
  } ms (${samples.length} reloads)`;
}

Deno.test({
  name: `bench: ghost reload of ${ROUTES} routes with their native backends in varnishd`,
  ignore: ghostVmodDir() === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "lacquer-reload-bench-" });
  // varnishd drops privileges when started as root: its users must read the files
  await Deno.chmod(dir, 0o755);
  const backends = [freePort(), freePort()].map((port) =>
    Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, () => new Response(String(port)))
  );
  const ports = backends.map((b) => b.addr.port);
  const httpPort = freePort();
  const ghostPort = freePort();
  const cliPort = freePort();
  await Deno.writeTextFile(`${dir}/ghost.json`, ghostJson(ports[0]), { mode: 0o644 });
  await Deno.writeTextFile(`${dir}/main.vcl`, ghostTestVcl(`${dir}/ghost.json`), { mode: 0o644 });
  await Deno.writeFile(`${dir}/secret`, crypto.getRandomValues(new Uint8Array(32)));
  const varnishd = new Deno.Command("varnishd", {
    args: [
      ...["-F", "-n", `${dir}/n`, "-f", `${dir}/main.vcl`, "-s", "malloc,64m"],
      ...["-a", `http=127.0.0.1:${httpPort}`, "-a", `${GHOST_SOCKET_NAME}=127.0.0.1:${ghostPort}`],
      ...["-T", `127.0.0.1:${cliPort}`, "-S", `${dir}/secret`],
      ...["-p", `vmod_path=${await stageGhostVmod(dir)}:${DEBIAN_VMOD_DIR}`],
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    await eventually(async () => equal(await getWithHost(httpPort, "h0.bench"), `200 ${ports[0]}`), {
      timeoutMs: 60_000,
    });
    const samples: number[] = [];
    for (let n = 1; n <= RELOADS; n++) {
      const port = ports[n % 2];
      const text = ghostJson(port);
      const started = performance.now();
      await Deno.writeTextFile(`${dir}/ghost.json.tmp`, text, { mode: 0o644 });
      await Deno.rename(`${dir}/ghost.json.tmp`, `${dir}/ghost.json`);
      await reloadGhost(ghostPort, { timeoutMs: 60_000, request: { revision: `r${n}` } });
      // the reload answers once the new state serves: the first request must already get the new backend
      equal(await getWithHost(httpPort, "h0.bench"), `200 ${port}`);
      samples.push(performance.now() - started);
    }
    const deltas: number[] = [];
    for (let n = RELOADS + 1; n <= 2 * RELOADS; n++) {
      const port = ports[n % 2];
      const started = performance.now();
      const delta = JSON.stringify({ version: 1, vhosts: { "h0.bench": vhost(0, port) } });
      await Deno.writeTextFile(`${dir}/ghost.json.delta`, delta, { mode: 0o644 });
      const answer = await reloadGhost(ghostPort, {
        timeoutMs: 60_000,
        request: { revision: `r${n}`, deltaBase: `r${n - 1}` },
      }) as { revision?: string; routes?: number; uncached?: unknown[] };
      equal(await getWithHost(httpPort, "h0.bench"), `200 ${port}`);
      deltas.push(performance.now() - started);
      equal(answer.revision, `r${n}`);
      equal(answer.routes, ROUTES);
      equal(answer.uncached?.length, 0, "every route's cache settings built");
    }
    console.log(
      `ghost reload of ${ROUTES} routes (write ghost.json, control request, ${ROUTES} native backends, first ` +
        `correct answer): ${summary(samples)}`,
    );
    console.log(
      `ghost delta reload of one host among ${ROUTES} routes (write ghost.json.delta, control request, first ` +
        `correct answer): ${summary(deltas)}`,
    );
    if (JSON_OUT) {
      const figures = {
        routes: ROUTES,
        bestMs: samples[0],
        p50Ms: at(samples, 50),
        p90Ms: at(samples, 90),
        reloads: samples.length,
        delta: { bestMs: deltas[0], p50Ms: at(deltas, 50), p90Ms: at(deltas, 90), reloads: deltas.length },
      };
      await Deno.writeTextFile(JSON_OUT, JSON.stringify(figures));
    }
  } finally {
    try {
      varnishd.kill("SIGTERM");
    } catch {
      // gone already
    }
    await varnishd.status;
    for (const backend of backends) await backend.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
