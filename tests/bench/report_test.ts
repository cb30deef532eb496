import { equal, match, ok } from "node:assert/strict";
import { renderSvg } from "./report.ts";
import { headline, propagationChart, type PropagationSeries, reportMarkdown } from "./report_render.ts";

const SERIES: PropagationSeries[] = [100, 5000].flatMap((routes) => [
  {
    change: "routing.json in shards",
    routes,
    shards: routes > 1000 ? 64 : 0,
    total: [10, 12, 40],
    afterWrite: [5, 6, 30],
    until: "first correct response",
  },
  {
    change: "EndpointSlice",
    routes,
    shards: 0,
    total: [3, 4, 9],
    afterWrite: [2, 3, 8],
    until: "first correct response",
  },
]);

Deno.test("renderSvg() draws the propagation chart with Vega-Lite: an SVG with its axes and a line per series", async () => {
  const svg = await renderSvg(propagationChart(SERIES));
  match(svg, /^<svg /);
  match(svg, /routes on the Gateway/);
  match(svg, /milliseconds \(log scale\)/);
  // 2 changes × 2 percentiles
  equal(svg.match(/class="mark-line role-mark/g)?.length, 4);
  ok(svg.includes("EndpointSlice") && svg.includes("p99"));
});

Deno.test("reportMarkdown() states the conditions and every figure; headline() quotes the largest route count", () => {
  const report = reportMarkdown(
    {
      date: "2026-11-30T17:00Z",
      cpu: "Test CPU",
      cores: 2,
      load: { before: "1 1 1", after: "2 2 2" },
      versions: { Deno: "2.9.6" },
    },
    SERIES,
    [propagationChart(SERIES)],
  );
  match(report, /Test CPU, 2 cores shared with other work \(load average 1 1 1 before, 2 2 2 after\); Deno 2\.9\.6\./);
  match(report, /!\[.*\]\(propagation\.svg\)/);
  match(report, /\| 5000 \| routing\.json in shards \| 64 \| 3 \| 12 \| 40 \| 6 \| 30 \|/);
  equal(headline(SERIES).split("\n").filter(Boolean).length, 3);
  match(headline(SERIES), /at most 50 ms \(p99\) at 5000 routes: met \(40 ms\)/);
  match(headline(SERIES), /routing\.json in shards \(64 shards\) → traffic at 5000 routes: p50 12 ms/);
});
