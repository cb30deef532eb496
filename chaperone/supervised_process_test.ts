import { equal, ok } from "node:assert/strict";
import { createLogger } from "../internal/log.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import { SupervisedProcess, type SupervisedProcessOptions } from "./supervised_process.ts";

function recorder() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: "debug", sink: (line) => lines.push(JSON.parse(line)) });
  return { log, messages: () => lines.map((l) => l.msg), lines };
}

function sh(script: string): () => Deno.Command {
  return () => new Deno.Command("sh", { args: ["-c", script], stdin: "null", stdout: "null", stderr: "null" });
}

const fast = { initialMs: 10, maxMs: 40 };
const up: SupervisedProcessOptions["whenUp"] = () => Promise.resolve();

Deno.test("SupervisedProcess restarts a process that exits, and stop() ends it", async () => {
  const { log, messages } = recorder();
  const p = new SupervisedProcess({ name: "p", command: sh("sleep 0.05"), whenUp: up, log, backoff: fast });
  p.start();
  await eventually(() => ok(p.starts >= 3));
  await p.stop();
  equal(p.state, "stopped");
  equal(await p.done, "stopped");
  ok(messages().includes("p exited"));
});

Deno.test("SupervisedProcess starts a process that ran longer than its back-off again at once, one that did not after the rest", async () => {
  const { log, lines } = recorder();
  let starts = 0;
  const p = new SupervisedProcess({
    name: "p",
    // the first run outlives the 200 ms delay, the second exits at once
    command: () => sh(++starts === 1 ? "sleep 0.4" : "exit 0")(),
    whenUp: up,
    log,
    backoff: { initialMs: 200, maxMs: 200 },
  });
  p.start();
  await eventually(() => ok(lines.filter((l) => l.msg === "p exited").length >= 2));
  await p.stop();
  const [first, second] = lines.filter((l) => l.msg === "p exited").map((l) => l.restartInMs as number);
  equal(first, 0);
  ok(second > 100, `the quick exit waits most of its delay (${second} ms)`);
});

Deno.test("SupervisedProcess gives up after the allowed failures within the window", async () => {
  const { log, messages } = recorder();
  const p = new SupervisedProcess({
    name: "p",
    command: sh("exit 3"),
    whenUp: up,
    log,
    backoff: fast,
    giveUp: { failures: 3, windowMs: 60_000 },
  });
  p.start();
  equal(await p.done, "failed");
  equal(p.state, "failed");
  equal(p.starts, 3);
  ok(messages().includes("p keeps failing; giving up"));
  await p.stop();
});

Deno.test("SupervisedProcess stops a start that does not come up and tries again", async () => {
  const { log, messages } = recorder();
  let attempts = 0;
  const p = new SupervisedProcess({
    name: "p",
    command: sh("exec sleep 60"),
    whenUp: () => ++attempts === 1 ? Promise.reject(new Error("not up")) : Promise.resolve(),
    log,
    backoff: fast,
  });
  p.start();
  await eventually(() => equal(p.state, "running"));
  equal(p.starts, 2);
  ok(messages().includes("p start failed"));
  ok(messages().includes("p did not start"));
  await p.stop();
  equal(p.pid, undefined);
});

Deno.test("SupervisedProcess retries an executable that cannot be spawned, and never gives up without giveUp", async () => {
  const { log, messages } = recorder();
  const p = new SupervisedProcess({
    name: "p",
    command: () => new Deno.Command("/nonexistent/lacquer-test"),
    whenUp: up,
    log,
    backoff: fast,
  });
  p.start();
  await eventually(() => ok(messages().filter((m) => m === "p did not start").length >= 3));
  ok(p.state === "backoff" || p.state === "starting");
  await p.stop();
});

Deno.test("SupervisedProcess.stop() kills a process that ignores SIGTERM after the grace period", async () => {
  const { log } = recorder();
  const p = new SupervisedProcess({
    name: "p",
    command: sh("trap '' TERM; while :; do sleep 0.05; done"),
    whenUp: up,
    log,
    backoff: fast,
  });
  p.start();
  await eventually(() => equal(p.state, "running"));
  const t0 = performance.now();
  await p.stop({ graceMs: 200 });
  ok(performance.now() - t0 >= 150);
  equal(p.state, "stopped");
});
