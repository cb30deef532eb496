import { deepEqual } from "node:assert/strict";
import { secretNamespaces } from "./secret_access.ts";
import { parseSnapshot } from "./snapshot.ts";

const GROUP = "gateway.networking.k8s.io";
const cert = (name: string, namespace?: string) => ({ group: "", kind: "Secret", name, namespace });
const https = (name: string, refs: unknown[]) => ({
  name,
  port: 443,
  protocol: "HTTPS",
  hostname: `${name}.example.com`,
  tls: { certificateRefs: refs },
});
const grant = (namespace: string, from: { kind: string; namespace: string }, to = "Secret") => ({
  apiVersion: `${GROUP}/v1`,
  kind: "ReferenceGrant",
  metadata: { name: `g-${from.kind}`, namespace },
  spec: { from: [{ group: GROUP, ...from }], to: [{ group: "", kind: to }] },
});

Deno.test("secretNamespaces() binds the Gateway's namespace, admitted ListenerSets' and granted references' only", () => {
  const snapshot = parseSnapshot([
    {
      apiVersion: `${GROUP}/v1`,
      kind: "GatewayClass",
      metadata: { name: "c" },
      spec: { controllerName: "lacquer.dev/gateway-controller" },
    },
    {
      apiVersion: `${GROUP}/v1`,
      kind: "Gateway",
      metadata: { name: "gw", namespace: "web" },
      spec: {
        gatewayClassName: "c",
        allowedListeners: { namespaces: { from: "Selector", selector: { matchLabels: { team: "a" } } } },
        listeners: [
          https("own", [cert("c")]),
          https("granted", [cert("c", "certs")]),
          // a grant for another kind, and none at all: the author of a Gateway cannot open other namespaces
          https("wrong-kind", [cert("c", "configs")]),
          https("ungranted", [cert("c", "secrets-of-others")]),
        ],
        tls: {
          backend: { clientCertificateRef: cert("client", "clients") },
          frontend: {
            default: {
              validation: { caCertificateRefs: [cert("ca", "pki"), { ...cert("ca", "cms"), kind: "ConfigMap" }] },
            },
          },
        },
      },
    },
    grant("certs", { kind: "Gateway", namespace: "web" }),
    grant("pki", { kind: "Gateway", namespace: "web" }),
    grant("clients", { kind: "Gateway", namespace: "web" }),
    grant("configs", { kind: "Gateway", namespace: "web" }, "ConfigMap"),
    grant("ls-grants", { kind: "ListenerSet", namespace: "team-a" }),
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a", labels: { team: "a" } } },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-b", labels: { team: "b" } } },
    ...["team-a", "team-b"].map((namespace) => ({
      apiVersion: `${GROUP}/v1`,
      kind: "ListenerSet",
      metadata: { name: "ls", namespace },
      spec: {
        parentRef: { group: GROUP, kind: "Gateway", name: "gw", namespace: "web" },
        listeners: [https(`${namespace}-own`, [cert("c")]), https(`${namespace}-far`, [cert("c", "ls-grants")])],
      },
    })),
  ]);
  // team-b's ListenerSet is not admitted: neither its namespace nor its grant count
  deepEqual(secretNamespaces(snapshot, "web/gw"), ["web", "certs", "clients", "ls-grants", "pki", "team-a"]);
});

Deno.test("secretNamespaces() gives a Gateway it cannot find its own namespace only", () => {
  deepEqual(secretNamespaces(parseSnapshot([]), "web/gone"), ["web"]);
});

Deno.test("secretNamespaces() binds the namespace of a backend's BackendTLSPolicy whose CA reference is a Secret", () => {
  const policy = (namespace: string, service: string, kind: string) => ({
    apiVersion: `${GROUP}/v1`,
    kind: "BackendTLSPolicy",
    metadata: { name: `p-${service}`, namespace },
    spec: {
      targetRefs: [{ group: "", kind: "Service", name: service }],
      validation: { caCertificateRefs: [{ group: "", kind, name: "ca" }], hostname: "h" },
    },
  });
  const snapshot = parseSnapshot([
    policy("apps", "api", "Secret"),
    policy("maps", "api", "ConfigMap"),
    policy("unused", "api", "Secret"),
    {
      apiVersion: `${GROUP}/v1`,
      kind: "Gateway",
      metadata: { name: "gw", namespace: "web" },
      spec: { gatewayClassName: "c", listeners: [] },
    },
  ]);
  const dependencies = ["BackendTLS:apps/api", "BackendTLS:maps/api", "Service:apps/api", "Service:maps/api"];
  // a ConfigMap needs no Secret right; a policy of a Service the Gateway's routes do not reach opens nothing
  deepEqual(secretNamespaces(snapshot, "web/gw", { dependencies }), ["web", "apps"]);
  deepEqual(secretNamespaces(snapshot, "web/gw"), ["web"]);
});
