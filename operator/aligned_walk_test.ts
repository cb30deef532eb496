import { deepStrictEqual } from "node:assert/strict";
import { AlignedWalk } from "./aligned_walk.ts";

function counting() {
  const computed: string[] = [];
  const walk = new AlignedWalk<{ n: string }, string>();
  const run = (items: { n: string }[]) => {
    computed.length = 0;
    const values = walk.walk(items, (item, kept) => {
      if (kept !== undefined) return kept;
      computed.push(item.n);
      return `v${item.n}`;
    });
    return { values, computed: [...computed] };
  };
  return run;
}

Deno.test("AlignedWalk.walk() computes only the items created or changed since the last walk", () => {
  const run = counting();
  const items = Array.from({ length: 6 }, (_, i) => ({ n: String(i) }));
  deepStrictEqual(run(items).computed, ["0", "1", "2", "3", "4", "5"]);
  deepStrictEqual(run(items), { values: ["v0", "v1", "v2", "v3", "v4", "v5"], computed: [] });
  // changed in place
  const changed = [...items];
  changed[2] = { n: "2b" };
  deepStrictEqual(run(changed), { values: ["v0", "v1", "v2b", "v3", "v4", "v5"], computed: ["2b"] });
  // deleted, then created at the end and in the middle
  const deleted = changed.filter((_, i) => i !== 3);
  deepStrictEqual(run(deleted).computed, []);
  deepStrictEqual(run([...deleted, { n: "6" }]).computed, ["6"]);
  deepStrictEqual(run([deleted[0], { n: "7" }, ...deleted.slice(1)]).computed, ["7"]);
});

Deno.test("AlignedWalk.walk() never gives an item another item's value, whatever the order", () => {
  const run = counting();
  const items = Array.from({ length: 5 }, (_, i) => ({ n: String(i) }));
  run(items);
  // reversed: nothing is where it was, values are computed again rather than taken from a neighbour
  const { values } = run([...items].reverse());
  deepStrictEqual(values, ["v4", "v3", "v2", "v1", "v0"]);
  deepStrictEqual(run([items[0], items[0]]).values, ["v0", "v0"]);
});

Deno.test("AlignedWalk.walk() tells every item of the last walk not found at its place, once", () => {
  const walk = new AlignedWalk<string, string>();
  const run = (items: string[]) => {
    const skipped: string[] = [];
    walk.walk(items, (item) => item, (value) => skipped.push(value));
    return skipped.sort();
  };
  deepStrictEqual(run(["a", "b", "c", "d"]), []);
  deepStrictEqual(run(["a", "c", "d"]), ["b"], "deleted");
  deepStrictEqual(run(["a", "x", "d"]), ["c"], "replaced");
  deepStrictEqual(run(["a", "x", "d", "e"]), [], "created");
  deepStrictEqual(run(["a", "x"]), ["d", "e"], "the end deleted");
  deepStrictEqual(run(["x", "a"]).length > 0, true, "moved: told, so looked at again");
});

Deno.test("AlignedWalk.walk(keepFound) keeps the value of an item at its exact place without asking", () => {
  const walk = new AlignedWalk<{ n: string }, string>();
  const items = Array.from({ length: 4 }, (_, i) => ({ n: String(i) }));
  walk.walk(items, (item) => `v${item.n}`);
  const asked: [string, string | undefined][] = [];
  const ask = (item: { n: string }, kept: string | undefined) => {
    asked.push([item.n, kept]);
    return kept ?? `w${item.n}`;
  };
  // one created before the last item: only it is asked for (the others are found where the last walk had them)
  const created = { n: "x" };
  deepStrictEqual(walk.walk([...items.slice(0, 3), created, items[3]], ask, undefined, true), [
    "v0",
    "v1",
    "v2",
    "wx",
    "v3",
  ]);
  deepStrictEqual(asked, [["x", undefined]]);
  // two swapped (asked, the one shifted with its value), one changed in place (asked, nothing kept): the rest kept
  asked.length = 0;
  const values = walk.walk([items[1], items[0], items[2], { n: "y" }, items[3]], ask, undefined, true);
  deepStrictEqual(values, ["v1", "w0", "v2", "wy", "v3"]);
  deepStrictEqual(asked, [["1", "v1"], ["0", undefined], ["y", undefined]]);
});
