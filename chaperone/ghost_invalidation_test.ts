/**
 * `POST /invalidate` on the chaperone's admin server with the real ghost VMOD, xkey and the operator's generated VCL:
 * the admin token, bad input, each kind hard and soft, varnishd gone, the metrics and the log line. Needs
 * `deno task test` (local cluster) and the installed VMOD; skipped otherwise.
 *
 * @module
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { GHOST_JSON_PATH, MAIN_VCL_KEY, ROUTING_JSON_KEY } from "../internal/names.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import { generateMainVcl } from "../vcl/mod.ts";
import {
  applyObject,
  applyTestService,
  collections,
  ghostClusterTest,
  startBackends,
  testConfigMap,
  withTestChaperone,
} from "./_test_cluster_fixtures.ts";
import { DEBIAN_VMOD_DIR, freePort, stageGhostVmod } from "./_test_varnish.ts";

const BACKEND = "10.245.2.2";
const HOST = "app.test";
const TOKEN = "0123456789abcdef0123456789abcdef0123456789a";

function routing(namespace: string): string {
  return JSON.stringify({
    version: 1,
    listeners: [{ name: "http", socket: "port-http", port: 80, protocol: "HTTP" }],
    vhosts: {
      [HOST]: {
        routes: [{
          id: { namespace, name: "catalog", rule: 0 },
          created: "2026-01-01T00:00:00Z",
          listeners: ["http"],
          matches: [{ path: { type: "PathPrefix", value: "/" } }],
          backends: [{ weight: 1, service: { namespace, name: "app", port: 80 } }],
          cache: { policy: { namespace, name: "catalog" }, debugHeaders: true, ttl: { default: 300, grace: 60 } },
        }],
      },
    },
  }) + "\n";
}

/** GETs `path` of {@linkcode HOST} and returns the `X-Cache` value. */
async function xCache(port: number, path: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`));
    let text = "";
    const buffer = new Uint8Array(16 * 1024);
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return /\r\nx-cache: (\w+)/i.exec(text)?.[1] ?? `no X-Cache in ${text.slice(0, 200)}`;
  } finally {
    conn.close();
  }
}

ghostClusterTest(
  "chaperone POST /invalidate: admin token, bad input, each kind hard and soft through xkey, 503, metrics, log",
  "lacquer-invalidate-",
  async ({ ns, workDir, t }) => {
    const httpPort = freePort();
    await applyTestService(ns, "app", [BACKEND]);
    // The origin tags each answer with the `tag` query parameter.
    const [origin] = await startBackends([BACKEND], (request) => {
      const tag = new URL(request.url).searchParams.get("tag");
      return new Response("x", { headers: tag ? { "Surrogate-Key": tag } : {} });
    });
    const vcl = generateMainVcl({ gateway: `${ns.name}/gw` }).replaceAll(GHOST_JSON_PATH, `${workDir}/ghost.json`);
    await applyObject(
      ns,
      collections(ns).configMaps,
      "gw-lacquer",
      testConfigMap({
        [MAIN_VCL_KEY]: vcl,
        [ROUTING_JSON_KEY]: routing(ns.name),
      }),
    );
    await Deno.writeTextFile(`${workDir}/admin-token`, `${TOKEN}\n`);
    const config = {
      listen: [`port-http=127.0.0.1:${httpPort}`],
      vmodPath: `${await stageGhostVmod(workDir)}:${DEBIAN_VMOD_DIR}`,
      adminTokenFile: `${workDir}/admin-token`,
    };
    try {
      await withTestChaperone(ns, { workDir, config }, async ({ chaperone, lines }) => {
        const invalidate = async (body: unknown, token = TOKEN) => {
          const response = await chaperone.handler(
            new Request("http://admin/invalidate", {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: JSON.stringify(body),
            }),
          );
          return { status: response.status, body: await response.json() };
        };
        const target = { namespace: ns.name, hostname: HOST };
        const cache = (...paths: string[]) => Promise.all(paths.map((p) => xCache(httpPort, p)));
        const PATHS = ["/a/x?tag=t1", "/a/x?v=2", "/a/y", "/b/z?tag=t1", "/ab"];
        // Stores every object once, then they all hit.
        const fill = async () => {
          await cache(...PATHS);
          deepStrictEqual(await cache(...PATHS), ["HIT", "HIT", "HIT", "HIT", "HIT"]);
        };
        await eventually(async () => equal(await xCache(httpPort, "/warm"), "MISS"), { timeoutMs: 30_000 });
        await fill();

        await t.step("a missing or wrong token is refused with 401 and purges nothing", async () => {
          const wrong = await invalidate({ ...target, all: true, soft: false }, "wrong");
          deepStrictEqual(wrong, { status: 401, body: { error: "unauthorized" } });
          const none = await chaperone.handler(
            new Request("http://admin/invalidate", { method: "POST", body: JSON.stringify({ ...target, all: true }) }),
          );
          equal(none.status, 401);
          await none.body?.cancel();
          deepStrictEqual(await cache(...PATHS), ["HIT", "HIT", "HIT", "HIT", "HIT"]);
        });

        await t.step("bad input is refused with 400 and the reason", async () => {
          const query = await invalidate({ ...target, urls: ["/a/x?tag=t1"] });
          equal(query.status, 400);
          match(query.body.error, /urls\[0\]: a URL must not carry a query string/);
          const wildcard = await invalidate({ ...target, hostname: "*.test", all: true });
          equal(wildcard.status, 400);
          match(wildcard.body.error, /hostname: .*wildcard/);
          deepStrictEqual(await cache(...PATHS), ["HIT", "HIT", "HIT", "HIT", "HIT"]);
        });

        await t.step("hard: a URL in all its query variants, a prefix by segments, tags, the whole host", async () => {
          const url = await invalidate({ ...target, soft: false, urls: ["/a/x"] });
          equal(url.status, 200);
          equal(url.body.result, "ok");
          equal(url.body.affected, 2);
          ok(typeof url.body.durationMs === "number");
          deepStrictEqual(await cache(...PATHS), ["MISS", "MISS", "HIT", "HIT", "HIT"]);
          equal((await invalidate({ ...target, soft: false, prefixes: ["/a"] })).body.affected, 3);
          deepStrictEqual(await cache(...PATHS), ["MISS", "MISS", "MISS", "HIT", "HIT"]);
          equal((await invalidate({ ...target, soft: false, tags: ["t1"] })).body.affected, 2);
          deepStrictEqual(await cache(...PATHS), ["MISS", "HIT", "HIT", "MISS", "HIT"]);
          equal((await invalidate({ ...target, soft: false, all: true })).body.affected, 6);
          deepStrictEqual(await cache(...PATHS), ["MISS", "MISS", "MISS", "MISS", "MISS"]);
        });

        await t.step("soft (the default): served stale once while it refreshes, then fresh", async () => {
          await fill();
          for (
            const [body, expected] of [
              [{ urls: ["/a/x"] }, ["STALE", "STALE", "HIT", "HIT", "HIT"]],
              [{ prefixes: ["/a/"] }, ["STALE", "STALE", "STALE", "HIT", "HIT"]],
              [{ tags: ["t1"] }, ["STALE", "HIT", "HIT", "STALE", "HIT"]],
              [{ all: true }, ["STALE", "STALE", "STALE", "STALE", "STALE"]],
            ] as const
          ) {
            const answer = await invalidate({ ...target, ...body });
            equal(answer.status, 200, JSON.stringify(answer));
            deepStrictEqual(await cache(...PATHS), expected, JSON.stringify(body));
            await eventually(async () => deepStrictEqual(await cache(...PATHS), ["HIT", "HIT", "HIT", "HIT", "HIT"]));
          }
        });

        await t.step("the same invalidation twice is harmless", async () => {
          equal((await invalidate({ ...target, soft: false, urls: ["/a/y"] })).body.affected, 1);
          const again = await invalidate({ ...target, soft: false, urls: ["/a/y"] });
          equal(again.status, 200);
          equal(again.body.affected, 0);
        });

        await t.step("metrics count calls by kind and result, and objects; one log line per call", async () => {
          const text = await (await chaperone.handler(new Request("http://admin/metrics"))).text();
          match(text, /^lacquer_chaperone_invalidations_total\{kind="url",result="ok"\} [1-9]\d*$/m);
          match(text, /^lacquer_chaperone_invalidations_total\{kind="unknown",result="unauthorized"\} 2$/m);
          match(text, /^lacquer_chaperone_invalidations_total\{kind="unknown",result="invalid"\} 2$/m);
          match(text, /^lacquer_chaperone_invalidated_objects_total\{kind="all"\} [1-9]\d*$/m);
          const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg?.startsWith("Invalidation"));
          ok(logged.length >= 14, `${logged.length} invalidation log lines`);
          const first = logged.find((l) => l.msg === "Invalidation applied")!;
          equal(first.namespace, ns.name);
          equal(first.hostname, HOST);
          equal(first.kind, "url");
          equal(first.entries, 1);
          ok(!lines.some((l) => l.includes(TOKEN)), "the token is never logged");
        });

        await t.step("varnishd gone: 503, so the caller retries", async () => {
          chaperone.supervisor.signal("SIGKILL");
          // varnishd's child may answer a moment longer; then the restart takes a while: one call in that window is 503.
          const answer = await eventually(async () => {
            const a = await invalidate({ ...target, all: true });
            equal(a.status, 503, JSON.stringify(a));
            return a;
          }, { timeoutMs: 10_000, intervalMs: 20 });
          match(answer.body.error, /^Cannot invalidate: /);
          await eventually(async () => equal((await invalidate({ ...target, all: true })).status, 200), {
            timeoutMs: 30_000,
          });
        });
      });
    } finally {
      await origin.shutdown();
    }
  },
);
