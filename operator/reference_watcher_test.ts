import { deepEqual, equal, rejects } from "node:assert/strict";
import type { KubeClient, KubeRequestOptions } from "../internal/kube/mod.ts";
import { createLogger } from "../internal/log.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import type { Service } from "./api_types.ts";
import { ReferenceWatcher } from "./reference_watcher.ts";

/** Lists by path and field selector; every watch stays open until aborted, and counts as open until then. */
function fakeClient(objects: Record<string, unknown[]>) {
  const open = new Set<string>();
  const client: KubeClient = {
    server: "https://fake",
    fetch(path: string, options: KubeRequestOptions = {}) {
      const id = `${path}?${options.query?.fieldSelector ?? ""}`;
      open.add(id);
      const signal = options.signal!;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          signal.addEventListener("abort", () => {
            open.delete(id);
            c.error(signal.reason);
          }, { once: true });
        },
      });
      return Promise.resolve(new Response(body));
    },
    request<T>(path: string, options: KubeRequestOptions = {}): Promise<T> {
      const items = objects[`${path}?${options.query?.fieldSelector ?? ""}`];
      if (!items) return Promise.reject(new Error(`no list for ${path}`));
      return Promise.resolve({ metadata: { resourceVersion: "1" }, items } as T);
    },
    close() {},
  };
  return { client, open };
}

const svc = (name: string) => ({
  metadata: { name, namespace: "apps", managedFields: [{}] },
  spec: { ports: [{ port: 80 }], selector: { app: name } },
});

Deno.test("ReferenceWatcher watches what owners reference, shares watches and stops unreferenced ones", async () => {
  const { client, open } = fakeClient({
    "/api/v1/namespaces/apps/services?": [svc("web"), svc("api")],
    "/api/v1/namespaces/gw/secrets?metadata.name=cert,type=kubernetes.io/tls": [{
      metadata: { name: "cert", namespace: "gw" },
      type: "kubernetes.io/tls",
      data: { "tls.crt": "C", "tls.key": "K", extra: "X" },
    }],
  });
  const changes: string[] = [];
  const refs = new ReferenceWatcher(client, {
    log: createLogger({ sink: () => {} }),
    onChange: (kind, _old, current) => changes.push(`${kind}:${(current as Service).metadata.name}`),
    parseErrors: new Map(),
  });
  try {
    await refs.watch("gw/a", ["Service:apps/web", "Secret:gw/cert", "GrantNamespace:apps"]);
    await refs.watch("gw/b", ["Service:apps/api"]);
    deepEqual(changes.sort(), ["Secret:cert", "Service:api", "Service:web"]);
    equal((refs.get("Service:apps/web") as Service).spec.ports[0].port, 80);
    equal((refs.get("Service:apps/api") as Service).metadata.managedFields, undefined, "compact");
    deepEqual((refs.get("Secret:gw/cert") as { data: unknown }).data, { "tls.crt": "C", "tls.key": "K" });
    equal(refs.get("ConfigMap:gw/vcl"), undefined);
    deepEqual(refs.counts().watches, { Service: 1, Secret: 1 }, "one Service watch per namespace");

    await refs.watch("gw/a", ["Service:apps/web"]);
    equal(refs.get("Secret:gw/cert"), undefined, "released");
    await refs.watch("gw/a", []);
    equal((refs.get("Service:apps/api") as Service).metadata.name, "api", "still referenced by gw/b");
    await refs.watch("gw/b", []);
    deepEqual(refs.counts().watches, {});
    await eventually(() => equal(open.size, 0, "every watch closed"), { timeoutMs: 10_000, intervalMs: 5 });
  } finally {
    await refs.stop();
  }
});

Deno.test("ReferenceWatcher.watch() fails when a watch does not sync in time", async () => {
  const { client } = fakeClient({});
  const refs = new ReferenceWatcher(client, {
    log: createLogger({ sink: () => {} }),
    onChange: () => {},
    parseErrors: new Map(),
    syncTimeoutMs: 50,
  });
  try {
    await rejects(refs.watch("gw/a", ["ConfigMap:gw/vcl"]), /did not sync/);
    equal(refs.healthy(), true);
  } finally {
    await refs.stop();
  }
});

Deno.test("ReferenceWatcher watches no reference into a namespace outside the operator's scope", async () => {
  const { client, open } = fakeClient({ "/api/v1/namespaces/apps/services?": [svc("web")] });
  const refs = new ReferenceWatcher(client, {
    log: createLogger({ sink: () => {} }),
    onChange: () => {},
    parseErrors: new Map(),
    namespaces: ["apps"],
  });
  try {
    // Without the scope the Secret's list would fail (the fake has none) and the watch would never sync.
    await refs.watch("apps/gw", ["Service:apps/web", "Secret:other/cert", "Service:other/db"]);
    equal((refs.get("Service:apps/web") as Service).metadata.name, "web");
    equal(refs.get("Service:other/db"), undefined);
    deepEqual([...open], ["/api/v1/namespaces/apps/services?"]);
  } finally {
    await refs.stop();
  }
});
