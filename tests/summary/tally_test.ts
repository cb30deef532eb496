import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { formatSummary, summarizeRun, tallyCargo, tallyDenoJunit, tallyVtc } from "./tally.ts";

const testdata = (name: string) => Deno.readTextFile(new URL(`./testdata/${name}`, import.meta.url));

Deno.test("tallyDenoJunit() counts product, harness and doc-example tests apart, steps and ignored tests too", async () => {
  deepStrictEqual(tallyDenoJunit(await testdata("deno.xml")), {
    // "fails" and "steps" failed (a failed step fails its test), "ign" was ignored; three steps, one nested
    product: {
      passed: 0,
      failed: 2,
      ignored: 1,
      steps: 3,
      failures: ["a_test.ts > fails: Uncaught Error: x", "a_test.ts > steps > s2: Uncaught Error: y"],
    },
    harness: { passed: 1, failed: 0, ignored: 0, steps: 0, failures: [] },
    docExamples: { passed: 1, failed: 0, ignored: 0, steps: 0, failures: [] },
  });
});

Deno.test("tallyCargo() counts each Rust test but the varnishtest runner, ignored ones apart", async () => {
  deepStrictEqual(tallyCargo(await testdata("cargo_test.txt")), {
    passed: 2,
    failed: 1,
    ignored: 1,
    steps: 0,
    failures: ["route::tests::weights: assertion `left == right` failed: weights (core/src/route.rs:10:5)"],
  });
});

Deno.test("tallyVtc() counts each .vtc file", () => {
  deepStrictEqual(tallyVtc("b00.vtc passed\nb01.vtc failed\nb02.vtc skipped\nb03.vtc missing\n"), {
    passed: 1,
    failed: 2,
    ignored: 1,
    steps: 0,
    failures: ["b01.vtc: failed", "b03.vtc: missing"],
  });
});

Deno.test("summarizeRun() lists every kind and totals them", async () => {
  const text = formatSummary(summarizeRun({
    denoJunit: await testdata("deno.xml"),
    cargoLog: await testdata("cargo_test.txt"),
    vtcResults: "b00.vtc passed\nb01.vtc passed\n",
    conformanceLog: "    --- PASS: TestConformance/A (1.00s)\n    --- SKIP: TestConformance/B (0.00s)\n",
    status: { typescript: 1, rust: 1, conformance: 0 },
  }));
  strictEqual(
    text,
    [
      "  product tests: 0 passed (3 steps), 2 failed, 1 ignored",
      "  harness tests: 1 passed, 0 failed, 0 ignored",
      "  doc examples (no assertions): 1 passed, 0 failed, 0 ignored",
      "  Rust tests: 2 passed, 1 failed, 1 ignored",
      "  .vtc files: 2 passed, 0 failed, 0 ignored",
      "  conformance tests: 1 passed, 0 failed, 1 ignored",
      "  FAILED product tests: a_test.ts > fails: Uncaught Error: x",
      "  FAILED product tests: a_test.ts > steps > s2: Uncaught Error: y",
      "  FAILED Rust tests: route::tests::weights: assertion `left == right` failed: weights (core/src/route.rs:10:5)",
      "tests: 7 passed, 3 failed",
    ].join("\n"),
  );
});

Deno.test("summarizeRun() counts a step that failed without results as a failure", () => {
  // the TypeScript runner was killed before writing its JUnit file; conformance crashed after some passes
  const lines = summarizeRun({
    denoJunit: undefined,
    cargoLog: undefined,
    vtcResults: undefined,
    conformanceLog: "    --- PASS: TestConformance/A (1.00s)\npanic: test timed out after 120m0s\n",
    status: { typescript: 124, conformance: 2 },
  });
  strictEqual(
    formatSummary(lines),
    [
      "  typescript step: exited 124 without reporting a failed test",
      "  conformance tests: 1 passed, 0 failed, 0 ignored",
      "  conformance step: exited 2 without reporting a failed test",
      "tests: 1 passed, 2 failed",
    ].join("\n"),
  );
});
