import { deepEqual, equal, ok } from "node:assert/strict";
import { allPassed, judge, resultsMarkdown, resultsTable, type ScenarioResult } from "./verdict.ts";

const base: ScenarioResult = { name: "s", target: "no-failures", sent: 500, failed: 0, misrouted: 0, inFlight: 4 };

Deno.test("a scenario with no failure and nothing misrouted passes either target", () => {
  deepEqual(judge(base), { pass: true, reason: "pass" });
  deepEqual(judge({ ...base, target: "in-flight" }), { pass: true, reason: "pass" });
});

Deno.test("one misrouted request fails every scenario, even a process kill", () => {
  deepEqual(judge({ ...base, target: "in-flight", misrouted: 1 }), { pass: false, reason: "1 misrouted" });
});

Deno.test("a zero-failure target allows none; a kill allows up to the requests in flight, not one more", () => {
  deepEqual(judge({ ...base, failed: 1 }), { pass: false, reason: "1 failed, target 0" });
  equal(judge({ ...base, target: "in-flight", failed: 4 }).pass, true);
  deepEqual(judge({ ...base, target: "in-flight", failed: 5 }), {
    pass: false,
    reason: "5 failed, more than the 4 in flight",
  });
});

Deno.test("a scenario that broke off or sent nothing fails, whatever its counts", () => {
  deepEqual(judge({ ...base, error: "timed out" }), { pass: false, reason: "error: timed out" });
  equal(judge({ ...base, sent: 0 }).pass, false);
  equal(allPassed([]), false, "an empty run proves nothing");
  equal(allPassed([base, { ...base, failed: 1 }]), false);
  equal(allPassed([base, base]), true);
});

Deno.test("the table has one row per scenario with its target, counts, recovery and verdict", () => {
  const table = resultsTable([
    { ...base, name: "kill -9 varnishd", target: "in-flight", sent: 1200, failed: 2, recoveryMs: 3456 },
    { ...base, name: "bad | regex", failed: 3 },
  ]);
  deepEqual(table.split("\n"), [
    "| scenario | target | sent | failed | misrouted | recovery | verdict |",
    "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    "| kill -9 varnishd | ≤ 4 failed (in flight) | 1200 | 2 | 0 | 3.5 s | pass |",
    "| bad \\| regex | 0 failed | 500 | 3 | 0 | – | FAIL: 3 failed, target 0 |",
  ]);
});

Deno.test("a long error is cut in the table, on one line", () => {
  const row = resultsTable([{ ...base, error: `first line\n${"x".repeat(200)}` }]).split("\n")[2];
  ok(row.endsWith("… |"), row);
  ok(row.includes("FAIL: error: first line xxx"), row);
  ok(row.length < 160, row);
});

Deno.test("the results file is titled by the command and counts the scenarios that met their target", () => {
  const text = resultsMarkdown([base, { ...base, misrouted: 2 }], "Run on a test machine.");
  ok(text.startsWith("# `deno task chaos`\n\nRun on a test machine.\n\n| scenario |"), text);
  ok(text.includes("1 of 2 scenarios met their target."), text);
});
