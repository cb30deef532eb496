/**
 * The pure half of the report's sections beyond propagation: the operator's regeneration time and memory, ghost's
 * match cost and reload time against the number of routes, and the data-plane comparison of `deno task bench:cache`.
 * Samples in, Vega-Lite charts and Markdown out; `report.ts` measures and renders.
 *
 * @module
 */
import type { ScaleSample } from "../../operator/scale_bench.ts";
import type { Chart, Conditions } from "./report_render.ts";

/** ghost-core at one route count (`ghost/core/examples/bench.rs` with `GHOST_BENCH_SIZES`). */
export interface GhostRow {
  /** Routes in the vhost. */
  routes: number;
  /** ns per match, best of 5 trials. */
  matchNs: number;
  /** Load of the document from its file (read, parse, validate, compile), best of 7, ms. */
  loadMs: number;
  /** The median of those 7. */
  loadMedianMs: number;
}

/** A whole reload in varnishd at one route count (`chaperone/ghost_reload_bench.ts`). */
export interface ReloadRow {
  /** Routes (one hostname and one native backend each). */
  routes: number;
  /** Best, median and p90 of the reloads, ms. */
  bestMs: number;
  /** The median. */
  p50Ms: number;
  /** p90. */
  p90Ms: number;
  /** Reloads timed. */
  reloads: number;
}

/** One scenario of the data-plane comparison, as `tests/bench/cache_bench_results.md` tables it. */
export interface DataPlaneRow {
  /** The scenario, e.g. `cache hit (varnishd + ghost)`. */
  scenario: string;
  /** Requests per second. */
  rps: number;
  /** p99 latency as printed, e.g. `3.79 ms`. */
  p99: string;
}

/** The report's sections beyond propagation, each measured at its own time. */
export interface ScaleSections {
  /** `operator/scale_bench.ts`. */
  operator?: { conditions: Conditions; samples: ScaleSample[] };
  /** `bench:ghost` with sizes, and `bench:ghost-reload` at some of them. */
  ghost?: { conditions: Conditions; match: GhostRow[]; reload: ReloadRow[] };
}

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const round = (x: number) => Math.round(x * 10) / 10;

function lineChart(
  file: string,
  title: string,
  values: Record<string, unknown>[],
  axes: { y: string; color: string; dash?: string },
): Chart {
  return {
    file,
    title,
    spec: {
      $schema: SCHEMA,
      title,
      width: 520,
      height: 280,
      data: { values },
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "routes", type: "quantitative", scale: { type: "log" }, title: "routes on the Gateway" },
        y: { field: "value", type: "quantitative", scale: { type: "log" }, title: axes.y },
        color: { field: "series", type: "nominal", title: axes.color },
        ...(axes.dash ? { strokeDash: { field: "dash", type: "nominal", title: axes.dash } } : {}),
      },
    },
  };
}

/**
 * The operator's charts: regeneration after one route is created, updated or deleted (p50 and p99), and the heap per
 * route beyond the baseline.
 *
 * @example Usage
 * ```ts
 * import { operatorCharts } from "./scale_render.ts";
 * operatorCharts([]).map((c) => c.file); // ["operator-regeneration.svg", "operator-memory.svg"]
 * ```
 *
 * @param samples The operator scale samples.
 * @returns The two charts.
 */
export function operatorCharts(samples: readonly ScaleSample[]): Chart[] {
  const fitting = samples.filter((s) => s.fits && s.regenerate);
  const regeneration = fitting.flatMap((s) =>
    (["create", "update", "delete"] as const).flatMap((kind) =>
      (["p50", "p99"] as const).map((p) => ({
        routes: s.routes,
        series: kind,
        dash: p,
        value: round(s.regenerate![kind][p]),
      }))
    )
  );
  const memory = fitting.map((s) => ({ routes: s.routes, series: "V8 heap", value: round(s.heapPerRoute! / 1024) }));
  return [
    lineChart("operator-regeneration.svg", "Operator: routing regenerated after one route change (ms)", regeneration, {
      y: "milliseconds (log scale)",
      color: "change",
      dash: "percentile",
    }),
    lineChart("operator-memory.svg", "Operator: heap per route beyond its baseline (KiB)", memory, {
      y: "KiB per route (log scale)",
      color: "measure",
    }),
  ];
}

/**
 * ghost's charts: ns per match, and the reload time (ghost-core's load from the file, and the whole reload inside
 * varnishd with native backends).
 *
 * @param match ghost-core's rows.
 * @param reload The varnishd reload rows.
 * @returns The two charts.
 */
export function ghostCharts(match: readonly GhostRow[], reload: readonly ReloadRow[]): Chart[] {
  const loads = [
    ...match.map((r) => ({ routes: r.routes, series: "ghost-core load (best of 7)", value: round(r.loadMs) })),
    ...reload.map((r) => ({ routes: r.routes, series: "reload in varnishd (median)", value: round(r.p50Ms) })),
  ];
  return [
    lineChart(
      "ghost-match.svg",
      "ghost: cost of one routing decision (ns)",
      match.map((r) => ({ routes: r.routes, series: "ns per match (best of 5)", value: round(r.matchNs) })),
      { y: "ns per match (log scale)", color: "measure" },
    ),
    lineChart("ghost-reload.svg", "ghost: reload time (ms)", loads, { y: "milliseconds (log scale)", color: "what" }),
  ];
}

/**
 * The data-plane scenarios of a `bench:cache` results file (its first table).
 *
 * @example Usage
 * ```ts
 * import { dataPlaneRows } from "./scale_render.ts";
 * dataPlaneRows("| scenario | requests/s | p99 | errors |\n| --- | --: | --: | --: |\n| pass | 9,296 | 10.28 ms | 0 |\n");
 * // [{ scenario: "pass", rps: 9296, p99: "10.28 ms" }]
 * ```
 *
 * @param markdown The results file.
 * @returns Its rows.
 */
export function dataPlaneRows(markdown: string): DataPlaneRow[] {
  const rows: DataPlaneRow[] = [];
  for (const line of markdown.split("\n")) {
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    if (cells.length !== 4 || !/^[\d,]+$/.test(cells[1])) continue;
    rows.push({ scenario: cells[0], rps: Number(cells[1].replaceAll(",", "")), p99: cells[2] });
  }
  return rows;
}

/**
 * The bar chart of requests per second per data-plane scenario.
 *
 * @param rows The scenarios.
 * @returns The chart.
 */
export function dataPlaneChart(rows: readonly DataPlaneRow[]): Chart {
  return {
    file: "data-plane.svg",
    title: "Data plane: requests per second by scenario",
    spec: {
      $schema: SCHEMA,
      title: "Requests per second (wrk, 1 KiB bodies, loopback)",
      width: 420,
      height: 200,
      data: { values: rows.map((r) => ({ scenario: r.scenario, rps: r.rps })) },
      mark: "bar",
      encoding: {
        y: { field: "scenario", type: "nominal", sort: "-x", title: null },
        x: { field: "rps", type: "quantitative", title: "requests per second" },
      },
    },
  };
}

function conditionsLine(c: Conditions): string {
  const versions = Object.entries(c.versions).map(([k, v]) => `${k} ${v}`).join(", ");
  return `Measured ${c.date} on ${c.cpu}, ${c.cores} cores shared with other work (load average ${c.load.before} ` +
    `before, ${c.load.after} after); ${versions}.`;
}

const fixed = (x: number | undefined, digits = 1) => x === undefined ? "–" : x.toFixed(digits);

/**
 * The operator section of the report.
 *
 * @param section The samples and their conditions.
 * @param charts Its charts ({@linkcode operatorCharts}).
 * @returns Markdown.
 */
export function operatorMarkdown(section: NonNullable<ScaleSections["operator"]>, charts: readonly Chart[]): string {
  const rows = section.samples.map((s) =>
    s.fits
      ? `| ${s.routes} | ${s.hostnames} | ${fixed(s.coldMs, 0)} | ${fixed(s.regenerate?.create.p50)} / ${
        fixed(s.regenerate?.create.p99)
      } | ${fixed(s.regenerate?.update.p50)} / ${fixed(s.regenerate?.update.p99)} | ${
        fixed(s.regenerate?.delete.p50)
      } / ${fixed(s.regenerate?.delete.p99)} | ${fixed(s.heapBytes! / 2 ** 20)} | ${
        fixed(s.heapPerRoute! / 1024, 2)
      } | ${fixed(s.routingBytes! / 2 ** 20, 2)} | ${s.shards || "whole"} | ${fixed(s.largestStoredBytes! / 1024)} |`
      : `| ${s.routes} | ${s.hostnames} | out of heap under \`${s.v8Flags}\` | | | | | | | | |`
  );
  const flags = [...new Set(section.samples.map((s) => s.v8Flags))].map((f) => `\`${f}\``).join(", ");
  return [
    "## Operator: regeneration and memory",
    "",
    conditionsLine(section.conditions),
    "",
    "One Gateway, one listener, 50 Services; each HTTPRoute one rule (a path prefix and a header match, a header " +
    "filter, one backend) with a status entry as the operator writes it; one hostname per route up to 500, then 500, " +
    "then one per 10 routes (50,000 routes on 5,000 hostnames). Each route count in a process of its own under the " +
    `V8 flags ${flags}, holding what the operator holds: each route as its cache keeps it (the reflector's object, ` +
    "without the spec, and the parsed one), the translation memo with each Gateway's route table, and the last result " +
    "(`operator/scale_bench.ts`). The cold translation is the operator's start; " +
    "each change (20 of each kind) re-translates the Gateway with the memo kept, as the operator does, and includes " +
    "serialising routing.json, its shards, their hashes and their ConfigMap data. The heap is measured after a full " +
    "collection, beyond the same process's heap before the routes existed. The API server's write and the gateway " +
    "pods come on top (see Propagation).",
    "",
    ...charts.map((c) => `![${c.title}](${c.file})`),
    "",
    "| routes | hostnames | cold ms | create p50 / p99 ms | update p50 / p99 ms | delete p50 / p99 ms | heap MiB | KiB per route | routing.json MiB | shards | largest stored KiB |",
    "| -----: | --------: | ------: | ------------------: | ------------------: | ------------------: | -------: | ------------: | ---------------: | -----: | -----------------: |",
    ...rows,
    "",
  ].join("\n");
}

/**
 * The ghost section of the report.
 *
 * @param section ghost's rows and their conditions.
 * @param charts Its charts ({@linkcode ghostCharts}).
 * @returns Markdown.
 */
export function ghostMarkdown(section: NonNullable<ScaleSections["ghost"]>, charts: readonly Chart[]): string {
  const reloadAt = new Map(section.reload.map((r) => [r.routes, r]));
  const routes = [...new Set([...section.match.map((r) => r.routes), ...reloadAt.keys()])].sort((a, b) => a - b);
  const matchAt = new Map(section.match.map((r) => [r.routes, r]));
  const rows = routes.map((n) => {
    const [m, r] = [matchAt.get(n), reloadAt.get(n)];
    return `| ${n} | ${fixed(m?.matchNs)} | ${fixed(m?.loadMs)} / ${fixed(m?.loadMedianMs)} | ${
      r ? `${fixed(r.bestMs, 0)} / ${fixed(r.p50Ms, 0)} / ${fixed(r.p90Ms, 0)} (${r.reloads})` : "–"
    } |`;
  });
  return [
    "## ghost: match cost and reload time",
    "",
    conditionsLine(section.conditions),
    "",
    "Match cost: ns per routing decision in one vhost holding every route (the worst case: ghost first picks the " +
    "vhost by hostname), mixed path prefixes, exact paths, header matches and five regexes, 1,000 requests whose " +
    "decisions are checked inside the timed loop, best of 5 trials (`ghost/core/examples/bench.rs`, release build). " +
    "ghost-core load: reading, parsing, validating and compiling that document from its file, ghost-core's share of " +
    "a reload. Reload in varnishd: the chaperone's whole reload in a real varnishd with the VMOD, one hostname and one " +
    "native backend per route: write ghost.json, the control request, and the first correct answer from the moved " +
    "host (`chaperone/ghost_reload_bench.ts`).",
    "",
    ...charts.map((c) => `![${c.title}](${c.file})`),
    "",
    "| routes | ns per match | ghost-core load ms, best / median | reload in varnishd ms, best / median / p90 (reloads) |",
    "| -----: | -----------: | --------------------------------: | ---------------------------------------------------: |",
    ...rows,
    "",
  ].join("\n");
}

/**
 * The data-plane section: the last `bench:cache` results, quoted with their own conditions, and their chart.
 *
 * @param markdown The contents of `tests/bench/cache_bench_results.md`.
 * @param chart Its chart ({@linkcode dataPlaneChart}).
 * @returns Markdown.
 */
export function dataPlaneMarkdown(markdown: string, chart: Chart): string {
  // its own title goes; its measurement line and everything after it stay
  const body = markdown.replace(/^# .*\n+/, "").trim();
  return [
    "## Data plane: pass, cache hit, nginx, the origin direct",
    "",
    "From `deno task bench:cache` (`tests/bench/cache_bench.ts`; the figures of its last run, " +
    "`tests/bench/cache_bench_results.md`): one varnishd with ghost, an nginx origin, nginx proxying that origin and a " +
    "varnishd with plain VCL, each loaded by wrk in turns.",
    "",
    `![${chart.title}](${chart.file})`,
    "",
    body,
    "",
  ].join("\n");
}

/**
 * The operator's headline figures: regeneration after an update and heap per route at the largest route count
 * that fits, and which sizes ran out of heap.
 *
 * @param samples The operator scale samples.
 * @param conditions Under what conditions they were measured (each line states them: they differ from propagation's).
 * @returns Markdown lines.
 */
export function operatorHeadline(samples: readonly ScaleSample[], conditions: Conditions): string {
  const fitting = samples.filter((s) => s.fits && s.regenerate);
  const lines = [5000, Math.max(...fitting.map((s) => s.routes))].filter((n, i, a) => a.indexOf(n) === i).flatMap(
    (n) => {
      const s = fitting.find((x) => x.routes === n);
      return s
        ? [
          `- operator, one route updated → routing regenerated at ${n} routes: p50 ${
            fixed(s.regenerate!.update.p50)
          } ms, p99 ${fixed(s.regenerate!.update.p99)} ms; heap ${fixed(s.heapPerRoute! / 1024, 1)} KiB per route ` +
          `(${s.shards ? `${s.shards} shards` : "whole"}, largest stored object ${
            fixed(s.largestStoredBytes! / 1024)
          } KiB)`,
        ]
        : [];
    },
  );
  for (const s of samples.filter((x) => !x.fits)) {
    lines.push(`- operator at ${s.routes} routes: out of heap under \`${s.v8Flags}\``);
  }
  const measured = `(measured ${conditions.date}, load average ${conditions.load.before} before, ` +
    `${conditions.load.after} after)`;
  return lines.length ? lines.map((l) => `${l} ${measured}`).join("\n") + "\n" : "";
}
