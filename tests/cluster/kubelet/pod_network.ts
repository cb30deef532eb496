/**
 * Gives a pod its own network namespace, attached to the node's bridge through a veth pair, and removes it again
 * together with every process still inside.
 *
 * @module
 */
import { runCommand } from "../run_command.ts";

/** A pod's network. */
export interface PodNetwork {
  /** The named namespace (`/run/netns/<netns>`). */
  netns: string;
  /** Its path, for `nsenter --net=`. */
  netnsPath: string;
  /** The pod IP. */
  ip: string;
}

/** Options for {@linkcode createPodNetwork}. */
export interface PodNetworkOptions {
  /** Namespace name. */
  netns: string;
  /** Host-side veth name (at most 15 characters). */
  hostIf: string;
  /** The pod IP. */
  ip: string;
  /** Prefix length of the pod network. */
  prefixLength: number;
  /** The node bridge. */
  bridge: string;
  /** The node IP (the pod's default gateway). */
  gateway: string;
}

const ip = (...args: string[]) => runCommand("ip", { args });

/**
 * Creates the namespace, the veth pair (the pod side named `eth0`), addresses and the default route.
 *
 * @param options Names and addresses.
 * @returns The network.
 */
export async function createPodNetwork(options: PodNetworkOptions): Promise<PodNetwork> {
  const { netns, hostIf } = options;
  await deletePodNetwork(netns, { hostIf });
  await ip("netns", "add", netns);
  await ip("link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", netns);
  await ip("link", "set", hostIf, "master", options.bridge, "up");
  await ip("-n", netns, "link", "set", "lo", "up");
  await ip("-n", netns, "addr", "add", `${options.ip}/${options.prefixLength}`, "dev", "eth0");
  await ip("-n", netns, "link", "set", "eth0", "up");
  await ip("-n", netns, "route", "add", "default", "via", options.gateway);
  return { netns, netnsPath: `/run/netns/${netns}`, ip: options.ip };
}

/**
 * Kills every process left in the namespace and deletes it (the veth pair goes with it). Missing is fine.
 *
 * @param netns The namespace name.
 * @param options The host-side veth, deleted too if it survived.
 */
export async function deletePodNetwork(netns: string, options: { hostIf?: string } = {}): Promise<void> {
  await killNetnsProcesses(netns);
  await runCommand("ip", { args: ["netns", "del", netns], allowFailure: true });
  if (options.hostIf) await runCommand("ip", { args: ["link", "del", options.hostIf], allowFailure: true });
}

/**
 * Sends SIGKILL to every process in a named network namespace.
 *
 * @param netns The namespace name.
 * @returns The number of processes signalled.
 */
export async function killNetnsProcesses(netns: string): Promise<number> {
  const out = await runCommand("ip", { args: ["netns", "pids", netns], allowFailure: true });
  const pids = out.stdout.split(/\s+/).filter(Boolean).map(Number).filter((p) => p !== Deno.pid);
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  return pids.length;
}
