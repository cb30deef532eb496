/**
 * CachePolicy: validation and conversion into routing.json's `cachePolicies` table, and conflicts and precedence
 * between policies (their status is `../status/cache_policy.ts`). All pure; the operator's shell feeds it parsed objects.
 *
 * @example Which policy caches a rule
 * ```ts
 * import { cachePolicySchema, resolvePolicies } from "./mod.ts";
 * const policy = cachePolicySchema.parse({
 *   metadata: { name: "catalog", namespace: "shop", creationTimestamp: "2026-01-01T00:00:00Z" },
 *   spec: { targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" }] },
 * });
 * const holder = resolvePolicies([policy]).cacheFor({ namespace: "shop", name: "gw" }, "http", {
 *   namespace: "shop",
 *   name: "list",
 * });
 * // holder === "shop/catalog"
 * ```
 *
 * @module
 */
export {
  CACHE_POLICY_API_VERSION,
  CACHE_POLICY_KIND,
  type CachePolicy,
  cachePolicySchema,
  INGRESS_GROUP,
  type PolicyAncestor,
  type PolicyTarget,
} from "./cache_policy_schema.ts";
export { durationSeconds } from "./duration.ts";
export { type PolicyOutcome, type PolicyResolution, resolvePolicies, type TargetOutcome } from "./resolve_policies.ts";
export { type RoutingCache, type ValidatedPolicy, validatePolicy } from "./validate_policy.ts";
