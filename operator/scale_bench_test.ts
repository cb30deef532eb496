import { equal, ok } from "node:assert/strict";
import { SHIPPED_V8_FLAGS } from "../tests/stack/shipped_v8_flags.ts";
import { hostnamesFor, scaleSample } from "./scale_bench.ts";

Deno.test("hostnamesFor(): one hostname per route up to 500, then 500, then one per 10 routes", () => {
  equal(hostnamesFor(100), 100);
  equal(hostnamesFor(5000), 500);
  equal(hostnamesFor(50_000), 5000);
});

Deno.test("scaleSample() measures a Gateway in a process of its own under the shipped V8 flags", async () => {
  const s = await scaleSample(300, SHIPPED_V8_FLAGS);
  ok(s.fits);
  equal(s.v8Flags, SHIPPED_V8_FLAGS);
  equal(s.shards, 0, "300 routes fit one ConfigMap");
  equal(s.manifestBytes, 0, "and need no manifest");
  for (const kind of ["create", "update", "delete"] as const) {
    equal(s.regenerate![kind].n, 20);
    ok(s.regenerate![kind].p50 > 0 && s.regenerate![kind].p99 >= s.regenerate![kind].p50);
  }
  // what 300 routes hold cannot be nothing, nor megabytes each
  ok(s.heapPerRoute! > 500 && s.heapPerRoute! < 200_000, `${s.heapPerRoute} bytes per route`);
  ok(s.routingBytes! > 300 * 100 && s.largestStoredBytes! > 0);
});

Deno.test("scaleSample() reports a route count that does not fit the heap cap, rather than failing", async () => {
  const s = await scaleSample(20_000, "--max-old-space-size=24,--max-semi-space-size=1");
  equal(s.fits, false);
  equal(s.coldMs, undefined);
});
