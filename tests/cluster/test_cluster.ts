/**
 * The test-side handle on the local cluster: started once per test run on first use (a lock file makes sure only
 * one test process starts it), and a fresh namespace per test.
 *
 * @module
 */
import { createKubeClient, type KubeClient, loadKubeCredentials } from "../../internal/kube/mod.ts";
import { type ClusterInfo, launchSupervisor, waitForCluster } from "./cluster_control.ts";
import { eventually } from "./eventually.ts";
import { clusterBinaries, type ClusterLayout, clusterLayout, lacquerCacheDir } from "./layout.ts";
import { podProcesses } from "./node/node_cgroup.ts";
import { nodePaths } from "./node/node_config.ts";
import { runCommand } from "./run_command.ts";

/** The running test cluster. */
export interface TestCluster {
  /** Cluster name; also the value of the `lacquer.dev/test-run` label on test namespaces. */
  name: string;
  /** Admin kubeconfig path (works inside the test's network namespace). */
  kubeconfig: string;
  /** API server URL. */
  server: string;
  /** Paths and names. */
  layout: ClusterLayout;
  /** What the supervisor reported. */
  info: ClusterInfo;
}

/**
 * Tells whether this test process runs under `deno task test` (inside the cluster's network namespace). Use it as
 * `ignore: !clusterAvailable()` in tests that need the cluster.
 *
 * @returns Whether the cluster can be used.
 */
export function clusterAvailable(): boolean {
  return !!Deno.env.get("LACQUER_TEST_CLUSTER");
}

let current: Promise<TestCluster> | undefined;

/**
 * Returns the run's cluster, starting it on the first call (about 6 s warm): control plane and node (containerd,
 * kubelet, kube-proxy, scheduler, CoreDNS).
 *
 * @returns The cluster.
 * @throws {Error} Outside `deno task test`, or when the cluster cannot start (the message names the log).
 */
export function useCluster(): Promise<TestCluster> {
  current ??= start();
  return current;
}

async function start(): Promise<TestCluster> {
  const name = Deno.env.get("LACQUER_TEST_CLUSTER");
  if (!name) {
    throw new Error("Cannot use the local cluster: run the tests with `deno task test` (LACQUER_TEST_CLUSTER unset)");
  }
  const layout = clusterLayout(name);
  await Deno.mkdir(layout.dir, { recursive: true });
  try {
    const lock = await Deno.open(`${layout.dir}/start.lock`, { createNew: true, write: true });
    lock.close();
    await launchSupervisor(layout, {
      inCurrentNetns: true,
      gatewayApiChannel: Deno.env.get("LACQUER_GATEWAY_API_CHANNEL"),
    });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  const info = await waitForCluster(layout);
  return { name, kubeconfig: info.kubeconfig, server: info.server, layout, info };
}

/** A namespace for one test, with its own API client; dispose it (`await using`) to delete both. */
export interface TestNamespace extends AsyncDisposable {
  /** The namespace name, `t-<8 hex>`. */
  name: string;
  /** A raw-JSON client with admin rights (closed on dispose). */
  client: KubeClient;
  /** The cluster. */
  cluster: TestCluster;
}

/**
 * Creates a namespace labelled `lacquer.dev/test-run=<run>` and waits for its default ServiceAccount.
 *
 * @example Usage
 * ```ts ignore
 * import { createTestNamespace, useCluster } from "./mod.ts";
 * await using ns = await createTestNamespace(await useCluster());
 * await ns.client.request(`/api/v1/namespaces/${ns.name}/configmaps`, { method: "POST", body: {} });
 * ```
 *
 * @param cluster The cluster.
 * @returns The namespace; deleting it happens in the background on dispose.
 */
export async function createTestNamespace(cluster: TestCluster): Promise<TestNamespace> {
  const client = createKubeClient(await loadKubeCredentials({ kubeconfig: cluster.kubeconfig }));
  const name = `t-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await client.request("/api/v1/namespaces", {
      method: "POST",
      body: {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name, labels: { "lacquer.dev/test-run": cluster.name } },
      },
    });
    await eventually(() => client.request(`/api/v1/namespaces/${name}/serviceaccounts/default`));
  } catch (err) {
    client.close();
    throw err;
  }
  return {
    name,
    client,
    cluster,
    async [Symbol.asyncDispose]() {
      await client.request(`/api/v1/namespaces/${name}`, {
        method: "DELETE",
        body: { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Background" },
      }).catch(() => {});
      client.close();
    },
  };
}

/**
 * Runs kubectl against the cluster and returns its standard output.
 *
 * @param cluster The cluster.
 * @param args kubectl arguments.
 * @returns Standard output.
 * @throws {Error} When kubectl fails (with its standard error).
 */
export async function kubectl(cluster: TestCluster, args: string[]): Promise<string> {
  const cache = lacquerCacheDir(Deno.env);
  const out = await runCommand(clusterBinaries(cache).kubectl, { args: ["--kubeconfig", cluster.kubeconfig, ...args] });
  return out.stdout;
}

/**
 * Returns the path of a pod's network namespace, e.g. to run `nsenter --net=<path> ip link set eth0 down` there.
 * It is a process's of the pod (found by the pod's cgroup): the kubelet names pod network namespaces only inside
 * its private mount namespace.
 *
 * @param cluster The cluster.
 * @param podUid The pod's `metadata.uid`.
 * @returns The path.
 * @throws {Error} When the pod runs no process.
 */
export async function podNetnsPath(cluster: TestCluster, podUid: string): Promise<string> {
  const [pid] = await podProcesses(cluster.layout.cgroupName, podUid);
  if (pid === undefined) throw new Error(`Cannot find the network namespace of pod ${podUid}: it runs no process`);
  return `/proc/${pid}/ns/net`;
}

/**
 * Returns the file a container's first run logs to (CRI format, `<time> <stream> <tag> <line>`), in the kubelet's
 * `podLogsDir`. The kubelet removes it with the pod; a file opened before stays readable.
 *
 * @param cluster The cluster.
 * @param pod The pod's namespace, name and uid.
 * @param container The container's name.
 * @returns The path.
 */
export function containerLogFile(
  cluster: TestCluster,
  pod: { namespace: string; name: string; uid: string },
  container: string,
): string {
  const dir = `${pod.namespace}_${pod.name}_${pod.uid}`;
  return `${nodePaths(cluster.layout.nodeDir).podLogs}/${dir}/${container}/0.log`;
}
