import { deepStrictEqual, equal, match } from "node:assert/strict";
import {
  assembleRouting,
  parseGhostDelta,
  parseRoutingJson,
  type RoutingJson,
  stringifyContract,
} from "../ghost/contract/mod.ts";
import { ghostDelta, GhostJsonBuilder } from "./ghost_json_builder.ts";
import { serviceView, sliceView } from "./_test_views.ts";
import { type ClusterEndpoints, indexEndpoints, mergeEndpoints } from "./merge_endpoints.ts";
import { countGhost } from "./metrics.ts";

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

function cluster(s0: string, s0AppProtocol?: string): ClusterEndpoints {
  return {
    services: [serviceView("s0", s0AppProtocol), serviceView("s1")],
    endpointSlices: [sliceView("s0", s0), sliceView("s1", "10.0.1.1")],
  };
}

/** The builder's input for one routing.json (as one shard, or the shards given) and cluster state. */
function input(routing: RoutingJson | RoutingJson[], state: ClusterEndpoints) {
  return {
    shards: Array.isArray(routing) ? routing : [routing],
    endpoints: indexEndpoints(state),
    clientCertificate: state.backendClientCertificate,
  };
}

Deno.test("GhostJsonBuilder writes exactly what mergeEndpoints and the contract's serializer write", () => {
  const builder = new GhostJsonBuilder();
  const h2c = cluster("10.0.0.2", "kubernetes.io/h2c");
  const tls = { ...cluster("10.0.0.2"), backendClientCertificate: { certificate: "C", key: "K" } };
  for (const state of [cluster("10.0.0.1"), cluster("10.0.0.2"), h2c, tls, { services: [], endpointSlices: [] }]) {
    builder.update(input(ROUTING, state));
    equal(builder.text(), stringifyContract(mergeEndpoints(ROUTING, state)));
    deepStrictEqual(builder.counts, countGhost(mergeEndpoints(ROUTING, state)));
  }
});

Deno.test("GhostJsonBuilder merges again only the vhosts whose routing or endpoints changed, and says which", () => {
  const builder = new GhostJsonBuilder();
  const first = builder.update(input(ROUTING, cluster("10.0.0.1")));
  deepStrictEqual([...first.keys()].sort(), [
    "a.example",
    "b.example",
    "c.example",
    "m.example",
    "ns/s0:80",
    "ns/s1:80",
  ]);
  const [before, entry] = [builder.value("a.example"), builder.value("ns/s0:80")];
  // the same entries: nothing changed
  const index = indexEndpoints(cluster("10.0.0.1"));
  // equal entries that are new objects: resolved again, nothing changed; the same entries: not even resolved
  equal(builder.update({ shards: [ROUTING], endpoints: index }).size, 0);
  equal(builder.update({ shards: [ROUTING], endpoints: index }).size, 0);
  // s0 moves: its one entry changes, and m.example, whose mirror holds it inline; a.example and c.example name the
  // entry and are not merged again, nor is b.example (s1)
  const moved = builder.update(input(ROUTING, cluster("10.0.0.9")));
  deepStrictEqual([...moved.keys()].sort(), ["m.example", "ns/s0:80"]);
  equal(moved.get("ns/s0:80"), entry);
  equal(builder.value("a.example"), before);
  match(builder.value("ns/s0:80")!, /^\{"endpoints":\[\{"address":"10\.0\.0\.9"/);
  match(builder.value("m.example")!, /"mirrors":\[\{"backend":\{[^}]*"endpoints":\[\{"address":"10\.0\.0\.9"/);
  // s0's port turns to H2C: same endpoints, another transport
  const h2c = builder.update(input(ROUTING, cluster("10.0.0.9", "kubernetes.io/h2c")));
  deepStrictEqual([...h2c.keys()].sort(), ["m.example", "ns/s0:80"]);
  match(builder.value("ns/s0:80")!, /"transport":\{"protocol":"H2C"\}/);
  equal(builder.text(), stringifyContract(mergeEndpoints(ROUTING, cluster("10.0.0.9", "kubernetes.io/h2c"))));
});

Deno.test("GhostJsonBuilder takes the vhosts of the shards that changed, and removes those of shards gone", () => {
  const shard = (hosts: string[], service: (host: string) => string) =>
    parseRoutingJson(JSON.stringify({
      version: 1,
      vhosts: Object.fromEntries(hosts.map((host) => [host, {
        routes: [{
          id: { namespace: "ns", name: host, rule: 0 },
          created: "2026-01-01T00:00:00Z",
          listeners: ["http"],
          backends: [{ weight: 1, service: { namespace: "ns", name: service(host), port: 80 } }],
        }],
      }])),
    }));
  const [one, two] = [shard(["a.example", "b.example"], () => "s0"), shard(["c.example"], () => "s1")];
  const builder = new GhostJsonBuilder();
  builder.update(input([one, two], cluster("10.0.0.1")));
  equal(builder.text(), stringifyContract(mergeEndpoints(assembleRouting([one, two]), cluster("10.0.0.1"))));
  // shard one rewritten: b.example moves to s1, a.example is equal, a new d.example
  const rewritten = shard(["a.example", "b.example", "d.example"], (host) => host === "a.example" ? "s0" : "s1");
  const old = builder.value("b.example");
  let changed = builder.update(input([rewritten, two], cluster("10.0.0.1")));
  deepStrictEqual(changed, new Map([["b.example", old], ["d.example", undefined]]));
  // shard two gone: c.example removed, its old value given back
  const c = builder.value("c.example");
  changed = builder.update(input([rewritten], cluster("10.0.0.1")));
  deepStrictEqual(changed, new Map([["c.example", c]]));
  equal(builder.value("c.example"), undefined);
  equal(builder.text(), stringifyContract(mergeEndpoints(rewritten, cluster("10.0.0.1"))));
  // s0's endpoints change: only its entry, which a.example names, changes
  deepStrictEqual([...builder.update(input([rewritten], cluster("10.0.0.7"))).keys()], ["ns/s0:80"]);
  // b.example and d.example go: s1's entry, which no vhost names any more, goes too
  const onlyA = shard(["a.example"], () => "s0");
  changed = builder.update(input([onlyA], cluster("10.0.0.7")));
  deepStrictEqual([...changed.keys()].sort(), ["b.example", "d.example", "ns/s1:80"]);
  equal(builder.value("ns/s1:80"), undefined);
  equal(builder.text(), stringifyContract(mergeEndpoints(onlyA, cluster("10.0.0.7"))));
});

Deno.test("GhostJsonBuilder merges only the vhosts that differ in a document parsed again", () => {
  const builder = new GhostJsonBuilder();
  builder.update(input(ROUTING, cluster("10.0.0.1")));
  equal(builder.merged, 4);
  // the same text parsed again (a whole routing.json rewritten for another vhost's sake): nothing merged
  equal(builder.update(input(parseRoutingJson(JSON.stringify(ROUTING)), cluster("10.0.0.1"))).size, 0);
  equal(builder.merged, 0);
  // one vhost's route moves to s0: that vhost only
  const moved = JSON.parse(JSON.stringify(ROUTING));
  moved.vhosts["b.example"].routes[0].backends[0].service.name = "s0";
  deepStrictEqual([...builder.update(input(parseRoutingJson(JSON.stringify(moved)), cluster("10.0.0.1"))).keys()], [
    "b.example",
  ]);
  equal(builder.merged, 1);
  // the document again and s0's endpoints at once: m.example, whose mirror holds them inline, is merged again
  const again = parseRoutingJson(JSON.stringify(moved));
  deepStrictEqual([...builder.update(input(again, cluster("10.0.0.5"))).keys()].sort(), ["m.example", "ns/s0:80"]);
  equal(builder.merged, 1);
  equal(builder.text(), stringifyContract(mergeEndpoints(again, cluster("10.0.0.5"))));
});

Deno.test("GhostJsonBuilder.textPieces() are the document as it was when asked for, joined", () => {
  const builder = new GhostJsonBuilder();
  builder.update(input(ROUTING, cluster("10.0.0.1")));
  const whole = builder.text();
  const pieces = builder.textPieces(undefined, undefined, 1);
  // an update after the call does not change them
  builder.update(input(ROUTING, cluster("10.0.0.9")));
  const joined = [...pieces];
  equal(joined.length, 2 + 4);
  equal(joined.join(""), whole);
  equal([...builder.textPieces(undefined, undefined, 3)].join(""), builder.text());
});

Deno.test("ghostDelta() writes the vhosts and backends entries given and null for the keys gone", () => {
  deepStrictEqual(JSON.parse(ghostDelta(new Map([["b", '{"routes":[]}'], ["c", undefined]]))), {
    version: 2,
    vhosts: { b: { routes: [] }, c: null },
  });
  const entries = new Map([["ns/s:80", '{"endpoints":[]}'], ["ns/t:80", undefined], ["b", undefined]]);
  deepStrictEqual(JSON.parse(ghostDelta(entries)), {
    version: 2,
    vhosts: { b: null },
    backends: { "ns/s:80": { endpoints: [] }, "ns/t:80": null },
  });
  parseGhostDelta(ghostDelta(entries));
});

Deno.test("GhostJsonBuilder.text() joins the document a log of earlier values leads back to", () => {
  const builder = new GhostJsonBuilder();
  builder.update(input(ROUTING, cluster("10.0.0.1")));
  const [served, frame] = [builder.text(), builder.frame];
  const log = new Map(builder.update(input(ROUTING, cluster("10.0.0.9"))));
  const fewer = { ...ROUTING, vhosts: { ...ROUTING.vhosts } };
  delete fewer.vhosts["b.example"];
  for (const [host, value] of builder.update(input(fewer, cluster("10.0.0.9")))) {
    if (!log.has(host)) log.set(host, value);
  }
  deepStrictEqual(JSON.parse(builder.text(log, frame)), JSON.parse(served));
  equal(builder.text(), stringifyContract(mergeEndpoints(fewer, cluster("10.0.0.9"))));
});
