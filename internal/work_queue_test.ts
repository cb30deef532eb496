import { deepEqual, equal } from "node:assert/strict";
import { createLogger } from "./log.ts";
import { runWorkers, TerminalError, WorkQueue } from "./work_queue.ts";

const log = createLogger({ sink: () => {} });

Deno.test("WorkQueue queues a waiting key once", async () => {
  const queue = new WorkQueue();
  queue.add("a");
  queue.add("b");
  queue.add("a");
  equal(queue.length, 2);
  equal(await queue.get(), "a");
  equal(await queue.get(), "b");
  queue.done("a");
  queue.done("b");
  equal(queue.length, 0);
  queue.shutDown();
  equal(await queue.get(), undefined);
});

Deno.test("WorkQueue runs a key re-added while processing once more afterwards, never in parallel", async () => {
  const queue = new WorkQueue();
  queue.add("a");
  const key = await queue.get();
  queue.add("a");
  queue.add("a");
  equal(queue.length, 0, "not handed out while processing");
  queue.done(key!);
  equal(queue.length, 1);
  equal(await queue.get(), "a");
  queue.done("a");
  queue.shutDown();
});

Deno.test("runWorkers() retries failures with backoff and does not retry terminal errors", async () => {
  const queue = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 4 });
  const seen: string[] = [];
  let failures = 0;
  const done = runWorkers(queue, (key) => {
    seen.push(key);
    if (key === "flaky" && failures++ < 2) return Promise.reject(new Error("boom"));
    if (key === "broken") return Promise.reject(new TerminalError("bad"));
    if (key === "flaky") queue.shutDown();
    return Promise.resolve();
  }, { log, workers: 2 });
  queue.add("broken");
  queue.add("flaky");
  await done;
  deepEqual(seen.filter((k) => k === "flaky").length, 3);
  deepEqual(seen.filter((k) => k === "broken").length, 1);
});

Deno.test("runWorkers() honours requeueAfterMs", async () => {
  const queue = new WorkQueue();
  let runs = 0;
  const done = runWorkers(queue, () => {
    runs++;
    if (runs === 2) queue.shutDown();
    return Promise.resolve(runs === 1 ? { requeueAfterMs: 5 } : undefined);
  }, { log });
  queue.add("k");
  await done;
  equal(runs, 2);
});
