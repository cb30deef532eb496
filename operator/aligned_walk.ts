/**
 * Reuse by position between two walks of a list that changes little from one walk to the next: the routes of a
 * Gateway come in the same order on every reconcile (the controller's index keeps insertion order), one created,
 * changed or deleted at a time. Comparing each item with the item at the same place last time is a pointer
 * comparison; finding it in a `WeakMap` hashes it, which for tens of thousands of routes per change is most of the
 * cost of a walk. An item found at its place gets the value it had; any other item (new, changed, or moved) gets
 * none and its value is computed again, so alignment decides only what is fast, never what is right. Pure.
 *
 * @module
 */

/** One walk's items and values, kept for the next walk; see the module documentation. */
export class AlignedWalk<T, V> {
  #items: readonly T[] = [];
  #values: V[] = [];

  /**
   * Walks `items` in order, giving each the value `value` returns for it; `kept` is the value the same item (the same
   * object) had in the last walk when it is found at its place, shifted by at most one item created or deleted.
   *
   * @example Usage
   * ```ts
   * import { AlignedWalk } from "./aligned_walk.ts";
   * const [a, b, c] = [{}, {}, {}];
   * const walk = new AlignedWalk<object, number>();
   * let computed = 0;
   * const value = (_: object, kept: number | undefined) => kept ?? ++computed;
   * walk.walk([a, b], value); // [1, 2]
   * walk.walk([a, c, b], value); // [1, 3, 2]: only c is computed
   * ```
   *
   * @param items The items, in the order of the last walk with some changed.
   * @param value The item's value, from the kept one when there is one.
   * @param skipped Told the value of each item of the last walk not found at its place (gone, changed or moved),
   *   after the walk or during it. @default {nobody}
   * @param keepFound Whether an item found at its exact place keeps its value without `value` being asked: for a
   *   caller that knows those values still hold, and would otherwise read each (at tens of thousands of items spread
   *   over a large heap, reading them is most of the walk). @default {false}
   * @returns The values, by position; kept for the next walk.
   */
  walk(
    items: readonly T[],
    value: (item: T, kept: V | undefined) => V,
    skipped?: (value: V) => void,
    keepFound = false,
  ): V[] {
    const [last, lastValues] = [this.#items, this.#values];
    const values = new Array<V>(items.length);
    let j = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      let kept: V | undefined;
      if (last[j] === item) {
        kept = lastValues[j++];
        if (keepFound) {
          values[i] = kept;
          continue;
        }
      } else if (last[j + 1] === item) {
        // the item before it is gone
        skipped?.(lastValues[j]);
        kept = lastValues[j + 1];
        j += 2;
      } else if (j < last.length && last[j + 1] === items[i + 1]) {
        // it replaces the item at its place (or the list ends); passed over whether or not anyone is told
        const replaced = lastValues[j++];
        skipped?.(replaced);
      }
      values[i] = value(item, kept);
    }
    if (skipped) { for (; j < last.length; j++) skipped(lastValues[j]); }
    this.#items = items;
    this.#values = values;
    return values;
  }
}
