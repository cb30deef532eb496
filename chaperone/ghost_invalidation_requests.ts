/**
 * Turns one invalidation into the requests the chaperone sends to ghost's control socket
 * (`POST /.varnish-ghost/invalidate`, the invalidation in `X-Ghost-Invalidate-*` headers). Pure.
 *
 * Entries travel space-separated in one header; a long list is split over several requests so that every header stays
 * well below varnishd's default `http_req_hdr_len` (8 KiB). The entries are already validated
 * (`internal/invalidation/`): paths and keys hold no spaces, so the split is lossless, and ghost validates again
 * before it turns them into xkey keys.
 *
 * @module
 */
import { type Invalidation, invalidationKind } from "../internal/invalidation/mod.ts";

/** The most bytes of entries per request header. */
export const MAX_ENTRIES_HEADER_BYTES = 6000;

/**
 * Splits an invalidation into the header sets of its ghost requests, entries in order.
 *
 * @example Usage
 * ```ts
 * import { ghostInvalidationRequests } from "./ghost_invalidation_requests.ts";
 * ghostInvalidationRequests({ namespace: "shop", hostname: "shop.example.com", soft: true, tags: ["a", "b"] });
 * // [{ "X-Ghost-Invalidate-Namespace": "shop", ..., "X-Ghost-Invalidate-Kind": "tag",
 * //    "X-Ghost-Invalidate-Soft": "true", "X-Ghost-Invalidate-Entries": "a b" }]
 * ```
 *
 * @param invalidation A parsed invalidation.
 * @returns One header set per request (one for `all`).
 */
export function ghostInvalidationRequests(invalidation: Invalidation): Record<string, string>[] {
  const common = {
    "X-Ghost-Invalidate-Namespace": invalidation.namespace,
    "X-Ghost-Invalidate-Host": invalidation.hostname,
    "X-Ghost-Invalidate-Kind": invalidationKind(invalidation),
    "X-Ghost-Invalidate-Soft": String(invalidation.soft),
  };
  const entries = invalidation.urls ?? invalidation.prefixes ?? invalidation.tags ?? [];
  const batches: string[] = [];
  let current = "";
  for (const entry of entries) {
    if (current !== "" && current.length + 1 + entry.length > MAX_ENTRIES_HEADER_BYTES) {
      batches.push(current);
      current = "";
    }
    current = current === "" ? entry : `${current} ${entry}`;
  }
  batches.push(current);
  return batches.map((batch) => ({ ...common, "X-Ghost-Invalidate-Entries": batch }));
}
