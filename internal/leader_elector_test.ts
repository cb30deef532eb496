import { equal, throws } from "node:assert/strict";
import { clusterAvailable, consistently, createTestNamespace, eventually, useCluster } from "../tests/cluster/mod.ts";
import type { KubeClient } from "./kube/mod.ts";
import { LeaderElector, microTime } from "./leader_elector.ts";
import { createLogger } from "./log.ts";

const log = createLogger({ sink: () => {} });

Deno.test("microTime() prints six fraction digits", () => {
  equal(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), "2026-01-02T03:04:05.678000Z");
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
