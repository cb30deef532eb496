import { deepEqual, equal } from "node:assert/strict";
import type { KubeClient, KubeRequestOptions } from "../../internal/kube/mod.ts";
import { createLogger } from "../../internal/log.ts";
import type { ClusterWatcher } from "../cluster_watcher.ts";
import type { CacheInvalidation } from "./cache_invalidation.ts";
import type { InvalidationExecutor } from "./executor.ts";
import { InvalidationController } from "./invalidation_controller.ts";

const invalidation = (generation: number, phase?: string, name = "inv", pods = ["ns/gw-1"]) =>
  ({
    metadata: { namespace: "ns", name, generation },
    spec: { gatewayRefs: [], hostname: "h", mode: "Soft", all: true },
    ...(phase ? { status: { phase, pods: pods.map((pod) => ({ pod, result: "Failed" })) } } : {}),
  }) as CacheInvalidation;

const pod = (ip?: string, ready = true, deleting = false) => ({
  metadata: { namespace: "ns", name: "gw-1", ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
  status: { ...(ip ? { podIP: ip } : {}), conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});

function controller(objects: CacheInvalidation[]) {
  return new InvalidationController({
    cache: { get: () => undefined, raw: () => undefined, list: <T>() => objects as T[] },
    writer: {} as KubeClient,
    executor: {} as InvalidationExecutor,
    log: createLogger({ level: "error" }),
    deadlineMs: 1_000,
    retentionMs: 1_000,
  });
}

Deno.test("onChange: new and changed invalidations wake, our own status writes do not (they would undo the back-off)", () => {
  const c = controller([]);
  c.onChange("CacheInvalidation", invalidation(1), invalidation(1, "Running"));
  equal(c.queue.length, 0);
  c.onChange("CacheInvalidation", undefined, invalidation(1));
  equal(c.queue.length, 1);
  c.queue.shutDown();
});

Deno.test("onChange: a target pod that goes or changes liveness or readiness wakes the unfinished invalidations of it", () => {
  const c = controller([
    invalidation(1, "Running"),
    invalidation(1, "Complete", "done"),
    invalidation(1, "Running", "elsewhere", ["other/gw-1"]),
  ]);
  c.onChange("Pod", pod("10.0.0.1"), { ...pod("10.0.0.1"), metadata: { ...pod().metadata, annotations: { a: "b" } } });
  equal(c.queue.length, 0, "an annotation change");
  for (
    const [old, current] of [[pod("10.0.0.1"), undefined], [pod("10.0.0.1", false), pod("10.0.0.1")], [
      pod("10.0.0.1"),
      pod("10.0.0.1", true, true),
    ], [undefined, pod("10.0.0.1")]]
  ) {
    c.onChange("Pod", old, current);
    equal(c.queue.length, 1, "only the unfinished one targeting the pod");
  }
  c.queue.shutDown();
});

Deno.test("onChange: a Gateway or HTTPRoute change wakes the invalidations not sent yet (it may now serve their hostname)", () => {
  const c = controller([
    invalidation(1, undefined, "new"),
    invalidation(1, "Pending", "waiting"),
    invalidation(1, "Running", "running"),
    invalidation(1, "Failed", "failed"),
  ]);
  for (const kind of ["HTTPRoute", "Gateway"]) {
    c.onChange(kind, undefined, { metadata: { namespace: "ns", name: "r" } });
    equal(c.queue.length, 2, kind);
  }
  c.onChange("Service", undefined, { metadata: { namespace: "ns", name: "s" } });
  equal(c.queue.length, 2);
  c.queue.shutDown();
});

Deno.test("reconcile: a pass over a cached copy older than its own status writes sends nothing and looks again soon", async () => {
  const gateway = {
    metadata: { namespace: "ns", name: "gw" },
    spec: { gatewayClassName: "lacquer", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
  };
  const route = {
    metadata: { namespace: "ns", name: "r" },
    spec: { hostnames: ["h"] },
    status: {
      parents: [{
        parentRef: { kind: "Gateway", name: "gw" },
        controllerName: "c",
        conditions: [{ type: "Accepted", status: "True" }],
      }],
    },
  };
  let cached: CacheInvalidation = {
    ...invalidation(1),
    metadata: { ...invalidation(1).metadata, resourceVersion: "1" },
  };
  let version = 1;
  const written: string[] = [];
  let sent = 0;
  const c = new InvalidationController({
    cache: {
      get: <T>() => cached as T,
      raw: () => ({ metadata: cached.metadata }) as ReturnType<ClusterWatcher["raw"]>,
      list: <T>() => [] as T[],
    },
    writer: {
      request: <T>(_path: string, options?: KubeRequestOptions) => {
        written.push((options?.body as { status: { phase: string } }).status.phase);
        return Promise.resolve({ metadata: { resourceVersion: String(++version) } } as T);
      },
    } as KubeClient,
    executor: {
      scope: () => ({ controllerName: "c", gateways: [gateway], routes: [route] }),
      livePods: () => [{ pod: "ns/gw-1", gateway: "ns/gw", ip: "192.0.2.1" }],
      fanOut: (_: unknown, pods: readonly { pod: string }[]) => {
        sent += pods.length;
        return Promise.resolve(pods.map((p) => ({ pod: p.pod, ok: false, durationMs: 1, error: "down" })));
      },
    } as unknown as InvalidationExecutor,
    log: createLogger({ level: "error" }),
    deadlineMs: 60_000,
    retentionMs: 1_000,
  });
  const log = createLogger({ level: "error" });
  await c.reconcile("ns/inv", log);
  deepEqual([written, sent], [["Pending", "Running"], 1]);
  // the watch has not delivered either write yet
  deepEqual(await c.reconcile("ns/inv", log), { requeueAfterMs: 100 });
  equal(sent, 1);
  // it has delivered the first only
  cached = { ...cached, metadata: { ...cached.metadata, resourceVersion: "2" }, status: { phase: "Pending" } };
  deepEqual(await c.reconcile("ns/inv", log), { requeueAfterMs: 100 });
  equal(sent, 1);
  c.queue.shutDown();
});
