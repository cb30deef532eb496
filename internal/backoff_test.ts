import { equal } from "node:assert/strict";
import { backoffDelay } from "./backoff.ts";

Deno.test("backoffDelay() doubles per failure up to the bound", () => {
  const policy = { initialMs: 500, maxMs: 30_000 };
  equal(backoffDelay(1, policy), 500);
  equal(backoffDelay(2, policy), 1000);
  equal(backoffDelay(7, policy), 30_000);
  equal(backoffDelay(100, policy), 30_000);
  equal(backoffDelay(0, policy), 500);
});

Deno.test("backoffDelay() adds at most 20 % jitter when given a random number", () => {
  const policy = { initialMs: 800, maxMs: 30_000 };
  equal(backoffDelay(1, { ...policy, random: 0 }), 800);
  equal(backoffDelay(1, { ...policy, random: 0.5 }), 880);
  equal(backoffDelay(10, { ...policy, random: 0.999 }), Math.round(30_000 * 1.1998));
});
