/**
 * Cache invalidation on the operator's side: the CacheInvalidation controller and the HTTP API, both over one
 * executor that sends each invalidation to every live pod of the Gateways serving a hostname.
 *
 * - Pure: {@linkcode targetGateways} and {@linkcode hostnameNamespaces} (which Gateways and namespaces a hostname
 *   involves, `scope.ts`), {@linkcode nextStatus} (a CacheInvalidation's phases, `phase.ts`),
 *   {@linkcode summarizeFanOut} (the HTTP answer, `results.ts`), {@linkcode parseApiRequest} (an HTTP call,
 *   `api_request.ts`), {@linkcode RateLimiter}.
 * - I/O: {@linkcode InvalidationExecutor} (finds the live pods, reads the admin tokens, fans out),
 *   {@linkcode InvalidationController}, {@linkcode invalidationApiHandler} with {@linkcode AccessReviewer}
 *   (TokenReview, SubjectAccessReview).
 *
 * The request itself (what may be invalidated and how it is validated) is the shared model of
 * `internal/invalidation/`; the pod side is the chaperone's `POST /invalidate`.
 *
 * @module
 */
export { AccessReviewer, type Caller } from "./access_review.ts";
export { INVALIDATE_PATH, NAMESPACE_HEADER, parseApiRequest, PURGE_MODE_HEADER } from "./api_request.ts";
export {
  CACHE_INVALIDATION_API_VERSION,
  CACHE_INVALIDATION_KIND,
  type CacheInvalidation,
  cacheInvalidationPath,
  cacheInvalidationSchema,
} from "./cache_invalidation.ts";
export { InvalidationExecutor, type TargetPod } from "./executor.ts";
export { invalidationApiHandler } from "./http_api.ts";
export { InvalidationController } from "./invalidation_controller.ts";
export { invalidationMetrics } from "./metrics.ts";
export { type InvalidationStatus, nextStatus, type Phase } from "./phase.ts";
export { RateLimiter } from "./rate_limiter.ts";
export { fanOutHttpStatus, type FanOutSummary, summarizeFanOut } from "./results.ts";
export { hostnameNamespaces, targetGateways } from "./scope.ts";
