import { equal, match, ok } from "node:assert/strict";
import { renderSvg } from "./report.ts";
import { headline, propagationChart, type PropagationSeries, reportMarkdown, stagesChart } from "./report_render.ts";

const stages = [{ api: 4, operator: 10, watch: 2, wait: 0.1, read: 3, ghost: 1, response: 1 }];
const SERIES: PropagationSeries[] = [100, 5000].flatMap((routes) => [
  {
    change: "HTTPRoute update",
    routes,
    shards: routes > 1000 ? 64 : 0,
    pods: 2,
    total: routes > 1000 ? [10, 12, 40] : [10, 12, 15],
    afterWrite: [5, 6, 30],
    inEffect: routes > 1000 ? [8, 9, 20] : [8, 9, 12],
    stages: [...stages, ...stages, ...stages],
    until: "first correct response of each of 2 gateway pods",
  },
  {
    change: "EndpointSlice",
    routes,
    shards: 0,
    pods: 2,
    total: [3, 4, 9],
    afterWrite: [2, 3, 8],
    until: "first correct response of each of 2 gateway pods",
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

Deno.test("renderSvg() draws the stage chart: a stacked bar per stage the changes have", async () => {
  const svg = await renderSvg(stagesChart(SERIES));
  match(svg, /^<svg /);
  for (const stage of ["api", "operator", "read", "response"]) ok(svg.includes(`>${stage}<`), stage);
  // the EndpointSlice series has no stages: only the update's facet
  ok(svg.includes("HTTPRoute update") && !svg.includes(">EndpointSlice<"));
});

Deno.test("reportMarkdown() states the conditions, every figure and the median stages; headline() the goals", () => {
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
  match(report, /\| 5000 \| HTTPRoute update \| 64 \| 3 \| 12 \| 40 \| 6 \| 30 \| 9 \| 20 \|/);
  // api, operator, watch, wait, read, build (none), write (none), ghost, other (none), response; queued, prepare,
  // translate, apply, fetch, parse, ghost own and answer (none)
  match(
    report,
    /\| 5000 \| HTTPRoute update \| 4 \| 10 \| 2 \| 0\.1 \| 3 \| – \| – \| 1 \| – \| 1 \| – \| – \| – \| – \| – \|/,
  );
  // every table's header, separator and rows have the same number of cells (else Markdown shows no table)
  for (const table of report.split("\n\n").filter((block) => block.startsWith("| "))) {
    const widths = table.split("\n").filter(Boolean).map((row) => row.split(" | ").length);
    ok(widths.every((w) => w === widths[0]), `cells per row ${widths.join(", ")} in:\n${table}`);
  }
  const lines = headline(SERIES);
  match(lines, /HTTPRoute update → every gateway pod at 5000 routes \(64 shards\): p50 12 ms, p99 40 ms/);
  match(
    lines,
    /at most 50 ms \(p99; stretch 30 ms\) at 5000 routes: met \(40 ms over 3 creations.*; in effect at every pod: p99 20 ms\)/,
  );
  match(lines, /at most 2× from 100 to 5000 routes: not met \(2\.67×\)/);
  match(lines, /EndpointSlice change → traffic in at most 30 ms \(p99\) at 5000 routes: met \(9 ms\)/);
});
