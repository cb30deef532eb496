/**
 * A whole Lacquer installation on a named local cluster, for the demo and the conformance run: the cluster, our
 * CRDs, the operator and the example GatewayClass `lacquer`, installed by `helm install` of deploy/helm/lacquer as a
 * user installs it: operator and gateway pods run from the images `deno task images` built.
 *
 * Tests in the test command use the shared test cluster instead (tests/cluster/mod.ts).
 *
 * @module
 */
import { createClusterNetns, launchSupervisor, stopCluster, waitForCluster } from "../cluster/cluster_control.ts";
import { clusterBinaries, type ClusterLayout, clusterLayout, lacquerCacheDir } from "../cluster/layout.ts";
import { runCommand } from "../cluster/run_command.ts";
import { CHART_DIR, helmBinary, helmTemplate, RELEASE } from "../../deploy/render_manifests.ts";

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
  /** Further chart values (`--set` syntax), e.g. `gatewayClass.parameters.http2=true`. @default {[]} */
  values?: readonly string[];
}

/** A running installation. */
export interface LacquerStack extends AsyncDisposable {
  /** Where the cluster keeps its state and logs. */
  layout: ClusterLayout;
  /** How to read the operator's log (a kubectl command: it runs in-cluster). */
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

  progress(`[stack] starting cluster "${layout.name}" (Gateway API ${options.channel ?? "standard"} channel)`);
  await stopCluster(layout);
  await createClusterNetns(layout);
  await launchSupervisor(layout, { gatewayApiChannel: options.channel ?? "standard" });
  const info = await waitForCluster(layout);
  progress(`[stack] cluster up in ${info.startedInMs} ms (${info.kubernetesVersion})`);

  const stop = () => stopCluster(layout);
  const operatorLog = `kubectl -n ${RELEASE.namespace} logs deploy/${RELEASE.name}-operator`;
  try {
    const values = [...STACK_VALUES, ...(options.values ?? [])];
    await installChart({ layout, exec, kubectl, progress, logLevel: options.logLevel, values });
    await kubectl(["wait", "--for=condition=Accepted", "--timeout=60s", "gatewayclass/lacquer"]).catch((err) => {
      throw new Error(`GatewayClass "lacquer" was not accepted; see ${operatorLog}`, { cause: err });
    });
  } catch (err) {
    // a half-installed stack leaves nothing running
    await stop();
    throw err;
  }
  progress("[stack] GatewayClass lacquer accepted");
  return { layout, operatorLog, exec, kubectl, stop, [Symbol.asyncDispose]: stop };
}

type Kubectl = (args: string[]) => Promise<string>;

/**
 * The class's gateway pods request little: the local cluster's one node has 2 CPUs, and the chart's default of 250m
 * each would leave the conformance suite's dozen Gateways Pending on the scheduler.
 */
const STACK_VALUES = ["gatewayClass.parameters.resources.requests.cpu=10m"];

/** `helm install` of the chart: CRDs, namespace, RBAC, the operator Deployment (from its image) and the class. */
async function installChart(
  { layout, exec, kubectl, progress, logLevel, values }: {
    layout: ClusterLayout;
    exec: LacquerStack["exec"];
    kubectl: Kubectl;
    progress: (line: string) => void;
    logLevel: LacquerStackOptions["logLevel"];
    values: readonly string[];
  },
): Promise<void> {
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
    ...values.flatMap((value) => ["--set", value]),
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
}
