import { deepStrictEqual, match, strictEqual } from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { parseGhostJson, parseRoutingJson, type RoutingJson, stringifyContract } from "../ghost/contract/mod.ts";
import { contentHash } from "../internal/content_hash.ts";
import { GhostJsonBuilder } from "./ghost_json_builder.ts";
import { endpointSliceViewSchema, serviceViewSchema } from "./kube_views.ts";
import {
  type ClusterEndpoints,
  indexEndpoints,
  inlineCaBundle,
  mergeEndpoints,
  referencedNamespaces,
} from "./merge_endpoints.ts";

const DIR = new URL("testdata/merge/", import.meta.url);
const UPDATE = Deno.env.get("LACQUER_UPDATE_GOLDEN") === "1";

function parseCluster(text: string): ClusterEndpoints {
  const services = [];
  const endpointSlices = [];
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as { kind?: string } | null;
    if (obj === null) continue;
    if (obj.kind === "Service") services.push(serviceViewSchema.parse(obj));
    else if (obj.kind === "EndpointSlice") endpointSlices.push(endpointSliceViewSchema.parse(obj));
    else throw new TypeError(`Cannot load test object: kind "${obj.kind}" is neither Service nor EndpointSlice`);
  }
  return { services, endpointSlices };
}

/** A deterministic permutation that moves every element (reverse, then rotate by one). */
function shuffled<T>(items: readonly T[]): T[] {
  const reversed = [...items].reverse();
  return reversed.length > 1 ? [...reversed.slice(1), reversed[0]] : reversed;
}

function cases(): string[] {
  return [...Deno.readDirSync(DIR)]
    .map((e) => e.name)
    .filter((n) => n.endsWith(".routing.json"))
    .map((n) => n.slice(0, -".routing.json".length))
    .sort();
}

Deno.test("mergeEndpoints() turns every golden routing.json and cluster state into its ghost.json", async (t) => {
  for (const name of cases()) {
    await t.step(name, () => {
      const routing = parseRoutingJson(Deno.readTextFileSync(new URL(`${name}.routing.json`, DIR)));
      const cluster = parseCluster(Deno.readTextFileSync(new URL(`${name}.endpointslices.yaml`, DIR)));
      const produced = stringifyContract(mergeEndpoints(routing, cluster));
      const golden = new URL(`${name}.ghost.json`, DIR);
      if (UPDATE) Deno.writeTextFileSync(golden, produced);
      let expected: string;
      try {
        expected = Deno.readTextFileSync(golden);
      } catch (err) {
        throw new Error(`Cannot read golden file "${golden.pathname}": run LACQUER_UPDATE_GOLDEN=1 deno task test`, {
          cause: err,
        });
      }
      strictEqual(produced, expected);
      // The output follows the ghost.json contract and is stable under a parse/serialize round trip.
      strictEqual(stringifyContract(parseGhostJson(produced)), produced);
      // Object arrival order does not matter.
      const reordered = { services: shuffled(cluster.services), endpointSlices: shuffled(cluster.endpointSlices) };
      strictEqual(stringifyContract(mergeEndpoints(routing, reordered)), produced);
    });
  }
});

Deno.test("referencedNamespaces() lists the namespaces of every Service backend, sorted and unique", () => {
  const routing = parseRoutingJson(
    Deno.readTextFileSync(new URL("weighted_groups_and_filters.routing.json", DIR)),
  );
  deepStrictEqual(referencedNamespaces(routing), ["payments", "prod"]);
});

Deno.test("referencedNamespaces() includes the namespaces of mirror backends", () => {
  const routing = parseRoutingJson(Deno.readTextFileSync(new URL("mirrors_resolved.routing.json", DIR)));
  deepStrictEqual(referencedNamespaces(routing), ["audit", "shop"]);
});

Deno.test("mergeEndpoints() lists the Gateway Service's ready pods as peers when the cache is clustered", () => {
  const routing = parseRoutingJson(JSON.stringify({
    version: 1,
    vhosts: {},
    cluster: { service: { namespace: "gw-ns", name: "gw-lacquer" } },
  }));
  const cluster = parseCluster(`
kind: Service
metadata: { namespace: gw-ns, name: gw-lacquer }
spec: { type: LoadBalancer, selector: { app: gw }, ports: [{ name: http, port: 80, protocol: TCP }] }
---
kind: EndpointSlice
metadata:
  namespace: gw-ns
  name: gw-lacquer-a
  labels: { kubernetes.io/service-name: gw-lacquer, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
  - { addresses: [10.0.0.9], conditions: { ready: true } }
  - { addresses: [10.0.0.10], conditions: { ready: false } }
  - { addresses: [10.0.0.2] }
`);
  const self = { address: "10.0.0.2", secret: "s".repeat(64) };
  deepStrictEqual(mergeEndpoints(routing, cluster, self).cluster, {
    self: { address: "10.0.0.2", port: 6092 },
    peers: [{ address: "10.0.0.2", port: 6092 }, { address: "10.0.0.9", port: 6092 }],
    secret: "s".repeat(64),
  });
  // Without the pod's identity (no POD_IP or admin token) the pod caches on its own.
  strictEqual(mergeEndpoints(routing, cluster).cluster, undefined);
  deepStrictEqual(referencedNamespaces(routing), ["gw-ns"]);
  strictEqual(parseGhostJson(stringifyContract(mergeEndpoints(routing, cluster, self))).cluster?.peers.length, 2);
  // The incremental builder writes the same text.
  const builder = new GhostJsonBuilder();
  builder.update({ shards: [routing], endpoints: indexEndpoints(cluster), self });
  strictEqual(builder.text(), stringifyContract(mergeEndpoints(routing, cluster, self)));
});

Deno.test("mergeEndpoints() presents the Gateway's backend client certificate on TLS groups only", () => {
  const routing = parseRoutingJson(Deno.readTextFileSync(new URL("backend_tls.routing.json", DIR)));
  const cluster = parseCluster(Deno.readTextFileSync(new URL("backend_tls.endpointslices.yaml", DIR)));
  const clientCertificate = { certificate: "CERT", key: "KEY" };
  const ghost = mergeEndpoints(routing, { ...cluster, backendClientCertificate: clientCertificate });
  const backends = ghost.vhosts["app.example.com"].routes[0].backends.map((b) => ghost.backends![b.backend!]);
  deepStrictEqual(backends.map((b) => b.transport?.tls?.clientCertificate), [
    clientCertificate,
    clientCertificate,
    undefined,
  ]);
});

/** A routing.json with each backend group's inline `caCertificates` moved to the document's `caBundles`. */
function withCaBundles(routing: RoutingJson): RoutingJson {
  const caBundles: Record<string, string> = {};
  const moved = structuredClone(routing);
  for (const vhost of Object.values(moved.vhosts)) {
    for (const route of vhost.routes) {
      for (const backend of [...route.backends, ...(route.mirrors ?? []).map((m) => m.backend)]) {
        const pem = backend.tls?.caCertificates;
        if (pem === undefined) continue;
        const { hostname, caCertificates: _, ...names } = backend.tls!;
        caBundles[contentHash(pem)] = pem;
        backend.tls = { hostname, caBundle: contentHash(pem), ...names };
      }
    }
  }
  return parseRoutingJson(JSON.stringify({ ...moved, caBundles }));
}

Deno.test("mergeEndpoints() and GhostJsonBuilder write a CA bundle a group names as its caCertificates", () => {
  const inline = parseRoutingJson(Deno.readTextFileSync(new URL("backend_tls.routing.json", DIR)));
  const cluster = parseCluster(Deno.readTextFileSync(new URL("backend_tls.endpointslices.yaml", DIR)));
  const bundled = withCaBundles(inline);
  strictEqual(Object.keys(bundled.caBundles ?? {}).length, 1, "the fixture's groups share one bundle");
  // The entries' keys name the bundle (short, whatever its size); the entries carry its certificates.
  const entries = (routing: RoutingJson) => Object.values(mergeEndpoints(routing, cluster).backends ?? {});
  deepStrictEqual(entries(bundled), entries(inline), "ghost.json carries no bundle table");
  const expected = stringifyContract(mergeEndpoints(bundled, cluster));
  match(expected, /"caCertificates":"-----BEGIN/);
  const builder = new GhostJsonBuilder();
  builder.update({ shards: [bundled], endpoints: indexEndpoints(cluster) });
  strictEqual(builder.text(), expected);
});

Deno.test("inlineCaBundle() gives a group whose bundle is missing its reason instead of its Service: 500, not HTTP", () => {
  const backend = {
    weight: 3,
    filters: [],
    service: { namespace: "a", name: "api", port: 443 },
    tls: { hostname: "api.internal", caBundle: `sha256:${"0".repeat(64)}` },
  };
  deepStrictEqual(inlineCaBundle(backend, new Map()), {
    weight: 3,
    filters: [],
    unresolved: `The CA bundle "sha256:${"0".repeat(64)}" is missing from routing.json`,
  });
  deepStrictEqual(inlineCaBundle(backend, new Map([[`sha256:${"0".repeat(64)}`, "PEM"]])).tls, {
    hostname: "api.internal",
    caCertificates: "PEM",
  });
});
