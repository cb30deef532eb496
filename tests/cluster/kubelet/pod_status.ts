/**
 * Computes a pod's `status` from what the kubelet knows about its containers. Pure (the time comes in).
 *
 * @module
 */
import type { Pod } from "./types.ts";

/** A container's state, shaped as core/v1 ContainerState. */
export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | {
    terminated: { exitCode: number; signal?: number; reason: string; startedAt?: string; finishedAt: string };
  };

/** What the kubelet knows about one container. */
export interface ContainerRuntime {
  name: string;
  image: string;
  state: ContainerState;
  lastState?: ContainerState;
  ready: boolean;
  restartCount: number;
}

/** What the kubelet knows about a pod. */
export interface PodRuntime {
  podIp?: string;
  hostIp: string;
  /** When the kubelet took the pod (RFC 3339). */
  startTime: string;
  containers: ContainerRuntime[];
  /** The init containers, when the pod has any. */
  initContainers?: ContainerRuntime[];
  /** Whether every (non-sidecar) init container has completed. @default {true} */
  initialized?: boolean;
  /** An init container failed under restart policy Never: the pod will not run. */
  failed?: boolean;
}

interface Condition {
  type: string;
  status: "True" | "False";
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

/**
 * Derives `status.phase`: Pending until every container has started; Succeeded or Failed when no container will
 * run again (restart policy Never or OnFailure); Running otherwise.
 *
 * @param pod The pod (for its restart policy).
 * @param runtime The container states.
 * @returns The phase.
 */
export function podPhase(pod: Pod, runtime: PodRuntime): string {
  if (runtime.failed) return "Failed";
  if (runtime.initialized === false) return "Pending";
  const policy = pod.spec.restartPolicy ?? "Always";
  const states = runtime.containers.map((c) => c.state);
  if (states.length === 0 || states.some((s) => "waiting" in s && s.waiting.reason !== "CrashLoopBackOff")) {
    if (runtime.containers.every((c) => c.restartCount === 0 && !c.lastState)) return "Pending";
  }
  if (policy !== "Always" && states.every((s) => "terminated" in s)) {
    const failed = states.some((s) => "terminated" in s && s.terminated.exitCode !== 0);
    if (policy === "Never" || !failed) return failed ? "Failed" : "Succeeded";
  }
  return "Running";
}

/**
 * Computes the pod status to write, keeping `lastTransitionTime` of conditions whose status did not change.
 *
 * @example Usage
 * ```ts
 * import { podStatus } from "./pod_status.ts";
 * const pod = { metadata: { name: "p", namespace: "n", uid: "u" }, spec: { containers: [] } };
 * podStatus(pod, { runtime: { hostIp: "10.244.0.1", startTime: "t", containers: [] }, now: "t" }).phase; // "Pending"
 * ```
 *
 * @param pod The pod as last seen (its current conditions are kept when unchanged).
 * @param options The runtime state and the current time (RFC 3339).
 * @returns The new `status`.
 */
export function podStatus(pod: Pod, options: { runtime: PodRuntime; now: string }): Record<string, unknown> {
  const { runtime, now } = options;
  const ready = runtime.containers.length > 0 && runtime.containers.every((c) => c.ready);
  const phase = podPhase(pod, runtime);
  const old = (pod.status?.conditions ?? []) as Condition[];
  const cond = (type: string, status: boolean, reason?: string): Condition => {
    const s = status ? "True" : "False";
    const prev = old.find((c) => c.type === type);
    return {
      type,
      status: s,
      lastTransitionTime: prev && prev.status === s ? prev.lastTransitionTime : now,
      ...(reason && !status ? { reason } : {}),
    };
  };
  const terminal = phase === "Succeeded" || phase === "Failed";
  const hasIp = runtime.podIp !== undefined;
  return {
    phase,
    hostIP: runtime.hostIp,
    hostIPs: [{ ip: runtime.hostIp }],
    ...(hasIp ? { podIP: runtime.podIp, podIPs: [{ ip: runtime.podIp }] } : {}),
    startTime: runtime.startTime,
    // The apiserver sets the QoS class from the resources at creation and rejects any change to it.
    ...(pod.status?.qosClass ? { qosClass: pod.status.qosClass } : {}),
    conditions: [
      cond("PodReadyToStartContainers", hasIp),
      cond("Initialized", runtime.initialized ?? true, "ContainersNotInitialized"),
      cond("Ready", ready && !terminal, terminal ? "PodCompleted" : "ContainersNotReady"),
      cond("ContainersReady", ready && !terminal, terminal ? "PodCompleted" : "ContainersNotReady"),
      cond("PodScheduled", true),
    ],
    ...(runtime.initContainers ? { initContainerStatuses: runtime.initContainers.map(containerStatus) } : {}),
    containerStatuses: runtime.containers.map(containerStatus),
  };

  function containerStatus(c: ContainerRuntime) {
    return {
      name: c.name,
      image: c.image,
      imageID: `local://${c.image}`,
      containerID: `process://${pod.metadata.uid}/${c.name}/${c.restartCount}`,
      state: c.state,
      lastState: c.lastState ?? {},
      ready: c.ready,
      started: "running" in c.state,
      restartCount: c.restartCount,
    };
  }
}
