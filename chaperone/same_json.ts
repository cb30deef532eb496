/**
 * Equality of parsed JSON values that `JSON.stringify` would write the same, without writing them: the builder of
 * ghost.json tells by it which vhosts of a rewritten routing.json shard did not change.
 *
 * @module
 */

/**
 * Whether two JSON values (as `JSON.parse` gives them) are equal, their objects' keys in the same order: then their
 * `JSON.stringify` texts are the same.
 *
 * @example Usage
 * ```ts
 * import { sameJson } from "./same_json.ts";
 * sameJson({ a: [1, { b: "c" }] }, JSON.parse('{"a":[1,{"b":"c"}]}')); // true
 * sameJson({ a: 1, b: 2 }, { b: 2, a: 1 }); // false: the texts differ
 * ```
 *
 * @param a A value.
 * @param b Another.
 * @returns True when they are equal.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  const [ka, kb] = [Object.keys(a), Object.keys(b)];
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const key = ka[i];
    if (key !== kb[i] || !sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) {
      return false;
    }
  }
  return true;
}
