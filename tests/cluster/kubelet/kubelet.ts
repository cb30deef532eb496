/**
 * The process kubelet: registers a Ready Node and renews its Lease, binds pending pods to it (it is the scheduler
 * too), runs each pod through a {@linkcode PodWorker}, writes pod status, finishes deletions, and serves container
 * logs on the kubelet API.
 *
 * @module
 */
import { createReflector, KubeApiError, type KubeClient, type Reflector } from "../../../internal/kube/mod.ts";
import type { Logger } from "../../../internal/log.ts";
import { KUBELET_PORT, NODE_IP, NODE_NAME, POD_CIDR } from "../layout.ts";
import { defaultImageTable, type ImageHost, type ImageRule } from "./image_table.ts";
import { IpAllocator } from "./ip_allocator.ts";
import { handleKubeletRequest } from "./log_server.ts";
import { microTime, nodeObject, type NodeOptions, nodeStatus } from "./node_objects.ts";
import { podStatus } from "./pod_status.ts";
import { podNetnsName, PodWorker } from "./pod_worker.ts";
import type { DataObject, Pod } from "./types.ts";

/** Options for {@linkcode startKubelet}. */
export interface KubeletOptions {
  client: KubeClient;
  log: Logger;
  /** Directory for pod files. */
  podsDir: string;
  /** Prefix of pod network namespace names. */
  podNetnsPrefix: string;
  /** PEM of the cluster CA. */
  caCert: string;
  /** Serving certificate and key (PEM) of the kubelet API. */
  tls: { cert: string; key: string };
  imageHost: ImageHost;
  /** @default {defaultImageTable} */
  imageTable?: readonly ImageRule[];
  kubeletVersion: string;
}

/** A running kubelet. */
export interface Kubelet {
  /** Stops every pod (short grace period), the watches, timers and the API server. */
  stop(): Promise<void>;
}

/**
 * Starts the kubelet.
 *
 * @param options Client, paths, TLS and the image table.
 * @returns The running kubelet.
 */
export async function startKubelet(options: KubeletOptions): Promise<Kubelet> {
  const { client, log } = options;
  const nodeOpts: NodeOptions = {
    name: NODE_NAME,
    ip: NODE_IP,
    kubeletPort: KUBELET_PORT,
    kubeletVersion: options.kubeletVersion,
    podCidr: POD_CIDR,
  };
  await registerNode(client, nodeOpts);
  log.info("Node registered", { node: NODE_NAME });
  const timers: ReturnType<typeof setInterval>[] = [];
  timers.push(setInterval(() => renewLease(client).catch((err) => log.warn("Lease renewal failed", { err })), 10_000));
  await renewLease(client).catch((err) => log.warn("Lease renewal failed", { err }));
  timers.push(setInterval(() => {
    patchNodeStatus(client, nodeOpts).catch((err) => log.warn("Node status update failed", { err }));
  }, 60_000));

  const workers = new Map<string, PodWorker>();
  const terminating = new Map<string, Promise<void>>();
  const ips = new IpAllocator("10.244");
  const dirty = new Set<string>();
  const lastWritten = new Map<string, string>();
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const baseEnv = {
    PATH: Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/root",
    ...(Deno.env.get("LACQUER_CACHE") ? { LACQUER_CACHE: Deno.env.get("LACQUER_CACHE")! } : {}),
    // A ghost VMOD other than the installed one (a branch's own build), for the gateway pods' varnishd.
    ...(Deno.env.get("LACQUER_VMOD_PATH") ? { LACQUER_VMOD_PATH: Deno.env.get("LACQUER_VMOD_PATH")! } : {}),
  };

  const configMaps = createReflector<DataObject>(client, {
    path: "/api/v1/configmaps",
    onChange: (_o, c) => wakeNamespace(c?.metadata.namespace),
    log,
  });
  const secrets = createReflector<DataObject>(client, {
    path: "/api/v1/secrets",
    onChange: (_o, c) => wakeNamespace(c?.metadata.namespace),
    log,
  });
  await Promise.all([configMaps.synced, secrets.synced]);
  const objects = {
    configMap: (ns: string, name: string) => configMaps.get(`${ns}/${name}`),
    secret: (ns: string, name: string) => secrets.get(`${ns}/${name}`),
  };

  function wakeNamespace(ns: string | undefined): void {
    for (const w of workers.values()) if (w.pod.metadata.namespace === ns) w.wake();
  }

  function markDirty(uid: string): void {
    dirty.add(uid);
    if (!flushTimer && !stopped) flushTimer = setTimeout(() => void serialFlush(), 50);
  }

  // one flush at a time, so an older status never overtakes a newer one on the wire
  let flushing = Promise.resolve();
  function serialFlush(): Promise<void> {
    flushing = flushing.then(flush, flush);
    return flushing;
  }

  async function flush(): Promise<void> {
    flushTimer = undefined;
    const uids = [...dirty];
    dirty.clear();
    await Promise.all(uids.map(async (uid) => {
      const w = workers.get(uid);
      if (!w) return;
      const pod = w.pod;
      const status = podStatus(pod, { runtime: w.runtime(), now: new Date().toISOString() });
      const text = JSON.stringify(status);
      if (lastWritten.get(uid) === text) return;
      lastWritten.set(uid, text);
      try {
        await client.request(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`, {
          method: "PATCH",
          contentType: "application/merge-patch+json",
          body: { metadata: { uid }, status },
        });
      } catch (err) {
        lastWritten.delete(uid);
        if (!(err instanceof KubeApiError && (err.code === 404 || err.code === 409))) {
          log.warn("Pod status update failed", { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, err });
          const retry = setTimeout(() => {
            timers.splice(timers.indexOf(retry), 1);
            markDirty(uid);
          }, 1000);
          timers.push(retry);
        }
      }
    }));
  }

  function terminate(uid: string, graceMs: number, thenDelete: boolean): void {
    const w = workers.get(uid);
    if (!w || terminating.has(uid)) return;
    const pod = w.pod;
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    log.info("Pod terminating", { pod: key, graceMs });
    const done = w.terminate(graceMs).then(async () => {
      await serialFlush();
      workers.delete(uid);
      ips.release(uid);
      lastWritten.delete(uid);
      if (thenDelete) {
        await client.request(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, {
          method: "DELETE",
          body: { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0, preconditions: { uid } },
        }).catch((err) => {
          if (!(err instanceof KubeApiError && (err.code === 404 || err.code === 409))) {
            log.warn("Pod delete failed", { pod: key, err });
          }
        });
      }
      log.info("Pod terminated", { pod: key });
    }).finally(() => terminating.delete(uid));
    terminating.set(uid, done);
  }

  function onPod(_old: Pod | undefined, pod: Pod | undefined): void {
    if (stopped) return;
    if (!pod) {
      const uid = _old?.metadata.uid;
      if (uid) terminate(uid, 0, false);
      return;
    }
    const uid = pod.metadata.uid;
    let w = workers.get(uid);
    if (!w) {
      if (pod.metadata.deletionTimestamp) {
        // never started here (or the kubelet restarted): nothing to stop
        client.request(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, {
          method: "DELETE",
          body: { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0, preconditions: { uid } },
        }).catch(() => {});
        return;
      }
      if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
      const podLog = log.child({ pod: `${pod.metadata.namespace}/${pod.metadata.name}` });
      const short = podNetnsName("", uid);
      w = new PodWorker(pod, {
        client,
        objects,
        imageHost: options.imageHost,
        imageTable: options.imageTable ?? defaultImageTable,
        caCert: options.caCert,
        podDir: `${options.podsDir}/${pod.metadata.namespace}_${pod.metadata.name}_${uid}`,
        netns: podNetnsName(options.podNetnsPrefix, uid),
        hostIf: `lqv${short}`,
        ip: ips.allocate(uid),
        baseEnv,
        onChange: () => markDirty(uid),
        log: podLog,
      });
      workers.set(uid, w);
      podLog.info("Pod admitted", { podIp: w.runtime().podIp });
      w.start();
      markDirty(uid);
      return;
    }
    w.update(pod);
    if (pod.metadata.deletionTimestamp) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      terminate(uid, grace * 1000, true);
    } else if (_old && JSON.stringify(_old.status) !== JSON.stringify(pod.status)) {
      markDirty(uid);
    }
  }

  const pods: Reflector<Pod> = createReflector<Pod>(client, {
    path: "/api/v1/pods",
    fieldSelector: `spec.nodeName=${NODE_NAME}`,
    onChange: onPod,
    log,
  });

  const binding = new Set<string>();
  const pending = createReflector<Pod>(client, {
    path: "/api/v1/pods",
    fieldSelector: "spec.nodeName=,status.phase!=Succeeded,status.phase!=Failed",
    onChange: (_o, pod) => {
      if (!pod || pod.metadata.deletionTimestamp || binding.has(pod.metadata.uid)) return;
      binding.add(pod.metadata.uid);
      client.request(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/binding`, {
        method: "POST",
        body: {
          apiVersion: "v1",
          kind: "Binding",
          metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
          target: { apiVersion: "v1", kind: "Node", name: NODE_NAME },
        },
      }).then(
        () => log.debug("Pod bound", { pod: `${pod.metadata.namespace}/${pod.metadata.name}` }),
        (err) => {
          binding.delete(pod.metadata.uid);
          if (!(err instanceof KubeApiError && (err.code === 404 || err.code === 409))) {
            log.warn("Pod binding failed", { err });
          }
        },
      );
    },
    log,
  });

  const server = Deno.serve({
    hostname: NODE_IP,
    port: KUBELET_PORT,
    cert: options.tls.cert,
    key: options.tls.key,
    onListen: () => {},
  }, (request) =>
    handleKubeletRequest(request, ({ namespace, pod, container, previous }) => {
      const w = [...workers.values()].find((w) =>
        w.pod.metadata.namespace === namespace && w.pod.metadata.name === pod
      );
      const r = w?.runners.find((r) => r.name === container);
      if (!r) return undefined;
      return { file: r.logFile(previous), active: () => r.active };
    }));

  await Promise.all([pods.synced, pending.synced]);
  log.info("Kubelet ready", { node: NODE_NAME });

  return {
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await Promise.all([pods.stop(), pending.stop(), configMaps.stop(), secrets.stop()]);
      for (const uid of workers.keys()) terminate(uid, 2000, false);
      await Promise.all(terminating.values());
      clearTimeout(flushTimer);
      await server.shutdown();
    },
  };
}

async function registerNode(client: KubeClient, node: NodeOptions): Promise<void> {
  try {
    await client.request("/api/v1/nodes", { method: "POST", body: nodeObject(node) });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.code === 409)) throw err;
  }
  await patchNodeStatus(client, node);
}

async function patchNodeStatus(client: KubeClient, node: NodeOptions): Promise<void> {
  await client.request(`/api/v1/nodes/${node.name}/status`, {
    method: "PATCH",
    contentType: "application/merge-patch+json",
    body: { status: nodeStatus(node, new Date().toISOString().replace(/\.\d+Z$/, "Z")) },
  });
}

async function renewLease(client: KubeClient): Promise<void> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE_NAME}`;
  const spec = { holderIdentity: NODE_NAME, leaseDurationSeconds: 40, renewTime: microTime(new Date()) };
  try {
    await client.request(path, { method: "PATCH", contentType: "application/merge-patch+json", body: { spec } });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.code === 404)) throw err;
    await client.request("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
      method: "POST",
      body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: NODE_NAME }, spec },
    });
  }
}
