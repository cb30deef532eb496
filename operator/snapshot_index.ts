/**
 * Lookup tables over a {@linkcode Snapshot}, built once per translation.
 *
 * @module
 */
import type {
  BackendTlsPolicy,
  ConfigMap,
  GatewayClass,
  HttpRoute,
  ListenerSet,
  Namespace,
  Pod,
  ReferenceGrant,
  Secret,
  Service,
} from "./api_types.ts";
import { gatewayNameOf } from "../internal/names.ts";
import type { AlignedWalk } from "./aligned_walk.ts";
import type { GatewayParameters } from "./gateway_parameters.ts";
import type { Snapshot } from "./snapshot.ts";

/** Lookup tables of a snapshot. Keys are `namespace/name` (or `name` for cluster-scoped objects). */
export interface SnapshotIndex {
  /** GatewayClasses by name. */
  classes: Map<string, GatewayClass>;
  /** Namespaces by name. */
  namespaces: Map<string, Namespace>;
  /** Services by key. */
  services: Map<string, Service>;
  /** Secrets by key. */
  secrets: Map<string, Secret>;
  /** ConfigMaps by key. */
  configMaps: Map<string, ConfigMap>;
  /** GatewayParameters by key. */
  parameters: Map<string, GatewayParameters>;
  /** ReferenceGrants by namespace. */
  grants: Map<string, ReferenceGrant[]>;
  /** ListenerSets by key. */
  listenerSets: Map<string, ListenerSet>;
  /** ListenerSets by the key of the Gateway their parentRef names. */
  listenerSetsByGateway: Map<string, ListenerSet[]>;
  /** HTTPRoutes by the key of each Gateway their parentRefs or our status entries name (through a ListenerSet too). */
  routesByGateway: Map<string, HttpRoute[]>;
  /**
   * The HTTPRoutes that name a ListenerSet, in a parentRef or in one of our status entries (the others: no entry of
   * theirs can be for a ListenerSet that is gone, and translation does not look at them for it).
   */
  listenerSetRoutes: HttpRoute[];
  /** Pods by the Gateway named in their gateway-name label (`namespace/name`). */
  podsByGateway: Map<string, Pod[]>;
  /** BackendTLSPolicies by the key of each Service they target, oldest first (then by key). */
  backendTlsByService: Map<string, BackendTlsPolicy[]>;
  /** The namespaces the operator watches; undefined: the whole cluster. */
  watched?: readonly string[];
}

/**
 * Builds the key of a namespaced object.
 *
 * @param namespace The namespace.
 * @param name The name.
 * @returns `namespace/name`.
 */
export function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function byKey<T extends { metadata: { name: string; namespace?: string } }>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((item) => [keyOf(item.metadata.namespace, item.metadata.name), item]));
}

function push<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list) {
    if (list[list.length - 1] !== item) list.push(item);
  } else map.set(key, [item]);
}

/**
 * Returns the key of the Gateway a ListenerSet's parentRef names, or undefined when it names another kind.
 *
 * @param listenerSet The ListenerSet.
 * @returns `namespace/name` of the Gateway.
 */
export function listenerSetParentKey(listenerSet: ListenerSet): string | undefined {
  const ref = listenerSet.spec.parentRef;
  if (ref.group !== "gateway.networking.k8s.io" || ref.kind !== "Gateway") return undefined;
  return keyOf(ref.namespace ?? listenerSet.metadata.namespace, ref.name);
}

/**
 * Returns the keys of the Gateways a route relates to: those its parentRefs name, directly or through a
 * ListenerSet, and those named by status entries that we wrote earlier (so that a route that left a Gateway gets
 * its stale entry removed).
 *
 * @param route The route.
 * @param controllerName Our controller name.
 * @param listenerSetParent The Gateway key of a ListenerSet, by the ListenerSet's key. @default {none known}
 * @returns Gateway keys, deduplicated, in first-seen order.
 */
export function routeGatewayKeys(
  route: HttpRoute,
  controllerName: string,
  listenerSetParent: (key: string) => string | undefined = () => undefined,
): string[] {
  const keys = new Set<string>();
  const ns = route.metadata.namespace ?? "";
  const add = (ref: { group?: string; kind?: string; namespace?: string; name: string }) => {
    if ((ref.group ?? "gateway.networking.k8s.io") !== "gateway.networking.k8s.io") return;
    const key = keyOf(ref.namespace ?? ns, ref.name);
    const kind = ref.kind ?? "Gateway";
    const gateway = kind === "Gateway" ? key : kind === "ListenerSet" ? listenerSetParent(key) : undefined;
    if (gateway) keys.add(gateway);
  };
  for (const ref of route.spec.parentRefs) add(ref);
  for (const parent of route.status?.parents ?? []) {
    if (parent.controllerName === controllerName) add(parent.parentRef);
  }
  return [...keys];
}

/**
 * The Gateway keys of each route that names no ListenerSet (they depend on the route alone), by controller name and
 * route object; routes with the same keys share one array.
 */
const directGatewayKeys = new Map<string, WeakMap<HttpRoute, string[]>>();
const sharedKeys = new Map<string, string[]>();

/** Whether a route has a status entry of ours for a ListenerSet (of any group). */
function ownListenerSetEntry(route: HttpRoute, controllerName: string): boolean {
  return route.status?.parents?.some((p) =>
    p.controllerName === controllerName && p.parentRef.kind === "ListenerSet"
  ) ??
    false;
}

/**
 * {@linkcode routeGatewayKeys}, kept by route object while no ListenerSet is involved (neither named by a parentRef
 * nor by a status entry of ours).
 *
 * @param route The route.
 * @param controllerName Our controller name.
 * @param listenerSetParent The Gateway key of a ListenerSet, by the ListenerSet's key.
 * @param named Called when a ListenerSet is involved (the keys are not kept then).
 * @returns The Gateway keys (an array that may be shared: never change it).
 */
export function gatewayKeysOf(
  route: HttpRoute,
  controllerName: string,
  listenerSetParent: (key: string) => string | undefined,
  named: () => void = () => {},
): readonly string[] {
  let known = directGatewayKeys.get(controllerName);
  if (known === undefined) directGatewayKeys.set(controllerName, known = new WeakMap());
  const kept = known.get(route);
  if (kept !== undefined) return kept;
  let involved = false;
  const keys = routeGatewayKeys(route, controllerName, (key) => {
    involved = true;
    return listenerSetParent(key);
  });
  if (involved || ownListenerSetEntry(route, controllerName)) {
    named();
    return keys;
  }
  const text = keys.join("\n");
  // bounded: the arrays are shared, not needed
  if (sharedKeys.size > 10_000) sharedKeys.clear();
  let shared = sharedKeys.get(text);
  if (shared === undefined) sharedKeys.set(text, shared = keys);
  known.set(route, shared);
  return shared;
}

/**
 * Builds the lookup tables of a snapshot.
 *
 * @param snapshot The snapshot.
 * @param controllerName Our controller name (to find our old route status entries).
 * @param walk The last index's walk of the routes (`aligned_walk.ts`), with the same controller name: a route at its
 *   place keeps its Gateway keys without a lookup. @default {none}
 * @returns The index.
 */
export function indexSnapshot(
  snapshot: Snapshot,
  controllerName: string,
  walk?: AlignedWalk<HttpRoute, readonly string[] | null>,
): SnapshotIndex {
  const grants = new Map<string, ReferenceGrant[]>();
  for (const grant of snapshot.referenceGrants) push(grants, grant.metadata.namespace ?? "", grant);
  const listenerSets = byKey(snapshot.listenerSets);
  const listenerSetsByGateway = new Map<string, ListenerSet[]>();
  for (const ls of snapshot.listenerSets) {
    const parent = listenerSetParentKey(ls);
    if (parent) push(listenerSetsByGateway, parent, ls);
  }
  const listenerSetParent = (key: string) => {
    const ls = listenerSets.get(key);
    return ls && listenerSetParentKey(ls);
  };
  const routesByGateway = new Map<string, HttpRoute[]>();
  const listenerSetRoutes: HttpRoute[] = [];
  // null: keys that involve a ListenerSet, found again every time (the ListenerSets may have changed)
  const keysOf = (route: HttpRoute) => {
    let involved = false;
    const keys = gatewayKeysOf(route, controllerName, listenerSetParent, () => {
      involved = true;
      listenerSetRoutes.push(route);
    });
    return { keys, kept: involved ? null : keys };
  };
  // a kept route allocates nothing here (its keys found afresh need a closure: not per route of tens of thousands)
  const index = (route: HttpRoute, kept: readonly string[] | null | undefined) => {
    if (kept) {
      for (const key of kept) push(routesByGateway, key, route);
      return kept;
    }
    const found = keysOf(route);
    for (const key of found.keys) push(routesByGateway, key, route);
    return found.kept;
  };
  if (walk) walk.walk(snapshot.httpRoutes, index);
  else for (const route of snapshot.httpRoutes) index(route, undefined);
  const podsByGateway = new Map<string, Pod[]>();
  for (const pod of snapshot.pods) {
    const gw = gatewayNameOf(pod.metadata);
    if (gw) push(podsByGateway, keyOf(pod.metadata.namespace, gw), pod);
  }
  const backendTlsByService = new Map<string, BackendTlsPolicy[]>();
  for (const policy of [...snapshot.backendTlsPolicies].sort(olderFirst)) {
    for (const ref of policy.spec.targetRefs) {
      if (ref.group === "" && ref.kind === "Service") {
        push(backendTlsByService, keyOf(policy.metadata.namespace, ref.name), policy);
      }
    }
  }
  return {
    classes: new Map(snapshot.gatewayClasses.map((c) => [c.metadata.name, c])),
    namespaces: new Map(snapshot.namespaces.map((n) => [n.metadata.name, n])),
    services: byKey(snapshot.services),
    secrets: byKey(snapshot.secrets),
    configMaps: byKey(snapshot.configMaps),
    parameters: byKey(snapshot.gatewayParameters),
    grants,
    listenerSets,
    listenerSetsByGateway,
    routesByGateway,
    listenerSetRoutes,
    podsByGateway,
    backendTlsByService,
    watched: snapshot.watchedNamespaces,
  };
}

/**
 * Orders objects as Gateway API conflict resolution does: the older creationTimestamp first, then `namespace/name`
 * alphabetically.
 *
 * @param a One object.
 * @param b The other.
 * @returns Negative when `a` takes precedence.
 */
export function olderFirst(
  a: { metadata: { name: string; namespace?: string; creationTimestamp?: string } },
  b: { metadata: { name: string; namespace?: string; creationTimestamp?: string } },
): number {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = keyOf(a.metadata.namespace, a.metadata.name);
  const kb = keyOf(b.metadata.namespace, b.metadata.name);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** One side of a reference, for {@linkcode referenceAllowed}. */
export interface RefEnd {
  /** API group ("" for core). */
  group: string;
  /** Kind. */
  kind: string;
  /** Namespace. */
  namespace: string;
  /** Name (only meaningful on the "to" side). */
  name?: string;
}

/**
 * Tells whether a reference is allowed: same namespace, or a ReferenceGrant in the target namespace permits it.
 *
 * @param index The snapshot index.
 * @param from The referring object.
 * @param to The referenced object.
 * @returns True when the reference is permitted.
 */
export function referenceAllowed(index: SnapshotIndex, from: RefEnd, to: RefEnd): boolean {
  if (from.namespace === to.namespace) return true;
  for (const grant of index.grants.get(to.namespace) ?? []) {
    const fromOk = grant.spec.from.some((f) =>
      f.group === from.group && f.kind === from.kind && f.namespace === from.namespace
    );
    if (!fromOk) continue;
    const toOk = grant.spec.to.some((t) =>
      t.group === to.group && t.kind === to.kind && (t.name === undefined || t.name === "" || t.name === to.name)
    );
    if (toOk) return true;
  }
  return false;
}
