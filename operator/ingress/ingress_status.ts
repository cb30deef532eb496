/**
 * What the operator writes back for each Ingress of a Lacquer class: `status.loadBalancer` from its Gateway's
 * addresses, and the problems to report as Events: those found expanding it (`expand_ingresses.ts`), and those the
 * translation of its routes and TLS listeners found (a missing Service, a Secret that is not a certificate, a route
 * its Gateway's listeners do not admit, ...), told with the reasons the Gateway API status would give.
 *
 * @module
 */
import type { Condition } from "../api_types.ts";
import type { ListenerStatus, RouteStatusResult } from "../status/mod.ts";
import type { IngressOutcome } from "./expand_ingresses.ts";
import type { IngressProblem } from "./ingress_routes.ts";

/** One entry of `status.loadBalancer.ingress`. */
export interface LoadBalancerIngress {
  /** An IP address. */
  ip?: string;
  /** A DNS name. */
  hostname?: string;
}

/** What the operator writes for one Ingress. */
export interface IngressResult {
  /** `namespace/name`. */
  key: string;
  /** The Gateway its class names, if any. */
  gateway?: string;
  /** Its `status`. */
  status: { loadBalancer: { ingress?: LoadBalancerIngress[] } };
  /** What is not served as asked, in a stable order. */
  problems: IngressProblem[];
}

/** What an Ingress's status is computed from, besides its outcome. */
export interface IngressStatusFacts {
  /** The addresses of each translated Gateway's status, by key. */
  addresses: ReadonlyMap<string, readonly { type: string; value: string }[]>;
  /** The status entries of the routes made from Ingresses. */
  routes: readonly RouteStatusResult[];
  /** The status of the listeners made from Ingress TLS, by Gateway key and listener name. */
  listeners: ReadonlyMap<string, ReadonlyMap<string, ListenerStatus>>;
}

/** A condition that says something is wrong (`Conflicted` and `PartiallyInvalid` are bad when True). */
function bad(c: Condition): boolean {
  if (c.type === "Conflicted" || c.type === "PartiallyInvalid") return c.status === "True";
  return (c.type === "Accepted" || c.type === "ResolvedRefs") && c.status === "False";
}

/**
 * Computes the status and problems of an Ingress.
 *
 * @example Usage
 * ```ts
 * import { ingressSchema } from "./ingress_schema.ts";
 * import { ingressResult } from "./ingress_status.ts";
 * const ingress = ingressSchema.parse({ metadata: { name: "web", namespace: "shop" } });
 * const outcome = { key: "shop/web", ingress, gateway: "infra/gw", routes: [], listeners: [], problems: [] };
 * const result = ingressResult(outcome, {
 *   addresses: new Map([["infra/gw", [{ type: "IPAddress", value: "10.0.0.1" }]]]),
 *   routes: [],
 *   listeners: new Map(),
 * });
 * // result.status.loadBalancer.ingress[0].ip === "10.0.0.1"
 * ```
 *
 * @param outcome What became of the Ingress.
 * @param facts The translation's results.
 * @returns Its status and problems.
 */
export function ingressResult(outcome: IngressOutcome, facts: IngressStatusFacts): IngressResult {
  const problems = [...outcome.problems];
  const ns = outcome.ingress.metadata.namespace ?? "";
  const routeKeys = new Set(outcome.routes.map((name) => `${ns}/${name}`));
  for (const update of facts.routes) {
    if (!routeKeys.has(update.key) || update.gateway !== outcome.gateway) continue;
    const route = update.key.slice(ns.length + 1);
    for (const parent of update.parents) {
      for (const c of parent.conditions.filter(bad)) {
        problems.push({ reason: c.reason, message: `route "${route}": ${c.message}` });
      }
    }
  }
  const listeners = outcome.gateway ? facts.listeners.get(outcome.gateway) : undefined;
  for (const name of outcome.listeners) {
    for (const c of listeners?.get(name)?.conditions.filter(bad) ?? []) {
      problems.push({ reason: c.reason, message: `TLS listener "${name}": ${c.message}` });
    }
  }
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const id = `${p.reason}\u0000${p.message}`;
    return seen.has(id) ? false : (seen.add(id), true);
  });
  const addresses = outcome.gateway ? facts.addresses.get(outcome.gateway) ?? [] : [];
  const ingress = addresses.map((a) => a.type === "Hostname" ? { hostname: a.value } : { ip: a.value });
  return {
    key: outcome.key,
    ...(outcome.gateway ? { gateway: outcome.gateway } : {}),
    status: { loadBalancer: ingress.length > 0 ? { ingress } : {} },
    problems: unique,
  };
}
