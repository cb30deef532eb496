/**
 * Operator failover on a real node: Lacquer installed from `deploy/` with its two operator replicas, the leader's
 * container killed with SIGKILL (so it cannot release the Lease, as when its node dies) and its pod deleted with grace
 * period 0. The standby must take the Lease once it expired and within one lease duration after that (the duration
 * read from the Lease), reconcile a route created after the kill, and the old leader must never renew the Lease again.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { clusterAvailable, eventually } from "../cluster/mod.ts";
import { lacquerCacheDir } from "../cluster/layout.ts";
import { nodeImageArchives } from "../cluster/node/node_images.ts";
import { startOwnRealNodeCluster } from "../cluster/node/own_cluster.ts";
import type { LeaseSpec } from "../../internal/leader_elector.ts";

const imagesMissing = await nodeImageArchives(lacquerCacheDir(Deno.env)).then(() => false, () => true);
if (clusterAvailable() && imagesMissing) console.warn("real node failover test skipped: run `deno task images`");

const DEPLOY = new URL("../../deploy/", import.meta.url).pathname;
const NS = "lacquer-system";
const OPERATOR = "app.kubernetes.io/name=lacquer-operator";

const GATEWAY = `
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 8080, targetPort: 3000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shop, namespace: default}
spec:
  gatewayClassName: lacquer
  listeners: [{name: http, port: 80, protocol: HTTP}]
`;

function route(name: string): string {
  return `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: default}
spec:
  parentRefs: [{name: shop}]
  hostnames: ["${name}.example.com"]
  rules:
  - backendRefs: [{name: echo, port: 8080}]
`;
}

/** Lists the cgroup directories below `dir` named `name`. */
async function findCgroups(dir: string, name: string): Promise<string[]> {
  const found: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isDirectory) continue;
    if (e.name === name) found.push(`${dir}/${e.name}`);
    else found.push(...await findCgroups(`${dir}/${e.name}`, name));
  }
  return found;
}

/** SIGKILLs every process of a container (found by its id in the cluster's `pids` cgroups). */
async function killContainer(cgroupName: string, containerId: string): Promise<void> {
  const dirs = await findCgroups(`/sys/fs/cgroup/pids/${cgroupName}`, containerId);
  equal(dirs.length, 1, `one cgroup of container ${containerId}`);
  const pids = (await Deno.readTextFile(`${dirs[0]}/cgroup.procs`)).split("\n").filter(Boolean).map(Number);
  ok(pids.length > 0, "the container has processes");
  for (const pid of pids) Deno.kill(pid, "SIGKILL");
}

Deno.test({
  name: "on a real node, killing the leading operator pod moves reconciliation to the standby within the lease " +
    "duration, and the old leader never renews the Lease again",
  ignore: !clusterAvailable() || imagesMissing,
  sanitizeResources: false,
}, async () => {
  await using cluster = await startOwnRealNodeCluster({ gatewayApiChannel: "standard" });
  const { layout, kubectl } = cluster;
  const getJson = async (...args: string[]) => JSON.parse((await kubectl("get", ...args, "-o", "json")).stdout);
  const lease = async (): Promise<LeaseSpec> => (await getJson("-n", NS, "lease", "lacquer-operator")).spec ?? {};
  const apply = async (name: string, text: string) => {
    const file = `${layout.dir}/${name}.yaml`;
    await Deno.writeTextFile(file, text);
    await kubectl("apply", "-f", file);
  };
  const reconciled = async (name: string) => {
    const r = await getJson("httproute", name);
    const accepted = r.status?.parents?.[0]?.conditions?.find((c: { type: string }) => c.type === "Accepted");
    equal(accepted?.status, "True", `HTTPRoute ${name} accepted`);
    equal(accepted?.observedGeneration, r.metadata.generation);
    const cm = await getJson("configmap", "shop-lacquer");
    ok(cm.data["routing.json"].includes(`"${name}.example.com"`), `routing.json serves ${name}.example.com`);
  };
  try {
    await kubectl("apply", "--server-side", "-f", `${DEPLOY}crds/`);
    await kubectl("apply", "--server-side", "-f", `${DEPLOY}operator/`);
    await kubectl("-n", NS, "rollout", "status", "deployment/lacquer-operator", "--timeout=120s");
    // A replacement pod would race the standby for the expired Lease; the claim is about the standby, so the two
    // pods are left without their Deployment and ReplicaSet.
    await kubectl("-n", NS, "delete", "deployment", "lacquer-operator", "--cascade=orphan");
    await kubectl("-n", NS, "delete", "replicaset", "-l", OPERATOR, "--cascade=orphan");

    await apply("shop", GATEWAY + "---" + route("before"));
    await eventually(() => reconciled("before"), { timeoutMs: 120_000 });

    const pods: { metadata: { name: string }; status: { containerStatuses: { containerID: string }[] } }[] =
      (await getJson("-n", NS, "pods", "-l", OPERATOR)).items;
    equal(pods.length, 2, "two operator replicas");
    // kill right after a renewal, so the Lease's renewTime is the old leader's last write
    const first = await lease();
    let held: LeaseSpec = first;
    await eventually(async () => {
      held = await lease();
      ok(held.renewTime !== first.renewTime, "the leader renewed");
    }, { timeoutMs: 30_000 });
    const leader = pods.find((p) => held.holderIdentity?.startsWith(`${p.metadata.name}_`));
    const standby = pods.find((p) => p !== leader);
    ok(leader && standby, `the Lease holder ${held.holderIdentity} is one of the pods`);
    const durationMs = (held.leaseDurationSeconds ?? 0) * 1000;
    ok(durationMs > 0, "the Lease states its duration");

    const containerId = leader.status.containerStatuses[0].containerID.replace(/^\w+:\/\//, "");
    await killContainer(layout.cgroupName, containerId);
    await kubectl("-n", NS, "delete", "pod", leader.metadata.name, "--grace-period=0", "--force", "--wait=false");
    await apply("after", route("after"));

    // every holder and renewal the Lease shows from now on; the first is the old leader's last write
    const last = await lease();
    equal(last.holderIdentity, held.holderIdentity, "the Lease not taken yet");
    const seen: LeaseSpec[] = [];
    let taken: LeaseSpec | undefined;
    await eventually(async () => {
      const now = await lease();
      seen.push(now);
      ok(
        now.holderIdentity?.startsWith(`${standby.metadata.name}_`),
        `standby holds the Lease (${now.holderIdentity})`,
      );
      taken = now;
    }, { timeoutMs: 4 * durationMs, intervalMs: 200 });
    const expiry = Date.parse(last.renewTime!) + durationMs;
    const acquired = Date.parse(taken!.acquireTime!);
    ok(acquired >= expiry, `not taken before the lease expired (${acquired - expiry} ms)`);
    ok(acquired - expiry < durationMs, `taken ${acquired - expiry} ms after expiry, within ${durationMs} ms`);
    equal(taken!.leaseTransitions, (held.leaseTransitions ?? 0) + 1, "one transition: old leader → standby");

    await eventually(() => reconciled("after"), { timeoutMs: 60_000 });
    // while the Lease still named the old leader, nothing renewed it
    const oldRenewals = seen.filter((s) => s.holderIdentity === held.holderIdentity).map((s) => s.renewTime);
    deepEqual([...new Set(oldRenewals)].filter((t) => t !== last.renewTime), [], "no renewal after the kill");
    ok((await lease()).holderIdentity?.startsWith(`${standby.metadata.name}_`), "the standby still holds the Lease");
  } catch (err) {
    cluster.keepLogs();
    throw err;
  }
});
