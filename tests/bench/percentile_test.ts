import { equal } from "node:assert/strict";
import { percentile } from "./percentile.ts";

Deno.test("percentile() takes the nearest rank", () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  equal(percentile(values, 50), 50);
  equal(percentile(values, 99), 99);
  equal(percentile([7], 99), 7);
  equal(percentile([1, 2], 0), 1);
  equal(percentile([3, 1, 2], 99), 3);
});
