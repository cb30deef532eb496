/**
 * Names, addresses and paths of a local cluster: one source of truth for the supervisor, the CLI and the test
 * helper. Pure.
 *
 * @module
 */

/** The node's address on the pod bridge; the API server, the kubelet API and pods' gateway listen here. */
export const NODE_IP = "10.244.0.1";
/** The pod network (one bridge, /16). */
export const POD_CIDR = "10.244.0.0/16";
/** The Service ClusterIP range. */
export const SERVICE_CIDR = "10.96.0.0/16";
/** The ClusterIP of the `kubernetes` Service. */
export const API_SERVICE_IP = "10.96.0.1";
/** The ClusterIP of the cluster DNS Service (`kube-system/kube-dns`, CoreDNS) on the real node. */
export const CLUSTER_DNS_IP = "10.96.0.10";
/** The pool LoadBalancer Services get addresses from (added to the bridge inside the cluster namespace). */
export const LB_POOL_PREFIX = "10.250.0.";
/** The API server's secure port. */
export const API_PORT = 6443;
/** The bridge interface of the pod network. */
export const BRIDGE = "lqbr0";
/** The name of the single Node. */
export const NODE_NAME = "lacquer-node";

/** Paths and names of one cluster. */
export interface ClusterLayout {
  /** Cluster name (`lacquer` for `deno task cluster up`, `t<id>` in test runs). */
  name: string;
  /** State directory: certificates, etcd data, logs, the node's files, kubeconfig. */
  dir: string;
  /** The named network namespace (`/run/netns/<netns>`) everything runs in. */
  netns: string;
  /** The admin kubeconfig (valid inside the namespace only). */
  kubeconfig: string;
  /** Written by the supervisor once the cluster is ready. */
  readyFile: string;
  /** The supervisor's process id. */
  pidFile: string;
  /** Log directory. */
  logDir: string;
  /** The node's files: containerd's and the kubelet's state, configs, pod logs. */
  nodeDir: string;
  /** The node's cgroup (in every v1 hierarchy): the kubelet's `cgroupRoot`, and containerd's. */
  cgroupName: string;
}

/** Options for {@linkcode clusterLayout}. */
export interface ClusterLayoutOptions {
  /** Root of cluster state directories. @default {"/tmp/lacquer"} */
  root?: string;
}

/**
 * Derives the layout of the cluster called `name`.
 *
 * @example Usage
 * ```ts
 * import { clusterLayout } from "./layout.ts";
 * clusterLayout("lacquer").netns; // "lacquer"
 * ```
 *
 * @param name The cluster name: lowercase letters and digits, at most 12 characters.
 * @param options Where state goes.
 * @returns The layout.
 * @throws {RangeError} When the name is not usable in interface and namespace names.
 */
export function clusterLayout(name: string, options: ClusterLayoutOptions = {}): ClusterLayout {
  if (!/^[a-z][a-z0-9]{0,11}$/.test(name)) {
    throw new RangeError(`Cannot use cluster name "${name}": it must match [a-z][a-z0-9]{0,11}`);
  }
  const dir = `${options.root ?? "/tmp/lacquer"}/${name}`;
  return {
    name,
    dir,
    netns: name === "lacquer" ? "lacquer" : `lacquer-${name}`,
    kubeconfig: `${dir}/kubeconfig`,
    readyFile: `${dir}/ready.json`,
    pidFile: `${dir}/supervisor.pid`,
    logDir: `${dir}/logs`,
    nodeDir: `${dir}/node`,
    cgroupName: `lacquer-${name}`,
  };
}

/** Absolute paths of the cached binaries and CRDs (scripts/kube/build.sh). */
export interface ClusterBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
  /** Directory with `standard.yaml` and `experimental.yaml`. */
  crdDir: string;
  /** The node's programs. */
  kubelet: string;
  kubeProxy: string;
  kubeScheduler: string;
  containerd: string;
  ctr: string;
}

/**
 * Returns the cache root, where set-up installs and builds everything (the same rule as `scripts/lib.sh`):
 * `$LACQUER_CACHE`, else `~/.cache/lacquer`.
 *
 * @example Usage
 * ```ts
 * import { lacquerCacheDir } from "./layout.ts";
 * lacquerCacheDir(new Map([["HOME", "/root"]])); // "/root/.cache/lacquer"
 * ```
 *
 * @param env The environment (`Deno.env`).
 * @returns The directory.
 */
export function lacquerCacheDir(env: { get(name: string): string | undefined }): string {
  return env.get("LACQUER_CACHE") || `${env.get("HOME")}/.cache/lacquer`;
}

/**
 * Returns where scripts/kube/build.sh links the cluster binaries.
 *
 * @param cache The cache root (`$LACQUER_CACHE`, by default `~/.cache/lacquer`).
 * @returns The paths.
 */
export function clusterBinaries(cache: string): ClusterBinaries {
  return {
    etcd: `${cache}/bin/etcd`,
    kubeApiserver: `${cache}/bin/kube-apiserver`,
    kubeControllerManager: `${cache}/bin/kube-controller-manager`,
    kubectl: `${cache}/bin/kubectl`,
    crdDir: `${cache}/gateway-api-crds`,
    kubelet: `${cache}/bin/kubelet`,
    kubeProxy: `${cache}/bin/kube-proxy`,
    kubeScheduler: `${cache}/bin/kube-scheduler`,
    containerd: `${cache}/bin/containerd`,
    ctr: `${cache}/bin/ctr`,
  };
}
