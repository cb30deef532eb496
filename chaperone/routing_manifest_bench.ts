/**
 * `deno task bench:manifest`: routing-shards.json, version 1 (what an operator of before writes) against version 2
 * (what the operator writes), for one generation of 5,000, 20,000, 50,000 and 100,000 routes (`SIZES`; one hostname
 * and route each, sharded as the operator shards them: 100,000 of these small routes make the 1,024 shards of the
 * operator's 50,000 routes in `scale_bench.ts`): the manifest's bytes (every route change rewrites it, every pod
 * reads it), the chaperone's parse of it (`parseRoutingManifest`), and its read of a one-route change
 * (`ShardedRoutingReader`: the manifest parsed and compared, one shard parsed, the generation checked). Both versions
 * in one process, so they share the machine's load. Prints the table and stores it in
 * `routing_manifest_bench_results.md`.
 *
 * @module
 */
import { parseRoutingManifest, shardRouting } from "../ghost/contract/mod.ts";
import { manyHostsRouting } from "../ghost/contract/_test_many_hosts.ts";
import { benchResultsHeading } from "../tests/bench/results_heading.ts";
import { percentile } from "../tests/bench/percentile.ts";
import { ShardedRoutingReader } from "./routing_shards_reader.ts";

const SIZES = (Deno.env.get("SIZES") ?? "5000,20000,50000,100000").split(",").map(Number);
/** Timed runs of each measure (after as many to warm up). */
const RUNS = 300;
const RESULTS = new URL("routing_manifest_bench_results.md", import.meta.url);

/** A manifest of either version naming the same shards. */
interface Generation {
  manifest: string;
  texts: Map<string, string>;
}

/**
 * The generation of `routes` routes, the one of a change of one route after it, in versions 1 and 2.
 *
 * @returns The number of shards, and `[before, after]` of each version.
 */
function generations(routes: number): { shards: number; v1: Generation[]; v2: Generation[] } {
  const v1: Generation[] = [];
  const v2: Generation[] = [];
  let shards = 0;
  for (const moved of [-1, 7]) {
    const doc = manyHostsRouting(routes, (i) => i === moved ? "moved" : `s${i}`);
    const bytes = new TextEncoder().encode(JSON.stringify(doc)).length;
    const stored = shardRouting(doc, { bytes, prefix: "gw-lacquer-r" })!;
    const texts = new Map(stored.shards.map((s) => [s.name, s.text]));
    shards = stored.shards.length;
    v2.push({ manifest: stored.manifest, texts });
    // what the operator of before wrote for the same shards
    const named = stored.shards.map(({ name, hash }) => ({ name, hash }));
    v1.push({ manifest: JSON.stringify({ version: 1, shards: named }) + "\n", texts });
  }
  return { shards, v1, v2 };
}

/** Times `run` {@linkcode RUNS} times after as many to warm up, in ms. */
async function timed(run: () => unknown): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < 2 * RUNS; i++) {
    const started = performance.now();
    await run();
    if (i >= RUNS) ms.push(performance.now() - started);
  }
  return ms;
}

/** One version at one size: bytes, parse and change-read timings. */
async function measure([before, after]: Generation[]) {
  const parseMs = await timed(() => parseRoutingManifest(after.manifest));
  // one reader, reading the change and back in turn: each read is a change of one shard
  let current = before;
  const reader = new ShardedRoutingReader((name) => Promise.resolve(current.texts.get(name)));
  await reader.read(before.manifest);
  let turn = 0;
  const readMs = await timed(() => {
    current = turn++ % 2 === 0 ? after : before;
    return reader.read(current.manifest);
  });
  return { bytes: new TextEncoder().encode(after.manifest).length, parseMs, readMs };
}

if (import.meta.main) {
  const ms = (values: number[], p: number) => percentile(values, p).toFixed(3);
  const rows = [
    "| routes | shards | manifest bytes v1 → v2 | parse p50 / p99 ms v1 → v2 | one-route change read p50 / p99 ms v1 → v2 |",
    "| -----: | -----: | ---------------------: | -------------------------: | -----------------------------------------: |",
  ];
  for (const routes of SIZES) {
    const g = generations(routes);
    const [a, b] = [await measure(g.v1), await measure(g.v2)];
    const row = `| ${routes} | ${g.shards} | ${a.bytes} → ${b.bytes} | ` +
      `${ms(a.parseMs, 50)} / ${ms(a.parseMs, 99)} → ${ms(b.parseMs, 50)} / ${ms(b.parseMs, 99)} | ` +
      `${ms(a.readMs, 50)} / ${ms(a.readMs, 99)} → ${ms(b.readMs, 50)} / ${ms(b.readMs, 99)} |`;
    rows.push(row);
    console.log(row);
  }
  const text = (await benchResultsHeading("bench:manifest")) +
    `${RUNS} runs of each measure after as many to warm up, one process (\`chaperone/routing_manifest_bench.ts\`).\n\n` +
    rows.join("\n") + "\n";
  await Deno.writeTextFile(RESULTS, text);
}
