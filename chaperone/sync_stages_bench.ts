/**
 * `deno task bench:sync-stages`: the chaperone's own work for one change at 1,000, 5,000 and 20,000 routes, without
 * the API server, ghost or disk: a route change (its routing.json shard rewritten: read the generation, rebuild
 * ghost.json, make the delta) and an endpoint change (one Service's EndpointSlice: rebuild, make the delta). One
 * hostname, route and Service per route, so each change touches one vhost; the whole document's text, which is
 * written after the swap, off the change's path, is timed apart. Then the shape where every hostname sends to one
 * Service port (thousands of hostnames in front of one app): one pod of that Service scales (an endpoint added or
 * removed), and the table gives the change's build time, its delta's size and how many vhosts and `backends` entries
 * it names (ghost's side of that delta: `GHOST_BENCH_SHARED` of `deno task bench:ghost`, its version 2 form). Prints the tables and stores them in
 * `sync_stages_bench_results.md`.
 *
 * @module
 */
import { parseRoutingJson, parseRoutingManifest, type RoutingJson, shardRouting } from "../ghost/contract/mod.ts";
import { manyHostsRouting } from "../ghost/contract/_test_many_hosts.ts";
import { contentHash } from "../internal/content_hash.ts";
import { benchResultsHeading } from "../tests/bench/results_heading.ts";
import { percentile } from "../tests/bench/percentile.ts";
import { ghostDelta, GhostJsonBuilder, isBackendKey } from "./ghost_json_builder.ts";
import { serviceView, sliceView } from "./_test_views.ts";
import { referencedNamespaces, type ServiceEndpoints } from "./merge_endpoints.ts";
import { ShardedRoutingReader } from "./routing_shards_reader.ts";

const SIZES = (Deno.env.get("SIZES") ?? "1000,5000,20000").split(",").map(Number);
const CHANGES = 200;
/** Fewer in the shared shape: each change there rebuilds every vhost. */
const SHARED_CHANGES = 20;
/** The shared Service's ready endpoints before a change adds or removes one. */
const SHARED_PODS = 10;
const RESULTS = new URL("sync_stages_bench_results.md", import.meta.url);

/** One route count: the per-change timings in ms. */
async function measure(routes: number) {
  const doc = manyHostsRouting(routes, (i) => `s${i}`);
  const bytes = new TextEncoder().encode(JSON.stringify(doc)).length;
  const stored = shardRouting(doc, { bytes, prefix: "gw-lacquer-r" })!;
  const texts = new Map(stored.shards.map((s) => [s.name, s.text]));
  const reader = new ShardedRoutingReader((name) => Promise.resolve(texts.get(name)));
  const index = new Map<string, ServiceEndpoints>();
  for (let i = 0; i < routes; i++) {
    index.set(`ns/s${i}`, { service: serviceView(`s${i}`), slices: [sliceView(`s${i}`, "10.0.0.1")] });
  }
  const builder = new GhostJsonBuilder();
  let manifest = parseRoutingManifest(stored.manifest);
  let changedServices: string[] = [];
  const build = (shards: readonly RoutingJson[]) => {
    referencedNamespaces(shards);
    const changed = builder.update({ shards, endpoints: index, changedServices });
    changedServices = [];
    return ghostDelta(new Map([...changed.keys()].map((host) => [host, builder.value(host)])));
  };
  build(await reader.read(stored.manifest));
  const routeMs: number[] = [];
  const endpointMs: number[] = [];
  const textMs: number[] = [];
  for (let c = 0; c < CHANGES; c++) {
    // a route moves to another Service: its shard is rewritten (the operator's work, not timed)
    const host = `h${(c * 7919) % routes}.example`;
    const at = manifest.shards.findIndex((s) => texts.get(s.name)!.includes(`"${host}"`));
    const shard = parseRoutingJson(texts.get(manifest.shards[at].name)!);
    shard.vhosts[host].routes[0].backends[0].service!.name = `s${(c + 1) % routes}`;
    const text = JSON.stringify(shard) + "\n";
    texts.set(manifest.shards[at].name, text);
    manifest = {
      ...manifest,
      shards: manifest.shards.map((s, i) => i === at ? { ...s, hash: contentHash(text) } : s),
    };
    const manifestText = JSON.stringify(manifest);
    let started = performance.now();
    const shards = await reader.read(manifestText);
    const delta = build(shards);
    routeMs.push(performance.now() - started);
    if (!delta.includes(host)) throw new Error(`the delta misses ${host}`);
    // one Service's endpoint moves
    const name = `s${(c * 104729) % routes}`;
    index.set(`ns/${name}`, { service: serviceView(name), slices: [sliceView(name, `10.1.${c >> 8}.${c & 255}`)] });
    changedServices = [`ns/${name}`];
    started = performance.now();
    build(shards);
    endpointMs.push(performance.now() - started);
    // the whole document, written after the swap
    started = performance.now();
    builder.text();
    textMs.push(performance.now() - started);
  }
  return { routes, shards: manifest.shards.length, routeMs, endpointMs, textMs };
}

/** The endpoint addresses of the shared Service: `pods` of them. */
function pods(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `10.2.${i >> 8}.${i & 255}`);
}

/** One route count where every route sends to one Service port: an endpoint change's build time and delta. */
function measureShared(routes: number) {
  const routing = manyHostsRouting(routes, () => "shared");
  const shards = [routing];
  const service = serviceView("shared");
  const index = new Map<string, ServiceEndpoints>();
  const setPods = (count: number) => {
    const slice = sliceView("shared", "10.2.0.0");
    slice.endpoints = pods(count).map((a) => ({ ...slice.endpoints[0], addresses: [a] }));
    index.set("ns/shared", { service, slices: [slice] });
  };
  setPods(SHARED_PODS);
  const builder = new GhostJsonBuilder();
  builder.update({ shards, endpoints: index });
  const buildMs: number[] = [];
  let bytes = 0;
  let vhosts = 0;
  let entries = 0;
  for (let c = 0; c < SHARED_CHANGES; c++) {
    // one pod of the Service comes or goes
    setPods(SHARED_PODS + (c % 2 === 0 ? 1 : 0));
    const started = performance.now();
    const changed = builder.update({ shards, endpoints: index, changedServices: ["ns/shared"] });
    const delta = ghostDelta(new Map([...changed.keys()].map((host) => [host, builder.value(host)])));
    buildMs.push(performance.now() - started);
    bytes = new TextEncoder().encode(delta).length;
    vhosts = [...changed.keys()].filter((key) => !isBackendKey(key)).length;
    entries = changed.size - vhosts;
  }
  return { routes, buildMs, bytes, vhosts, entries };
}

if (import.meta.main) {
  const ms = (values: number[], p: number) => percentile(values, p).toFixed(2);
  const rows = [
    "| routes | shards | route change p50 / p99 ms | endpoint change p50 / p99 ms | whole text (after the swap) p50 ms |",
    "| -----: | -----: | ------------------------: | ---------------------------: | ---------------------------------: |",
  ];
  for (const routes of SIZES) {
    const r = await measure(routes);
    const row = `| ${routes} | ${r.shards} | ${ms(r.routeMs, 50)} / ${ms(r.routeMs, 99)} | ` +
      `${ms(r.endpointMs, 50)} / ${ms(r.endpointMs, 99)} | ${ms(r.textMs, 50)} |`;
    rows.push(row);
    console.log(row);
  }
  const shared = [
    "| routes (vhosts) on one Service port | endpoint change (build + delta) p50 / max ms | delta bytes | vhosts / entries in the delta |",
    "| ----------------------------------: | ------------------------------------------: | ----------: | ----------------------------: |",
  ];
  for (const routes of SIZES) {
    const r = measureShared(routes);
    const row = `| ${routes} | ${ms(r.buildMs, 50)} / ${
      ms(r.buildMs, 100)
    } | ${r.bytes} | ${r.vhosts} / ${r.entries} |`;
    shared.push(row);
    console.log(row);
  }
  const text = (await benchResultsHeading("bench:sync-stages")) +
    `${CHANGES} changes of each kind per route count, one process (\`chaperone/sync_stages_bench.ts\`).\n\n` +
    rows.join("\n") + "\n\n" +
    `Every route on one Service port of ${SHARED_PODS} ready pods, ${SHARED_CHANGES} changes of one pod each:\n\n` +
    shared.join("\n") + "\n";
  await Deno.writeTextFile(RESULTS, text);
}
