import { deepStrictEqual } from "node:assert/strict";
import { conformanceProblems } from "./judge_run.ts";

const REPORT = await Deno.readTextFile(new URL("./report.yaml", import.meta.url));
const PASSED = { passed: ["HTTPRouteSimpleSameNamespace"], failed: [], skipped: ["GRPCExactMethodMatching"] };

Deno.test("conformanceProblems() passes a run that exited 0 with a successful report", () => {
  deepStrictEqual(conformanceProblems({ exitCode: 0, results: PASSED, report: REPORT }), []);
});

Deno.test("conformanceProblems() fails on the suite's exit status even when every parsed test passed", () => {
  // a crash or timeout after some passes: the suite exits 2 and writes no report
  deepStrictEqual(conformanceProblems({ exitCode: 2, results: PASSED, report: undefined }), [
    "the suite exited with status 2",
    "the suite wrote no report (it crashed or timed out)",
  ]);
});

Deno.test("conformanceProblems() fails a run in which no test ran", () => {
  deepStrictEqual(
    conformanceProblems({ exitCode: 0, results: { passed: [], failed: [], skipped: [] }, report: REPORT }),
    [
      "no test passed",
    ],
  );
});

Deno.test("conformanceProblems() names failed tests and failed profile parts", () => {
  const failing = REPORT.replace(/extended:\n {4}result: success/, "extended:\n    result: failure");
  deepStrictEqual(
    conformanceProblems({
      exitCode: 1,
      results: { passed: ["HTTPRouteSimpleSameNamespace"], failed: ["HTTPRouteRedirectPort"], skipped: [] },
      report: failing,
    }),
    [
      "the suite exited with status 1",
      "HTTPRouteRedirectPort failed",
      'the report\'s GATEWAY-HTTP extended result is "failure"',
    ],
  );
});

Deno.test("conformanceProblems() refuses a report without profiles or not in YAML", () => {
  deepStrictEqual(conformanceProblems({ exitCode: 0, results: PASSED, report: "kind: ConformanceReport\n" }), [
    "the report lists no profile",
  ]);
  deepStrictEqual(conformanceProblems({ exitCode: 0, results: PASSED, report: "a: [" }).length, 1);
});
