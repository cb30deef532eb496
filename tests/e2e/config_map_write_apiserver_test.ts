// What the API server does when a patch (an Update) and server-side apply write the same ConfigMap: the facts that
// keep the operator's routing ConfigMaps on server-side apply (config_map_write_bench_results.md, "Reading").
import { deepEqual, rejects } from "node:assert/strict";
import { clusterAvailable, createTestNamespace, useCluster } from "../cluster/mod.ts";
import { KubeApiError, type KubeObject } from "../../internal/kube/mod.ts";
import { writeRequest } from "./config_map_write.ts";

Deno.test({
  name:
    "a key a strategic merge patch changed survives a later apply that leaves it out; a new owner's patch is refused",
  ignore: !clusterAvailable(),
}, async () => {
  await using ns = await createTestNamespace(await useCluster());
  const { client } = ns;
  const path = `/api/v1/namespaces/${ns.name}/configmaps/x`;
  const create = (name: string) =>
    client.request<KubeObject>(`/api/v1/namespaces/${ns.name}/configmaps`, {
      method: "POST",
      body: { metadata: { name } },
    });
  const [first, second] = [await create("gateway-1"), await create("gateway-2")];
  const owner = (o: KubeObject) => [{
    apiVersion: "v1",
    kind: "ConfigMap",
    name: o.metadata.name,
    uid: o.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  }];
  const object = (data: Record<string, string>, ownerReferences: unknown[]) => ({
    metadata: { name: "x", namespace: ns.name, labels: {}, annotations: {}, ownerReferences },
    data,
  });
  const write = (method: "apply" | "strategic-all", data: Record<string, string>, ownerReferences = owner(first)) =>
    client.request<KubeObject>(path, writeRequest(method, object({}, []), object(data, ownerReferences), ""));

  await write("apply", { "routing.json": "1", "main.vcl": "v" });
  // a route change by patch: the changed key passes from the apply's field set to the patch's (an Update)
  await write("strategic-all", { "routing.json": "2", "main.vcl": "v" });
  // the routing becomes sharded, written by apply (an operator that applies, a rollback): routing.json is not ours
  // in the apply's eyes any longer, so it stays beside the manifest
  const after = await write("apply", { "routing-shards.json": "m", "main.vcl": "v" });
  deepEqual(after.data, { "routing.json": "2", "routing-shards.json": "m", "main.vcl": "v" });
  // a Gateway deleted and made again (a new uid) while its children are there: the patch merges owner references by
  // uid, and two controllers are invalid; the apply replaces the one it owns
  await rejects(
    write("strategic-all", { "main.vcl": "v" }, owner(second)),
    (e) => e instanceof KubeApiError && e.code === 422,
  );
  const owned = await write("apply", { "routing-shards.json": "m", "main.vcl": "v" }, owner(second));
  const references = owned.metadata.ownerReferences as { uid: string }[];
  deepEqual(references.map((r) => r.uid), [second.metadata.uid]);
});
