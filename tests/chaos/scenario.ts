/**
 * What a chaos scenario is: a fault done to the running system while the load runs, judged against its target.
 *
 * @module
 */
import type { ChaosGateway } from "./chaos_gateway.ts";
import type { Probe } from "./load_driver.ts";
import type { Target } from "./verdict.ts";

/** One scenario. */
export interface Scenario {
  name: string;
  target: Target;
  /** Set-up before the load starts (e.g. a route the scenario's extra probes need). */
  prepare?(sys: ChaosGateway): Promise<void>;
  /** Paths the load requests besides the suite's routes. */
  probes?: Probe[];
  /** Where the load goes, after `prepare` (one gateway pod's address, say); the Gateway's address by default. */
  loadAddress?(sys: ChaosGateway): string;
  /**
   * Does the fault and waits until the system is whole again; returns the recovery time it measured, if any. A
   * scenario with the `in-flight` target calls `fault` just before it kills, to record the requests in flight then.
   */
  run(sys: ChaosGateway, fault: () => void): Promise<number | undefined>;
  /** Undoes what `prepare` and `run` left, after the load stopped. */
  cleanup?(sys: ChaosGateway): Promise<void>;
}

/** Milliseconds since `t0` (a `performance.now()`), rounded. */
export function since(t0: number): number {
  return Math.round(performance.now() - t0);
}
