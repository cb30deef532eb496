/**
 * `deno task bench:transport`: one varnishd with the ghost VMOD in front of one origin process
 * (`ghost/vmod/examples/transport_echo.rs`: the same echo handler on a plain HTTP/1.1, a TLS and an H2C port), and
 * the same load through four routes: Varnish's native backend (HTTP/1.1), ghost's transport over plain HTTP/1.1 (to
 * the native backend's port: like for like), over TLS and over H2C. Prints requests/s and latency percentiles side by
 * side and writes them, with the machine's load and the versions, to `chaperone/transport_bench_results.md`.
 * The modes take turns (`ROUNDS` rounds) so that a noisy neighbour hits all of them alike. The task builds the VMOD
 * and the example into the same release directory and the bench loads both from there (`$CARGO_TARGET_DIR/release`),
 * so that the VMOD measured is the checkout's, never an older build; `LACQUER_GHOST_VMOD_DIR` names another VMOD
 * build. Skipped when the VMOD or the example is not built.
 *
 * @module
 */
import { equal } from "node:assert/strict";
import { GHOST_SOCKET_NAME } from "../internal/names.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import { lacquerCacheDir } from "../tests/cluster/layout.ts";
import { DEBIAN_VMOD_DIR, freePort, ghostTestVcl, stageGhostVmod } from "./_test_varnish.ts";

const ROUNDS = 3;
const SECONDS_PER_ROUND = 4;
const WORKERS = 8;
const MODES = ["native", "http", "tls", "h2c"] as const;
type Mode = typeof MODES[number];

const RELEASE_DIR = `${Deno.env.get("CARGO_TARGET_DIR") ?? `${lacquerCacheDir(Deno.env)}/ghost-target`}/release`;
const ECHO_BINARY = `${RELEASE_DIR}/examples/transport_echo`;
const VMOD_DIR = Deno.env.get("LACQUER_GHOST_VMOD_DIR") ?? RELEASE_DIR;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** ghost.json: `/native`, `/http`, `/tls` and `/h2c` to the ports of the one origin. */
function ghostJson(ports: Record<Mode, number>, tls: unknown): string {
  const route = (mode: Mode, transport?: unknown) => ({
    id: { namespace: "bench", name: mode, rule: 0 },
    created: "2026-01-01T00:00:00Z",
    listeners: ["http"],
    matches: [{ path: { type: "PathPrefix", value: `/${mode}` } }],
    backends: [{
      name: `bench/${mode}:80`,
      endpoints: [{ address: "127.0.0.1", port: ports[mode] }],
      ...(transport ? { transport } : {}),
    }],
  });
  return JSON.stringify({
    version: 1,
    vhosts: {
      "*": {
        routes: [
          route("native"),
          route("http", { protocol: "HTTP" }),
          route("tls", tls),
          route("h2c", { protocol: "H2C" }),
        ],
      },
    },
  });
}

/** Sends GET `path` from `WORKERS` loops for `seconds`; returns the latencies (ms) of the 200 answers and failures. */
async function load(port: number, path: string, seconds: number): Promise<{ latencies: number[]; failures: number }> {
  const latencies: number[] = [];
  let failures = 0;
  const until = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      const started = performance.now();
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      await response.arrayBuffer();
      if (response.status === 200) latencies.push(performance.now() - started);
      else failures++;
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  return { latencies, failures };
}

/** The machine and versions a run was measured with: cores, load average before and after, varnishd, rustc, Deno. */
async function conditions(): Promise<string> {
  const version = async (cmd: string, args: string[]) => {
    try {
      const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
      return new TextDecoder().decode(out.stdout.length ? out.stdout : out.stderr).split("\n")[0].trim();
    } catch {
      return `${cmd}: not found`;
    }
  };
  return `${navigator.hardwareConcurrency} cores (shared with other work), load average ${
    Deno.loadavg().map((l) => l.toFixed(2)).join(" ")
  } at the end, ${await version("varnishd", ["-V"])}, ${await version("rustc", [
    "--version",
  ])}, Deno ${Deno.version.deno}`;
}

/** The varnishd child (the process that serves requests) of the manager `pid`. */
async function varnishChild(pid: number): Promise<number> {
  let children = "";
  await eventually(async () => {
    children = (await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`)).trim();
    if (!children) throw new Error("varnishd has no child yet");
  }, { timeoutMs: 30_000 });
  return Number(children.split(" ")[0]);
}

/** CPU seconds (user and system, every thread) that process `pid` used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  // Fields 14 and 15 of /proc/<pid>/stat, counted after the command name's closing parenthesis.
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** `getconf CLK_TCK` on Linux. */
const CLOCK_TICKS = 100;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

Deno.test({
  name: "bench: native backend vs ghost's transport over plain HTTP/1.1, TLS and H2C, same origin, same load",
  ignore: !exists(`${VMOD_DIR}/libvmod_ghost.so`) || !exists(ECHO_BINARY),
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "lacquer-transport-bench-" });
  await Deno.chmod(dir, 0o755);
  const origin = new Deno.Command(ECHO_BINARY, { args: [`${dir}/echo`], stdout: "null", stderr: "inherit" }).spawn();
  const httpPort = freePort();
  const cliPort = freePort();
  let varnishd: Deno.ChildProcess | undefined;
  try {
    await eventually(() => Deno.stat(`${dir}/echo/ready`), { timeoutMs: 30_000 });
    const env = Object.fromEntries(
      (await Deno.readTextFile(`${dir}/echo/env`)).trim().split("\n").map((l) => l.split("=") as [string, string]),
    );
    const http = Number(env.HTTP_PORT);
    const ports = { native: http, http, tls: Number(env.TLS_PORT), h2c: Number(env.H2C_PORT) };
    const tls = JSON.parse(await Deno.readTextFile(`${dir}/echo/tls_ok.json`));
    await Deno.writeTextFile(`${dir}/ghost.json`, ghostJson(ports, tls), { mode: 0o644 });
    await Deno.writeTextFile(`${dir}/main.vcl`, ghostTestVcl(`${dir}/ghost.json`), { mode: 0o644 });
    await Deno.writeFile(`${dir}/secret`, crypto.getRandomValues(new Uint8Array(32)));
    varnishd = new Deno.Command("varnishd", {
      args: [
        ...["-F", "-n", `${dir}/n`, "-f", `${dir}/main.vcl`, "-s", "malloc,64m"],
        ...["-a", `http=127.0.0.1:${httpPort}`, "-a", `${GHOST_SOCKET_NAME}=127.0.0.1:${freePort()}`],
        ...["-T", `127.0.0.1:${cliPort}`, "-S", `${dir}/secret`],
        ...["-p", `vmod_path=${await stageGhostVmod(dir, VMOD_DIR)}:${DEBIAN_VMOD_DIR}`],
      ],
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    for (const mode of MODES) {
      await eventually(async () => {
        const response = await fetch(`http://127.0.0.1:${httpPort}/${mode}/warm`);
        await response.arrayBuffer();
        equal(response.status, 200);
      }, { timeoutMs: 60_000 });
    }
    const child = await varnishChild(varnishd.pid);
    const results = Object.fromEntries(
      MODES.map((m) => [m, { latencies: [] as number[], failures: 0, seconds: 0, cpu: 0 }]),
    );
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of MODES) {
        const cpu = await cpuSeconds(child);
        const { latencies, failures } = await load(httpPort, `/${mode}/x`, SECONDS_PER_ROUND);
        results[mode].cpu += await cpuSeconds(child) - cpu;
        results[mode].latencies.push(...latencies);
        results[mode].failures += failures;
        results[mode].seconds += SECONDS_PER_ROUND;
      }
    }
    const rows = MODES.map((mode) => {
      const r = results[mode];
      const sorted = r.latencies.sort((a, b) => a - b);
      const rps = sorted.length / r.seconds;
      const cpuPerRequest = r.cpu * 1e6 / Math.max(1, sorted.length + r.failures);
      return {
        mode,
        rps,
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        failures: r.failures,
        cpuPerRequest,
      };
    });
    const [native] = rows;
    const table = [
      "| backend | requests/s | vs native | p50 ms | p99 ms | varnishd CPU µs/request | vs native | failures |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...rows.map((r) =>
        `| ${r.mode} | ${r.rps.toFixed(0)} | ${(r.rps / native.rps).toFixed(2)}× | ${r.p50.toFixed(2)} | ${
          r.p99.toFixed(2)
        } | ${r.cpuPerRequest.toFixed(0)} | ${(r.cpuPerRequest / native.cpuPerRequest).toFixed(2)}× | ${r.failures} |`
      ),
    ].join("\n");
    console.log(table);
    const report = `# bench:transport\n\n${new Date().toISOString()}, ${await conditions()}; ${WORKERS} concurrent ` +
      `keep-alive clients (Deno fetch) for ${ROUNDS}×${SECONDS_PER_ROUND} s per backend, taking turns, \`return (pass)\` ` +
      `(no caching), one origin process with a small echo answer:\n\n${table}\n`;
    // Sections below the table (`## …`: how to read it, the allocation figures of the Rust test) are kept.
    const file = new URL("transport_bench_results.md", import.meta.url);
    const previous = await Deno.readTextFile(file).catch(() => "");
    const notes = previous.indexOf("\n## ");
    await Deno.writeTextFile(file, notes < 0 ? report : `${report}${previous.slice(notes)}`);
    for (const r of rows) equal(r.failures, 0, `${r.mode} had failures`);
  } finally {
    try {
      varnishd?.kill("SIGTERM");
      await varnishd?.status;
    } catch { /* already gone */ }
    try {
      origin.kill("SIGTERM");
      await origin.status;
    } catch { /* already gone */ }
    await Deno.remove(dir, { recursive: true });
  }
});
