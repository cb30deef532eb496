import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { KubeApiError } from "../../internal/kube/mod.ts";
import { createLogger } from "../../internal/log.ts";
import { clusterAvailable, eventually } from "../../tests/cluster/mod.ts";
import { cacheInvalidationPath } from "./cache_invalidation.ts";
import { InvalidationController } from "./invalidation_controller.ts";
import type { InvalidationStatus } from "./phase.ts";
import { deletePod, HOSTNAME, type InvalidationFixture, startInvalidationFixture } from "./_test_invalidation.ts";

const API = "/apis/lacquer.dev/v1alpha1";

async function withController(
  options: { deadlineMs?: number; retentionMs?: number },
  fn: (f: InvalidationFixture, controller: InvalidationController) => Promise<void>,
): Promise<void> {
  await using f = await startInvalidationFixture();
  const controller = new InvalidationController({
    cache: f.watcher,
    writer: f.client,
    executor: f.executor,
    log: createLogger({ level: "warn" }),
    deadlineMs: options.deadlineMs ?? 30_000,
    retentionMs: options.retentionMs ?? 600_000,
  });
  f.subscribe((kind, old, current) => controller.onChange(kind, old, current));
  controller.start();
  try {
    await fn(f, controller);
  } finally {
    await controller.stop();
  }
}

async function create(f: InvalidationFixture, name: string, spec: Record<string, unknown>): Promise<void> {
  await f.client.request(`${API}/namespaces/${f.ns.name}/cacheinvalidations`, {
    method: "POST",
    body: { apiVersion: "lacquer.dev/v1alpha1", kind: "CacheInvalidation", metadata: { name }, spec },
  });
}

async function statusOf(f: InvalidationFixture, name: string): Promise<InvalidationStatus> {
  const o = await f.client.request<{ status?: InvalidationStatus }>(cacheInvalidationPath(f.ns.name, name));
  if (!o.status) throw new Error(`${name} has no status yet`);
  return o.status;
}

async function phaseIs(f: InvalidationFixture, name: string, phase: string): Promise<InvalidationStatus> {
  return await eventually(async () => {
    const status = await statusOf(f, name);
    equal(status.phase, phase, JSON.stringify(status));
    return status;
  }, { timeoutMs: 30_000, intervalMs: 100 });
}

Deno.test({
  name: "CacheInvalidation: every pod gets the namespace-scoped request once, and the status says so per pod",
  ignore: !clusterAvailable(),
  async fn() {
    await withController({}, async (f) => {
      await create(f, "tags", { hostname: HOSTNAME, tags: ["product-1", "product-2"] });
      const status = await phaseIs(f, "tags", "Complete");
      equal(status.total, 3);
      equal(status.succeeded, 3);
      equal(status.observedGeneration, 1);
      ok(status.startedAt && status.completedAt);
      deepEqual(status.pods.map((p) => [p.pod, p.result, p.objectsAffected, p.attempts]), [
        [`${f.ns.name}/gw-1`, "Succeeded", 2, 1],
        [`${f.ns.name}/gw-2`, "Succeeded", 2, 1],
        [`${f.ns.name}/gw-3`, "Succeeded", 2, 1],
      ]);
      for (const pod of f.pods) {
        deepEqual(pod.received, [{
          namespace: f.ns.name,
          hostname: HOSTNAME,
          soft: true,
          tags: ["product-1", "product-2"],
        }]);
      }
      // the spec is immutable (CEL), and the CRD refuses two kinds of target at once
      const err = await f.client.request(cacheInvalidationPath(f.ns.name, "tags"), {
        method: "PATCH",
        contentType: "application/merge-patch+json",
        body: { spec: { tags: ["other"] } },
      }).then(() => undefined, (e) => e);
      ok(err instanceof KubeApiError && err.code === 422 && /immutable/.test(err.message), String(err));
      const both = await create(f, "both", { hostname: HOSTNAME, tags: ["a"], all: true }).then(
        () => undefined,
        (e) => e,
      );
      ok(both instanceof KubeApiError && both.code === 422 && /exactly one of/.test(both.message), String(both));
    });
  },
});

Deno.test({
  name: "CacheInvalidation: Pending (observedGeneration, no startedAt) is written before the pods answer",
  ignore: !clusterAvailable(),
  async fn() {
    await withController({}, async (f) => {
      const { promise, resolve } = Promise.withResolvers<void>();
      for (const pod of f.pods) pod.hold = promise;
      await create(f, "held", { hostname: HOSTNAME, urls: ["/a"] });
      try {
        const pending = await phaseIs(f, "held", "Pending");
        deepEqual(pending, { phase: "Pending", observedGeneration: 1, total: 0, succeeded: 0, pods: [] });
      } finally {
        resolve();
      }
      const status = await phaseIs(f, "held", "Complete");
      equal(status.succeeded, 3);
      ok(status.startedAt);
    });
  },
});

Deno.test({
  name:
    "CacheInvalidation: a hostname not served yet keeps it Pending, and the route's Accepted status (not a timer) sends it",
  ignore: !clusterAvailable(),
  async fn() {
    await withController({ deadlineMs: 60_000 }, async (f) => {
      const hostname = "late.example.com";
      await create(f, "late", { hostname, tags: ["product:42", "cat/shoes"] });
      const waiting = await phaseIs(f, "late", "Pending");
      equal(
        waiting.message,
        `waiting for a Gateway: no Gateway of ours serves hostname "${hostname}" for HTTPRoutes of "${f.ns.name}"`,
      );
      equal(waiting.startedAt, undefined);
      await new Promise((r) => setTimeout(r, 1_500));
      equal((await statusOf(f, "late")).phase, "Pending", "still waiting, not Failed");
      for (const pod of f.pods) equal(pod.received.length, 0);
      // The route applied now gets our Accepted entry a moment later: that change alone wakes the invalidation.
      await f.serveHostname(hostname);
      const status = await phaseIs(f, "late", "Complete");
      equal(status.succeeded, 3);
      for (const pod of f.pods) {
        deepEqual(pod.received, [{ namespace: f.ns.name, hostname, soft: true, tags: ["product:42", "cat/shoes"] }]);
      }
    });
  },
});

Deno.test({
  name: "CacheInvalidation: an unreachable pod is retried and caught up; a pod that disappears counts as done",
  ignore: !clusterAvailable(),
  async fn() {
    await withController({}, async (f) => {
      const [, second, third] = f.pods;
      second.behaviour = "fail";
      third.behaviour = "fail";
      await create(f, "prefix", { hostname: HOSTNAME, prefixes: ["/catalog/"], mode: "Hard" });
      const running = await phaseIs(f, "prefix", "Running");
      equal(running.succeeded, 1);
      const failed = running.pods.find((p) => p.pod === second.key)!;
      equal(failed.result, "Failed");
      equal(failed.error, "HTTP 503: varnishd is not running");
      // the second pod comes back: caught up; the third disappears: done without it
      second.behaviour = "ok";
      await deletePod(f.client, f.ns.name, third.name);
      const status = await phaseIs(f, "prefix", "Complete");
      deepEqual(status.pods.map((p) => p.result), ["Succeeded", "Succeeded", "Gone"]);
      ok((status.pods[1].attempts ?? 0) >= 2);
      deepEqual(second.received, [{ namespace: f.ns.name, hostname: HOSTNAME, soft: false, prefixes: ["/catalog/"] }]);
      equal(third.received.length, 0);
    });
  },
});

Deno.test({
  name:
    "CacheInvalidation: terminal in bounded time (PartiallyFailed naming the pod), refused specs Failed, deleted after retention",
  ignore: !clusterAvailable(),
  async fn() {
    await withController({ deadlineMs: 3_000, retentionMs: 6_000 }, async (f) => {
      f.pods[0].behaviour = "fail";
      await create(f, "all", { hostname: HOSTNAME, all: true });
      const partial = await phaseIs(f, "all", "PartiallyFailed");
      equal(partial.succeeded, 2);
      equal(partial.message, `not invalidated before the deadline: ${f.pods[0].key}`);
      // retried with back-off (1 s, 2 s) within the 3 s deadline, not in a loop
      const attempts = partial.pods[0].attempts ?? 0;
      ok(attempts >= 2 && attempts <= 4, `attempts: ${attempts}`);
      // Pending until its deadline, then Failed with the reason.
      await create(f, "nobody", { hostname: "nobody.example.com", urls: ["/a"] });
      await phaseIs(f, "nobody", "Pending");
      const nobody = await phaseIs(f, "nobody", "Failed");
      equal(nobody.message, `no Gateway of ours serves hostname "nobody.example.com" for HTTPRoutes of "${f.ns.name}"`);
      // A query string never reaches the controller: the CRD's rule refuses it when it is written.
      await rejects(create(f, "query", { hostname: HOSTNAME, urls: ["/a?b=1"] }), (e: KubeApiError) => {
        equal(e.code, 422);
        ok(/absolute path without query/.test(e.message), e.message);
        return true;
      });
      await eventually(async () => {
        const gone = await f.client.request(cacheInvalidationPath(f.ns.name, "all")).then(
          () => false,
          (e) => e.code === 404,
        );
        ok(gone, "not deleted yet");
      }, { timeoutMs: 30_000, intervalMs: 250 });
    });
  },
});
