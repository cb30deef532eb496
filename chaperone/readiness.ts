/**
 * What `/readyz` answers: the gateway is ready once its initial configuration is applied, varnishd runs, every hitch
 * serves TLS, and it is not draining. Pure.
 *
 * @module
 */
import type { HitchState } from "./hitch_supervisor.ts";
import type { ProcessState } from "./supervised_process.ts";
import type { SyncStatus } from "./sync_loop.ts";

/** What readiness is computed from. */
export interface ReadinessInputs {
  /** The sync loop's status. */
  sync: SyncStatus;
  /** Whether a drain has started. */
  draining: boolean;
  /** The varnishd supervisor's state. */
  varnishd: ProcessState;
  /** Each hitch's state, by TLS listener socket name. */
  hitches: ReadonlyMap<string, { readonly state: HitchState }>;
}

/** The `/readyz` body: the verdict, what it was made of, and the sync status. */
export interface Readiness extends SyncStatus {
  /** Whether the gateway takes traffic. */
  ready: boolean;
  /** Whether a drain has started. */
  draining: boolean;
  /** The varnishd supervisor's state. */
  varnishd: ProcessState;
  /** Each hitch's state (only with TLS listeners). */
  hitch?: Record<string, HitchState>;
}

/**
 * Decides readiness.
 *
 * @example Usage
 * ```ts
 * import { readiness } from "./readiness.ts";
 * readiness({ sync: { applied: true, configMapFound: true, endpointsSynced: true }, draining: false,
 *   varnishd: "running", hitches: new Map() }).ready; // true
 * ```
 *
 * @param inputs The states of the parts.
 * @returns The `/readyz` body.
 */
export function readiness(inputs: ReadinessInputs): Readiness {
  const hitch = Object.fromEntries([...inputs.hitches].map(([name, h]) => [name, h.state]));
  const tlsReady = Object.values(hitch).every((state) => state === "running");
  const ready = inputs.sync.applied && !inputs.draining && inputs.varnishd === "running" && tlsReady;
  return {
    ready,
    draining: inputs.draining,
    varnishd: inputs.varnishd,
    ...(inputs.hitches.size > 0 ? { hitch } : {}),
    ...inputs.sync,
  };
}
