/**
 * Starts and stops a local cluster from outside: creates its network namespace, launches the detached supervisor
 * inside it, waits for `ready.json`, and on stop sends SIGTERM, waits, then kills whatever is left in the cluster's
 * and pods' namespaces, deletes the namespaces and the state directory.
 *
 * @module
 */
import type { ClusterLayout } from "./layout.ts";
import { removeNodeCgroup } from "./node/node_cgroup.ts";
import { nodePaths } from "./node/node_config.ts";
import { runCommand } from "./run_command.ts";

/** What `ready.json` holds. */
export interface ClusterInfo {
  name: string;
  netns: string;
  kubeconfig: string;
  server: string;
  kubernetesVersion: string;
  gatewayApiChannel: string;
  startedInMs: number;
}

/** Options for {@linkcode launchSupervisor}. */
export interface LaunchOptions {
  /** Gateway API CRD channel, or "none". @default {"standard"} */
  gatewayApiChannel?: string;
  /** Run in the current network namespace instead of entering `layout.netns`. @default {false} */
  inCurrentNetns?: boolean;
  /** State root passed to the supervisor. */
  root?: string;
}

const supervisorPath = new URL("./supervisor.ts", import.meta.url).pathname;

/**
 * Creates the cluster's named network namespace (loopback up). Idempotent.
 *
 * @param layout The cluster.
 */
export async function createClusterNetns(layout: ClusterLayout): Promise<void> {
  const exists = await Deno.stat(`/run/netns/${layout.netns}`).then(() => true, () => false);
  if (!exists) await runCommand("ip", { args: ["netns", "add", layout.netns] });
  await runCommand("ip", { args: ["-n", layout.netns, "link", "set", "lo", "up"] });
}

/**
 * Starts the supervisor detached from this process (its own session), with output in `<dir>/supervisor.log`.
 *
 * @param layout The cluster.
 * @param options Channel and namespace handling.
 */
export async function launchSupervisor(layout: ClusterLayout, options: LaunchOptions = {}): Promise<void> {
  await Deno.mkdir(layout.logDir, { recursive: true });
  const deno = [Deno.execPath(), "run", "--allow-all", supervisorPath, "--name", layout.name];
  if (options.root) deno.push("--root", options.root);
  deno.push("--gateway-api-channel", options.gatewayApiChannel ?? "standard");
  const inner = options.inCurrentNetns ? deno : ["nsenter", `--net=/run/netns/${layout.netns}`, "--", ...deno];
  const quoted = inner.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  await runCommand("setsid", {
    args: ["-f", "sh", "-c", `exec ${quoted} >>'${layout.logDir}/supervisor.log' 2>&1 </dev/null`],
  });
}

/**
 * Waits for the supervisor's `ready.json`.
 *
 * @param layout The cluster.
 * @param options Timeout.
 * @returns The cluster information.
 * @throws {Error} When the supervisor exits or the timeout passes; the message names the log file.
 */
export async function waitForCluster(
  layout: ClusterLayout,
  options: { timeoutMs?: number } = {},
): Promise<ClusterInfo> {
  const deadline = performance.now() + (options.timeoutMs ?? 180_000);
  let sawPid = false;
  while (performance.now() < deadline) {
    const text = await Deno.readTextFile(layout.readyFile).catch(() => undefined);
    if (text) return JSON.parse(text) as ClusterInfo;
    const pid = await supervisorPid(layout);
    if (pid !== undefined) sawPid = true;
    else if (sawPid) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Cannot start cluster "${layout.name}": not ready; see ${layout.logDir}/supervisor.log`);
}

/**
 * Returns the running supervisor's pid, if any.
 *
 * @param layout The cluster.
 * @returns The pid, or undefined when none runs.
 */
export async function supervisorPid(layout: ClusterLayout): Promise<number | undefined> {
  const text = await Deno.readTextFile(layout.pidFile).catch(() => undefined);
  const pid = Number(text);
  if (!text || !Number.isInteger(pid)) return undefined;
  const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
  return cmdline.includes("supervisor.ts") ? pid : undefined;
}

/**
 * Stops a cluster completely: graceful SIGTERM to the supervisor (up to `graceMs`), then SIGKILL for every process
 * left in its network namespace and in the node's cgroup (which goes too), then deletes the namespace and (unless
 * `keepState`) the state directory.
 *
 * @param layout The cluster.
 * @param options Grace period and whether to keep logs.
 */
export async function stopCluster(
  layout: ClusterLayout,
  options: { graceMs?: number; keepState?: boolean } = {},
): Promise<void> {
  const pid = await supervisorPid(layout);
  if (pid !== undefined) {
    try {
      Deno.kill(pid, "SIGTERM");
    } catch {
      // gone
    }
    const deadline = performance.now() + (options.graceMs ?? 30_000);
    while (performance.now() < deadline && await supervisorPid(layout) !== undefined) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // the pods are in network namespaces only the node's (private) mount namespace names: found by their cgroup
  const cgroupError = await removeNodeCgroup(layout.cgroupName).then(() => undefined, (err: Error) => err);
  if (await Deno.stat(`/run/netns/${layout.netns}`).then(() => true, () => false)) {
    await killNetnsProcesses(layout.netns);
    await runCommand("ip", { args: ["netns", "del", layout.netns], allowFailure: true });
  }
  if (!options.keepState) await Deno.remove(layout.dir, { recursive: true }).catch(() => {});
  if (cgroupError) throw cgroupError;
}

/**
 * Copies a cluster's logs where they outlive it: its own (`<dir>/logs`) and the pod logs (as `pods/`).
 *
 * @param layout The cluster.
 * @param keep The folder to write (replaced).
 */
export async function keepClusterLogs(layout: ClusterLayout, keep: string): Promise<void> {
  await Deno.remove(keep, { recursive: true }).catch(() => {});
  await runCommand("cp", { args: ["-r", layout.logDir, keep], allowFailure: true });
  const podLogs = nodePaths(layout.nodeDir).podLogs;
  if (await Deno.stat(podLogs).then(() => true, () => false)) {
    // -L: the kubelet's log files are what its symlinks name
    await runCommand("cp", { args: ["-rL", podLogs, `${keep}/pods`], allowFailure: true });
  }
}

/** Kills every process in a named network namespace but this one. */
async function killNetnsProcesses(netns: string): Promise<void> {
  const out = await runCommand("ip", { args: ["netns", "pids", netns], allowFailure: true });
  const pids = out.stdout.split(/\s+/).filter(Boolean).map(Number).filter((p) => p !== Deno.pid);
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
}
