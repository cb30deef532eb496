import { equal } from "node:assert/strict";
import { invalidationReport } from "./invalidation_report.ts";

const purge = { objects: 10_000, fillSeconds: 15.04, ms: 134.4, affected: [10_000, 0, undefined], rpsBefore: 5_000 };

Deno.test("invalidationReport() states p50/p99/min/max and that the p99 target was met", () => {
  const calls = Array.from({ length: 100 }, (_, i) => 100 - i); // unsorted on purpose
  const text = invalidationReport({ pods: 3, calls, purge: { ...purge, rpsDuring: 4_000 } });
  equal(text.includes("| 50.0 ms | 99.0 ms | 1.0 ms | 100.0 ms |"), true, text);
  equal(text.includes("Target p99 ≤ 100 ms: met (p99 99.0 ms)."), true, text);
  equal(text.includes("| 134 ms | 10,000 / 0 / unknown | 5,000 | 4,000 (-20 %) |"), true, text);
  equal(text.includes("filled in 15.0 s"), true, text);
});

Deno.test("invalidationReport() says by how much a missed target was missed", () => {
  const calls = [...Array(98).fill(5), 101.7, 118.5];
  const text = invalidationReport({ pods: 3, calls, purge: { ...purge, rpsDuring: 6_000 } });
  equal(text.includes("Target p99 ≤ 100 ms: missed by 1.7 ms (p99 101.7 ms)."), true, text);
  equal(text.includes("| 5,000 | 6,000 (+20 %) |"), true, text);
});
