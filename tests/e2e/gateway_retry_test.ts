/**
 * End to end on the local cluster: a rule's retries move to another endpoint of the Service when one refuses
 * connections, and its timeouts answer 504, through gateway pods running the real chaperone, varnishd and ghost.
 */
import { equal, ok } from "node:assert/strict";
import { clusterAvailable, clusterBinaries, eventually, PAUSE_IMAGE } from "../cluster/mod.ts";
import { installCrds } from "../cluster/crd_installer.ts";
import { lacquerCacheDir } from "../cluster/layout.ts";
import { apply, applyApp, echoApp, get, GW_API, podOf, prefix, route, startE2eGateway } from "./_e2e_gateway.ts";

/**
 * A pod of the Service "flaky" that is ready but refuses connections: the pause image listens on nothing, and without
 * a readiness probe the pod is ready once it runs.
 */
function deadPod(namespace: string): Record<string, unknown> {
  const labels = { app: "flaky" };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "flaky-dead", namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { ...labels, part: "dead" } },
      template: {
        metadata: { labels: { ...labels, part: "dead" } },
        spec: {
          containers: [{
            name: "dead",
            image: PAUSE_IMAGE,
            ports: [{ containerPort: 3000 }],
          }],
        },
      },
    },
  };
}

Deno.test({
  name: "a rule's retries reach the live endpoint of a Service whose other endpoint refuses connections",
  ignore: !clusterAvailable(),
}, async (t) => {
  await using gw = await startE2eGateway({
    setup: async ({ client, name }) => {
      // `retry` is in the experimental channel of HTTPRoute only; its CRD there is a superset of the standard one.
      const crds = `${clusterBinaries(lacquerCacheDir(Deno.env)).crdDir}/experimental.yaml`;
      await installCrds(client, { file: crds, only: ["httproutes.gateway.networking.k8s.io"] });
      const [deployment, service] = echoApp(name, "flaky", 1);
      await applyApp(client, [deployment, deadPod(name), service]);
    },
  });
  const { client, address } = gw;
  const ns = gw.ns.name;
  const routes = `${GW_API}/namespaces/${ns}/httproutes`;
  const backendRefs = [{ name: "flaky", port: 8080 }];
  const answers = async (path: string, n: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      const { status, body } = await get(address, path);
      statuses.push(status);
      if (status === 200) ok(podOf(body)?.startsWith("flaky-"), body);
    }
    return statuses;
  };
  try {
    await t.step("without retries, the dead endpoint fails its share of requests", async () => {
      await apply(client, routes, route(ns, "plain", [{ matches: prefix("/plain"), backendRefs }]));
      await eventually(async () => ok((await answers("/plain", 40)).some((s) => s === 503)), { timeoutMs: 60_000 });
    });

    await t.step("with one retry, every request is answered by the live endpoint", async () => {
      await apply(
        client,
        routes,
        route(ns, "retried", [{ matches: prefix("/retried"), retry: { attempts: 1, backoff: "10ms" }, backendRefs }]),
      );
      await eventually(async () => equal((await get(address, "/retried")).status, 200), { timeoutMs: 60_000 });
      const statuses = await answers("/retried", 60);
      equal(statuses.filter((s) => s !== 200).length, 0, `answers: ${statuses.join(",")}`);
    });

    await t.step("a request timeout answers 504 when the backend is slower", async () => {
      await apply(
        client,
        routes,
        route(ns, "timed", [{ matches: prefix("/timed"), timeouts: { request: "300ms" }, backendRefs }]),
      );
      // echo-basic waits for `delay` before answering; the dead endpoint refuses at once, and without retries it
      // answers 503, so the live endpoint's 504 shows up among them.
      await eventually(async () => equal((await get(address, "/timed?delay=1s")).status, 504), { timeoutMs: 60_000 });
    });
  } catch (err) {
    console.error(await gw.readOperatorLog());
    throw err;
  }
});
