import { deepEqual } from "node:assert/strict";
import { hostnameNamespaces, servingGateways } from "../invalidation/scope.ts";
import { parseSnapshot } from "../snapshot.ts";
import { ingressScopeRoutes } from "./ingress_scope.ts";

const CONTROLLER = "lacquer.dev/gateway-controller";

Deno.test("an Ingress of a Lacquer class lets CacheInvalidations of its namespace reach its class's Gateway", () => {
  const backend = { service: { name: "web", port: { number: 80 } } };
  const snapshot = parseSnapshot([
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "infra" },
      spec: { gatewayClassName: "lacquer", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "IngressClass",
      metadata: { name: "lacquer" },
      spec: {
        controller: "lacquer.dev/ingress-controller",
        parameters: { apiGroup: "gateway.networking.k8s.io", kind: "Gateway", namespace: "infra", name: "gw" },
      },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "web", namespace: "shop" },
      spec: {
        ingressClassName: "lacquer",
        rules: [{ host: "shop.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend }] } }],
      },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "other", namespace: "elsewhere" },
      spec: { ingressClassName: "nginx", defaultBackend: backend },
    },
  ]);
  const input = {
    controllerName: CONTROLLER,
    gateways: snapshot.gateways,
    routes: ingressScopeRoutes(snapshot.ingresses, snapshot.ingressClasses, CONTROLLER),
  };
  deepEqual(servingGateways("shop.example.com", "shop", input), ["infra/gw"]);
  deepEqual(servingGateways("other.example.com", "shop", input), []);
  deepEqual(hostnameNamespaces("shop.example.com", input), ["shop"]);
});
