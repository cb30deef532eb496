/**
 * Chaos scenarios of change: endpoint churn (the app `blue` scaled 1 ↔ 5, 20 times; `LACQUER_CHAOS_SCALE_CYCLES`) and
 * route churn (100 changes of a route between `blue` and `green`; `LACQUER_CHAOS_ROUTE_CHANGES`). No request may
 * fail or reach another app than its route names at that moment.
 */
import { type Scenario, since } from "./scenario.ts";

const SCALE_CYCLES = Number(Deno.env.get("LACQUER_CHAOS_SCALE_CYCLES") ?? "20");
const ROUTE_CHANGES = Number(Deno.env.get("LACQUER_CHAOS_ROUTE_CHANGES") ?? "100");

/** The scenario. */
export const endpointChurn: Scenario = {
  name: `endpoint churn: blue scaled 1 ↔ 5, ${SCALE_CYCLES} times`,
  target: "no-failures",
  async run(sys) {
    for (let i = 0; i < SCALE_CYCLES; i++) {
      await sys.scaleApp("blue", 5);
      await sys.scaleApp("blue", 1);
    }
    return undefined;
  },
  cleanup: (sys) => sys.scaleApp("blue", 2),
};

/** The scenario; the load also requests the churned route, which either app may answer. */
export const routeChurn: Scenario = {
  name: `route churn: ${ROUTE_CHANGES} changes`,
  target: "no-failures",
  probes: [{ path: "/churn", apps: ["blue", "green"] }],
  async prepare(sys) {
    await sys.routeTo("churn", "/churn", "blue");
    await sys.served("/churn", "blue");
  },
  async run(sys) {
    let app = "blue";
    let t0 = 0;
    for (let i = 1; i <= ROUTE_CHANGES; i++) {
      app = i % 2 === 1 ? "green" : "blue";
      t0 = performance.now();
      await sys.routeTo("churn", "/churn", app);
      await new Promise((r) => setTimeout(r, 100));
    }
    // from the last change to its first answers through both gateway pods
    await sys.served("/churn", app);
    return since(t0);
  },
};
