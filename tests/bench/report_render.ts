/**
 * The pure half of `deno task bench`'s report: measured samples → the Vega-Lite specification of each chart, the
 * Markdown report and its headline. `report.ts` runs the benchmarks and renders the charts to SVG.
 *
 * @module
 */
import { percentile } from "./percentile.ts";
import { PART_NAMES, STAGE_NAMES } from "../e2e/propagation_stages.ts";

/** The samples of one kind of change at one route count (`tests/e2e/route_propagation_bench.ts`). */
export interface PropagationSeries {
  /** What changed: `HTTPRoute create`, `HTTPRoute update`, `HTTPRoute delete` or `EndpointSlice`. */
  change: string;
  /** Routes on the Gateway. */
  routes: number;
  /** Shards routing.json was stored in (0: whole). */
  shards: number;
  /** Gateway pods, each of which had to answer correctly. */
  pods?: number;
  /** Milliseconds from the start of the write to the first correct response, one per change. */
  total: number[];
  /** The same from the API server's answer to the write. */
  afterWrite: number[];
  /**
   * From the start of the write until the request that got the first correct response of every pod was sent (the
   * latest of the pods): the change was in effect by then. `total` adds that request's round trip, an upstream's
   * answer included. Absent from samples taken before it was measured.
   */
  inEffect?: number[];
  /** Where each change's time went (`tests/e2e/propagation_stages.ts`), one per change. */
  stages?: Partial<Record<string, number>>[];
  /** What "traffic" meant: the first correct response of every gateway pod. */
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

/** The kinds of change that go through the operator (an HTTPRoute written). */
const ROUTE_CHANGES = ["HTTPRoute create", "HTTPRoute update", "HTTPRoute delete"];

/** The stages of a change's path, in order, and parts of them. */
const [STAGES, PARTS]: readonly string[][] = [[...STAGE_NAMES], [...PART_NAMES]];

/** The median of a stage over a series' changes, or undefined when no change has it. */
function stageMedian(s: PropagationSeries, stage: string): number | undefined {
  const values = (s.stages ?? []).map((x) => x[stage]).filter((v) => v !== undefined);
  return values.length ? ms(values, 50) : undefined;
}

/** Every route change at one route count, pooled (create, update and delete). */
function routeChanges(
  series: readonly PropagationSeries[],
  routes: number,
  samples: (s: PropagationSeries) => readonly number[] = (s) => s.total,
): number[] {
  return series.filter((s) => s.routes === routes && ROUTE_CHANGES.includes(s.change)).flatMap(samples);
}

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
    title: "Change → first correct response of every gateway pod (ms) against routes on the Gateway",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: "Change → first correct response of every gateway pod, p50 and p99",
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
 * The chart of where a change's time goes: the median of each stage, stacked, per kind of change and route count.
 *
 * @param series The measured series.
 * @returns The chart.
 */
export function stagesChart(series: readonly PropagationSeries[]): Chart {
  const values = series.flatMap((s) =>
    STAGES.flatMap((stage, order) => {
      const value = stageMedian(s, stage);
      return value === undefined ? [] : [{ change: s.change, routes: String(s.routes), stage, order, ms: value }];
    })
  );
  return {
    file: "propagation-stages.svg",
    title: "Median time of each stage of a change (ms), per kind of change and route count",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: "Where a change's time goes (medians of each stage)",
      data: { values },
      mark: "bar",
      facet: { field: "change", type: "nominal", title: null },
      columns: 2,
      spec: {
        width: 240,
        height: 160,
        mark: "bar",
        encoding: {
          x: { field: "routes", type: "ordinal", sort: null, title: "routes on the Gateway" },
          y: { field: "ms", type: "quantitative", stack: "zero", title: "milliseconds" },
          color: { field: "stage", type: "nominal", sort: STAGES, title: "stage" },
          order: { field: "order", type: "quantitative" },
        },
      },
    },
  };
}

/**
 * The headline figures: p50/p99 of each kind of change at the largest route count measured, and the issue's goals:
 * route changes p99 ≤ 50 ms (stretch 30) at 5,000 routes, their p99 growing at most 2× from the smallest to the
 * largest route count, EndpointSlice changes p99 ≤ 30 ms at the largest.
 *
 * @param series The measured series.
 * @returns Markdown lines.
 */
export function headline(series: readonly PropagationSeries[]): string {
  const counts = [...new Set(series.map((s) => s.routes))].sort((a, b) => a - b);
  const [smallest, largest] = [counts[0], counts.at(-1)!];
  const lines = series.filter((s) => s.routes === largest).map((s) =>
    `- ${s.change} → every gateway pod at ${largest} routes${s.shards ? ` (${s.shards} shards)` : ""}: p50 ${
      ms(s.total, 50)
    } ms, p99 ${ms(s.total, 99)} ms (${s.total.length} changes)`
  );
  const met = (ok: boolean) => ok ? "met" : "not met";
  const at5k = routeChanges(series, 5000);
  if (at5k.length) {
    const p99 = ms(at5k, 99);
    const effect = routeChanges(series, 5000, (s) => s.inEffect ?? []);
    const inEffect = effect.length ? `; in effect at every pod: p99 ${ms(effect, 99)} ms` : "";
    lines.push(
      `- goal, an HTTPRoute change → traffic in at most 50 ms (p99; stretch 30 ms) at 5000 routes: ${met(p99 <= 50)}${
        p99 <= 30 ? ", stretch met" : ""
      } (${p99} ms over ${at5k.length} creations, updates and deletions${inEffect})`,
    );
  }
  if (largest > smallest && routeChanges(series, smallest).length && routeChanges(series, largest).length) {
    const ratio = ms(routeChanges(series, largest), 99) / ms(routeChanges(series, smallest), 99);
    lines.push(
      `- goal, HTTPRoute change p99 at most 2× from ${smallest} to ${largest} routes: ${met(ratio <= 2)} (${
        ratio.toFixed(2)
      }×)`,
    );
  }
  const endpoints = series.find((s) => s.routes === largest && s.change === "EndpointSlice");
  if (endpoints) {
    const p99 = ms(endpoints.total, 99);
    lines.push(
      `- goal, an EndpointSlice change → traffic in at most 30 ms (p99) at ${largest} routes: ${
        met(p99 <= 30)
      } (${p99} ms)`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * The Markdown report's propagation section: conditions, the charts, every figure and the median stages.
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
  const sorted = [...series].sort((a, b) => a.routes - b.routes || a.change.localeCompare(b.change));
  const effect = (s: PropagationSeries, p: number) => s.inEffect?.length ? ms(s.inEffect, p) : "–";
  const rows = sorted.map((s) =>
    `| ${s.routes} | ${s.change} | ${s.shards || "–"} | ${s.total.length} | ${ms(s.total, 50)} | ${ms(s.total, 99)} | ${
      ms(s.afterWrite, 50)
    } | ${ms(s.afterWrite, 99)} | ${effect(s, 50)} | ${effect(s, 99)} |`
  );
  const stageRows = sorted.map((s) =>
    `| ${s.routes} | ${s.change} | ${[...STAGES, ...PARTS].map((stage) => stageMedian(s, stage) ?? "–").join(" | ")} |`
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
    "From the write of a change to the API server until the " + until + " (`tests/e2e/route_propagation_bench.ts`, " +
    "`deno task bench:e2e`): the operator of this checkout runs as a process against the test cluster's API server; " +
    "the gateway pods run the gateway image (chaperone, varnishd, ghost) on the cluster's node, and each is asked " +
    "directly, in a loop, until it answers as the change says. One Gateway grows through the route counts (one " +
    "hostname per route; the bench waits after each growth until the operator is quiet), and at each count the kinds " +
    "of change take turns, so that they meet the same conditions: an HTTPRoute created on a new hostname (until " +
    "both pods answer from its app), one updated to the other app, the created one deleted (until both answer 404), " +
    "and the endpoint of a Service without selector moved to another pod. Compare kinds at one route count rather " +
    'than one route count with another: the machine is shared. "In effect" stops at the sending of the request ' +
    "that got each pod's first correct response rather than at its answer: the change was in effect by then, and " +
    "the answer's round trip (the app's answer, on a machine whose cores the API server, the operator and the pods " +
    "share) is left out.",
    "",
    ...charts.map((c) => `![${c.title}](${c.file})`),
    "",
    "| routes | change | shards | changes | p50 ms | p99 ms | p50 ms after the write | p99 ms after the write | " +
    "p50 ms in effect | p99 ms in effect |",
    "| -----: | ------ | -----: | ------: | -----: | -----: | ---------------------: | ---------------------: | " +
    "---------------: | ---------------: |",
    ...rows,
    "",
    "Where the time goes: the median of each stage in ms, at the pod that answered last (from the operator's and the " +
    "chaperones' logs, `tests/e2e/propagation_stages.ts`): `api` the write until the API server's answer, " +
    "`operator` that answer until the operator pushed the new generation to the pods (or, not pushed, wrote the " +
    "Gateway's ConfigMap), `watch` until the chaperone took the push (or its watch event), `wait` until its sync " +
    "starts, `read` the ConfigMap and the shards it " +
    "names (fetched and parsed), `build` ghost.json's changed vhosts, `write` the delta file, `ghost` the reload " +
    "request, `other` the rest of the sync, `response` from the sync's end to the first correct response the bench " +
    "saw (its polling included); then parts of those: `queued` the operator's answer until the reconcile that " +
    "pushed or wrote it started (watch event, queue, a reconcile before it), `prepare` its work before translating " +
    "(references, Secret access), `translate` its translation, `apply` the round trip of the Gateway's ConfigMap " +
    "write, `fetch` the shards read of the API server (their parses included), `parse` those parses, `ghost own` " +
    "ghost's own time in its reload, `answer` the round trip of the request that got the first correct response.",
    "",
    `| routes | change | ${[...STAGES, ...PARTS].map((name) => name.replace("ghostOwn", "ghost own")).join(" | ")} |`,
    `| -----: | ------ |${[...STAGES, ...PARTS].map(() => " -: |").join("")}`,
    ...stageRows,
    "",
  ].join("\n");
}
