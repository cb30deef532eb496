import { equal } from "node:assert/strict";
import { RateLimiter } from "./rate_limiter.ts";

Deno.test("RateLimiter: a burst, then the sustained rate, per caller", () => {
  const limiter = new RateLimiter({ perSecond: 2, burst: 3 });
  equal(limiter.take("a", 0), 0);
  equal(limiter.take("a", 0), 0);
  equal(limiter.take("a", 0), 0);
  equal(limiter.take("a", 0), 500);
  equal(limiter.take("b", 0), 0); // another caller has its own bucket
  equal(limiter.take("a", 500), 0);
  equal(limiter.take("a", 500), 500);
});

Deno.test("RateLimiter forgets callers whose bucket is full again", () => {
  const limiter = new RateLimiter({ perSecond: 10, burst: 10 });
  for (let i = 0; i < 100; i++) limiter.take(`caller-${i}`, 0);
  equal(limiter.size, 100);
  limiter.take("late", 5_000);
  equal(limiter.size, 1);
});
