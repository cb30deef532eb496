/**
 * Measures how fast a pod's own readiness signal reaches traffic on the local cluster: the fastest a gateway pod could
 * take itself out of its Service when varnishd dies (the chaperone patching a readiness-gate condition of its own Pod
 * the moment it sees varnishd exit), compared with varnishd's restart gap. Two echo pods behind a ClusterIP Service,
 * one with a readiness gate; the gate's condition is set False through the API (as the chaperone would, `pods/status`),
 * and the time is taken until the EndpointSlice says not ready and until new connections stop reaching that pod, then
 * set True again; repeated `LACQUER_GATE_ROUNDS` times (default 10) under a steady stream of new connections.
 *
 * Run: `deno run --allow-all tests/cluster/run_tests.ts tests/chaos/readiness_gate_latency.ts`.
 *
 * @module
 */
import type { KubeObject } from "../../internal/kube/mod.ts";
import { clusterAvailable, createTestNamespace, ECHO_IMAGE, eventually, useCluster } from "../cluster/mod.ts";

const GATE = "lacquer.dev/serving";
const ROUNDS = Number(Deno.env.get("LACQUER_GATE_ROUNDS") ?? "10");

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.ceil((p / 100) * xs.length) - 1];

Deno.test({
  name: "readiness gate → EndpointSlice → kube-proxy: how long until a pod that marks itself not ready gets no " +
    "new connection",
  ignore: !clusterAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  const client = ns.client;
  const api = `/api/v1/namespaces/${ns.name}`;
  const pod = (name: string, gated: boolean) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: "echo" } },
    spec: {
      terminationGracePeriodSeconds: 1,
      ...(gated ? { readinessGates: [{ conditionType: GATE }] } : {}),
      containers: [{
        name: "echo",
        image: ECHO_IMAGE,
        env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
        ports: [{ containerPort: 3000 }],
        readinessProbe: { httpGet: { path: "/", port: 3000 }, periodSeconds: 1 },
      }],
    },
  });
  await client.request(`${api}/pods`, { method: "POST", body: pod("gated", true) });
  await client.request(`${api}/pods`, { method: "POST", body: pod("plain", false) });
  const service = await client.request<{ spec: { clusterIP: string } }>(`${api}/services`, {
    method: "POST",
    body: {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "echo" },
      spec: { selector: { app: "echo" }, ports: [{ port: 80, targetPort: 3000 }] },
    },
  });
  const setGate = (status: "True" | "False") =>
    client.request(`${api}/pods/gated/status`, {
      method: "PATCH",
      contentType: "application/strategic-merge-patch+json",
      body: { status: { conditions: [{ type: GATE, status, lastTransitionTime: new Date().toISOString() }] } },
    });
  const gatedEndpointReady = async () => {
    const slices = await client.request<{ items: { endpoints?: KubeObject[] }[] }>(
      `/apis/discovery.k8s.io/v1/namespaces/${ns.name}/endpointslices`,
      { query: { labelSelector: "kubernetes.io/service-name=echo" } },
    );
    const endpoint = slices.items.flatMap((s) => s.endpoints ?? [])
      .find((e) => (e as { targetRef?: { name: string } }).targetRef?.name === "gated") as
        | { conditions?: { ready?: boolean } }
        | undefined;
    return endpoint?.conditions?.ready === true;
  };

  // A stream of new connections, each answered by one pod: when did "gated" last answer?
  const address = `http://${service.spec.clusterIP}/`;
  const http = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  let lastGatedAnswer = 0;
  let stop = false;
  const stream = (async () => {
    while (!stop) {
      const body = await fetch(address, { client: http, signal: AbortSignal.timeout(2000) })
        .then((r) => r.json(), () => undefined) as { pod?: string } | undefined;
      if (body?.pod === "gated") lastGatedAnswer = performance.now();
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    await setGate("True");
    await eventually(async () => {
      if (!(await gatedEndpointReady())) throw new Error("gated pod not ready yet");
      if (performance.now() - lastGatedAnswer > 500) throw new Error("gated pod not answering yet");
    }, { timeoutMs: 120_000 });
    const sliceMs: number[] = [];
    const trafficMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.now();
      await setGate("False");
      const patchedMs = performance.now() - t0;
      let slice = 0;
      await eventually(async () => {
        if (await gatedEndpointReady()) throw new Error("still ready");
        slice = performance.now() - t0;
      }, { timeoutMs: 30_000, intervalMs: 10 });
      // traffic has stopped reaching the pod once it has not answered for a second
      await eventually(() => {
        if (performance.now() - Math.max(lastGatedAnswer, t0) < 1000) throw new Error("still answering");
      }, { timeoutMs: 30_000, intervalMs: 20 });
      const traffic = Math.max(0, lastGatedAnswer - t0);
      sliceMs.push(slice);
      trafficMs.push(traffic);
      console.log(
        `round ${round + 1}: patch ${patchedMs.toFixed(0)} ms, EndpointSlice not ready after ${slice.toFixed(0)} ms, ` +
          `last new connection answered by the pod ${traffic.toFixed(0)} ms after the patch`,
      );
      await setGate("True");
      await eventually(() => {
        if (performance.now() - lastGatedAnswer > 300) throw new Error("gated pod not answering again");
      }, { timeoutMs: 30_000, intervalMs: 20 });
    }
    const summary = (xs: number[]) =>
      `p50 ${percentile(xs, 50).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms (${xs.length} rounds)`;
    console.log(`readiness gate False → EndpointSlice not ready: ${summary(sliceMs)}`);
    console.log(`readiness gate False → last new connection to the pod: ${summary(trafficMs)}`);
    console.log(`load average: ${(await Deno.readTextFile("/proc/loadavg")).trim()}`);
  } finally {
    stop = true;
    await stream;
    http.close();
  }
});
