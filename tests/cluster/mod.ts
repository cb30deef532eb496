/**
 * The local Kubernetes cluster for tests (see `tests/README.md`): real etcd, kube-apiserver and
 * kube-controller-manager, a real node (containerd, kubelet, kube-proxy, scheduler, CoreDNS) running locally built
 * images, and our LoadBalancer address controller, in a private network namespace.
 *
 * `deno task test` runs the tests inside a fresh network namespace; the first {@linkcode useCluster} call starts
 * the cluster there (shared by every test of the run) and the task tears it down at the end. Each test takes its
 * own namespace:
 *
 * @example A test against the cluster
 * ```ts ignore
 * import { clusterAvailable, createTestNamespace, eventually, useCluster } from "./mod.ts";
 * Deno.test({ name: "something runs", ignore: !clusterAvailable() }, async () => {
 *   await using ns = await createTestNamespace(await useCluster());
 *   await ns.client.request(`/apis/apps/v1/namespaces/${ns.name}/deployments`, { method: "POST", body: {} });
 *   await eventually(async () => {});
 * });
 * ```
 *
 * Outside tests (the demo, the conformance runner), start and stop a named cluster yourself:
 * {@linkcode createClusterNetns} + {@linkcode launchSupervisor} + {@linkcode waitForCluster}, then
 * {@linkcode stopCluster}; run programs inside its network namespace with
 * `nsenter --net=/run/netns/<layout.netns> -- ...`.
 *
 * @module
 */
export { consistently, eventually, type PollOptions } from "./eventually.ts";
export { freePort } from "./free_port.ts";
export {
  clusterAvailable,
  containerLogFile,
  createTestNamespace,
  kubectl,
  podNetnsPath,
  type TestCluster,
  type TestNamespace,
  useCluster,
} from "./test_cluster.ts";
export { API_PORT, LB_POOL_PREFIX, NODE_IP, NODE_NAME } from "./layout.ts";
export { ECHO_IMAGE, PAUSE_IMAGE } from "./node/node_images.ts";
export {
  type ClusterInfo,
  createClusterNetns,
  type LaunchOptions,
  launchSupervisor,
  stopCluster,
  supervisorPid,
  waitForCluster,
} from "./cluster_control.ts";
export { type ClusterBinaries, clusterBinaries, type ClusterLayout, clusterLayout } from "./layout.ts";
export { type CommandResult, runCommand, type RunCommandOptions } from "./run_command.ts";
export {
  type SelfSignedCertificate,
  selfSignedCertificate,
  type TestCertificateAuthority,
  testCertificateAuthority,
} from "./pki_writer.ts";
export { type LoggedProcess, spawnLogged, type SpawnLoggedOptions } from "./spawn_logged.ts";
