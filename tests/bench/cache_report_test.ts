import { equal, throws } from "node:assert/strict";
import { formatReport, hitRatio, medianRun, parseWrk, wrkPercentileMs } from "./cache_report.ts";

const WRK = `Running 10s test @ http://127.0.0.1:8080/hit/object
  2 threads and 32 connections
  Latency Distribution
     50%  250.00us
     99%    2.50ms
  1000 requests in 10.00s, 1.00MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:  45678.90
`;

Deno.test("parseWrk() reads requests/s, p99 in ms and errors", () => {
  equal(JSON.stringify(parseWrk(WRK)), JSON.stringify({ rps: 45678.9, p99Ms: 2.5, errors: 7 }));
  equal(parseWrk("     99%  900.00us\nRequests/sec: 10\n").p99Ms, 0.9);
  equal(parseWrk("     99%    1.20s\nRequests/sec: 10\n").p99Ms, 1200);
  throws(() => parseWrk("unable to connect"));
  equal(wrkPercentileMs(WRK, 50), 0.25);
  equal(wrkPercentileMs(WRK, 90), undefined);
});

Deno.test("formatReport() shows the scenarios, the target ratios and the Zipf hit ratio", () => {
  const run = (name: string, rps: number) => ({ name, rps, p99Ms: 1, errors: 0 });
  const text = formatReport({
    scenarios: [
      run("hit", 90_000),
      run("pass", 20_000),
      run("origin", 50_000),
      run("nginx", 60_000),
      run("plain", 100_000),
    ],
    zipf: {
      objects: 1000,
      exponent: 1,
      storage: "16m",
      run: run("zipf", 70_000),
      hits: 900,
      misses: 100,
      objectsCached: 800,
      evicted: 5,
      storageUsed: 2 * 1048576,
    },
    settings: { duration: 10, rounds: 3, connections: 32, body: 1024 },
    loadAtStart: "0.10 0.20 0.30",
  });
  equal(text.includes("| hit | 90,000 | 1 ms | 0 |"), true);
  equal(text.includes("(load average 0.10 0.20 0.30 at the start)"), true);
  equal(text.includes("hit / pass: 4.5× (target ≥ 3×)"), true);
  equal(text.includes("hit / nginx proxying: 1.5× (target ≥ 1.2×)"), true);
  equal(text.includes("hit / plain-VCL hit: 0.9×"), true);
  equal(text.includes("plain-VCL hit / nginx proxying: 1.67×"), true);
  equal(text.includes("hit ratio 90 % (900 hits, 100 misses)"), true);
  equal(hitRatio(0, 0), 0);
});

Deno.test("medianRun() picks the round with the median requests/s", () => {
  const run = (rps: number) => ({ rps, p99Ms: rps / 1000, errors: 0 });
  equal(medianRun([run(30), run(10), run(20)]).p99Ms, 0.02);
  equal(medianRun([run(30), run(10)]).rps, 10);
  equal(medianRun([run(5)]).rps, 5);
});
