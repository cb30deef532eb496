/**
 * `lacquer operator`: the cluster-wide Gateway API controller.
 *
 * @module
 */
import type { Logger } from "../internal/log.ts";

/** Options of `lacquer operator`. */
export interface OperatorOptions {
  /** The logger every component derives its own from. */
  log: Logger;
}

/**
 * Runs the operator until it is asked to stop.
 *
 * @param options Parsed command-line options.
 * @returns The process exit code.
 */
export function runOperator(options: OperatorOptions): Promise<number> {
  options.log.error("Operator is not implemented yet", { issue: 6 });
  return Promise.resolve(1);
}
