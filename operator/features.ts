/**
 * The Gateway API features Lacquer implements end to end (operator, chaperone and ghost), named as in
 * sigs.k8s.io/gateway-api v1.6.1 `pkg/features`. Written to `GatewayClass.status.supportedFeatures`, which the
 * conformance suite reads to choose its tests, so this list must name only what works.
 *
 * @module
 */

/** The Gateway API version whose CRDs and semantics this build implements. */
export const GATEWAY_API_VERSION = "v1.6.1";

/** Supported features, sorted by name. */
export const SUPPORTED_FEATURES: readonly string[] = [
  // Core features of the GATEWAY-HTTP profile.
  "Gateway",
  "HTTPRoute",
  "ReferenceGrant",
  // Extended features.
  "GatewayHTTPListenerIsolation",
  "GatewayInfrastructurePropagation",
  "GatewayPort8080",
  "HTTPRouteHostRewrite",
  "HTTPRouteMethodMatching",
  "HTTPRouteParentRefPort",
  "HTTPRoutePathRedirect",
  "HTTPRoutePathRewrite",
  "HTTPRoutePortRedirect",
  "HTTPRouteQueryParamMatching",
  "HTTPRouteResponseHeaderModification",
  "HTTPRouteSchemeRedirect",
].toSorted();
