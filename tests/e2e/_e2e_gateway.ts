/**
 * Shared set-up of the end-to-end tests on the shared test cluster: the operator, a GatewayClass of its own, an echo
 * app and a Gateway whose pods run the gateway image (the real chaperone, varnishd and ghost). The operator runs as
 * users run it: in-cluster from its image, installed by `helm install` of the chart into the test's namespace, or
 * (`operator: "process"`) as a process of this checkout against the cluster's kubeconfig.
 *
 * @module
 */
import { equal } from "node:assert/strict";
import { CHART_DIR, helmBinary } from "../../deploy/render_manifests.ts";
import type { KubeClient } from "../../internal/kube/mod.ts";
import { CONTROLLER_NAME } from "../../internal/names.ts";
import { installLacquerCrds } from "../cluster/crd_installer.ts";
import {
  createTestNamespace,
  eventually,
  freePort,
  kubectl,
  runCommand,
  type TestCluster,
  type TestNamespace,
  useCluster,
} from "../cluster/mod.ts";
import type { LoggedProcess } from "../cluster/spawn_logged.ts";
import { startOperatorProcess } from "../stack/operator_process.ts";

/** The Gateway API group path. */
export const GW_API = "/apis/gateway.networking.k8s.io/v1";

/** A Gateway serving traffic in its own test namespace. */
export interface E2eGateway extends AsyncDisposable {
  ns: TestNamespace;
  client: KubeClient;
  /** The Gateway's address (a LoadBalancer IP inside the test network namespace). */
  address: string;
  /** The Gateway's name. */
  gateway: string;
  /** The operator's log so far (printed when a test fails). */
  readOperatorLog(): Promise<string>;
  /** The operator process, its log file and its metrics port on 127.0.0.1, with `operator: "process"`. */
  operatorProcess?: { process: LoggedProcess; logFile: string; metricsPort: number };
}

/** A running operator of {@linkcode startE2eGateway}. */
interface E2eOperator {
  readLog(): Promise<string>;
  stop(): Promise<void>;
  process?: { process: LoggedProcess; logFile: string; metricsPort: number };
}

/**
 * `helm install` of the chart into the test's namespace: the operator (one replica, from its image) with the chart's
 * RBAC, serving only the test's GatewayClass, which the test creates itself (no class parameters, as with the
 * process), with no IngressClass and no admission checks.
 */
async function installOperator(cluster: TestCluster, ns: string, cls: string, args: string[]): Promise<E2eOperator> {
  const helm = (helmArgs: string[]) =>
    runCommand(helmBinary(), {
      args: [...helmArgs, "--kubeconfig", cluster.kubeconfig, "--namespace", ns],
      allowFailure: true,
    });
  const release = ns;
  const readLog = () =>
    kubectl(cluster, ["-n", ns, "logs", `deploy/${release}-operator`, "--tail=-1"]).catch((err) => `${err}`);
  const stop = async () => void await helm(["uninstall", release, "--wait", "--timeout", "60s"]);
  const install = await helm([
    "install",
    release,
    CHART_DIR,
    "--set",
    "gatewayClass.create=false",
    // cluster-wide and named alike in every release: a test that needs one makes its own
    "--set",
    "ingressClass.create=false",
    // no admission checks: they would watch every namespace of the shared cluster, and the tests post what the
    // webhook refuses (a regex ghost cannot compile) to see the operator report it, as when the webhook is down
    "--set",
    "admission.webhook.enabled=false",
    "--set",
    "admission.policy.enabled=false",
    "--set",
    `operator.gatewayClasses={${cls}}`,
    "--set",
    "operator.replicas=1",
    "--set",
    "podDisruptionBudget.enabled=false",
    "--set",
    "operator.logLevel=debug",
    "--set-string",
    `operator.extraArgs={${args.join(",")}}`,
    "--wait",
    "--timeout",
    "2m",
  ]);
  if (install.code !== 0) {
    const log = await readLog();
    await stop();
    throw new Error(`helm install of the operator failed: ${install.stderr.trim()}\n${log}`);
  }
  return { readLog, stop };
}

/** The operator of this checkout as a process against the cluster's kubeconfig, logging to a temporary file. */
async function startProcessOperator(
  cluster: TestCluster,
  args: string[],
  invalidationPort: number | undefined,
): Promise<E2eOperator> {
  const logFile = await Deno.makeTempFile({ prefix: "e2e-operator-", suffix: ".log" });
  const metricsPort = freePort(2); // metrics, and health on port + 1
  const operator = startOperatorProcess({
    kubeconfig: cluster.kubeconfig,
    logFile,
    port: metricsPort,
    logLevel: "debug",
    invalidationPort,
    args,
  });
  return {
    readLog: () => Deno.readTextFile(logFile).catch(() => ""),
    stop: async () => void await operator.stop(10_000),
    process: { process: operator, logFile, metricsPort },
  };
}

/** Applies an object with server-side apply (field manager `lacquer-e2e`). */
export async function apply(client: KubeClient, path: string, object: Record<string, unknown>): Promise<void> {
  const name = (object.metadata as { name: string }).name;
  await client.request(`${path}/${name}`, {
    method: "PATCH",
    query: { fieldManager: "lacquer-e2e", force: true },
    contentType: "application/apply-patch+yaml",
    body: object,
  });
}

/** An HTTPRoute on the Gateway "gw" of {@linkcode startE2eGateway}. */
export function route(namespace: string, name: string, rules: unknown[]): Record<string, unknown> {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace },
    spec: { parentRefs: [{ name: "gw" }], rules },
  };
}

/** The matches of a rule on one path prefix. */
export function prefix(value: string): Record<string, unknown>[] {
  return [{ path: { type: "PathPrefix", value } }];
}

/** Deployment + Service of the upstream echo server, answering with its pod name. */
export function echoApp(namespace: string, name: string, replicas: number): Record<string, unknown>[] {
  const labels = { app: name };
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 10,
            containers: [{
              name: "echo",
              image: "registry.k8s.io/gateway-api/echo-basic:v1.6.1",
              env: [
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
              ],
              ports: [{ containerPort: 3000 }],
              readinessProbe: { httpGet: { path: "/", port: 3000 }, periodSeconds: 1 },
              // what any app behind a load balancer does: keep serving while endpoints stop pointing here
              lifecycle: { preStop: { sleep: { seconds: 3 } } },
            }],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace },
      spec: { selector: labels, ports: [{ name: "http", port: 8080, targetPort: 3000 }] },
    },
  ];
}

/** Listeners "http" on port 80 and "https" on 443 for secure.example.com, its certificate in the Secret "site-cert". */
export const HTTP_AND_HTTPS_LISTENERS: Record<string, unknown>[] = [
  { name: "http", port: 80, protocol: "HTTP" },
  {
    name: "https",
    port: 443,
    protocol: "HTTPS",
    hostname: "secure.example.com",
    tls: { certificateRefs: [{ group: "", kind: "Secret", name: "site-cert" }] },
  },
];

/** The `kubernetes.io/tls` Secret "site-cert" of {@linkcode HTTP_AND_HTTPS_LISTENERS}. */
export function tlsSecret(namespace: string, pem: { cert: string; key: string }): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "site-cert", namespace },
    type: "kubernetes.io/tls",
    data: { "tls.crt": btoa(pem.cert), "tls.key": btoa(pem.key) },
  };
}

/** Applies the GatewayParameters "params": the user VCL of the ConfigMap "user-vcl", a LoadBalancer Service. */
export async function applyVclParameters(client: KubeClient, namespace: string): Promise<void> {
  await apply(client, `/apis/lacquer.dev/v1alpha1/namespaces/${namespace}/gatewayparameters`, {
    apiVersion: "lacquer.dev/v1alpha1",
    kind: "GatewayParameters",
    metadata: { name: "params", namespace },
    spec: { vcl: { configMapRef: { name: "user-vcl" } }, service: { type: "LoadBalancer" } },
  });
}

/** Applies Deployments and Services from {@linkcode echoApp}. */
export async function applyApp(client: KubeClient, objects: Record<string, unknown>[]): Promise<void> {
  for (const o of objects) {
    const ns = (o.metadata as { namespace: string }).namespace;
    const path = o.kind === "Deployment"
      ? `/apis/apps/v1/namespaces/${ns}/deployments`
      : `/api/v1/namespaces/${ns}/services`;
    await apply(client, path, o);
  }
}

/** Reads one condition of an object's status. */
export function conditionOf(
  object: { status?: { conditions?: { type: string; status: string; reason: string }[] } },
  type: string,
): { type: string; status: string; reason: string } | undefined {
  return object.status?.conditions?.find((c) => c.type === type);
}

/**
 * Lists the names of a Gateway's pods, sorted (to see whether a change replaced or restarted them).
 *
 * @param client The test's client.
 * @param namespace The Gateway's namespace.
 * @param gateway The Gateway's name.
 * @returns The pod names.
 */
export async function gatewayPodNames(client: KubeClient, namespace: string, gateway = "gw"): Promise<string[]> {
  const pods = await client.request<{ items: { metadata: { name: string } }[] }>(
    `/api/v1/namespaces/${namespace}/pods`,
    {
      query: { labelSelector: `gateway.networking.k8s.io/gateway-name=${gateway}` },
    },
  );
  return pods.items.map((p) => p.metadata.name).sort();
}

/** Sends one GET through the gateway; returns status, body and headers. */
export async function get(
  address: string,
  path: string,
): Promise<{ status: number; body: string; headers: Headers }> {
  const response = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

/**
 * Runs curl (for what fetch cannot do: a Host header, SNI towards an address, a custom method with its headers).
 *
 * @param args curl's arguments; `-sS --max-time 5` come first.
 * @returns What curl wrote on stdout.
 * @throws {Error} With curl's stderr when it fails.
 */
export async function curl(args: string[]): Promise<string> {
  const output = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "5", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(`curl failed: ${new TextDecoder().decode(output.stderr)}`);
  return new TextDecoder().decode(output.stdout);
}

/** GET https://<host>/<path> through the gateway address with SNI, trusting only `ca`: "<status> <body>". */
export async function httpsGet(address: string, host: string, path: string, ca: string): Promise<string> {
  const text = await curl(["--cacert", ca, "--resolve", `${host}:443:${address}`, "-w", "\n%{http_code}"]
    .concat([`https://${host}${path}`]));
  const cut = text.lastIndexOf("\n");
  return `${text.slice(cut + 1)} ${text.slice(0, cut)}`;
}

/** A steady load through the gateway, started by {@linkcode startLoad}. */
export interface Load {
  /** Stops the workers and returns how many requests were sent and every failure (status and body, or error). */
  stop(): Promise<{ sent: number; failures: string[] }>;
}

/**
 * Sends GET `path` to the gateway from `workers` loops, one request after the other, until stopped. Any answer but
 * 200, and any request without an answer, is a failure.
 *
 * @param address The gateway's address.
 * @param path The path.
 * @param workers How many loops.
 * @returns The running load.
 */
export function startLoad(address: string, path: string, workers = 4): Load {
  let stopped = false;
  let sent = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (!stopped) {
      sent++;
      try {
        const r = await get(address, path);
        if (r.status !== 200) failures.push(`HTTP ${r.status}: ${r.body.slice(0, 120)}`);
      } catch (err) {
        const cause = (err as Error).cause;
        failures.push(`${new Date().toISOString()} ${err}${cause ? ` (${cause})` : ""}`);
      }
    }
  };
  const running = Array.from({ length: workers }, worker);
  return {
    async stop() {
      stopped = true;
      await Promise.all(running);
      return { sent, failures };
    },
  };
}

/** The pod name in an echo-basic answer. */
export function podOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { pod?: string }).pod;
  } catch {
    return undefined;
  }
}

/**
 * Starts the operator with a GatewayClass of its own, then creates a Gateway (one HTTP listener on port 80,
 * LoadBalancer Service, optional GatewayParameters) and waits until it is Programmed.
 *
 * @param options Extra objects to create first (apps, parameters), the Gateway's parametersRef and listeners.
 * @returns The ready Gateway.
 */
export async function startE2eGateway(options: {
  setup?: (ns: TestNamespace) => Promise<void>;
  parametersRef?: string;
  /**
   * What the class lets the Gateway's own GatewayParameters set of its class-level fields: given, the class gets
   * GatewayParameters "class-params" with this `allowedGatewayOverrides`. @default {none: no class parameters}
   */
  allowedGatewayOverrides?: string[];
  /** The Gateway's listeners. @default {one HTTP listener on port 80} */
  listeners?: Record<string, unknown>[];
  /** The Gateway's `spec.tls` (client certificate validation). @default {none} */
  tls?: Record<string, unknown>;
  /**
   * How the operator runs: `in-cluster` (`helm install` of the chart, from its image) or `process` (this checkout).
   * @default {"in-cluster"}
   */
  operator?: "in-cluster" | "process";
  /** The operator's invalidation API port on 127.0.0.1 (`operator: "process"` only). @default {any free port} */
  invalidationPort?: number;
  /** Further operator flags. @default {[]} */
  operatorArgs?: string[];
} = {}): Promise<E2eGateway> {
  const cluster = await useCluster();
  const ns = await createTestNamespace(cluster);
  const client = ns.client;
  const cls = `lacquer-${ns.name}`;
  // our CRDs, which the operator watches (idempotent)
  await installLacquerCrds(client);
  // One gateway pod per Gateway unless a test scales it: the tests count and kill pods, and a second pod on the
  // local cluster's single node adds load, not availability.
  const args = ["--gateway-service-type", "LoadBalancer", "--gateway-replicas", "1", ...(options.operatorArgs ?? [])];
  let operator: E2eOperator | undefined;
  const cleanup = async () => {
    await client.request(`${GW_API}/gatewayclasses/${cls}`, { method: "DELETE" }).catch(() => {});
    await operator?.stop();
    await ns[Symbol.asyncDispose]();
  };
  try {
    operator = options.operator === "process"
      ? await startProcessOperator(cluster, args, options.invalidationPort)
      : await installOperator(cluster, ns.name, cls, args);
    await options.setup?.(ns);
    const allowed = options.allowedGatewayOverrides;
    if (allowed) {
      await apply(client, `/apis/lacquer.dev/v1alpha1/namespaces/${ns.name}/gatewayparameters`, {
        apiVersion: "lacquer.dev/v1alpha1",
        kind: "GatewayParameters",
        metadata: { name: "class-params", namespace: ns.name },
        spec: { allowedGatewayOverrides: allowed },
      });
    }
    await apply(client, `${GW_API}/gatewayclasses`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: cls },
      spec: {
        controllerName: CONTROLLER_NAME,
        ...(allowed
          ? {
            parametersRef: {
              group: "lacquer.dev",
              kind: "GatewayParameters",
              name: "class-params",
              namespace: ns.name,
            },
          }
          : {}),
      },
    });
    const gateway = "gw";
    await apply(client, `${GW_API}/namespaces/${ns.name}/gateways`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: gateway, namespace: ns.name },
      spec: {
        gatewayClassName: cls,
        listeners: options.listeners ?? [{ name: "http", port: 80, protocol: "HTTP" }],
        ...(options.tls ? { tls: options.tls } : {}),
        ...(options.parametersRef
          ? {
            infrastructure: {
              parametersRef: { group: "lacquer.dev", kind: "GatewayParameters", name: options.parametersRef },
            },
          }
          : {}),
      },
    });
    const address = await eventually(async () => {
      const gw = await client.request<{ status?: { addresses?: { value: string }[]; conditions?: never[] } }>(
        `${GW_API}/namespaces/${ns.name}/gateways/${gateway}`,
      );
      equal(conditionOf(gw as never, "Programmed")?.status, "True", `Programmed: ${JSON.stringify(gw.status)}`);
      const value = gw.status?.addresses?.[0]?.value;
      if (!value) throw new Error("Gateway has no address yet");
      return value;
    }, { timeoutMs: 120_000, intervalMs: 250 });
    return {
      ns,
      client,
      address,
      gateway,
      readOperatorLog: operator.readLog,
      operatorProcess: operator.process,
      [Symbol.asyncDispose]: cleanup,
    };
  } catch (err) {
    if (operator) console.error(await operator.readLog());
    await cleanup();
    throw err;
  }
}
