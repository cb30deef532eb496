/**
 * Chaos scenario: the API server stopped (SIGSTOP: its connections hang, as when it is partitioned away) for 60 s
 * (`LACQUER_CHAOS_API_DOWN_SECONDS`), then continued. Traffic must not notice; recovery ends when a route created
 * after it is back is served.
 */
import { eventually, useCluster } from "../cluster/mod.ts";
import { apiServerPid } from "./processes.ts";
import { type Scenario, since } from "./scenario.ts";

const DOWN_SECONDS = Number(Deno.env.get("LACQUER_CHAOS_API_DOWN_SECONDS") ?? "60");

/** The scenario. */
export const stopApiServer: Scenario = {
  name: `API server stopped for ${DOWN_SECONDS} s`,
  target: "no-failures",
  async run(sys) {
    const pid = await apiServerPid((await useCluster()).layout.dir);
    Deno.kill(pid, "SIGSTOP");
    try {
      await new Promise((r) => setTimeout(r, DOWN_SECONDS * 1000));
    } finally {
      Deno.kill(pid, "SIGCONT");
    }
    const t0 = performance.now();
    // the first request may meet a connection the pause broke
    await eventually(() => sys.routeTo("after-api-stop", "/after-api-stop", "blue"), { timeoutMs: 60_000 });
    await sys.served("/after-api-stop", "blue");
    const recovery = since(t0);
    await sys.settled();
    return recovery;
  },
};
