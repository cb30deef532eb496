import { equal, notEqual } from "node:assert/strict";
import type { ChildObject } from "./children.ts";
import { desiredHash } from "./children_writer.ts";

function configMap(data: string, routingHash: string): ChildObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "gw-lacquer",
      namespace: "ns",
      labels: {},
      annotations: { "lacquer.dev/routing-hash": routingHash, "lacquer.dev/vcl-hash": "sha256:v" },
    },
    data: { "routing.json": data, "main.vcl": "vcl 4.1;" },
  };
}

Deno.test("desiredHash() follows a ConfigMap's content hashes instead of hashing its data", () => {
  equal(desiredHash(configMap("a", "sha256:1")), desiredHash(configMap("b", "sha256:1")));
  notEqual(desiredHash(configMap("a", "sha256:1")), desiredHash(configMap("a", "sha256:2")));
});
