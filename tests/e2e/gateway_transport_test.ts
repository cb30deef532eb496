/**
 * End to end on the local cluster: a Service port with `appProtocol: kubernetes.io/h2c` is reached over cleartext
 * HTTP/2 by ghost's own transport, while another port of the same pods keeps Varnish's HTTP/1.1 backends.
 */
import { equal } from "node:assert/strict";
import { clusterAvailable, eventually } from "../cluster/mod.ts";
import { apply, applyApp, echoApp, get, GW_API, podOf, prefix, route, startE2eGateway } from "./_e2e_gateway.ts";

/** A second Service for the echo pods: echo-basic serves cleartext HTTP/2 (prior knowledge) on 3001. */
function h2cService(namespace: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "echo-h2c", namespace },
    spec: {
      selector: { app: "echo" },
      ports: [{ name: "h2c", port: 8081, targetPort: 3001, appProtocol: "kubernetes.io/h2c" }],
    },
  };
}

Deno.test({
  name: "an appProtocol kubernetes.io/h2c Service port is reached over HTTP/2, another port over HTTP/1.1",
  ignore: !clusterAvailable(),
}, async () => {
  await using gw = await startE2eGateway({
    setup: async ({ client, name }) => await applyApp(client, [...echoApp(name, "echo", 1), h2cService(name)]),
  });
  const { client, address } = gw;
  const ns = gw.ns.name;
  await apply(
    client,
    `${GW_API}/namespaces/${ns}/httproutes`,
    route(ns, "protocols", [
      { matches: prefix("/h2c"), backendRefs: [{ name: "echo-h2c", port: 8081 }] },
      { matches: prefix("/h1"), backendRefs: [{ name: "echo", port: 8080 }] },
    ]),
  );
  // echo-basic answers with the protocol its server saw.
  const proto = async (path: string) => {
    const { status, body } = await get(address, path);
    equal(status, 200, body);
    equal(podOf(body)?.startsWith("echo-"), true, body);
    return (JSON.parse(body) as { proto?: string }).proto;
  };
  await eventually(async () => equal(await proto("/h2c/a"), "HTTP/2.0"), { timeoutMs: 60_000 });
  await eventually(async () => equal(await proto("/h1/a"), "HTTP/1.1"), { timeoutMs: 60_000 });
  for (let i = 0; i < 20; i++) equal(await proto(`/h2c/${i}`), "HTTP/2.0");
});
