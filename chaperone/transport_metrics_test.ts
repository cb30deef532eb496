import { equal, match, throws } from "node:assert/strict";
import { parseTransportStats, renderTransportMetrics } from "./transport_metrics.ts";

const STATS = {
  requests: 9,
  connections: 2,
  connectFailures: 3,
  tlsFailures: 4,
  timeouts: 5,
  protocolFailures: 6,
  resent: 7,
};

Deno.test("parseTransportStats() reads ghost's transport counters, and none from a VMOD without them", () => {
  equal(parseTransportStats(JSON.stringify({ status: "ok", rules: [], transport: STATS }))?.tlsFailures, 4);
  equal(parseTransportStats(JSON.stringify({ status: "ok", rules: [], transport: STATS }))?.resent, 7);
  equal(parseTransportStats('{"status":"ok","rules":[]}'), undefined);
  throws(() => parseTransportStats('{"transport": {"requests": -1}}'));
});

Deno.test("renderTransportMetrics() writes requests, connections, resent requests and one failure series per kind", () => {
  const text = renderTransportMetrics(STATS);
  match(text, /^lacquer_transport_requests_total 9$/m);
  match(text, /^lacquer_transport_connections_total 2$/m);
  match(text, /^lacquer_transport_resent_total 7$/m);
  match(text, /^# TYPE lacquer_transport_resent_total counter$/m);
  match(text, /^lacquer_transport_failures_total\{kind="connect"\} 3$/m);
  match(text, /^lacquer_transport_failures_total\{kind="tls"\} 4$/m);
  match(text, /^lacquer_transport_failures_total\{kind="timeout"\} 5$/m);
  match(text, /^lacquer_transport_failures_total\{kind="protocol"\} 6$/m);
  equal(text.split("\n").filter((l) => l.startsWith("lacquer_transport_")).length, 7);
  equal(renderTransportMetrics(undefined), "");
});
