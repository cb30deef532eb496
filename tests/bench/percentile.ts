/**
 * The percentile every benchmark reports, one definition for all of them.
 *
 * @module
 */

/**
 * Returns the `p`th percentile (nearest rank) of `values`, in any order.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * equal(percentile([4, 1, 3, 2], 50), 2);
 * ```
 * @param values At least one value.
 * @param p The percentile, 0 to 100.
 * @returns The value at that rank.
 */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))];
}
