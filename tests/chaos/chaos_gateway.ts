/**
 * The chaos suite's system under test: the end-to-end Gateway (`tests/e2e/`) with two gateway pods (or as many as
 * asked, with a clustered cache if asked), a user VCL, two echo apps `blue` and `green` (two pods each, a PodDisruptionBudget each) behind the routes `/blue` and `/green`,
 * and two operator processes with leader election (the standby takes over when the leader dies).
 *
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import type { KubeClient } from "../../internal/kube/mod.ts";
import type { LeaseSpec } from "../../internal/leader_elector.ts";
import { eventually, freePort, useCluster } from "../cluster/mod.ts";
import type { LoggedProcess } from "../cluster/spawn_logged.ts";
import { apply, applyApp, type E2eGateway, echoApp, get, GW_API, podOf, startE2eGateway } from "../e2e/_e2e_gateway.ts";
import { startOperatorProcess } from "../stack/operator_process.ts";
import type { Probe } from "./load_driver.ts";

/** The Lease the operators elect their leader with (the suite has its cluster to itself). */
const LEASE = { namespace: "default", name: "lacquer-chaos" };
const OPERATOR_ARGS = [
  "--leader-elect",
  "--lease-namespace",
  LEASE.namespace,
  "--lease-name",
  LEASE.name,
];
/** The gateway pods: two, so that one can fail while the other serves. */
export const GATEWAY_PODS = 2;
/** The routes the load follows: each path to its own app. */
export const PROBES: Probe[] = [{ path: "/blue", apps: ["blue"] }, { path: "/green", apps: ["green"] }];

/** A pod as the suite reads it. */
export interface Pod {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  status?: {
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; restartCount: number; ready: boolean }[];
  };
}

/** The running system. */
export interface ChaosGateway extends AsyncDisposable {
  gw: E2eGateway;
  client: KubeClient;
  ns: string;
  address: string;
  /** The operator processes by leader-election identity prefix. */
  operators: Map<string, LoggedProcess>;
  /** Starts one more operator (a new standby); returns its identity prefix. */
  startOperator(): string;
  /** Reads the operators' Lease. */
  lease(): Promise<LeaseSpec>;
  /** The Gateway's pods. */
  gatewayPods(): Promise<Pod[]>;
  /** Waits until the Gateway has its ready pods (`GATEWAY_PODS` unless scaled), none terminating, all in its Service's endpoints. */
  settled(timeoutMs?: number): Promise<Pod[]>;
  /** Sets the gateway pod count (GatewayParameters `replicas`), which `settled()` then waits for. */
  scaleGateway(replicas: number): Promise<void>;
  /** Applies the HTTPRoute `name` on the Gateway with these rules. */
  applyRoute(name: string, rules: unknown[]): Promise<void>;
  /** Applies the HTTPRoute `name` sending `path` to `app`. */
  routeTo(name: string, path: string, app: string): Promise<void>;
  /** Waits until `path` is answered by `app`; returns how long that took. */
  served(path: string, app: string, timeoutMs?: number): Promise<number>;
  /** Scales an app's Deployment and waits until it has that many pods, all ready. */
  scaleApp(app: string, replicas: number): Promise<void>;
}

function pdb(namespace: string, app: string): Record<string, unknown> {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: app, namespace },
    spec: { minAvailable: 1, selector: { matchLabels: { app } } },
  };
}

/** A user VCL that adds a response header; the bad-VCL scenario replaces it and puts it back. */
export function userVcl(namespace: string, body = 'set resp.http.X-Chaos = "1";'): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "user-vcl", namespace },
    data: { "user.vcl": `sub vcl_deliver {\n    ${body}\n}\n` },
  };
}

/**
 * Starts the system and waits until both routes are served through both gateway pods' Service.
 *
 * @param options The gateway pod count (`GATEWAY_PODS` by default) and whether their cache is clustered.
 * @returns The running system; dispose it to stop the operators and delete the namespace.
 */
export async function startChaosGateway(
  options: { pods?: number; clustered?: boolean } = {},
): Promise<ChaosGateway> {
  const cluster = await useCluster();
  let pods = options.pods ?? GATEWAY_PODS;
  const parameters = (namespace: string) => ({
    apiVersion: "lacquer.dev/v1alpha1",
    kind: "GatewayParameters",
    metadata: { name: "params", namespace },
    spec: {
      service: { type: "LoadBalancer" },
      replicas: pods,
      vcl: { configMapRef: { name: "user-vcl" } },
      ...(options.clustered && { cache: { clustered: true } }),
    },
  });
  // operator processes of this checkout: the suite starts, kills and pauses them
  const gw = await startE2eGateway({
    operator: "process",
    parametersRef: "params",
    // the class lets the Gateway's own parameters set this
    allowedGatewayOverrides: ["vcl"],
    operatorArgs: [...OPERATOR_ARGS, "--identity", "chaos-1"],
    setup: async ({ client, name }) => {
      await applyApp(client, [...echoApp(name, "blue", 2), ...echoApp(name, "green", 2)]);
      for (const app of ["blue", "green"]) {
        await apply(client, `/apis/policy/v1/namespaces/${name}/poddisruptionbudgets`, pdb(name, app));
      }
      await apply(client, `/api/v1/namespaces/${name}/configmaps`, userVcl(name));
      await apply(client, `/apis/lacquer.dev/v1alpha1/namespaces/${name}/gatewayparameters`, parameters(name));
    },
  });
  const { client, address } = gw;
  const ns = gw.ns.name;
  const first = gw.operatorProcess!;
  const operators = new Map<string, LoggedProcess>([["chaos-1", first.process]]);
  let started = 1;
  const startOperator = () => {
    const identity = `chaos-${++started}`;
    operators.set(
      identity,
      startOperatorProcess({
        kubeconfig: cluster.kubeconfig,
        logFile: first.logFile,
        port: freePort(2),
        logLevel: "debug",
        args: [
          "--gateway-service-type",
          "LoadBalancer",
          "--gateway-replicas",
          "1",
          ...OPERATOR_ARGS,
          "--identity",
          identity,
        ],
      }),
    );
    return identity;
  };
  const gatewayPods = async () =>
    (await client.request<{ items: Pod[] }>(`/api/v1/namespaces/${ns}/pods`, {
      query: { labelSelector: `gateway.networking.k8s.io/gateway-name=${gw.gateway}` },
    })).items;
  const settled = (timeoutMs = 180_000) =>
    eventually(async () => {
      const found = await gatewayPods();
      equal(found.length, pods, `gateway pods: ${found.map((p) => p.metadata.name)}`);
      for (const p of found) {
        ok(!p.metadata.deletionTimestamp, `${p.metadata.name} is terminating`);
        const ready = p.status?.conditions?.find((c) => c.type === "Ready")?.status;
        equal(ready, "True", `${p.metadata.name} ready`);
      }
      const slices = await client.request<{ items: { endpoints?: { conditions?: { ready?: boolean } }[] }[] }>(
        `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
        { query: { labelSelector: `kubernetes.io/service-name=${gw.gateway}` } },
      );
      const ready = slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready !== false);
      equal(ready.length, pods, "ready endpoints of the Gateway's Service");
      return found;
    }, { timeoutMs, intervalMs: 250 });
  const applyRoute = (name: string, rules: unknown[]) =>
    apply(client, `${GW_API}/namespaces/${ns}/httproutes`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name, namespace: ns },
      spec: { parentRefs: [{ name: gw.gateway }], rules },
    });
  const routeTo = (name: string, path: string, app: string) =>
    applyRoute(name, [
      { matches: [{ path: { type: "PathPrefix", value: path } }], backendRefs: [{ name: app, port: 8080 }] },
    ]);
  const served = async (path: string, app: string, timeoutMs = 120_000) => {
    const t0 = performance.now();
    await eventually(async () => {
      // several answers in a row: both gateway pods must serve it
      for (let i = 0; i < 4; i++) {
        const r = await get(address, path);
        equal(r.status, 200, `${path}: HTTP ${r.status}`);
        ok(podOf(r.body)?.startsWith(`${app}-`), `${path} answered by ${podOf(r.body)}, not ${app}`);
      }
    }, { timeoutMs, intervalMs: 100 });
    return Math.round(performance.now() - t0);
  };
  const scaleApp = async (app: string, replicas: number) => {
    const path = `/apis/apps/v1/namespaces/${ns}/deployments/${app}`;
    await client.request(`${path}/scale`, {
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: { spec: { replicas } },
    });
    await eventually(async () => {
      const d = await client.request<{
        metadata: { generation: number };
        status: { observedGeneration?: number; replicas?: number; readyReplicas?: number };
      }>(path);
      equal(d.status.observedGeneration, d.metadata.generation);
      deepEqual([d.status.replicas ?? 0, d.status.readyReplicas ?? 0], [replicas, replicas], `${app} replicas`);
    }, { timeoutMs: 120_000, intervalMs: 200 });
  };
  const system: ChaosGateway = {
    gw,
    client,
    ns,
    address,
    operators,
    startOperator,
    lease: async () =>
      (await client.request<{ spec?: LeaseSpec }>(
        `/apis/coordination.k8s.io/v1/namespaces/${LEASE.namespace}/leases/${LEASE.name}`,
      )).spec ?? {},
    gatewayPods,
    settled,
    async scaleGateway(replicas) {
      pods = replicas;
      await apply(client, `/apis/lacquer.dev/v1alpha1/namespaces/${ns}/gatewayparameters`, parameters(ns));
    },
    applyRoute,
    routeTo,
    served,
    scaleApp,
    async [Symbol.asyncDispose]() {
      for (const [identity, p] of operators) if (identity !== "chaos-1") await p.stop(10_000);
      await gw[Symbol.asyncDispose]();
    },
  };
  try {
    startOperator();
    for (const { path, apps } of PROBES) await routeTo(apps[0], path, apps[0]);
    for (const { path, apps } of PROBES) await served(path, apps[0]);
    await settled();
    return system;
  } catch (err) {
    await system[Symbol.asyncDispose]();
    throw err;
  }
}
