/**
 * The access log against a real varnishd with the ghost VMOD: varnishncsa reads each client request from the
 * shared-memory log and the chaperone writes one JSON line with ghost's decision, or a sample of them.
 *
 * @module
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { createLogger } from "../internal/log.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import type { AccessRecord } from "./access_log.ts";
import { AccessLogger } from "./access_logger.ts";
import {
  freePort,
  getWithHost,
  ghostTestVcl,
  ghostVmodDir,
  stageGhostVmod,
  startScratchVarnish,
} from "./_test_varnish.ts";

Deno.test({
  name: "the access log has one JSON line per request with ghost's decision, and a sample has its share",
  ignore: ghostVmodDir() === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const backendPort = freePort();
  const backend = Deno.serve(
    { hostname: "127.0.0.1", port: backendPort, onListen: () => {} },
    () => new Response("ok"),
  );
  const dir = await Deno.makeTempDir({ prefix: "lacquer-access-" });
  await Deno.chmod(dir, 0o755);
  const route = (name: string, path: Record<string, string>, endpoints: unknown[]) => ({
    id: { namespace: "shop", name, rule: 0 },
    created: "2026-01-01T00:00:00Z",
    listeners: ["http"],
    matches: [{ path }],
    backends: [{ name: `shop/${name}:80`, endpoints }],
  });
  await Deno.writeTextFile(
    `${dir}/ghost.json`,
    JSON.stringify({
      version: 1,
      vhosts: {
        "shop.example.com": {
          routes: [
            route("web", { type: "PathPrefix", value: "/" }, [{ address: "127.0.0.1", port: backendPort }]),
            route("gone", { type: "Exact", value: "/gone" }, []),
          ],
        },
      },
    }),
  );
  await Deno.chmod(`${dir}/ghost.json`, 0o644);
  const vmods = await stageGhostVmod(dir);
  const varnish = await startScratchVarnish(
    ghostTestVcl(`${dir}/ghost.json`).replace("import ghost;", `import ghost from "${vmods}/libvmod_ghost.so";`),
  );
  const log = createLogger({ level: "error" });
  const logger = (sampleRate: number, random?: () => number) => {
    const lines: AccessRecord[] = [];
    const access = new AccessLogger({
      varnishncsa: "varnishncsa",
      instanceDir: `${varnish.dir}/n`,
      sampleRate,
      random,
      write: (line) => Promise.resolve(void lines.push(JSON.parse(line))),
      log,
    });
    access.start();
    return { lines, access };
  };
  const all = logger(1);
  // A request is logged when the random number is below the share.
  const sampledOut = logger(0.5, () => 0.7);
  const sampledIn = logger(0.75, () => 0.7);
  try {
    // varnishncsa attaches to the log within a moment; requests sent before that are not in it.
    await eventually(async () => {
      await getWithHost(varnish.httpPort, "warm.example.com", "/warm");
      ok(all.lines.length > 0 && sampledIn.lines.length > 0);
    }, { timeoutMs: 20_000 });
    // Late warm-up lines may still arrive: only the requests below count.
    const counted = (lines: AccessRecord[]) => lines.filter((l) => l.host !== "warm.example.com");
    equal(await getWithHost(varnish.httpPort, "Shop.Example.com", "/cart/%61?token=secret"), "200 ok");
    equal((await getWithHost(varnish.httpPort, "shop.example.com", "/gone")).split(" ")[0], "500");
    equal((await getWithHost(varnish.httpPort, "other.example.com", "/")).split(" ")[0], "404");
    await getWithHost(varnish.httpPort, "shop.example.com", "/");
    await eventually(() => equal(counted(all.lines).length, 4));
    // varnishncsa writes a line as each request's log transaction ends, not always in the order they were sent
    const lines = counted(all.lines);
    const [cart, gone, missing] = [
      lines.find((l) => l.path.startsWith("/cart"))!,
      lines.find((l) => l.path === "/gone")!,
      lines.find((l) => l.host === "other.example.com")!,
    ];
    ok(Math.abs(Date.parse(cart.time) - Date.now()) < 60_000, cart.time);
    ok(cart.durationMs >= 0);
    deepStrictEqual({ ...cart, time: "", durationMs: 0 }, {
      time: "",
      msg: "access",
      client: "127.0.0.1",
      host: "Shop.Example.com",
      method: "GET",
      path: "/cart/%61",
      status: 200,
      bytes: 2,
      durationMs: 0,
      cache: "pass",
      route: "shop/web",
      rule: 0,
      backend: "shop/web:80",
      endpoint: `127.0.0.1:${backendPort}`,
    });
    deepStrictEqual([gone.status, gone.route, gone.endpoint, gone.cache], [500, "shop/gone", undefined, "synth"]);
    deepStrictEqual([missing.status, missing.host, missing.route], [404, "other.example.com", undefined]);
    await eventually(() => equal(counted(sampledIn.lines).length, 4));
    equal(sampledOut.lines.length, 0);
  } finally {
    await all.access.stop();
    await sampledOut.access.stop();
    await sampledIn.access.stop();
    await varnish.stop();
    await backend.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
