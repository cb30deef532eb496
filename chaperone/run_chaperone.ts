/**
 * Wiring of `lacquer chaperone`.
 *
 * @module
 */
import type { Logger } from "../internal/log.ts";
import type { ChaperoneConfig } from "./options.ts";

/** Options of {@linkcode runChaperone}. */
export interface ChaperoneOptions {
  /** The logger every component derives its own from. */
  log: Logger;
  /** The validated configuration. */
  config: ChaperoneConfig;
}

/**
 * Runs the chaperone until it is asked to stop.
 *
 * @param options Logger and configuration.
 * @returns The process exit code.
 */
export function runChaperone(options: ChaperoneOptions): Promise<number> {
  options.log.error("Chaperone is not implemented yet", { issue: 5 });
  return Promise.resolve(1);
}
