import { deepEqual, equal, notEqual } from "node:assert/strict";
import { type Gateway } from "../api_types.ts";
import { parseSnapshot } from "../snapshot.ts";
import { lacquerIngressClass } from "./_test_ingress_class.ts";
import { expandIngresses } from "./expand_ingresses.ts";

const GATEWAY = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name: "gw", namespace: "infra" },
  spec: { gatewayClassName: "lacquer", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
};

function ingressClass(name: string, extra: Record<string, unknown> = {}, annotations: Record<string, string> = {}) {
  return lacquerIngressClass(name, { namespace: "infra", name: "gw" }, { annotations, spec: extra });
}

function ingress(name: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}) {
  const rules = [{
    host: `${name}.example`,
    http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] },
  }];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: "shop", ...meta },
    spec: { rules, ...spec },
  };
}

Deno.test("expandIngresses picks the Ingresses of Lacquer's classes: by name, legacy annotation or default class", () => {
  const { ingresses } = expandIngresses(parseSnapshot([
    GATEWAY,
    ingressClass("lacquer", {}, { "ingressclass.kubernetes.io/is-default-class": "true" }),
    { ...ingressClass("nginx"), spec: { controller: "k8s.io/ingress-nginx" } },
    ingress("named", { ingressClassName: "lacquer" }),
    ingress("legacy", {}, { annotations: { "kubernetes.io/ingress.class": "lacquer" } }),
    ingress("defaulted", {}),
    ingress("other", { ingressClassName: "nginx" }),
  ]));
  deepEqual(ingresses.map((i) => [i.key, i.gateway, i.routes]), [
    ["shop/defaulted", "infra/gw", ["ingress:defaulted:defaulted.example"]],
    ["shop/legacy", "infra/gw", ["ingress:legacy:legacy.example"]],
    ["shop/named", "infra/gw", ["ingress:named:named.example"]],
  ]);
});

Deno.test("expandIngresses reports a class that names no Gateway and a Gateway that does not exist", () => {
  const { ingresses } = expandIngresses(parseSnapshot([
    ingressClass("bare", { parameters: undefined }),
    ingressClass("lacquer"),
    ingress("a", { ingressClassName: "bare" }),
    ingress("b", { ingressClassName: "lacquer" }),
  ]));
  deepEqual(ingresses.map((i) => i.problems.map((p) => p.reason)), [["NoGateway"], ["GatewayNotFound"]]);
});

Deno.test("expandIngresses gives a TLS host to the older Ingress and reuses the Gateway object while its listeners stay", () => {
  const objects = [
    GATEWAY,
    ingressClass("lacquer"),
    ingress("old", { ingressClassName: "lacquer", tls: [{ hosts: ["same.example"], secretName: "a" }] }, {
      creationTimestamp: "2026-01-01T00:00:00Z",
    }),
    ingress("new", { ingressClassName: "lacquer", tls: [{ hosts: ["same.example"], secretName: "b" }] }, {
      creationTimestamp: "2026-01-02T00:00:00Z",
    }),
  ];
  const snapshot = parseSnapshot(objects);
  const memo = new WeakMap<Gateway, { listeners: string; gateway: Gateway }>();
  const first = expandIngresses(snapshot, memo);
  deepEqual(first.snapshot.gateways[0].spec.listeners.map((l) => [l.name, l.port, l.tls?.certificateRefs[0]?.name]), [
    ["http", 80, undefined],
    ["ingress.same.example", 443, "a"],
  ]);
  deepEqual(first.ingresses.map((i) => [i.key, i.problems.map((p) => p.reason)]), [
    ["shop/new", ["TLSHostConflict"]],
    ["shop/old", []],
  ]);
  deepEqual(first.snapshot.referenceGrants.map((g) => [g.metadata.namespace, g.spec.to[0].name]), [["shop", "a"]]);
  equal(expandIngresses(snapshot, memo).snapshot.gateways[0], first.snapshot.gateways[0]);
  notEqual(expandIngresses(snapshot).snapshot.gateways[0], first.snapshot.gateways[0]);
});
