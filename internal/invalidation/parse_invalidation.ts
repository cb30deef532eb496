/**
 * Parses and validates one invalidation request body.
 *
 * @module
 */
import { describeZodIssues } from "../zod_issues.ts";
import { type Invalidation, invalidationSchema } from "./invalidation_schema.ts";

/** The outcome of {@linkcode parseInvalidation}: the invalidation, or why it was refused. */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

/**
 * Parses one invalidation: the JSON value of a `POST /invalidate` body, of a CacheInvalidation spec scoped to its
 * namespace, or of an HTTP API call. Never throws on bad input.
 *
 * @example Usage
 * ```ts
 * import { parseInvalidation } from "./parse_invalidation.ts";
 * const parsed = parseInvalidation({ namespace: "shop", hostname: "Shop.example.com", urls: ["/a"] });
 * // parsed.ok === true; parsed.value.hostname === "shop.example.com"; parsed.value.soft === true
 * const refused = parseInvalidation({ namespace: "shop", hostname: "shop.example.com", urls: ["/a?b=1"] });
 * // refused.ok === false; refused.error names the field and says a query string is not allowed
 * ```
 *
 * @param input The parsed JSON value.
 * @returns The invalidation (hostname lowercased, `soft` defaulted to true), or a message naming each field that
 *   is wrong and why, fit for a 400 answer or a status condition.
 */
export function parseInvalidation(input: unknown): Result<Invalidation, string> {
  const parsed = invalidationSchema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: `Cannot accept the invalidation: ${describeZodIssues(parsed.error, "").join("; ")}` };
}
