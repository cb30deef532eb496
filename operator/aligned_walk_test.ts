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
