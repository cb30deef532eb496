/**
 * The pure half of `deno task bench`'s report: measured samples → the Vega-Lite specification of each chart, the
 * Markdown report and its headline. `report.ts` runs the benchmarks and renders the charts to SVG.
 *
 * @module
 */
import { percentile } from "./percentile.ts";

/** The samples of one kind of change at one route count (`chaperone/propagation_bench.ts`). */
export interface PropagationSeries {
  /** What changed: `routing.json in shards`, `routing.json whole` or `EndpointSlice`. */
  change: string;
  /** Routes configured. */
  routes: number;
  /** Shards routing.json was stored in, for the change `routing.json in shards` (0 for the others). */
  shards: number;
  /** Milliseconds from the start of the write to the first correct response, one per change. */
  total: number[];
  /** The same from the API server's answer to the write. */
  afterWrite: number[];
  /** What "traffic" meant: the first correct response, or less when the ghost VMOD was not built. */
  until: string;
}

/** Under what conditions the figures were measured. */
export interface Conditions {
  /** When (ISO 8601, minutes). */
  date: string;
  /** The CPU model. */
  cpu: string;
  /** Cores available. */
  cores: number;
  /** The load averages before and after the run. */
  load: { before: string; after: string };
  /** Versions of what took part (Deno, varnishd, Kubernetes, the commit). */
  versions: Record<string, string>;
}

/** One chart of the report: its file name (beside the report) and its Vega-Lite specification. */
export interface Chart {
  /** File name of the SVG. */
  file: string;
  /** Title (alt text in the report). */
  title: string;
  /** The Vega-Lite specification. */
  spec: Record<string, unknown>;
}

const ms = (values: number[], p: number) => Math.round(percentile(values, p) * 10) / 10;

/** Whether a series is of routing.json stored in shards (its shard count applies to it alone). */
const sharded = (s: PropagationSeries) => s.change === "routing.json in shards" && s.shards > 0;

/**
 * The chart of propagation p50 and p99 against the number of routes, one line per kind of change and percentile.
 *
 * @example Usage
 * ```ts
 * import { propagationChart } from "./report_render.ts";
 * const chart = propagationChart([{ change: "EndpointSlice", routes: 100, shards: 0, total: [5], afterWrite: [4], until: "" }]);
 * chart.file; // "propagation.svg"
 * ```
 *
 * @param series The measured series.
 * @returns The chart.
 */
export function propagationChart(series: readonly PropagationSeries[]): Chart {
  const values = series.flatMap((s) =>
    [50, 99].map((p) => ({ change: s.change, routes: s.routes, percentile: `p${p}`, ms: ms(s.total, p) }))
  );
  return {
    file: "propagation.svg",
    title: "Change → first correct response (ms) against routes on the Gateway",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: "Change → first correct response, p50 and p99",
      width: 520,
      height: 300,
      data: { values },
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "routes", type: "quantitative", scale: { type: "log" }, title: "routes on the Gateway" },
        y: { field: "ms", type: "quantitative", scale: { type: "log" }, title: "milliseconds (log scale)" },
        color: { field: "change", type: "nominal", title: "change" },
        strokeDash: { field: "percentile", type: "nominal", title: "percentile" },
      },
    },
  };
}

/**
 * The headline figures: p50/p99 of each kind of change at the largest route count measured.
 *
 * @param series The measured series.
 * @returns Markdown lines.
 */
export function headline(series: readonly PropagationSeries[]): string {
  const largest = Math.max(...series.map((s) => s.routes));
  const lines = series.filter((s) => s.routes === largest).map((s) =>
    `- ${s.change}${sharded(s) ? ` (${s.shards} shards)` : ""} → traffic at ${largest} routes: p50 ${
      ms(s.total, 50)
    } ms, p99 ${ms(s.total, 99)} ms (${s.total.length} changes)`
  );
  // the goal: a route change live in under 50 ms (p99) at 5,000 routes, stored as the operator stores it
  const goal = series.find((s) => s.routes === 5000 && sharded(s));
  if (goal) {
    const p99 = ms(goal.total, 99);
    lines.push(
      `- goal, a routing.json change → traffic in at most 50 ms (p99) at 5000 routes: ${
        p99 <= 50 ? "met" : "not met"
      } (${p99} ms)`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * The Markdown report: conditions, the charts, and every figure in a table.
 *
 * @param conditions Under what conditions.
 * @param series The measured series.
 * @param charts The charts (their SVG files lie beside the report).
 * @returns The report's text.
 */
export function reportMarkdown(
  conditions: Conditions,
  series: readonly PropagationSeries[],
  charts: readonly Chart[],
): string {
  const versions = Object.entries(conditions.versions).map(([k, v]) => `${k} ${v}`).join(", ");
  const rows = [...series].sort((a, b) => a.routes - b.routes || a.change.localeCompare(b.change)).map((s) =>
    `| ${s.routes} | ${s.change} | ${sharded(s) ? s.shards : "–"} | ${s.total.length} | ${ms(s.total, 50)} | ${
      ms(s.total, 99)
    } | ${ms(s.afterWrite, 50)} | ${ms(s.afterWrite, 99)} |`
  );
  const until = [...new Set(series.map((s) => s.until))].join("; ");
  return [
    "# `deno task bench`",
    "",
    `Measured ${conditions.date} on ${conditions.cpu}, ${conditions.cores} cores shared with other work (load average ` +
    `${conditions.load.before} before, ${conditions.load.after} after); ${versions}.`,
    "",
    "## Propagation",
    "",
    "From the write of a change to the API server until the first correct response through a real chaperone and " +
    `varnishd with the ghost VMOD (${until}), one Gateway with one route per hostname: a routing.json change stored ` +
    "in shards (one shard and the manifest written) and stored whole (one ConfigMap, gzip beyond 32 KiB) by turns, " +
    "so that both meet the same load, then EndpointSlice changes (`chaperone/propagation_bench.ts`). Each route " +
    "count runs in a test cluster of its own, one after the other, on a machine other work shares: compare the " +
    "kinds of change at one route count (measured by turns) rather than one route count with another. A route's " +
    "creation or deletion reaches the gateway pods as the same write as an update (its hostname's shard and the " +
    "manifest); the operator's share of each kind, from the HTTPRoute to the ConfigMaps, is in the operator section.",
    "",
    ...charts.map((c) => `![${c.title}](${c.file})`),
    "",
    "| routes | change | shards | changes | p50 ms | p99 ms | p50 ms after the write | p99 ms after the write |",
    "| -----: | ------ | -----: | ------: | -----: | -----: | ---------------------: | ---------------------: |",
    ...rows,
    "",
  ].join("\n");
}
