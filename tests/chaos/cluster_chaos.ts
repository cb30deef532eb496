/**
 * `deno task chaos:cluster`: the clustered cache's faults under load, on the local cluster's real node. A Gateway of
 * three pods with `cache: { clustered: true }` and a cached route; the load asks for nine cached objects (each owned by
 * one pod, asked through all of them) besides the chaos suite's uncached routes; the scenarios of
 * `cluster_scenarios.ts`. Prints the table and writes `tests/chaos/cluster_results.md`; fails when a scenario missed
 * its target. `LACQUER_CHAOS_ONLY=<text>[,<text>...]` runs only the scenarios whose name contains one of them and
 * writes no results file.
 *
 * @module
 */
import { ok } from "node:assert/strict";
import { clusterAvailable, runCommand } from "../cluster/mod.ts";
import { PROBES, startChaosGateway } from "./chaos_gateway.ts";
import {
  CACHED_PROBES,
  CLUSTER_PODS,
  deleteOwnerPod,
  killOwnerVarnish,
  podMetric,
  scaleOutAndIn,
} from "./cluster_scenarios.ts";
import { type LoadOptions, startChaosLoad } from "./load_driver.ts";
import { runScenario } from "./run_scenario.ts";
import { allPassed, resultsMarkdown, resultsTable, type ScenarioResult } from "./verdict.ts";

const SCENARIOS = [deleteOwnerPod, killOwnerVarnish, scaleOutAndIn];
const LOAD: Required<LoadOptions> = { workers: 4, ratePerWorker: 25, timeoutMs: 5000 };
const STEADY_MS = 3000;
const ONLY = Deno.env.get("LACQUER_CHAOS_ONLY")?.split(",");
const RESULTS = new URL("./cluster_results.md", import.meta.url);

const sum = (values: Map<string, number>) => [...values.values()].reduce((a, b) => a + b, 0);

Deno.test({
  name: "chaos: a clustered cache loses no request when an owner fails or the gateway scales",
  ignore: !clusterAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const started = new Date();
  await using sys = await startChaosGateway({ pods: CLUSTER_PODS, clustered: true });
  await sys.routeTo("cached", "/cached", "blue");
  await sys.client.request(`/apis/lacquer.dev/v1alpha1/namespaces/${sys.ns}/cachepolicies`, {
    method: "POST",
    body: {
      apiVersion: "lacquer.dev/v1alpha1",
      kind: "CachePolicy",
      metadata: { name: "cached" },
      spec: {
        targetRefs: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "cached" }],
        ttl: { forced: "1h" },
      },
    },
  });
  await sys.served("/cached/0", "blue");
  await sys.settled();
  // The load makes hops: otherwise the scenarios would prove nothing about the clustered cache.
  const hops = () => podMetric(sys, 'lacquer_cluster_requests_total{result="hop"}').then(sum);
  const hopsBefore = await hops();
  const warm = startChaosLoad(sys.address, CACHED_PROBES, LOAD);
  await new Promise((r) => setTimeout(r, STEADY_MS));
  const warmCounts = await warm.stop();
  const hopsWarm = (await hops()) - hopsBefore;
  ok(warmCounts.failed === 0 && hopsWarm > 0, `warm-up: ${JSON.stringify(warmCounts)}, ${hopsWarm} hops`);

  const results: ScenarioResult[] = [];
  for (const scenario of SCENARIOS.filter((s) => !ONLY || ONLY.some((o) => s.name.includes(o)))) {
    results.push(await runScenario(sys, scenario, { load: LOAD, steadyMs: STEADY_MS, probes: PROBES }));
  }
  const fallbacks = sum(await podMetric(sys, 'lacquer_cluster_requests_total{result="fallback"}'));
  console.log(`\n${resultsTable(results)}\n`);
  if (!ONLY) {
    const loadavg = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
    const date = `${started.toISOString().slice(0, 16).replace("T", " ")} UTC`;
    const context = `Run ${date} of \`deno task chaos:cluster\` on the local cluster's node (2 cores shared with ` +
      `other work; load average ${loadavg} at the end): a Gateway of ${CLUSTER_PODS} gateway pods with ` +
      `\`cache: { clustered: true }\` behind its LoadBalancer address. Load: ${LOAD.workers} workers, each one ` +
      `request after the other at most ${LOAD.ratePerWorker}/s, each on a connection of its own (so each worker's ` +
      `requests reach one pod, which hops to the owner of each object it does not own), over \`/blue\`, \`/green\` ` +
      `(uncached) and ${CACHED_PROBES.length} cached objects \`/cached/0..${CACHED_PROBES.length - 1}\`, from ` +
      `${STEADY_MS / 1000} s before each fault until ${STEADY_MS / 1000} s after its recovery; a request without an ` +
      `answer after ${LOAD.timeoutMs / 1000} s counted failed. In a ${STEADY_MS / 1000} s warm-up the load made ` +
      `${hopsWarm} hops; at the end the pods then running counted ${fallbacks} hops that fell back to the origin.`;
    await Deno.writeTextFile(
      RESULTS,
      resultsMarkdown(results, context, "chaos:cluster"),
    );
    await runCommand(Deno.execPath(), { args: ["fmt", "--quiet", RESULTS.pathname] });
    console.log(`written: ${RESULTS.pathname}`);
  }
  ok(allPassed(results), "a scenario missed its target (see the table)");
});
