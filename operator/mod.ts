/**
 * `lacquer operator`: the cluster-wide Gateway API controller.
 *
 * The pure core is {@linkcode translate}: a snapshot of API objects in; routing.json, main.vcl, child objects and
 * every status out. {@linkcode runOperator} is the I/O shell around it (caches, work queues, writers, leader
 * election, metrics and health).
 *
 * @example Translate a snapshot
 * ```ts
 * import { parseSnapshot, translate } from "./mod.ts";
 * const result = translate(parseSnapshot([]), { now: "2026-01-01T00:00:00Z", defaults: { image: "lacquer:dev" } });
 * ```
 *
 * @module
 */
export { type OperatorOptions, runOperator } from "./run_operator.ts";
export {
  DEFAULT_GATEWAY_IMAGE,
  OPERATOR_FLAGS,
  type OperatorConfig,
  operatorConfigSchema,
  type OperatorFlag,
  operatorFlagsWithEnvironment,
} from "./options.ts";
export { emptySnapshot, parseSnapshot, type Snapshot } from "./snapshot.ts";
export { type GatewayResult, translate, type TranslateOptions, type TranslateResult } from "./translate.ts";
export { mergeRouteParents } from "./status/mod.ts";
export { TranslationMemo } from "./translation_memo.ts";
export { SUPPORTED_FEATURES } from "./features.ts";
export { GATEWAY_PARAMETERS_API_VERSION, GATEWAY_PARAMETERS_KIND } from "./gateway_parameters.ts";
