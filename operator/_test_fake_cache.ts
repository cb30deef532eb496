/**
 * A stand-in for {@linkcode ClusterWatcher} over a parsed snapshot, for controller tests that check which keys
 * events enqueue and what a reconcile writes, without an API server.
 *
 * @module
 */
import type { ClusterWatcher } from "./cluster_watcher.ts";
import type { Snapshot } from "./snapshot.ts";

type Named = { metadata: { name: string; namespace?: string } };

/**
 * Serves a snapshot's objects as the caches would (the parsed objects stand in for the raw ones too).
 *
 * @param snapshot The objects.
 * @returns The fake caches.
 */
export function fakeCache(snapshot: Snapshot): ClusterWatcher {
  const byKind: Record<string, Named[]> = {
    GatewayClass: snapshot.gatewayClasses,
    Gateway: snapshot.gateways,
    HTTPRoute: snapshot.httpRoutes,
    Service: snapshot.services,
    CachePolicy: snapshot.cachePolicies,
    IngressClass: snapshot.ingressClasses,
    Ingress: snapshot.ingresses,
    Pod: snapshot.pods,
  };
  const key = (o: Named) => o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
  const get = (kind: string, k: string) => (byKind[kind] ?? []).find((o) => key(o) === k);
  return {
    list: (kind: string) => byKind[kind] ?? [],
    get,
    raw: get,
    rawList: () => [],
    snapshot: (gateways: string[], routes: unknown[]) => ({
      ...snapshot,
      gateways: snapshot.gateways.filter((g) => gateways.includes(key(g))),
      httpRoutes: routes,
    }),
    watchReferences: () => Promise.resolve(),
    addReferences: () => {},
  } as unknown as ClusterWatcher;
}
