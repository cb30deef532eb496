import { deepStrictEqual, equal, notStrictEqual, strictEqual } from "node:assert/strict";
import { createLogger } from "../internal/log.ts";
import { clusterAvailable, createTestNamespace, useCluster } from "../tests/cluster/mod.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import { applyObject, collections, testEndpointSlice, testService } from "./_test_cluster_fixtures.ts";
import { EndpointsWatcher } from "./endpoints_watcher.ts";

Deno.test({
  name: "EndpointsWatcher indexes by Service and replaces the entry of the one Service a change concerns",
  ignore: !clusterAvailable(),
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await using ns = await createTestNamespace(await useCluster());
  const { services, slices } = collections(ns);
  for (const name of ["a", "b"]) {
    await applyObject(ns, services, name, testService());
    await applyObject(ns, slices, `${name}-1`, testEndpointSlice(`${name}-1`, name, ["10.0.0.1"]));
  }
  const watcher = new EndpointsWatcher(ns.client, { onChange: () => {}, log: createLogger({ level: "error" }) });
  try {
    watcher.setNamespaces([ns.name]);
    const [a, b] = [`${ns.name}/a`, `${ns.name}/b`];
    await eventually(() => equal(watcher.index().get(b)?.slices.length, 1));
    await eventually(() => equal(watcher.index().get(a)?.slices.length, 1));
    watcher.takeChanged();
    const [entryA, entryB] = [watcher.index().get(a)!, watcher.index().get(b)!];
    equal(entryA.service?.metadata.name, "a");

    // a's slice changes: a's entry is replaced, b's stays the same object
    await applyObject(ns, slices, "a-1", testEndpointSlice("a-1", "a", ["10.0.0.2"]));
    await eventually(() => equal(watcher.index().get(a)?.slices[0].endpoints[0].addresses[0], "10.0.0.2"));
    deepStrictEqual([...watcher.takeChanged()], [a]);
    notStrictEqual(watcher.index().get(a), entryA);
    strictEqual(watcher.index().get(b), entryB);

    // a slice moved to another Service leaves the first and joins the second
    await applyObject(ns, slices, "a-1", testEndpointSlice("a-1", "b", ["10.0.0.3"]));
    await eventually(() => equal(watcher.index().get(b)?.slices.length, 2));
    equal(watcher.index().get(a)?.slices.length, 0);
    deepStrictEqual([...watcher.takeChanged()].sort(), [a, b]);

    // the Service gone and no slice naming it: no entry
    await ns.client.request(`${services}/a`, { method: "DELETE" });
    await eventually(() => equal(watcher.index().has(a), false));
    deepStrictEqual([...watcher.takeChanged()], [a]);

    // a namespace no longer watched leaves the index
    watcher.setNamespaces([]);
    equal(watcher.index().size, 0);
    deepStrictEqual([...watcher.takeChanged()], [b]);
  } finally {
    await watcher.stop();
  }
});
