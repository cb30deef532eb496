/**
 * Several reflectors seen as one, such as one collection watched in several namespaces: their stores are disjoint
 * (keys carry the namespace), so the union is read without copying.
 *
 * @module
 */
import type { Reflector, ReflectorStats } from "./reflector.ts";

/**
 * Joins reflectors of disjoint key sets into one.
 *
 * @example Usage
 * ```ts ignore
 * import { createReflector, mergeReflectors } from "./mod.ts";
 * const pods = mergeReflectors(["a", "b"].map((ns) => createReflector(client, { path: `/api/v1/namespaces/${ns}/pods` })));
 * ```
 *
 * @param parts The reflectors; a single one is returned as is.
 * @returns A reflector synced when all are, healthy while all are, whose store is the union of theirs.
 */
export function mergeReflectors<T>(parts: readonly Reflector<T>[]): Reflector<T> {
  if (parts.length === 1) return parts[0];
  return {
    synced: Promise.all(parts.map((p) => p.synced)).then(() => {}),
    get: (key) => {
      for (const p of parts) {
        const obj = p.get(key);
        if (obj !== undefined) return obj;
      }
      return undefined;
    },
    list: () => parts.flatMap((p) => p.list()),
    healthy: () => parts.every((p) => p.healthy()),
    lastEventAt: () => {
      const times = parts.map((p) => p.lastEventAt()).filter((t) => t !== undefined);
      return times.length === 0 ? undefined : Math.max(...times);
    },
    stats: () => {
      const sum: ReflectorStats = { lists: 0, watches: 0, errors: 0 };
      for (const p of parts) {
        const s = p.stats();
        sum.lists += s.lists;
        sum.watches += s.watches;
        sum.errors += s.errors;
      }
      return sum;
    },
    stop: () => Promise.all(parts.map((p) => p.stop())).then(() => {}),
  };
}
