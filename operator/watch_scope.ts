/**
 * The namespace-scoped mode of the operator (`--watch-namespaces`): with a list of namespaces, every namespaced
 * collection is listed and watched in each of them instead of cluster-wide, so the operator needs rights only there
 * (a Role per namespace) and objects elsewhere never reach it. Without a list it watches the whole cluster. Pure.
 *
 * @module
 */

/** The namespaces the operator watches; undefined means the whole cluster. */
export type WatchScope = readonly string[] | undefined;

/**
 * Turns a cluster-wide collection path into the path of that collection in one namespace.
 *
 * @example Usage
 * ```ts
 * import { namespacedPath } from "./watch_scope.ts";
 * namespacedPath("/apis/gateway.networking.k8s.io/v1/httproutes", "team-a");
 * // "/apis/gateway.networking.k8s.io/v1/namespaces/team-a/httproutes"
 * ```
 *
 * @param path A cluster-wide collection path (`/api/v1/<resource>` or `/apis/<group>/<version>/<resource>`).
 * @param namespace The namespace.
 * @returns The namespaced path.
 */
export function namespacedPath(path: string, namespace: string): string {
  const slash = path.lastIndexOf("/");
  return `${path.slice(0, slash)}/namespaces/${encodeURIComponent(namespace)}${path.slice(slash)}`;
}

/**
 * Tells whether the operator watches a namespace.
 *
 * @example Usage
 * ```ts
 * import { watchesNamespace } from "./watch_scope.ts";
 * watchesNamespace(["a"], "b"); // false
 * watchesNamespace(undefined, "b"); // true
 * ```
 *
 * @param scope The watched namespaces; undefined for the whole cluster.
 * @param namespace The namespace.
 * @returns Whether objects in it are watched.
 */
export function watchesNamespace(scope: WatchScope, namespace: string): boolean {
  return scope === undefined || scope.includes(namespace);
}
