import { deepEqual, equal, notStrictEqual, ok } from "node:assert/strict";
import type { KubeClient, KubeObject, KubeRequestOptions } from "../internal/kube/mod.ts";
import { createLogger } from "../internal/log.ts";
import { httpRouteSchema } from "./api_types.ts";
import { keepUnchangedSpec, watchKind } from "./kind_cache.ts";

/** Lists by path; every watch stays open until aborted. Records the paths requested. */
function fakeClient(objects: Record<string, unknown[]>) {
  const paths: string[] = [];
  const client: KubeClient = {
    server: "https://fake",
    fetch(_path: string, options: KubeRequestOptions = {}) {
      const signal = options.signal!;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          // The reflector may be stopped before its watch starts.
          if (signal.aborted) c.error(signal.reason);
          else signal.addEventListener("abort", () => c.error(signal.reason), { once: true });
        },
      });
      return Promise.resolve(new Response(body));
    },
    request<T>(path: string): Promise<T> {
      paths.push(path);
      const items = objects[path];
      if (!items) return Promise.reject(new Error(`no list for ${path}`));
      return Promise.resolve({ metadata: { resourceVersion: "1" }, items } as T);
    },
    close() {},
  };
  return { client, paths };
}

const route = (namespace: string) => ({ metadata: { name: "r", namespace } });
const options = (namespaces?: string[]) => ({
  log: createLogger({ sink: () => {} }),
  onChange: () => {},
  parseErrors: new Map(),
  namespaces,
});

Deno.test("watchKind() lists a namespaced kind in each watched namespace and serves the union", async () => {
  const { client, paths } = fakeClient({
    "/apis/g/v1/namespaces/a/routes": [route("a")],
    "/apis/g/v1/namespaces/b/routes": [route("b")],
    "/apis/g/v1/routes": [route("a"), route("b"), route("c")],
  });
  const cache = watchKind(client, { kind: "Route", path: "/apis/g/v1/routes", compact: (o) => o }, options(["a", "b"]));
  try {
    await cache.reflector.synced;
    deepEqual(paths.sort(), ["/apis/g/v1/namespaces/a/routes", "/apis/g/v1/namespaces/b/routes"]);
    deepEqual(cache.reflector.list().map((o) => o.metadata.namespace).sort(), ["a", "b"]);
    equal(cache.reflector.get("b/r")?.metadata.namespace, "b");
    equal(cache.reflector.get("c/r"), undefined);
    equal(cache.reflector.healthy(), true);
  } finally {
    await cache.reflector.stop();
  }
});

Deno.test("watchKind() watches a cluster-scoped kind cluster-wide whatever the namespaces", async () => {
  const { client, paths } = fakeClient({ "/apis/g/v1/classes": [{ metadata: { name: "c" } }] });
  const kind = { kind: "Class", path: "/apis/g/v1/classes", clusterScoped: true, compact: (o: KubeObject) => o };
  const cache = watchKind(client, kind, options(["a"]));
  try {
    await cache.reflector.synced;
    deepEqual(paths, ["/apis/g/v1/classes"]);
    equal(cache.reflector.get("c")?.metadata.name, "c");
  } finally {
    await cache.reflector.stop();
  }
});

Deno.test("keepUnchangedSpec() keeps the spec object of an object whose spec is the same, and only then", () => {
  const old = { metadata: { uid: "u" }, spec: { hostnames: ["a.example"] }, status: {} };
  const same = { metadata: { uid: "u" }, spec: { hostnames: ["a.example"] }, status: { parents: [] } };
  equal(keepUnchangedSpec(old, same).spec, old.spec);
  const changed = { metadata: { uid: "u" }, spec: { hostnames: ["b.example"] } };
  notStrictEqual(keepUnchangedSpec(old, changed).spec, old.spec);
  const recreated = { metadata: { uid: "v" }, spec: { hostnames: ["a.example"] } };
  notStrictEqual(keepUnchangedSpec(old, recreated).spec, old.spec);
  const added = { metadata: { uid: "u" }, spec: { hostnames: ["a.example"] } };
  equal(keepUnchangedSpec(undefined, added), added);
});

Deno.test("watchKind() keeps a route's spec once, in the parsed object, when the kind says so", async () => {
  const received = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r", namespace: "a", resourceVersion: "7" },
    spec: { parentRefs: [{ name: "gw" }], hostnames: ["a.example"] },
    status: { parents: [] },
  };
  const bad = { ...received, metadata: { name: "bad", namespace: "a" }, spec: { hostnames: "not a list" } };
  const { client } = fakeClient({ "/apis/g/v1/routes": [received, bad] });
  const changes: unknown[] = [];
  const kind = {
    kind: "HTTPRoute",
    path: "/apis/g/v1/routes",
    compact: (o: KubeObject) => o,
    schema: httpRouteSchema,
    specOnlyParsed: true,
  };
  const cache = watchKind(client, kind, { ...options(), onChange: (_k, _o, n) => changes.push(n) });
  try {
    await cache.reflector.synced;
    const stored = cache.reflector.get("a/r")!;
    const parsed = cache.parsed.get("a/r") as { metadata: unknown; spec: { hostnames: string[] }; status: unknown };
    deepEqual(parsed.spec.hostnames, ["a.example"]);
    ok(!("spec" in stored), "the stored object has no spec");
    deepEqual(Object.keys(stored), ["apiVersion", "kind", "metadata", "status"]);
    equal(stored.metadata, parsed.metadata);
    equal(stored.status, parsed.status);
    equal(stored.metadata.resourceVersion, "7");
    // one that does not parse is stored whole (and not handed on)
    deepEqual(cache.reflector.get("a/bad")?.spec, { hostnames: "not a list" });
    equal(cache.parsed.has("a/bad"), false);
    deepEqual(changes, [parsed, undefined]);
  } finally {
    await cache.reflector.stop();
  }
});
