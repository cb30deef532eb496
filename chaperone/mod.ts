/**
 * `lacquer chaperone`: PID 1 of a gateway pod, supervising varnishd and its configuration.
 *
 * @module
 */
import type { Logger } from "../internal/log.ts";

/** Options of `lacquer chaperone`. */
export interface ChaperoneOptions {
  /** The logger every component derives its own from. */
  log: Logger;
}

/**
 * Runs the chaperone until it is asked to stop.
 *
 * @param options Parsed command-line options.
 * @returns The process exit code.
 */
export function runChaperone(options: ChaperoneOptions): Promise<number> {
  options.log.error("Chaperone is not implemented yet", { issue: 5 });
  return Promise.resolve(1);
}
