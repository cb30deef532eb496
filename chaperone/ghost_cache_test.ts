/**
 * The chaperone with the real ghost VMOD and the operator's generated VCL: a rule with cache settings is cached, a
 * rule without passes, and `/metrics` shows per-rule hits, misses and passes plus the object count. Needs
 * `deno task test` (local cluster) and the installed VMOD; skipped otherwise.
 *
 * @module
 */
import { equal, match } from "node:assert/strict";
import { eventually } from "../tests/cluster/eventually.ts";
import { applyGhostGateway, ghostClusterTest, withTestChaperone } from "./_test_cluster_fixtures.ts";
import { getWithHost } from "./_test_varnish.ts";

const BACKEND = "10.245.2.1";

function routing(namespace: string): string {
  const rule = (name: string, path: string, cache?: string) => ({
    id: { namespace, name, rule: 0 },
    created: "2026-01-01T00:00:00Z",
    listeners: ["http"],
    matches: [{ path: { type: "PathPrefix", value: path } }],
    backends: [{ weight: 1, service: { namespace, name: "app", port: 80 } }],
    ...(cache ? { cache } : {}),
  });
  return JSON.stringify({
    version: 1,
    listeners: [{ name: "http", socket: "port-http", port: 80, protocol: "HTTP" }],
    // As the operator writes it: the policy's settings once, the rule naming it.
    cachePolicies: { [`${namespace}/catalog`]: { debugHeaders: true } },
    vhosts: {
      "app.test": {
        routes: [
          rule("catalog", "/catalog", `${namespace}/catalog`),
          rule("plain", "/"),
        ],
      },
    },
  }) + "\n";
}

ghostClusterTest(
  "chaperone with ghost: cached rules hit, other rules pass, /metrics counts both per rule",
  "lacquer-cache-",
  async ({ ns, workDir }) => {
    const { httpPort, config } = await applyGhostGateway(ns, {
      workDir,
      backend: BACKEND,
      routingJson: routing(ns.name),
    });
    await withTestChaperone(ns, { workDir, backends: [BACKEND], config }, async ({ chaperone }) => {
      const metrics = async () => await (await chaperone.handler(new Request("http://admin/metrics"))).text();
      await eventually(async () => equal(await getWithHost(httpPort, "app.test", "/catalog"), `200 ${BACKEND}`), {
        timeoutMs: 30_000,
      });
      for (let i = 0; i < 3; i++) equal(await getWithHost(httpPort, "app.test", "/catalog?x=1"), `200 ${BACKEND}`);
      for (let i = 0; i < 2; i++) equal(await getWithHost(httpPort, "app.test", "/other"), `200 ${BACKEND}`);
      const text = await metrics();
      const labels = `namespace="${ns.name}",route="catalog",rule="0",policy="${ns.name}/catalog"`;
      // /catalog: one miss (earlier answers of a not yet loaded ghost count nowhere); /catalog?x=1: a miss, two hits.
      match(text, new RegExp(`^lacquer_cache_requests_total\\{${labels},result="hit"\\} 2$`, "m"));
      match(text, new RegExp(`^lacquer_cache_requests_total\\{${labels},result="miss"\\} 2$`, "m"));
      match(text, new RegExp(`^lacquer_cache_responses_total\\{${labels},result="stored"\\} 2$`, "m"));
      // Rules without cache settings have no series of their own; Varnish counts their passes.
      equal(text.includes('route="plain"'), false);
      match(text, /^varnish_main_s_pass [1-9]\d*$/m);
      match(text, /^lacquer_cache_objects [2-9]\d*$/m);
      match(text, /^lacquer_cache_storage_used_bytes [1-9]\d*$/m);
    });
  },
);
