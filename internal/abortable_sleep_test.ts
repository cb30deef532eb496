import { ok } from "node:assert/strict";
import { abortableSleep } from "./abortable_sleep.ts";

Deno.test("abortableSleep() waits for its time", async () => {
  const started = performance.now();
  await abortableSleep(30, new AbortController().signal);
  ok(performance.now() - started >= 25);
});

Deno.test("abortableSleep() ends early when the signal aborts, and at once when it has", async () => {
  const stop = new AbortController();
  const started = performance.now();
  const sleeping = abortableSleep(60_000, stop.signal);
  setTimeout(() => stop.abort(), 10);
  await sleeping;
  await abortableSleep(60_000, stop.signal);
  ok(performance.now() - started < 5_000);
});
