import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { KubeClient, KubeRequestOptions } from "./kube_client.ts";
import { responseError } from "./kube_client.ts";
import { createReflector, type KubeObject, objectKey, type ReflectorStats } from "./reflector.ts";
import { consistently, eventually } from "../../tests/cluster/eventually.ts";

/** Waits, with a deadline, until the reflector's counter reaches `n`. */
function reaches(r: { stats(): ReflectorStats }, counter: keyof ReflectorStats, n: number): Promise<void> {
  return eventually(() => {
    if (r.stats()[counter] < n) throw new Error(`${counter}: ${r.stats()[counter]}, waiting for ${n}`);
  }, { timeoutMs: 10_000, intervalMs: 5 });
}

function obj(name: string, rv: string, data = ""): KubeObject {
  return { metadata: { name, namespace: "ns", resourceVersion: rv }, data };
}

/** A scripted API server: each list and each watch takes the next answer from its queue. */
function fakeClient(script: { lists: KubeObject[][]; watches: string[][] }) {
  const seen: string[] = [];
  let listRv = 100;
  const client: KubeClient = {
    server: "https://fake",
    fetch(_path: string, options: KubeRequestOptions = {}) {
      seen.push(`watch rv=${options.query?.resourceVersion}`);
      const lines = script.watches.shift();
      const signal = options.signal!;
      if (!lines) {
        // stay open until aborted
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            signal.addEventListener("abort", () => c.error(signal.reason), { once: true });
          },
        });
        return Promise.resolve(new Response(body));
      }
      return Promise.resolve(new Response(lines.map((l) => l + "\n").join("")));
    },
    async request<T>(path: string, options: KubeRequestOptions = {}): Promise<T> {
      seen.push("list");
      const items = script.lists.shift();
      if (!items) throw await responseError(new Response("{}", { status: 500 }), `GET "${path}"`);
      void options;
      return { metadata: { resourceVersion: String(listRv++) }, items } as T;
    },
    close() {},
  };
  return { client, seen };
}

const event = (type: string, o: unknown) => JSON.stringify({ type, object: o });

Deno.test("createReflector() lists, then applies watch events to the cache and the handler", async () => {
  const { client, seen } = fakeClient({
    lists: [[obj("a", "1")]],
    watches: [[
      event("ADDED", obj("b", "2")),
      event("MODIFIED", obj("a", "3", "x")),
      event("DELETED", obj("b", "4")),
      event("BOOKMARK", { metadata: { resourceVersion: "5" } }),
    ]],
  });
  const changes: string[] = [];
  const r = createReflector(client, {
    path: "/api/v1/configmaps",
    resyncMs: 0,
    onChange: (old, cur) =>
      changes.push(`${old?.metadata.resourceVersion ?? "-"}>${cur?.metadata.resourceVersion ?? "-"}`),
  });
  await r.synced;
  await reaches(r, "watches", 2);
  await r.stop();
  deepStrictEqual(changes, ["->1", "->2", "1>3", "2>-"]);
  deepStrictEqual(r.list().map(objectKey), ["ns/a"]);
  strictEqual(r.get("ns/a")?.data, "x");
  // the clean end of the first watch rewatches at once from the bookmark's resourceVersion
  deepStrictEqual(seen, ["list", "watch rv=100", "watch rv=5"]);
});

Deno.test("createReflector() relists on an ERROR event with code 410 and reports deletions", async () => {
  const { client, seen } = fakeClient({
    lists: [[obj("a", "1"), obj("b", "1")], [obj("b", "7")]],
    watches: [[event("ERROR", { kind: "Status", code: 410, reason: "Expired", metadata: {} })]],
  });
  const changes: string[] = [];
  const r = createReflector(client, {
    path: "/api/v1/configmaps",
    resyncMs: 0,
    onChange: (old, cur) => changes.push(`${old?.metadata.name ?? "-"}>${cur?.metadata.name ?? "-"}`),
  });
  await r.synced;
  await reaches(r, "lists", 2);
  await r.stop();
  deepStrictEqual(seen.slice(0, 3), ["list", "watch rv=100", "list"]);
  deepStrictEqual(changes, ["->a", "->b", "b>b", "a>-"]);
  deepStrictEqual(r.list().map(objectKey), ["ns/b"]);
});

Deno.test("createReflector() caches what transform returns and treats undefined as absent", async () => {
  const { client } = fakeClient({
    lists: [[obj("a", "1", "big"), obj("skip", "1")]],
    watches: [[
      event("ADDED", obj("b", "2", "big")),
      event("MODIFIED", obj("a", "3", "drop")),
      event("DELETED", obj("skip", "4")),
    ]],
  });
  const changes: string[] = [];
  const r = createReflector(client, {
    path: "/api/v1/configmaps",
    resyncMs: 0,
    transform: (o) =>
      o.metadata.name === "skip" || o.data === "drop" ? undefined : { metadata: o.metadata, data: "small" },
    onChange: (old, cur) =>
      changes.push(`${old?.metadata.name ?? "-"}>${cur?.metadata.name ?? "-"}:${cur?.data ?? ""}`),
  });
  await r.synced;
  await reaches(r, "watches", 2);
  await r.stop();
  deepStrictEqual(changes, ["->a:small", "->b:small", "a>-:"]);
  deepStrictEqual(r.list().map((o) => [objectKey(o), o.data]), [["ns/b", "small"]]);
});

Deno.test("createReflector() backs off and retries after a failed list", async () => {
  const { client, seen } = fakeClient({ lists: [], watches: [] });
  const r = createReflector(client, { path: "/api/v1/pods", resyncMs: 0, backoff: { initialMs: 1, maxMs: 2 } });
  await reaches(r, "errors", 3);
  strictEqual(r.healthy(), true);
  await r.stop();
  strictEqual(seen.every((s) => s === "list"), true);
  await r.synced.then(() => Promise.reject(new Error("synced")), () => {});
});

Deno.test("createReflector() retries a fresh 403 on the normal back-off, a lasting one at the maximum", async () => {
  let denials = 1;
  const { client } = fakeClient({ lists: [[obj("a", "1")]], watches: [] });
  const list = client.request.bind(client);
  client.request = async <T>(path: string, options?: KubeRequestOptions): Promise<T> => {
    if (denials-- > 0) throw await responseError(new Response("{}", { status: 403 }), `GET "${path}"`);
    return list<T>(path, options);
  };
  // the maximum back-off is ten minutes: a sync within eventually()'s deadline took the short one
  const r = createReflector(client, { path: "/api/v1/pods", resyncMs: 0, backoff: { initialMs: 10, maxMs: 600_000 } });
  let synced = false;
  void r.synced.then(() => synced = true);
  await eventually(() => ok(synced, "synced after one short retry, not after the maximum back-off"), {
    timeoutMs: 30_000,
  });
  // (the fake's watch only ends on an abort that comes after it opened)
  await reaches(r, "watches", 1);
  await r.stop();

  denials = 5;
  const { client: denying } = fakeClient({ lists: [[obj("a", "1")]], watches: [] });
  const denyingList = denying.request.bind(denying);
  denying.request = async <T>(path: string, options?: KubeRequestOptions): Promise<T> => {
    if (denials-- > 0) throw await responseError(new Response("{}", { status: 403 }), `GET "${path}"`);
    return denyingList<T>(path, options);
  };
  const slow = createReflector(denying, {
    path: "/api/v1/pods",
    resyncMs: 0,
    backoff: { initialMs: 1, maxMs: 60_000 },
  });
  await reaches(slow, "errors", 4);
  await consistently(() => strictEqual(slow.stats().errors, 4, "the fourth denial in a row waits the maximum"), {
    timeoutMs: 200,
    intervalMs: 10,
  });
  strictEqual(slow.healthy(), false);
  await slow.stop();
});

Deno.test("createReflector() aborts a silent watch after the idle timeout and rewatches", async () => {
  const { client } = fakeClient({ lists: [[obj("a", "1")]], watches: [] });
  const r = createReflector(client, {
    path: "/api/v1/pods",
    resyncMs: 0,
    idleTimeoutMs: 20,
    backoff: { initialMs: 1, maxMs: 2 },
  });
  await reaches(r, "watches", 3);
  await r.stop();
  strictEqual(r.stats().errors >= 2, true);
});

Deno.test("createReflector() on real fetch rewatches at once when a watch stays silent", async () => {
  const k8s = await import("@kubernetes/client-node");
  const { createKubeClient } = await import("./kube_client.ts");
  const pending = new Set<ReadableStreamDefaultController>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    if (new URL(req.url).searchParams.get("watch")) {
      // headers, then silence
      const body = new ReadableStream({
        start: (c) => void pending.add(c),
        cancel: () => {},
      });
      return new Response(body);
    }
    return Response.json({ metadata: { resourceVersion: "1" }, items: [] });
  });
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: `http://127.0.0.1:${server.addr.port}`, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  const client = createKubeClient(kc);
  const r = createReflector(client, { path: "/api/v1/pods", resyncMs: 0, idleTimeoutMs: 50 });
  await r.synced;
  await reaches(r, "watches", 3);
  await r.stop();
  strictEqual(r.stats().lists, 1, "no relist, no backoff");
  client.close();
  for (const c of pending) {
    try {
      c.close();
    } catch {
      // cancelled
    }
  }
  await server.shutdown();
});

Deno.test("createReflector() backs off when watches end at once without events", async () => {
  const { client } = fakeClient({ lists: [[obj("a", "1")]], watches: Array.from({ length: 1000 }, () => []) });
  const started: number[] = [];
  const fetch = client.fetch.bind(client);
  client.fetch = (path, options) => {
    started.push(performance.now());
    return fetch(path, options);
  };
  const r = createReflector(client, { path: "/api/v1/pods", resyncMs: 0, backoff: { initialMs: 20, maxMs: 40 } });
  await r.synced;
  await reaches(r, "watches", 5);
  await r.stop();
  // only lower bounds, which a slow machine cannot break: each empty watch waits 20 ms, 40 ms, then 40 ms (plus
  // jitter) before the next one; without backoff they would follow each other at once
  const gaps = started.slice(1, 5).map((t, i) => t - started[i]);
  gaps.forEach((gap, i) => ok(gap >= Math.min(20 * 2 ** i, 40) - 1, `gaps: ${gaps.map(Math.round)} ms`));
});
