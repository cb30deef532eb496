import { equal } from "node:assert/strict";
import { MetricsRegistry } from "../internal/metrics.ts";
import { handleHealth, handleMetrics } from "./admin_handlers.ts";

Deno.test("handleHealth() is ready only once the caches are synced", async () => {
  let synced = false;
  const state = { synced: () => synced, watching: () => true, role: () => "single" };
  equal(handleHealth(new Request("http://x/healthz"), state).status, 200);
  equal(handleHealth(new Request("http://x/readyz"), state).status, 503);
  synced = true;
  const ready = handleHealth(new Request("http://x/readyz"), state);
  equal(ready.status, 200);
  equal((await ready.json()).role, "single");
  equal(handleHealth(new Request("http://x/other"), state).status, 404);
});

Deno.test("handleMetrics() renders the registry", async () => {
  const registry = new MetricsRegistry();
  registry.counter("x_total", "X.").inc();
  const response = handleMetrics(new Request("http://x/metrics"), registry);
  equal((await response.text()).includes("x_total 1"), true);
});
