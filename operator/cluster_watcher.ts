/**
 * The operator's view of the cluster: one reflector per watched collection (internal/kube), each object made compact
 * and parsed once when it arrives (`operator/kind_cache.ts`). Cluster-wide, it watches the Gateway API objects,
 * GatewayParameters, CachePolicies, CacheInvalidations, BackendTLSPolicies, Ingresses, IngressClasses and Namespaces (the Gateway API objects
 * include ListenerSets), and, by label, only our own children and pods; the Services, Secrets and
 * ConfigMaps Gateways reference, and the Gateways' own Secrets, are watched per namespace or by name while a Gateway
 * needs them (`operator/reference_watcher.ts`). So the cluster's
 * other ConfigMaps, Secrets and Services never enter memory. Changes are reported as `(kind, old, new)` to a handler
 * that maps them to reconcile keys. With `--watch-namespaces` the namespaced kinds are watched in those namespaces
 * only (`operator/watch_scope.ts`), and references into other namespaces are not watched: they read as missing.
 *
 * @module
 */
import type { KubeClient, KubeObject } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import { gatewayNameOf, gatewayObjectName, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "../internal/names.ts";
import type { ConfigMap, Secret, Service } from "./api_types.ts";
import { compactNamespace, compactPod, compactService, metadataOnly, withoutManagedFields } from "./compact_objects.ts";
import { type ChangeHandler, type KindCache, type WatchedKind, watchKind } from "./kind_cache.ts";
import {
  CACHE_INVALIDATION_KIND,
  CACHE_INVALIDATIONS_PATH,
  cacheInvalidationSchema,
} from "./invalidation/cache_invalidation.ts";
import { type Ingress, ingressGateway } from "./ingress/mod.ts";
import { ReferenceWatcher } from "./reference_watcher.ts";
import { emptySnapshot, kindSchema, type Snapshot } from "./snapshot.ts";
import { keyOf } from "./snapshot_index.ts";
import type { WatchScope } from "./watch_scope.ts";

export type { ChangeHandler, WatchedKind } from "./kind_cache.ts";

const MANAGED = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

/** Every collection the operator watches all the time. */
export const WATCHED_KINDS: readonly WatchedKind[] = [
  {
    kind: "GatewayClass",
    path: "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
    compact: withoutManagedFields,
    schema: kindSchema("gateway.networking.k8s.io/GatewayClass"),
    clusterScoped: true,
  },
  {
    kind: "Gateway",
    path: "/apis/gateway.networking.k8s.io/v1/gateways",
    compact: withoutManagedFields,
    schema: kindSchema("gateway.networking.k8s.io/Gateway"),
  },
  {
    kind: "HTTPRoute",
    path: "/apis/gateway.networking.k8s.io/v1/httproutes",
    compact: withoutManagedFields,
    schema: kindSchema("gateway.networking.k8s.io/HTTPRoute"),
    specOnlyParsed: true,
  },
  {
    kind: "ListenerSet",
    path: "/apis/gateway.networking.k8s.io/v1/listenersets",
    compact: withoutManagedFields,
    schema: kindSchema("gateway.networking.k8s.io/ListenerSet"),
  },
  {
    kind: "ReferenceGrant",
    path: "/apis/gateway.networking.k8s.io/v1/referencegrants",
    compact: withoutManagedFields,
    schema: kindSchema("gateway.networking.k8s.io/ReferenceGrant"),
  },
  {
    kind: "BackendTLSPolicy",
    path: "/apis/gateway.networking.k8s.io/v1/backendtlspolicies",
    compact: withoutManagedFields,
    schema: kindSchema("gateway.networking.k8s.io/BackendTLSPolicy"),
  },
  {
    kind: "GatewayParameters",
    path: "/apis/lacquer.dev/v1alpha1/gatewayparameters",
    compact: withoutManagedFields,
    schema: kindSchema("lacquer.dev/GatewayParameters"),
  },
  {
    kind: "CachePolicy",
    path: "/apis/lacquer.dev/v1alpha1/cachepolicies",
    compact: withoutManagedFields,
    schema: kindSchema("lacquer.dev/CachePolicy"),
  },
  {
    kind: CACHE_INVALIDATION_KIND,
    path: CACHE_INVALIDATIONS_PATH,
    compact: withoutManagedFields,
    schema: cacheInvalidationSchema,
  },
  {
    kind: "IngressClass",
    path: "/apis/networking.k8s.io/v1/ingressclasses",
    compact: withoutManagedFields,
    schema: kindSchema("networking.k8s.io/IngressClass"),
    clusterScoped: true,
  },
  {
    kind: "Ingress",
    path: "/apis/networking.k8s.io/v1/ingresses",
    compact: withoutManagedFields,
    schema: kindSchema("networking.k8s.io/Ingress"),
  },
  {
    kind: "Namespace",
    path: "/api/v1/namespaces",
    clusterScoped: true,
    compact: compactNamespace,
    schema: kindSchema("/Namespace"),
  },
  // Our children, by label. The gateways' own Services are parsed (their addresses go into Gateway status); of the
  // others only the metadata is kept, which tells whether they are current and which Gateway they belong to.
  {
    kind: "Service",
    path: "/api/v1/services",
    labelSelector: MANAGED,
    compact: compactService,
    schema: kindSchema("/Service"),
  },
  { kind: "Pod", path: "/api/v1/pods", labelSelector: MANAGED, compact: compactPod, schema: kindSchema("/Pod") },
  { kind: "ConfigMap", path: "/api/v1/configmaps", labelSelector: MANAGED, compact: metadataOnly },
  { kind: "Deployment", path: "/apis/apps/v1/deployments", labelSelector: MANAGED, compact: metadataOnly },
  { kind: "ServiceAccount", path: "/api/v1/serviceaccounts", labelSelector: MANAGED, compact: metadataOnly },
  { kind: "Role", path: "/apis/rbac.authorization.k8s.io/v1/roles", labelSelector: MANAGED, compact: metadataOnly },
  {
    kind: "RoleBinding",
    path: "/apis/rbac.authorization.k8s.io/v1/rolebindings",
    labelSelector: MANAGED,
    compact: metadataOnly,
  },
  {
    kind: "NetworkPolicy",
    path: "/apis/networking.k8s.io/v1/networkpolicies",
    labelSelector: MANAGED,
    compact: metadataOnly,
  },
  {
    kind: "PodDisruptionBudget",
    path: "/apis/policy/v1/poddisruptionbudgets",
    labelSelector: MANAGED,
    compact: metadataOnly,
  },
];

/** Options for {@linkcode ClusterWatcher}. */
export interface ClusterWatcherOptions {
  /** Logger. */
  log: Logger;
  /** Receives changes (only enqueue keys here). */
  onChange: ChangeHandler;
  /** Watch only these kinds (tests). @default {WATCHED_KINDS} */
  kinds?: readonly WatchedKind[];
  /** How long a reconcile waits for the watches of newly referenced objects. @default {10000} */
  referenceSyncTimeoutMs?: number;
  /** Watch only these namespaces (and the cluster-scoped kinds). @default {the whole cluster} */
  namespaces?: WatchScope;
}

/** Typed caches of everything the operator reads, kept current by reflectors. */
export class ClusterWatcher {
  #caches = new Map<string, KindCache>();
  #referenced: ReferenceWatcher;
  #namespaces: WatchScope;
  /** Counts objects that failed to parse, by kind. */
  readonly parseErrors = new Map<string, number>();

  /** Starts one reflector per kind. */
  constructor(client: KubeClient, options: ClusterWatcherOptions) {
    this.#namespaces = options.namespaces;
    const watch = { log: options.log, onChange: options.onChange, parseErrors: this.parseErrors };
    for (const kind of options.kinds ?? WATCHED_KINDS) {
      this.#caches.set(kind.kind, watchKind(client, kind, { ...watch, namespaces: options.namespaces }));
    }
    this.#referenced = new ReferenceWatcher(client, {
      ...watch,
      namespaces: options.namespaces,
      log: options.log.child({ referenced: true }),
      syncTimeoutMs: options.referenceSyncTimeoutMs,
    });
  }

  /** Resolves when every reflector has listed once. */
  get synced(): Promise<void> {
    return Promise.all([...this.#caches.values()].map((c) => c.reflector.synced)).then(() => {});
  }

  /** Tells whether every reflector's last request succeeded. */
  healthy(): boolean {
    return [...this.#caches.values()].every((c) => c.reflector.healthy()) && this.#referenced.healthy();
  }

  /** Returns the parsed objects of a parsed kind. */
  list<T>(kind: string): T[] {
    return [...(this.#caches.get(kind)?.parsed.values() ?? [])] as T[];
  }

  /** Returns one parsed object of a parsed kind. */
  get<T>(kind: string, key: string): T | undefined {
    return this.#caches.get(kind)?.parsed.get(key) as T | undefined;
  }

  /**
   * Returns the cached object as the apiserver sent it, made compact; of the Gateways' own Secrets, those of the
   * namespaces watched for a Gateway.
   */
  raw(kind: string, key: string): KubeObject | undefined {
    const cache = this.#caches.get(kind);
    if (cache) return cache.reflector.get(key);
    return this.#referenced.children(kind).find((o) => keyOf(o.metadata.namespace, o.metadata.name) === key);
  }

  /** Returns every cached object of a kind, made compact (see {@linkcode ClusterWatcher.raw}). */
  rawList(kind: string): KubeObject[] {
    return this.#caches.get(kind)?.reflector.list() ?? this.#referenced.children(kind);
  }

  /**
   * Number of cached objects per kind (the Gateways' own Secrets too); referenced objects as `referenced/<kind>`, their
   * watches as `watches/<kind>`.
   */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [kind, c] of this.#caches) out[kind] = c.reflector.list().length;
    const referenced = this.#referenced.counts();
    for (const [kind, n] of Object.entries(referenced.objects)) out[`referenced/${kind}`] = n;
    for (const [kind, n] of Object.entries(referenced.watches)) out[`watches/${kind}`] = n;
    for (const [kind, n] of Object.entries(referenced.children)) out[kind] = n;
    return out;
  }

  /**
   * Builds the snapshot for translating some Gateways, without the objects they reference (see
   * {@linkcode ClusterWatcher.addReferences}): every GatewayClass, ReferenceGrant, GatewayParameters and
   * IngressClass, only the given Gateways, their routes and Ingresses, their own Services and pods, and the
   * Namespaces of all of them.
   *
   * @param gateways Gateway keys.
   * @param routes The routes related to them.
   * @param listenerSets The ListenerSets whose parentRef names them.
   * @param routeNamespaces The Namespaces of the routes when the caller keeps them (tens of thousands of routes are
   *   not walked for them); read from the routes otherwise.
   * @returns The snapshot.
   */
  snapshot(
    gateways: readonly string[],
    routes: readonly unknown[],
    listenerSets: readonly unknown[] = [],
    routeNamespaces?: Iterable<string>,
  ): Snapshot {
    const s = emptySnapshot();
    s.watchedNamespaces = this.#namespaces;
    s.gatewayClasses = this.list("GatewayClass");
    s.gateways = gateways.map((k) => this.get("Gateway", k)).filter((g) => g !== undefined) as Snapshot["gateways"];
    s.httpRoutes = routes as Snapshot["httpRoutes"];
    s.listenerSets = listenerSets as Snapshot["listenerSets"];
    s.referenceGrants = this.list("ReferenceGrant");
    s.gatewayParameters = this.list("GatewayParameters");
    s.cachePolicies = this.list("CachePolicy");
    s.backendTlsPolicies = this.list("BackendTLSPolicy");
    s.services = gateways.map((k) => {
      const [ns, name] = k.split("/");
      return this.get<Service>("Service", keyOf(ns, gatewayObjectName(name)));
    }).filter((x) => x !== undefined);
    s.ingressClasses = this.list("IngressClass");
    s.ingresses = this.list<Ingress>("Ingress").filter((i) => {
      const gateway = ingressGateway(i, s.ingressClasses);
      return gateway !== undefined && gateways.includes(gateway);
    });
    const namespaces = snapshotNamespaces(s, routeNamespaces);
    s.namespaces = [...namespaces].map((n) => this.get("Namespace", n)).filter((n) => n !== undefined) as Snapshot[
      "namespaces"
    ];
    const names = new Set(gateways);
    s.pods = this.list<Snapshot["pods"][number]>("Pod").filter((p) =>
      names.has(`${p.metadata.namespace}/${gatewayNameOf(p.metadata)}`)
    );
    return s;
  }

  /**
   * Watches what a Gateway references (dependency keys, `operator/dependencies.ts`) and waits until those watches
   * are synced; what it no longer references is released.
   *
   * @param gateway The Gateway key.
   * @param deps Its dependency keys; empty when it is gone or not ours.
   * @throws {Error} When the watches do not sync in time.
   */
  watchReferences(gateway: string, deps: readonly string[]): Promise<void> {
    return this.#referenced.watch(gateway, deps);
  }

  /**
   * Adds the referenced Services, Secrets and ConfigMaps that exist to a snapshot.
   *
   * @param snapshot The snapshot (changed in place).
   * @param deps The dependency keys, watched with {@linkcode ClusterWatcher.watchReferences}.
   */
  addReferences(snapshot: Snapshot, deps: readonly string[]): void {
    const services = new Set(snapshot.services.map((o) => keyOf(o.metadata.namespace, o.metadata.name)));
    for (const dep of deps) {
      const obj = this.#referenced.get(dep);
      if (obj === undefined) continue;
      if (dep.startsWith("Service:") && !services.has(dep.slice(8))) snapshot.services.push(obj as Service);
      if (dep.startsWith("Secret:")) snapshot.secrets.push(obj as Secret);
      if (dep.startsWith("ConfigMap:")) snapshot.configMaps.push(obj as ConfigMap);
    }
  }

  /** Stops every reflector. */
  async stop(): Promise<void> {
    await Promise.all([...[...this.#caches.values()].map((c) => c.reflector.stop()), this.#referenced.stop()]);
  }
}

/**
 * The Namespaces of a snapshot's Gateways, routes, Ingresses and ListenerSets, those of the routes as the caller keeps
 * them when it does (a pass over tens of thousands of routes is saved), else read from the routes.
 *
 * @param s The snapshot's objects.
 * @param routeNamespaces The Namespaces of its routes, when kept.
 * @returns The Namespace names.
 */
export function snapshotNamespaces(
  s: Pick<Snapshot, "gateways" | "httpRoutes" | "ingresses" | "listenerSets">,
  routeNamespaces?: Iterable<string>,
): Set<string> {
  const namespaces = new Set<string>(routeNamespaces);
  const lists = routeNamespaces
    ? [s.gateways, s.ingresses, s.listenerSets]
    : [s.gateways, s.httpRoutes, s.ingresses, s.listenerSets];
  for (const list of lists) {
    for (const o of list) namespaces.add(o.metadata.namespace ?? "");
  }
  return namespaces;
}
