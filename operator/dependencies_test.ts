import { deepEqual, equal } from "node:assert/strict";
import { CONTROLLER_NAME } from "../internal/names.ts";
import { dependenciesUnchanged, gatewayDependencies, trackDependencies } from "./dependencies.ts";
import { parseSnapshot } from "./snapshot.ts";
import { indexSnapshot } from "./snapshot_index.ts";

Deno.test("gatewayDependencies() lists Services, Secrets, parameters, VCL and CA ConfigMaps and grant namespaces", () => {
  const snapshot = parseSnapshot([
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "c" },
      spec: {
        controllerName: "lacquer.dev/gateway-controller",
        parametersRef: { group: "lacquer.dev", kind: "GatewayParameters", name: "p", namespace: "sys" },
      },
    },
    {
      apiVersion: "lacquer.dev/v1alpha1",
      kind: "GatewayParameters",
      metadata: { name: "p", namespace: "sys" },
      spec: { vcl: { configMapRef: { name: "vcl" } } },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "ns" },
      spec: {
        gatewayClassName: "c",
        tls: {
          frontend: {
            default: { validation: { caCertificateRefs: [{ group: "", kind: "ConfigMap", name: "ca" }] } },
            perPort: [{
              port: 8443,
              tls: {
                validation: {
                  caCertificateRefs: [
                    { group: "", kind: "Secret", name: "issuer", namespace: "pki" },
                    { group: "", kind: "Service", name: "not-a-ca" },
                  ],
                },
              },
            }],
          },
        },
        listeners: [
          { name: "h", port: 443, protocol: "HTTPS", tls: { certificateRefs: [{ name: "cert", namespace: "certs" }] } },
          { name: "s", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "Selector", selector: {} } } },
        ],
      },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "r", namespace: "ns" },
      spec: {
        parentRefs: [{ name: "gw" }],
        rules: [{ backendRefs: [{ name: "a", port: 1 }, { name: "b", namespace: "other", port: 1 }] }],
      },
    },
  ]);
  deepEqual(gatewayDependencies(snapshot, "ns/gw"), [
    "BackendTLS:ns/a",
    "BackendTLS:other/b",
    "ConfigMap:ns/ca",
    "ConfigMap:sys/vcl",
    "GatewayParameters:sys/p",
    "GrantNamespace:certs",
    "GrantNamespace:other",
    "GrantNamespace:pki",
    "NamespaceLabels",
    "Secret:certs/cert",
    "Secret:pki/issuer",
    "Service:ns/a",
    "Service:other/b",
  ]);
});

const backendTlsObjects = [
  {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: "c" },
    spec: { controllerName: CONTROLLER_NAME },
  },
  {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "gw", namespace: "ns" },
    spec: { gatewayClassName: "c", tls: { backend: { clientCertificateRef: { name: "client" } } } },
  },
  {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r", namespace: "ns" },
    spec: { parentRefs: [{ name: "gw" }], rules: [{ backendRefs: [{ name: "a", port: 443 }] }] },
  },
  ...["a", "elsewhere"].map((service) => ({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "BackendTLSPolicy",
    metadata: { name: `p-${service}`, namespace: "ns" },
    spec: {
      targetRefs: [{ group: "", kind: "Service", name: service }],
      validation: {
        caCertificateRefs: [
          { group: "", kind: "ConfigMap", name: `ca-${service}` },
          { group: "", kind: "Secret", name: `ca-${service}` },
          { group: "example.com", kind: "Secret", name: `not-core-${service}` },
        ],
        hostname: "h",
      },
    },
  })),
];

Deno.test("gatewayDependencies() lists the CA ConfigMaps and Secrets of its backends' BackendTLSPolicies and its client certificate", () => {
  deepEqual(gatewayDependencies(parseSnapshot(backendTlsObjects), "ns/gw"), [
    "BackendTLS:ns/a",
    "ConfigMap:ns/ca-a",
    "Secret:ns/ca-a",
    "Secret:ns/client",
    "Service:ns/a",
  ]);
});

Deno.test("dependenciesUnchanged() sees a changed CA Secret of a backend's BackendTLSPolicy", () => {
  const secret = (value: string) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "ca-a", namespace: "ns" },
    type: "kubernetes.io/tls",
    data: { "ca.crt": value },
  });
  const before = indexSnapshot(parseSnapshot([...backendTlsObjects, secret("b25l")]), CONTROLLER_NAME);
  const tracked = trackDependencies(before, ["BackendTLS:ns/a"]);
  equal(dependenciesUnchanged(before, tracked), true);
  const after = indexSnapshot(parseSnapshot([...backendTlsObjects, secret("dHdv")]), CONTROLLER_NAME);
  equal(dependenciesUnchanged(after, tracked), false);
});

Deno.test("gatewayDependencies() of a route list seen before reads each Gateway's own routes", () => {
  const route = (name: string, gateway: string, service: string) => ({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace: "ns" },
    spec: { parentRefs: [{ name: gateway }], rules: [{ backendRefs: [{ name: service, port: 80 }] }] },
  });
  const snapshot = parseSnapshot([
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "a", namespace: "ns" },
      spec: { gatewayClassName: "c", listeners: [{ name: "h", port: 80, protocol: "HTTP" }] },
    },
    route("ra", "a", "svc-a"),
    route("rb", "b", "svc-b"),
  ]);
  // Gateway b shares a's spec object (as a copy of it may)
  const b = { ...snapshot.gateways[0], metadata: { ...snapshot.gateways[0].metadata, name: "b" } };
  const both = { ...snapshot, gateways: [snapshot.gateways[0], b] };
  const services = (key: string) => gatewayDependencies(both, key).filter((d) => d.startsWith("Service:"));
  for (let i = 0; i < 2; i++) {
    deepEqual(services("ns/a"), ["Service:ns/svc-a"]);
    deepEqual(services("ns/b"), ["Service:ns/svc-b"]);
  }
  // a route changed in place
  const changed = parseSnapshot([route("ra", "a", "svc-c")]).httpRoutes[0];
  const next = { ...both, httpRoutes: [changed, both.httpRoutes[1]] };
  deepEqual(gatewayDependencies(next, "ns/a").filter((d) => d.startsWith("Service:")), ["Service:ns/svc-c"]);
});
