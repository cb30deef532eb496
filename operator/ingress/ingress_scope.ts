/**
 * Ingresses as cache invalidation sees routes (`../invalidation/scope.ts` reads which Gateways accepted which
 * HTTPRoutes from their status): each Ingress of a Lacquer class stands for a route of its namespace accepted by the
 * Gateway its class names, serving its hosts (every host when a rule has none or it has a default backend). So a
 * CacheInvalidation in an Ingress's namespace reaches the gateway pods that serve its hostnames.
 *
 * @module
 */
import { GATEWAY_GROUP, type HttpRoute, httpRouteSchema } from "../api_types.ts";
import { ingressGateway } from "./expand_ingresses.ts";
import type { Ingress, IngressClass } from "./ingress_schema.ts";
import { INGRESS_ROUTE_PREFIX } from "./ingress_routes.ts";

/**
 * Returns one accepted route per Ingress of a Lacquer class, for invalidation scoping.
 *
 * @example Usage
 * ```ts
 * import { ingressScopeRoutes } from "./ingress_scope.ts";
 * ingressScopeRoutes([], [], "lacquer.dev/gateway-controller"); // []
 * ```
 *
 * @param ingresses Every Ingress.
 * @param classes Every IngressClass.
 * @param controllerName Our Gateway controller name (the status entries name it).
 * @returns The routes, with an `Accepted` status entry for the Gateway.
 */
export function ingressScopeRoutes(
  ingresses: readonly Ingress[],
  classes: readonly IngressClass[],
  controllerName: string,
): HttpRoute[] {
  const out: HttpRoute[] = [];
  for (const ingress of ingresses) {
    const gateway = ingressGateway(ingress, classes);
    if (!gateway) continue;
    const [namespace, name] = gateway.split("/");
    const everyHost = ingress.spec.defaultBackend !== undefined || ingress.spec.rules.some((r) => !r.host);
    const parentRef = { group: GATEWAY_GROUP, kind: "Gateway", namespace, name };
    out.push(httpRouteSchema.parse({
      metadata: { name: `${INGRESS_ROUTE_PREFIX}${ingress.metadata.name}`, namespace: ingress.metadata.namespace },
      spec: {
        parentRefs: [parentRef],
        hostnames: everyHost ? [] : [...new Set(ingress.spec.rules.map((r) => r.host!))],
      },
      status: {
        parents: [{
          parentRef,
          controllerName,
          conditions: [{ type: "Accepted", status: "True", reason: "Accepted" }],
        }],
      },
    }));
  }
  return out;
}
