/**
 * The Gateway API features Lacquer implements end to end (operator, chaperone and ghost), named as in
 * sigs.k8s.io/gateway-api v1.6.1 `pkg/features`. Written to `GatewayClass.status.supportedFeatures`, which the
 * conformance suite reads to choose its tests, so this list must name only what works: each entry is carried by
 * routing.json (operator), passed through by the chaperone's merge, and executed by ghost (its vtc suite covers
 * hostnames, paths, methods, headers, query parameters, weights, redirects with any of 301/302/303/307/308,
 * rewrites, rule- and backend-level header modifiers, listener isolation, CORS, WebSocket upgrades, timeouts,
 * retries and request mirrors); hitch verifies client certificates (`chaperone/hitch_supervisor_test.ts`), and with
 * AllowInsecureFallback serves a client whose certificate fails too (Lacquer's patched hitch, `images/hitch/`);
 * ghost's transport verifies the TLS backends of BackendTLSPolicies and presents the Gateway's backend client
 * certificate (`tests/e2e/gateway_backend_tls_test.ts`).
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
  "BackendTLSPolicy",
  "BackendTLSPolicySANValidation",
  "GatewayAddressEmpty",
  "GatewayBackendClientCertificate",
  "GatewayFrontendClientCertificateValidation",
  "GatewayFrontendClientCertificateValidationInsecureFallback",
  "GatewayHTTPListenerIsolation",
  "GatewayHTTPSListenerDetectMisdirectedRequests",
  "GatewayInfrastructurePropagation",
  "GatewayPort8080",
  "GatewayStaticAddresses",
  "HTTPRoute303RedirectStatusCode",
  "HTTPRoute307RedirectStatusCode",
  "HTTPRoute308RedirectStatusCode",
  "HTTPRouteBackendProtocolWebSocket",
  "HTTPRouteCORS",
  "HTTPRouteDestinationPortMatching",
  "HTTPRouteBackendProtocolH2C",
  "HTTPRouteBackendRequestHeaderModification",
  "HTTPRouteBackendTimeout",
  "HTTPRouteHostRewrite",
  "HTTPRouteMethodMatching",
  "HTTPRouteNamedRouteRule",
  "HTTPRouteParentRefPort",
  "HTTPRoutePathRedirect",
  "HTTPRoutePathRewrite",
  "HTTPRoutePortRedirect",
  "HTTPRouteQueryParamMatching",
  "HTTPRouteRequestMirror",
  "HTTPRouteRequestMultipleMirrors",
  "HTTPRouteRequestPercentageMirror",
  "HTTPRouteRequestTimeout",
  "HTTPRouteResponseHeaderModification",
  "HTTPRouteRetry",
  "HTTPRouteRetryBackendTimeout",
  "HTTPRouteRetryConnectionError",
  "HTTPRouteSchemeRedirect",
  "ListenerSet",
].toSorted();
