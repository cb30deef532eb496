/**
 * End to end on the local cluster: client certificate validation of a Gateway's HTTPS listeners
 * (`spec.tls.frontend`), verified by hitch in the gateway pod against a CA bundle from a ConfigMap, per port:
 * AllowValidOnly on 443, AllowInsecureFallback on 8443 (every client served); backends learn the verification result
 * (`X-SSL-Client-Verify`, which clients cannot forge); and a changed CA applied by the same pod.
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

/**
 * GET / on `port` with SNI, trusting `server`, with a client certificate or none, and a forged `X-SSL-Client-Verify`:
 * "<status>/<X-SSL-Client-Verify the echo backend got>", or "refused".
 */
async function statusWith(
  address: string,
  port: number,
  server: string,
  client?: SelfSignedCertificate,
): Promise<string> {
  let text: string;
  try {
    text = await curl([
      "--cacert",
      server,
      "--resolve",
      `${HOST}:${port}:${address}`,
      ...(client ? ["--cert", client.certFile, "--key", client.keyFile] : []),
      "-H",
      "X-SSL-Client-Verify: SUCCESS",
      "-w",
      "\n%{http_code}",
      `https://${HOST}:${port}/`,
    ]);
  } catch {
    return "refused";
  }
  const status = text.slice(text.lastIndexOf("\n") + 1);
  const echoed = JSON.parse(text.slice(0, text.lastIndexOf("\n"))) as { headers: Record<string, string[]> };
  return `${status}/${echoed.headers["X-Ssl-Client-Verify"]?.join(",") ?? "absent"}`;
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
      await eventually(async () => equal(await statuses(443), "200/SUCCESS refused refused"), { timeoutMs: 30_000 });
    });
    await t.step(
      "AllowInsecureFallback: no certificate and another CA's are served too, the backend told which",
      async () => {
        // The gateway image's patched hitch (images/hitch/): Debian's refuses a certificate that fails verification.
        // X-SSL-Client-Verify comes from hitch's PROXY header, never from the client (each request forges SUCCESS);
        // FAILED:21 is OpenSSL's X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE (a lone certificate of an unknown issuer).
        equal(await statuses(8443), "200/SUCCESS 200/NONE 200/FAILED:21");
      },
    );
    await t.step("the Gateway says that a port accepts clients without a valid certificate", async () => {
      const gateway = await client.request<never>(`${GW_API}/namespaces/${ns}/gateways/gw`);
      const insecure = conditionOf(gateway, "InsecureFrontendValidationMode");
      deepEqual([insecure?.status, insecure?.reason], ["True", "ConfigurationChanged"]);
    });
    await t.step("a changed CA bundle applies in the same gateway pod", async () => {
      const pods = await gatewayPods();
      await apply(client, `/api/v1/namespaces/${ns}/configmaps`, caConfigMap(ns, others.ca));
      // Each port has its own hitch, reloaded in turn: wait for both.
      await eventually(async () => equal(await statuses(443), "refused refused 200/SUCCESS"), { timeoutMs: 30_000 });
      await eventually(async () => equal(await statuses(8443), "200/FAILED:21 200/NONE 200/SUCCESS"), {
        timeoutMs: 30_000,
      });
      deepEqual(await gatewayPods(), pods);
    });
    failed = false;
  } finally {
    if (failed) console.error(await gw.readOperatorLog());
    await Deno.remove(certDir, { recursive: true });
  }
});
