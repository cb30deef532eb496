import { equal, ok } from "node:assert/strict";
import { eventually } from "../tests/cluster/eventually.ts";
import { spawnTracked, startReaper } from "./reaper.ts";

Deno.test("spawnTracked() children are left to Deno by the reaper", async () => {
  const reaper = startReaper({ subreaper: true });
  try {
    const child = spawnTracked(new Deno.Command("true"));
    equal((await child.status).code, 0);
    equal(reaper.reaped, 0);
  } finally {
    reaper.stop();
  }
});

Deno.test("startReaper() reaps an orphan re-parented to this process", async () => {
  const reaper = startReaper({ subreaper: true });
  try {
    const out = await spawnTracked(new Deno.Command("sh", { args: ["-c", "sleep 0.2 & echo $!"], stdout: "piped" }))
      .output();
    const orphan = Number(new TextDecoder().decode(out.stdout).trim());
    await eventually(() => {
      ok(reaper.reaped >= 1);
      let gone = false;
      try {
        Deno.statSync(`/proc/${orphan}`);
      } catch {
        gone = true;
      }
      ok(gone, `process ${orphan} still exists`);
    });
  } finally {
    reaper.stop();
  }
});

Deno.test("Reaper.stop() gives the subreaper role back: later orphans no longer come to this process", async () => {
  startReaper({ subreaper: true }).stop();
  const out = await spawnTracked(new Deno.Command("sh", { args: ["-c", "sleep 1 & echo $!"], stdout: "piped" }))
    .output();
  const orphan = Number(new TextDecoder().decode(out.stdout).trim());
  const parent = Number(/^PPid:\s+(\d+)$/m.exec(Deno.readTextFileSync(`/proc/${orphan}/status`))?.[1]);
  ok(parent !== Deno.pid, `orphan ${orphan} was re-parented to this process`);
});
