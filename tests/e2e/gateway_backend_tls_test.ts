/**
 * End to end on the local cluster: BackendTLSPolicy and the Gateway's backend client certificate. An echo backend
 * serves HTTPS with a certificate of a test CA (DNS and URI subjectAltNames) and records the client certificate it is
 * shown; ghost's transport in the gateway pod verifies it against the policy's CA ConfigMap (or, for one policy, a
 * kubernetes.io/tls Secret's ca.crt) and presents the Gateway's client certificate. A name the certificate does not
 * carry answers 503, and a rotated CA bundle reaches traffic without a failed request.
 */
import { deepEqual, equal } from "node:assert/strict";
import { clusterAvailable, eventually, testCertificateAuthority } from "../cluster/mod.ts";
import {
  apply,
  applyApp,
  conditionOf,
  get,
  GW_API,
  prefix,
  route,
  startE2eGateway,
  startLoad,
} from "./_e2e_gateway.ts";

const BACKEND_HOST = "echo-tls.internal";
const BACKEND_URI = "spiffe://lacquer.test/ns/e2e/sa/echo";

/** echo-basic serving HTTPS on 8443 with the Secret "echo-tls" (its certificate, and the CA of client certificates). */
function tlsEcho(namespace: string): Record<string, unknown>[] {
  const labels = { app: "echo-tls" };
  const service = (name: string) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace },
    spec: { selector: labels, ports: [{ name: "https", port: 443, targetPort: 8443 }] },
  });
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "echo-tls", namespace },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [{
              name: "echo",
              image: "registry.k8s.io/gateway-api/echo-basic:v1.6.1",
              env: [
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                { name: "TLS_SERVER_CERT", value: "/etc/echo-tls/tls.crt" },
                { name: "TLS_SERVER_PRIVKEY", value: "/etc/echo-tls/tls.key" },
                { name: "TLS_CLIENT_CACERTS", value: "/etc/echo-tls/ca.crt" },
              ],
              ports: [{ containerPort: 3000 }, { containerPort: 8443 }],
              readinessProbe: { tcpSocket: { port: 8443 }, periodSeconds: 1 },
              volumeMounts: [{ name: "tls", mountPath: "/etc/echo-tls", readOnly: true }],
            }],
            volumes: [{ name: "tls", secret: { secretName: "echo-tls" } }],
          },
        },
      },
    },
    // The same pods behind three Services, each with its own policy.
    service("echo-tls"),
    service("echo-tls-uri"),
    service("echo-tls-wrong-name"),
  ];
}

function policy(namespace: string, name: string, service: string, validation: Record<string, unknown>) {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "BackendTLSPolicy",
    metadata: { name, namespace },
    spec: {
      targetRefs: [{ group: "", kind: "Service", name: service }],
      validation: { caCertificateRefs: [{ group: "", kind: "ConfigMap", name: "backend-ca" }], ...validation },
    },
  };
}

const caConfigMap = (namespace: string, ca: string) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "backend-ca", namespace },
  data: { "ca.crt": ca },
});

Deno.test({
  name: "a BackendTLSPolicy: verified TLS to the backend with the Gateway's client certificate, 503 on a name " +
    "mismatch, a rotated CA bundle without a failed request",
  ignore: !clusterAvailable(),
}, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "lacquer-e2e-backend-tls-" });
  const backends = await testCertificateAuthority(dir, "backends");
  const others = await testCertificateAuthority(dir, "others");
  const server = await backends.issueServer("echo", [BACKEND_HOST, BACKEND_URI]);
  const gatewayClient = await backends.issueClient("gateway");
  const secret = (namespace: string, name: string, data: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace },
    type: "kubernetes.io/tls",
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, btoa(v)])),
  });
  await using gw = await startE2eGateway({
    tls: { backend: { clientCertificateRef: { group: "", kind: "Secret", name: "gateway-client" } } },
    setup: async ({ client, name }) => {
      const secrets = `/api/v1/namespaces/${name}/secrets`;
      await apply(
        client,
        secrets,
        secret(name, "echo-tls", { "tls.crt": server.cert, "tls.key": server.key, "ca.crt": backends.ca }),
      );
      await apply(
        client,
        secrets,
        secret(name, "gateway-client", { "tls.crt": gatewayClient.cert, "tls.key": gatewayClient.key }),
      );
      await applyApp(client, tlsEcho(name));
      await apply(client, `/api/v1/namespaces/${name}/configmaps`, caConfigMap(name, backends.ca));
      const policies = `${GW_API}/namespaces/${name}/backendtlspolicies`;
      await apply(client, policies, policy(name, "by-hostname", "echo-tls", { hostname: BACKEND_HOST }));
      await apply(
        client,
        policies,
        policy(name, "by-uri", "echo-tls-uri", {
          hostname: BACKEND_HOST,
          subjectAltNames: [{ type: "URI", uri: BACKEND_URI }],
          // The CA from a kubernetes.io/tls Secret's ca.crt rather than a ConfigMap.
          caCertificateRefs: [{ group: "", kind: "Secret", name: "echo-tls" }],
        }),
      );
      await apply(client, policies, policy(name, "wrong-name", "echo-tls-wrong-name", { hostname: "other.internal" }));
      await apply(
        client,
        `${GW_API}/namespaces/${name}/httproutes`,
        route(name, "tls", [
          { matches: prefix("/tls"), backendRefs: [{ name: "echo-tls", port: 443 }] },
          { matches: prefix("/uri"), backendRefs: [{ name: "echo-tls-uri", port: 443 }] },
          { matches: prefix("/wrong-name"), backendRefs: [{ name: "echo-tls-wrong-name", port: 443 }] },
        ]),
      );
    },
  });
  const { client, address } = gw;
  const ns = gw.ns.name;
  let failed = true;
  try {
    await t.step(
      "the backend sees TLS with the policy's hostname as SNI and the Gateway's client certificate",
      async () => {
        const answer = await eventually(async () => {
          const { status, body } = await get(address, "/tls/a");
          equal(status, 200, body);
          return JSON.parse(body) as { tls?: { serverName: string; peerCertificates?: string[] } };
        }, { timeoutMs: 90_000 });
        equal(answer.tls?.serverName, BACKEND_HOST);
        deepEqual(answer.tls?.peerCertificates?.map((c) => c.trim()), [gatewayClient.cert.trim()]);
      },
    );
    await t.step("a URI subjectAltName the certificate carries is accepted, verified with a Secret's CA", async () => {
      await eventually(async () => equal((await get(address, "/uri/a")).status, 200), { timeoutMs: 30_000 });
    });
    await t.step("a hostname the certificate does not carry answers 503, never plain HTTP", async () => {
      await eventually(async () => equal((await get(address, "/wrong-name/a")).status, 503), { timeoutMs: 30_000 });
    });
    await t.step("the policies and the Gateway report their references resolved", async () => {
      for (const name of ["by-hostname", "by-uri", "wrong-name"]) {
        await eventually(async () => {
          const p = await client.request<{ status?: { ancestors?: { conditions: never[] }[] } }>(
            `${GW_API}/namespaces/${ns}/backendtlspolicies/${name}`,
          );
          const ancestor = { status: { conditions: p.status?.ancestors?.[0]?.conditions } };
          deepEqual([conditionOf(ancestor, "Accepted")?.reason, conditionOf(ancestor, "ResolvedRefs")?.reason], [
            "Accepted",
            "ResolvedRefs",
          ]);
        });
      }
      const gateway = await client.request<never>(`${GW_API}/namespaces/${ns}/gateways/gw`);
      equal(conditionOf(gateway, "ResolvedRefs")?.status, "True");
    });
    await t.step("a CA bundle rotated under load (old and new CA, then new and old) fails no request", async () => {
      const load = startLoad(address, "/tls/rotation", 2);
      const configMaps = `/api/v1/namespaces/${ns}/configmaps`;
      await apply(client, configMaps, caConfigMap(ns, `${backends.ca}${others.ca}`));
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await apply(client, configMaps, caConfigMap(ns, `${others.ca}${backends.ca}`));
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const { sent, failures } = await load.stop();
      deepEqual(failures, [], `${failures.length} of ${sent} failed`);
      equal(sent > 20, true, `only ${sent} requests sent`);
    });
    await t.step("a CA bundle without the backend's CA answers 503; the CA back, 200 again", async () => {
      const configMaps = `/api/v1/namespaces/${ns}/configmaps`;
      await apply(client, configMaps, caConfigMap(ns, others.ca));
      await eventually(async () => equal((await get(address, "/tls/a")).status, 503), { timeoutMs: 30_000 });
      await apply(client, configMaps, caConfigMap(ns, backends.ca));
      await eventually(async () => equal((await get(address, "/tls/a")).status, 200), { timeoutMs: 30_000 });
    });
    failed = false;
  } finally {
    if (failed) console.error(await gw.readOperatorLog());
    await Deno.remove(dir, { recursive: true });
  }
});
