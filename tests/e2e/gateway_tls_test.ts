/**
 * End to end on the local cluster: an HTTPS listener terminated by hitch in the gateway pod, with SNI, and a
 * certificate rotation that reaches clients without replacing the pod.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { clusterAvailable, eventually, selfSignedCertificate } from "../cluster/mod.ts";
import {
  apply,
  applyApp,
  echoApp,
  gatewayPodNames,
  GW_API,
  HTTP_AND_HTTPS_LISTENERS,
  httpsGet,
  podOf,
  startE2eGateway,
  tlsSecret,
} from "./_e2e_gateway.ts";

Deno.test({
  name: "a Gateway terminates TLS on its HTTPS listener and serves a rotated certificate without a new pod",
  ignore: !clusterAvailable(),
}, async (t) => {
  const certDir = await Deno.makeTempDir({ prefix: "lacquer-e2e-certs-" });
  const first = await selfSignedCertificate(certDir, "first", ["secure.example.com"]);
  await using gw = await startE2eGateway({
    listeners: HTTP_AND_HTTPS_LISTENERS,
    setup: async ({ client, name }) => {
      await applyApp(client, echoApp(name, "echo", 1));
      await apply(client, `/api/v1/namespaces/${name}/secrets`, tlsSecret(name, first));
      await apply(client, `${GW_API}/namespaces/${name}/httproutes`, {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: "web", namespace: name },
        spec: {
          parentRefs: [{ name: "gw", sectionName: "https" }],
          rules: [{ backendRefs: [{ name: "echo", port: 8080 }] }],
        },
      });
    },
  });
  const { client, address } = gw;
  const ns = gw.ns.name;
  const gatewayPods = () => gatewayPodNames(client, ns);
  let failed = true;
  try {
    await t.step("an HTTPS request with SNI reaches the route attached to the HTTPS listener", async () => {
      const answer = await eventually(() => httpsGet(address, "secure.example.com", "/hello", first.certFile), {
        timeoutMs: 30_000,
      });
      match(answer, /^200 /);
      ok(podOf(answer.slice(4))?.startsWith("echo-"));
      // The backend learns the request came over HTTPS from the listener (hitch's PROXY header), not from a client.
      const { headers } = JSON.parse(answer.slice(4)) as { headers: Record<string, string[]> };
      deepEqual([headers["X-Forwarded-Proto"], headers["X-Forwarded-Port"]], [["https"], ["443"]]);
    });
    await t.step("the route attached only to the HTTPS listener does not serve plain HTTP", async () => {
      const response = await fetch(`http://${address}/hello`, {
        headers: { host: "secure.example.com" },
        signal: AbortSignal.timeout(5000),
      });
      await response.body?.cancel();
      equal(response.status, 404);
    });
    await t.step("a rotated certificate is served by the same gateway pod", async () => {
      const pods = await gatewayPods();
      const rotated = await selfSignedCertificate(certDir, "rotated", ["secure.example.com"]);
      await apply(client, `/api/v1/namespaces/${ns}/secrets`, tlsSecret(ns, rotated));
      await eventually(
        async () => match(await httpsGet(address, "secure.example.com", "/", rotated.certFile), /^200 /),
        {
          timeoutMs: 30_000,
        },
      );
      deepEqual(await gatewayPods(), pods);
    });
    failed = false;
  } finally {
    if (failed) console.error(await gw.readOperatorLog());
    await Deno.remove(certDir, { recursive: true });
  }
});
