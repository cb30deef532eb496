/**
 * The controller's index of routes by Gateway (or ListenerSet) index key, with the Namespaces of each key's routes
 * kept up to date as routes come and go, so that a reconcile reads them without a pass over tens of thousands of
 * routes.
 *
 * @module
 */
import type { HttpRoute } from "./api_types.ts";

/** Routes by index key and route key, and per index key how many of its routes each Namespace holds. */
export class RouteIndex {
  #routes = new Map<string, Map<string, HttpRoute>>();
  #namespaces = new Map<string, Map<string, number>>();

  /**
   * Puts a route under an index key (replacing the route's earlier object there, which keeps its place).
   *
   * @param indexKey The Gateway or ListenerSet index key.
   * @param routeKey The route's `namespace/name`.
   * @param route The route.
   */
  put(indexKey: string, routeKey: string, route: HttpRoute): void {
    let routes = this.#routes.get(indexKey);
    if (!routes) this.#routes.set(indexKey, routes = new Map());
    if (!routes.has(routeKey)) {
      let counts = this.#namespaces.get(indexKey);
      if (!counts) this.#namespaces.set(indexKey, counts = new Map());
      const ns = route.metadata.namespace ?? "";
      counts.set(ns, (counts.get(ns) ?? 0) + 1);
    }
    routes.set(routeKey, route);
  }

  /**
   * Removes a route from under an index key (nothing when it is not there).
   *
   * @param indexKey The index key.
   * @param routeKey The route's key.
   */
  remove(indexKey: string, routeKey: string): void {
    const routes = this.#routes.get(indexKey);
    const route = routes?.get(routeKey);
    if (!route) return;
    routes!.delete(routeKey);
    const counts = this.#namespaces.get(indexKey)!;
    const ns = route.metadata.namespace ?? "";
    const left = counts.get(ns)! - 1;
    if (left > 0) counts.set(ns, left);
    else counts.delete(ns);
  }

  /**
   * The routes under an index key, by route key, in the order they came (a replaced route keeps its place).
   *
   * @param indexKey The index key.
   * @returns Them, or undefined when the key never held a route.
   */
  routes(indexKey: string): ReadonlyMap<string, HttpRoute> | undefined {
    return this.#routes.get(indexKey);
  }

  /**
   * The Namespaces of the routes under an index key.
   *
   * @param indexKey The index key.
   * @returns Their names.
   */
  namespaces(indexKey: string): Iterable<string> {
    return this.#namespaces.get(indexKey)?.keys() ?? [];
  }

  /**
   * The index keys that held a route since the last {@linkcode RouteIndex.clear}.
   *
   * @returns The keys.
   */
  keys(): Iterable<string> {
    return this.#routes.keys();
  }

  /** Forgets every route. */
  clear(): void {
    this.#routes.clear();
    this.#namespaces.clear();
  }
}
