/**
 * Clustered-cache metrics: ghost's counters of peer hops (the `cluster` object of `GET /.varnish-ghost/stats`, one set
 * for the varnishd process, present when the Gateway's cache is clustered), in the Prometheus text format. Pure.
 *
 * @module
 */
import { z } from "zod";
import { MetricsRegistry } from "../internal/metrics.ts";

const count = z.int().min(0);

/** ghost's clustered-cache counters as it reports them. */
export const ghostClusterStatsSchema = z.object({
  local: count,
  hop: count,
  skipped: count,
  hopErrors: count,
  hopRefused: count,
  peerAccepted: count,
  peerRefused: count,
});

/** ghost's clustered-cache counters. */
export type GhostClusterStats = z.infer<typeof ghostClusterStatsSchema>;

/**
 * Reads the clustered-cache counters of ghost's stats answer.
 *
 * @example Usage
 * ```ts
 * import { parseClusterStats } from "./cluster_metrics.ts";
 * parseClusterStats('{"status":"ok","rules":[]}'); // undefined: the Gateway's cache is not clustered
 * ```
 *
 * @param text The answer body.
 * @returns The counters, or undefined when the answer has none.
 * @throws {Error} When the answer is not JSON or its counters have another shape.
 */
export function parseClusterStats(text: string): GhostClusterStats | undefined {
  return z.object({ cluster: ghostClusterStatsSchema.optional() }).parse(JSON.parse(text)).cluster;
}

/**
 * Renders, for a clustered cache, `lacquer_cluster_requests_total{result="local|hop|skipped|fallback"}` (looked-up
 * requests this pod received: looked up here as the key's owner, sent to the owner, looked up here because the owner
 * was skipped after a failure, and hops that failed and were fetched from the origin instead; `fallback` counts among
 * `hop` too), `lacquer_cluster_peer_errors_total{reason="unreachable|refused"}` (why hops failed: the owner could
 * not be reached, timed out or failed the fetch, or refused the hop) and
 * `lacquer_cluster_peer_requests_total{result="accepted|refused"}` (hops other pods sent to this one as the owner).
 * A fixed set of series, whatever the number of pods; nothing when the cache is not clustered.
 *
 * @example Usage
 * ```ts
 * import { renderClusterMetrics } from "./cluster_metrics.ts";
 * renderClusterMetrics({ local: 5, hop: 9, skipped: 1, hopErrors: 1, hopRefused: 0, peerAccepted: 4, peerRefused: 0 });
 * ```
 *
 * @param stats ghost's counters, if it reported them.
 * @returns The exposition text (empty without counters).
 */
export function renderClusterMetrics(stats: GhostClusterStats | undefined): string {
  if (stats === undefined) return "";
  const registry = new MetricsRegistry();
  const requests = registry.counter(
    "lacquer_cluster_requests_total",
    "Looked-up requests of a clustered cache received by this pod: local (this pod owns the key), hop (sent to the " +
      "owner), skipped (owner recently failed: looked up here), fallback (the hop failed: fetched from the origin)",
  );
  requests.inc({ result: "local" }, stats.local);
  requests.inc({ result: "hop" }, stats.hop);
  requests.inc({ result: "skipped" }, stats.skipped);
  requests.inc({ result: "fallback" }, stats.hopErrors + stats.hopRefused);
  const errors = registry.counter(
    "lacquer_cluster_peer_errors_total",
    "Failed hops to a key's owner: unreachable (connection error, timeout, failed fetch) or refused by the owner",
  );
  errors.inc({ reason: "unreachable" }, stats.hopErrors);
  errors.inc({ reason: "refused" }, stats.hopRefused);
  const peer = registry.counter(
    "lacquer_cluster_peer_requests_total",
    "Hops other gateway pods sent to this pod as the key's owner: accepted, or refused (bad signature, unknown origin)",
  );
  peer.inc({ result: "accepted" }, stats.peerAccepted);
  peer.inc({ result: "refused" }, stats.peerRefused);
  return registry.render();
}
