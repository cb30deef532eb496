/**
 * `deno task bench`: runs the propagation benchmark at each route count (100, 1,000 and 5,000; `LACQUER_BENCH_SIZES`
 * sets them, e.g. `100,1000,5000,20000`; `LACQUER_BENCH_CHANGES` the changes of each kind, 30 by default), each in
 * a test cluster of its own, and writes the report with its charts to `tests/bench/results/`: `README.md` (the
 * conditions, the charts, every figure), one SVG per chart rendered by Vega-Lite, `headline.md`, the figures the
 * repository's README quotes (`deno task bench:figures` copies it there), and `samples.json`, every sample, from
 * which `deno task bench --render` writes the report again without measuring (and `--add` measures the sizes of
 * `LACQUER_BENCH_SIZES` again into it, the others kept).
 *
 * @module
 */
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import {
  type Chart,
  type Conditions,
  headline,
  propagationChart,
  type PropagationSeries,
  reportMarkdown,
} from "./report_render.ts";

const ROOT = new URL("../../", import.meta.url);
const RESULTS = new URL("results/", import.meta.url);

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

/** Runs the propagation bench with `routes` routes and returns its series. */
async function propagation(routes: number, changes: number): Promise<PropagationSeries[]> {
  const file = await Deno.makeTempFile({ prefix: "lacquer-bench-", suffix: ".json" });
  try {
    console.log(`--- propagation, ${routes} routes`);
    const status = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "tests/cluster/run_tests.ts", "chaperone/propagation_bench.ts"],
      cwd: ROOT,
      env: {
        LACQUER_BENCH_ROUTES: String(routes),
        LACQUER_BENCH_CHANGES: String(changes),
        LACQUER_BENCH_JSON: file,
      },
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!status.success) throw new Error(`The propagation bench with ${routes} routes failed (exit ${status.code})`);
    return JSON.parse(await Deno.readTextFile(file));
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
}

async function measure(): Promise<Measured> {
  const sizes = (Deno.env.get("LACQUER_BENCH_SIZES") ?? "100,1000,5000").split(",").map(Number);
  const changes = Number(Deno.env.get("LACQUER_BENCH_CHANGES") ?? 30);
  const before = await load();
  const cpu = /model name\s*:\s*(.*)/.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1] ?? "unknown CPU";
  const series: PropagationSeries[] = [];
  const failed: number[] = [];
  for (const routes of sizes) {
    // one size that fails (a test cluster that does not start on a busy machine) leaves the others measured
    await propagation(routes, changes).then((s) => series.push(...s), (err) => {
      console.error(`${err.message}; the report goes on without it`);
      failed.push(routes);
    });
  }
  if (series.length === 0) throw new Error("No benchmark succeeded");
  const conditions: Conditions = {
    date: `${new Date().toISOString().slice(0, 16)}Z`,
    cpu,
    cores: navigator.hardwareConcurrency,
    load: { before, after: await load() },
    versions: {
      Deno: Deno.version.deno,
      varnishd: /varnish-[\d.]+/.exec(await output("varnishd", ["-V"]))?.[0] ?? "unavailable",
      commit: await output("git", ["-C", ROOT.pathname, "rev-parse", "--short", "HEAD"]),
    },
  };
  return { conditions, series, failed };
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

async function write({ conditions, series, failed }: Measured): Promise<void> {
  const charts = [propagationChart(series)];
  await Deno.mkdir(RESULTS, { recursive: true });
  for (const chart of charts) await Deno.writeTextFile(new URL(chart.file, RESULTS), await renderSvg(chart));
  const note = failed.length ? `\nNot measured (the run failed): ${failed.join(", ")} routes.\n` : "";
  await Deno.writeTextFile(new URL("README.md", RESULTS), reportMarkdown(conditions, series, charts) + note);
  await Deno.writeTextFile(
    new URL("headline.md", RESULTS),
    `# \`deno task bench\`\n\nMeasured ${conditions.date} on ${conditions.cores} cores shared with other work (load ` +
      `average ${conditions.load.after} at the end).\n\n${headline(series)}\nThe whole report, with its charts: ` +
      "[`tests/bench/results/`](tests/bench/results/README.md).\n",
  );
  console.log(`wrote ${RESULTS.pathname}`);
}

if (import.meta.main) {
  // `--render`: the report again from the stored samples, without measuring
  const samples = new URL("samples.json", RESULTS);
  if (Deno.args.includes("--render")) await write(JSON.parse(await Deno.readTextFile(samples)));
  else {
    let measured = await measure();
    // `--add`: these sizes measured again (a run that failed on a busy machine), the stored others kept
    if (Deno.args.includes("--add")) measured = merge(JSON.parse(await Deno.readTextFile(samples)), measured);
    await Deno.mkdir(RESULTS, { recursive: true });
    await Deno.writeTextFile(samples, JSON.stringify(measured) + "\n");
    await write(measured);
  }
}
