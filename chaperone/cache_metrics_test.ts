import { equal, match, throws } from "node:assert/strict";
import { type GhostRuleStats, MAX_CACHE_RULE_SERIES, parseGhostStats, renderCacheMetrics } from "./cache_metrics.ts";

function stats(rule: string, hits = 0): GhostRuleStats {
  return {
    rule,
    policy: "shop/p",
    hits,
    staleHits: 1,
    misses: 2,
    passes: 3,
    bypasses: 4,
    stored: 5,
    uncacheable: 6,
    setCookieStripped: 7,
  };
}

Deno.test("parseGhostStats() reads ghost's answer and rejects other shapes", () => {
  const rules = parseGhostStats(JSON.stringify({ status: "ok", rules: [stats("shop/catalog/0", 9)] }));
  equal(rules[0].hits, 9);
  throws(() => parseGhostStats('{"rules": [{"rule": "no-slashes"}]}'));
  throws(() => parseGhostStats("not json"));
});

Deno.test("renderCacheMetrics() renders per-rule outcomes and Varnish's object and storage gauges", () => {
  const text = renderCacheMetrics([stats("shop/catalog/1", 10), stats("blog/posts/0")], {
    "MAIN.n_object": { description: "objects", flag: "g", value: 12 },
    "SMA.s0.g_bytes": { description: "used", flag: "g", value: 1000 },
    "SMA.s0.g_space": { description: "free", flag: "g", value: 3000 },
    "SMA.Transient.g_bytes": { description: "used", flag: "g", value: 24 },
  });
  const labels = 'namespace="shop",route="catalog",rule="1",policy="shop/p"';
  match(text, new RegExp(`^lacquer_cache_requests_total\\{${labels},result="hit"\\} 10$`, "m"));
  match(text, new RegExp(`^lacquer_cache_requests_total\\{${labels},result="stale"\\} 1$`, "m"));
  match(text, new RegExp(`^lacquer_cache_requests_total\\{${labels},result="bypass"\\} 4$`, "m"));
  match(text, new RegExp(`^lacquer_cache_responses_total\\{${labels},result="uncacheable"\\} 6$`, "m"));
  match(text, new RegExp(`^lacquer_cache_set_cookie_stripped_total\\{${labels}\\} 7$`, "m"));
  // Sorted by rule: blog before shop.
  equal(text.indexOf('namespace="blog"') < text.indexOf('namespace="shop"'), true);
  match(text, /^lacquer_cache_objects 12$/m);
  match(text, /^lacquer_cache_storage_used_bytes 1024$/m);
  match(text, /^lacquer_cache_storage_free_bytes 3000$/m);
  equal(text.endsWith("\n"), true);
});

Deno.test("renderCacheMetrics() bounds its series: rules past the limit are summed into route _other", () => {
  const many = Array.from(
    { length: MAX_CACHE_RULE_SERIES + 3 },
    (_, i) => stats(`ns/r${String(i).padStart(4, "0")}/0`, 1),
  );
  const text = renderCacheMetrics(many, {});
  const hitLines = text.split("\n").filter((l) => l.startsWith("lacquer_cache_requests_total") && l.includes('"hit"'));
  equal(hitLines.length, MAX_CACHE_RULE_SERIES + 1);
  match(text, /^lacquer_cache_requests_total\{namespace="",route="_other",rule="",policy="",result="hit"\} 3$/m);
  match(text, /^lacquer_cache_objects 0$/m);
});
