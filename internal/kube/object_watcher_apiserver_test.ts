// watchObject() against the real API server of the local cluster (tests/cluster).
import { equal, ok } from "node:assert/strict";
import { clusterAvailable, createTestNamespace, eventually, useCluster } from "../../tests/cluster/mod.ts";
import { createLogger } from "../log.ts";
import { watchObject } from "./object_watcher.ts";

Deno.test({
  name: "watchObject() follows one object by name and decodes each version once",
  ignore: !clusterAvailable(),
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  const decoded: string[] = [];
  let changes = 0;
  const watcher = watchObject(ns.client, {
    resource: "configmaps",
    namespace: ns.name,
    name: "watched",
    decode: (object) => {
      const v = (object as { data?: { v?: string } }).data?.v ?? "";
      decoded.push(v);
      return v;
    },
    onChange: () => changes++,
    log: createLogger({ level: "error" }),
  });
  const path = `/api/v1/namespaces/${ns.name}/configmaps`;
  try {
    await watcher.synced;
    equal(watcher.current(), undefined);
    await ns.client.request(path, { method: "POST", body: { metadata: { name: "other" }, data: { v: "x" } } });
    await ns.client.request(path, { method: "POST", body: { metadata: { name: "watched" }, data: { v: "1" } } });
    await eventually(() => equal(watcher.current(), "1"));
    equal(watcher.current(), "1");
    await ns.client.request(`${path}/watched`, {
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: { data: { v: "2" } },
    });
    await eventually(() => equal(watcher.current(), "2"));
    equal(decoded.join(), "1,2", "each version decoded once, the other object never");
    ok(changes >= 2);
    ok(watcher.healthy());
    await ns.client.request(`${path}/watched`, { method: "DELETE" });
    await eventually(() => equal(watcher.current(), undefined));
  } finally {
    await watcher.stop();
  }
});
