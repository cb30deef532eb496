/**
 * Transport metrics: the counters of ghost's own HTTP client transport (TLS and H2C backends; the `transport` object
 * of `GET /.varnish-ghost/stats`, one set for the varnishd process), in the Prometheus text format. A TLS backend
 * whose certificate fails verification answers 503 and counts here. Pure.
 *
 * @module
 */
import { z } from "zod";
import { MetricsRegistry } from "../internal/metrics.ts";

const count = z.int().min(0);

/** ghost's transport counters as it reports them. */
export const ghostTransportStatsSchema = z.object({
  requests: count,
  connections: count,
  connectFailures: count,
  tlsFailures: count,
  timeouts: count,
  protocolFailures: count,
  resent: count,
});

/** ghost's transport counters. */
export type GhostTransportStats = z.infer<typeof ghostTransportStatsSchema>;

/**
 * Reads the transport counters of ghost's stats answer.
 *
 * @example Usage
 * ```ts
 * import { parseTransportStats } from "./transport_metrics.ts";
 * parseTransportStats('{"status":"ok","rules":[]}'); // undefined: a VMOD without its own transport
 * ```
 *
 * @param text The answer body.
 * @returns The counters, or undefined when the answer has none.
 * @throws {Error} When the answer is not JSON or its counters have another shape.
 */
export function parseTransportStats(text: string): GhostTransportStats | undefined {
  return z.object({ transport: ghostTransportStatsSchema.optional() }).parse(JSON.parse(text)).transport;
}

/**
 * Renders `lacquer_transport_requests_total`, `lacquer_transport_connections_total`,
 * `lacquer_transport_resent_total` (requests sent again on a new connection because the pooled one they were sent on
 * had been closed by the backend: only when nothing of them had been sent, or they were idempotent and bodiless) and
 * `lacquer_transport_failures_total{kind="connect|tls|timeout|protocol"}` (`tls`: a handshake failed, the backend's
 * certificate not verified among them). A fixed set of series, whatever the number of backends; nothing before ghost
 * reports counters.
 *
 * @example Usage
 * ```ts
 * import { renderTransportMetrics } from "./transport_metrics.ts";
 * renderTransportMetrics({
 *   requests: 9,
 *   connections: 2,
 *   connectFailures: 0,
 *   tlsFailures: 1,
 *   timeouts: 0,
 *   protocolFailures: 0,
 *   resent: 1,
 * });
 * ```
 *
 * @param stats ghost's counters, if it reported them.
 * @returns The exposition text (empty without counters).
 */
export function renderTransportMetrics(stats: GhostTransportStats | undefined): string {
  if (stats === undefined) return "";
  const registry = new MetricsRegistry();
  registry.counter("lacquer_transport_requests_total", "Requests ghost's transport sent to TLS and H2C backends")
    .inc({}, stats.requests);
  registry.counter("lacquer_transport_connections_total", "Connections ghost's transport opened (TCP, and TLS)")
    .inc({}, stats.connections);
  registry.counter(
    "lacquer_transport_resent_total",
    "Requests ghost's transport sent again on a new connection after the backend had closed the pooled one",
  ).inc({}, stats.resent);
  const failures = registry.counter(
    "lacquer_transport_failures_total",
    "Requests of ghost's transport that failed (answered 503 or retried): connect, TLS handshake (the backend's " +
      "certificate not verified among them), timeout, protocol",
  );
  const kinds: [string, keyof GhostTransportStats][] = [
    ["connect", "connectFailures"],
    ["tls", "tlsFailures"],
    ["timeout", "timeouts"],
    ["protocol", "protocolFailures"],
  ];
  for (const [kind, key] of kinds) failures.inc({ kind }, stats[key]);
  return registry.render();
}
