import { deepEqual, equal, ok } from "node:assert/strict";
import { createLogger } from "../internal/log.ts";
import { Drain } from "./drain.ts";

const log = createLogger({ level: "error" });

Deno.test("Drain ends once no request arrived for the quiet window", async () => {
  let reads = 0;
  const drain = new Drain({
    requests: () => Promise.resolve(reads++ < 5 ? reads : 5),
    maxMs: 10_000,
    quietMs: 50,
    pollMs: 5,
    log,
  });
  equal(drain.draining, false);
  const t0 = performance.now();
  const done = drain.start();
  equal(drain.draining, true);
  equal(drain.start(), done);
  equal(await done, "quiet");
  const took = performance.now() - t0;
  ok(took >= 50 && took < 5_000, `took ${took} ms`);
  ok(reads >= 6);
});

Deno.test("Drain ends at its bound while requests keep arriving", async () => {
  let requests = 0;
  const drain = new Drain({ requests: () => Promise.resolve(requests++), maxMs: 100, quietMs: 50, pollMs: 5, log });
  const t0 = performance.now();
  equal(await drain.start(), "deadline");
  const took = performance.now() - t0;
  ok(took >= 100 && took < 5_000, `took ${took} ms`);
});

Deno.test("Drain first makes answers close their connections, then waits until no connection is left", async () => {
  const calls: string[] = [];
  let open = 3;
  const drain = new Drain({
    requests: () => Promise.resolve(7),
    sessions: () => {
      calls.push(`sessions ${open}`);
      return Promise.resolve(open > 0 ? open-- : 0);
    },
    closeConnections: () => {
      calls.push("close");
      return Promise.resolve();
    },
    maxMs: 10_000,
    quietMs: 20,
    pollMs: 5,
    log,
  });
  equal(await drain.start(), "quiet");
  equal(calls[0], "close");
  deepEqual(calls.filter((c) => c.startsWith("sessions")), ["sessions 3", "sessions 2", "sessions 1", "sessions 0"]);
});

Deno.test("Drain ends at its bound while a connection stays open, and survives a failed switch", async () => {
  const drain = new Drain({
    requests: () => Promise.resolve(7),
    sessions: () => Promise.resolve(1),
    closeConnections: () => Promise.reject(new Error("ghost is down")),
    maxMs: 100,
    quietMs: 20,
    pollMs: 5,
    log,
  });
  equal(await drain.start(), "deadline");
});
