/**
 * The invalidation metrics of the operator. Labels are bounded: `source` (`http`, `resource`), `kind` (`url`,
 * `prefix`, `tag`, `all`, or `invalid` for requests that never got one) and `result`.
 *
 * @module
 */
import type { MetricsRegistry } from "../../internal/metrics.ts";

/** Registers the invalidation metrics. */
export function invalidationMetrics(registry: MetricsRegistry) {
  return {
    invalidations: registry.counter(
      "lacquer_operator_invalidations_total",
      "Invalidations by source, kind and result (HTTP: ok, partial, failed or the refusal; resource: its final phase).",
    ),
    fanOut: registry.histogram(
      "lacquer_operator_invalidation_fanout_duration_seconds",
      "Time from sending an invalidation to every pod to the last answer.",
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    affected: registry.counter(
      "lacquer_operator_invalidation_objects_affected_total",
      "Cached objects invalidated by kind, as the pods counted them (lazy bans count none).",
    ),
  };
}

/** The invalidation metrics. */
export type InvalidationMetrics = ReturnType<typeof invalidationMetrics>;
