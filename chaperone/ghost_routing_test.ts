/**
 * The chaperone with the real ghost VMOD: routing.json and EndpointSlice changes reach traffic, bad input keeps
 * the rest serving, and ghost reloads under load lose no request. Needs `deno task test` (local cluster) and the
 * built VMOD (`scripts/setup.sh ghost`); skipped otherwise.
 *
 * @module
 */
import { equal, ok } from "node:assert/strict";
import { MAIN_VCL_KEY, ROUTING_JSON_KEY } from "../internal/names.ts";
import {
  applyObject as upsert,
  applyTestService,
  collections,
  ghostClusterTest,
  testConfigMap,
  testEndpointSlice,
  withTestChaperone,
} from "./_test_cluster_fixtures.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import { DEBIAN_VMOD_DIR, freePort, getWithHost, ghostTestVcl, stageGhostVmod } from "./_test_varnish.ts";

const BACKENDS = ["10.245.1.1", "10.245.1.2", "10.245.1.3"];

function routing(namespace: string, routes: { host: string; path?: string; regex?: string; service: string }[]) {
  const vhosts: Record<string, { routes: unknown[] }> = {};
  routes.forEach((r, i) => {
    vhosts[r.host] ??= { routes: [] };
    vhosts[r.host].routes.push({
      id: { namespace, name: `r${i}`, rule: 0 },
      created: "2026-01-01T00:00:00Z",
      listeners: ["http"],
      matches: [{
        path: r.regex ? { type: "RegularExpression", value: r.regex } : { type: "PathPrefix", value: r.path ?? "/" },
      }],
      backends: [{ weight: 1, service: { namespace, name: r.service, port: 80 } }],
    });
  });
  return JSON.stringify({
    version: 1,
    listeners: [{ name: "http", socket: "port-http", port: 80, protocol: "HTTP" }],
    vhosts,
  }) + "\n";
}

/** The EndpointSlice `<service>-1` of `service`. */
function slice(service: string, addresses: string[]) {
  return testEndpointSlice(`${service}-1`, service, addresses);
}

ghostClusterTest(
  "chaperone with ghost: route and endpoint changes reach traffic, bad routes and reloads under load do no harm",
  "lacquer-ghost-",
  async ({ ns, workDir, t }) => {
    const httpPort = freePort();
    const { configMaps: CM, slices: SLICES } = collections(ns);
    const vcl = ghostTestVcl(`${workDir}/ghost.json`);
    const setRouting = (text: string) =>
      upsert(ns, CM, "gw-lacquer", testConfigMap({ [MAIN_VCL_KEY]: vcl, [ROUTING_JSON_KEY]: text }));
    await applyTestService(ns, "a", [BACKENDS[0]]);
    await applyTestService(ns, "b", [BACKENDS[1]]);
    await setRouting(routing(ns.name, [{ host: "app.test", service: "a" }]));
    const get = (host: string, path = "/") => getWithHost(httpPort, host, path);
    const options = {
      workDir,
      backends: BACKENDS,
      level: "debug" as const,
      config: {
        listen: [`port-http=127.0.0.1:${httpPort}`],
        vmodPath: `${await stageGhostVmod(workDir)}:${DEBIAN_VMOD_DIR}`,
      },
    };
    await withTestChaperone(ns, options, async ({ chaperone }) => {
      await t.step("serves the initial route", async () => {
        await eventually(async () => equal(await get("app.test"), `200 ${BACKENDS[0]}`), { timeoutMs: 30_000 });
      });
      await t.step("a route change moves traffic without a VCL reload", async () => {
        const vclReloads = chaperone.metrics.vclReloads.success;
        await setRouting(routing(ns.name, [{ host: "app.test", service: "b" }]));
        await eventually(async () => equal(await get("app.test"), `200 ${BACKENDS[1]}`));
        equal(chaperone.metrics.vclReloads.success, vclReloads);
      });
      await t.step("endpoint add and remove reach traffic", async () => {
        await upsert(ns, SLICES, "b-1", slice("b", [BACKENDS[1], BACKENDS[2]]));
        await eventually(async () => {
          const seen = new Set<string>();
          for (let i = 0; i < 20; i++) seen.add(await get("app.test"));
          equal(seen.size, 2, [...seen].join(" | "));
        });
        await upsert(ns, SLICES, "b-1", slice("b", [BACKENDS[2]]));
        await eventually(async () => {
          for (let i = 0; i < 10; i++) equal(await get("app.test"), `200 ${BACKENDS[2]}`);
        });
      });
      await t.step("a route ghost cannot use is skipped while the others keep serving", async () => {
        await setRouting(routing(ns.name, [
          { host: "app.test", service: "a" },
          { host: "bad.test", regex: "/(unclosed", service: "b" },
        ]));
        await eventually(async () => equal(await get("app.test"), `200 ${BACKENDS[0]}`));
        await eventually(() => equal(chaperone.metrics.ghostRoutesSkipped, 1));
        equal(chaperone.metrics.ghostRoutesLoaded, 1);
      });
      await t.step("100 endpoint changes under continuous load lose no request", async () => {
        let stopped = false;
        const stats = { ok: 0, failed: [] as string[] };
        const loops = Array.from({ length: 8 }, async () => {
          while (!stopped) {
            const answer = await get("app.test").catch((e) => `error ${e.message}`);
            if (/^200 10\.245\.1\.[12]$/.test(answer)) stats.ok++;
            else stats.failed.push(answer);
          }
        });
        const reloads = chaperone.metrics.ghostReloads.success;
        // The slice of "a" holds BACKENDS[0] now; every change moves it to the other backend.
        for (let i = 1; i <= 100; i++) {
          await upsert(ns, SLICES, "a-1", slice("a", [BACKENDS[i % 2]]));
          await eventually(() => ok(chaperone.metrics.ghostReloads.success >= reloads + i));
        }
        stopped = true;
        await Promise.all(loops);
        equal(stats.failed.length, 0, `failed: ${stats.failed.slice(0, 5).join(", ")}`);
        ok(stats.ok > 500);
      });
    });
  },
);
