/**
 * Cache metrics: ghost's per-rule cache counters (`GET /.varnish-ghost/stats` on the loopback control socket, read
 * by `ghost_stats_client.ts`) and Varnish's object and storage gauges, in the Prometheus text format (rendered by
 * `internal/metrics.ts`). Pure.
 *
 * @module
 */
import { z } from "zod";
import { MetricsRegistry } from "../internal/metrics.ts";
import type { VarnishCounter } from "./metrics.ts";

const count = z.int().min(0);

/** One cached rule's counters as ghost reports them. */
export const ghostRuleStatsSchema = z.object({
  /** `namespace/name/ruleIndex`. */
  rule: z.string().regex(/^[^/]+\/[^/]+\/\d+$/),
  /** `namespace/name` of the CachePolicy. */
  policy: z.string(),
  hits: count,
  staleHits: count,
  misses: count,
  passes: count,
  bypasses: count,
  stored: count,
  uncacheable: count,
  setCookieStripped: count,
});

/** One cached rule's counters. */
export type GhostRuleStats = z.infer<typeof ghostRuleStatsSchema>;

const statsAnswerSchema = z.object({ rules: z.array(ghostRuleStatsSchema) });

/**
 * Parses ghost's stats answer.
 *
 * @example Usage
 * ```ts
 * import { parseGhostStats } from "./cache_metrics.ts";
 * parseGhostStats('{"status":"ok","rules":[]}'); // []
 * ```
 *
 * @param text The answer body.
 * @returns The counters per cached rule.
 * @throws {Error} When the answer does not have the expected shape.
 */
export function parseGhostStats(text: string): GhostRuleStats[] {
  return statsAnswerSchema.parse(JSON.parse(text)).rules;
}

/** At most this many rules get series of their own; the others are summed into `route="_other"`. */
export const MAX_CACHE_RULE_SERIES = 500;

const PREFIX = "lacquer_cache_";

type Totals = Omit<GhostRuleStats, "rule" | "policy">;

function sum(rules: readonly GhostRuleStats[]): Totals {
  const total: Totals = {
    hits: 0,
    staleHits: 0,
    misses: 0,
    passes: 0,
    bypasses: 0,
    stored: 0,
    uncacheable: 0,
    setCookieStripped: 0,
  };
  for (const r of rules) for (const key of Object.keys(total) as (keyof Totals)[]) total[key] += r[key];
  return total;
}

/**
 * Renders the cache metrics: per cached rule (labels `namespace`, `route`, `rule`, `policy`; at most
 * {@linkcode MAX_CACHE_RULE_SERIES} rules, the rest summed into `route="_other"`)
 * `lacquer_cache_requests_total{result="hit|stale|miss|pass|bypass"}`,
 * `lacquer_cache_responses_total{result="stored|uncacheable"}` and `lacquer_cache_set_cookie_stripped_total`; then
 * `lacquer_cache_objects` and `lacquer_cache_storage_{used,free}_bytes` from Varnish's counters. The hit ratio is
 * `(hit + stale) / (hit + stale + miss)` of the request counter's rates.
 *
 * @example Usage
 * ```ts
 * import { renderCacheMetrics } from "./cache_metrics.ts";
 * renderCacheMetrics([], { "MAIN.n_object": { description: "objects", flag: "g", value: 3 } });
 * ```
 *
 * @param rules ghost's counters per cached rule.
 * @param varnish Varnish counters by name.
 * @returns The exposition text, ending with a newline.
 */
export function renderCacheMetrics(
  rules: readonly GhostRuleStats[],
  varnish: Record<string, VarnishCounter>,
): string {
  const sorted = [...rules].sort((a, b) => a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0);
  const series: { labels: Record<string, string>; totals: Totals }[] = sorted.slice(0, MAX_CACHE_RULE_SERIES).map(
    (r) => {
      const [namespace, route, rule] = r.rule.split("/");
      return { labels: { namespace, route, rule, policy: r.policy }, totals: r };
    },
  );
  const rest = sorted.slice(MAX_CACHE_RULE_SERIES);
  if (rest.length > 0) {
    series.push({ labels: { namespace: "", route: "_other", rule: "", policy: "" }, totals: sum(rest) });
  }
  const registry = new MetricsRegistry();
  const requests = registry.counter(
    `${PREFIX}requests_total`,
    "Requests of rules with cache settings by outcome: hit, stale (served within grace), miss, pass, bypass",
  );
  const outcomes: [string, keyof Totals][] = [
    ["hit", "hits"],
    ["stale", "staleHits"],
    ["miss", "misses"],
    ["pass", "passes"],
    ["bypass", "bypasses"],
  ];
  for (const s of series) for (const [result, key] of outcomes) requests.inc({ ...s.labels, result }, s.totals[key]);
  const responses = registry.counter(
    `${PREFIX}responses_total`,
    "Origin responses of rules with cache settings: stored, or uncacheable (remembered as hit-for-miss)",
  );
  for (const s of series) {
    responses.inc({ ...s.labels, result: "stored" }, s.totals.stored);
    responses.inc({ ...s.labels, result: "uncacheable" }, s.totals.uncacheable);
  }
  const stripped = registry.counter(
    `${PREFIX}set_cookie_stripped_total`,
    "Responses stored with their Set-Cookie removed (allow.setCookie)",
  );
  for (const s of series) stripped.inc(s.labels, s.totals.setCookieStripped);
  const storage = (suffix: string) =>
    Object.entries(varnish).filter(([name]) => /^(SMA|SMF)\.[^.]+\./.test(name) && name.endsWith(suffix))
      .reduce((total, [, c]) => total + c.value, 0);
  registry.gauge(`${PREFIX}objects`, "Objects in the cache (hit-for-miss markers included)")
    .set(varnish["MAIN.n_object"]?.value ?? 0);
  registry.gauge(`${PREFIX}storage_used_bytes`, "Bytes of cache storage in use").set(storage(".g_bytes"));
  registry.gauge(`${PREFIX}storage_free_bytes`, "Bytes of cache storage left").set(storage(".g_space"));
  return registry.render();
}
