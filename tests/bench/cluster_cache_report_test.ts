import { equal, match, ok } from "node:assert/strict";
import { type ClusterRun, formatClusterReport, targetVerdict } from "./cluster_cache_report.ts";

const run = (pods: number, clustered: boolean, hits: number, originFetches: number): ClusterRun => ({
  pods,
  clustered,
  requests: 10_000,
  rps: 2000,
  p99Ms: 5,
  errors: 0,
  originFetches,
  hits,
  misses: 10_000 - hits,
  hops: clustered ? Math.round(10_000 * (pods - 1) / pods) : 0,
  objects: 100,
});

Deno.test("targetVerdict() compares 3 clustered pods with 1 pod: hit ratio and origin fetches per request", () => {
  equal(targetVerdict([run(1, false, 9000, 1000), run(3, true, 9500, 500)])?.met, true);
  equal(targetVerdict([run(1, false, 9000, 1000), run(3, true, 8900, 1100)])?.met, false);
  // a higher hit ratio with more origin fetches (e.g. a failing peer) does not meet it
  equal(targetVerdict([run(1, false, 9000, 1000), run(3, true, 9500, 1200)])?.met, false);
  equal(targetVerdict([run(3, true, 9500, 500)]), undefined);
});

Deno.test("formatClusterReport() shows each run, the verdict and the hop's cost", () => {
  const text = formatClusterReport({
    runs: [run(1, false, 9000, 1000), run(3, false, 8000, 2000), run(3, true, 9500, 500)],
    latency: {
      connections: 4,
      local: { p50Ms: 0.2, p99Ms: 1, rps: 9000 },
      hop: { p50Ms: 0.5, p99Ms: 2.5, rps: 5000 },
    },
    settings: { objects: 20000, exponent: 1, storage: "16m", duration: 5, connections: 32, body: 1024, rounds: 3 },
    loadAtStart: "1.00 2.00 3.00",
  });
  match(text, /^\| 3 \| clustered \| 10,000 \| 500 \| 50 \| 95\.0 % \| 66\.7 % \| 100 \| 2,000 \| 5 ms \| 0 \|$/m);
  match(text, /^\| 3 \| independent \| 10,000 \| 2,000 \| 200 \| 80\.0 % \| 0\.0 % \|/m);
  match(text, /Target .*: met: 3 clustered pods 95\.0 % vs 1 pod 90\.0 %/);
  match(text, /The hop adds 0\.3 ms at the median and 1\.5 ms at p99\./);
  ok(text.endsWith("\n"));
});
