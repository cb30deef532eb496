/**
 * Runs one chaos scenario: set-up, a steady load from before the fault until after the recovery, clean-up, and the
 * counts judged against the scenario's target (printed, with the failures' samples when it missed).
 *
 * @module
 */
import type { ChaosGateway } from "./chaos_gateway.ts";
import { type LoadOptions, type Probe, startChaosLoad } from "./load_driver.ts";
import type { Scenario } from "./scenario.ts";
import { judge, resultsTable, type ScenarioResult } from "./verdict.ts";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `scenario` against `sys` under the load.
 *
 * @param sys The running system.
 * @param scenario The scenario.
 * @param options The load, how long it runs before the fault and after the recovery, and the paths it always asks.
 * @returns The scenario's counts and outcome.
 */
export async function runScenario(
  sys: ChaosGateway,
  scenario: Scenario,
  options: { load: Required<LoadOptions>; steadyMs: number; probes: readonly Probe[] },
): Promise<ScenarioResult> {
  console.log(`\n▶ ${scenario.name}`);
  let recoveryMs: number | undefined;
  let error: string | undefined;
  let inFlightAtFault: number | undefined;
  try {
    await sys.settled();
    await scenario.prepare?.(sys);
  } catch (err) {
    error = `set-up: ${(err as Error).message}`;
  }
  const address = (!error && scenario.loadAddress?.(sys)) || sys.address;
  const load = startChaosLoad(address, [...options.probes, ...scenario.probes ?? []], options.load);
  if (!error) {
    try {
      await pause(options.steadyMs);
      recoveryMs = await scenario.run(sys, () => inFlightAtFault ??= load.inFlightNow());
      if (scenario.target === "in-flight" && inFlightAtFault === undefined) {
        throw new Error("the scenario never marked its fault");
      }
      await pause(options.steadyMs);
    } catch (err) {
      error = (err as Error).message;
    }
  }
  const counts = await load.stop();
  await scenario.cleanup?.(sys).catch((err) => console.error(`cleanup of ${scenario.name} failed: ${err}`));
  const result: ScenarioResult = {
    name: scenario.name,
    target: scenario.target,
    ...counts,
    inFlight: inFlightAtFault ?? counts.inFlight,
    recoveryMs,
    error,
  };
  console.log(resultsTable([result]).split("\n").at(-1));
  console.log(`  slowest answer: ${Math.round(counts.slowestMs)} ms`);
  // Failures within the target are shown too: what they were (refused, timed out, an error status) is the finding.
  if (!judge(result).pass || counts.failed > 0) {
    for (const s of counts.samples) console.log(`  ${s}`);
    if (error) console.log(`  ${error}`);
  }
  return result;
}
