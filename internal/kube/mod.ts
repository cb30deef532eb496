/**
 * Kubernetes client pieces shared by the operator, the chaperone and the test cluster:
 *
 * - {@linkcode loadKubeCredentials}: a kubeconfig file (through client-node, imported only then), else the pod's
 *   service account ({@linkcode inClusterCredentials}, without client-node), never the localhost fallback;
 * - {@linkcode createKubeClient}: raw-JSON requests on Deno `fetch` with those credentials;
 * - {@linkcode createReflector}: a list+watch cache with rewatch, relist on 410, backoff, watchdog and resync;
 * - {@linkcode watchObject}: one named object through a reflector, decoded once per version;
 * - {@linkcode EventRecorder}: Kubernetes Events (`events.k8s.io/v1`) on state changes, repeats aggregated, rate-limited.
 *
 * @example Watch the pods of a namespace
 * ```ts ignore
 * import { createKubeClient, createReflector, loadKubeCredentials } from "./mod.ts";
 * const client = createKubeClient(await loadKubeCredentials({ kubeconfig: "/tmp/kubeconfig" }));
 * const pods = createReflector(client, {
 *   path: "/api/v1/namespaces/default/pods",
 *   onChange: (old, pod) => console.log(old ? (pod ? "updated" : "deleted") : "added"),
 * });
 * await pods.synced;
 * await pods.stop();
 * client.close();
 * ```
 *
 * @module
 */
export {
  type KubeAuth,
  kubeConfigCredentials,
  type KubeCredentials,
  loadKubeCredentials,
  type LoadKubeCredentialsOptions,
} from "./credentials.ts";
export { inClusterCredentials, type InClusterOptions, SERVICE_ACCOUNT_DIR } from "./in_cluster.ts";
export {
  buildUrl,
  createKubeClient,
  type FetchLike,
  KubeApiError,
  type KubeClient,
  type KubeClientOptions,
  type KubeRequestOptions,
} from "./kube_client.ts";
export {
  createReflector,
  type KubeObject,
  objectKey,
  type Reflector,
  type ReflectorHandler,
  type ReflectorOptions,
  type ReflectorStats,
} from "./reflector.ts";
export {
  type EventObject,
  EventRecorder,
  type EventRecorderOptions,
  type EventSpec,
  type EventTransition,
  microTime,
} from "./event_recorder.ts";
export { type EventSeriesLimits, truncateUtf8 } from "./event_series.ts";
export { type ObjectWatcher, watchObject, type WatchObjectOptions } from "./object_watcher.ts";
export { mergeReflectors } from "./merged_reflector.ts";
export type { BackoffPolicy } from "../backoff.ts";
