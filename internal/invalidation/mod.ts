/**
 * One cache invalidation, as every part of Lacquer that accepts one sees it: the CacheInvalidation controller, the
 * HTTP invalidation API and the gateway pod's `POST /invalidate`.
 *
 * A pure module (schema and validation, no I/O). {@linkcode parseInvalidation} is the only way in: it refuses
 * anything that is not a plain hostname, absolute paths or surrogate keys (visible ASCII, no commas), with a message that says why, so the pod
 * side never sees caller text it could not safely turn into a ban or an xkey lookup.
 *
 * @example Usage
 * ```ts
 * import { invalidationKind, parseInvalidation } from "./mod.ts";
 * const parsed = parseInvalidation({ namespace: "shop", hostname: "shop.example.com", prefixes: ["/catalog/"] });
 * if (parsed.ok) console.log(invalidationKind(parsed.value), parsed.value.soft); // "prefix" true
 * ```
 *
 * @module
 */
export * from "./invalidation_schema.ts";
export * from "./parse_invalidation.ts";
