/**
 * The `cache` object of a routing.json route entry, as the operator writes it (every default filled in).
 *
 * @module
 */

/** How one rule caches (the routing.json contract's `cache` field). */
export interface RoutingCache {
  /** The CachePolicy that applies. */
  policy: { namespace: string; name: string };
  /** Freshness in whole seconds. */
  ttl: { default: number; forced?: number; grace: number; keep: number };
  /** Explicit opt-ins. */
  allow: { noStore: boolean; private: boolean; setCookie: boolean; authorization: boolean; otherCookies: boolean };
  /** What joins the cache key. */
  key: {
    query: { mode: "All" | "None" | "Include" | "Exclude"; params: string[] };
    headers: string[];
    cookies: string[];
  };
  /** Conditions that pass the request. */
  bypass: ({ type: "Header"; name: string; valueRegex?: string } | { type: "Cookie"; name: string })[];
  /** The surrogate-key response header. */
  surrogateKeys: { header: string };
  /** Whether responses carry X-Cache, X-Cache-Hits and Age. */
  debugHeaders: boolean;
}
