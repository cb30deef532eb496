import { equal, match, throws } from "node:assert/strict";
import { parseClusterStats, renderClusterMetrics } from "./cluster_metrics.ts";

const STATS = { local: 11, hop: 23, skipped: 3, hopErrors: 2, hopRefused: 1, peerAccepted: 17, peerRefused: 4 };

Deno.test("parseClusterStats() reads ghost's clustered-cache counters, and none when the cache is not clustered", () => {
  equal(parseClusterStats(JSON.stringify({ status: "ok", rules: [], cluster: STATS }))?.hopRefused, 1);
  equal(parseClusterStats('{"status":"ok","rules":[],"mirrors":{}}'), undefined);
  throws(() => parseClusterStats('{"cluster": {"hop": -1}}'));
});

Deno.test("renderClusterMetrics() writes a fixed set of series, fallbacks as the sum of failed hops", () => {
  const text = renderClusterMetrics(STATS);
  match(text, /^lacquer_cluster_requests_total\{result="local"\} 11$/m);
  match(text, /^lacquer_cluster_requests_total\{result="hop"\} 23$/m);
  match(text, /^lacquer_cluster_requests_total\{result="skipped"\} 3$/m);
  match(text, /^lacquer_cluster_requests_total\{result="fallback"\} 3$/m);
  match(text, /^lacquer_cluster_peer_errors_total\{reason="unreachable"\} 2$/m);
  match(text, /^lacquer_cluster_peer_errors_total\{reason="refused"\} 1$/m);
  match(text, /^lacquer_cluster_peer_requests_total\{result="accepted"\} 17$/m);
  match(text, /^lacquer_cluster_peer_requests_total\{result="refused"\} 4$/m);
  equal(text.split("\n").filter((l) => l.startsWith("lacquer_cluster_")).length, 8);
  equal(renderClusterMetrics(undefined), "");
});
