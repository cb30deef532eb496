/**
 * Zero dropped requests when gateway pods go away, end to end on the local cluster: a steady load through the
 * Gateway's Service address while a gateway pod is deleted (its drain reaches the quiet exit), while an
 * infrastructure change rolls the pods, and while the gateway is scaled down. Every request must get a 200.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { clusterAvailable, containerLogFile, eventually, useCluster } from "../cluster/mod.ts";
import { apply, applyApp, echoApp, get, GW_API, type Load, startE2eGateway, startLoad } from "./_e2e_gateway.ts";

interface Pod {
  metadata: { name: string; uid: string; deletionTimestamp?: string; annotations?: Record<string, string> };
  status?: { conditions?: { type: string; status: string }[] };
}

const params = (namespace: string, replicas: number, env: { name: string; value: string }[]) => ({
  apiVersion: "lacquer.dev/v1alpha1",
  kind: "GatewayParameters",
  metadata: { name: "params", namespace },
  spec: { service: { type: "LoadBalancer" }, replicas, env },
});
const DRAIN_ENV = [{ name: "LACQUER_DRAIN_SECONDS", value: "50" }];
/** An environment change of the gateway container: it changes the pod template, so it rolls every pod. */
const ROLLOUT_ENV = { name: "E2E_ROLLOUT", value: "1" };

Deno.test({
  name: "gateway pods going away under steady load through the Service address fail no request: a drain to the " +
    "quiet exit, a rollout, a scale-down",
  ignore: !clusterAvailable(),
}, async (t) => {
  await using gw = await startE2eGateway({
    parametersRef: "params",
    // the class lets the Gateway's own parameters set this
    allowedGatewayOverrides: ["env"],
    setup: async ({ client, name }) => {
      await applyApp(client, echoApp(name, "echo", 2));
      // a drain bound far above the 2 s quiet period (and below the 60 s grace period): a drain that does not end
      // by itself once requests stop shows as a reason "deadline" in the pod's log
      await apply(
        client,
        `/apis/lacquer.dev/v1alpha1/namespaces/${name}/gatewayparameters`,
        params(name, 2, DRAIN_ENV),
      );
    },
  });
  const { client, address } = gw;
  const ns = gw.ns.name;
  const cluster = await useCluster();
  const deployment = `/apis/apps/v1/namespaces/${ns}/deployments/${gw.gateway}`;
  const gatewayPods = async () =>
    (await client.request<{ items: Pod[] }>(`/api/v1/namespaces/${ns}/pods`, {
      query: { labelSelector: `gateway.networking.k8s.io/gateway-name=${gw.gateway}` },
    })).items;
  /** Waits until exactly `replicas` gateway pods run the current template, all ready, none terminating. */
  const settled = (replicas: number) =>
    eventually(async () => {
      const d = await client.request<{
        metadata: { generation: number };
        status: { observedGeneration?: number; readyReplicas?: number; updatedReplicas?: number; replicas?: number };
      }>(deployment);
      equal(d.status.observedGeneration, d.metadata.generation);
      deepEqual([d.status.replicas, d.status.updatedReplicas, d.status.readyReplicas], [replicas, replicas, replicas]);
      const pods = await gatewayPods();
      equal(pods.length, replicas, `pods: ${pods.map((p) => p.metadata.name)}`);
      // the Service forwards to these endpoints only once the EndpointSlice lists them ready
      const slices = await client.request<{ items: { endpoints?: { conditions?: { ready?: boolean } }[] }[] }>(
        `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
        { query: { labelSelector: `kubernetes.io/service-name=${gw.gateway}` } },
      );
      const ready = slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready !== false);
      equal(ready.length, replicas);
      return pods;
    }, { timeoutMs: 120_000, intervalMs: 250 });
  /** Runs `change` under a steady load and asserts that every request got a 200. */
  const underLoad = async (change: () => Promise<void>) => {
    const load: Load = startLoad(address, "/load", 4);
    let result: { sent: number; failures: string[] } | undefined;
    try {
      await change();
    } finally {
      result = await load.stop();
    }
    ok(result.sent > 100, `only ${result.sent} requests were sent`);
    const { failures, sent } = result;
    deepEqual(failures, [], `${failures.length} of ${sent} requests failed: ${failures.slice(0, 5).join(" | ")}`);
  };

  const passed: boolean[] = [];
  try {
    await apply(client, `${GW_API}/namespaces/${ns}/httproutes`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "load", namespace: ns },
      spec: {
        parentRefs: [{ name: gw.gateway }],
        rules: [{
          matches: [{ path: { type: "PathPrefix", value: "/load" } }],
          backendRefs: [{ name: "echo", port: 8080 }],
        }],
      },
    });
    await eventually(async () => equal((await get(address, "/load")).status, 200), { timeoutMs: 60_000 });
    await settled(2);

    passed.push(
      await t.step("a deleted gateway pod drains to the quiet exit while the other serves", async () => {
        const [victim] = await gatewayPods();
        // the container's log, held open: the kubelet removes the file with the pod, the open file stays readable
        const log = await Deno.open(
          containerLogFile(cluster, { namespace: ns, name: victim.metadata.name, uid: victim.metadata.uid }, "gateway"),
        );
        const lines = async () => new TextDecoder().decode(await new Response(log.readable).arrayBuffer()).split("\n");
        let deleted = "";
        try {
          await underLoad(async () => {
            deleted = new Date().toISOString();
            await client.request(`/api/v1/namespaces/${ns}/pods/${victim.metadata.name}`, { method: "DELETE" });
            await eventually(async () => {
              ok(!(await gatewayPods()).some((p) => p.metadata.uid === victim.metadata.uid), "the pod is still there");
            }, { timeoutMs: 90_000, intervalMs: 250 });
            await settled(2);
          });
        } catch (err) {
          console.error(`deleted at ${deleted}; the pod's log:\n${(await lines()).slice(-30).join("\n")}`);
          throw err;
        }
        const text = await lines();
        // CRI log lines: "<time> <stream> <the chaperone's JSON line>"
        const drained = text.filter((l) => l.includes('"msg":"Drained"'))
          .map((l) => JSON.parse(l.slice(l.indexOf("{"))).reason);
        deepEqual(drained, ["quiet"], text.slice(-30).join("\n"));
      }),
    );

    passed.push(
      await t.step("an infrastructure change rolls every gateway pod", async () => {
        const before = new Set((await gatewayPods()).map((p) => p.metadata.uid));
        await underLoad(async () => {
          await apply(
            client,
            `/apis/lacquer.dev/v1alpha1/namespaces/${ns}/gatewayparameters`,
            params(ns, 2, [...DRAIN_ENV, ROLLOUT_ENV]),
          );
          await eventually(async () => {
            const pods = await settled(2);
            ok(pods.every((p) => !before.has(p.metadata.uid)), "old pods remain");
          }, { timeoutMs: 180_000, intervalMs: 500 });
        });
      }),
    );

    passed.push(
      await t.step("scaling the gateway down", async () => {
        await underLoad(async () => {
          // the pod count a user sets, in GatewayParameters (a kubectl scale lasts only until the operator applies)
          await apply(
            client,
            `/apis/lacquer.dev/v1alpha1/namespaces/${ns}/gatewayparameters`,
            params(ns, 1, [...DRAIN_ENV, ROLLOUT_ENV]),
          );
          await settled(1);
        });
      }),
    );
  } finally {
    if (passed.length < 3 || passed.includes(false)) {
      console.error(await gw.readOperatorLog());
    }
  }
});
