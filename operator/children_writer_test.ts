import { deepEqual, equal, match, notEqual } from "node:assert/strict";
import { KubeApiError, type KubeClient, type KubeObject, type KubeRequestOptions } from "../internal/kube/mod.ts";
import { createLogger } from "../internal/log.ts";
import { gatewaySchema } from "./api_types.ts";
import { buildChildren, type ChildObject } from "./children.ts";
import { ChildrenWriter, desiredHash } from "./children_writer.ts";
import { resolveParameters } from "./gateway_parameters.ts";
import { validateListeners } from "./listeners.ts";
import { emptySnapshot } from "./snapshot.ts";
import { indexSnapshot } from "./snapshot_index.ts";

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

Deno.test("ChildrenWriter.sync() applies the RBAC children, backend namespaces' too, before the ConfigMap", async () => {
  const gateway = gatewaySchema.parse({
    metadata: { name: "gw", namespace: "ns", uid: "u1" },
    spec: { gatewayClassName: "lacquer", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
  });
  const children = buildChildren({
    gateway,
    listeners: validateListeners(gateway, indexSnapshot(emptySnapshot(), "lacquer.dev/gateway-controller")),
    parameters: resolveParameters([], { image: "lacquer:1" }),
    routingJson: "{}\n",
    mainVcl: "vcl 4.1;\n",
    backendNamespaces: ["apps"],
  });
  const applied: string[] = [];
  const client = {
    request(path: string, options: KubeRequestOptions = {}) {
      if (options.method === "PATCH") applied.push(path.split("/").slice(-3).join("/"));
      return Promise.resolve({});
    },
  } as unknown as KubeClient;
  const writer = new ChildrenWriter(client, { raw: () => undefined, rawList: () => [] }, {
    log: createLogger({ sink: () => {} }),
  });
  await writer.sync("ns/gw", children);
  deepEqual(applied, [
    "ns/serviceaccounts/gw-lacquer",
    "ns/roles/gw-lacquer",
    "ns/rolebindings/gw-lacquer",
    "apps/roles/lacquer-gw-ns-gw",
    "apps/rolebindings/lacquer-gw-ns-gw",
    "ns/configmaps/gw-lacquer",
    "ns/services/gw",
    "ns/deployments/gw",
    "ns/networkpolicies/gw",
  ]);
});

Deno.test("ChildrenWriter.sync() creates the admin token Secret once with a random token and never rewrites it", async () => {
  const secret: ChildObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "gw-lacquer-admin", namespace: "ns", labels: {} },
    type: "Opaque",
  };
  const requests: { method: string; path: string; body: unknown }[] = [];
  let conflict = false;
  const client = {
    request(path: string, options: KubeRequestOptions = {}) {
      requests.push({ method: options.method ?? "GET", path, body: options.body });
      if (conflict) return Promise.reject(new KubeApiError("exists", { code: 409, reason: "AlreadyExists" }));
      return Promise.resolve({});
    },
  } as unknown as KubeClient;
  const cached = new Map<string, KubeObject>();
  const writer = new ChildrenWriter(client, { raw: (_, key) => cached.get(key), rawList: () => [] }, {
    log: createLogger({ sink: () => {} }),
  });
  equal(await writer.sync("ns/gw", [secret]), 1);
  equal(await writer.sync("ns/gw", [secret]), 1);
  const [a, b] = requests.map((r) => r.body as { stringData: { token: string }; metadata: unknown });
  deepEqual(requests.map((r) => `${r.method} ${r.path}`), [
    "POST /api/v1/namespaces/ns/secrets",
    "POST /api/v1/namespaces/ns/secrets",
  ]);
  match(a.stringData.token, /^[A-Za-z0-9_-]{43}$/);
  notEqual(a.stringData.token, b.stringData.token);
  deepEqual(a.metadata, secret.metadata, "no desired-hash annotation: it is never compared or re-applied");
  // Once it exists (in the cache, or only on the server: 409) it is left alone.
  cached.set("ns/gw-lacquer-admin", { metadata: { name: "gw-lacquer-admin", namespace: "ns" } });
  equal(await writer.sync("ns/gw", [secret]), 0);
  equal(requests.length, 2);
  cached.clear();
  conflict = true;
  equal(await writer.sync("ns/gw", [secret]), 0);
});
