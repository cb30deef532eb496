import { deepStrictEqual, ok } from "node:assert/strict";
import { shardOfHost } from "../ghost/contract/mod.ts";
import { CONTROLLER_NAME } from "../internal/names.ts";
import type { HttpRoute } from "./api_types.ts";
import { attachmentListeners, attachRoutes, attachToGateway } from "./attach_routes.ts";
import { validateListeners } from "./listeners.ts";
import { groupedVhosts, RouteTable } from "./route_table.ts";
import { parseSnapshot, type Snapshot } from "./snapshot.ts";
import { indexSnapshot } from "./snapshot_index.ts";
import { TranslationMemo } from "./translation_memo.ts";
import { buildVhosts, vhostContext } from "./vhosts.ts";

// The route table's work after a change is the change's: the routes it touches and their hostnames, whatever the
// number of routes on the Gateway. (That its results equal a fresh translation is translate_incremental_test.ts.)

const ROUTES = 200;
const HOSTS = 20;

function route(i: number, backend = `svc${i % 2}`): Record<string, unknown> {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: `r${i}`, namespace: "ns", creationTimestamp: `2026-01-01T00:00:00Z` },
    spec: {
      parentRefs: [{ name: "gw" }],
      hostnames: [`h${i % HOSTS}.example`],
      rules: [{
        matches: [{ path: { type: "PathPrefix", value: `/r${i}` } }],
        backendRefs: [{ name: backend, port: 80 }],
      }],
    },
  };
}

function others(svc1Port = 80): Record<string, unknown>[] {
  return [
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "ns" },
      spec: { gatewayClassName: "lacquer", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
    },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "ns" } },
    ...[80, svc1Port].map((port, i) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: `svc${i}`, namespace: "ns" },
      spec: { ports: [{ port }] },
    })),
  ];
}

/** A table over a snapshot's routes, updated the way translation updates it. */
function harness() {
  const memo = new TranslationMemo();
  let table: RouteTable | undefined;
  const update = (snapshot: Snapshot) => {
    const index = indexSnapshot(snapshot, CONTROLLER_NAME);
    const gateway = snapshot.gateways[0];
    const listeners = validateListeners(gateway, index);
    const context = { key: "ns/gw", gateway, listeners, index, memo };
    const text = attachmentListeners(context);
    table ??= new RouteTable({ key: "ns/gw", gateway: gateway.spec, listeners: text });
    const work = table.update(
      snapshot.httpRoutes,
      (r: HttpRoute) => attachToGateway(r, context, text),
      index,
      { ...vhostContext(listeners), policies: [] },
    );
    // what a translation without the table builds
    const fresh = attachRoutes(snapshot.httpRoutes, { ...context, memo: new TranslationMemo() });
    deepStrictEqual(table.attached, fresh);
    deepStrictEqual(table.vhosts(), buildVhosts(listeners, fresh));
    return work;
  };
  return Object.assign(update, { table: () => table! });
}

Deno.test("RouteTable.update() attaches again only the changed route and rebuilds only its hostnames", () => {
  const update = harness();
  const raw = Array.from({ length: ROUTES }, (_, i) => route(i));
  let snapshot = parseSnapshot([...others(), ...raw]);
  deepStrictEqual(update(snapshot), { routes: ROUTES, hosts: HOSTS });
  deepStrictEqual(update(snapshot), { routes: 0, hosts: 0 });
  // an update
  const changed = parseSnapshot([{ ...route(7), spec: { ...route(7).spec as object, hostnames: ["h3.example"] } }]);
  snapshot = { ...snapshot, httpRoutes: snapshot.httpRoutes.map((r, i) => i === 7 ? changed.httpRoutes[0] : r) };
  deepStrictEqual(update(snapshot), { routes: 1, hosts: 2 }, "it moved from h7 to h3");
  // a creation, then its deletion
  const created = parseSnapshot([route(ROUTES)]).httpRoutes[0];
  deepStrictEqual(update({ ...snapshot, httpRoutes: [...snapshot.httpRoutes, created] }), { routes: 1, hosts: 1 });
  deepStrictEqual(update(snapshot), { routes: 0, hosts: 1 });
});

Deno.test("RouteTable.update() attaches again only the routes reading a changed Service", () => {
  const update = harness();
  const raw = Array.from({ length: ROUTES }, (_, i) => route(i));
  const snapshot = parseSnapshot([...others(), ...raw]);
  update(snapshot);
  // svc1's port changes: the odd routes read it, and they serve the odd hostnames
  const services = parseSnapshot(others(81)).services;
  deepStrictEqual(update({ ...snapshot, services: [snapshot.services[0], services[1]] }), {
    routes: ROUTES / 2,
    hosts: HOSTS / 2,
  });
});

Deno.test("RouteTable.statuses() computes the entries of the changed routes only, in precedence order", () => {
  const update = harness();
  let snapshot = parseSnapshot([...others(), ...Array.from({ length: ROUTES }, (_, i) => route(i))]);
  const computed: string[] = [];
  // r5 has two entries (as with a ListenerSet it names) while `two` says so
  let two = false;
  const compute = (attached: { route: HttpRoute }) => {
    const name = attached.route.metadata.name;
    computed.push(name);
    const entry = { key: `ns/${name}`, gateway: "ns/gw", parents: [] };
    return two && name === "r5" ? [entry, { ...entry, gateway: "ns/set", kind: "ListenerSet" as const }] : [entry];
  };
  const expected = (routes: readonly HttpRoute[]) =>
    routes.map((r) => `ns/${r.metadata.name}`).sort((a, b) => (`${a}\0` < `${b}\0` ? -1 : 1));
  const keys = () => update.table().statuses(compute).map((s) => s.key);
  update(snapshot);
  deepStrictEqual(keys(), expected(snapshot.httpRoutes));
  deepStrictEqual(computed.length, ROUTES);
  // a creation, an update and a deletion: only the new attachments are computed, the others keep their place
  const created = parseSnapshot([route(ROUTES)]).httpRoutes[0];
  const changed = parseSnapshot([{ ...route(7), spec: { ...route(7).spec as object, hostnames: ["h3.example"] } }]);
  snapshot = {
    ...snapshot,
    httpRoutes: [...snapshot.httpRoutes.filter((r) => r.metadata.name !== "r9"), created].map((r) =>
      r.metadata.name === "r7" ? changed.httpRoutes[0] : r
    ),
  };
  computed.length = 0;
  update(snapshot);
  deepStrictEqual(keys(), expected(snapshot.httpRoutes));
  deepStrictEqual(computed.sort(), [`r${ROUTES}`, "r7"]);
  // a route with two entries: all of them, in order
  two = true;
  const r5 = parseSnapshot([{ ...route(5), spec: { ...route(5).spec as object, hostnames: ["h4.example"] } }]);
  snapshot = {
    ...snapshot,
    httpRoutes: snapshot.httpRoutes.map((r) => r.metadata.name === "r5" ? r5.httpRoutes[0] : r),
  };
  update(snapshot);
  const all = expected(snapshot.httpRoutes);
  all.splice(all.indexOf("ns/r5") + 1, 0, "ns/r5");
  deepStrictEqual(keys(), all);
  deepStrictEqual(keys(), all, "asked twice");
});

Deno.test("RouteTable.shardGroups() groups again only the shards of the hostnames a change rebuilt", () => {
  const update = harness();
  let snapshot = parseSnapshot([...others(), ...Array.from({ length: ROUTES }, (_, i) => route(i))]);
  update(snapshot);
  // what shardRouting groups the whole table into
  const fresh = (count: number) => {
    const groups = new Map<number, Record<string, unknown>>();
    for (const [host, vhost] of Object.entries(update.table().vhosts())) {
      const k = shardOfHost(host, count);
      groups.set(k, { ...groups.get(k), [host]: vhost });
    }
    return new Map([...groups].sort(([a], [b]) => a - b));
  };
  const sorted = (groups: ReadonlyMap<number, unknown>) => new Map([...groups].sort(([a], [b]) => a - b));
  const before = new Map(update.table().shardGroups(4, shardOfHost));
  deepStrictEqual(sorted(before), fresh(4));
  // r7 moves from h7 to a hostname of its own
  const moved = parseSnapshot([{ ...route(7), spec: { ...route(7).spec as object, hostnames: ["own.example"] } }]);
  snapshot = { ...snapshot, httpRoutes: snapshot.httpRoutes.map((r, i) => i === 7 ? moved.httpRoutes[0] : r) };
  update(snapshot);
  const after = update.table().shardGroups(4, shardOfHost);
  deepStrictEqual(sorted(after), fresh(4));
  const touched = new Set([shardOfHost("h7.example", 4), shardOfHost("own.example", 4)]);
  for (const [k, group] of after) ok((group === before.get(k)) === !touched.has(k), `shard ${k}`);
  // the groups together are the table's vhosts, in the same order
  const whole = update.table().vhosts();
  deepStrictEqual(Object.entries(groupedVhosts(after)), Object.entries(whole));
  // another count: grouped again whole
  deepStrictEqual(sorted(update.table().shardGroups(8, shardOfHost)), fresh(8));
});

Deno.test("RouteTable.update() finds a change to a route created by the update before, once the walk keeps routes without reading them", () => {
  const update = harness();
  const raw = Array.from({ length: ROUTES }, (_, i) => route(i));
  let snapshot = parseSnapshot([...others(), ...raw]);
  update(snapshot);
  update(snapshot);
  // created at the end, then left as it is by a change elsewhere (a walk that trusts its entries)
  const created = parseSnapshot([route(ROUTES)]).httpRoutes[0];
  snapshot = { ...snapshot, httpRoutes: [...snapshot.httpRoutes, created] };
  deepStrictEqual(update(snapshot), { routes: 1, hosts: 1 });
  deepStrictEqual(update(snapshot), { routes: 0, hosts: 0 });
  const moved = parseSnapshot([{ ...route(3), spec: { ...route(3).spec as object, hostnames: ["h5.example"] } }]);
  snapshot = { ...snapshot, httpRoutes: snapshot.httpRoutes.map((r, i) => i === 3 ? moved.httpRoutes[0] : r) };
  deepStrictEqual(update(snapshot), { routes: 1, hosts: 2 });
  // the created route changes: found, attached again, its hostnames rebuilt
  const changed = parseSnapshot([{
    ...route(ROUTES),
    spec: { ...route(ROUTES).spec as object, hostnames: ["h9.example"] },
  }]);
  snapshot = { ...snapshot, httpRoutes: [...snapshot.httpRoutes.slice(0, -1), changed.httpRoutes[0]] };
  deepStrictEqual(update(snapshot), { routes: 1, hosts: 2 });
  // and goes
  deepStrictEqual(update({ ...snapshot, httpRoutes: snapshot.httpRoutes.slice(0, -1) }), { routes: 0, hosts: 1 });
});
