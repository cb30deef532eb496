import { equal } from "node:assert/strict";
import { listenForStopSignals } from "./stop_signals.ts";

Deno.test("listenForStopSignals() resolves with the first stop signal received", async () => {
  const seen: Deno.Signal[] = [];
  const signals = listenForStopSignals(["SIGUSR2"], (signal) => seen.push(signal));
  // A signal listener alone does not keep the event loop alive while the signal is on its way.
  const keepAlive = setTimeout(() => {}, 10_000);
  try {
    Deno.kill(Deno.pid, "SIGUSR2");
    equal(await signals.promise, "SIGUSR2");
    equal(seen.join(), "SIGUSR2");
  } finally {
    clearTimeout(keepAlive);
    signals.dispose();
  }
});
