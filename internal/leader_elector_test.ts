import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import { clusterAvailable, consistently, createTestNamespace, eventually, useCluster } from "../tests/cluster/mod.ts";
import { KubeApiError, type KubeClient, type KubeRequestOptions } from "./kube/mod.ts";
import { fenceWrites, LeaderElector, microTime, NotLeaderError } from "./leader_elector.ts";
import { createLogger } from "./log.ts";

const log = createLogger({ sink: () => {} });

Deno.test("microTime() prints six fraction digits", () => {
  equal(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), "2026-01-02T03:04:05.678000Z");
});

Deno.test("fenceWrites() lets reads through and writes only while the lease is held", async () => {
  const sent: string[] = [];
  const client: KubeClient = {
    server: "https://fake",
    fetch: (path, options) => (sent.push(`${options?.method ?? "GET"} ${path}`), Promise.resolve(new Response("{}"))),
    request: <T>(path: string, options?: { method?: string }) => (
      sent.push(`${options?.method ?? "GET"} ${path}`), Promise.resolve({} as T)
    ),
    close() {},
  };
  let holds = false;
  const fenced = fenceWrites(client, () => holds);
  await fenced.request("/a");
  await fenced.fetch("/w", { query: { watch: "true" } });
  await rejects(fenced.request("/a", { method: "PUT", body: {} }), NotLeaderError);
  await rejects(fenced.fetch("/a", { method: "DELETE" }), NotLeaderError);
  holds = true;
  await fenced.request("/a", { method: "PATCH", body: {} });
  deepEqual(sent, ["GET /a", "GET /w", "PATCH /a"]);
});

Deno.test("LeaderElector rejects timings that break lease > deadline > 1.2 × retry", () => {
  throws(
    () =>
      new LeaderElector({
        client: {} as KubeClient,
        namespace: "n",
        name: "l",
        identity: "a",
        log,
        leaseDurationMs: 1000,
        renewDeadlineMs: 2000,
      }),
    RangeError,
  );
});

Deno.test({
  name: "LeaderElector elects one candidate and hands over after a release",
  ignore: !clusterAvailable(),
  async fn() {
    await using ns = await createTestNamespace(await useCluster());
    const timings = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 };
    const make = (identity: string) =>
      new LeaderElector({ client: ns.client, namespace: ns.name, name: "lease", identity, log, ...timings });
    const a = make("a");
    const b = make("b");
    const leading: string[] = [];
    const runA = a.run({ onStartedLeading: () => leading.push("a") });
    await eventually(() => equal(leading.join(), "a"));
    const runB = b.run({ onStartedLeading: () => leading.push("b") });
    await consistently(() => equal(leading.join(), "a", "b stays standby while a renews"), { timeoutMs: 1000 });
    await a.stop();
    equal(await runA, "stopped");
    await eventually(() => equal(leading.join(), "a,b"), { timeoutMs: 10_000 });
    const lease = await ns.client.request<{ spec: { holderIdentity: string; leaseTransitions: number } }>(
      `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/lease`,
    );
    equal(lease.spec.holderIdentity, "b");
    equal(lease.spec.leaseTransitions, 1);
    await b.stop();
    equal(await runB, "stopped");
  },
});

/** A client whose network can be cut, counting the requests it is asked to send. */
Deno.test("LeaderElector gives up within the renew deadline when a renewal hangs", async () => {
  // Elected by creating the lease; then the API server stops answering. Like the real client, a request ends with a
  // TimeoutError after its timeoutMs, and never without one.
  let hung = false;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const client: KubeClient = {
    server: "https://fake",
    fetch: () => Promise.reject(new Error("unused")),
    request: <T>(_path: string, options?: KubeRequestOptions) => {
      if (!hung) {
        hung = options?.method === "POST";
        return options?.method === "POST"
          ? Promise.resolve({} as T)
          : Promise.reject(new KubeApiError("not found", { code: 404 }));
      }
      return new Promise<T>((_, reject) => {
        if (options?.timeoutMs === undefined) return;
        const timer = setTimeout(() => reject(new Error("TimeoutError")), options.timeoutMs);
        timers.add(timer);
      });
    },
    close() {},
  };
  const elector = testElector(client, "ns", "a");
  const leading: string[] = [];
  const run = elector.run({ onStartedLeading: () => leading.push("a") });
  // The fake never answers a request without a deadline: without them the elector would never end.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hangs = new Promise<string>((resolve) => timer = setTimeout(() => resolve("still leading"), 30_000));
  const outcome = await Promise.race([run, hangs]);
  clearTimeout(timer);
  equal(leading.join(), "a");
  equal(outcome, "lost", "a leader whose renewal hangs gives up");
  await elector.stop();
  timers.forEach((t) => clearTimeout(t));
});

function cuttableClient(client: KubeClient) {
  const state = { cut: false, requests: 0 };
  const down = () => Promise.reject(new TypeError("network unreachable (cut by the test)"));
  const wrapped: KubeClient = {
    server: client.server,
    fetch: (path, options) => (state.requests++, state.cut ? down() : client.fetch(path, options)),
    request: <T>(path: string, options?: Parameters<KubeClient["request"]>[1]) => {
      state.requests++;
      return state.cut ? down() : client.request<T>(path, options);
    },
    close: () => {},
  };
  return { client: wrapped, state };
}

const TIMINGS = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 };

/** An elector for Lease "lease" in `namespace` with the short `TIMINGS`. */
function testElector(client: KubeClient, namespace: string, identity: string): LeaderElector {
  return new LeaderElector({ client, namespace, name: "lease", identity, log, ...TIMINGS });
}

Deno.test({
  name: "LeaderElector: a leader cut off from the API server gives up; the standby takes over once the lease expires",
  ignore: !clusterAvailable(),
  async fn() {
    await using ns = await createTestNamespace(await useCluster());
    const net = cuttableClient(ns.client);
    const leading: string[] = [];
    const a = testElector(net.client, ns.name, "a");
    const b = testElector(ns.client, ns.name, "b");
    const runA = a.run({ onStartedLeading: () => leading.push("a") });
    await eventually(() => equal(leading.join(), "a"));
    const runB = b.run({ onStartedLeading: () => leading.push("b") });
    await consistently(() => equal(leading.join(), "a", "b stays standby while a renews"), { timeoutMs: 1000 });
    // a can no longer renew, nor release: b must wait for the lease to expire, then take it
    net.state.cut = true;
    equal(await runA, "lost");
    equal(a.isLeader, false);
    const requests = net.state.requests;
    await eventually(() => equal(leading.join(), "a,b"), { timeoutMs: 15_000 });
    const lease = await ns.client.request<{ spec: { holderIdentity: string; leaseTransitions: number } }>(
      `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/lease`,
    );
    equal(lease.spec.holderIdentity, "b");
    equal(lease.spec.leaseTransitions, 1);
    equal(net.state.requests, requests, "a sends nothing after giving up");
    await b.stop();
    equal(await runB, "stopped");
  },
});

Deno.test({
  name: "LeaderElector: a leader whose lease another holder took gives up at once and sends nothing more",
  ignore: !clusterAvailable(),
  async fn() {
    await using ns = await createTestNamespace(await useCluster());
    const net = cuttableClient(ns.client);
    const a = testElector(net.client, ns.name, "a");
    let elected = false;
    const runA = a.run({ onStartedLeading: () => elected = true });
    await eventually(() => equal(elected, true));
    // another replica (with a clock of its own) writes itself into the lease
    const path = `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/lease`;
    const lease = await ns.client.request<{ spec: Record<string, unknown> }>(path);
    const now = microTime(Date.now());
    await ns.client.request(path, {
      method: "PUT",
      body: { ...lease, spec: { ...lease.spec, holderIdentity: "intruder", acquireTime: now, renewTime: now } },
    });
    equal(await runA, "lost");
    equal(a.isLeader, false);
    const requests = net.state.requests;
    await consistently(() => equal(net.state.requests, requests, "a sends nothing after giving up"), {
      timeoutMs: 1000,
    });
    equal((await ns.client.request<{ spec: { holderIdentity: string } }>(path)).spec.holderIdentity, "intruder");
  },
});
