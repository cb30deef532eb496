/**
 * The Node and its Lease as the process kubelet reports them. Pure (the time comes in).
 *
 * @module
 */

/** Options for {@linkcode nodeObject}. */
export interface NodeOptions {
  name: string;
  ip: string;
  kubeletPort: number;
  kubeletVersion: string;
  podCidr: string;
}

/**
 * Returns the Node object to create.
 *
 * @param options Name, address, kubelet port and version.
 * @returns The Node (without status; see {@linkcode nodeStatus}).
 */
export function nodeObject(options: NodeOptions): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: options.name,
      labels: {
        "kubernetes.io/hostname": options.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": "lacquer-process",
      },
    },
    spec: { podCIDR: options.podCidr, podCIDRs: [options.podCidr] },
  };
}

/**
 * Returns a Ready node status.
 *
 * @example Usage
 * ```ts
 * import { nodeStatus } from "./node_objects.ts";
 * const s = nodeStatus({ name: "n", ip: "10.244.0.1", kubeletPort: 10250, kubeletVersion: "v1.36.3", podCidr: "10.244.0.0/16" }, "2026-01-01T00:00:00Z");
 * ```
 *
 * @param options The node's identity.
 * @param now The heartbeat time (RFC 3339).
 * @returns The status.
 */
export function nodeStatus(options: NodeOptions, now: string): Record<string, unknown> {
  const cond = (type: string, status: string, reason: string) => ({
    type,
    status,
    reason,
    message: reason,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  const resources = { cpu: "16", memory: "64Gi", pods: "500", "ephemeral-storage": "100Gi" };
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
      cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
      cond("PIDPressure", "False", "KubeletHasSufficientPID"),
      cond("Ready", "True", "KubeletReady"),
    ],
    addresses: [{ type: "InternalIP", address: options.ip }, { type: "Hostname", address: options.name }],
    daemonEndpoints: { kubeletEndpoint: { Port: options.kubeletPort } },
    nodeInfo: {
      machineID: "lacquer",
      systemUUID: "lacquer",
      bootID: "lacquer",
      kernelVersion: "process",
      osImage: "lacquer process kubelet",
      containerRuntimeVersion: "process://0",
      kubeletVersion: options.kubeletVersion,
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: "amd64",
    },
  };
}

/**
 * Formats a time as a Kubernetes MicroTime (six fraction digits).
 *
 * @example Usage
 * ```ts
 * import { microTime } from "./node_objects.ts";
 * microTime(new Date(0)); // "1970-01-01T00:00:00.000000Z"
 * ```
 *
 * @param time The time.
 * @returns The text.
 */
export function microTime(time: Date): string {
  return time.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
