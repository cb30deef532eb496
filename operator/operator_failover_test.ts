/**
 * Two operator replicas with leader election against the real API server: when the leader stops renewing without
 * releasing the lease (here: frozen with SIGSTOP, as a hung process or a partitioned node would be), the standby takes
 * over reconciliation once the lease expires; the old leader, when it wakes up, finds the lease taken, exits 1 and
 * writes nothing.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { installLacquerCrds } from "../tests/cluster/crd_installer.ts";
import {
  clusterAvailable,
  consistently,
  createTestNamespace,
  eventually,
  type TestCluster,
  useCluster,
} from "../tests/cluster/mod.ts";
import { createGatewayClass, GW, startTestOperator, type TestOperator } from "./_test_operator.ts";

/** The operator's log messages of its API writes. */
const WRITE = /^(Child object (applied|deleted)|\w+ status written)$/;

type Replica = TestOperator;

function startReplica(cluster: TestCluster, namespace: string, cls: string): Promise<Replica> {
  return startTestOperator({ kubeconfig: cluster.kubeconfig, leaseNamespace: namespace, gatewayClass: cls });
}

async function leads(replica: Replica): Promise<boolean> {
  const text = await (await fetch(replica.metricsUrl)).text();
  const m = /^lacquer_operator_leader (\d+)$/m.exec(text);
  if (!m) throw new Error("no lacquer_operator_leader gauge yet");
  return m[1] === "1";
}

/** Resolves with `promise`, or fails once `ms` have passed. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
  );
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

Deno.test({
  name: "two operator replicas: the standby takes over from a leader that stopped renewing, which exits 1 without " +
    "writing when it wakes",
  ignore: !clusterAvailable(),
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  const client = ns.client;
  await installLacquerCrds(client);
  const cls = `lacquer-${ns.name}`;
  await createGatewayClass(client, cls);
  const gateway = (name: string) => ({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name, namespace: ns.name },
    spec: { gatewayClassName: cls, listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
  });
  const configMapOf = (gw: string) => client.request(`/api/v1/namespaces/${ns.name}/configmaps/${gw}-lacquer`);
  const a = await startReplica(cluster, ns.name, cls);
  let b: Replica | undefined;
  let frozen = false;
  let failed = true;
  try {
    await eventually(async () => ok(await leads(a), "a leads"), { timeoutMs: 60_000 });
    b = await startReplica(cluster, ns.name, cls);
    const standby = b;
    await eventually(async () => equal(await leads(standby), false), { timeoutMs: 60_000 });
    await client.request(`${GW}/namespaces/${ns.name}/gateways`, { method: "POST", body: gateway("one") });
    await eventually(() => configMapOf("one"), { timeoutMs: 60_000 });
    await consistently(async () => equal(await leads(standby), false, "b stays standby while a renews"), {
      timeoutMs: 1000,
    });

    // a stops renewing and cannot release: b must wait for the lease (15 s) to expire, then reconcile
    Deno.kill(a.process.pid, "SIGSTOP");
    frozen = true;
    await client.request(`${GW}/namespaces/${ns.name}/gateways`, { method: "POST", body: gateway("two") });
    await eventually(async () => ok(await leads(standby), "b leads"), { timeoutMs: 60_000 });
    await eventually(() => configMapOf("two"), { timeoutMs: 60_000 });

    // a wakes up with a stale view and queued watch events: it must see the lease taken and stop without writing
    const woke = Date.now();
    Deno.kill(a.process.pid, "SIGCONT");
    frozen = false;
    const status = await within(a.process.status, 60_000, "the old leader exits");
    equal(status.code, 1, "the old leader exits 1 (leadership lost)");
    const lines = (await Deno.readTextFile(a.logFile)).split("\n").filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg: string; time: string });
    ok(lines.some((l) => /Leader election lost/.test(l.msg)), "the old leader says it lost the lease");
    const writes = lines.filter((l) => Date.parse(l.time) >= woke && WRITE.test(l.msg));
    deepEqual(writes, [], "the old leader writes nothing after waking");
    failed = false;
  } finally {
    if (frozen) Deno.kill(a.process.pid, "SIGCONT");
    await client.request(`${GW}/namespaces/${ns.name}/gateways`, { method: "DELETE" }).catch(() => {});
    for (const replica of [a, b]) {
      if (!replica) continue;
      await replica.process.stop(30_000);
      if (failed) console.error(await Deno.readTextFile(replica.logFile));
      await Deno.remove(replica.logFile);
    }
    await client.request(`${GW}/gatewayclasses/${cls}`, { method: "DELETE" }).catch(() => {});
  }
});
