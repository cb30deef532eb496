/**
 * Chaos scenarios of voluntary disruption: a gateway pod deleted, and a node-drain-like eviction of every gateway and
 * app pod through the Eviction API (each retried while its PodDisruptionBudget says no, as `kubectl drain` does).
 * No request may fail; recovery is the time until every pod was replaced and the Gateway is whole.
 */
import { ok } from "node:assert/strict";
import { eventually } from "../cluster/mod.ts";
import type { ChaosGateway, Pod } from "./chaos_gateway.ts";
import { type Scenario, since } from "./scenario.ts";

/** The scenario. */
export const deleteGatewayPod: Scenario = {
  name: "gateway pod deleted",
  target: "no-failures",
  async run(sys) {
    const [pod] = await sys.settled();
    return await deletePodUntilWhole(sys, pod);
  },
};

/**
 * Deletes a gateway pod and waits until it is gone and the Gateway is whole again.
 *
 * @param sys The chaos system.
 * @param pod The gateway pod to delete.
 * @returns The recovery time from the delete, in milliseconds.
 */
export async function deletePodUntilWhole(sys: ChaosGateway, pod: Pod): Promise<number> {
  const t0 = performance.now();
  await sys.client.request(`/api/v1/namespaces/${sys.ns}/pods/${pod.metadata.name}`, { method: "DELETE" });
  await eventually(async () => {
    ok(!(await sys.gatewayPods()).some((p) => p.metadata.uid === pod.metadata.uid), "the deleted pod is gone");
  }, { timeoutMs: 120_000, intervalMs: 250 });
  await sys.settled();
  return since(t0);
}

async function allPods(sys: ChaosGateway): Promise<Pod[]> {
  return (await sys.client.request<{ items: Pod[] }>(`/api/v1/namespaces/${sys.ns}/pods`)).items;
}

/** Evicts a pod, retrying while a PodDisruptionBudget refuses (429); a pod already gone counts as evicted. */
async function evict(sys: ChaosGateway, name: string): Promise<void> {
  const deadline = performance.now() + 300_000;
  while (true) {
    const response = await sys.client.fetch(`/api/v1/namespaces/${sys.ns}/pods/${name}/eviction`, {
      method: "POST",
      body: {
        apiVersion: "policy/v1",
        kind: "Eviction",
        metadata: { name, namespace: sys.ns },
      },
    });
    const text = await response.text();
    if (response.ok || response.status === 404) return;
    if (response.status !== 429 || performance.now() > deadline) {
      throw new Error(`Cannot evict ${name}: HTTP ${response.status}: ${text.slice(0, 300)}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The scenario. */
export const drainEviction: Scenario = {
  name: "node-drain-like eviction (Eviction API)",
  target: "no-failures",
  async run(sys) {
    const before = await allPods(sys);
    const t0 = performance.now();
    await Promise.all(before.map((p) => evict(sys, p.metadata.name)));
    const old = new Set(before.map((p) => p.metadata.uid));
    await eventually(async () => {
      const left = (await allPods(sys)).filter((p) => old.has(p.metadata.uid));
      ok(left.length === 0, `pods not yet gone: ${left.map((p) => p.metadata.name)}`);
    }, { timeoutMs: 300_000, intervalMs: 500 });
    await sys.scaleApp("blue", 2);
    await sys.scaleApp("green", 2);
    await sys.settled();
    return since(t0);
  },
};
