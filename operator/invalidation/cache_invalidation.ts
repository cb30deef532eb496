/**
 * The CacheInvalidation object (`lacquer.dev/v1alpha1`, CRD `deploy/crds/lacquer.dev_cacheinvalidations.yaml`) as
 * the operator reads it, and the request it stands for. Pure.
 *
 * @module
 */
import { z } from "zod";
import { LACQUER_GROUP } from "../../internal/names.ts";
import { metadataSchema } from "../api_types.ts";
import type { GatewayRef } from "./scope.ts";

/** The CacheInvalidation kind. */
export const CACHE_INVALIDATION_KIND = "CacheInvalidation";

/** Its API version. */
export const CACHE_INVALIDATION_API_VERSION = `${LACQUER_GROUP}/v1alpha1`;

/** Its resource (plural), as RBAC and SubjectAccessReviews name it. */
export const CACHE_INVALIDATION_RESOURCE = "cacheinvalidations";

/** The collection path, across namespaces. */
export const CACHE_INVALIDATIONS_PATH = `/apis/${CACHE_INVALIDATION_API_VERSION}/${CACHE_INVALIDATION_RESOURCE}`;

/**
 * The path of one CacheInvalidation.
 *
 * @param namespace Its namespace.
 * @param name Its name.
 * @returns The API path.
 */
export function cacheInvalidationPath(namespace: string, name: string): string {
  return `/apis/${CACHE_INVALIDATION_API_VERSION}/namespaces/${namespace}/${CACHE_INVALIDATION_RESOURCE}/${name}`;
}

/**
 * Parses a CacheInvalidation loosely: the spec's shape is checked by the CRD and its request by the shared
 * invalidation model, so a field the model refuses gives the user the model's message in status, not a parse error.
 */
export const cacheInvalidationSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({
    gatewayRefs: z.array(z.looseObject({ name: z.string(), namespace: z.string().optional() })).default([]),
    hostname: z.string(),
    mode: z.string().default("Soft"),
    urls: z.array(z.string()).optional(),
    prefixes: z.array(z.string()).optional(),
    tags: z.array(z.string()).optional(),
    all: z.boolean().optional(),
  }),
  status: z.looseObject({}).optional(),
});

/** A CacheInvalidation. */
export type CacheInvalidation = z.output<typeof cacheInvalidationSchema>;

/**
 * The request of a CacheInvalidation, scoped to its namespace, for the shared invalidation model to validate.
 *
 * @example Usage
 * ```ts
 * import { invalidationRequestOf } from "./cache_invalidation.ts";
 * invalidationRequestOf({
 *   metadata: { name: "x", namespace: "shop" },
 *   spec: { gatewayRefs: [], hostname: "shop.example.com", mode: "Hard", tags: ["product-1"] },
 * }); // { namespace: "shop", hostname: "shop.example.com", soft: false, tags: ["product-1"] }
 * ```
 *
 * @param object The CacheInvalidation.
 * @returns The unvalidated request.
 */
export function invalidationRequestOf(object: CacheInvalidation): Record<string, unknown> {
  const { hostname, mode, urls, prefixes, tags, all } = object.spec;
  return {
    namespace: object.metadata.namespace ?? "",
    hostname,
    soft: mode !== "Hard",
    ...(urls ? { urls } : {}),
    ...(prefixes ? { prefixes } : {}),
    ...(tags ? { tags } : {}),
    ...(all ? { all } : {}),
  };
}

/**
 * The Gateways a CacheInvalidation names.
 *
 * @param object The CacheInvalidation.
 * @returns Its `spec.gatewayRefs`.
 */
export function gatewayRefsOf(object: CacheInvalidation): GatewayRef[] {
  return object.spec.gatewayRefs.map((r) => ({ name: r.name, ...(r.namespace ? { namespace: r.namespace } : {}) }));
}
