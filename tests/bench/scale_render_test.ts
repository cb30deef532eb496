import { equal, match, ok } from "node:assert/strict";
import type { ScaleSample } from "../../operator/scale_bench.ts";
import { renderSvg } from "./report.ts";
import {
  dataPlaneChart,
  dataPlaneMarkdown,
  dataPlaneRows,
  ghostCharts,
  ghostMarkdown,
  operatorCharts,
  operatorHeadline,
  operatorMarkdown,
} from "./scale_render.ts";

const CONDITIONS = {
  date: "2026-11-30T19:00Z",
  cpu: "Test CPU",
  cores: 2,
  load: { before: "1 1 1", after: "2 2 2" },
  versions: { Deno: "2.9.6" },
};

const stat = (p50: number) => ({ p50, p99: p50 * 2, n: 20 });
const SAMPLES: ScaleSample[] = [
  {
    routes: 5000,
    hostnames: 500,
    v8Flags: "--max-old-space-size=160",
    fits: true,
    coldMs: 900,
    regenerate: { create: stat(40), update: stat(41), delete: stat(39) },
    heapBytes: 50 * 2 ** 20,
    heapPerRoute: 10_485.76,
    routingBytes: 2.4 * 2 ** 20,
    shards: 128,
    largestStoredBytes: 30 * 1024,
  },
  { routes: 50_000, hostnames: 5000, v8Flags: "--max-old-space-size=160", fits: false },
];

Deno.test("operatorCharts() draws regeneration per kind of change and percentile, and heap per route", async () => {
  const [regeneration, memory] = operatorCharts(SAMPLES);
  const svg = await renderSvg(regeneration);
  match(svg, /^<svg /);
  // 3 kinds × 2 percentiles
  equal(svg.match(/class="mark-line role-mark/g)?.length, 6);
  match(await renderSvg(memory), /KiB per route/);
});

Deno.test("operatorMarkdown() lists every size with its figures, and a size that ran out of heap as such", () => {
  const text = operatorMarkdown({ conditions: CONDITIONS, samples: SAMPLES }, operatorCharts(SAMPLES));
  match(text, /Test CPU, 2 cores shared with other work \(load average 1 1 1 before, 2 2 2 after\)/);
  match(
    text,
    /\| 5000 \| 500 \| 900 \| 40\.0 \/ 80\.0 \| 41\.0 \/ 82\.0 \| 39\.0 \/ 78\.0 \| 50\.0 \| 10\.24 \| 2\.40 \| 128 \| 30\.0 \|/,
  );
  match(text, /\| 50000 \| 5000 \| out of heap under `--max-old-space-size=160` \|/);
  match(text, /!\[.*\]\(operator-memory\.svg\)/);
  const headline = operatorHeadline(SAMPLES, CONDITIONS);
  match(headline, /at 5000 routes: p50 41\.0 ms, p99 82\.0 ms; heap 10\.2 KiB per route \(128 shards/);
  match(headline, /operator at 50000 routes: out of heap.*\(measured 2026-11-30T19:00Z, load average 1 1 1 before/);
});

Deno.test("ghostMarkdown() joins match cost and reload rows by route count; ghostCharts() draws both", async () => {
  const match1 = [{ routes: 100, matchNs: 600, loadMs: 0.5, loadMedianMs: 1.5 }];
  const reload = [{ routes: 100, bestMs: 20, p50Ms: 30, p90Ms: 40, reloads: 11 }, {
    routes: 20_000,
    bestMs: 200,
    p50Ms: 300,
    p90Ms: 400,
    reloads: 11,
  }];
  const charts = ghostCharts(match1, reload);
  const text = ghostMarkdown({ conditions: CONDITIONS, match: match1, reload }, charts);
  match(text, /\| 100 \| 600\.0 \| 0\.5 \/ 1\.5 \| 20 \/ 30 \/ 40 \(11\) \|/);
  match(text, /\| 20000 \| – \| – \/ – \| 200 \/ 300 \/ 400 \(11\) \|/);
  equal((await renderSvg(charts[1])).match(/class="mark-line role-mark/g)?.length, 2);
});

Deno.test("dataPlaneRows() reads the scenarios of the committed bench:cache results; the section quotes them", async () => {
  const results = await Deno.readTextFile(new URL("cache_bench_results.md", import.meta.url));
  const rows = dataPlaneRows(results);
  ok(rows.length >= 4, `${rows.length} scenarios`);
  for (const name of ["cache hit", "pass", "origin direct", "nginx proxying"]) {
    ok(rows.some((r) => r.scenario.startsWith(name) && r.rps > 0), name);
  }
  const chart = dataPlaneChart(rows);
  match(await renderSvg(chart), /requests per second/);
  const text = dataPlaneMarkdown(results, chart);
  ok(!text.includes("# `deno task bench:cache`"), "its own title goes");
  match(text, /Measured .* on 2 cores/);
});
