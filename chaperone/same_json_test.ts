import { equal } from "node:assert/strict";
import { sameJson } from "./same_json.ts";

Deno.test("sameJson: equal values, their keys in the same order", () => {
  const value = { a: [1, "x", null, true, { b: [], c: {} }], d: 0.5 };
  equal(sameJson(value, JSON.parse(JSON.stringify(value))), true);
  equal(sameJson([], []), true);
  equal(sameJson("s", "s"), true);
});

Deno.test("sameJson: any difference, key order included, is one", () => {
  const base = { a: [1, { b: "c" }], d: null };
  for (
    const other of [
      { a: [1, { b: "x" }], d: null },
      { a: [1, { b: "c" }, 2], d: null },
      { a: [1, { b: "c" }], d: 0 },
      { a: [1, { b: "c" }] },
      { a: [1, { b: "c" }], d: null, e: 1 },
      { d: null, a: [1, { b: "c" }] },
      { a: { 0: 1, 1: { b: "c" } }, d: null },
    ]
  ) {
    equal(sameJson(base, other), false, JSON.stringify(other));
    equal(sameJson(other, base), false, JSON.stringify(other));
  }
  equal(sameJson(null, {}), false);
  equal(sameJson(1, "1"), false);
});
