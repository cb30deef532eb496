import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { type ContainerRuntime, podPhase, podStatus } from "./pod_status.ts";
import type { Pod } from "./types.ts";

function pod(restartPolicy?: "Always" | "Never" | "OnFailure", conditions?: unknown[]): Pod {
  return {
    metadata: { name: "p", namespace: "ns", uid: "u" },
    spec: { containers: [], restartPolicy },
    status: conditions ? { conditions } : undefined,
  };
}

const running = (ready: boolean, restartCount = 0): ContainerRuntime => ({
  name: "c",
  image: "i",
  state: { running: { startedAt: "t0" } },
  ready,
  restartCount,
});
const runtime = (containers: ContainerRuntime[]) => ({
  podIp: "10.244.0.2",
  hostIp: "10.244.0.1",
  startTime: "t0",
  containers,
});

Deno.test("podStatus() reports Ready when every container is ready", () => {
  const s = podStatus(pod(), { runtime: runtime([running(true)]), now: "t1" }) as Record<string, unknown>;
  strictEqual(s.phase, "Running");
  strictEqual(s.podIP, "10.244.0.2");
  deepStrictEqual(s.podIPs, [{ ip: "10.244.0.2" }]);
  const ready = (s.conditions as { type: string; status: string }[]).find((c) => c.type === "Ready");
  strictEqual(ready?.status, "True");
});

Deno.test("podStatus() keeps lastTransitionTime while a condition's status holds", () => {
  const old = [{ type: "Ready", status: "False", lastTransitionTime: "t0" }];
  const same = podStatus(pod("Always", old), { runtime: runtime([running(false)]), now: "t1" });
  const flipped = podStatus(pod("Always", old), { runtime: runtime([running(true)]), now: "t1" });
  const t = (s: Record<string, unknown>) =>
    (s.conditions as { type: string; lastTransitionTime: string }[]).find((c) => c.type === "Ready")
      ?.lastTransitionTime;
  strictEqual(t(same), "t0");
  strictEqual(t(flipped), "t1");
});

Deno.test("podPhase() follows the restart policy once containers end", () => {
  const done = (exitCode: number): ContainerRuntime => ({
    name: "c",
    image: "i",
    state: { terminated: { exitCode, reason: "x", finishedAt: "t" } },
    ready: false,
    restartCount: 0,
  });
  strictEqual(podPhase(pod("Never"), runtime([done(0)])), "Succeeded");
  strictEqual(podPhase(pod("Never"), runtime([done(1)])), "Failed");
  strictEqual(podPhase(pod("Always"), runtime([running(true, 3)])), "Running");
  strictEqual(
    podPhase(
      pod(),
      runtime([{ name: "c", image: "i", state: { waiting: { reason: "X" } }, ready: false, restartCount: 0 }]),
    ),
    "Pending",
  );
});

Deno.test("podStatus() keeps the QoS class the apiserver assigned", () => {
  const burstable = { ...pod(), status: { qosClass: "Burstable" } };
  strictEqual(podStatus(burstable, { runtime: runtime([running(true)]), now: "t1" }).qosClass, "Burstable");
  strictEqual(podStatus(pod(), { runtime: runtime([running(true)]), now: "t1" }).qosClass, undefined);
});
