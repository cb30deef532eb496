/**
 * Chaos scenarios of the clustered cache (`deno task chaos:cluster`): the pod that owns cached objects deleted or its
 * varnishd worker killed, and the gateway scaled out and in, while the load asks for cached objects through every pod.
 * A pod that does not own an object asks the owner for it; when the owner fails, it fetches from the origin instead.
 *
 * @module
 */
import { ok } from "node:assert/strict";
import { eventually } from "../cluster/mod.ts";
import type { ChaosGateway, Pod } from "./chaos_gateway.ts";
import { deletePodUntilWhole } from "./disruption.ts";
import type { Probe } from "./load_driver.ts";
import { killAll, podProcesses } from "./processes.ts";
import { type Scenario, since } from "./scenario.ts";

/** The gateway pods of the clustered scenarios. */
export const CLUSTER_PODS = 3;
/** Cached objects the load asks for: enough keys that every pod owns some. */
export const CACHED_PROBES: Probe[] = Array.from({ length: 9 }, (_, i) => ({ path: `/cached/${i}`, apps: ["blue"] }));

/** The value of the series `name{labels}` in a Prometheus text, or 0. */
function metric(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** The addresses of the Gateway's pods that are not terminating, by pod name. */
async function podIps(sys: ChaosGateway): Promise<Map<string, string>> {
  const list = await sys.client.request<{ items: (Pod & { status?: { podIP?: string } })[] }>(
    `/api/v1/namespaces/${sys.ns}/pods`,
    { query: { labelSelector: `gateway.networking.k8s.io/gateway-name=${sys.gw.gateway}` } },
  );
  return new Map(
    list.items.filter((p) => p.status?.podIP && !p.metadata.deletionTimestamp)
      .map((p) => [p.metadata.name, p.status!.podIP!]),
  );
}

/** One series of each gateway pod's `/metrics`, by pod name. */
export async function podMetric(sys: ChaosGateway, series: string): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  for (const [name, ip] of await podIps(sys)) {
    const response = await fetch(`http://${ip}:8901/metrics`, { signal: AbortSignal.timeout(5000) });
    values.set(name, metric(await response.text(), series));
  }
  return values;
}

/** The settled pod that answered the most hops of other pods: the owner of cached objects the load asks for. */
async function busiestOwner(sys: ChaosGateway): Promise<Pod> {
  const pods = await sys.settled();
  const accepted = await podMetric(sys, 'lacquer_cluster_peer_requests_total{result="accepted"}');
  const [name, hops] = [...accepted].sort((a, b) => b[1] - a[1])[0] ?? [];
  ok(name && hops > 0, `no gateway pod has answered a hop: ${JSON.stringify([...accepted])}`);
  return pods.find((p) => p.metadata.name === name)!;
}

/** The owner pod deleted (graceful termination): the others fetch its objects from the origin, then own them. */
export const deleteOwnerPod: Scenario = {
  name: "clustered: owner pod deleted",
  target: "no-failures",
  probes: CACHED_PROBES,
  async run(sys) {
    return await deletePodUntilWhole(sys, await busiestOwner(sys));
  },
};

/** The owner and the pod the load goes through, chosen by `killOwnerVarnish.prepare`. */
let victim: { owner: Pod; through: string } | undefined;

/**
 * kill -9 of the owner's varnishd worker while the load goes through another pod: that pod's hops to the owner fail
 * (refused until the manager's new worker listens, or cut while in flight) and fall back to the origin. Requests sent
 * to the killed pod itself are the chaos suite's own varnishd kill (connections refused while no worker listens).
 */
export const killOwnerVarnish: Scenario = {
  name: "clustered: kill -9 the owner's varnishd worker (load through another pod)",
  target: "no-failures",
  probes: CACHED_PROBES,
  async prepare(sys) {
    const owner = await busiestOwner(sys);
    const ips = await podIps(sys);
    const through = [...ips].find(([name]) => name !== owner.metadata.name)?.[1];
    ok(through, "another gateway pod");
    victim = { owner, through };
  },
  loadAddress: () => victim!.through,
  async run(sys) {
    const pod = victim!.owner;
    const before = await podProcesses(sys.ns, pod.metadata.name);
    const victims = before.filter((p) => p.comm === "cache-main");
    ok(victims.length > 0, `no varnishd worker in ${pod.metadata.name}`);
    const t0 = performance.now();
    killAll(victims);
    const old = new Set(before.map((p) => p.pid));
    await eventually(async () => {
      const now = await podProcesses(sys.ns, pod.metadata.name);
      ok(now.some((p) => p.comm === "cache-main" && !old.has(p.pid)), "a new varnishd worker runs");
    }, { timeoutMs: 120_000, intervalMs: 50 });
    await sys.settled();
    return since(t0);
  },
};

/** Scale out to 5 pods and in to 2 (objects change owner both ways), then back. */
export const scaleOutAndIn: Scenario = {
  name: `clustered: gateway scaled ${CLUSTER_PODS} → 5 → 2 → ${CLUSTER_PODS}`,
  target: "no-failures",
  probes: CACHED_PROBES,
  async run(sys) {
    const t0 = performance.now();
    for (const replicas of [5, 2, CLUSTER_PODS]) {
      await sys.scaleGateway(replicas);
      await sys.settled(300_000);
    }
    return since(t0);
  },
};
