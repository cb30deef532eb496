import { deepEqual, equal, rejects } from "node:assert/strict";
import { cachedCall } from "./cached_call.ts";

/** A call whose runs are counted and settled by hand. */
function manualCall() {
  const runs: { resolve: (v: number) => void; reject: (e: Error) => void }[] = [];
  const call = () => new Promise<number>((resolve, reject) => runs.push({ resolve, reject }));
  return { runs, call };
}

Deno.test("cachedCall() runs once for concurrent callers and reuses the result until it is ttlMs old", async () => {
  let clock = 0;
  const { runs, call } = manualCall();
  const read = cachedCall(call, { ttlMs: 1000, now: () => clock });
  const waiting = Promise.all([read(), read(), read()]);
  equal(runs.length, 1);
  runs[0].resolve(7);
  deepEqual(await waiting, [7, 7, 7]);
  clock = 999;
  equal(await read(), 7);
  equal(runs.length, 1);
  clock = 1000;
  const next = read();
  equal(runs.length, 2);
  runs[1].resolve(8);
  equal(await next, 8);
});

Deno.test("cachedCall() shares a failure with its waiting callers and does not keep it", async () => {
  const { runs, call } = manualCall();
  const read = cachedCall(call, { ttlMs: 60_000, now: () => 0 });
  const first = read();
  const second = read();
  runs[0].reject(new Error("varnishd is down"));
  await rejects(first, /varnishd is down/);
  await rejects(second, /varnishd is down/);
  const retry = read();
  equal(runs.length, 2);
  runs[1].resolve(1);
  equal(await retry, 1);
});
