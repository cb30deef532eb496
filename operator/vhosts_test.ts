import { deepEqual } from "node:assert/strict";
import { gatewaySchema, httpRouteSchema } from "./api_types.ts";
import { attachRoutes } from "./attach_routes.ts";
import { validateListeners } from "./listeners.ts";
import { parseSnapshot } from "./snapshot.ts";
import { indexSnapshot } from "./snapshot_index.ts";
import { TranslationMemo } from "./translation_memo.ts";
import { backendNamespaces, buildVhosts, routingDocument } from "./vhosts.ts";

const index = indexSnapshot(
  parseSnapshot([
    { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "ns" }, spec: { ports: [{ port: 80 }] } },
  ]),
  "lacquer.dev/gateway-controller",
);
const gateway = gatewaySchema.parse({
  metadata: { name: "gw", namespace: "ns" },
  spec: {
    gatewayClassName: "lacquer",
    listeners: [
      { name: "second", port: 81, protocol: "HTTP" },
      { name: "first", port: 80, protocol: "HTTP", hostname: "A.Example" },
      { name: "reserved", port: 8901, protocol: "HTTP" },
    ],
  },
});
const listeners = validateListeners(gateway, index);

function route(name: string, spec: Record<string, unknown>) {
  return httpRouteSchema.parse({
    metadata: { name, namespace: "ns", creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: { parentRefs: [{ name: "gw" }], rules: [{ backendRefs: [{ name: "web", port: 80 }] }], ...spec },
  });
}

const routes = attachRoutes([
  route("wide", {}),
  route("narrow", { parentRefs: [{ name: "gw", sectionName: "second" }], hostnames: ["b.example"] }),
], { key: "ns/gw", gateway, listeners, index, memo: new TranslationMemo() });

Deno.test("buildVhosts() lists each rule once per hostname with the listeners that reach it, in spec order", () => {
  const vhosts = buildVhosts(listeners, routes);
  deepEqual(Object.keys(vhosts), ["*", "a.example", "b.example"]);
  deepEqual(vhosts["*"].routes.map((r) => [r.id.name, r.listeners]), [["wide", ["second"]]]);
  deepEqual(vhosts["a.example"].routes.map((r) => [r.id.name, r.listeners]), [["wide", ["first"]]]);
  deepEqual(vhosts["b.example"].routes.map((r) => [r.id.name, r.listeners]), [["narrow", ["second"]]]);
  deepEqual(Object.keys(vhosts["*"].routes[0]), ["id", "created", "listeners", "matches", "filters", "backends"]);
});

Deno.test("buildVhosts() merges the listeners of one rule reached through the same hostname", () => {
  const both = attachRoutes([route("both", { hostnames: ["a.example"] })], {
    key: "ns/gw",
    gateway,
    listeners,
    index,
    memo: new TranslationMemo(),
  });
  deepEqual(buildVhosts(listeners, both)["a.example"].routes[0].listeners, ["second", "first"]);
});

Deno.test("routingDocument() serves only usable listeners, hostnames lower-cased", () => {
  const doc = routingDocument(listeners, {});
  deepEqual(doc.listeners, [
    { name: "second", socket: "port-81", port: 81, protocol: "HTTP" },
    { name: "first", socket: "port-80", port: 80, protocol: "HTTP", hostname: "a.example" },
  ]);
});

Deno.test("backendNamespaces() lists the namespaces routing.json sends traffic to", () => {
  deepEqual(backendNamespaces(routingDocument(listeners, buildVhosts(listeners, routes))), ["ns"]);
  deepEqual(backendNamespaces(routingDocument(listeners, {})), []);
});
