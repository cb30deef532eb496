/**
 * Test helpers of the chaperone folder for tests against the local cluster: applying objects, building Services,
 * EndpointSlices and ConfigMaps, starting a chaperone on a test namespace, backends and load.
 *
 * @module
 */
import { equal } from "node:assert/strict";
import { createLogger, type Logger, type LogLevelName } from "../internal/log.ts";
import { GHOST_JSON_PATH, MAIN_VCL_KEY, ROUTING_JSON_KEY } from "../internal/names.ts";
import { clusterAvailable, createTestNamespace, type TestNamespace, useCluster } from "../tests/cluster/mod.ts";
import { generateMainVcl } from "../vcl/mod.ts";
import { DEBIAN_VMOD_DIR, freePort, ghostVmodDir, stageGhostVmod } from "./_test_varnish.ts";
import { chaperoneConfigSchema } from "./options.ts";
import { type RunningChaperone, startChaperone } from "./run_chaperone.ts";

/** What {@linkcode ghostClusterTest} gives its test: a fresh namespace of the local cluster and a work directory. */
export interface GhostClusterContext {
  /** The test's namespace, deleted after the test. */
  ns: TestNamespace;
  /** A new temporary directory for varnishd and the chaperone. */
  workDir: string;
  /** The Deno test context, for steps. */
  t: Deno.TestContext;
}

/**
 * Registers a test that runs a chaperone with varnishd and the ghost VMOD against the local cluster: skipped without
 * either, and without the op and resource sanitizers (varnishd and the chaperone outlive single awaits).
 *
 * @param name The test's name.
 * @param prefix The prefix of its work directory's name.
 * @param fn The test.
 */
export function ghostClusterTest(name: string, prefix: string, fn: (ctx: GhostClusterContext) => Promise<void>): void {
  Deno.test({
    name,
    ignore: !clusterAvailable() || ghostVmodDir() === undefined,
    sanitizeOps: false,
    sanitizeResources: false,
  }, async (t) => {
    await using ns = await createTestNamespace(await useCluster());
    const workDir = await Deno.makeTempDir({ prefix });
    await fn({ ns, workDir, t });
  });
}

/** Creates the object `name` in `collection` (an API path), or replaces it keeping its resourceVersion. */
export async function applyObject(
  ns: TestNamespace,
  collection: string,
  name: string,
  body: Record<string, unknown>,
): Promise<void> {
  const path = `${collection}/${name}`;
  try {
    const current = await ns.client.request<{ metadata: { resourceVersion: string } }>(path);
    const metadata = { ...(body.metadata as object), name, resourceVersion: current.metadata.resourceVersion };
    await ns.client.request(path, { method: "PUT", body: { ...body, metadata } });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
    await ns.client.request(collection, {
      method: "POST",
      body: { ...body, metadata: { ...(body.metadata as object), name } },
    });
  }
}

/** Returns the API paths of the test namespace's ConfigMaps, Services and EndpointSlices. */
export function collections(ns: TestNamespace): { configMaps: string; services: string; slices: string } {
  return {
    configMaps: `/api/v1/namespaces/${ns.name}/configmaps`,
    services: `/api/v1/namespaces/${ns.name}/services`,
    slices: `/apis/discovery.k8s.io/v1/namespaces/${ns.name}/endpointslices`,
  };
}

/** Returns a Service with port "http" 80 → 3000 (name set by `applyObject`, or by `name` when given). */
export function testService(name?: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: name === undefined ? {} : { name },
    spec: { ports: [{ name: "http", port: 80, targetPort: 3000 }] },
  };
}

/** Returns an EndpointSlice `name` of Service `service` with ready endpoints on port "http" 3000. */
export function testEndpointSlice(name: string, service: string, addresses: string[]): Record<string, unknown> {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name,
      labels: { "kubernetes.io/service-name": service, "endpointslice.kubernetes.io/managed-by": "lacquer-tests" },
    },
    addressType: "IPv4",
    ports: [{ name: "http", port: 3000, protocol: "TCP" }],
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  };
}

/** Returns a ConfigMap with `data` (and `binaryData` when given), its name set by `applyObject`. */
export function testConfigMap(
  data: Record<string, string>,
  binaryData?: Record<string, string>,
): Record<string, unknown> {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: {}, data, ...(binaryData ? { binaryData } : {}) };
}

/** Options of `startTestChaperone`. */
export interface TestChaperoneOptions {
  /** The chaperone's work directory. */
  workDir: string;
  /** Config fields beyond the defaults (ConfigMap "gw-lacquer", malloc,32m, free ports, drain 0 s), or overriding them. */
  config?: Record<string, unknown>;
  /** Level of the logger that collects lines into `lines`. @default {"info"} */
  level?: LogLevelName;
  /** A logger to use instead of the collecting one. */
  log?: Logger;
}

/** A chaperone started by `startTestChaperone`. */
export interface TestChaperone {
  /** The running chaperone. */
  chaperone: RunningChaperone;
  /** Resolves its stop signal. */
  stop: () => void;
  /** The log lines collected (empty when `log` was given). */
  lines: string[];
  /** The access log lines collected (instead of written to stdout). */
  accessLines: string[];
}

/** Starts a chaperone on the test namespace's ConfigMap "gw-lacquer" with admin, CLI and ghost on free ports. */
export async function startTestChaperone(ns: TestNamespace, options: TestChaperoneOptions): Promise<TestChaperone> {
  const config = chaperoneConfigSchema.parse({
    namespace: ns.name,
    configmap: "gw-lacquer",
    storage: "malloc,32m",
    workDir: options.workDir,
    adminAddress: `127.0.0.1:${freePort()}`,
    cliPort: String(freePort()),
    ghostPort: String(freePort()),
    kubeconfig: ns.cluster.kubeconfig,
    drainSeconds: "0",
    ...options.config,
  });
  let stop!: () => void;
  const stopSignal = new Promise<void>((resolve) => stop = resolve);
  const lines: string[] = [];
  const log = options.log ?? createLogger({ level: options.level ?? "info", sink: (line) => lines.push(line) });
  const accessLines: string[] = [];
  const accessLogWrite = (line: string) => Promise.resolve(void accessLines.push(line));
  const chaperone = await startChaperone({ config, log, stopSignal, accessLogWrite });
  return { chaperone, stop, lines, accessLines };
}

/** Options of `withTestChaperone`. */
export interface WithTestChaperoneOptions extends TestChaperoneOptions {
  /** Backend addresses to serve with `startBackends` while the chaperone runs. */
  backends?: string[];
}

/**
 * Starts a chaperone (and `backends`), runs `fn` with it, then stops it, checks it exits 0, shuts the backends down
 * and removes `workDir`. When `fn` throws, the last log lines are printed first, to tell why.
 */
export async function withTestChaperone(
  ns: TestNamespace,
  options: WithTestChaperoneOptions,
  fn: (running: TestChaperone) => Promise<void>,
): Promise<void> {
  const servers = await startBackends(options.backends ?? []);
  const running = await startTestChaperone(ns, options);
  let code: number;
  try {
    await fn(running);
  } catch (err) {
    console.error(running.lines.slice(-60).join("\n"));
    throw err;
  } finally {
    running.stop();
    code = await running.chaperone.exit;
    await Promise.all(servers.map((s) => s.shutdown()));
    await Deno.remove(options.workDir, { recursive: true });
  }
  equal(code, 0, "the chaperone exits 0 once stopped");
}

/**
 * routing.json with one route (listener "http" on socket "port-http", any host) to port 80 of `service` in
 * `namespace`, and to further backends (`namespace/name`) when given.
 */
export function testRoutingJson(namespace: string, service: string, more: string[] = [], version = 1): string {
  const backends = [`${namespace}/${service}`, ...more].map((key) => {
    const [ns, name] = key.split("/");
    return { weight: 1, service: { namespace: ns, name, port: 80 } };
  });
  return JSON.stringify({
    version,
    listeners: [{ name: "http", socket: "port-http", port: 80, protocol: "HTTP" }],
    vhosts: {
      "*": {
        routes: [{
          id: { namespace, name: "web", rule: 0 },
          created: "2026-01-01T00:00:00Z",
          listeners: ["http"],
          backends,
        }],
      },
    },
  }) + "\n";
}

/**
 * Prepares a gateway with the real ghost VMOD: Service "app" on `backend`, the ConfigMap "gw-lacquer" with the
 * operator's generated VCL (reading ghost.json from `workDir`) and `routingJson`, the VMOD staged in `workDir`.
 * Returns the chaperone config (a free HTTP port as listener "port-http") and that port.
 */
export async function applyGhostGateway(
  ns: TestNamespace,
  options: { workDir: string; backend: string; routingJson: string },
): Promise<{ httpPort: number; config: { listen: string[]; vmodPath: string } }> {
  const { workDir, backend, routingJson } = options;
  const httpPort = freePort();
  await applyTestService(ns, "app", [backend]);
  const vcl = generateMainVcl({ gateway: `${ns.name}/gw` }).replaceAll(GHOST_JSON_PATH, `${workDir}/ghost.json`);
  const configMap = testConfigMap({ [MAIN_VCL_KEY]: vcl, [ROUTING_JSON_KEY]: routingJson });
  await applyObject(ns, collections(ns).configMaps, "gw-lacquer", configMap);
  const vmodPath = `${await stageGhostVmod(workDir)}:${DEBIAN_VMOD_DIR}`;
  return { httpPort, config: { listen: [`port-http=127.0.0.1:${httpPort}`], vmodPath } };
}

/** Applies Service `name` (see `testService`) and its EndpointSlice `<name>-1` of `addresses`. */
export async function applyTestService(ns: TestNamespace, name: string, addresses: string[]): Promise<void> {
  const { services, slices } = collections(ns);
  await applyObject(ns, services, name, testService());
  await applyObject(ns, slices, `${name}-1`, testEndpointSlice(`${name}-1`, name, addresses));
}

/**
 * Adds `addresses` to the loopback device and serves on port 3000 of each `handler`'s answer, by default one naming
 * that address.
 */
export async function startBackends(
  addresses: string[],
  handler?: (request: Request) => Response,
): Promise<Deno.HttpServer[]> {
  for (const address of addresses) {
    await new Deno.Command("ip", { args: ["addr", "replace", `${address}/32`, "dev", "lo"] }).output();
  }
  return addresses.map((hostname) =>
    Deno.serve({ hostname, port: 3000, onListen: () => {} }, handler ?? (() => new Response(hostname)))
  );
}

/** Fetches `http://127.0.0.1:<port>/` and returns `"<status> <body>"`. */
export async function getText(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  return `${response.status} ${await response.text()}`;
}

/** Sends requests from `concurrency` loops until stopped; counts answers that `accept` rejects and keeps 5. */
export function startLoad(port: number, concurrency: number, accept: (answer: string) => boolean): {
  stats: { ok: number; failed: number; samples: string[] };
  stop(): Promise<void>;
} {
  let stopped = false;
  const stats = { ok: 0, failed: 0, samples: [] as string[] };
  const loops = Array.from({ length: concurrency }, async () => {
    while (!stopped) {
      let answer: string;
      try {
        answer = await getText(port);
      } catch (err) {
        answer = `error ${(err as Error).message}`;
      }
      if (accept(answer)) stats.ok++;
      else {
        stats.failed++;
        if (stats.samples.length < 5) stats.samples.push(answer);
      }
    }
  });
  return {
    stats,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}
