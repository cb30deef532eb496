/**
 * The real node: containerd (with runc and the CNI bridge), the upstream kubelet, kube-proxy (nftables) and CoreDNS,
 * started by the cluster supervisor inside the cluster's network namespace.
 *
 * Isolation, so that clusters run side by side and leave nothing behind:
 * - containerd and the kubelet share one private mount namespace (they must see each other's mounts: volumes, pod
 *   network namespaces, container root filesystems) with their own `/run`, `/var/lib` and `/var/log`, where both
 *   hard-code a few paths (shim sockets, the device-plugin socket, `/var/log/containers`). Every mount they make
 *   lives and dies with that namespace;
 * - every process of the node and every pod is below the cluster's cgroup (see `node_cgroup.ts`), so stopping is
 *   "kill what is in the cgroup, remove the cgroup";
 * - every other file is below the node directory.
 *
 * @module
 */
import type { KubeClient } from "../../../internal/kube/mod.ts";
import type { Logger } from "../../../internal/log.ts";
import {
  API_PORT,
  BRIDGE,
  CLUSTER_DNS_IP,
  type ClusterBinaries,
  type ClusterLayout,
  LB_POOL_PREFIX,
  NODE_IP,
  NODE_NAME,
  POD_CIDR,
  SERVICE_CIDR,
} from "../layout.ts";
import { waitFor } from "../control_plane.ts";
import { kubeconfigYaml, type Pki } from "../pki_writer.ts";
import { runCommand } from "../run_command.ts";
import { type LoggedProcess, spawnLogged } from "../spawn_logged.ts";
import { clusterDnsObjects } from "./cluster_dns.ts";
import { copySeed, imageSeed } from "./image_seed.ts";
import { createNodeCgroup, joinNodeCgroup, removeNodeCgroup } from "./node_cgroup.ts";
import {
  cniConflist,
  containerdArgs,
  containerdConfig,
  kubeletConfig,
  kubeProxyConfig,
  type NodeConfigOptions,
  nodePaths,
} from "./node_config.ts";

/** Options for {@linkcode startRealNode}. */
export interface RealNodeOptions {
  layout: ClusterLayout;
  binaries: ClusterBinaries;
  pki: Pki;
  /** A client with admin credentials. */
  client: KubeClient;
  log: Logger;
  /** The images to import into containerd (`docker-archive` tarballs; each keeps the names it was saved with). */
  imageArchives: readonly string[];
  /** The cache root, where the imported images are kept for the next cluster (`image_seed.ts`). */
  cache: string;
  /** The sandbox image (one of the imported ones). */
  pauseImage: string;
  /** The CoreDNS image (one of the imported ones). */
  corednsImage: string;
  /**
   * Resolves once the API server is ready: the container runtime starts before, the kubelet and the rest after
   * (the kubelet backs off when it cannot register). A rejection stops the node.
   */
  apiReady?: Promise<unknown>;
}

/** A running node. */
export interface RealNode {
  /** Stops the node's programs and every pod, and removes the node's cgroups. */
  stop(): Promise<void>;
}

/** Directories that containerd and the kubelet get privately (they write fixed paths below them). */
const PRIVATE_DIRS = ["/run", "/var/lib", "/var/log"];

interface NodeStatusView {
  spec?: { taints?: unknown[] };
  status?: { conditions?: { type: string; status: string }[] };
}

/**
 * Starts the node and waits until the Node is Ready and has no taints (pods can be scheduled).
 *
 * @param options Layout, binaries, PKI, client, images.
 * @returns The handle.
 * @throws {Error} When a part does not start; what was started is stopped again.
 */
export async function startRealNode(options: RealNodeOptions): Promise<RealNode> {
  const { layout, binaries: bin, pki, client, log } = options;
  const t0 = performance.now();
  const paths = nodePaths(layout.nodeDir);
  const config: NodeConfigOptions = {
    dir: layout.nodeDir,
    nodeName: NODE_NAME,
    nodeIp: NODE_IP,
    podCidr: POD_CIDR,
    bridge: BRIDGE,
    cgroupRoot: `/${layout.cgroupName}`,
    clusterDns: CLUSTER_DNS_IP,
    pauseImage: options.pauseImage,
    cniBinDir: "/usr/lib/cni",
    runc: "/usr/sbin/runc",
  };
  const procs: LoggedProcess[] = [];
  // a test cluster is thrown away: no graceful shutdown of pods or node programs, everything in the cgroup at once
  // (so nothing restarts what was just killed)
  const stop = async () => {
    await removeNodeCgroup(layout.cgroupName);
    await Promise.all(procs.map((p) => p.status));
  };
  const start = async (name: string, program: string, args: string[], env?: Record<string, string>) => {
    const p = spawnLogged(program, { args, env, logFile: `${layout.logDir}/${name}.log` });
    procs.push(p);
    await joinNodeCgroup(layout.cgroupName, p.pid);
    return p;
  };
  try {
    await Deno.remove(layout.nodeDir, { recursive: true }).catch(() => {});
    for (const d of [paths.cniConfDir, paths.kubeletRoot, paths.podLogs, `${layout.nodeDir}/containerd`]) {
      await Deno.mkdir(d, { recursive: true });
    }
    const ca = await Deno.readTextFile(pki.caCert);
    const kubeconfig = async (cert: string, key: string, user: string) =>
      kubeconfigYaml({
        server: `https://${NODE_IP}:${API_PORT}`,
        ca,
        cert: await Deno.readTextFile(cert),
        key: await Deno.readTextFile(key),
        user,
      });
    await Promise.all([
      Deno.writeTextFile(paths.containerdConfig, containerdConfig(config)),
      Deno.writeTextFile(`${paths.cniConfDir}/10-lacquer.conflist`, cniConflist(config)),
      Deno.writeTextFile(
        paths.kubeletConfig,
        kubeletConfig(config, { caCert: pki.caCert, cert: pki.kubeletCert, key: pki.kubeletKey }),
      ),
      Deno.writeTextFile(paths.kubeProxyConfig, kubeProxyConfig(config)),
      Deno.writeTextFile(paths.resolvConf, ""),
      kubeconfig(pki.nodeCert, pki.nodeKey, "kubelet").then((t) => Deno.writeTextFile(paths.kubeletKubeconfig, t)),
      kubeconfig(pki.kubeProxyCert, pki.kubeProxyKey, "kube-proxy")
        .then((t) => Deno.writeTextFile(paths.kubeProxyKubeconfig, t)),
    ]);

    // the network namespace has no default route: ClusterIPs and LoadBalancer addresses go to the bridge, where
    // kube-proxy's rules translate them; pod → Service → pod on the same bridge needs bridged traffic to be filtered
    await runCommand("sysctl", { args: ["-q", "-w", "net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1"] });
    for (const cidr of [SERVICE_CIDR, `${LB_POOL_PREFIX}0/24`]) {
      await runCommand("ip", { args: ["route", "replace", cidr, "dev", BRIDGE] });
    }
    await createNodeCgroup(layout.cgroupName);
    const seed = await imageSeed({
      cache: options.cache,
      archives: options.imageArchives,
      containerd: bin.containerd,
      ctr: bin.ctr,
      config: (dir) => {
        const seedPaths = nodePaths(dir);
        return {
          toml: containerdConfig({ ...config, dir }),
          root: seedPaths.containerdRoot,
          socket: seedPaths.containerdSocket,
        };
      },
      log,
    });
    await copySeed(seed, paths.containerdRoot);
    log.info("Node images in place", { durationMs: Math.round(performance.now() - t0) });

    const path = `${bin.containerd.replace(/\/[^/]*$/, "")}:${Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`;
    const containerd = await start(
      "containerd",
      "unshare",
      containerdArgs(bin.containerd, paths.containerdConfig, PRIVATE_DIRS),
      { PATH: path },
    );
    const ctr = (...args: string[]) =>
      runCommand(bin.ctr, { args: ["--address", paths.containerdSocket, "--namespace", "k8s.io", ...args] });
    await waitFor("containerd", async () => (await ctr("version"), true), 20_000, containerd);
    log.info("containerd ready", { durationMs: Math.round(performance.now() - t0) });
    await options.apiReady;

    const kubelet = await start("kubelet", "nsenter", [
      `--mount=/proc/${containerd.pid}/ns/mnt`,
      "--",
      bin.kubelet,
      `--config=${paths.kubeletConfig}`,
      `--kubeconfig=${paths.kubeletKubeconfig}`,
      `--root-dir=${paths.kubeletRoot}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${NODE_IP}`,
      "--v=1",
    ], { PATH: path });
    await start("kube-proxy", bin.kubeProxy, [`--config=${paths.kubeProxyConfig}`, "--v=1"]);
    // kube-system appears a moment after the API server is ready
    await waitFor("the cluster DNS", async () => {
      for (const { path, object } of clusterDnsObjects({ image: options.corednsImage, clusterIp: CLUSTER_DNS_IP })) {
        await client.request(`${path}/${object.metadata.name}`, {
          method: "PATCH",
          contentType: "application/apply-patch+yaml",
          query: { fieldManager: "lacquer-cluster", force: true },
          body: object,
        });
      }
      return true;
    }, 30_000);
    await waitFor(
      "the node",
      async () => {
        const node = await client.request<NodeStatusView>(`/api/v1/nodes/${NODE_NAME}`);
        const ready = node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
        return !!ready && (node.spec?.taints ?? []).length === 0;
      },
      60_000,
      kubelet,
    );
    log.info("Node ready", { durationMs: Math.round(performance.now() - t0) });
    return { stop };
  } catch (err) {
    await stop().catch((e) => log.warn("Node stop failed", { err: e }));
    throw err;
  }
}
