/**
 * The V8 flags the operator ships with, read from the Helm chart (`deploy/helm/lacquer/values.yaml`,
 * `operator.v8Flags`, which the rendered manifests carry too), so that tests and benches run the operator's heap as
 * it runs in a cluster.
 *
 * @module
 */
import { parse } from "yaml";

const VALUES = new URL("../../deploy/helm/lacquer/values.yaml", import.meta.url);

/** `operator.v8Flags` of the chart's values. */
export const SHIPPED_V8_FLAGS: string = (() => {
  const values = parse(Deno.readTextFileSync(VALUES)) as { operator?: { v8Flags?: unknown } };
  const flags = values.operator?.v8Flags;
  if (typeof flags !== "string" || flags === "") throw new Error(`${VALUES.pathname}: no operator.v8Flags`);
  return flags;
})();

/**
 * The V8 flags to run the operator under: `LACQUER_OPERATOR_V8_FLAGS` when set (a bench comparing heaps), else the
 * shipped ones.
 *
 * @example Usage
 * ```ts
 * import { match } from "node:assert/strict";
 * import { operatorV8Flags } from "./shipped_v8_flags.ts";
 * match(operatorV8Flags(), /--max-old-space-size=\d+/);
 * ```
 *
 * @returns The flags, comma-separated as `DENO_V8_FLAGS` takes them.
 */
export function operatorV8Flags(): string {
  return Deno.env.get("LACQUER_OPERATOR_V8_FLAGS") ?? SHIPPED_V8_FLAGS;
}
