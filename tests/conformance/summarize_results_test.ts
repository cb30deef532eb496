import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { formatResults, summarizeResults } from "./summarize_results.ts";

const OUTPUT = `=== RUN   TestConformance
    --- PASS: TestConformance/HTTPRouteMatching/0_request_to_'/'_should_go_to_infra-backend-v1 (0.01s)
    --- PASS: TestConformance/HTTPRouteMatching (3.20s)
    --- FAIL: TestConformance/HTTPRouteRedirectPort/0_request (0.01s)
    --- FAIL: TestConformance/HTTPRouteRedirectPort (1.00s)
    --- SKIP: TestConformance/GRPCExactMethodMatching (0.00s)
    --- PASS: TestConformance/GatewayClassObservedGenerationBump (0.50s)
--- FAIL: TestConformance (100.00s)
`;

Deno.test("summarizeResults() counts top-level conformance tests only", () => {
  deepStrictEqual(summarizeResults(OUTPUT), {
    passed: ["GatewayClassObservedGenerationBump", "HTTPRouteMatching"],
    failed: ["HTTPRouteRedirectPort"],
    skipped: ["GRPCExactMethodMatching"],
  });
});

Deno.test("summarizeResults() finds nothing in unrelated output", () => {
  deepStrictEqual(summarizeResults("ok  \tpkg\t0.1s\n--- PASS: TestOther (0.00s)\n"), {
    passed: [],
    failed: [],
    skipped: [],
  });
});

Deno.test("formatResults() lists failures and ends with the counts", () => {
  strictEqual(
    formatResults(summarizeResults(OUTPUT)),
    "  FAILED HTTPRouteRedirectPort\nconformance: 2 passed, 1 failed, 1 skipped",
  );
});
