/**
 * The configuration files of the real node: containerd, the CNI network, the kubelet and kube-proxy. Pure.
 *
 * Every path a component would otherwise put on the host (state, sockets, logs, plugin dirs, runc state, IPAM
 * leases) points into the cluster's node directory, so that clusters run side by side and `down` removes them with
 * the directory. Settings that differ from the upstream defaults are explained where they are made.
 *
 * @module
 */

/** Where the node's files live and how it is addressed. */
export interface NodeConfigOptions {
  /** The node directory (below the cluster's state directory). */
  dir: string;
  /** Node name and address (on the bridge). */
  nodeName: string;
  nodeIp: string;
  /** Pod network (one bridge) and the bridge's name. */
  podCidr: string;
  bridge: string;
  /** The kubelet's cgroup root, e.g. `/lacquer-t1a2b3c` (one per cluster). */
  cgroupRoot: string;
  /** The cluster DNS Service's ClusterIP. */
  clusterDns: string;
  /** The sandbox (pause) image reference. */
  pauseImage: string;
  /** Directory of the CNI plugin binaries. */
  cniBinDir: string;
  /** The runc binary. */
  runc: string;
}

/** Paths of the node's files and sockets, derived from {@linkcode NodeConfigOptions.dir}. */
export interface NodePaths {
  containerdConfig: string;
  containerdSocket: string;
  containerdRoot: string;
  containerdState: string;
  cniConfDir: string;
  kubeletConfig: string;
  kubeletRoot: string;
  kubeletKubeconfig: string;
  kubeProxyConfig: string;
  kubeProxyKubeconfig: string;
  resolvConf: string;
  podLogs: string;
}

/**
 * Returns where the node keeps its files.
 *
 * @example Usage
 * ```ts
 * import { nodePaths } from "./node_config.ts";
 * nodePaths("/tmp/lacquer/x/node").containerdSocket; // "/tmp/lacquer/x/node/containerd/containerd.sock"
 * ```
 *
 * @param dir The node directory.
 * @returns The paths.
 */
export function nodePaths(dir: string): NodePaths {
  return {
    containerdConfig: `${dir}/containerd/config.toml`,
    containerdSocket: `${dir}/containerd/containerd.sock`,
    containerdRoot: `${dir}/containerd/root`,
    containerdState: `${dir}/containerd/state`,
    cniConfDir: `${dir}/cni/net.d`,
    kubeletConfig: `${dir}/kubelet-config.yaml`,
    kubeletRoot: `${dir}/kubelet`,
    kubeletKubeconfig: `${dir}/kubelet.kubeconfig`,
    kubeProxyConfig: `${dir}/kube-proxy-config.yaml`,
    kubeProxyKubeconfig: `${dir}/kube-proxy.kubeconfig`,
    resolvConf: `${dir}/resolv.conf`,
    podLogs: `${dir}/pod-logs`,
  };
}

const toml = (s: string) => JSON.stringify(s);

/**
 * Renders containerd's config.toml (version 3, containerd 2.x).
 *
 * @example Usage
 * ```ts
 * import { containerdConfig } from "./node_config.ts";
 * const opts = { dir: "/n", nodeName: "n", nodeIp: "10.244.0.1", podCidr: "10.244.0.0/16", bridge: "lqbr0",
 *   cgroupRoot: "/lacquer-x", clusterDns: "10.96.0.10", pauseImage: "registry.k8s.io/pause:3.10.2",
 *   cniBinDir: "/usr/lib/cni", runc: "/usr/sbin/runc" };
 * containerdConfig(opts).includes("restrict_oom_score_adj = true"); // true
 * ```
 *
 * @param o The node options.
 * @returns The TOML text.
 */
export function containerdConfig(o: NodeConfigOptions): string {
  const p = nodePaths(o.dir);
  const runtime = "plugins.'io.containerd.cri.v1.runtime'";
  return `version = 3
root = ${toml(p.containerdRoot)}
state = ${toml(p.containerdState)}
# NRI would listen on a fixed host socket; nothing here uses it.
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = ${toml(p.containerdSocket)}

[ttrpc]
  address = ""

[debug]
  level = "warn"

[plugins.'io.containerd.internal.v1.opt']
  path = ${toml(`${o.dir}/containerd/opt`)}

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  discard_unpacked_layers = false

[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = ${toml(o.pauseImage)}

[${runtime}]
  # No AppArmor on the machine, and no CAP_SYS_RESOURCE: without restrict_oom_score_adj the pause container's
  # oom_score_adj of -998 is refused and every sandbox fails to start.
  disable_apparmor = true
  restrict_oom_score_adj = true
  tolerate_missing_hugetlb_controller = true
  max_container_log_line_size = 16384

[${runtime}.containerd]
  default_runtime_name = "runc"

[${runtime}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${runtime}.containerd.runtimes.runc.options]
  BinaryName = ${toml(o.runc)}
  SystemdCgroup = false
  # runc keeps its state here instead of the shared /run/containerd/runc/k8s.io
  Root = ${toml(`${o.dir}/containerd/runc`)}

[${runtime}.cni]
  bin_dirs = [${toml(o.cniBinDir)}]
  conf_dir = ${toml(p.cniConfDir)}
  max_conf_num = 1

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`;
}

/**
 * Renders the CNI network: the node's bridge (it exists already and holds the node address) with host-local IPAM.
 *
 * @param o The node options.
 * @returns The conflist JSON text.
 */
export function cniConflist(o: NodeConfigOptions): string {
  const [base, bits] = o.podCidr.split("/");
  const prefix = base.split(".").slice(0, 2).join(".");
  if (bits !== "16") throw new RangeError(`Cannot use pod network "${o.podCidr}": the node expects a /16`);
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "lacquer",
      plugins: [{
        type: "bridge",
        bridge: o.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          dataDir: `${o.dir}/cni/ipam`,
          ranges: [[{
            subnet: o.podCidr,
            gateway: o.nodeIp,
            rangeStart: `${prefix}.1.1`,
            rangeEnd: `${prefix}.255.254`,
          }]],
          routes: [{ dst: "0.0.0.0/0" }],
        },
      }],
    },
    null,
    2,
  ) + "\n";
}

/** TLS material of the kubelet API. */
export interface KubeletTls {
  caCert: string;
  cert: string;
  key: string;
}

/**
 * Renders the KubeletConfiguration.
 *
 * @param o The node options.
 * @param tls The CA (for client certificates) and the serving certificate files.
 * @returns The YAML text.
 */
export function kubeletConfig(o: NodeConfigOptions, tls: KubeletTls): string {
  const p = nodePaths(o.dir);
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# this machine has cgroup v1, swap may be on, and there is no systemd
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
cgroupRoot: ${o.cgroupRoot}
containerRuntimeEndpoint: unix://${p.containerdSocket}
podLogsDir: ${p.podLogs}
volumePluginDir: ${p.kubeletRoot}/volume-plugins
address: ${o.nodeIp}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: ${tls.cert}
tlsPrivateKeyFile: ${tls.key}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${tls.caCert}}
authorization:
  mode: Webhook
clusterDomain: cluster.local
clusterDNS: [${o.clusterDns}]
resolvConf: ${p.resolvConf}
rotateCertificates: false
serverTLSBootstrap: false
# a shared disk that is fuller than the defaults allow must not evict test pods
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
  nodefs.inodesFree: "1%"
# images are imported, never pulled: one removed by image GC could not come back
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
makeIPTablesUtilChains: false
syncFrequency: 10s
nodeStatusUpdateFrequency: 10s
serializeImagePulls: false
maxPods: 250
`;
}

/**
 * Renders the KubeProxyConfiguration: nftables mode, leaving host sysctls (conntrack) alone.
 *
 * @param o The node options.
 * @returns The YAML text.
 */
export function kubeProxyConfig(o: NodeConfigOptions): string {
  const p = nodePaths(o.dir);
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: ${p.kubeProxyKubeconfig}
mode: nftables
clusterCIDR: ${o.podCidr}
hostnameOverride: ${o.nodeName}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["${o.nodeIp}/32"]
# the conntrack sysctls are the host's (not per network namespace): zero means "do not touch"
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`;
}

/**
 * Returns the `unshare` arguments that run containerd in a private mount namespace with its own tmpfs on each of
 * `privateDirs` (where it, and the kubelet that joins it, write fixed host paths).
 *
 * @example Usage
 * ```ts
 * import { containerdArgs } from "./node_config.ts";
 * containerdArgs("/bin/containerd", "/n/config.toml", ["/run"]).includes("/n/config.toml"); // true
 * ```
 *
 * @param containerd The containerd binary.
 * @param configFile Its config.toml.
 * @param privateDirs Directories to hide behind an empty tmpfs.
 * @returns The arguments for `unshare`.
 */
export function containerdArgs(containerd: string, configFile: string, privateDirs: readonly string[]): string[] {
  const mounts = privateDirs.map((d) => `mount -t tmpfs -o mode=0755 tmpfs ${d}`).join(" && ");
  return [
    "--mount",
    "--propagation",
    "private",
    "--",
    "sh",
    "-c",
    `${mounts} && exec "$0" "$@"`,
    containerd,
    "--config",
    configFile,
  ];
}
