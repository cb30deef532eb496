/**
 * Kubernetes Ingress on Lacquer: the Ingresses of Lacquer's IngressClasses (controller
 * `lacquer.dev/ingress-controller`) become routes, HTTPS listeners and CachePolicy targets on the Gateway their
 * class names (`expand_ingresses.ts`, `ingress_routes.ts`), so they are translated by the same pipeline as HTTPRoutes;
 * their annotations are read in `annotations.ts`; their status and problems come from `ingress_status.ts`. All pure.
 *
 * @example Expanding a snapshot
 * ```ts
 * import { emptySnapshot } from "../snapshot.ts";
 * import { expandIngresses } from "./mod.ts";
 * const { snapshot } = expandIngresses(emptySnapshot());
 * // snapshot.httpRoutes: the HTTPRoutes and the routes made from Ingresses
 * ```
 *
 * @module
 */
export {
  type AnnotationProblem,
  type CanarySettings,
  type CorsSettings,
  type IngressAnnotations,
  LACQUER_PREFIX,
  NGINX_PREFIX,
  readAnnotations,
} from "./annotations.ts";
export {
  classGateway,
  type ExpandedIngresses,
  expandIngresses,
  INGRESS_LISTENER_PREFIX,
  ingressClassOf,
  ingressGateway,
  type IngressOutcome,
} from "./expand_ingresses.ts";
export {
  INGRESS_ROUTE_PREFIX,
  type IngressProblem,
  ingressRouteName,
  type IngressRoutes,
  ingressRoutes,
} from "./ingress_routes.ts";
export {
  DEFAULT_CLASS_ANNOTATION,
  type Ingress,
  INGRESS_CONTROLLER_NAME,
  type IngressClass,
  ingressClassSchema,
  ingressSchema,
  LEGACY_CLASS_ANNOTATION,
} from "./ingress_schema.ts";
export { ingressScopeRoutes } from "./ingress_scope.ts";
export { type IngressResult, ingressResult, type LoadBalancerIngress } from "./ingress_status.ts";
