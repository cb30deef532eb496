import { deepEqual, equal, match, notEqual, ok, rejects } from "node:assert/strict";
import { KubeApiError, type KubeClient, type KubeObject, type KubeRequestOptions } from "../internal/kube/mod.ts";
import { createLogger } from "../internal/log.ts";
import { GATEWAY_NAME_ANNOTATION } from "../internal/names.ts";
import { gatewaySchema } from "./api_types.ts";
import { buildChildren, type ChildObject } from "./children.ts";
import { ChildrenWriter, describeConflicts, desiredHash, foreignOwner } from "./children_writer.ts";
import { resolveParameters } from "./gateway_parameters.ts";
import { type RoutingGeneration, RoutingSequence } from "./routing_pusher.ts";
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
      if (path.endsWith("/horizontalpodautoscalers")) return Promise.resolve({ items: [] });
      if (options.method === undefined) return Promise.reject(new KubeApiError("not found", { code: 404 }));
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
    "ns/rolebindings/gw-lacquer-pod",
    "apps/roles/lacquer-gw-ns.gw",
    "apps/rolebindings/lacquer-gw-ns.gw",
    "ns/configmaps/gw-lacquer",
    "ns/services/gw",
    "ns/deployments/gw",
    "ns/networkpolicies/gw",
    "ns/poddisruptionbudgets/gw",
  ]);
});

const ours = { "app.kubernetes.io/managed-by": "lacquer", "gateway.networking.k8s.io/gateway-name": "gw" };

Deno.test("ChildrenWriter.sync() creates the admin token Secret once with a random token and never rewrites it", async () => {
  const secret: ChildObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "gw-lacquer-admin", namespace: "ns", labels: ours },
    type: "Opaque",
  };
  const requests: { method: string; path: string; body: unknown }[] = [];
  let onServer: KubeObject | undefined = undefined;
  const client = {
    request(path: string, options: KubeRequestOptions = {}) {
      requests.push({ method: options.method ?? "GET", path, body: options.body });
      if (options.method === undefined) {
        return onServer ? Promise.resolve(onServer) : Promise.reject(new KubeApiError("gone", { code: 404 }));
      }
      if (onServer) return Promise.reject(new KubeApiError("exists", { code: 409, reason: "AlreadyExists" }));
      return Promise.resolve({});
    },
  } as unknown as KubeClient;
  const cached = new Map<string, KubeObject>();
  const writer = new ChildrenWriter(client, { raw: (_, key) => cached.get(key), rawList: () => [] }, {
    log: createLogger({ sink: () => {} }),
  });
  deepEqual(await writer.sync("ns/gw", [secret]), { writes: 1, conflicts: [] });
  deepEqual(await writer.sync("ns/gw", [secret]), { writes: 1, conflicts: [] });
  const posts = requests.filter((r) => r.method === "POST");
  const [a, b] = posts.map((r) => r.body as { stringData: { token: string }; metadata: unknown });
  deepEqual(requests.map((r) => `${r.method} ${r.path}`), [
    "GET /api/v1/namespaces/ns/secrets/gw-lacquer-admin",
    "POST /api/v1/namespaces/ns/secrets",
    "GET /api/v1/namespaces/ns/secrets/gw-lacquer-admin",
    "POST /api/v1/namespaces/ns/secrets",
  ]);
  match(a.stringData.token, /^[A-Za-z0-9_-]{43}$/);
  notEqual(a.stringData.token, b.stringData.token);
  deepEqual(a.metadata, secret.metadata, "no desired-hash annotation: it is never compared or re-applied");
  // Once it exists (in the cache, or only on the server) it is left alone.
  const existing = { metadata: { name: "gw-lacquer-admin", namespace: "ns", labels: ours } };
  cached.set("ns/gw-lacquer-admin", existing);
  deepEqual(await writer.sync("ns/gw", [secret]), { writes: 0, conflicts: [] });
  equal(requests.length, 4);
  cached.clear();
  onServer = existing;
  deepEqual(await writer.sync("ns/gw", [secret]), { writes: 0, conflicts: [] });
  equal(requests.filter((r) => r.method === "POST").length, 2);
});

Deno.test("ChildrenWriter.sync() leaves objects that are not the Gateway's alone and reports them", async () => {
  const child = (kind: string, name: string): ChildObject => ({
    apiVersion: "v1",
    kind,
    metadata: { name, namespace: "ns", labels: ours },
  });
  const server = new Map<string, KubeObject>([
    // An application's Service under the Gateway's name: not in the caches, which hold Lacquer's objects only.
    ["services/web", { metadata: { name: "web", namespace: "ns", labels: { app: "web" } } }],
  ]);
  const cached = new Map<string, KubeObject>([
    // Another Gateway's child (Gateway "other/web" keeps its remote Role here under the same name).
    ["ns/web-lacquer", {
      metadata: {
        name: "web-lacquer",
        namespace: "ns",
        labels: { ...ours, "gateway.networking.k8s.io/gateway-name": "x", "lacquer.dev/gateway-namespace": "other" },
      },
    }],
  ]);
  const writes: string[] = [];
  const client = {
    request(path: string, options: KubeRequestOptions = {}) {
      const key = path.split("/").slice(-2).join("/");
      if (options.method === undefined) {
        const found = server.get(key);
        return found ? Promise.resolve(found) : Promise.reject(new KubeApiError("gone", { code: 404 }));
      }
      writes.push(`${options.method} ${key}`);
      return Promise.resolve({});
    },
  } as unknown as KubeClient;
  const writer = new ChildrenWriter(client, { raw: (_, key) => cached.get(key), rawList: () => [] }, {
    log: createLogger({ sink: () => {} }),
  });
  const result = await writer.sync("ns/web", [
    child("ConfigMap", "web-lacquer"),
    child("Service", "web"),
    child("NetworkPolicy", "web"),
  ]);
  deepEqual(writes, ["PATCH networkpolicies/web"], "only the free name is applied");
  deepEqual(result.conflicts, [
    { kind: "ConfigMap", object: "ns/web-lacquer", owner: "a child of Gateway other/x" },
    { kind: "Service", object: "ns/web", owner: "not managed by Lacquer" },
  ]);
  match(describeConflicts(result.conflicts), /Service "ns\/web" \(not managed by Lacquer\)/);
  equal(foreignOwner({ metadata: { name: "web", namespace: "ns", labels: ours } }, "ns/gw"), undefined);
  // Long names: the label holds the name cut with a hash, the annotation the whole name; a Gateway whose cut name
  // meets another's (same label value) is still told apart by the annotation.
  const [long, other] = [`${"g".repeat(60)}-a`, `${"g".repeat(60)}-b`];
  const longChild = buildChildren({
    gateway: gatewaySchema.parse({
      metadata: { name: long, namespace: "ns" },
      spec: { gatewayClassName: "c", listeners: [] },
    }),
    listeners: [],
    parameters: resolveParameters([], { image: "lacquer:1" }),
    routingJson: "{}\n",
    mainVcl: "vcl 4.1;\n",
    backendNamespaces: [],
  })[0];
  equal(foreignOwner(longChild, `ns/${long}`), undefined);
  equal(foreignOwner(longChild, `ns/${other}`), `a child of Gateway ns/${long}`);
  const annotations = { [GATEWAY_NAME_ANNOTATION]: other };
  equal(
    foreignOwner({ metadata: { ...longChild.metadata, annotations } }, `ns/${long}`),
    `a child of Gateway ns/${other}`,
  );
});

Deno.test("ChildrenWriter.sync() leaves a Deployment's replicas to the HorizontalPodAutoscaler that scales it", async () => {
  const deployment: ChildObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "gw", namespace: "ns", labels: ours },
    spec: { replicas: 2, selector: {} },
  };
  let targets = "other";
  const bodies: { spec: Record<string, unknown> }[] = [];
  const client = {
    request(path: string, options: KubeRequestOptions = {}) {
      if (path.endsWith("/horizontalpodautoscalers")) {
        return Promise.resolve({ items: [{ spec: { scaleTargetRef: { kind: "Deployment", name: targets } } }] });
      }
      if (options.method === undefined) return Promise.reject(new KubeApiError("gone", { code: 404 }));
      bodies.push(options.body as { spec: Record<string, unknown> });
      return Promise.resolve({});
    },
  } as unknown as KubeClient;
  const writer = new ChildrenWriter(client, { raw: () => undefined, rawList: () => [] }, {
    log: createLogger({ sink: () => {} }),
  });
  await writer.sync("ns/gw", [deployment]);
  targets = "gw";
  await writer.sync("ns/gw", [deployment]);
  deepEqual(bodies.map((b) => b.spec.replicas), [2, undefined]);
});

Deno.test("ChildrenWriter.prune() of a Gateway that is gone deletes only its children in other namespaces", async () => {
  const labels = { ...ours, "lacquer.dev/gateway-namespace": "ns" };
  const child = (kind: string, namespace: string, name: string): KubeObject => ({
    apiVersion: "v1",
    kind,
    metadata: { name, namespace, labels },
  });
  const cached: Record<string, KubeObject[]> = {
    Secret: [child("Secret", "ns", "gw-lacquer-tls")],
    RoleBinding: [child("RoleBinding", "ns", "gw-lacquer-operator"), child("RoleBinding", "certs", "lacquer-op-ns.gw")],
  };
  const deleted: string[] = [];
  const client = {
    request(path: string, options: KubeRequestOptions = {}) {
      if (options.method === "DELETE") deleted.push(path.split("/").slice(-3).join("/"));
      return Promise.resolve({});
    },
  } as unknown as KubeClient;
  const writer = new ChildrenWriter(client, { raw: () => undefined, rawList: (kind) => cached[kind] ?? [] }, {
    log: createLogger({ sink: () => {} }),
  });
  equal(await writer.prune("ns/gw", [], { elsewhereOnly: true }), 1);
  deepEqual(deleted, ["certs/rolebindings/lacquer-op-ns.gw"]);
  // a Gateway that is still there but no longer ours loses every child, its Secrets before the RoleBindings
  deleted.length = 0;
  equal(await writer.prune("ns/gw", []), 3);
  deepEqual(deleted, [
    "ns/secrets/gw-lacquer-tls",
    "ns/rolebindings/gw-lacquer-operator",
    "certs/rolebindings/lacquer-op-ns.gw",
  ]);
});

/** A routing.json shard's ConfigMap child of Gateway ns/gw. */
function shard(k: number, hash: string): ChildObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: `gw-lacquer-r${k}`,
      namespace: "ns",
      labels: { ...ours, "lacquer.dev/gateway-namespace": "ns" },
      annotations: { "lacquer.dev/routing-hash": hash },
    },
    data: { "routing.json": `{"shard":${k}}` },
  };
}

/** The manifest ConfigMap child of Gateway ns/gw. */
function manifest(hash: string): ChildObject {
  return { ...configMap("manifest", hash), metadata: { ...configMap("", hash).metadata, labels: ours } };
}

/**
 * An API server of ConfigMaps that answers each write after a millisecond (`fail` names an object whose next write
 * fails once), recording the writes as they start and as they succeed and the most under way at once; the cache is what it stores.
 */
function configMapServer(onRouting?: (gateway: string, generation: RoutingGeneration) => Promise<void> | void) {
  const stored = new Map<string, KubeObject>();
  const log: string[] = [];
  const state = { open: 0, most: 0, fail: "" };
  const client = {
    async request(path: string, options: KubeRequestOptions = {}) {
      if (options.method === undefined) throw new KubeApiError("not found", { code: 404 });
      const name = path.split("/").at(-1)!;
      state.open++;
      state.most = Math.max(state.most, state.open);
      log.push(`${options.method} ${name} start`);
      await new Promise((r) => setTimeout(r, 1));
      state.open--;
      if (state.fail === name) {
        state.fail = "";
        throw new KubeApiError("etcdserver: request timed out", { code: 500 });
      }
      log.push(`${options.method} ${name}`);
      if (options.method === "DELETE") return stored.delete(`ns/${name}`), {};
      const body = options.body as KubeObject;
      stored.set(`${body.metadata.namespace}/${body.metadata.name}`, body);
      return body;
    },
  } as unknown as KubeClient;
  const cache = {
    raw: (_: string, key: string) => stored.get(key),
    rawList: (kind: string) => kind === "ConfigMap" ? [...stored.values()] : [],
  };
  const writer = new ChildrenWriter(client, cache, {
    log: createLogger({ sink: () => {} }),
    onRouting,
    sequence: new RoutingSequence(() => 100),
  });
  const applied = () => log.filter((l) => l.startsWith("PATCH") && !l.endsWith(" start")).map((l) => l.slice(6));
  return { stored, log, state, writer, applied };
}

Deno.test("ChildrenWriter.sync() writes routing.json shards and their manifest a few at a time, only those that changed, and deletes old shards after the manifest", async () => {
  const { log, state, writer, applied } = configMapServer();
  const shards = Array.from({ length: 40 }, (_, k) => shard(k, `sha256:${k}`));
  await writer.sync("ns/gw", [...shards, manifest("sha256:m1")]);
  equal(applied().length, 41);
  ok(log.indexOf("PATCH gw-lacquer start") > log.indexOf("PATCH gw-lacquer-r39 start"), "the manifest last in");
  ok(state.most > 1 && state.most <= 8, `${state.most} writes at a time`);
  // a route change: its shard and the manifest at the same time
  log.length = 0;
  shards[7] = shard(7, "sha256:7b");
  await writer.sync("ns/gw", [...shards, manifest("sha256:m2")]);
  deepEqual(applied().sort(), ["gw-lacquer", "gw-lacquer-r7"], "unchanged shards are not written again");
  deepEqual(log.slice(0, 2).sort(), ["PATCH gw-lacquer start", "PATCH gw-lacquer-r7 start"], "both under way at once");
  // fewer shards: those the new manifest no longer names are deleted once it is written, not while
  log.length = 0;
  await writer.sync("ns/gw", [...shards.slice(0, 20), manifest("sha256:m3")]);
  const written = log.indexOf("PATCH gw-lacquer");
  ok(written >= 0 && log.findIndex((l) => l.startsWith("DELETE")) > written, log.join(", "));
  equal(log.filter((l) => l.startsWith("DELETE") && !l.endsWith(" start")).length, 20);
});

Deno.test("ChildrenWriter.sync() tells onRouting of each new routing generation before writing it, numbered as on the manifest", async () => {
  const told: { gateway: string; sequence: number; configMap: string; shards: string[]; written: boolean }[] = [];
  const { stored, writer } = configMapServer((gateway, g) => {
    told.push({
      gateway,
      sequence: g.sequence,
      configMap: g.configMap.metadata.name,
      shards: g.shards.map((s) => s.metadata.name),
      written: stored.has("ns/gw-lacquer"),
    });
  });
  const sequenceOf = () => stored.get("ns/gw-lacquer")?.metadata.annotations?.["lacquer.dev/routing-sequence"];
  const shards = Array.from({ length: 3 }, (_, k) => shard(k, `sha256:${k}`));
  await writer.sync("ns/gw", [...shards, manifest("sha256:m1")]);
  deepEqual(told, [{
    gateway: "ns/gw",
    sequence: 100,
    configMap: "gw-lacquer",
    shards: ["gw-lacquer-r0", "gw-lacquer-r1", "gw-lacquer-r2"],
    written: false,
  }]);
  equal(sequenceOf(), "100");
  // a route change: its shard, a number above the last
  shards[1] = shard(1, "sha256:1b");
  await writer.sync("ns/gw", [...shards, manifest("sha256:m2")]);
  deepEqual(told.slice(1).map((t) => [t.sequence, t.shards]), [[101, ["gw-lacquer-r1"]]]);
  equal(sequenceOf(), "101");
  // nothing changed: nothing told, nothing written
  await writer.sync("ns/gw", [...shards, manifest("sha256:m2")]);
  equal(told.length, 2);
  equal(sequenceOf(), "101");
  // another operator (a new leader whose clock is behind) wrote a higher number: the next one goes past it
  stored.get("ns/gw-lacquer")!.metadata.annotations!["lacquer.dev/routing-sequence"] = "5000";
  await writer.sync("ns/gw", [...shards, manifest("sha256:m3")]);
  deepEqual(told.at(-1)?.sequence, 5001);
  equal(sequenceOf(), "5001");
});

Deno.test("ChildrenWriter.sync() writes a new routing generation once the promise onRouting returned has settled", async () => {
  let release = () => {};
  const { log, writer, applied } = configMapServer(() => new Promise((resolve) => release = resolve));
  const synced = writer.sync("ns/gw", [shard(0, "sha256:0"), manifest("sha256:m1")]);
  await new Promise((resolve) => setTimeout(resolve, 20));
  deepEqual(log, [], "nothing written while the pods apply it");
  release();
  await synced;
  deepEqual(applied().sort(), ["gw-lacquer", "gw-lacquer-r0"]);
});

Deno.test("ChildrenWriter.sync(): a shard whose write fails while its manifest is written is repaired by the next sync, before any old shard goes", async () => {
  const { stored, log, state, writer, applied } = configMapServer();
  const shards = Array.from({ length: 4 }, (_, k) => shard(k, `sha256:${k}`));
  await writer.sync("ns/gw", [...shards, manifest("sha256:m1")]);
  // the next generation rewrites r2 and drops r3; the write of r2 fails, the manifest's succeeds meanwhile
  log.length = 0;
  state.fail = "gw-lacquer-r2";
  const next = [shards[0], shards[1], shard(2, "sha256:2b"), manifest("sha256:m2")];
  await rejects(writer.sync("ns/gw", next), KubeApiError);
  deepEqual(applied(), ["gw-lacquer"], "the manifest is written, the shard is not");
  equal(stored.get("ns/gw-lacquer-r2")?.metadata.annotations?.["lacquer.dev/routing-hash"], "sha256:2");
  ok(stored.has("ns/gw-lacquer-r3"), "nothing is deleted after a failed write");
  // (a pod reads the manifest, finds r2 of the last generation and keeps serving that one: ShardsPendingError)
  // the retry: level-triggered, it writes what differs from what is stored, then deletes r3
  log.length = 0;
  await writer.sync("ns/gw", next);
  deepEqual(applied(), ["gw-lacquer-r2"]);
  equal(stored.get("ns/gw-lacquer-r2")?.metadata.annotations?.["lacquer.dev/routing-hash"], "sha256:2b");
  ok(!stored.has("ns/gw-lacquer-r3"));
});

Deno.test("ChildrenWriter.sync() leaves a Deployment someone scaled alone while its desired hash matches", async () => {
  // `kubectl scale` changes spec.replicas of the applied Deployment and keeps our annotations: the change wakes the
  // Gateway, whose reconcile must not reset the count (tests/e2e/gateway_invalidation_test.ts scales to 3).
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
    backendNamespaces: [],
  });
  const stored = new Map<string, KubeObject>();
  const applied: string[] = [];
  let rv = 0;
  const client = {
    request(path: string, options: KubeRequestOptions = {}) {
      if (path.endsWith("/horizontalpodautoscalers")) return Promise.resolve({ items: [] });
      if (options.method === undefined) return Promise.reject(new KubeApiError("not found", { code: 404 }));
      const body = options.body as KubeObject;
      applied.push(`${body.kind} ${body.metadata.name}`);
      const object = { ...body, metadata: { ...body.metadata, resourceVersion: String(++rv) } };
      stored.set(`${body.kind} ${body.metadata.namespace}/${body.metadata.name}`, object);
      return Promise.resolve(object);
    },
  } as unknown as KubeClient;
  const cache = {
    raw: (kind: string, key: string) => stored.get(`${kind} ${key}`),
    rawList: (kind: string) => [...stored.values()].filter((o) => o.kind === kind),
  };
  const writer = new ChildrenWriter(client, cache, { log: createLogger({ sink: () => {} }) });
  await writer.sync("ns/gw", children);
  ok(applied.includes("Deployment gw"));
  const key = "Deployment ns/gw";
  const deployment = stored.get(key)!;
  stored.set(key, {
    ...deployment,
    metadata: { ...deployment.metadata, resourceVersion: String(++rv) },
    spec: { ...deployment.spec as object, replicas: 3 },
  });
  applied.length = 0;
  deepEqual(await writer.sync("ns/gw", children), { writes: 0, conflicts: [] });
  deepEqual(applied, [], "nothing rewritten");
  equal((stored.get(key)!.spec as { replicas: number }).replicas, 3);
});
