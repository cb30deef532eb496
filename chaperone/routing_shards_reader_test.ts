import { deepStrictEqual, equal, rejects } from "node:assert/strict";
import { ContractError, shardRouting } from "../ghost/contract/mod.ts";
import { manyHostsRouting } from "../ghost/contract/_test_many_hosts.ts";
import { contentHash } from "../internal/content_hash.ts";
import { ShardedRoutingReader, ShardsPendingError } from "./routing_shards_reader.ts";

/** A routing.json of `hosts` hostnames, one route each to Service `s<i>` (or `moved` for `h<move>`). */
const document = (hosts: number, move = -1) => manyHostsRouting(hosts, (i) => i === move ? "moved" : `s${i}`);

/** Stores the shards of `doc` into `store` and returns the manifest. */
function store(into: Map<string, string>, doc: ReturnType<typeof document>): string {
  const stored = shardRouting(doc, { bytes: 1 << 20, name: (k) => `gw-lacquer-r${k}` })!;
  for (const shard of stored.shards) into.set(shard.name, shard.text);
  return stored.manifest;
}

function setup() {
  const shards = new Map<string, string>();
  const fetched: string[] = [];
  const reader = new ShardedRoutingReader((name) => {
    fetched.push(name);
    return Promise.resolve(shards.get(name));
  });
  return { shards, fetched, reader };
}

Deno.test("ShardedRoutingReader reads a whole generation, then fetches only the shards that changed", async () => {
  const { shards, fetched, reader } = setup();
  const first = await reader.read(store(shards, document(500)));
  equal(Object.keys(first.vhosts).length, 500);
  equal(fetched.length, 32);
  fetched.length = 0;
  const second = await reader.read(store(shards, document(500, 7)));
  deepStrictEqual(second.vhosts["h7.example"].routes[0].backends[0].service?.name, "moved");
  equal(fetched.length, 1, "one hostname changed: one shard fetched");
});

Deno.test("ShardedRoutingReader applies no half-written generation: a missing or older shard is pending", async () => {
  const { shards, reader } = setup();
  await reader.read(store(shards, document(500)));
  const before = new Map(shards);
  const manifest = store(shards, document(500, 7));
  // the manifest arrived, its new shard not yet: the old text is still stored under the name
  const changed = [...shards].find(([name, text]) => before.get(name) !== text)!;
  shards.set(changed[0], before.get(changed[0])!);
  await rejects(reader.read(manifest), ShardsPendingError);
  shards.delete(changed[0]);
  await rejects(reader.read(manifest), ShardsPendingError);
  shards.set(changed[0], changed[1]);
  equal((await reader.read(manifest)).vhosts["h7.example"].routes[0].backends[0].service?.name, "moved");
});

Deno.test("ShardedRoutingReader rejects a shard that breaks the contract", async () => {
  const { shards, reader } = setup();
  const manifest = store(shards, document(500));
  const [name, text] = [...shards][0];
  const bad = text.replace('"version":1', '"version":7');
  shards.set(name, bad);
  const tampered = manifest.replace(/"hash":"[^"]+"/, `"hash":"${contentHash(bad)}"`);
  await rejects(reader.read(tampered), ContractError);
});
