import { deepStrictEqual, equal, match } from "node:assert/strict";
import { countGhost, emptyMetrics, ghostReportCounts, renderMetrics, withLiveGauges } from "./metrics.ts";

Deno.test("renderMetrics() renders chaperone numbers and Varnish counters in Prometheus text", () => {
  const metrics = emptyMetrics();
  metrics.vclReloads.success = 3;
  metrics.vclReloads.failure = 1;
  metrics.endpoints = 7;
  metrics.syncStageSeconds.ghost = 0.25;
  metrics.routingShards = { push: 2, watch: 31, api: 1 };
  const text = renderMetrics(metrics, {
    "MAIN.client_req": { description: "Good client requests", flag: "c", value: 42 },
    "MAIN.n_object": { description: "objects", flag: "g", value: 5 },
    "VBE.boot.default.happy": { description: "Happy health probes", flag: "b", value: 0 },
    "VBE.lacquer_1.x.req": { description: "Backend requests", flag: "c", value: 9 },
  });
  match(text, /^lacquer_chaperone_vcl_reloads_total\{result="success"\} 3$/m);
  match(text, /^lacquer_chaperone_vcl_reloads_total\{result="failure"\} 1$/m);
  match(text, /^lacquer_chaperone_endpoints 7$/m);
  match(text, /^lacquer_chaperone_sync_stage_seconds_total\{stage="ghost"\} 0.25$/m);
  match(text, /^lacquer_chaperone_sync_stage_seconds_total\{stage="wait"\} 0$/m);
  match(text, /^lacquer_chaperone_routing_shards_total\{source="push"\} 2$/m);
  match(text, /^lacquer_chaperone_routing_shards_total\{source="watch"\} 31$/m);
  match(text, /^lacquer_chaperone_routing_shards_total\{source="api"\} 1$/m);
  match(text, /^# TYPE varnish_main_client_req counter\nvarnish_main_client_req 42$/m);
  match(text, /^# TYPE varnish_main_n_object gauge\nvarnish_main_n_object 5$/m);
  equal(/varnish_vbe/.test(text), false);
  equal(text.endsWith("\n"), true);
  equal(/hitch/.test(text), false);
});

Deno.test("renderMetrics() renders hitch's state per TLS listener socket", () => {
  const metrics = emptyMetrics();
  metrics.hitch = { "port-8443": { up: 0, starts: 3, reloads: 0 }, "port-443": { up: 1, starts: 1, reloads: 2 } };
  const text = renderMetrics(metrics, {});
  match(
    text,
    /^lacquer_chaperone_hitch_up\{socket="port-443"\} 1\nlacquer_chaperone_hitch_up\{socket="port-8443"\} 0$/m,
  );
  match(text, /^lacquer_chaperone_hitch_reloads_total\{socket="port-443"\} 2$/m);
  match(text, /^lacquer_chaperone_hitch_starts_total\{socket="port-8443"\} 3$/m);
});

Deno.test("countGhost() counts routes, backend groups, empty groups and endpoints", () => {
  deepStrictEqual(
    countGhost({
      vhosts: {
        a: { routes: [{ backends: [{ endpoints: [1, 2] }, { endpoints: [] }] }, { backends: [] }] },
        b: { routes: [{ backends: [{ endpoints: [3] }] }] },
      },
    }),
    { backends: 3, backendsEmpty: 1, endpoints: 3, routes: 3 },
  );
});

Deno.test("ghostReportCounts() reads loaded and skipped routes from ghost's answer", () => {
  deepStrictEqual(ghostReportCounts({ routes: 4, skipped: [{}, {}], status: "ok" }), {
    ghostRoutesLoaded: 4,
    ghostRoutesSkipped: 2,
  });
  deepStrictEqual(ghostReportCounts("Reloaded"), { ghostRoutesLoaded: 0, ghostRoutesSkipped: 0 });
});

Deno.test("withLiveGauges() fills the ready, draining and per-hitch gauges from live states", () => {
  const metrics = emptyMetrics();
  metrics.syncs = 4;
  const hitches = new Map([["port-443", { state: "running", starts: 2, reloads: 1 }], [
    "port-8443",
    { state: "backoff", starts: 5, reloads: 0 },
  ]]);
  const live = withLiveGauges(metrics, { ready: false, draining: true, hitches });
  deepStrictEqual(
    { ready: live.ready, draining: live.draining, hitch: live.hitch, syncs: live.syncs },
    {
      ready: 0,
      draining: 1,
      hitch: { "port-443": { up: 1, starts: 2, reloads: 1 }, "port-8443": { up: 0, starts: 5, reloads: 0 } },
      syncs: 4,
    },
  );
  equal(metrics.draining, 0);
});
