/**
 * `deno task bench`: every benchmark of the report, then the report with its charts in `tests/bench/results/`:
 *
 * - propagation end to end (`tests/e2e/route_propagation_bench.ts`, `deno task bench:e2e`): HTTPRoute creations,
 *   updates and deletions through the operator and EndpointSlice changes, each until every gateway pod answers
 *   correctly, as one Gateway grows through the route counts of `LACQUER_BENCH_SIZES` (100, 1,000 and 5,000 by
 *   default; e.g. `100,1000,5000,20000,50000`), `LACQUER_BENCH_CHANGES` changes of each kind (60 by default) at each,
 *   in one test cluster;
 * - the operator's regeneration time and memory (`operator/scale_bench.ts`, `LACQUER_BENCH_OPERATOR_SIZES`,
 *   100 to 50,000 routes by default, under the shipped V8 flags or `LACQUER_OPERATOR_V8_FLAGS`);
 * - ghost's match cost and load time (`bench:ghost` at `LACQUER_BENCH_GHOST_SIZES`) and its whole reload in
 *   varnishd (`bench:ghost-reload` at `LACQUER_BENCH_RELOAD_SIZES`, 100 to 20,000 routes by default);
 * - the data-plane comparison (`bench:cache`, into `tests/bench/cache_bench_results.md`).
 *
 * `LACQUER_BENCH_PARTS` (`propagation,operator,ghost,cache`) picks the parts to measure; the others keep their
 * stored samples. It writes `README.md` (the conditions of each part, the charts, every figure), one SVG per chart
 * rendered by Vega-Lite, `headline.md`, the figures the repository's README quotes (`deno task bench:figures` copies
 * it there), and `samples.json`, every sample, from which `deno task bench --render` writes the report again without
 * measuring (and `--add` measures the propagation sizes of `LACQUER_BENCH_SIZES` again into it, the others kept).
 *
 * @module
 */
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { scaleSample } from "../../operator/scale_bench.ts";
import { operatorV8Flags } from "../stack/shipped_v8_flags.ts";
import {
  type Chart,
  type Conditions,
  headline,
  propagationChart,
  type PropagationSeries,
  reportMarkdown,
  stagesChart,
} from "./report_render.ts";
import {
  dataPlaneChart,
  dataPlaneMarkdown,
  dataPlaneRows,
  ghostCharts,
  ghostMarkdown,
  type GhostRow,
  operatorCharts,
  operatorHeadline,
  operatorMarkdown,
  type ReloadRow,
  type ScaleSections,
} from "./scale_render.ts";

const ROOT = new URL("../../", import.meta.url);
const RESULTS = new URL("results/", import.meta.url);
const CACHE_RESULTS = new URL("cache_bench_results.md", import.meta.url);

/**
 * Renders a Vega-Lite chart to SVG text, on the server (no browser, no canvas).
 *
 * @param chart The chart.
 * @returns The SVG text.
 */
export async function renderSvg(chart: Chart): Promise<string> {
  const compiled = vegaLite.compile(chart.spec as unknown as vegaLite.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

async function output(command: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
    // varnishd -V prints on stderr
    const text = new TextDecoder().decode(out.stdout).trim() || new TextDecoder().decode(out.stderr).trim();
    return out.success ? text : "unavailable";
  } catch {
    return "unavailable";
  }
}

async function load(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
}

/**
 * Runs the end-to-end propagation bench through the route counts `sizes` and returns its series: those of the route
 * counts measured before it failed, if it did.
 */
async function propagation(sizes: number[], changes: number): Promise<PropagationSeries[]> {
  const file = await Deno.makeTempFile({ prefix: "lacquer-bench-", suffix: ".json" });
  try {
    console.log(`--- propagation end to end, ${sizes.join(", ")} routes`);
    const status = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "tests/cluster/run_tests.ts", "tests/e2e/route_propagation_bench.ts"],
      cwd: ROOT,
      env: { LACQUER_BENCH_SIZES: sizes.join(","), LACQUER_BENCH_CHANGES: String(changes), LACQUER_BENCH_JSON: file },
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    const series: PropagationSeries[] = JSON.parse((await Deno.readTextFile(file)) || "[]");
    if (!status.success) {
      console.error(`The propagation bench failed (exit ${status.code}); the report goes on without it`);
    }
    return series;
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** What one run measured, stored as `results/samples.json` so that the report can be rendered again from it. */
interface Measured {
  conditions: Conditions;
  series: PropagationSeries[];
  /** Route counts whose run failed. */
  failed: number[];
  /** The other parts, each with its own conditions. */
  sections?: ScaleSections;
}

/** The conditions of a part measured from `before` (the load average then) until now. */
async function conditionsSince(before: string): Promise<Conditions> {
  return {
    date: `${new Date().toISOString().slice(0, 16)}Z`,
    cpu: /model name\s*:\s*(.*)/.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1] ?? "unknown CPU",
    cores: navigator.hardwareConcurrency,
    load: { before, after: await load() },
    versions: {
      Deno: Deno.version.deno,
      varnishd: /varnish-[\d.]+/.exec(await output("varnishd", ["-V"]))?.[0] ?? "unavailable",
      commit: await output("git", ["-C", ROOT.pathname, "rev-parse", "--short", "HEAD"]),
    },
  };
}

const sizesOf = (name: string, fallback: string) => (Deno.env.get(name) ?? fallback).split(",").map(Number);

async function measurePropagation(): Promise<Measured> {
  const sizes = sizesOf("LACQUER_BENCH_SIZES", "100,1000,5000");
  const changes = Number(Deno.env.get("LACQUER_BENCH_CHANGES") ?? 60);
  const before = await load();
  // a route count that fails (a test cluster that does not start on a busy machine) leaves the earlier ones measured
  const series = await propagation(sizes, changes);
  const failed = sizes.filter((routes) => !series.some((s) => s.routes === routes));
  if (series.length === 0) throw new Error("No benchmark succeeded");
  return { conditions: await conditionsSince(before), series, failed };
}

/** `operator/scale_bench.ts` at each size of `LACQUER_BENCH_OPERATOR_SIZES`, under the operator's shipped flags. */
async function measureOperator(): Promise<NonNullable<ScaleSections["operator"]>> {
  const before = await load();
  const flags = operatorV8Flags();
  const samples = [];
  for (const routes of sizesOf("LACQUER_BENCH_OPERATOR_SIZES", "100,1000,5000,20000,50000")) {
    console.log(`--- operator scale, ${routes} routes`);
    samples.push(await scaleSample(routes, flags));
  }
  return { conditions: await conditionsSince(before), samples };
}

/** `bench:ghost` at each size of `LACQUER_BENCH_GHOST_SIZES`, and `bench:ghost-reload` at `..._RELOAD_SIZES`. */
async function measureGhost(): Promise<NonNullable<ScaleSections["ghost"]>> {
  const before = await load();
  const sizes = Deno.env.get("LACQUER_BENCH_GHOST_SIZES") ?? "100,1000,5000,20000,50000";
  console.log("--- ghost match and load");
  const bench = await new Deno.Command("bash", {
    args: ["ghost/scripts/cargo.sh", "run", "--release", "--quiet", "-p", "ghost-core", "--example", "bench"],
    cwd: ROOT,
    env: { GHOST_BENCH_SIZES: sizes },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(bench.stdout);
  console.log(text);
  if (!bench.success) throw new Error("bench:ghost failed");
  const match: GhostRow[] = JSON.parse(text.trim().split("\n").pop()!);
  const reload: ReloadRow[] = [];
  for (const routes of sizesOf("LACQUER_BENCH_RELOAD_SIZES", "100,1000,5000,20000")) {
    console.log(`--- ghost reload in varnishd, ${routes} routes`);
    const file = await Deno.makeTempFile({ prefix: "lacquer-bench-", suffix: ".json" });
    try {
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["test", "--allow-all", "chaperone/ghost_reload_bench.ts"],
        cwd: ROOT,
        env: { LACQUER_BENCH_ROUTES: String(routes), LACQUER_BENCH_RELOADS: "11", LACQUER_BENCH_JSON: file },
        stdout: "inherit",
        stderr: "inherit",
      }).output();
      const figures = await Deno.readTextFile(file);
      if (run.success && figures) reload.push(JSON.parse(figures));
      else console.error(`the reload bench with ${routes} routes failed; the report goes on without it`);
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  }
  return { conditions: await conditionsSince(before), match, reload };
}

/** `bench:cache`, which writes `tests/bench/cache_bench_results.md` (the report quotes that file). */
async function measureCache(): Promise<void> {
  console.log("--- data plane (bench:cache)");
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "tests/bench/cache_bench.ts", "--out", CACHE_RESULTS.pathname],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!run.success) throw new Error("bench:cache failed");
}

/** The stored samples with those of a later run of some sizes in place of theirs. */
function merge(stored: Measured, later: Measured): Measured {
  const sizes = new Set(later.series.map((s) => s.routes));
  return {
    conditions: {
      ...later.conditions,
      date: `${stored.conditions.date} and ${later.conditions.date}`,
      load: { before: stored.conditions.load.before, after: later.conditions.load.after },
    },
    series: [...stored.series.filter((s) => !sizes.has(s.routes)), ...later.series],
    failed: [...new Set([...stored.failed, ...later.failed])].filter((n) => !sizes.has(n)),
  };
}

async function write({ conditions, series, failed, sections = {} }: Measured): Promise<void> {
  const propagationCharts = [propagationChart(series), ...series.some((s) => s.stages) ? [stagesChart(series)] : []];
  const operator = sections.operator && operatorCharts(sections.operator.samples);
  const ghost = sections.ghost && ghostCharts(sections.ghost.match, sections.ghost.reload);
  const cacheResults = await Deno.readTextFile(CACHE_RESULTS).catch(() => undefined);
  const dataPlane = cacheResults && dataPlaneChart(dataPlaneRows(cacheResults));
  await Deno.mkdir(RESULTS, { recursive: true });
  for (const chart of [...propagationCharts, ...operator ?? [], ...ghost ?? [], ...dataPlane ? [dataPlane] : []]) {
    await Deno.writeTextFile(new URL(chart.file, RESULTS), await renderSvg(chart));
  }
  const note = failed.length ? `\nNot measured (the run failed): ${failed.join(", ")} routes.\n` : "";
  const report = [
    reportMarkdown(conditions, series, propagationCharts) + note,
    ...sections.operator && operator ? [operatorMarkdown(sections.operator, operator)] : [],
    ...sections.ghost && ghost ? [ghostMarkdown(sections.ghost, ghost)] : [],
    ...cacheResults && dataPlane ? [dataPlaneMarkdown(cacheResults, dataPlane)] : [],
  ];
  await Deno.writeTextFile(new URL("README.md", RESULTS), report.join("\n"));
  await Deno.writeTextFile(
    new URL("headline.md", RESULTS),
    `# \`deno task bench\`\n\nMeasured ${conditions.date} on ${conditions.cores} cores shared with other work (load ` +
      `average ${conditions.load.after} at the end).\n\n${headline(series)}${
        sections.operator ? operatorHeadline(sections.operator.samples, sections.operator.conditions) : ""
      }\nThe whole report, with its charts: [\`tests/bench/results/\`](tests/bench/results/README.md).\n`,
  );
  console.log(`wrote ${RESULTS.pathname}`);
}

if (import.meta.main) {
  // `--render`: the report again from the stored samples, without measuring
  const samples = new URL("samples.json", RESULTS);
  const stored: Measured | undefined = await Deno.readTextFile(samples).then(JSON.parse, () => undefined);
  if (Deno.args.includes("--render")) await write(stored!);
  else {
    // `LACQUER_BENCH_PARTS`: which parts to measure; the others keep their stored samples
    const parts = new Set((Deno.env.get("LACQUER_BENCH_PARTS") ?? "propagation,operator,ghost,cache").split(","));
    let measured = parts.has("propagation") ? await measurePropagation() : stored!;
    // `--add`: these sizes measured again (a run that failed on a busy machine), the stored others kept
    if (parts.has("propagation") && Deno.args.includes("--add")) measured = merge(stored!, measured);
    const sections: ScaleSections = { ...stored?.sections };
    if (parts.has("operator")) sections.operator = await measureOperator();
    if (parts.has("ghost")) sections.ghost = await measureGhost();
    if (parts.has("cache")) await measureCache();
    measured = { ...measured, sections };
    await Deno.mkdir(RESULTS, { recursive: true });
    await Deno.writeTextFile(samples, JSON.stringify(measured) + "\n");
    await write(measured);
  }
}
