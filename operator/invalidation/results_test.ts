import { deepEqual, equal } from "node:assert/strict";
import { fanOutHttpStatus, summarizeFanOut } from "./results.ts";

const ok = (pod: string) => ({ pod, ok: true, durationMs: 1 });
const fail = (pod: string) => ({ pod, ok: false, durationMs: 1, error: "HTTP 503: varnishd not ready" });

Deno.test("summarizeFanOut: ok / partial / failed as 200 / 207 / 503, every pod listed in order", () => {
  const cases: [ReturnType<typeof ok>[], string, number][] = [
    [[ok("n/b"), ok("n/a")], "ok", 200],
    [[ok("n/a"), fail("n/b"), ok("n/c")], "partial", 207],
    [[fail("n/a"), fail("n/b")], "failed", 503],
    [[], "ok", 200],
  ];
  for (const [attempts, status, code] of cases) {
    const summary = summarizeFanOut(attempts);
    equal(summary.status, status);
    equal(summary.total, attempts.length);
    equal(fanOutHttpStatus(summary), code);
  }
  deepEqual(summarizeFanOut([ok("n/c"), { ...ok("n/a"), affected: 5 }, fail("n/b")]), {
    status: "partial",
    total: 3,
    succeeded: 2,
    results: [
      { pod: "n/a", result: "ok", affected: 5 },
      { pod: "n/b", result: "failed", error: "HTTP 503: varnishd not ready" },
      { pod: "n/c", result: "ok" },
    ],
  });
});
