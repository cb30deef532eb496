/**
 * Reads ghost's per-rule cache counters, its mirror counters and its clustered-cache counters: `GET
 * /.varnish-ghost/stats` on the loopback control socket.
 *
 * @module
 */
import { GHOST_STATS_PATH } from "../internal/names.ts";
import { type GhostRuleStats, parseGhostStats } from "./cache_metrics.ts";
import { type GhostClusterStats, parseClusterStats } from "./cluster_metrics.ts";
import { type GhostMirrorStats, parseMirrorStats } from "./mirror_metrics.ts";
import { type GhostTransportStats, parseTransportStats } from "./transport_metrics.ts";

/** What ghost's stats answer holds. */
export interface GhostStats {
  /** The cache counters per cached rule. */
  rules: GhostRuleStats[];
  /** The mirror counters of the process, when ghost reports them. */
  mirrors?: GhostMirrorStats;
  /** The clustered-cache counters of the process, when the Gateway's cache is clustered. */
  cluster?: GhostClusterStats;
  /** The counters of ghost's own transport (TLS and H2C backends), when ghost reports them. */
  transport?: GhostTransportStats;
}

/**
 * Reads the cache, mirror and clustered-cache counters from ghost.
 *
 * @example Usage
 * ```ts ignore
 * import { readGhostStats } from "./ghost_stats_client.ts";
 * const { rules, mirrors } = await readGhostStats(6091);
 * ```
 *
 * @param port The ghost control socket port on 127.0.0.1.
 * @param timeoutMs Time allowed.
 * @returns The counters; none when ghost cannot answer (varnishd not up, or a VMOD without the endpoint).
 */
export async function readGhostStats(port: number, timeoutMs = 2000): Promise<GhostStats> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${GHOST_STATS_PATH}`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await response.text();
    if (!response.ok) return { rules: [] };
    return {
      rules: parseGhostStats(body),
      mirrors: parseMirrorStats(body),
      cluster: parseClusterStats(body),
      transport: parseTransportStats(body),
    };
  } catch {
    return { rules: [] };
  }
}
