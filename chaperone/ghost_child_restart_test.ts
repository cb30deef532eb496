/**
 * The sync loop with a real varnishd and the ghost VMOD when varnishd's manager restarts a crashed child: the new
 * child's router reads ghost.json, which is behind the document ghost served while a delta's whole file is not
 * written yet. The chaperone notices the revision it gave ghost is gone and reloads, with no further change. Needs the
 * built VMOD (`scripts/setup.sh ghost`); skipped otherwise.
 *
 * @module
 */
import { equal, ok } from "node:assert/strict";
import { GHOST_SOCKET_NAME } from "../internal/names.ts";
import { createLogger } from "../internal/log.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import type { GatewayConfig } from "./config_map_watcher.ts";
import { ghostServingRevision, reloadGhost } from "./ghost_reload_client.ts";
import { indexEndpoints } from "./merge_endpoints.ts";
import { emptyMetrics } from "./metrics.ts";
import { SyncLoop } from "./sync_loop.ts";
import { VarnishCliClient } from "./varnish_cli_client.ts";
import { serviceView, sliceView } from "./_test_views.ts";
import {
  DEBIAN_VMOD_DIR,
  freePort,
  getWithHost,
  ghostTestVcl,
  ghostVmodDir,
  stageGhostVmod,
  startScratchVarnish,
} from "./_test_varnish.ts";

/** routing.json with `app.test` routed to Service `ns/<service>`. */
function routing(service: string): string {
  return JSON.stringify({
    version: 1,
    listeners: [{ name: "http", socket: "port-http", port: 80, protocol: "HTTP" }],
    vhosts: {
      "app.test": {
        routes: [{
          id: { namespace: "ns", name: "r", rule: 0 },
          created: "2026-01-01T00:00:00Z",
          listeners: ["http"],
          backends: [{ weight: 1, service: { namespace: "ns", name: service, port: 80 } }],
        }],
      },
    },
  });
}

/** The pid of varnishd's child (`cache-main`) under the manager `manager`. */
async function childPid(manager: number): Promise<number> {
  const ps = await new Deno.Command("ps", { args: ["-o", "pid=,comm=", "--ppid", String(manager)] }).output();
  const line = new TextDecoder().decode(ps.stdout).split("\n").find((l) => l.includes("cache-main"));
  if (line === undefined) throw new Error(`no cache-main child under ${manager}`);
  return Number(line.trim().split(/\s+/)[0]);
}

Deno.test({
  name: "a varnishd child restarted before the whole ghost.json is written is reloaded to the served document",
  ignore: ghostVmodDir() === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const backends = ["a", "b"].map((name) =>
    Deno.serve({ hostname: "127.0.0.1", port: freePort(), onListen: () => {} }, () => new Response(name))
  );
  const [httpPort, ghostPort] = [freePort(), freePort()];
  // varnishd drops privileges when started as root: its users must read the VMOD
  const vmods = await Deno.makeTempDir({ prefix: "lacquer-vmods-" });
  await Deno.chmod(vmods, 0o755);
  const varnish = await startScratchVarnish(undefined, [
    ...["-a", `port-http=127.0.0.1:${httpPort}`, "-a", `${GHOST_SOCKET_NAME}=127.0.0.1:${ghostPort}`],
    ...["-p", `vmod_path=${await stageGhostVmod(vmods)}:${DEBIAN_VMOD_DIR}`],
  ]);
  const ghostJson = `${varnish.dir}/ghost.json`;
  const cli = new VarnishCliClient({ port: varnish.cliPort, secret: varnish.secret });
  let config: GatewayConfig = { resourceVersion: "1", mainVcl: ghostTestVcl(ghostJson), routingJson: routing("a") };
  const services = ["a", "b"].map((name, i) => serviceView(name, undefined, backends[i].addr.port));
  const slices = ["a", "b"].map((name, i) => sliceView(name, "127.0.0.1", backends[i].addr.port));
  const metrics = emptyMetrics();
  let asked = 0;
  const sync = new SyncLoop({
    config: { current: () => Promise.resolve(config) },
    endpoints: {
      setNamespaces: () => {},
      isSynced: () => true,
      index: () => indexEndpoints({ services, endpointSlices: slices }),
    },
    ghostJsonPath: ghostJson,
    reloadGhost: (request) => reloadGhost(ghostPort, { request }),
    servingRevision: () => (asked++, ghostServingRevision(ghostPort)),
    metrics,
    log: createLogger({ level: "error" }),
    // the window between a delta's swap and the whole file, widened so that a child restart surely falls in it
    persistDelayMs: 3000,
  });
  const get = () => getWithHost(httpPort, "app.test");
  const route = async (service: string, version: string) => {
    config = { resourceVersion: version, mainVcl: config.mainVcl, routingJson: routing(service) };
    sync.poke();
    await sync.idle();
  };
  try {
    await sync.onVarnishStarted(cli);
    await eventually(async () => equal(await get(), "200 a"), { timeoutMs: 30_000 });
    // the new child serves the file it read before the start's own ghost reload (counted) is done: wait for it
    await sync.idle();

    // A change as a delta; once the whole file is written, ghost says it serves that revision: nothing reloads.
    const reloads = metrics.ghostReloads.success;
    await route("b", "2");
    equal(await get(), "200 b");
    equal(metrics.ghostReloads.success, reloads + 1);
    await eventually(() => equal(asked, 1), { timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    equal(metrics.ghostReloads.success, reloads + 1, "a revision ghost serves reloads nothing");

    // The next delta swapped, and before its whole file is written the child crashes: the manager restarts it,
    // and its router reads the previous document from the file.
    await route("a", "3");
    equal(await get(), "200 a");
    Deno.kill(await childPid(varnish.child.pid), "SIGKILL");
    await eventually(async () => equal(await get(), "200 b"), { timeoutMs: 10_000 });
    // with no other change, the chaperone notices once the file is written and reloads ghost from it
    await eventually(async () => equal(await get(), "200 a"), { timeoutMs: 15_000 });
    ok(sync.status().applied);
    equal(typeof await ghostServingRevision(ghostPort), "string", "ghost serves a revision the chaperone gave it");
  } finally {
    await sync.stop();
    cli.close();
    await varnish.stop();
    await Promise.all(backends.map((b) => b.shutdown()));
    await Deno.remove(vmods, { recursive: true });
  }
});
