/**
 * The operator's one dependency tracker. What a translation read besides the object it translated, as dependency
 * keys: the shell uses a Gateway's keys to enqueue exactly the Gateways an object change affects, and the
 * translation memo (`translation_memo.ts`) keeps a route's results while the objects behind its keys are the
 * same (parsed objects are immutable, so identity tells what changed).
 *
 * Keys: `Service:<ns>/<name>`, `Secret:<ns>/<name>`, `ConfigMap:<ns>/<name>`, `GatewayParameters:<ns>/<name>`,
 * `BackendTLS:<ns>/<service>` (the BackendTLSPolicies that target the Service and the ConfigMaps and Secrets they
 * name),
 * `GrantNamespace:<ns>` (a cross-namespace reference into `<ns>`, which a ReferenceGrant there may allow) and
 * `NamespaceLabels` (a listener selects route namespaces by label).
 *
 * @module
 */
import { CONTROLLER_NAME, LACQUER_GROUP } from "../internal/names.ts";
import { AlignedWalk } from "./aligned_walk.ts";
import { GATEWAY_PARAMETERS_KIND } from "./gateway_parameters.ts";
import type { BackendTlsPolicy, HttpRoute } from "./api_types.ts";
import { expandIngresses } from "./ingress/mod.ts";
import type { Snapshot } from "./snapshot.ts";
import { gatewayKeysOf, keyOf, listenerSetParentKey, type SnapshotIndex } from "./snapshot_index.ts";

/**
 * Lists the dependency keys of one route's rules: the Services its backendRefs name, the BackendTLSPolicies of
 * those Services, and the namespaces it references across (whose ReferenceGrants decide).
 *
 * @example Usage
 * ```ts
 * import { routeDependencies } from "./dependencies.ts";
 * import { httpRouteSchema } from "./api_types.ts";
 * const route = httpRouteSchema.parse({
 *   metadata: { name: "r", namespace: "web" },
 *   spec: { rules: [{ backendRefs: [{ name: "api", namespace: "apps", port: 80 }] }] },
 * });
 * routeDependencies(route); // ["Service:apps/api", "BackendTLS:apps/api", "GrantNamespace:apps"]
 * ```
 *
 * @param route The route.
 * @returns The keys, deduplicated, in the order of the backendRefs; the same array for the same spec object and
 *   namespace (the route table and the Gateway's dependencies read them on every change).
 */
export function routeDependencies(route: HttpRoute): readonly string[] {
  const routeNs = route.metadata.namespace ?? "";
  const kept = routeDependencyKeys.get(route.spec);
  if (kept?.namespace === routeNs) return kept.keys;
  const computed = computeRouteDependencies(route, routeNs);
  const text = computed.join("\n");
  // bounded: the arrays are shared to save memory (most routes read one of a few Services), not needed
  if (sharedKeys.size > 10_000) sharedKeys.clear();
  let keys = sharedKeys.get(text);
  if (keys === undefined) sharedKeys.set(text, keys = computed);
  routeDependencyKeys.set(route.spec, { namespace: routeNs, keys });
  return keys;
}

/** The dependency keys of each route spec object, with the namespace they were computed in. */
const routeDependencyKeys = new WeakMap<HttpRoute["spec"], { namespace: string; keys: readonly string[] }>();
/** Equal key lists, shared. */
const sharedKeys = new Map<string, readonly string[]>();

function computeRouteDependencies(route: HttpRoute, routeNs: string): string[] {
  const deps = new Set<string>();
  for (const rule of route.spec.rules) {
    const mirrors = rule.filters.flatMap((f) => f.requestMirror ? [f.requestMirror.backendRef] : []);
    for (const ref of [...rule.backendRefs, ...mirrors]) {
      const backendNs = ref.namespace ?? routeNs;
      if (ref.group === "" && ref.kind === "Service") {
        deps.add(`Service:${keyOf(backendNs, ref.name)}`);
        deps.add(`BackendTLS:${keyOf(backendNs, ref.name)}`);
      }
      if (backendNs !== routeNs) deps.add(`GrantNamespace:${backendNs}`);
    }
  }
  return [...deps];
}

/** Dependency keys with what each resolved to in the index a result was computed from. */
export type TrackedDependencies = readonly (readonly [key: string, value: unknown])[];

/**
 * What each dependency key resolved to, per index (built once per translation and never changed): thousands of
 * routes share a few Services, so each key is resolved once per translation.
 */
const resolvedByIndex = new WeakMap<SnapshotIndex, Map<string, unknown>>();

function resolveDependency(index: SnapshotIndex, key: string): unknown {
  let resolved = resolvedByIndex.get(index);
  if (resolved === undefined) resolvedByIndex.set(index, resolved = new Map());
  if (resolved.has(key)) return resolved.get(key);
  const value = resolveUncached(index, key);
  resolved.set(key, value);
  return value;
}

function resolveUncached(index: SnapshotIndex, key: string): unknown {
  const colon = key.indexOf(":");
  const kind = colon < 0 ? key : key.slice(0, colon);
  const name = key.slice(colon + 1);
  switch (kind) {
    case "Service":
      return index.services.get(name);
    case "Secret":
      return index.secrets.get(name);
    case "ConfigMap":
      return index.configMaps.get(name);
    case "GatewayParameters":
      return index.parameters.get(name);
    case "BackendTLS": {
      const policies = index.backendTlsByService.get(name) ?? [];
      const references = policies.flatMap((p) =>
        p.spec.validation.caCertificateRefs.map((ref) => {
          const key = keyOf(p.metadata.namespace, ref.name);
          return ref.kind === "Secret" ? index.secrets.get(key) : index.configMaps.get(key);
        })
      );
      return [...policies, ...references];
    }
    case "GrantNamespace":
      return index.grants.get(name) ?? [];
    case "NamespaceLabels":
      return [...index.namespaces.values()];
    default:
      throw new RangeError(`Cannot resolve dependency key "${key}": unknown kind "${kind}"`);
  }
}

/**
 * Records what each dependency key resolves to now, for {@linkcode dependenciesUnchanged}.
 *
 * @param index The index the result is computed from.
 * @param keys Dependency keys.
 * @returns The keys with their current objects.
 * @throws {RangeError} For a key of an unknown kind.
 */
export function trackDependencies(index: SnapshotIndex, keys: readonly string[]): TrackedDependencies {
  // routes whose keys are one shared array (`routeDependencies`) share what it resolved to in one index
  let tracked = trackedByIndex.get(index);
  if (tracked === undefined) trackedByIndex.set(index, tracked = new WeakMap());
  let found = tracked.get(keys);
  if (found === undefined) tracked.set(keys, found = keys.map((key) => [key, resolveDependency(index, key)] as const));
  return found;
}

/** What each key list resolved to, per index. */
const trackedByIndex = new WeakMap<SnapshotIndex, WeakMap<readonly string[], TrackedDependencies>>();

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

/**
 * Tells whether every tracked dependency still resolves to the same object(s) in another index.
 *
 * @example Usage
 * ```ts
 * import { dependenciesUnchanged, trackDependencies } from "./dependencies.ts";
 * import { indexSnapshot } from "./snapshot_index.ts";
 * import { emptySnapshot } from "./snapshot.ts";
 * const index = indexSnapshot(emptySnapshot(), "lacquer.dev/gateway-controller");
 * dependenciesUnchanged(index, trackDependencies(index, ["Service:default/api"])); // true
 * ```
 *
 * @param index The current index.
 * @param tracked What {@linkcode trackDependencies} recorded.
 * @returns True when nothing the result read has changed.
 */
export function dependenciesUnchanged(index: SnapshotIndex, tracked: TrackedDependencies): boolean {
  return tracked.every(([key, value]) => same(resolveDependency(index, key), value));
}

/** The dependency keys of no route. */
const NONE: readonly string[] = [];

/**
 * The last walk of each Gateway's routes (`aligned_walk.ts`), by its spec object (kept while its spec is) with its key
 * (two Gateways may share a spec object): each route's dependency keys, or {@linkcode NONE} when it
 * does not name the Gateway, or null when that involves a ListenerSet (found again every time).
 */
const dependencyWalks = new WeakMap<object, { key: string; walk: AlignedWalk<HttpRoute, readonly string[] | null> }>();

/**
 * Lists the dependency keys of one Gateway.
 *
 * @example Usage
 * ```ts
 * import { gatewayDependencies } from "./dependencies.ts";
 * import { emptySnapshot } from "./snapshot.ts";
 * gatewayDependencies(emptySnapshot(), "default/gw"); // []
 * ```
 *
 * @param snapshot The snapshot the Gateway was translated from.
 * @param gatewayKey The Gateway's `namespace/name`.
 * @returns The keys, deduplicated and sorted.
 */
export function gatewayDependencies(read: Snapshot, gatewayKey: string): string[] {
  // What the Gateway's Ingresses stand for (routes, TLS listeners) reads what the same HTTPRoutes and listeners would.
  const snapshot = expandIngresses(read).snapshot;
  const deps = new Set<string>();
  const gateway = snapshot.gateways.find((g) => keyOf(g.metadata.namespace, g.metadata.name) === gatewayKey);
  if (!gateway) return [];
  const ns = gateway.metadata.namespace ?? "";
  const cls = snapshot.gatewayClasses.find((c) => c.metadata.name === gateway.spec.gatewayClassName);
  const paramKeys: string[] = [];
  const classRef = cls?.spec.parametersRef;
  if (classRef?.group === LACQUER_GROUP && classRef.kind === GATEWAY_PARAMETERS_KIND && classRef.namespace) {
    paramKeys.push(keyOf(classRef.namespace, classRef.name));
  }
  const ownRef = gateway.spec.infrastructure?.parametersRef;
  if (ownRef?.group === LACQUER_GROUP && ownRef.kind === GATEWAY_PARAMETERS_KIND) {
    paramKeys.push(keyOf(ns, ownRef.name));
  }
  for (const key of paramKeys) {
    deps.add(`GatewayParameters:${key}`);
    const params = snapshot.gatewayParameters.find((p) => keyOf(p.metadata.namespace, p.metadata.name) === key);
    const vcl = params?.spec.vcl?.configMapRef;
    if (vcl) deps.add(`ConfigMap:${keyOf(params!.metadata.namespace, vcl.name)}`);
  }
  const frontend = gateway.spec.tls?.frontend;
  const validations = [frontend?.default.validation, ...(frontend?.perPort ?? []).map((p) => p.tls.validation)];
  for (const ref of validations.flatMap((v) => v?.caCertificateRefs ?? [])) {
    if (ref.group !== "" || (ref.kind !== "ConfigMap" && ref.kind !== "Secret")) continue;
    const refNs = ref.namespace ?? ns;
    deps.add(`${ref.kind}:${keyOf(refNs, ref.name)}`);
    if (refNs !== ns) deps.add(`GrantNamespace:${refNs}`);
  }
  const clientCertificate = gateway.spec.tls?.backend?.clientCertificateRef;
  if (clientCertificate && clientCertificate.group === "" && clientCertificate.kind === "Secret") {
    const refNs = clientCertificate.namespace ?? ns;
    deps.add(`Secret:${keyOf(refNs, clientCertificate.name)}`);
    if (refNs !== ns) deps.add(`GrantNamespace:${refNs}`);
  }
  // The listeners of its ListenerSets read as its own do, from their namespaces.
  const listenerSets = snapshot.listenerSets.filter((ls) => listenerSetParentKey(ls) === gatewayKey);
  if (gateway.spec.allowedListeners?.namespaces.from === "Selector") deps.add("NamespaceLabels");
  const owners = [
    { namespace: ns, listeners: gateway.spec.listeners },
    ...listenerSets.map((ls) => ({ namespace: ls.metadata.namespace ?? "", listeners: ls.spec.listeners })),
  ];
  for (const { namespace, listeners } of owners) {
    for (const listener of listeners) {
      if (listener.allowedRoutes.namespaces.from === "Selector") deps.add("NamespaceLabels");
      for (const ref of listener.tls?.certificateRefs ?? []) {
        const secretNs = ref.namespace ?? namespace;
        deps.add(`Secret:${keyOf(secretNs, ref.name)}`);
        if (secretNs !== namespace) deps.add(`GrantNamespace:${secretNs}`);
      }
    }
  }
  const listenerSetParent = (key: string) => {
    const ls = listenerSets.find((l) => keyOf(l.metadata.namespace, l.metadata.name) === key);
    return ls && gatewayKey;
  };
  // routes mostly share their key lists (`routeDependencies`): each list is added once; a route found at its place
  // in the last walk of this Gateway's routes keeps its list (or NONE) without a lookup
  const added = new Set<readonly string[]>();
  let last: readonly string[] | undefined;
  const keysOf = (route: HttpRoute) => {
    let involved = false;
    const keys = gatewayKeysOf(route, CONTROLLER_NAME, listenerSetParent, () => involved = true).includes(gatewayKey)
      ? routeDependencies(route)
      : NONE;
    return { keys, kept: involved ? null : keys };
  };
  // a kept route allocates nothing here (its keys found afresh need a closure: not per route of tens of thousands)
  const readRoute = (route: HttpRoute, kept: readonly string[] | null | undefined) => {
    let keys = kept;
    if (!keys) ({ keys, kept } = keysOf(route));
    if (keys !== last && !added.has(keys)) {
      added.add(last = keys);
      for (const dep of keys) deps.add(dep);
    }
    return kept ?? null;
  };
  let kept = dependencyWalks.get(gateway.spec);
  if (kept?.key !== gatewayKey) dependencyWalks.set(gateway.spec, kept = { key: gatewayKey, walk: new AlignedWalk() });
  kept.walk.walk(snapshot.httpRoutes, readRoute);
  // The CA certificates of the BackendTLSPolicies of its backends, watched by name like its other references.
  for (const dep of backendTlsCaDependencies(snapshot.backendTlsPolicies, deps)) deps.add(dep);
  return [...deps].sort();
}

/**
 * Lists the CA certificate references (`ConfigMap:` and `Secret:` keys, in the policies' own namespaces) of the
 * BackendTLSPolicies that target a Service among the given `BackendTLS:` keys.
 *
 * @example Usage
 * ```ts
 * import { backendTlsCaDependencies } from "./dependencies.ts";
 * backendTlsCaDependencies([], new Set(["BackendTLS:apps/api"])); // []
 * ```
 *
 * @param policies Every BackendTLSPolicy.
 * @param deps Dependency keys; only the `BackendTLS:` ones count.
 * @returns The keys, in the order of the policies and their references.
 */
export function backendTlsCaDependencies(
  policies: readonly BackendTlsPolicy[],
  deps: ReadonlySet<string>,
): string[] {
  const keys: string[] = [];
  for (const policy of policies) {
    const policyNs = policy.metadata.namespace ?? "";
    const targeted = policy.spec.targetRefs.some((ref) =>
      ref.kind === "Service" && deps.has(`BackendTLS:${keyOf(policyNs, ref.name)}`)
    );
    if (!targeted) continue;
    for (const ref of policy.spec.validation.caCertificateRefs) {
      if (ref.group === "" && (ref.kind === "ConfigMap" || ref.kind === "Secret")) {
        keys.push(`${ref.kind}:${keyOf(policyNs, ref.name)}`);
      }
    }
  }
  return keys;
}
