import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { createKubeClient, type KubeApiError, loadKubeConfig } from "../../internal/kube/mod.ts";
import { parseNodeMode } from "./layout.ts";
import { runCommand } from "./run_command.ts";
import {
  API_PORT,
  clusterAvailable,
  consistently,
  createTestNamespace,
  eventually,
  kubectl,
  NODE_IP,
  NODE_NAME,
  podNetns,
  podRoot,
  type TestNamespace,
  useCluster,
} from "./mod.ts";

// the process kubelet's own tests: its cluster runs only with LACQUER_NODE=process
const ignore = !clusterAvailable() || parseNodeMode(Deno.env.get("LACQUER_NODE")) !== "process";
if (ignore) console.warn("process kubelet tests skipped: run them with `LACQUER_NODE=process deno task test`");

interface PodLike {
  metadata: { name: string; uid: string };
  status?: {
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { restartCount: number; ready: boolean }[];
  };
}

function echoDeployment(name: string, replicas: number) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [{
            name: "echo",
            image: "gcr.io/k8s-staging-gateway-api/echo-basic:v20240412-v1.0.0-394-g40c666fd",
            env: [
              { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
            ],
            ports: [{ name: "http", containerPort: 3000 }],
            readinessProbe: { httpGet: { path: "/health", port: 3000 }, periodSeconds: 1 },
          }],
        },
      },
    },
  };
}

function echoService(name: string, type: "ClusterIP" | "LoadBalancer") {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    spec: { type, selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: 3000 }] },
  };
}

async function create(ns: TestNamespace, path: string, body: unknown): Promise<void> {
  await ns.client.request(path.replace("NS", ns.name), { method: "POST", body });
}

async function listPods(ns: TestNamespace, app: string): Promise<PodLike[]> {
  const list = await ns.client.request<{ items: PodLike[] }>(`/api/v1/namespaces/${ns.name}/pods`, {
    query: { labelSelector: `app=${app}` },
  });
  return list.items;
}

function isReady(pod: PodLike): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

async function readyPods(ns: TestNamespace, app: string, count: number): Promise<PodLike[]> {
  return await eventually(async () => {
    const pods = await listPods(ns, app);
    strictEqual(pods.length, count, `pods of ${app}`);
    ok(pods.every(isReady), `all pods Ready: ${JSON.stringify(pods.map((p) => p.status?.conditions))}`);
    return pods;
  });
}

/** Sends one request on a fresh connection (so a TCP load balancer picks again) and returns the echo JSON. */
async function echo(url: string): Promise<{ pod: string; namespace: string; path: string }> {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const response = await fetch(url, { client, signal: AbortSignal.timeout(5000) });
    strictEqual(response.status, 200);
    return await response.json();
  } finally {
    client.close();
  }
}

async function netnsPids(name: string): Promise<number[]> {
  const out = await runCommand("ip", { args: ["netns", "pids", name], allowFailure: true });
  return out.stdout.split(/\s+/).filter(Boolean).map(Number);
}

const netnsExists = (name: string) => Deno.stat(`/run/netns/${name}`).then(() => true, () => false);

Deno.test({
  name: "local cluster runs a 2-replica echo-basic Deployment: Ready pods, distinct IPs, EndpointSlices, logs",
  ignore,
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  await create(ns, "/apis/apps/v1/namespaces/NS/deployments", echoDeployment("echo", 2));
  await create(ns, "/api/v1/namespaces/NS/services", echoService("echo", "ClusterIP"));
  const pods = await readyPods(ns, "echo", 2);
  const ips = pods.map((p) => p.status!.podIP!);
  strictEqual(new Set(ips).size, 2, `distinct pod IPs: ${ips}`);
  ok(ips.every((ip) => ip.startsWith("10.244.")), `pod IPs in 10.244.0.0/16: ${ips}`);

  await eventually(async () => {
    const slices = await ns.client.request<{ items: { endpoints?: { addresses: string[] }[] }[] }>(
      `/apis/discovery.k8s.io/v1/namespaces/${ns.name}/endpointslices`,
      { query: { labelSelector: "kubernetes.io/service-name=echo" } },
    );
    const listed = slices.items.flatMap((s) => (s.endpoints ?? []).flatMap((e) => e.addresses)).sort();
    deepStrictEqual(listed, [...ips].sort());
  });

  // sinceTime travels with one-second precision: start the requests in a new second
  const since = new Date(Math.ceil((Date.now() + 1) / 1000) * 1000);
  await new Promise((r) => setTimeout(r, since.getTime() - Date.now() + 10));
  for (const pod of pods) {
    const body = await echo(`http://${pod.status!.podIP}:3000/hello-${pod.metadata.name}`);
    strictEqual(body.pod, pod.metadata.name);
    strictEqual(body.namespace, ns.name);
  }
  for (const pod of pods) {
    await eventually(async () => {
      const logs = await kubectl(cluster, [
        "-n",
        ns.name,
        "logs",
        pod.metadata.name,
        `--since-time=${since.toISOString()}`,
      ]);
      ok(logs.includes(`Echoing back request made to /hello-${pod.metadata.name}`), logs);
      ok(!logs.includes("Starting server"), `sinceTime filters older lines: ${logs}`);
    });
  }
});

Deno.test({
  name: "local cluster restarts a killed container and counts it; scaling to 0 and deleting clean up",
  ignore,
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  await create(ns, "/apis/apps/v1/namespaces/NS/deployments", echoDeployment("crash", 1));
  const [pod] = await readyPods(ns, "crash", 1);
  const netns = podNetns(cluster, pod.metadata.uid);
  const before = await netnsPids(netns);
  ok(before.length > 0, "the container runs in the pod's network namespace");
  for (const pid of before) Deno.kill(pid, "SIGKILL");

  await eventually(async () => {
    const [now] = await listPods(ns, "crash");
    strictEqual(now.metadata.uid, pod.metadata.uid, "same pod");
    strictEqual(now.status?.containerStatuses?.[0].restartCount, 1);
    ok(isReady(now));
    strictEqual((await echo(`http://${now.status!.podIP}:3000/again`)).pod, pod.metadata.name);
  });

  const deployment = `/apis/apps/v1/namespaces/${ns.name}/deployments/crash`;
  await ns.client.request(deployment, {
    method: "PATCH",
    contentType: "application/merge-patch+json",
    body: { spec: { replicas: 0 } },
  });
  await eventually(async () => {
    deepStrictEqual(await listPods(ns, "crash"), []);
    strictEqual(await netnsExists(netns), false, "pod network namespace removed");
    for (const pid of before) strictEqual(await Deno.stat(`/proc/${pid}`).then(() => true, () => false), false);
  });

  await ns.client.request(deployment, {
    method: "PATCH",
    contentType: "application/merge-patch+json",
    body: { spec: { replicas: 1 } },
  });
  const [second] = await readyPods(ns, "crash", 1);
  const secondNetns = podNetns(cluster, second.metadata.uid);
  const secondPids = await netnsPids(secondNetns);
  ok(secondPids.length > 0);
  await ns.client.request(deployment, {
    method: "DELETE",
    body: { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Foreground" },
  });
  await eventually(async () => {
    deepStrictEqual(await listPods(ns, "crash"), []);
    strictEqual(await netnsExists(secondNetns), false, "pod network namespace removed");
    for (const pid of secondPids) strictEqual(await Deno.stat(`/proc/${pid}`).then(() => true, () => false), false);
  });
});

Deno.test({
  name: "local cluster gives a LoadBalancer Service an address that answers from its pods, as does its ClusterIP",
  ignore,
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  await create(ns, "/apis/apps/v1/namespaces/NS/deployments", echoDeployment("web", 2));
  await create(ns, "/api/v1/namespaces/NS/services", echoService("web", "LoadBalancer"));
  const pods = await readyPods(ns, "web", 2);
  const address = await eventually(async () => {
    const svc = await ns.client.request<{ status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }>(
      `/api/v1/namespaces/${ns.name}/services/web`,
    );
    const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip;
    ok(ip, "status.loadBalancer.ingress[0].ip is set");
    return ip;
  });
  const names = new Set(pods.map((p) => p.metadata.name));
  const seen = new Set<string>();
  await eventually(async () => {
    const body = await echo(`http://${address}/through-lb`);
    ok(names.has(body.pod), `answered by a pod of the Service: ${body.pod}`);
    seen.add(body.pod);
    strictEqual(seen.size, 2, "both pods answer");
  }, { intervalMs: 10 });
  const svc = await ns.client.request<{ spec: { clusterIP: string } }>(`/api/v1/namespaces/${ns.name}/services/web`);
  ok(names.has((await echo(`http://${svc.spec.clusterIP}/through-cluster-ip`)).pod));

  // an address asked for in spec.loadBalancerIP is honoured
  const pinned = echoService("pinned", "LoadBalancer");
  Object.assign(pinned.spec, { selector: { app: "web" }, loadBalancerIP: "10.250.0.77" });
  await create(ns, "/api/v1/namespaces/NS/services", pinned);
  await eventually(async () => ok(names.has((await echo("http://10.250.0.77/pinned")).pod)));

  // several addresses in MetalLB's annotation: all of them, or none with the reason in the Service's condition
  const lbStatus = (name: string) =>
    ns.client.request<{
      status?: {
        loadBalancer?: { ingress?: { ip?: string }[] };
        conditions?: { type: string; status: string; message: string }[];
      };
    }>(`/api/v1/namespaces/${ns.name}/services/${name}`).then((s) => ({
      ips: (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip),
      condition: s.status?.conditions?.find((c) => c.type === "lacquer.dev/LoadBalancerAddresses"),
    }));
  const pair = echoService("pair", "LoadBalancer");
  Object.assign(pair.spec, { selector: { app: "web" } });
  Object.assign(pair.metadata, { annotations: { "metallb.universe.tf/loadBalancerIPs": "192.0.2.1,10.250.0.78" } });
  await create(ns, "/api/v1/namespaces/NS/services", pair);
  await eventually(async () => {
    const { ips, condition } = await lbStatus("pair");
    deepStrictEqual(ips, []);
    strictEqual(condition?.status, "False");
    strictEqual(condition?.message, "192.0.2.1 is not in the pool 10.250.0.0/24");
  });
  await ns.client.request(`/api/v1/namespaces/${ns.name}/services/pair`, {
    method: "PATCH",
    contentType: "application/merge-patch+json",
    body: { metadata: { annotations: { "metallb.universe.tf/loadBalancerIPs": "10.250.0.79,10.250.0.78" } } },
  });
  await eventually(async () => {
    const { ips, condition } = await lbStatus("pair");
    deepStrictEqual(ips, ["10.250.0.79", "10.250.0.78"]);
    strictEqual(condition?.status, "True");
  });
  for (const ip of ["10.250.0.78", "10.250.0.79"]) {
    await eventually(async () => ok(names.has((await echo(`http://${ip}/pair`)).pod)));
  }
  // an address another Service holds is refused
  const thief = echoService("thief", "LoadBalancer");
  Object.assign(thief.spec, { selector: { app: "web" }, loadBalancerIP: "10.250.0.77" });
  await create(ns, "/api/v1/namespaces/NS/services", thief);
  await eventually(async () =>
    strictEqual((await lbStatus("thief")).condition?.message, "10.250.0.77 is used by another Service")
  );
});

Deno.test({
  name: "local cluster starts a pod once its ConfigMap exists, with files below the pod root and a working token",
  ignore,
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  await create(ns, "/apis/rbac.authorization.k8s.io/v1/namespaces/NS/rolebindings", {
    metadata: { name: "view" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
    subjects: [{ kind: "ServiceAccount", name: "default", namespace: ns.name }],
  });
  await create(ns, "/api/v1/namespaces/NS/pods", {
    metadata: { name: "files", labels: { app: "files" } },
    spec: {
      containers: [{
        name: "main",
        image: "example.com/unknown:1",
        env: [{ name: "MODE", valueFrom: { configMapKeyRef: { name: "later", key: "mode" } } }],
        volumeMounts: [{ name: "cfg", mountPath: "/etc/lacquer" }],
      }],
      volumes: [{ name: "cfg", configMap: { name: "later" } }],
    },
  });
  await eventually(async () => {
    const [pod] = await listPods(ns, "files");
    const state = (pod.status as { containerStatuses?: { state: { waiting?: { reason: string } } }[] })
      ?.containerStatuses?.[0]?.state;
    strictEqual(state?.waiting?.reason, "CreateContainerConfigError");
  });
  await create(ns, "/api/v1/namespaces/NS/configmaps", { metadata: { name: "later" }, data: { mode: "fast" } });
  const [pod] = await readyPods(ns, "files", 1);
  const root = podRoot(cluster, { namespace: ns.name, name: "files", uid: pod.metadata.uid });
  strictEqual(await Deno.readTextFile(`${root}/etc/lacquer/mode`), "fast");
  const environ = await eventually(async () => {
    const [pid] = await netnsPids(podNetns(cluster, pod.metadata.uid));
    return await Deno.readTextFile(`/proc/${pid}/environ`);
  });
  ok(environ.split("\0").includes("MODE=fast"), "env from the ConfigMap");
  ok(environ.split("\0").includes(`LACQUER_POD_ROOT=${root}`), "the pod root is passed on");

  // an in-cluster client in the pod reads the service-account files below its root
  const sa = `${root}/var/run/secrets/kubernetes.io/serviceaccount`;
  strictEqual(await Deno.readTextFile(`${sa}/namespace`), ns.name);
  const saved = ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"].map((k) => [k, Deno.env.get(k)] as const);
  Deno.env.set("KUBERNETES_SERVICE_HOST", NODE_IP);
  Deno.env.set("KUBERNETES_SERVICE_PORT", String(API_PORT));
  try {
    const client = createKubeClient(loadKubeConfig({ kubeconfig: "", podRoot: root }));
    try {
      const pods = await client.request<{ items: PodLike[] }>(`/api/v1/namespaces/${ns.name}/pods`);
      deepStrictEqual(pods.items.map((p) => p.metadata.name), ["files"]);
      await rejects(client.request("/api/v1/namespaces/kube-system/secrets"), (err) => {
        strictEqual((err as KubeApiError).code, 403);
        return true;
      });
    } finally {
      client.close();
    }
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});

Deno.test({
  name: "local cluster runs a preStop hook before stopping a deleted pod",
  ignore,
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  await create(ns, "/apis/apps/v1/namespaces/NS/deployments", echoDeployment("witness", 1));
  const [witness] = await readyPods(ns, "witness", 1);
  const deployment = echoDeployment("hooked", 1);
  Object.assign(deployment.spec.template.spec.containers[0], {
    lifecycle: {
      preStop: {
        httpGet: {
          host: witness.status!.podIP,
          port: 3000,
          path: "/prestop",
          httpHeaders: [{ name: "Authorization", value: "Bearer t" }],
        },
      },
    },
  });
  await create(ns, "/apis/apps/v1/namespaces/NS/deployments", deployment);
  const [hooked] = await readyPods(ns, "hooked", 1);
  await ns.client.request(`/api/v1/namespaces/${ns.name}/pods/${hooked.metadata.name}`, { method: "DELETE" });
  await eventually(async () => {
    const logs = await kubectl(cluster, ["-n", ns.name, "logs", witness.metadata.name]);
    ok(logs.includes("Echoing back request made to /prestop"), logs);
  });
});

Deno.test({
  name: "local cluster runs init containers to completion before the containers",
  ignore,
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  const mounts = [{ name: "work", mountPath: "/work" }];
  await create(ns, "/api/v1/namespaces/NS/pods", {
    metadata: { name: "init", labels: { app: "init" } },
    spec: {
      initContainers: [
        {
          name: "first",
          image: "busybox",
          command: ["sh", "-c", 'echo one > "$LACQUER_POD_ROOT/work/marker"'],
          volumeMounts: mounts,
        },
        { name: "unknown", image: "example.com/setup:1" },
      ],
      containers: [{
        name: "main",
        image: "busybox",
        command: ["sh", "-c", 'cat "$LACQUER_POD_ROOT/work/marker"; exec sleep 600'],
        volumeMounts: mounts,
      }],
      volumes: [{ name: "work", emptyDir: {} }],
    },
  });
  const [pod] = await readyPods(ns, "init", 1);
  const statuses =
    (pod.status as { initContainerStatuses?: { name: string; state: { terminated?: { exitCode: number } } }[] })
      .initContainerStatuses;
  deepStrictEqual(statuses?.map((s) => [s.name, s.state.terminated?.exitCode]), [["first", 0], ["unknown", 0]]);
  await eventually(async () => {
    strictEqual(await kubectl(cluster, ["-n", ns.name, "logs", "init", "-c", "main"]), "one\n");
  });
});

Deno.test({
  name: "local cluster kills a container that ignores SIGTERM once the grace period is over",
  ignore,
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  await create(ns, "/api/v1/namespaces/NS/pods", {
    metadata: { name: "stubborn", labels: { app: "stubborn" } },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: "main",
        image: "busybox",
        command: ["sh", "-c", 'trap "" TERM; while true; do sleep 0.1; done'],
      }],
    },
  });
  const [pod] = await readyPods(ns, "stubborn", 1);
  const netns = podNetns(cluster, pod.metadata.uid);
  const pids = await netnsPids(netns);
  ok(pids.length > 0);
  // the shell, not one of its short-lived sleeps
  const cmdline = (pid: number) => Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
  const shell = (await Promise.all(pids.map(async (pid) => (await cmdline(pid)).includes("trap") ? [pid] : [])))
    .flat();
  strictEqual(shell.length, 1, `the shell among ${pids}`);
  const t0 = performance.now();
  await ns.client.request(`/api/v1/namespaces/${ns.name}/pods/stubborn`, { method: "DELETE" });
  // SIGTERM is ignored: the container outlives it until the grace period ends (a lower bound, which slowness cannot
  // break), then SIGKILL removes it before eventually()'s deadline
  await consistently(async () => {
    strictEqual(await Deno.stat(`/proc/${shell[0]}`).then(() => true, () => false), true, "the shell outlives SIGTERM");
  }, { timeoutMs: 500 });
  await eventually(async () => {
    deepStrictEqual(await listPods(ns, "stubborn"), []);
    for (const pid of pids) strictEqual(await Deno.stat(`/proc/${pid}`).then(() => true, () => false), false);
    strictEqual(await netnsExists(netns), false);
  });
  const took = performance.now() - t0;
  ok(took >= 900, `waited for the grace period (${Math.round(took)} ms)`);
});

Deno.test({
  name: "local cluster honours an exec readiness probe run inside the container's namespaces",
  ignore,
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  await create(ns, "/api/v1/namespaces/NS/pods", {
    metadata: { name: "probed", labels: { app: "probed" } },
    spec: {
      containers: [{
        name: "main",
        image: "busybox",
        command: ["sh", "-c", "sleep 1; touch /var/run/lacquer-probe/ready; exec sleep 600"],
        volumeMounts: [{ name: "state", mountPath: "/var/run/lacquer-probe" }],
        readinessProbe: { exec: { command: ["test", "-f", "/var/run/lacquer-probe/ready"] }, periodSeconds: 1 },
      }],
      volumes: [{ name: "state", emptyDir: {} }],
    },
  });
  await eventually(async () => {
    const [pod] = await listPods(ns, "probed");
    ok(pod.status?.containerStatuses?.length, "container started");
    strictEqual(isReady(pod), false, "not Ready before the file exists");
  });
  const [pod] = await readyPods(ns, "probed", 1);
  ok(
    await Deno.stat(
      `${podRoot(cluster, { namespace: ns.name, name: "probed", uid: pod.metadata.uid })}/var/run/lacquer-probe/ready`,
    ),
  );
});

Deno.test({
  name: "local cluster registers a Ready node with a fresh lease and completes Job pods",
  ignore,
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  const node = await ns.client.request<{ status: { conditions: { type: string; status: string }[] } }>(
    `/api/v1/nodes/${NODE_NAME}`,
  );
  ok(node.status.conditions.some((c) => c.type === "Ready" && c.status === "True"));
  const lease = await ns.client.request<{ spec: { holderIdentity: string; renewTime: string } }>(
    `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE_NAME}`,
  );
  strictEqual(lease.spec.holderIdentity, NODE_NAME);
  // renewed while we watch (every 10 s), rather than compared with the wall clock
  await eventually(async () => {
    const now = await ns.client.request<{ spec: { renewTime: string } }>(
      `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE_NAME}`,
    );
    ok(Date.parse(now.spec.renewTime) > Date.parse(lease.spec.renewTime), `renewed: ${now.spec.renewTime}`);
  }, { timeoutMs: 30_000, intervalMs: 500 });

  await create(ns, "/apis/batch/v1/namespaces/NS/jobs", {
    metadata: { name: "once" },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { app: "once" } },
        spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox", command: ["true"] }] },
      },
    },
  });
  await eventually(async () => {
    const job = await ns.client.request<{ status?: { succeeded?: number } }>(
      `/apis/batch/v1/namespaces/${ns.name}/jobs/once`,
    );
    strictEqual(job.status?.succeeded, 1);
  });
});
