/**
 * `deno task chaos`: each scenario under a steady, bounded load through a Gateway with two gateway pods, counting
 * requests sent, failed and misrouted; prints the table, writes `tests/chaos/results.md` (and the README section made
 * from it) and fails when a scenario missed its target. `LACQUER_CHAOS_ONLY=<text>[,<text>...]` runs only the scenarios whose name contains one of them and writes no
 * results file. `LACQUER_CHAOS_BACKGROUND_ROUTES=<n>` first applies `n` other routes to the Gateway
 * (`background_routes.ts`) and writes the results to their own section of the results file.
 *
 * @module
 */
import { ok } from "node:assert/strict";
import { updateReadmes } from "../../scripts/bench_figures.ts";
import { clusterAvailable, runCommand } from "../cluster/mod.ts";
import { stopApiServer } from "./api_server.ts";
import {
  addBackgroundRoutes,
  BACKGROUND_HEADING,
  type BackgroundTiming,
  HOSTNAMES,
  splitResults,
} from "./background_routes.ts";
import { badRegex, badVcl, corruptGhostJson, oversizedRoute } from "./bad_input.ts";
import { GATEWAY_PODS, PROBES, startChaosGateway } from "./chaos_gateway.ts";
import { endpointChurn, routeChurn } from "./churn.ts";
import { deleteGatewayPod, drainEviction } from "./disruption.ts";
import type { LoadOptions } from "./load_driver.ts";
import { killChaperone, killOperatorLeader, killVarnishChild, killVarnishd } from "./process_kills.ts";
import type { Scenario } from "./scenario.ts";
import { runScenario } from "./run_scenario.ts";
import { allPassed, resultsMarkdown, resultsTable, type ScenarioResult } from "./verdict.ts";

const SCENARIOS: Scenario[] = [
  routeChurn,
  endpointChurn,
  badVcl,
  badRegex,
  oversizedRoute,
  corruptGhostJson,
  deleteGatewayPod,
  drainEviction,
  killVarnishChild,
  killVarnishd,
  killChaperone,
  killOperatorLeader,
  stopApiServer,
];
const LOAD: Required<LoadOptions> = { workers: 4, ratePerWorker: 25, timeoutMs: 5000 };
/** Load before the fault and after the recovery, so that both steady states are measured too. */
const STEADY_MS = 3000;
const ONLY = Deno.env.get("LACQUER_CHAOS_ONLY")?.split(",");
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const RESULTS = new URL("./results.md", import.meta.url);
const BACKGROUND_ROUTES = Number(Deno.env.get("LACQUER_CHAOS_BACKGROUND_ROUTES") ?? "0");

Deno.test({
  name: "chaos: faults under load lose no request beyond their target and misroute none",
  ignore: !clusterAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const started = new Date();
  await using sys = await startChaosGateway();
  let background: BackgroundTiming | undefined;
  if (BACKGROUND_ROUTES > 0) {
    background = await addBackgroundRoutes(sys, BACKGROUND_ROUTES);
    console.log(
      `${BACKGROUND_ROUTES} background routes: written in ${seconds(background.writtenMs)}, ` +
        `served after ${seconds(background.servedMs)}, routing.json in ${background.shards} shards`,
    );
  }
  const results: ScenarioResult[] = [];
  for (const scenario of SCENARIOS.filter((s) => !ONLY || ONLY.some((o) => s.name.includes(o)))) {
    results.push(await runScenario(sys, scenario, { load: LOAD, steadyMs: STEADY_MS, probes: PROBES }));
  }
  console.log(`\n${resultsTable(results)}\n`);
  const loadavg = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  const conditions = `on the local cluster's node (2 cores shared with other work; load average ${loadavg} at the ` +
    `end), ${GATEWAY_PODS} gateway pods behind the Gateway's LoadBalancer address, two operator replicas with leader ` +
    `election. Load: ${LOAD.workers} workers, each one request after the other at most ${LOAD.ratePerWorker}/s, ` +
    `alternating \`/blue\` and \`/green\` (each app two pods), from ${STEADY_MS / 1000} s before each fault until ` +
    `${STEADY_MS / 1000} s after its recovery; a request without an answer after ` +
    `${LOAD.timeoutMs / 1000} s counted failed.`;
  const date = `${started.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  const [main, section] = splitResults(await Deno.readTextFile(RESULTS));
  let text: string | undefined;
  if (background) {
    text = `${main.trimEnd()}\n\n${BACKGROUND_HEADING}\n\nRun ${date} with \`LACQUER_CHAOS_BACKGROUND_ROUTES=` +
      `${BACKGROUND_ROUTES}\`: the Gateway also carried ${BACKGROUND_ROUTES} other HTTPRoutes on ${HOSTNAMES} hostnames (its ` +
      `routing.json stored in ${background.shards} shards), written in ${seconds(background.writtenMs)} and served ` +
      `${seconds(background.servedMs)} after the first write, before the scenarios; otherwise as above, ` +
      `${conditions}\n\n${resultsTable(results)}\n`;
  } else if (!ONLY) {
    text = `${resultsMarkdown(results, `Run ${date} ${conditions}`)}\n${section}`;
  }
  if (text) {
    await Deno.writeTextFile(RESULTS, text);
    await runCommand(Deno.execPath(), { args: ["fmt", "--quiet", RESULTS.pathname] });
    await updateReadmes(new URL("../../", import.meta.url), false);
    console.log(`written: ${RESULTS.pathname}`);
  }
  ok(allPassed(results), "a scenario missed its target (see the table)");
});
