/**
 * End to end on the local cluster: a ListenerSet adds a hostname listener to a Gateway that allows ListenerSets of
 * its namespace; a route attached to the ListenerSet serves that hostname (and only it), the statuses of the
 * ListenerSet, the Gateway and the route say so, and deleting the ListenerSet stops the traffic and removes the
 * route's entry for it.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { clusterAvailable, eventually } from "../cluster/mod.ts";
import { apply, applyApp, conditionOf, curl, echoApp, GW_API, podOf, startE2eGateway } from "./_e2e_gateway.ts";

interface Conditions {
  conditions?: { type: string; status: string; reason: string; message: string }[];
}

Deno.test({
  name: "a ListenerSet adds a hostname listener whose routes serve traffic until the ListenerSet is deleted",
  ignore: !clusterAvailable(),
}, async (t) => {
  await using gw = await startE2eGateway({
    listeners: [{ name: "http", port: 80, protocol: "HTTP", hostname: "gw.example.com" }],
    setup: ({ client, name }) => applyApp(client, echoApp(name, "echo", 1)),
  });
  const { client, address } = gw;
  const ns = gw.ns.name;
  const answer = async (host: string) => {
    const out = await curl(["-o", "-", "-w", "\n%{http_code}", "-H", `Host: ${host}`, `http://${address}/hello`]);
    const end = out.lastIndexOf("\n");
    return { status: Number(out.slice(end + 1)), body: out.slice(0, end) };
  };
  const routePath = `${GW_API}/namespaces/${ns}/httproutes/extra-web`;
  const lsPath = `${GW_API}/namespaces/${ns}/listenersets/extra`;
  let failed = true;
  try {
    await t.step(
      "the Gateway allows ListenerSets of its namespace; one adds extra.example.com with a route",
      async () => {
        await client.request(`${GW_API}/namespaces/${ns}/gateways/gw`, {
          method: "PATCH",
          contentType: "application/merge-patch+json",
          body: { spec: { allowedListeners: { namespaces: { from: "Same" } } } },
        });
        await apply(client, `${GW_API}/namespaces/${ns}/listenersets`, {
          apiVersion: "gateway.networking.k8s.io/v1",
          kind: "ListenerSet",
          metadata: { name: "extra", namespace: ns },
          spec: {
            parentRef: { name: "gw" },
            listeners: [{ name: "web", port: 80, protocol: "HTTP", hostname: "extra.example.com" }],
          },
        });
        await apply(client, `${GW_API}/namespaces/${ns}/httproutes`, {
          apiVersion: "gateway.networking.k8s.io/v1",
          kind: "HTTPRoute",
          metadata: { name: "extra-web", namespace: ns },
          spec: {
            parentRefs: [{ kind: "ListenerSet", name: "extra", sectionName: "web" }],
            rules: [{ backendRefs: [{ name: "echo", port: 8080 }] }],
          },
        });
      },
    );
    await t.step("the ListenerSet's hostname reaches the route; the Gateway's own hostname does not", async () => {
      const served = await eventually(async () => {
        const got = await answer("extra.example.com");
        equal(got.status, 200, got.body);
        return got;
      }, { timeoutMs: 60_000 });
      ok(podOf(served.body)?.startsWith("echo-"), served.body);
      equal((await answer("gw.example.com")).status, 404, "the route is not attached to the Gateway's listener");
    });
    await t.step("the ListenerSet, the Gateway and the route report the attachment", async () => {
      await eventually(async () => {
        const ls = await client.request<{ status?: Conditions & { listeners?: Record<string, unknown>[] } }>(lsPath);
        deepEqual(
          ["Accepted", "Programmed"].map((type) => conditionOf(ls, type)?.status),
          ["True", "True"],
          JSON.stringify(ls.status),
        );
        deepEqual(ls.status?.listeners?.map((l) => [l.name, l.attachedRoutes]), [["web", 1]]);
        const gateway = await client.request<{ status?: { attachedListenerSets?: number } }>(
          `${GW_API}/namespaces/${ns}/gateways/gw`,
        );
        equal(gateway.status?.attachedListenerSets, 1);
        const route = await client.request<{ status?: { parents?: (Conditions & { parentRef: object })[] } }>(
          routePath,
        );
        const accepted = (p: Conditions) => p.conditions?.find((c) => c.type === "Accepted")?.status;
        deepEqual(route.status?.parents?.map((p) => [p.parentRef, accepted(p)]), [
          [{ group: "gateway.networking.k8s.io", kind: "ListenerSet", name: "extra", sectionName: "web" }, "True"],
        ]);
      }, { timeoutMs: 30_000 });
    });
    await t.step("deleting the ListenerSet stops its traffic and removes the route's entry for it", async () => {
      await client.request(lsPath, { method: "DELETE" });
      await eventually(async () => equal((await answer("extra.example.com")).status, 404), { timeoutMs: 30_000 });
      await eventually(async () => {
        const route = await client.request<{ status?: { parents?: unknown[] } }>(routePath);
        deepEqual(route.status?.parents ?? [], []);
        const gateway = await client.request<{ status?: { attachedListenerSets?: number } }>(
          `${GW_API}/namespaces/${ns}/gateways/gw`,
        );
        equal(gateway.status?.attachedListenerSets, 0);
      }, { timeoutMs: 30_000 });
    });
    failed = false;
  } finally {
    if (failed) console.error(await gw.readOperatorLog());
  }
});
