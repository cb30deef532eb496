/**
 * `deno task bench:route-change`: what the operator's reconcile costs for ONE HTTPRoute change (create, update,
 * delete) on one Gateway, against the Gateway's route count, without a cluster. The Gateway and routes are
 * `scale_bench.ts`'s (50,000 routes on 5,000 hostnames). For each size (`LACQUER_BENCH_SIZES`, 100, 5,000, 20,000
 * and 50,000 by default) and `LACQUER_BENCH_CHANGES` changes of each kind (30 by default), it times separately:
 *
 * - prepare: the pure part of the reconcile's work before translating, as `gateway_controller.ts` does it: the
 *   route list (the values of the controller's `RouteIndex` of the Gateway's routes), the snapshot's Namespaces of
 *   those routes (which the index keeps), `gatewayDependencies` and `secretNamespaces` (the operator's Secret access);
 * - translate: `translate()` of the Gateway with the operator's memo (it includes the ConfigMap data of the
 *   shards it rendered);
 * - serialise: the ConfigMap data (`routingJsonData`) of the shards whose hash changed, done again, to show what
 *   the change's own shards cost within translate.
 *
 * It prints the run's conditions (`conditionsBlock`) and a Markdown table of p50/p99 per size and kind, with each p50's ratio to the
 * 100-route figure of the same run. `operator/route_change_bench_results.md` keeps the results.
 *
 * @module
 */
import { percentile } from "../tests/bench/percentile.ts";
import { routingJsonData } from "../internal/routing_config_map.ts";
import type { HttpRoute } from "./api_types.ts";
import { gatewayDependencies } from "./dependencies.ts";
import { secretNamespaces } from "./secret_access.ts";
import { baseObjects, hostnamesFor, routeObject } from "./scale_bench.ts";
import { RouteIndex } from "./route_index.ts";
import { parseSnapshot, type Snapshot } from "./snapshot.ts";
import { keyOf } from "./snapshot_index.ts";
import { translate, type TranslateResult } from "./translate.ts";
import { TranslationMemo } from "./translation_memo.ts";

/** The kinds of change measured. */
export const CHANGE_KINDS = ["create", "update", "delete"] as const;

/** p50 and p99 in ms. */
export interface Quantiles {
  /** Median. */
  p50: number;
  /** 99th percentile. */
  p99: number;
}

/** What one size measured, per kind of change. */
export interface RouteChangeSample {
  /** HTTPRoutes on the Gateway. */
  routes: number;
  /** Per kind: prepare, translate and serialise, and the shards a change rewrote (median). */
  kinds: Record<typeof CHANGE_KINDS[number], {
    prepare: Quantiles;
    translate: Quantiles;
    serialise: Quantiles;
    shards: number;
  }>;
}

const stats = (xs: number[]): Quantiles => ({ p50: percentile(xs, 50), p99: percentile(xs, 99) });

/**
 * The shards whose hash is not the last result's.
 *
 * @param last The previous translation.
 * @param next The current one.
 * @returns Their texts.
 */
function changedShards(last: TranslateResult, next: TranslateResult): string[] {
  const before = new Map(last.gateways[0].routingShards?.shards.map((s) => [s.name, s.hash]) ?? []);
  const after = next.gateways[0].routingShards?.shards ?? [];
  if (after.length === 0) return [next.gateways[0].routingJson ?? ""];
  return after.filter((s) => before.get(s.name) !== s.hash).map((s) => s.text);
}

/**
 * Measures one route count: a first translation, then `changes` single-route changes of each kind.
 *
 * @param routes The number of HTTPRoutes.
 * @param changes Changes of each kind.
 * @returns The sample.
 */
export function measureRouteChanges(routes: number, changes: number): RouteChangeSample {
  const hosts = hostnamesFor(routes);
  const memo = new TranslationMemo();
  const options = { now: "2026-01-01T00:00:00Z", defaults: { image: "lacquer:bench" }, gateways: ["bench/gw"], memo };
  const base = parseSnapshot(baseObjects());
  const parse = (i: number, path?: string) => parseSnapshot([routeObject(i, hosts, path)]).httpRoutes[0];
  // the controller's index of the Gateway's routes (`GatewayController`), as its change handler keeps it
  const index = new RouteIndex();
  const put = (route: HttpRoute) => index.put("bench/gw", keyOf(route.metadata.namespace, route.metadata.name), route);
  for (let i = 0; i < routes; i++) put(parse(i));
  let snapshot: Snapshot = base;
  const prepare = () => {
    const list = [...index.routes("bench/gw")!.values()];
    const namespaces = new Set(index.namespaces("bench/gw"));
    snapshot = {
      ...base,
      httpRoutes: list,
      namespaces: base.namespaces.filter((n) => namespaces.has(n.metadata.name)),
    };
    const dependencies = gatewayDependencies(snapshot, "bench/gw");
    // the namespaces whose Secrets the operator must be able to read (with its Secret access on, as the chart sets it)
    return secretNamespaces(snapshot, "bench/gw", { dependencies });
  };
  prepare();
  let last = translate(snapshot, options);
  const times = Object.fromEntries(
    CHANGE_KINDS.map((k) => [k, { prepare: [] as number[], translate: [] as number[], serialise: [] as number[] }]),
  );
  const shards = Object.fromEntries(CHANGE_KINDS.map((k) => [k, [] as number[]]));
  const measure = (kind: typeof CHANGE_KINDS[number]) => {
    const t0 = performance.now();
    prepare();
    const t1 = performance.now();
    const next = translate(snapshot, options);
    const t2 = performance.now();
    const changed = changedShards(last, next);
    for (const text of changed) routingJsonData(text);
    const t3 = performance.now();
    times[kind].prepare.push(t1 - t0);
    times[kind].translate.push(t2 - t1);
    times[kind].serialise.push(t3 - t2);
    shards[kind].push(changed.length);
    last = next;
  };
  for (let c = 0; c < changes; c++) {
    const i = (c * 37) % routes;
    put(parse(i, `/changed${c}`));
    measure("update");
    put(parse(routes + c));
    measure("create");
    index.remove("bench/gw", keyOf("bench", `r${routes + c}`));
    measure("delete");
  }
  const kinds = Object.fromEntries(CHANGE_KINDS.map((k) => [k, {
    prepare: stats(times[k].prepare),
    translate: stats(times[k].translate),
    serialise: stats(times[k].serialise),
    shards: percentile(shards[k], 50),
  }])) as RouteChangeSample["kinds"];
  return { routes, kinds };
}

/** The load average (1, 5 and 15 minutes) as the conditions block prints it. */
const loadAverage = (load: readonly number[]) => load.map((x) => x.toFixed(2)).join(" ");

/**
 * The conditions of a run for the record, as a Markdown list: CPU model and cores, Deno and V8, the checkout's
 * commit, the V8 flags the bench ran with, and the load average (which counts the machine's other work) at the start
 * and at the end.
 *
 * @param facts The facts.
 * @param facts.cpu The CPU model.
 * @param facts.cores Its cores.
 * @param facts.commit The checkout's short commit.
 * @param facts.dirty Whether tracked files differ from it.
 * @param facts.v8Flags The V8 flags of the run, empty for Deno's defaults.
 * @param facts.loadStart The load average at the start.
 * @param facts.loadEnd The load average at the end.
 * @returns The block's lines.
 */
export function conditionsBlock(facts: {
  cpu: string;
  cores: number;
  commit: string;
  dirty: boolean;
  v8Flags: string;
  loadStart: readonly number[];
  loadEnd: readonly number[];
}): string[] {
  return [
    "Conditions:",
    "",
    `- CPU: ${facts.cpu}, ${facts.cores} cores`,
    `- Deno ${Deno.version.deno} (V8 ${Deno.version.v8}); commit ${facts.commit}${
      facts.dirty ? " with uncommitted changes" : ""
    }`,
    `- V8 flags: ${facts.v8Flags || "Deno's defaults"}`,
    `- load average (1, 5, 15 min): ${loadAverage(facts.loadStart)} at the start, ${
      loadAverage(facts.loadEnd)
    } at the end`,
  ];
}

/**
 * The machine's facts that do not change during a run: CPU model, cores and the checkout's commit.
 *
 * @returns The facts.
 */
export async function machineFacts(): Promise<{ cpu: string; cores: number; commit: string; dirty: boolean }> {
  const read = async (path: string) => await Deno.readTextFile(path).catch(() => "");
  const cpu = (await read("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown";
  const commit = await new Deno.Command("git", { args: ["rev-parse", "--short", "HEAD"], stdout: "piped" }).output()
    .then((out) => new TextDecoder().decode(out.stdout).trim(), () => "unknown");
  const dirty = await new Deno.Command("git", { args: ["status", "--porcelain", "--untracked-files=no"] }).output()
    .then((out) => new TextDecoder().decode(out.stdout).trim() !== "", () => false);
  return { cpu, cores: navigator.hardwareConcurrency, commit, dirty };
}

/**
 * The `--v8-flags` this process was started with (read from its command line: V8 does not tell them), empty when none.
 *
 * @returns The flags.
 */
async function runV8Flags(): Promise<string> {
  const cmdline = await Deno.readTextFile("/proc/self/cmdline").catch(() => "");
  return cmdline.split("\0").filter((a) => a.startsWith("--v8-flags=")).map((a) => a.slice(11)).join(",");
}

/**
 * The results as a Markdown table, each p50 with its ratio to the first size's.
 *
 * @param samples The sizes measured, smallest first.
 * @returns The table's lines.
 */
export function resultTable(samples: readonly RouteChangeSample[]): string[] {
  const ms = (x: number) => x.toFixed(2);
  const ratio = (x: number, base: number) => base > 0 ? `${(x / base).toFixed(1)}x` : "-";
  const first = samples[0];
  const lines = [
    "| routes | change | prepare p50 (ratio) | prepare p99 | translate p50 (ratio) | translate p99 (ratio) | serialise p50 | serialise p99 | shards written |",
    "| -----: | ------ | ------------------: | ----------: | --------------------: | --------------------: | ------------: | ------------: | -------------: |",
  ];
  for (const s of samples) {
    for (const kind of CHANGE_KINDS) {
      const k = s.kinds[kind];
      const b = first.kinds[kind];
      lines.push(
        `| ${s.routes} | ${kind} | ${ms(k.prepare.p50)} (${ratio(k.prepare.p50, b.prepare.p50)}) | ${
          ms(k.prepare.p99)
        } | ${ms(k.translate.p50)} (${ratio(k.translate.p50, b.translate.p50)}) | ${ms(k.translate.p99)} (${
          ratio(k.translate.p99, b.translate.p99)
        }) | ${ms(k.serialise.p50)} | ${ms(k.serialise.p99)} | ${k.shards} |`,
      );
    }
  }
  return lines;
}

if (import.meta.main) {
  const sizes = (Deno.env.get("LACQUER_BENCH_SIZES") ?? "100,5000,20000,50000").split(",").map(Number);
  const changes = Number(Deno.env.get("LACQUER_BENCH_CHANGES") ?? 30);
  const facts = await machineFacts();
  const loadStart = Deno.loadavg();
  const samples = sizes.map((routes) => measureRouteChanges(routes, changes));
  const loadEnd = Deno.loadavg();
  const v8Flags = await runV8Flags();
  console.log(
    [
      ...conditionsBlock({ ...facts, v8Flags, loadStart, loadEnd }),
      "",
      `${changes} changes of each kind per size, times in ms; ratios against ${sizes[0]} routes.`,
      "",
      ...resultTable(samples),
    ].join("\n"),
  );
}
