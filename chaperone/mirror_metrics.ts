/**
 * Mirror metrics: ghost's counters of mirrored requests (the `mirrors` object of `GET /.varnish-ghost/stats`, one set
 * for the varnishd process), in the Prometheus text format. Pure.
 *
 * @module
 */
import { z } from "zod";
import { MetricsRegistry } from "../internal/metrics.ts";

const count = z.int().min(0);

/** ghost's mirror counters as it reports them. */
export const ghostMirrorStatsSchema = z.object({
  sent: count,
  failed: count,
  droppedQueueFull: count,
  droppedBody: count,
  droppedUnavailable: count,
  queued: count,
});

/** ghost's mirror counters. */
export type GhostMirrorStats = z.infer<typeof ghostMirrorStatsSchema>;

/**
 * Reads the mirror counters of ghost's stats answer.
 *
 * @example Usage
 * ```ts
 * import { parseMirrorStats } from "./mirror_metrics.ts";
 * parseMirrorStats('{"status":"ok","rules":[]}'); // undefined: a VMOD without mirroring
 * ```
 *
 * @param text The answer body.
 * @returns The counters, or undefined when the answer has none.
 * @throws {Error} When the answer is not JSON or its counters have another shape.
 */
export function parseMirrorStats(text: string): GhostMirrorStats | undefined {
  return z.object({ mirrors: ghostMirrorStatsSchema.optional() }).parse(JSON.parse(text)).mirrors;
}

/**
 * Renders `lacquer_mirror_requests_total{result="sent|failed|dropped_queue_full|dropped_body|dropped_unavailable"}`
 * (copies a mirror answered, copies that failed, and copies not sent: the queue was full, the request's body was
 * longer than ghost's 64 KiB limit or of unknown length, the mirror had no usable endpoint) and `lacquer_mirror_queued` (copies waiting). A fixed set of series, whatever the
 * number of routes and mirrors; nothing before ghost reports counters.
 *
 * @example Usage
 * ```ts
 * import { renderMirrorMetrics } from "./mirror_metrics.ts";
 * renderMirrorMetrics({ sent: 3, failed: 0, droppedQueueFull: 1, droppedBody: 0, droppedUnavailable: 0, queued: 0 });
 * ```
 *
 * @param stats ghost's counters, if it reported them.
 * @returns The exposition text (empty without counters).
 */
export function renderMirrorMetrics(stats: GhostMirrorStats | undefined): string {
  if (stats === undefined) return "";
  const registry = new MetricsRegistry();
  const requests = registry.counter(
    "lacquer_mirror_requests_total",
    "Copies of requests for RequestMirror backends: sent (answered), failed, or dropped (queue full, request body " +
      "over 64 KiB or of unknown length, no usable endpoint)",
  );
  const results: [string, keyof GhostMirrorStats][] = [
    ["sent", "sent"],
    ["failed", "failed"],
    ["dropped_queue_full", "droppedQueueFull"],
    ["dropped_body", "droppedBody"],
    ["dropped_unavailable", "droppedUnavailable"],
  ];
  for (const [result, key] of results) requests.inc({ result }, stats[key]);
  registry.gauge("lacquer_mirror_queued", "Copies waiting for a sender").set(stats.queued);
  return registry.render();
}
