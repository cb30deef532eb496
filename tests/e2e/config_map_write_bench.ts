/**
 * `deno task bench:config-map-write`: what one write of a Gateway's routing ConfigMap costs against the local
 * cluster's API server, by the way it is written (`config_map_write.ts`: server-side apply as the operator sends it,
 * a PUT with the known resourceVersion, a JSON merge patch, a strategic merge patch of the changed key or of every field the apply sets) and by size:
 *
 * 1. One ConfigMap whose routing.json (the text `translate()` makes of `scale_bench.ts`'s routes, one route changed
 *    each round) is about 3 KB, 30 KB and 100 KB.
 * 2. A route change's pair: a shard of about 24 KB (shards hold 16-32 KB) and the manifest ConfigMap (main.vcl and a
 *    routing-shards.json naming 1,024 shards, about 119 KB, as at 50,000 routes), written at the same time (as the
 *    operator does) or one after the other.
 *
 * Each way writes objects of its own, through the operator's API client (writes over HTTP/1.1), and the ways take
 * turns within each round in a rotating order, so that the machine's other work weighs on all of them alike. The first
 * `WARMUP` rounds are not counted. The figures go to `config_map_write_bench_results.md` beside this file.
 *
 * `LACQUER_BENCH_ROUNDS` (60) changes the number of rounds.
 *
 * @module
 */
import { clusterAvailable, createTestNamespace, useCluster } from "../cluster/mod.ts";
import type { KubeClient, KubeObject } from "../../internal/kube/mod.ts";
import { contentHash } from "../../internal/content_hash.ts";
import { percentile } from "../bench/percentile.ts";
import { benchResultsHeading } from "../bench/results_heading.ts";
import { conditionsBlock, machineFacts } from "../../operator/route_change_bench.ts";
import { baseObjects, hostnamesFor, routeObject } from "../../operator/scale_bench.ts";
import { parseSnapshot } from "../../operator/snapshot.ts";
import { translate } from "../../operator/translate.ts";
import { type RoutingConfigMap, WRITE_METHODS, type WriteMethod, writeRequest } from "./config_map_write.ts";

const ROUNDS = Number(Deno.env.get("LACQUER_BENCH_ROUNDS") ?? 60);
const WARMUP = 5;
const RESULTS = new URL("config_map_write_bench_results.md", import.meta.url);
/** Routes whose routing.json is about 3, 30 and 100 KB (about 500 bytes a route). */
const SIZES = [{ label: "3 KB", routes: 6 }, { label: "30 KB", routes: 60 }, { label: "100 KB", routes: 200 }];
/** Shards the manifest names: 50,000 routes' worth. */
const MANIFEST_SHARDS = 1024;
/** Routes of the pair's shard: about 24 KB, a shard's size at 50,000 routes. */
const SHARD_ROUTES = 48;
const MODES = ["concurrent", "sequential"] as const;

/** routing.json and main.vcl of `routes` routes, route 0's path changed for the round. */
function rendered(routes: number, round: number): { routingJson: string; mainVcl: string } {
  const hosts = hostnamesFor(routes);
  const objects = Array.from(
    { length: routes },
    (_, i) => routeObject(i, hosts, i === 0 ? `/round${round}` : undefined),
  );
  const gateway = translate(parseSnapshot([...baseObjects(), ...objects]), {
    now: "2026-01-01T00:00:00Z",
    defaults: { image: "lacquer:bench" },
    gateways: ["bench/gw"],
  }).gateways[0];
  return { routingJson: gateway.routingJson!, mainVcl: gateway.mainVcl! };
}

/** A routing-shards.json naming `MANIFEST_SHARDS` shards, one shard's hash changed for the round. */
function manifest(round: number): string {
  const shards = Array.from({ length: MANIFEST_SHARDS }, (_, i) => ({
    name: `gw-lacquer-r${i}`,
    hash: contentHash(i === round % MANIFEST_SHARDS ? `shard ${i} round ${round}` : `shard ${i}`),
  }));
  return JSON.stringify({ version: 1, shards }) + "\n";
}

/** Writes ConfigMaps and times each round trip. */
class Writer {
  #last = new Map<string, { object: RoutingConfigMap; resourceVersion: string }>();
  constructor(private client: KubeClient, private namespace: string, private owner: unknown[]) {}

  /** The ConfigMap `name` with `data`, labelled and annotated as the operator's children are. */
  object(name: string, data: Record<string, string>): RoutingConfigMap {
    const routing = contentHash(Object.values(data).join("\n"));
    const labels = { "app.kubernetes.io/managed-by": "lacquer", "lacquer.dev/gateway": "gw" };
    const metadata = { name, namespace: this.namespace, labels, ownerReferences: this.owner };
    const hash = contentHash(JSON.stringify({ metadata, data }));
    const annotations = { "lacquer.dev/desired-hash": hash, "lacquer.dev/routing-hash": routing };
    return { metadata: { ...metadata, annotations }, data };
  }

  /** Writes `next` the way `method` does; returns the round trip in ms (the first write of an object creates it). */
  async write(method: WriteMethod, next: RoutingConfigMap): Promise<number> {
    const last = this.#last.get(next.metadata.name);
    const request = last
      ? writeRequest(method, last.object, next, last.resourceVersion)
      : writeRequest("apply", next, next, "");
    const path = `/api/v1/namespaces/${this.namespace}/configmaps/${next.metadata.name}`;
    const start = performance.now();
    const answer = await this.client.request<KubeObject>(path, request);
    const ms = performance.now() - start;
    this.#last.set(next.metadata.name, { object: next, resourceVersion: answer.metadata.resourceVersion! });
    return ms;
  }
}

/** The order of `items` in round `round`: each takes each place in turn. */
function rotated<T>(items: readonly T[], round: number): T[] {
  const at = round % items.length;
  return [...items.slice(at), ...items.slice(0, at)];
}

const ms = (x: number) => x.toFixed(1);

/** A table row per series: p50, p99, and the p50 against server-side apply's of the same group. */
function table(header: string, rows: { group: string; method: WriteMethod; extra?: string; times: number[] }[]) {
  const lines = [
    `| ${header} | method | p50 ms | p99 ms | p50 vs apply |`,
    `| ${"-".repeat(header.length)} | ------ | -----: | -----: | -----------: |`,
  ];
  for (const row of rows) {
    const apply = rows.find((r) => r.group === row.group && r.extra === row.extra && r.method === "apply")!;
    const change = percentile(row.times, 50) / percentile(apply.times, 50) - 1;
    lines.push(
      `| ${row.group}${row.extra ? `, ${row.extra}` : ""} | ${row.method} | ${ms(percentile(row.times, 50))} | ${
        ms(percentile(row.times, 99))
      } | ${row.method === "apply" ? "-" : `${change >= 0 ? "+" : ""}${(change * 100).toFixed(0)}%`} |`,
    );
  }
  return lines;
}

Deno.test({
  name: "bench: a routing ConfigMap's write by method (apply, PUT, merge patch, strategic merge patch) and size",
  ignore: !clusterAvailable(),
}, async () => {
  const loadStart = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).map(Number);
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  const { client } = ns;
  // an owner, as the Gateway is its children's: the reference makes the metadata the operator's size
  const owner = await client.request<KubeObject>(`/api/v1/namespaces/${ns.name}/configmaps`, {
    method: "POST",
    body: { metadata: { name: "owner" } },
  });
  const ownerReferences = [{
    apiVersion: "v1",
    kind: "ConfigMap",
    name: "owner",
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  }];
  const writer = new Writer(client, ns.name, ownerReferences);
  const single = new Map<string, number[]>();
  const pairs = new Map<string, number[]>();
  const record = (map: Map<string, number[]>, key: string, round: number, value: number) => {
    if (round >= WARMUP) map.set(key, [...map.get(key) ?? [], value]);
  };
  for (let round = 0; round < ROUNDS + WARMUP; round++) {
    for (const size of SIZES) {
      const { routingJson } = rendered(size.routes, round);
      for (const method of rotated(WRITE_METHODS, round)) {
        const object = writer.object(`w-${method}-${size.routes}`, { "routing.json": routingJson });
        record(single, `${size.label}/${method}`, round, await writer.write(method, object));
      }
    }
    const shardText = rendered(SHARD_ROUTES, round);
    const routingShards = manifest(round);
    const combos = WRITE_METHODS.flatMap((method) => MODES.map((mode) => ({ method, mode })));
    for (const { method, mode } of rotated(combos, round)) {
      const shard = writer.object(`p-${method}-${mode}-r0`, { "routing.json": shardText.routingJson });
      const main = writer.object(`p-${method}-${mode}`, {
        "main.vcl": shardText.mainVcl,
        "routing-shards.json": routingShards,
      });
      const start = performance.now();
      if (mode === "concurrent") {
        await Promise.all([writer.write(method, shard), writer.write(method, main)]);
      } else {
        await writer.write(method, shard);
        await writer.write(method, main);
      }
      record(pairs, `${method}/${mode}`, round, performance.now() - start);
    }
  }
  const loadEnd = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).map(Number);
  const version = await client.request<{ gitVersion: string }>("/version");
  const facts = await machineFacts();
  const pairShard = rendered(SHARD_ROUTES, 0);
  const manifestBytes = manifest(0).length + pairShard.mainVcl.length;
  const lines = [
    (await benchResultsHeading("bench:config-map-write")).trimEnd(),
    "",
    ...conditionsBlock({ ...facts, v8Flags: "", loadStart, loadEnd }),
    `- kube-apiserver ${version.gitVersion} with its etcd on the same machine; ${ROUNDS} rounds (${WARMUP} more ` +
    "not counted), the methods in a rotating order within each round",
    "",
    "One ConfigMap write (routing.json of the size named; the request's round trip):",
    "",
    ...table(
      "routing.json",
      SIZES.flatMap((size) =>
        WRITE_METHODS.map((method) => ({ group: size.label, method, times: single.get(`${size.label}/${method}`)! }))
      ),
    ),
    "",
    `A route change's pair: a ${
      Math.round(pairShard.routingJson.length / 1024)
    } KB shard and the manifest (main.vcl and routing-shards.json of ${MANIFEST_SHARDS} ` +
    `shards, ${Math.round(manifestBytes / 1024)} KB), from the first request to the last answer:`,
    "",
    ...table(
      "pair",
      MODES.flatMap((mode) =>
        WRITE_METHODS.map((method) => ({
          group: "shard + manifest",
          extra: mode,
          method,
          times: pairs.get(`${method}/${mode}`)!,
        }))
      ),
    ),
  ];
  const text = lines.join("\n") + "\n";
  console.log(text);
  await Deno.writeTextFile(RESULTS, text);
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", RESULTS.pathname] }).output();
});
