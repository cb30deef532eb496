/**
 * A whole Lacquer installation on a named local cluster, for the demo and the conformance run: the cluster, our
 * CRDs, the operator (a process inside the cluster's network namespace) and the example GatewayClass `lacquer`.
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
import { helmTemplate } from "../../deploy/render_manifests.ts";
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
  /** What runs the pods. @default {$LACQUER_NODE, else "process"} */
  node?: NodeMode;
}

/** A running installation. */
export interface LacquerStack extends AsyncDisposable {
  /** Where the cluster keeps its state and logs. */
  layout: ClusterLayout;
  /** The operator process. */
  operator: LoggedProcess;
  /** The operator's log file. */
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
  progress(
    `[stack] starting cluster "${layout.name}" (Gateway API ${options.channel ?? "standard"} channel, ${node} node)`,
  );
  await stopCluster(layout);
  await createClusterNetns(layout);
  await launchSupervisor(layout, { gatewayApiChannel: options.channel ?? "standard", node });
  const info = await waitForCluster(layout);
  progress(`[stack] cluster up in ${info.startedInMs} ms (${info.kubernetesVersion})`);

  progress(
    "[stack] installing our CRDs (GatewayParameters, CachePolicy, CacheInvalidation) and the lacquer-system namespace",
  );
  // The namespace, GatewayClass and default GatewayParameters as the chart renders them; the operator runs here.
  const [namespace, classObjects] = [`${layout.dir}/namespace.yaml`, `${layout.dir}/gatewayclass.yaml`];
  await Deno.writeTextFile(namespace, await helmTemplate(["createNamespace=true"], ["templates/namespace.yaml"]));
  await Deno.writeTextFile(classObjects, await helmTemplate([], ["templates/gatewayclass.yaml"]));
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
    logLevel: options.logLevel,
    // the invalidation API at its usual port, alone in the cluster's network namespace
    invalidationPort: OPERATOR_INVALIDATION_PORT,
    // One gateway pod per Gateway: the local cluster has a single node, where a second pod adds load, not availability.
    args: ["--gateway-replicas", "1"],
  });

  progress("[stack] applying the GatewayClass lacquer and its default GatewayParameters");
  await kubectl(["apply", "-f", classObjects]);
  await kubectl(["wait", "--for=condition=Accepted", "--timeout=60s", "gatewayclass/lacquer"]).catch((err) => {
    throw new Error(`GatewayClass "lacquer" was not accepted; see ${operatorLog}`, { cause: err });
  });
  progress("[stack] GatewayClass lacquer accepted");

  const stop = async () => {
    await operator.stop(10_000);
    await stopCluster(layout);
  };
  return { layout, operator, operatorLog, exec, kubectl, stop, [Symbol.asyncDispose]: stop };
}
