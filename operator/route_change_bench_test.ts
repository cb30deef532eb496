import { equal, ok } from "node:assert/strict";
import { CHANGE_KINDS, conditionsBlock, measureRouteChanges, resultTable } from "./route_change_bench.ts";

Deno.test("measureRouteChanges() times prepare, translate and serialise of each kind of change", () => {
  const sample = measureRouteChanges(200, 3);
  equal(sample.routes, 200);
  for (const kind of CHANGE_KINDS) {
    const k = sample.kinds[kind];
    ok(k.translate.p50 > 0 && k.translate.p99 >= k.translate.p50, kind);
    ok(k.prepare.p50 > 0 && k.serialise.p50 >= 0, kind);
    // 200 routes fit one ConfigMap: each change rewrites it
    equal(k.shards, 1, kind);
  }
  const table = resultTable([sample, sample]);
  equal(table.length, 2 + 2 * CHANGE_KINDS.length);
  ok(table[2].includes("(1.0x)"), table[2]);
});

Deno.test("conditionsBlock() lists the run's conditions, each on its own line", () => {
  const lines = conditionsBlock({
    cpu: "Xeon",
    cores: 2,
    commit: "abc1234",
    dirty: true,
    v8Flags: "",
    loadStart: [3.571, 7.3, 7.2],
    loadEnd: [3.8, 7.25, 7.21],
  });
  equal(lines[0], "Conditions:");
  equal(lines[1], "");
  // every fact is a list item of its own: a line that is not would join the one before it in Markdown
  ok(lines.slice(2).every((l) => l.startsWith("- ")), lines.join("\n"));
  ok(lines.includes("- CPU: Xeon, 2 cores"), lines.join("\n"));
  ok(lines.some((l) => l.includes("commit abc1234 with uncommitted changes")), lines.join("\n"));
  ok(lines.includes("- V8 flags: Deno's defaults"), lines.join("\n"));
  ok(lines.includes("- load average (1, 5, 15 min): 3.57 7.30 7.20 at the start, 3.80 7.25 7.21 at the end"));
});
