import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { ContractError, shortShardHash } from "../ghost/contract/mod.ts";
import { contentHash } from "../internal/content_hash.ts";
import type { KubeClient, KubeObject, KubeRequestOptions } from "../internal/kube/mod.ts";
import { createLogger } from "../internal/log.ts";
import { ROUTING_JSON_GZ_KEY, ROUTING_SHARDS_OF_LABEL } from "../internal/names.ts";
import { routingJsonData } from "../internal/routing_config_map.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import { heldShard, watchRoutingShards } from "./routing_shards_watcher.ts";

const shardText = (host: string) => JSON.stringify({ version: 1, vhosts: { [host]: { routes: [] } } });

function configMap(name: string, rv: string, text: string): KubeObject {
  return { metadata: { name, namespace: "ns", resourceVersion: rv }, ...routingJsonData(text) };
}

/** An API server whose lists answer the next of `lists` and whose watch streams take what `send` writes. */
function fakeClient(lists: KubeObject[][]) {
  const queries: Record<string, unknown>[] = [];
  let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
  const client: KubeClient = {
    server: "https://fake",
    fetch(_path: string, options: KubeRequestOptions = {}) {
      queries.push({ ...options.query });
      const signal = options.signal!;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          stream = c;
          signal.addEventListener("abort", () => c.error(signal.reason), { once: true });
        },
      });
      return Promise.resolve(new Response(body));
    },
    request<T>(_path: string, options: KubeRequestOptions = {}): Promise<T> {
      queries.push({ ...options.query });
      const items = lists.shift() ?? [];
      return Promise.resolve({ metadata: { resourceVersion: "100" }, items } as T);
    },
    close() {},
  };
  const send = (type: string, object: unknown) =>
    stream!.enqueue(new TextEncoder().encode(JSON.stringify({ type, object }) + "\n"));
  return { client, queries, send };
}

Deno.test("heldShard() decodes, hashes and parses a shard ConfigMap, plain or compressed", () => {
  const text = shardText("a.example");
  const plain = heldShard(configMap("gw-lacquer-r0", "1", text))!;
  equal(plain.hash, contentHash(text));
  deepStrictEqual(Object.keys(plain.doc!.vhosts), ["a.example"]);
  const large = JSON.stringify({ version: 1, vhosts: { "b.example": { routes: [] } }, pad: "x".repeat(40_000) });
  const gz = configMap("gw-lacquer-r1", "1", large);
  ok((gz.binaryData as Record<string, string>)[ROUTING_JSON_GZ_KEY]);
  equal(heldShard(gz)!.hash, contentHash(large));
  const bad = heldShard(configMap("gw-lacquer-r2", "1", '{"version":7}'))!;
  equal(bad.doc, undefined);
  ok(bad.error instanceof ContractError);
  equal(heldShard({ metadata: { name: "x" }, data: {} }), undefined);
});

Deno.test("watchRoutingShards() holds its Gateway's shards as they arrive, and follows a relist", async () => {
  const r0 = configMap("gw-lacquer-r0", "1", shardText("a.example"));
  const r1 = configMap("gw-lacquer-r1", "1", shardText("b.example"));
  const r2 = configMap("gw-lacquer-r2", "5", shardText("c.example"));
  // the relist after a lost watch: r0 as it was, r1 deleted meanwhile, r2 new
  const { client, queries, send } = fakeClient([[r0, r1], [r0, r2]]);
  const shards = watchRoutingShards(client, {
    namespace: "ns",
    configMap: "gw-lacquer",
    log: createLogger({ level: "error" }),
  });
  try {
    equal(shards.listed(), false);
    await shards.synced;
    await eventually(() => ok(shards.listed()));
    equal(queries[0].labelSelector, `${ROUTING_SHARDS_OF_LABEL}=gw-lacquer`);
    const first = shards.held("gw-lacquer-r0")!;
    equal(first.hash, contentHash(shardText("a.example")));

    // a shard the reader waits for (named by a version 2 manifest's short hash) arrives with its watch event; one that
    // does not come (named by a version 1 manifest's whole hash) ends the wait at its time
    const next = shardText("d.example");
    const arrived = shards.arrival([{ name: "gw-lacquer-r3", hash: shortShardHash(contentHash(next)) }], 10_000);
    await eventually(() => equal(queries.length, 2)); // the watch is open
    send("ADDED", configMap("gw-lacquer-r3", "2", next));
    await arrived;
    equal(shards.held("gw-lacquer-r3")?.hash, contentHash(next));
    const started = performance.now();
    await shards.arrival([{ name: "gw-lacquer-r9", hash: contentHash(next) }], 20);
    ok(performance.now() - started >= 19);

    send("ERROR", { kind: "Status", code: 410, reason: "Expired", metadata: {} });
    await eventually(() => equal(shards.held("gw-lacquer-r2")?.hash, contentHash(shardText("c.example"))));
    // the shard unchanged through the relist is the one held before (not parsed again); the deleted ones are gone
    equal(shards.held("gw-lacquer-r0"), first);
    equal(shards.held("gw-lacquer-r1"), undefined);
    equal(shards.held("gw-lacquer-r3"), undefined);

    send("DELETED", r2);
    await eventually(() => equal(shards.held("gw-lacquer-r2"), undefined));
  } finally {
    await shards.stop();
  }
});
