import { ok, strictEqual } from "node:assert/strict";
import { clusterAvailable, eventually } from "../mod.ts";
import { lacquerCacheDir } from "../layout.ts";
import { nodeImageArchives } from "./node_images.ts";
import { startOwnRealNodeCluster } from "./own_cluster.ts";

const imagesMissing = await nodeImageArchives(lacquerCacheDir(Deno.env)).then(() => false, () => true);
if (clusterAvailable() && imagesMissing) console.warn("real node test skipped: no node images built");

/** The echo app: two replicas behind a LoadBalancer Service, from the imported echo-basic image. */
const APP = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: echo
        image: registry.k8s.io/gateway-api/echo-basic:v1.5.1
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        ports: [{containerPort: 3000}]
        readinessProbe: {httpGet: {path: /, port: 3000}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  type: LoadBalancer
  selector: {app: echo}
  ports: [{port: 80, targetPort: 3000}]
`;

/**
 * Resolves a name through the cluster DNS Service and fetches `/` from the address it gets, from inside the
 * cluster's network namespace; prints `<address> <pod name>`.
 */
const RESOLVE_AND_FETCH = `
const [ip] = await Deno.resolveDns(Deno.args[0], "A", { nameServer: { ipAddr: "10.96.0.10", port: 53 } });
const body = await (await fetch("http://" + ip + "/")).json();
console.log(ip, body.pod);
`;

Deno.test({
  name: "a real-node cluster runs pods from imported images, reachable by LoadBalancer address and DNS name; " +
    "down leaves nothing behind",
  ignore: !clusterAvailable() || imagesMissing,
  sanitizeResources: false,
}, async () => {
  await using cluster = await startOwnRealNodeCluster();
  const { layout, kubectl, inNetns } = cluster;
  try {
    console.log(`real-node cluster "${layout.name}" up in ${cluster.startedInMs} ms`);
    const node = JSON.parse((await kubectl("get", "node", "-o", "json")).stdout).items[0];
    ok(node.status.nodeInfo.containerRuntimeVersion.startsWith("containerd://2."), "containerd 2 runs the pods");
    strictEqual((node.spec.taints ?? []).length, 0);

    const manifest = `${layout.dir}/echo.yaml`;
    await Deno.writeTextFile(manifest, APP);
    await kubectl("apply", "-f", manifest);
    await kubectl("rollout", "status", "deployment/echo", "--timeout=60s");
    const lb = await eventually(async () => {
      const svc = JSON.parse((await kubectl("get", "service", "echo", "-o", "json")).stdout);
      const ip = svc.status.loadBalancer?.ingress?.[0]?.ip;
      ok(ip, "LoadBalancer address assigned");
      return ip as string;
    });
    // kube-proxy programs the address: both pods answer through it
    const pods = new Set<string>();
    await eventually(async () => {
      const out = await inNetns("curl", ["-sf", "-m", "2", `http://${lb}/`]);
      pods.add(JSON.parse(out.stdout).pod);
      strictEqual(pods.size, 2);
    }, { timeoutMs: 30_000 });

    // CoreDNS answers for the Service's name with its ClusterIP, which reaches the pods too
    const clusterIp = (await kubectl("get", "service", "echo", "-o", "jsonpath={.spec.clusterIP}")).stdout;
    const script = `${layout.dir}/resolve.ts`;
    await Deno.writeTextFile(script, RESOLVE_AND_FETCH);
    const answer = await eventually(
      async () =>
        (await inNetns(Deno.execPath(), ["run", "--allow-net", script, "echo.default.svc.cluster.local"])).stdout,
      {
        timeoutMs: 30_000,
      },
    );
    const [ip, pod] = answer.trim().split(" ");
    strictEqual(ip, clusterIp);
    ok(pods.has(pod), `${pod} is one of ${[...pods]}`);
  } catch (err) {
    cluster.keepLogs();
    throw err;
  }

  await cluster.stop();
  // nothing is left: no network namespace, cgroup, state, process or mount of this cluster
  ok(!await exists(`/run/netns/${layout.netns}`), "network namespace removed");
  ok(!await exists(layout.dir), "state directory removed");
  for await (const h of Deno.readDir("/sys/fs/cgroup")) {
    ok(!await exists(`/sys/fs/cgroup/${h.name}/${layout.cgroupName}`), `cgroup ${h.name}/${layout.cgroupName} removed`);
  }
  const mounts = await Deno.readTextFile("/proc/self/mountinfo");
  ok(!mounts.includes(layout.dir), "no mount left");
  for await (const p of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(p.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${p.name}/cmdline`).catch(() => "");
    ok(!cmdline.includes(layout.dir), `process ${p.name} left: ${cmdline.replaceAll("\0", " ")}`);
  }
});

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
