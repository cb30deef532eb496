/**
 * Chaos scenarios that kill a process with SIGKILL: varnishd in a gateway pod (its cache child only, and the whole
 * of it), the chaperone, the leading operator. Each may fail the requests in flight; recovery is the time until the
 * process is back and the Gateway whole, or for the operator until a route created after the kill is served.
 */
import { ok } from "node:assert/strict";
import { eventually } from "../cluster/mod.ts";
import type { ChaosGateway, Pod } from "./chaos_gateway.ts";
import { killAll, podProcesses, type ProcessInfo } from "./processes.ts";
import { type Scenario, since } from "./scenario.ts";

const VARNISH_MANAGER = "varnishd";
/** The name varnishd's worker process gives itself. */
const VARNISH_CHILD = "cache-main";

async function firstPod(sys: ChaosGateway): Promise<Pod> {
  const [pod] = await sys.settled();
  return pod;
}

/** Kills the varnishd processes `pick` chooses in one gateway pod, then waits for a new child and a whole Gateway. */
function killVarnish(name: string, pick: (p: ProcessInfo) => boolean): Scenario {
  return {
    name,
    target: "in-flight",
    async run(sys, fault) {
      const pod = await firstPod(sys);
      const before = await podProcesses(sys.ns, pod.metadata.name);
      const victims = before.filter(pick);
      ok(victims.length > 0, `no varnishd process to kill in ${pod.metadata.name}: ${before.map((p) => p.comm)}`);
      fault();
      const t0 = performance.now();
      killAll(victims);
      const old = new Set(before.map((p) => p.pid));
      await eventually(async () => {
        const now = await podProcesses(sys.ns, pod.metadata.name);
        ok(now.some((p) => p.comm === VARNISH_CHILD && !old.has(p.pid)), "a new varnishd child runs");
      }, { timeoutMs: 120_000, intervalMs: 50 });
      await sys.settled();
      return since(t0);
    },
  };
}

/** kill -9 of varnishd's worker process: its manager starts a new one on the same listening sockets. */
export const killVarnishChild: Scenario = killVarnish(
  "kill -9 varnishd (worker process)",
  (p) => p.comm === VARNISH_CHILD,
);

/** kill -9 of varnishd entirely, manager and worker: the chaperone has to start it again. */
export const killVarnishd: Scenario = killVarnish(
  "kill -9 varnishd (manager and worker)",
  (p) => p.comm === VARNISH_MANAGER || p.comm === VARNISH_CHILD,
);

/** kill -9 of the chaperone, the gateway container's main process: the container restarts. */
export const killChaperone: Scenario = {
  name: "kill -9 the chaperone",
  target: "in-flight",
  async run(sys, fault) {
    const pod = await firstPod(sys);
    const restarts = pod.status?.containerStatuses?.[0]?.restartCount ?? 0;
    const chaperone = (await podProcesses(sys.ns, pod.metadata.name))
      .filter((p) => p.comm === "deno" && p.cmdline.includes("chaperone"));
    ok(chaperone.length === 1, `one chaperone process in ${pod.metadata.name}: ${chaperone.map((p) => p.pid)}`);
    fault();
    const t0 = performance.now();
    killAll(chaperone);
    await eventually(async () => {
      const now = (await sys.gatewayPods()).find((p) => p.metadata.uid === pod.metadata.uid);
      ok((now?.status?.containerStatuses?.[0]?.restartCount ?? 0) > restarts, "the container restarted");
    }, { timeoutMs: 120_000, intervalMs: 100 });
    await sys.settled();
    return since(t0);
  },
};

/** kill -9 of the operator holding the Lease: the standby takes over; recovery ends when a new route is served. */
export const killOperatorLeader: Scenario = {
  name: "kill -9 the operator leader",
  target: "in-flight",
  async run(sys, fault) {
    const holder = (await sys.lease()).holderIdentity ?? "";
    const leader = [...sys.operators.keys()].find((identity) => holder.startsWith(`${identity}_`));
    ok(leader, `the Lease holder ${holder} is one of the operators ${[...sys.operators.keys()]}`);
    fault();
    const t0 = performance.now();
    Deno.kill(sys.operators.get(leader)!.pid, "SIGKILL");
    sys.operators.delete(leader);
    await sys.routeTo("after-leader-kill", "/after-leader-kill", "green");
    await sys.served("/after-leader-kill", "green");
    const recovery = since(t0);
    const now = (await sys.lease()).holderIdentity ?? "";
    ok(!now.startsWith(`${leader}_`), `the Lease moved from ${leader} (${now})`);
    sys.startOperator(); // a new standby for what follows
    return recovery;
  },
};
