import { equal, ok } from "node:assert/strict";
import { createLogger } from "../../internal/log.ts";
import { eventually } from "./eventually.ts";
import { spawnRestarting } from "./restarting_process.ts";

Deno.test("spawnRestarting starts a program again each time it exits, and stop() ends both it and the restarts", async () => {
  const logFile = await Deno.makeTempFile();
  const lines: string[] = [];
  const p = spawnRestarting("sh", {
    name: "sh",
    args: ["-c", "echo run; sleep 0.05"],
    logFile,
    log: createLogger({ level: "warn", sink: (line) => lines.push(line) }),
    backoff: { initialMs: 10, maxMs: 20 },
  });
  await eventually(() => ok(p.starts >= 3, `${p.starts} starts`));
  await p.stop(1000);
  const starts = p.starts;
  await new Promise((r) => setTimeout(r, 200));
  equal(p.starts, starts, "no start after stop()");
  ok((await Deno.readTextFile(logFile)).split("run").length - 1 >= 3, "each run logged to the file");
  ok(lines.some((l) => JSON.parse(l).msg === "sh exited; restarting"));
  await Deno.remove(logFile);
});
