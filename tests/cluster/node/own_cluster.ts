/**
 * A real-node cluster of a test's own, beside the test run's shared cluster: its own name, network namespace and
 * state, reached through `nsenter` (the test process stays in its own namespace).
 *
 * @module
 */
import { createClusterNetns, launchSupervisor, stopCluster, waitForCluster } from "../cluster_control.ts";
import { clusterBinaries, type ClusterLayout, clusterLayout, lacquerCacheDir } from "../layout.ts";
import { type CommandResult, runCommand } from "../run_command.ts";

/** A running cluster; dispose it (`await using`) to stop it, keeping its logs if `keepLogs` was called. */
export interface OwnCluster extends AsyncDisposable {
  layout: ClusterLayout;
  /** How long `up` took, in milliseconds. */
  startedInMs: number;
  /** Runs a program inside the cluster's network namespace. */
  inNetns(program: string, args: string[]): Promise<CommandResult>;
  /** Runs kubectl with the cluster's admin kubeconfig. */
  kubectl(...args: string[]): Promise<CommandResult>;
  /** Stops the cluster now (idempotent); the state directory goes unless logs are kept. */
  stop(): Promise<void>;
  /** Keeps the state directory (and so the logs) when the cluster stops: call it when the test fails. */
  keepLogs(): void;
}

/**
 * Starts a real-node cluster named `r<6 random>` and waits until it is ready.
 *
 * @param options Gateway API CRD channel. @default {"none"}
 * @returns The cluster.
 */
export async function startOwnRealNodeCluster(options: { gatewayApiChannel?: string } = {}): Promise<OwnCluster> {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const name = "r" + Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => alphabet[b % 36]).join("");
  const layout = clusterLayout(name);
  const kubectlPath = clusterBinaries(lacquerCacheDir(Deno.env)).kubectl;
  const inNetns = (program: string, args: string[]) =>
    runCommand("nsenter", { args: [`--net=/run/netns/${layout.netns}`, "--", program, ...args] });
  let keepState = false;
  let stopped: Promise<void> | undefined;
  const stop = () => stopped ??= stopCluster(layout, { keepState });
  const t0 = performance.now();
  try {
    await createClusterNetns(layout);
    await launchSupervisor(layout, { gatewayApiChannel: options.gatewayApiChannel ?? "none" });
    await waitForCluster(layout, { timeoutMs: 120_000 });
  } catch (err) {
    keepState = true;
    await stop();
    throw err;
  }
  return {
    layout,
    startedInMs: Math.round(performance.now() - t0),
    inNetns,
    kubectl: (...args) => inNetns(kubectlPath, ["--kubeconfig", layout.kubeconfig, ...args]),
    stop,
    keepLogs: () => keepState = true,
    [Symbol.asyncDispose]: stop,
  };
}
