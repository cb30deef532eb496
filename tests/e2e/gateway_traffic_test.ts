/**
 * End to end on the local cluster: the operator, gateway pods running the real chaperone, varnishd and ghost, and
 * real HTTP through the Gateway's LoadBalancer address.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { clusterAvailable, eventually } from "../cluster/mod.ts";
import {
  apply,
  applyApp,
  applyVclParameters,
  conditionOf,
  echoApp,
  get,
  GW_API,
  podOf,
  prefix,
  route,
  startE2eGateway,
  startLoad,
} from "./_e2e_gateway.ts";

function userVcl(namespace: string, version: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "user-vcl", namespace },
    data: { "user.vcl": `sub vcl_deliver {\n    set resp.http.X-E2E-VCL = "${version}";\n}\n` },
  };
}

const to = (service: string, weight?: number) => ({
  name: service,
  port: 8080,
  ...(weight === undefined ? {} : { weight }),
});

Deno.test({
  name: "a Gateway serves routes, splits, scaling, VCL changes and bad routes, and survives a killed pod",
  ignore: !clusterAvailable(),
}, async (t) => {
  await using gw = await startE2eGateway({
    parametersRef: "params",
    // the class lets the Gateway's own parameters set this
    allowedGatewayOverrides: ["vcl"],
    setup: async ({ client, name }) => {
      await applyApp(client, [...echoApp(name, "echo-a", 2), ...echoApp(name, "echo-b", 1)]);
      await apply(client, `/api/v1/namespaces/${name}/configmaps`, userVcl(name, "v1"));
      await applyVclParameters(client, name);
    },
  });
  const { client, address } = gw;
  const ns = gw.ns.name;
  const routes = `${GW_API}/namespaces/${ns}/httproutes`;
  const passed: boolean[] = [];
  try {
    passed.push(
      await t.step("route creation, update and deletion reach traffic", async () => {
        await apply(client, routes, route(ns, "r1", [{ matches: prefix("/one"), backendRefs: [to("echo-a")] }]));
        await eventually(async () => ok(podOf((await get(address, "/one/x")).body)?.startsWith("echo-a-")));
        await apply(client, routes, route(ns, "r1", [{ matches: prefix("/one"), backendRefs: [to("echo-b")] }]));
        await eventually(async () => ok(podOf((await get(address, "/one/x")).body)?.startsWith("echo-b-")));
        await client.request(`${routes}/r1`, { method: "DELETE" });
        await eventually(async () => equal((await get(address, "/one/x")).status, 404));
      }),
    );

    passed.push(
      await t.step("a weighted split lands within tolerance", async () => {
        await apply(
          client,
          routes,
          route(ns, "split", [{ matches: prefix("/split"), backendRefs: [to("echo-a", 3), to("echo-b", 1)] }]),
        );
        await eventually(async () => equal((await get(address, "/split")).status, 200));
        const counts = { a: 0, b: 0 };
        for (let i = 0; i < 400; i++) {
          const pod = podOf((await get(address, "/split")).body) ?? "";
          if (pod.startsWith("echo-a-")) counts.a++;
          else if (pod.startsWith("echo-b-")) counts.b++;
        }
        equal(counts.a + counts.b, 400);
        // expected 300 for echo-a; 5 standard deviations of a binomial(400, 0.75) is about 43
        ok(Math.abs(counts.a - 300) < 43, `echo-a answered ${counts.a} of 400 (expected about 300)`);
      }),
    );

    passed.push(
      await t.step("scaling the app up and down under continuous load fails no request", async () => {
        await apply(client, routes, route(ns, "load", [{ matches: prefix("/load"), backendRefs: [to("echo-a")] }]));
        await eventually(async () => equal((await get(address, "/load")).status, 200));
        const load = startLoad(address, "/load");
        let result: { sent: number; failures: string[] } | undefined;
        const scale = async (replicas: number) => {
          await client.request(`/apis/apps/v1/namespaces/${ns}/deployments/echo-a/scale`, {
            method: "PATCH",
            contentType: "application/merge-patch+json",
            body: { spec: { replicas } },
          });
          await eventually(async () => {
            const d = await client.request<{ status: { readyReplicas?: number; replicas?: number } }>(
              `/apis/apps/v1/namespaces/${ns}/deployments/echo-a`,
            );
            equal(d.status.readyReplicas ?? 0, replicas);
            // terminating pods stay listed until their process is gone: keep the load on until then
            const pods = await client.request<{ items: unknown[] }>(`/api/v1/namespaces/${ns}/pods`, {
              query: { labelSelector: "app=echo-a" },
            });
            equal(pods.items.length, replicas);
          }, { timeoutMs: 60_000 });
        };
        try {
          await scale(4);
          await scale(1);
          await scale(3);
          await scale(2);
        } finally {
          result = await load.stop();
        }
        const { sent, failures } = result;
        ok(sent > 100, `only ${sent} requests were sent`);
        deepEqual(failures, [], `${failures.length} of ${sent} requests failed`);
      }),
    );

    passed.push(
      await t.step("a user VCL change applies without touching routes", async () => {
        equal((await get(address, "/load")).headers.get("x-e2e-vcl"), "v1");
        await apply(client, `/api/v1/namespaces/${ns}/configmaps`, userVcl(ns, "v2"));
        await eventually(async () => equal((await get(address, "/load")).headers.get("x-e2e-vcl"), "v2"), {
          timeoutMs: 60_000,
        });
      }),
    );

    passed.push(
      await t.step("an HTTPRoute with a bad regex is reported while other routes keep serving", async () => {
        await apply(
          client,
          routes,
          route(ns, "bad", [{
            matches: [{ path: { type: "RegularExpression", value: "/bad/(?<=x)y" } }],
            backendRefs: [to("echo-b")],
          }]),
        );
        await eventually(async () => {
          const r = await client.request<{ status?: { parents?: Record<string, unknown>[] } }>(`${routes}/bad`);
          const accepted = conditionOf({ status: r.status?.parents?.[0] } as never, "Accepted");
          equal(accepted?.status, "False");
          equal(accepted?.reason, "UnsupportedValue");
        });
        equal((await get(address, "/load")).status, 200);
        equal((await get(address, "/bad/y")).status, 404);
      }),
    );

    passed.push(
      await t.step("a killed gateway pod comes back and serves again", async () => {
        const pods = await client.request<{ items: { metadata: { name: string } }[] }>(
          `/api/v1/namespaces/${ns}/pods`,
          { query: { labelSelector: `gateway.networking.k8s.io/gateway-name=${gw.gateway}` } },
        );
        equal(pods.items.length, 1);
        const old = pods.items[0].metadata.name;
        await client.request(`/api/v1/namespaces/${ns}/pods/${old}`, {
          method: "DELETE",
          body: { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0 },
        });
        await eventually(async () => {
          const now = await client.request<{ items: { metadata: { name: string } }[] }>(
            `/api/v1/namespaces/${ns}/pods`,
            { query: { labelSelector: `gateway.networking.k8s.io/gateway-name=${gw.gateway}` } },
          );
          ok(now.items.some((p) => p.metadata.name !== old), "no replacement pod yet");
          equal((await get(address, "/load")).status, 200);
        }, { timeoutMs: 90_000, intervalMs: 250 });
      }),
    );
  } finally {
    if (passed.includes(false) || passed.length < 6) {
      console.error(await gw.readOperatorLog());
    }
  }
});
