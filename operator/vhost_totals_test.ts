import { deepStrictEqual } from "node:assert/strict";
import { VhostTotals } from "./vhost_totals.ts";

Deno.test("VhostTotals counts names while some vhost names them, and sums the rest", () => {
  const totals = new VhostTotals();
  const a = {
    policies: ["ns/p"],
    caBundles: ["sha256:1"],
    namespaces: ["b", "a"],
    bytes: 40,
    patterns: 2,
    characters: 9,
  };
  const b = { policies: ["ns/p", "ns/q"], caBundles: [], namespaces: ["a"], bytes: 10, patterns: 0, characters: 0 };
  totals.add(a, 1);
  totals.add(b, 1);
  deepStrictEqual([totals.policies(), totals.caBundles(), totals.namespaces()], [["ns/p", "ns/q"], ["sha256:1"], [
    "a",
    "b",
  ]]);
  deepStrictEqual([totals.hosts, totals.bytes, totals.patterns, totals.characters], [2, 50, 2, 9]);
  totals.add(a, -1);
  deepStrictEqual([totals.policies(), totals.caBundles(), totals.namespaces()], [["ns/p", "ns/q"], [], ["a"]]);
  deepStrictEqual([totals.hosts, totals.bytes, totals.patterns, totals.characters], [1, 10, 0, 0]);
});
