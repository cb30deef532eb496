import { equal } from "node:assert/strict";
import { parseGatewayDuration } from "./gateway_duration.ts";

Deno.test("parseGatewayDuration() adds up every part in milliseconds", () => {
  equal(parseGatewayDuration("500ms"), 500);
  equal(parseGatewayDuration("0s"), 0);
  equal(parseGatewayDuration("1h2m3s4ms"), 3_723_004);
  equal(parseGatewayDuration("10m"), 600_000);
});

Deno.test("parseGatewayDuration() refuses what GEP-2257 does not allow", () => {
  for (const text of ["", "1", "1.5s", "-1s", "1d", "1h2m3s4ms5h", "100000s", "1 s", "1S"]) {
    equal(parseGatewayDuration(text), undefined, text);
  }
});
