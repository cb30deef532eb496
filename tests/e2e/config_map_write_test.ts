import { deepEqual, equal } from "node:assert/strict";
import { type RoutingConfigMap, writeRequest } from "./config_map_write.ts";

const metadata = (hash: string) => ({
  name: "gw-lacquer",
  namespace: "ns",
  labels: { "app.kubernetes.io/managed-by": "lacquer" },
  annotations: { "lacquer.dev/desired-hash": hash },
  ownerReferences: [],
});
const before: RoutingConfigMap = { metadata: metadata("a"), data: { "main.vcl": "vcl", "routing-shards.json": "1" } };
const after: RoutingConfigMap = { metadata: metadata("b"), data: { "main.vcl": "vcl", "routing-shards.json": "2" } };

Deno.test("writeRequest: apply sends the whole object, forced, under the operator's field manager", () => {
  const request = writeRequest("apply", before, after, "7");
  equal(request.method, "PATCH");
  equal(request.contentType, "application/apply-patch+yaml");
  deepEqual(request.query, { fieldManager: "lacquer-operator", force: true });
  deepEqual(request.body, { apiVersion: "v1", kind: "ConfigMap", ...after });
});

Deno.test("writeRequest: a PUT sends the whole object with the resourceVersion last answered", () => {
  const request = writeRequest("put", before, after, "7");
  equal(request.method, "PUT");
  deepEqual(request.body, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { ...after.metadata, resourceVersion: "7" },
    data: after.data,
  });
});

Deno.test("writeRequest: the patches send the annotations and only the keys that changed", () => {
  for (const [method, type] of [["merge", "merge-patch"], ["strategic", "strategic-merge-patch"]] as const) {
    const request = writeRequest(method, before, after, "7");
    equal(request.contentType, `application/${type}+json`);
    deepEqual(request.body, {
      metadata: { annotations: after.metadata.annotations },
      data: { "routing-shards.json": "2" },
    });
  }
});

Deno.test("writeRequest: strategic-all sends every field the apply sets, every data key included", () => {
  const request = writeRequest("strategic-all", before, after, "7");
  equal(request.contentType, "application/strategic-merge-patch+json");
  const { labels, annotations, ownerReferences } = after.metadata;
  deepEqual(request.body, { metadata: { labels, annotations, ownerReferences }, data: after.data });
});
