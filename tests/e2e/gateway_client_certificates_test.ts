/**
 * End to end on the local cluster: client certificate validation of a Gateway's HTTPS listeners
 * (`spec.tls.frontend`), verified by hitch in the gateway pod against a CA bundle from a ConfigMap, per port:
 * AllowValidOnly on 443, AllowInsecureFallback on 8443 (every client served); and a changed CA applied by the same pod.
 */
import { deepEqual, equal } from "node:assert/strict";
import {
  clusterAvailable,
  eventually,
  type SelfSignedCertificate,
  selfSignedCertificate,
  testCertificateAuthority,
} from "../cluster/mod.ts";
import {
  apply,
  applyApp,
  conditionOf,
  curl,
  echoApp,
  gatewayPodNames,
  GW_API,
  startE2eGateway,
  tlsSecret,
} from "./_e2e_gateway.ts";

const HOST = "secure.example.com";

/** GET / on `port` with SNI, trusting `server`, with a client certificate or none: "200", or "refused". */
async function statusWith(
  address: string,
  port: number,
  server: string,
  client?: SelfSignedCertificate,
): Promise<string> {
  try {
    const text = await curl([
      "--cacert",
      server,
      "--resolve",
      `${HOST}:${port}:${address}`,
      ...(client ? ["--cert", client.certFile, "--key", client.keyFile] : []),
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `https://${HOST}:${port}/`,
    ]);
    return text;
  } catch {
    return "refused";
  }
}

function caConfigMap(namespace: string, ca: string): Record<string, unknown> {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "client-ca", namespace }, data: { "ca.crt": ca } };
}

Deno.test({
  name: "a Gateway verifies client certificates per port: required on one, insecure fallback on the other",
  ignore: !clusterAvailable(),
}, async (t) => {
  const certDir = await Deno.makeTempDir({ prefix: "lacquer-e2e-client-certs-" });
  const server = await selfSignedCertificate(certDir, "server", [HOST]);
  const clients = await testCertificateAuthority(certDir, "clients");
  const others = await testCertificateAuthority(certDir, "others");
  const alice = await clients.issueClient("alice");
  const mallory = await others.issueClient("mallory");
  const validation = (mode: string) => ({
    mode,
    caCertificateRefs: [{ group: "", kind: "ConfigMap", name: "client-ca" }],
  });
  const certificateRefs = [{ group: "", kind: "Secret", name: "site-cert" }];
  await using gw = await startE2eGateway({
    listeners: [
      { name: "strict", port: 443, protocol: "HTTPS", hostname: HOST, tls: { certificateRefs } },
      { name: "fallback", port: 8443, protocol: "HTTPS", hostname: HOST, tls: { certificateRefs } },
    ],
    tls: {
      frontend: {
        default: { validation: validation("AllowValidOnly") },
        perPort: [{ port: 8443, tls: { validation: validation("AllowInsecureFallback") } }],
      },
    },
    setup: async ({ client, name }) => {
      await applyApp(client, echoApp(name, "echo", 1));
      await apply(client, `/api/v1/namespaces/${name}/secrets`, tlsSecret(name, server));
      await apply(client, `/api/v1/namespaces/${name}/configmaps`, caConfigMap(name, clients.ca));
      await apply(client, `${GW_API}/namespaces/${name}/httproutes`, {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: "web", namespace: name },
        spec: { parentRefs: [{ name: "gw" }], rules: [{ backendRefs: [{ name: "echo", port: 8080 }] }] },
      });
    },
  });
  const { client, address } = gw;
  const ns = gw.ns.name;
  const statuses = async (port: number) =>
    [
      await statusWith(address, port, server.certFile, alice),
      await statusWith(address, port, server.certFile),
      await statusWith(address, port, server.certFile, mallory),
    ].join(" ");
  const gatewayPods = () => gatewayPodNames(client, ns);
  let failed = true;
  try {
    await t.step("AllowValidOnly: a certificate of the CA is served, none or another CA's is refused", async () => {
      await eventually(async () => equal(await statuses(443), "200 refused refused"), { timeoutMs: 30_000 });
    });
    await t.step("AllowInsecureFallback: no certificate and another CA's are served too", async () => {
      // The gateway image's patched hitch (images/hitch/): Debian's refuses a certificate that fails verification.
      equal(await statuses(8443), "200 200 200");
    });
    await t.step("the Gateway says that a port accepts clients without a valid certificate", async () => {
      const gateway = await client.request<never>(`${GW_API}/namespaces/${ns}/gateways/gw`);
      const insecure = conditionOf(gateway, "InsecureFrontendValidationMode");
      deepEqual([insecure?.status, insecure?.reason], ["True", "ConfigurationChanged"]);
    });
    await t.step("a changed CA bundle applies in the same gateway pod", async () => {
      const pods = await gatewayPods();
      await apply(client, `/api/v1/namespaces/${ns}/configmaps`, caConfigMap(ns, others.ca));
      await eventually(async () => equal(await statuses(443), "refused refused 200"), { timeoutMs: 30_000 });
      equal(await statuses(8443), "200 200 200");
      deepEqual(await gatewayPods(), pods);
    });
    failed = false;
  } finally {
    if (failed) console.error(await gw.readOperatorLog());
    await Deno.remove(certDir, { recursive: true });
  }
});
