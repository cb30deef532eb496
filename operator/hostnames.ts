/**
 * Hostname matching and intersection between Gateway listeners and HTTPRoutes, per the Gateway API spec
 * (`HTTPRouteSpec.hostnames`, `Listener.hostname`): a wildcard `*.example.com` matches one or more leading labels
 * (`a.example.com`, `a.b.example.com`) but not `example.com`.
 *
 * @module
 */

/** The vhost key for traffic without a hostname restriction. */
export const ANY_HOST = "*";

function wildcardSuffix(host: string): string | undefined {
  return host.startsWith("*.") ? host.slice(1) : undefined;
}

/**
 * Tells whether a concrete or wildcard hostname lies within a wildcard or exact hostname.
 *
 * @param outer The wider hostname (`*.example.com` or an exact name).
 * @param inner The hostname that must lie within it.
 * @returns True when every host matched by `inner` is matched by `outer`.
 */
function within(outer: string, inner: string): boolean {
  const outerSuffix = wildcardSuffix(outer);
  if (outerSuffix === undefined) return outer === inner;
  const innerSuffix = wildcardSuffix(inner);
  if (innerSuffix !== undefined) return innerSuffix.endsWith(outerSuffix);
  return inner.endsWith(outerSuffix) && inner.length > outerSuffix.length;
}

/**
 * Computes the hostnames a route serves on a listener: the intersection of the listener's hostname and the
 * route's hostnames, each result being the more specific of the two.
 *
 * An empty result means the route and the listener share no hostname. `*` stands for "any host" (neither side
 * restricts it).
 *
 * @example Usage
 * ```ts
 * import { intersectHostnames } from "./hostnames.ts";
 * intersectHostnames("*.example.com", ["a.example.com", "b.other.org"]); // ["a.example.com"]
 * intersectHostnames(undefined, []); // ["*"]
 * ```
 *
 * @param listenerHostname The listener's hostname, if any.
 * @param routeHostnames The route's hostnames (possibly empty).
 * @returns The effective hostnames, deduplicated and sorted.
 */
export function intersectHostnames(listenerHostname: string | undefined, routeHostnames: readonly string[]): string[] {
  const listener = listenerHostname?.toLowerCase();
  const route = routeHostnames.map((h) => h.toLowerCase());
  if (route.length === 0) return [listener ?? ANY_HOST];
  if (listener === undefined) return [...new Set(route)].sort();
  const out = new Set<string>();
  for (const host of route) {
    if (within(listener, host)) out.add(host);
    else if (within(host, listener)) out.add(listener);
  }
  return [...out].sort();
}

/**
 * Tells whether a served hostname (an exact name, a wildcard, or `*` for any host) covers one concrete hostname.
 *
 * @example Usage
 * ```ts
 * import { hostnameCovers } from "./hostnames.ts";
 * hostnameCovers("*.example.com", "a.example.com"); // true
 * hostnameCovers("*.example.com", "example.com"); // false
 * ```
 *
 * @param served The hostname as served (from {@linkcode intersectHostnames}).
 * @param host The concrete, lowercased hostname.
 * @returns True when requests for `host` reach what is served under `served`.
 */
export function hostnameCovers(served: string, host: string): boolean {
  return served === ANY_HOST || within(served, host);
}

/**
 * Tells whether two listener hostnames on one port collide (same effective value, absent meaning "any").
 *
 * @param a The first listener's hostname.
 * @param b The second listener's hostname.
 * @returns True when they are the same.
 */
export function sameListenerHostname(a: string | undefined, b: string | undefined): boolean {
  return (a ?? "").toLowerCase() === (b ?? "").toLowerCase();
}
