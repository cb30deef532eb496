/**
 * Reads the objects the offline tools read from files from a live cluster instead, so `lacquer explain` and
 * `lacquer status` run the same translation on what the API server holds. Cluster-wide lists of the Gateway API
 * kinds, Lacquer's kinds, IngressClasses and Ingresses, Namespaces, Services, Lacquer's own pods and ConfigMaps and
 * the EndpointSlices; the Secrets and ConfigMaps Gateways reference are read by name (the cluster's others are never
 * read).
 *
 * @module
 */
import { type EndpointSliceView, endpointSliceViewSchema } from "../chaperone/kube_views.ts";
import { createKubeClient, KubeApiError, type KubeClient, loadKubeCredentials } from "../internal/kube/mod.ts";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "../internal/names.ts";
import { resolveParameters } from "../operator/gateway_parameters.ts";
import { parseSnapshot, type Snapshot } from "../operator/snapshot.ts";
import type { LoadedObjects } from "./load_objects.ts";

/** The API server cannot be reached, or refused a read (exit code 3). */
export class ClusterError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ClusterError";
  }
}

const MANAGED = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

/** Collections listed whole, with the API version their items get (a list's items carry no kind). */
const LISTS: { path: string; apiVersion: string; kind: string; labelSelector?: string; optional?: boolean }[] = [
  {
    path: "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
  },
  { path: "/apis/gateway.networking.k8s.io/v1/gateways", apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway" },
  {
    path: "/apis/gateway.networking.k8s.io/v1/httproutes",
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
  },
  {
    path: "/apis/gateway.networking.k8s.io/v1beta1/referencegrants",
    apiVersion: "gateway.networking.k8s.io/v1beta1",
    kind: "ReferenceGrant",
    optional: true,
  },
  {
    path: "/apis/lacquer.dev/v1alpha1/gatewayparameters",
    apiVersion: "lacquer.dev/v1alpha1",
    kind: "GatewayParameters",
    optional: true,
  },
  {
    path: "/apis/lacquer.dev/v1alpha1/cachepolicies",
    apiVersion: "lacquer.dev/v1alpha1",
    kind: "CachePolicy",
    optional: true,
  },
  { path: "/apis/networking.k8s.io/v1/ingressclasses", apiVersion: "networking.k8s.io/v1", kind: "IngressClass" },
  { path: "/apis/networking.k8s.io/v1/ingresses", apiVersion: "networking.k8s.io/v1", kind: "Ingress" },
  { path: "/api/v1/namespaces", apiVersion: "v1", kind: "Namespace" },
  { path: "/api/v1/services", apiVersion: "v1", kind: "Service" },
  { path: "/api/v1/pods", apiVersion: "v1", kind: "Pod", labelSelector: MANAGED },
  { path: "/api/v1/configmaps", apiVersion: "v1", kind: "ConfigMap", labelSelector: MANAGED },
];

/**
 * Turns a failed read into the error the user reads.
 *
 * @param err What the read threw.
 * @param what What was read.
 * @returns The error, with a hint for refusals.
 */
export function clusterError(err: unknown, what: string): ClusterError {
  if (err instanceof KubeApiError) {
    const hint = err.code === 401 || err.code === 403 ? " (check the kubeconfig's user and its RBAC)" : "";
    return new ClusterError(`Cannot read ${what}: ${err.message}${hint}`);
  }
  return new ClusterError(`Cannot read ${what}: ${(err as Error).message}`);
}

/**
 * Lists a collection whole, page by page.
 *
 * @param client An API client.
 * @param path The collection's path.
 * @param labelSelector Only objects with these labels.
 * @returns The items (without kind and apiVersion, as lists return them).
 * @throws {KubeApiError} When the API server refuses.
 */
export async function listAll(
  client: KubeClient,
  path: string,
  labelSelector?: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let cont: string | undefined;
  do {
    const page = await client.request<{ items?: Record<string, unknown>[]; metadata?: { continue?: string } }>(path, {
      query: { limit: 500, labelSelector, continue: cont },
    });
    items.push(...(page.items ?? []));
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return items;
}

async function getOptional(client: KubeClient, path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return await client.request<Record<string, unknown>>(path);
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 404) return undefined;
    throw clusterError(err, path);
  }
}

/**
 * The Secrets (listener and Ingress certificates) and ConfigMaps (user VCL) a snapshot references, as API paths.
 *
 * @example Usage
 * ```ts
 * import { referencedPaths } from "./cluster_objects.ts";
 * import { emptySnapshot } from "../operator/snapshot.ts";
 * referencedPaths(emptySnapshot()); // []
 * ```
 *
 * @param snapshot The snapshot without them.
 * @returns Paths to read, each once, with their kind.
 */
export function referencedPaths(snapshot: Snapshot): { path: string; kind: "Secret" | "ConfigMap" }[] {
  const paths = new Map<string, "Secret" | "ConfigMap">();
  for (const gateway of snapshot.gateways) {
    for (const listener of gateway.spec.listeners) {
      for (const ref of listener.tls?.certificateRefs ?? []) {
        if (ref.group !== "" || ref.kind !== "Secret") continue;
        paths.set(`/api/v1/namespaces/${ref.namespace ?? gateway.metadata.namespace}/secrets/${ref.name}`, "Secret");
      }
    }
  }
  for (const ingress of snapshot.ingresses) {
    for (const tls of ingress.spec.tls) {
      if (tls.secretName) {
        paths.set(`/api/v1/namespaces/${ingress.metadata.namespace}/secrets/${tls.secretName}`, "Secret");
      }
    }
  }
  for (const params of snapshot.gatewayParameters) {
    const vcl = resolveParameters([params], { image: "" }).vcl;
    if (vcl) paths.set(`/api/v1/namespaces/${vcl.namespace}/configmaps/${vcl.name}`, "ConfigMap");
  }
  return [...paths].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, kind]) => ({ path, kind }));
}

/**
 * Reads the cluster's objects into what the offline tools read from files.
 *
 * @example Usage
 * ```ts ignore
 * import { loadClusterObjects } from "./cluster_objects.ts";
 * const { snapshot, endpointSlices } = await loadClusterObjects(client, (note) => console.error(note));
 * ```
 *
 * @param client An API client.
 * @param progress Receives a line per step (for stderr).
 * @returns The snapshot and EndpointSlices (`ignored` is empty).
 * @throws {ClusterError} When the API server cannot be reached or refuses a read.
 */
export async function loadClusterObjects(
  client: KubeClient,
  progress: (note: string) => void = () => {},
): Promise<LoadedObjects> {
  const objects: unknown[] = [];
  for (const { path, apiVersion, kind, labelSelector, optional } of LISTS) {
    let items;
    try {
      items = await listAll(client, path, labelSelector);
    } catch (err) {
      // A kind whose CRD is not installed has no objects.
      if (optional && err instanceof KubeApiError && err.code === 404) continue;
      throw clusterError(err, `${kind} objects from ${client.server}`);
    }
    progress(`listed ${kind}: ${items.length}`);
    for (const item of items) objects.push({ ...item, apiVersion, kind });
  }
  let snapshot: Snapshot;
  try {
    snapshot = parseSnapshot(objects);
  } catch (err) {
    throw new ClusterError(`Cannot use the cluster's objects: ${(err as Error).message}`);
  }
  const referenced = await Promise.all(
    referencedPaths(snapshot).map(async ({ path, kind }) => {
      const object = await getOptional(client, path);
      return object && { ...object, apiVersion: "v1", kind };
    }),
  );
  const extra = referenced.filter((o) => o !== undefined);
  progress(`read referenced Secrets and ConfigMaps: ${extra.length}`);
  let slices: Record<string, unknown>[] = [];
  try {
    slices = await listAll(client, "/apis/discovery.k8s.io/v1/endpointslices");
  } catch (err) {
    throw clusterError(err, "EndpointSlices");
  }
  progress(`listed EndpointSlice: ${slices.length}`);
  const endpointSlices: EndpointSliceView[] = slices.map((s) => endpointSliceViewSchema.parse(s));
  return { snapshot: parseSnapshot([...objects, ...extra]), endpointSlices, ignored: [] };
}

/**
 * Connects to the cluster of a kubeconfig file (`--kubeconfig`, else `KUBECONFIG`, else the in-cluster account).
 *
 * @param kubeconfig The file, when named on the command line.
 * @returns The client; close it when done.
 * @throws {ClusterError} When no configuration can be loaded.
 */
export async function connectCluster(kubeconfig: string | undefined): Promise<KubeClient> {
  try {
    return createKubeClient(await loadKubeCredentials(kubeconfig ? { kubeconfig } : {}), { requestTimeoutMs: 30_000 });
  } catch (err) {
    throw new ClusterError((err as Error).message);
  }
}
