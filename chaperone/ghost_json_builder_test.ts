import { deepStrictEqual, equal, notStrictEqual, strictEqual } from "node:assert/strict";
import { parseRoutingJson, stringifyContract } from "../ghost/contract/mod.ts";
import { ghostDelta, GhostJsonBuilder } from "./ghost_json_builder.ts";
import type { EndpointSliceView, ServiceView } from "./kube_views.ts";
import { type ClusterEndpoints, mergeEndpoints } from "./merge_endpoints.ts";

const ROUTING = parseRoutingJson(JSON.stringify({
  version: 1,
  listeners: [{ name: "http", socket: "port-80", port: 80, protocol: "HTTP" }],
  cachePolicies: { "ns/site": { ttl: { default: 300 } } },
  vhosts: Object.fromEntries(
    ["a.example", "b.example", "c.example"].map((host, i) =>
      [host, {
        routes: [{
          id: { namespace: "ns", name: `r${i}`, rule: 0 },
          created: "2026-01-01T00:00:00Z",
          listeners: ["http"],
          backends: [
            { weight: 3, service: { namespace: "ns", name: `s${i % 2}`, port: 80 } },
            { weight: 1, unresolved: "Service not allowed" },
          ],
        }],
      }] as [string, unknown]
    ).concat([["m.example", {
      routes: [{
        id: { namespace: "ns", name: "mirrored", rule: 0 },
        created: "2026-01-01T00:00:00Z",
        listeners: ["http"],
        backends: [{ weight: 1, service: { namespace: "ns", name: "s1", port: 80 } }],
        // a mirror of s0: its endpoints count for the vhost as a backend's do
        mirrors: [{ backend: { weight: 1, service: { namespace: "ns", name: "s0", port: 80 } } }],
      }],
    }]]),
  ),
  requests: { escapedSlashes: "KeepUnchanged" },
}));

function service(name: string, appProtocol?: string): ServiceView {
  const port = { name: "", port: 80, protocol: "TCP", targetPort: 8080, appProtocol };
  return { metadata: { name, namespace: "ns", labels: {} }, spec: { type: "ClusterIP", selector: {}, ports: [port] } };
}

function slice(name: string, address: string): EndpointSliceView {
  return {
    metadata: { name: `${name}-1`, namespace: "ns", labels: { "kubernetes.io/service-name": name } },
    addressType: "IPv4",
    ports: [{ name: "", port: 8080, protocol: "TCP" }],
    endpoints: [{ addresses: [address], conditions: { ready: true, serving: undefined, terminating: undefined } }],
  };
}

function cluster(s0: string, s0AppProtocol?: string): ClusterEndpoints {
  return {
    services: [service("s0", s0AppProtocol), service("s1")],
    endpointSlices: [slice("s0", s0), slice("s1", "10.0.1.1")],
  };
}

Deno.test("GhostJsonBuilder writes exactly what mergeEndpoints and the contract's serializer write", () => {
  const builder = new GhostJsonBuilder();
  const h2c = cluster("10.0.0.2", "kubernetes.io/h2c");
  for (const state of [cluster("10.0.0.1"), cluster("10.0.0.2"), h2c, { services: [], endpointSlices: [] }]) {
    const { ghost, text } = builder.build(ROUTING, state);
    equal(text, stringifyContract(mergeEndpoints(ROUTING, state)));
    equal(text, stringifyContract(ghost));
  }
});

Deno.test("GhostJsonBuilder merges again only the vhosts whose routing or endpoints changed", () => {
  const builder = new GhostJsonBuilder();
  const first = builder.build(ROUTING, cluster("10.0.0.1")).ghost;
  const same = builder.build(ROUTING, cluster("10.0.0.1")).ghost;
  strictEqual(same.vhosts["a.example"], first.vhosts["a.example"]);
  // s0 (a.example and c.example) moves; b.example (s1) is kept as it was
  const moved = builder.build(ROUTING, cluster("10.0.0.9")).ghost;
  notStrictEqual(moved.vhosts["a.example"], first.vhosts["a.example"]);
  strictEqual(moved.vhosts["b.example"], first.vhosts["b.example"]);
  equal(moved.vhosts["c.example"].routes[0].backends[0].endpoints[0].address, "10.0.0.9");
  equal(moved.vhosts["m.example"].routes[0].mirrors?.[0].backend.endpoints[0].address, "10.0.0.9");
  // s0's port turns to H2C: same endpoints, another transport, merged again
  const h2c = builder.build(ROUTING, cluster("10.0.0.9", "kubernetes.io/h2c")).ghost;
  equal(h2c.vhosts["a.example"].routes[0].backends[0].transport?.protocol, "H2C");
  strictEqual(h2c.vhosts["b.example"], first.vhosts["b.example"]);
  // a new routing.json object for a vhost is merged again even when it is equal
  const reparsed = {
    ...ROUTING,
    vhosts: { ...ROUTING.vhosts, "b.example": structuredClone(ROUTING.vhosts["b.example"]) },
  };
  notStrictEqual(builder.build(reparsed, cluster("10.0.0.9")).ghost.vhosts["b.example"], first.vhosts["b.example"]);
});

Deno.test("ghostDelta() names the vhosts whose text changed and the keys gone, and nothing across another frame", () => {
  const served = { frame: "f", vhosts: new Map([["a", '{"routes":[]}'], ["b", "{}"], ["c", "{}"]]) };
  const next = { frame: "f", vhosts: new Map([["a", '{"routes":[]}'], ["b", '{"routes":[1]}'], ["d", "{}"]]) };
  deepStrictEqual(JSON.parse(ghostDelta(served, next)!), {
    version: 1,
    vhosts: { b: { routes: [1] }, d: {}, c: null },
  });
  equal(ghostDelta(served, served), undefined);
  equal(ghostDelta(served, { ...next, frame: "g" }), undefined);
});

Deno.test("GhostJsonBuilder gives each vhost's text and the frame around them, which rebuild the document", () => {
  const routing = parseRoutingJson(JSON.stringify({
    version: 1,
    listeners: [{ name: "http", socket: "port-http", port: 80, protocol: "HTTP" }],
    vhosts: { "a.example": { routes: [] }, "*": { routes: [] } },
    requests: { escapedSlashes: "Reject", trustedProxies: [] },
  }));
  const built = new GhostJsonBuilder().build(routing, { services: [], endpointSlices: [] });
  const vhosts = [...built.vhosts].map(([host, text]) => `${JSON.stringify(host)}:${text}`).join(",");
  equal(`${built.frame.replace('"vhosts":', `"vhosts":{${vhosts}}`)}\n`, built.text);
  equal(built.text, stringifyContract(mergeEndpoints(routing, { services: [], endpointSlices: [] })));
});
