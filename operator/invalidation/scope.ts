/**
 * Which Gateways an invalidation reaches, and which namespaces own a hostname: from the HTTPRoutes' status entries
 * that our controller accepted and the hostnames those routes serve on the accepted listeners. Pure.
 *
 * A route serves hostname `h` on a Gateway when our controller accepted it there (`status.parents`, `Accepted=True`)
 * and the intersection of its hostnames with one of the selected listeners' hostname covers `h`. An invalidation
 * issued in namespace N reaches only Gateways serving `h` for routes of N: the pod side scopes the objects by N, so
 * naming more Gateways could never reach another tenant's objects, but it would load pods for nothing.
 *
 * @module
 */
import type { Gateway, HttpRoute } from "../api_types.ts";
import { hostnameCovers, intersectHostnames } from "../hostnames.ts";
import { keyOf } from "../snapshot_index.ts";

/** What scoping reads: our controller name and the cached Gateways and HTTPRoutes. */
export interface ScopeInput {
  /** Our controller name (route status entries of other controllers are ignored). */
  controllerName: string;
  /** Gateways. */
  gateways: readonly Gateway[];
  /** HTTPRoutes (all namespaces, or at least the namespace asked about). */
  routes: readonly HttpRoute[];
}

/** A Gateway named by an invalidation; the namespace defaults to the invalidation's. */
export interface GatewayRef {
  /** The Gateway's name. */
  name: string;
  /** Its namespace. */
  namespace?: string;
}

function servedGatewaysOf(route: HttpRoute, hostname: string, input: ScopeInput): string[] {
  const namespace = route.metadata.namespace ?? "";
  const out: string[] = [];
  for (const parent of route.status?.parents ?? []) {
    const ref = parent.parentRef;
    if (parent.controllerName !== input.controllerName || ref.kind !== "Gateway") continue;
    if (!parent.conditions.some((c) => c.type === "Accepted" && c.status === "True")) continue;
    const key = keyOf(ref.namespace ?? namespace, ref.name);
    const gateway = input.gateways.find((g) => keyOf(g.metadata.namespace, g.metadata.name) === key);
    if (!gateway) continue;
    const listeners = gateway.spec.listeners.filter((l) => ref.sectionName === undefined || l.name === ref.sectionName);
    const serves = listeners.some((l) =>
      intersectHostnames(l.hostname, route.spec.hostnames).some((h) => hostnameCovers(h, hostname))
    );
    if (serves) out.push(key);
  }
  return out;
}

/**
 * Returns the Gateways serving a hostname for the routes of one namespace.
 *
 * @example Usage
 * ```ts ignore
 * servingGateways("shop.example.com", "team-a", { controllerName, gateways, routes }); // ["infra/shared"]
 * ```
 *
 * @param hostname The concrete, lowercased hostname.
 * @param namespace The tenant namespace.
 * @param input Controller name, Gateways and routes.
 * @returns Gateway keys (`namespace/name`), sorted.
 */
export function servingGateways(hostname: string, namespace: string, input: ScopeInput): string[] {
  const keys = new Set<string>();
  for (const route of input.routes) {
    if (route.metadata.namespace !== namespace) continue;
    for (const key of servedGatewaysOf(route, hostname, input)) keys.add(key);
  }
  return [...keys].sort();
}

/**
 * Returns the namespaces whose routes serve a hostname on one of our Gateways.
 *
 * @param hostname The concrete, lowercased hostname.
 * @param input Controller name, Gateways and routes.
 * @returns Namespace names, sorted.
 */
export function hostnameNamespaces(hostname: string, input: ScopeInput): string[] {
  const out = new Set<string>();
  for (const route of input.routes) {
    if (servedGatewaysOf(route, hostname, input).length > 0) out.add(route.metadata.namespace ?? "");
  }
  return [...out].sort();
}

/** The Gateways an invalidation reaches, or why it reaches none. */
export type TargetGateways = { ok: true; gateways: string[] } | { ok: false; error: string };

/**
 * Resolves the Gateways of one invalidation: those serving the hostname for routes of its namespace, narrowed to
 * the named ones when some are named (every named one must serve it).
 *
 * @param hostname The concrete, lowercased hostname.
 * @param namespace The tenant namespace.
 * @param refs Named Gateways; empty for every serving Gateway.
 * @param input Controller name, Gateways and routes.
 * @returns The Gateway keys, or a message for the user.
 */
export function targetGateways(
  hostname: string,
  namespace: string,
  refs: readonly GatewayRef[],
  input: ScopeInput,
): TargetGateways {
  const serving = servingGateways(hostname, namespace, input);
  if (refs.length === 0) {
    if (serving.length > 0) return { ok: true, gateways: serving };
    return { ok: false, error: `no Gateway of ours serves hostname "${hostname}" for HTTPRoutes of "${namespace}"` };
  }
  const named = [...new Set(refs.map((r) => keyOf(r.namespace ?? namespace, r.name)))].sort();
  const missing = named.filter((k) => !serving.includes(k));
  if (missing.length === 0) return { ok: true, gateways: named };
  return {
    ok: false,
    error: `Gateway ${missing.join(", ")} does not serve hostname "${hostname}" for HTTPRoutes of "${namespace}"`,
  };
}
