/**
 * End to end on the local cluster: a Gateway whose routing.json is large enough to be stored in shards (1,024 route
 * entries, about 500 KB) is Programmed, serves its routes, and serves a changed route, through the operator and a
 * gateway pod running from their images (the pod reads the shards with its own ServiceAccount's rights, from its watch
 * of the shards, which its Role and the shards' label allow).
 */
import { equal, ok } from "node:assert/strict";
import { parseRoutingManifest } from "../../ghost/contract/mod.ts";
import { ROUTING_SHARDS_KEY } from "../../internal/names.ts";
import { clusterAvailable, containerLogFile, eventually } from "../cluster/mod.ts";
import { apply, applyApp, conditionOf, curl, echoApp, GW_API, podOf, startE2eGateway } from "./_e2e_gateway.ts";

const ROUTES = 64;
/** Hostnames per route (the most an HTTPRoute may have). */
const HOSTS = 16;

/** The value of the series `name{labels}` in a Prometheus text, or 0. */
function metric(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** HTTPRoute `r<i>` on the hostnames `r<i>-h<j>.sharded.example`, to `app`. */
function shardedRoute(namespace: string, i: number, app: string): Record<string, unknown> {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: `r${i}`, namespace },
    spec: {
      parentRefs: [{ name: "gw" }],
      hostnames: Array.from({ length: HOSTS }, (_, j) => `r${i}-h${j}.sharded.example`),
      rules: [{
        matches: [{
          path: { type: "PathPrefix", value: `/tenant-${i}/` },
          headers: [{ name: "x-tenant", value: `${i}` }],
        }],
        backendRefs: [{ name: app, port: 8080 }],
      }],
    },
  };
}

Deno.test({
  name: "a Gateway with routing.json in shards is Programmed, serves its routes and a changed one",
  ignore: !clusterAvailable(),
}, async (t) => {
  await using gw = await startE2eGateway({
    setup: async ({ client, name }) =>
      await applyApp(client, [...echoApp(name, "blue", 1), ...echoApp(name, "green", 1)]),
  });
  const { client, address } = gw;
  const ns = gw.ns.name;
  const routes = `${GW_API}/namespaces/${ns}/httproutes`;
  const answer = async (i: number, j: number) =>
    podOf(
      await curl([
        "-H",
        `Host: r${i}-h${j}.sharded.example`,
        "-H",
        `x-tenant: ${i}`,
        `http://${address}/tenant-${i}/x`,
      ]),
    );
  /** The gateway pod's applied annotations and log, the ConfigMap's annotations and the operator's log. */
  const printDiagnostics = async () => {
    const pods = await client.request<{ items: { metadata: { name: string; uid: string; annotations?: unknown } }[] }>(
      `/api/v1/namespaces/${ns}/pods`,
      { query: { labelSelector: `gateway.networking.k8s.io/gateway-name=${gw.gateway}` } },
    );
    const cm = await client.request<{ metadata: { annotations?: unknown } }>(
      `/api/v1/namespaces/${ns}/configmaps/gw-lacquer`,
    );
    console.error("ConfigMap annotations", JSON.stringify(cm.metadata.annotations));
    for (const pod of pods.items) {
      console.error(`pod ${pod.metadata.name} annotations`, JSON.stringify(pod.metadata.annotations));
      const file = containerLogFile(gw.ns.cluster, { namespace: ns, ...pod.metadata }, "gateway");
      console.error((await Deno.readTextFile(file).catch((e) => String(e))).split("\n").slice(-150).join("\n"));
    }
    console.error(await gw.readOperatorLog());
  };
  const programmed = async () => {
    const object = await client.request<never>(`${GW_API}/namespaces/${ns}/gateways/gw`);
    equal(conditionOf(object, "Programmed")?.status, "True", JSON.stringify(conditionOf(object, "Programmed")));
  };
  try {
    await t.step("the routes are stored in shards, and the gateway pod serves them", async () => {
      for (let i = 0; i < ROUTES; i += 16) {
        await Promise.all(Array.from({ length: 16 }, (_, k) => apply(client, routes, shardedRoute(ns, i + k, "blue"))));
      }
      const manifest = await eventually(async () => {
        const cm = await client.request<{ data?: Record<string, string> }>(
          `/api/v1/namespaces/${ns}/configmaps/gw-lacquer`,
        );
        const text = cm.data?.[ROUTING_SHARDS_KEY];
        ok(text, "routing.json is not stored in shards yet");
        return parseRoutingManifest(text);
      }, { timeoutMs: 120_000, intervalMs: 500 });
      ok(manifest.shards.length > 1, `${manifest.shards.length} shards`);
      await eventually(async () => {
        ok((await answer(ROUTES - 1, HOSTS - 1))?.startsWith("blue-"));
        ok((await answer(0, 0))?.startsWith("blue-"));
        await programmed();
      }, { timeoutMs: 120_000, intervalMs: 500 });
    });

    await t.step("a changed route reaches traffic, and the Gateway is Programmed for the new generation", async () => {
      await apply(client, routes, shardedRoute(ns, 7, "green"));
      try {
        await eventually(async () => {
          ok((await answer(7, 3))?.startsWith("green-"));
          await programmed();
        }, { timeoutMs: 60_000, intervalMs: 250 });
      } catch (err) {
        await printDiagnostics();
        throw err;
      }
      ok((await answer(8, 3))?.startsWith("blue-"), "the other routes keep their backend");
    });

    await t.step(
      "the gateway pod took its shards as the operator pushed them or from its watch of them, not by GETs",
      async () => {
        const pods = await client.request<{ items: { status?: { podIP?: string } }[] }>(
          `/api/v1/namespaces/${ns}/pods`,
          {
            query: { labelSelector: `gateway.networking.k8s.io/gateway-name=${gw.gateway}` },
          },
        );
        const ip = pods.items[0]?.status?.podIP;
        ok(ip, "the gateway pod has an address");
        const response = await fetch(`http://${ip}:8901/metrics`, { signal: AbortSignal.timeout(5000) });
        const text = await response.text();
        const shards = (source: string) => metric(text, `lacquer_chaperone_routing_shards_total{source="${source}"}`);
        ok(
          shards("push") + shards("watch") > shards("api"),
          `shards pushed ${shards("push")}, from the watch ${shards("watch")}, fetched ${shards("api")}`,
        );
        // the routes were applied 16 at a time: every generation after the first rewrote a few shards, and was pushed
        const pushed = metric(text, 'lacquer_chaperone_routing_pushes_total{result="taken"}');
        ok(
          pushed > 0,
          `no pushed generation taken (stale: ${
            metric(text, 'lacquer_chaperone_routing_pushes_total{result="stale"}')
          })`,
        );
      },
    );
  } catch (err) {
    console.error(await gw.readOperatorLog());
    throw err;
  }
});
