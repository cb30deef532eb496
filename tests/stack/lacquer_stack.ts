/**
 * A whole Lacquer installation on a named local cluster, for the demo and the conformance run: the cluster, our
 * CRDs, the operator and the example GatewayClass `lacquer`. The operator runs either as a process of this checkout
 * inside the cluster's network namespace, or (real node only) in-cluster from its image, installed by `helm install`
 * of deploy/helm/lacquer as a user installs it.
 *
 * Tests in the test command use the shared test cluster instead (tests/cluster/mod.ts).
 *
 * @module
 */
import { createClusterNetns, launchSupervisor, stopCluster, waitForCluster } from "../cluster/cluster_control.ts";
import {
  clusterBinaries,
  type ClusterLayout,
  clusterLayout,
  lacquerCacheDir,
  type NodeMode,
  parseNodeMode,
} from "../cluster/layout.ts";
import { runCommand } from "../cluster/run_command.ts";
import type { LoggedProcess } from "../cluster/spawn_logged.ts";
import { CHART_DIR, helmBinary, helmTemplate, RELEASE } from "../../deploy/render_manifests.ts";
import { OPERATOR_INVALIDATION_PORT } from "../../internal/names.ts";
import { startOperatorProcess } from "./operator_process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Options for {@linkcode startLacquerStack}. */
export interface LacquerStackOptions {
  /** Cluster name (state in /tmp/lacquer/<name>). */
  cluster: string;
  /** Gateway API CRD channel. @default {"standard"} */
  channel?: "standard" | "experimental";
  /** The operator's log level. @default {"info"} */
  logLevel?: "debug" | "info" | "warn" | "error";
  /** Prints progress lines. @default {console.error} */
  progress?: (line: string) => void;
  /** What runs the pods. @default {$LACQUER_NODE, else "real"} */
  node?: NodeMode;
  /**
   * How the operator runs: `process` (this checkout, in the cluster's network namespace) or `chart` (`helm install`
   * of the chart, operator and gateways from the images `deno task images` built; needs the real node).
   * @default {"process"}
   */
  install?: "process" | "chart";
}

/** A running installation. */
export interface LacquerStack extends AsyncDisposable {
  /** Where the cluster keeps its state and logs. */
  layout: ClusterLayout;
  /** The operator process, when it runs from this checkout (undefined when installed by the chart). */
  operator?: LoggedProcess;
  /** Where to read the operator's log: its file, or the kubectl command when it runs in-cluster. */
  operatorLog: string;
  /** Runs a program inside the cluster's network namespace with KUBECONFIG set. */
  exec(program: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Runs kubectl inside the namespace; throws on failure. */
  kubectl(args: string[]): Promise<string>;
  /** Stops the operator and the cluster, leaving nothing behind. */
  stop(): Promise<void>;
}

/**
 * Starts (from scratch) a cluster, installs our CRDs and the example GatewayClass, and runs the operator.
 *
 * @param options The cluster name and settings.
 * @returns The running installation.
 * @throws {Error} When a part does not come up; the message names the log to read.
 */
export async function startLacquerStack(options: LacquerStackOptions): Promise<LacquerStack> {
  const progress = options.progress ?? ((line: string) => console.error(line));
  const cache = lacquerCacheDir(Deno.env);
  const bin = clusterBinaries(cache);
  const layout = clusterLayout(options.cluster);
  const inNetns = ["--net=/run/netns/" + layout.netns, "--"];
  const exec = (program: string, args: string[]) =>
    runCommand("nsenter", {
      args: [...inNetns, program, ...args],
      env: { KUBECONFIG: layout.kubeconfig },
      allowFailure: true,
    });
  const kubectl = async (args: string[]) => {
    const out = await exec(bin.kubectl, args);
    if (out.code !== 0) throw new Error(`Cannot run "kubectl ${args.join(" ")}": ${out.stderr.trim()}`);
    return out.stdout;
  };

  const node = options.node ?? parseNodeMode(Deno.env.get("LACQUER_NODE"));
  const install = options.install ?? (node === "real" ? "chart" : "process");
  if (install === "chart" && node !== "real") {
    throw new Error('Installing with the chart needs the real node (node: "real"): the operator runs from its image');
  }
  progress(
    `[stack] starting cluster "${layout.name}" (Gateway API ${options.channel ?? "standard"} channel, ${node} node)`,
  );
  await stopCluster(layout);
  await createClusterNetns(layout);
  await launchSupervisor(layout, { gatewayApiChannel: options.channel ?? "standard", node });
  const info = await waitForCluster(layout);
  progress(`[stack] cluster up in ${info.startedInMs} ms (${info.kubernetesVersion})`);

  let operator: LoggedProcess | undefined;
  const stop = async () => {
    await operator?.stop(10_000);
    await stopCluster(layout);
  };
  let operatorLog: string;
  try {
    ({ operator, operatorLog } = install === "chart"
      ? await installChart({ layout, exec, kubectl, progress, logLevel: options.logLevel })
      : await installProcess({ layout, kubectl, progress, logLevel: options.logLevel }));
    await kubectl(["wait", "--for=condition=Accepted", "--timeout=60s", "gatewayclass/lacquer"]).catch((err) => {
      throw new Error(`GatewayClass "lacquer" was not accepted; see ${operatorLog}`, { cause: err });
    });
  } catch (err) {
    // a half-installed stack leaves nothing running
    await stop();
    throw err;
  }
  progress("[stack] GatewayClass lacquer accepted");
  return { layout, operator, operatorLog, exec, kubectl, stop, [Symbol.asyncDispose]: stop };
}

type Kubectl = (args: string[]) => Promise<string>;

/**
 * Chart values both installs share: the class's gateway pods request little, since the local cluster's one node has
 * 2 CPUs and the chart's default of 250m each would leave the conformance suite's dozen Gateways Pending on the real
 * node's scheduler.
 */
const STACK_VALUES = ["gatewayClass.parameters.resources.requests.cpu=10m"];

/** CRDs, namespace and GatewayClass applied with kubectl as the chart renders them; the operator runs from here. */
async function installProcess(
  { layout, kubectl, progress, logLevel }: {
    layout: ClusterLayout;
    kubectl: Kubectl;
    progress: (line: string) => void;
    logLevel: LacquerStackOptions["logLevel"];
  },
): Promise<{ operator: LoggedProcess; operatorLog: string }> {
  progress(
    "[stack] installing our CRDs (GatewayParameters, CachePolicy, CacheInvalidation) and the lacquer-system namespace",
  );
  const [namespace, classObjects] = [`${layout.dir}/namespace.yaml`, `${layout.dir}/gatewayclass.yaml`];
  await Deno.writeTextFile(namespace, await helmTemplate(["createNamespace=true"], ["templates/namespace.yaml"]));
  await Deno.writeTextFile(classObjects, await helmTemplate(STACK_VALUES, ["templates/gatewayclass.yaml"]));
  await kubectl(["apply", "--server-side", "-f", `${ROOT}deploy/crds/`, "-f", namespace]);
  await kubectl([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd/gatewayparameters.lacquer.dev",
    "crd/cachepolicies.lacquer.dev",
    "crd/cacheinvalidations.lacquer.dev",
  ]);

  const operatorLog = `${layout.logDir}/operator.log`;
  progress(`[stack] starting the operator (log: ${operatorLog})`);
  const operator = startOperatorProcess({
    kubeconfig: layout.kubeconfig,
    logFile: operatorLog,
    netns: layout.netns,
    logLevel,
    // the invalidation API at its usual port, alone in the cluster's network namespace
    invalidationPort: OPERATOR_INVALIDATION_PORT,
    // One gateway pod per Gateway: the local cluster has a single node, where a second pod adds load, not availability.
    args: ["--gateway-replicas", "1"],
  });

  progress("[stack] applying the GatewayClass lacquer and its default GatewayParameters");
  await kubectl(["apply", "-f", classObjects]);
  return { operator, operatorLog };
}

/** `helm install` of the chart: CRDs, namespace, RBAC, the operator Deployment (from its image) and the class. */
async function installChart(
  { layout, exec, kubectl, progress, logLevel }: {
    layout: ClusterLayout;
    exec: LacquerStack["exec"];
    kubectl: Kubectl;
    progress: (line: string) => void;
    logLevel: LacquerStackOptions["logLevel"];
  },
): Promise<{ operator: undefined; operatorLog: string }> {
  const operatorLog = `kubectl -n ${RELEASE.namespace} logs deploy/${RELEASE.name}-operator`;
  // helm keeps its release in the namespace, so it must exist first: the chart's own, with the gateway-admin label
  const namespace = `${layout.dir}/namespace.yaml`;
  await Deno.writeTextFile(namespace, await helmTemplate(["createNamespace=true"], ["templates/namespace.yaml"]));
  await kubectl(["apply", "-f", namespace]);
  progress(`[stack] helm install ${RELEASE.name} deploy/helm/lacquer (operator and gateways from their images)`);
  const started = performance.now();
  const out = await exec(helmBinary(), [
    "install",
    RELEASE.name,
    CHART_DIR,
    "--namespace",
    RELEASE.namespace,
    ...STACK_VALUES.flatMap((value) => ["--set", value]),
    "--set",
    `operator.logLevel=${logLevel ?? "info"}`,
    // One operator replica and one gateway pod per Gateway: the local cluster has a single node.
    "--set",
    "operator.replicas=1",
    "--set",
    "podDisruptionBudget.enabled=false",
    "--set-string",
    "operator.extraArgs={--gateway-replicas,1}",
    "--wait",
    "--timeout",
    "3m",
  ]);
  if (out.code !== 0) {
    const pods = await kubectl(["-n", RELEASE.namespace, "get", "pods", "-o", "wide"]).catch(() => "");
    throw new Error(`helm install failed: ${out.stderr.trim()}\n${pods}`);
  }
  const image = (await kubectl([
    "-n",
    RELEASE.namespace,
    "get",
    `deploy/${RELEASE.name}-operator`,
    "-o",
    "jsonpath={.spec.template.spec.containers[0].image}",
  ])).trim();
  progress(`[stack] operator running in-cluster from ${image} (${Math.round(performance.now() - started)} ms)`);
  return { operator: undefined, operatorLog };
}
