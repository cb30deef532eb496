import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import {
  assembleRouting,
  ContractError,
  parseRoutingJson,
  parseRoutingManifest,
  type RoutingJson,
  shardHashMatches,
  shardRouting,
  shortShardHash,
  stringifyContract,
} from "../ghost/contract/mod.ts";
import { manyHostsRouting } from "../ghost/contract/_test_many_hosts.ts";
import { contentHash } from "../internal/content_hash.ts";
import {
  FIRST_LIST_WAIT_MS,
  type HeldShard,
  MAX_AWAITED_SHARDS,
  SHARD_ARRIVAL_WAIT_MS,
  ShardedRoutingReader,
  type ShardSource,
  ShardsPendingError,
} from "./routing_shards_reader.ts";
import { heldShard } from "./routing_shards_watcher.ts";

/** A routing.json of `hosts` hostnames, one route each to Service `s<i>` (or `moved` for `h<move>`). */
const document = (hosts: number, move = -1) => manyHostsRouting(hosts, (i) => i === move ? "moved" : `s${i}`);

/** `manifest` (version 2) with the hashes of the texts given of some shards, by ConfigMap name. */
function rehashed(manifest: string, texts: Record<string, string>): string {
  const doc = JSON.parse(manifest) as { prefix: string; shards: [number, string][] };
  const shards = doc.shards.map(([k, hash]) => {
    const text = texts[`${doc.prefix}${k}`];
    return [k, text === undefined ? hash : shortShardHash(contentHash(text))];
  });
  return JSON.stringify({ ...doc, shards });
}

/** The version 1 manifest of what `manifest` names, the texts stored in `shards` (what an operator of before wrote). */
function versionOne(manifest: string, shards: ReadonlyMap<string, string>): string {
  const named = parseRoutingManifest(manifest).shards;
  return JSON.stringify({
    version: 1,
    shards: named.map(({ name }) => ({ name, hash: contentHash(shards.get(name)!) })),
  });
}

/** Stores the shards of `doc` into `store` and returns the manifest. */
function store(into: Map<string, string>, doc: ReturnType<typeof document>): string {
  const stored = shardRouting(doc, { bytes: 1 << 20, prefix: "gw-lacquer-r" })!;
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
  const first = assembleRouting(await reader.read(store(shards, document(500))));
  equal(Object.keys(first.vhosts).length, 500);
  equal(fetched.length, 32);
  equal(reader.lastRead.fetched, 32);
  fetched.length = 0;
  const kept = await reader.read(store(shards, document(500, 7)));
  const second = assembleRouting(kept);
  deepStrictEqual(second.vhosts["h7.example"].routes[0].backends[0].service?.name, "moved");
  equal(fetched.length, 1, "one hostname changed: one shard fetched");
  // what the sync's log reports of the read
  equal(reader.lastRead.fetched, 1);
  equal(reader.lastRead.fetchMs >= reader.lastRead.parseMs && reader.lastRead.parseMs > 0, true);
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
  equal(assembleRouting(await reader.read(manifest)).vhosts["h7.example"].routes[0].backends[0].service?.name, "moved");
});

Deno.test("ShardedRoutingReader rejects a shard that breaks the contract", async () => {
  const { shards, reader } = setup();
  const manifest = store(shards, document(500));
  const [name, text] = [...shards][0];
  const bad = text.replace('"version":1', '"version":7');
  shards.set(name, bad);
  await rejects(reader.read(rehashed(manifest, { [name]: bad })), ContractError);
});

Deno.test("ShardedRoutingReader hands unchanged shards over as they were, and rejects a hostname in two shards", async () => {
  const { shards, reader } = setup();
  const before = await reader.read(store(shards, document(500)));
  const good = store(shards, document(500, 7));
  const after = await reader.read(good);
  equal(after.filter((doc, i) => doc === before[i]).length, before.length - 1, "one shard is new");
  // shard 0 rewritten to also hold a hostname of shard 1
  const manifest = parseRoutingManifest(good);
  const [zero, one] = manifest.shards.map((s) => parseRoutingJson(shards.get(s.name)!));
  const host = Object.keys(one.vhosts)[0];
  const bad = stringifyContract({ ...zero, vhosts: { ...zero.vhosts, [host]: one.vhosts[host] } });
  shards.set(manifest.shards[0].name, bad);
  const tampered = rehashed(good, { [manifest.shards[0].name]: bad });
  await rejects(
    reader.read(tampered),
    (err: Error) => err instanceof ContractError && /in two shards/.test(err.message),
  );
  // the hostname leaves shard 1 in the same generation: accepted
  const rest = stringifyContract({ ...one, vhosts: Object.fromEntries(Object.entries(one.vhosts).slice(1)) });
  shards.set(manifest.shards[1].name, rest);
  const moved = rehashed(good, { [manifest.shards[0].name]: bad, [manifest.shards[1].name]: rest });
  equal(Object.keys(assembleRouting(await reader.read(moved)).vhosts).length, 500);
});

Deno.test("ShardedRoutingReader reads the CA bundles' shard with the others, and refuses a bundle no shard holds", async () => {
  const { shards, fetched, reader } = setup();
  const pem = `-----BEGIN CERTIFICATE-----\n${"A".repeat(1000)}\n-----END CERTIFICATE-----\n`;
  const key = contentHash(pem);
  const bundled = (doc: RoutingJson): RoutingJson => {
    doc.vhosts["h3.example"].routes[0].backends[0].tls = { hostname: "s3.internal", caBundle: key };
    return { ...doc, caBundles: { [key]: pem } };
  };
  const first = assembleRouting(await reader.read(store(shards, bundled(document(500)))));
  equal(first.caBundles?.[key], pem);
  fetched.length = 0;
  await reader.read(store(shards, bundled(document(500, 7))));
  equal(fetched.length, 1, "a route change fetches its shard, not the bundles' again");
  // a generation whose shard names a bundle the bundles' shard does not hold
  const manifest = store(shards, bundled(document(500, 8)));
  shards.set("gw-lacquer-r32", shards.get("gw-lacquer-r32")!.replace(key.slice(-8), "00000000"));
  const broken = rehashed(manifest, { "gw-lacquer-r32": shards.get("gw-lacquer-r32")! });
  await rejects(() => reader.read(broken), (err: Error) => {
    equal(err instanceof ContractError, true);
    return /names the CA bundle "sha256:[0-9a-f]{64}", which no shard of the generation holds/.test(err.message);
  });
});

/** A watch of shards in memory: `put` is a shard's watch event, `list` the end of its first list. */
class FakeSource implements ShardSource {
  readonly synced: Promise<void>;
  #listed = false;
  #resolveSynced!: () => void;
  #held = new Map<string, HeldShard>();
  #waiters = new Set<() => void>();

  constructor(listed = true) {
    this.synced = new Promise((resolve) => this.#resolveSynced = resolve);
    if (listed) this.list();
  }

  put(name: string, text: string): void {
    this.#held.set(name, heldShard({ metadata: { name }, data: { "routing.json": text } })!);
    for (const check of this.#waiters) check();
  }

  list(): void {
    this.#listed = true;
    this.#resolveSynced();
  }

  listed(): boolean {
    return this.#listed;
  }

  held(name: string): HeldShard | undefined {
    return this.#held.get(name);
  }

  arrival(shards: readonly { name: string; hash: string }[], ms: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!shards.every((s) => this.#held.has(s.name) && shardHashMatches(s.hash, this.#held.get(s.name)!.hash))) {
          return;
        }
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        resolve();
      }, ms);
      this.#waiters.add(check);
      check();
    });
  }
}

/** A reader over a watch (`source`) and the API server's shards (`shards`, what a GET by name finds). */
function setupWatched(source = new FakeSource()) {
  const shards = new Map<string, string>();
  const fetched: string[] = [];
  const reader = new ShardedRoutingReader((name) => {
    fetched.push(name);
    return Promise.resolve(shards.get(name));
  }, source);
  /** Stores the shards of `doc` on the API server, and those of `watched` names in the watch too. */
  const write = (doc: ReturnType<typeof document>, watched: (name: string) => boolean = () => true) => {
    const manifest = store(shards, doc);
    for (const [name, text] of shards) {
      if (watched(name) && source.held(name)?.hash !== contentHash(text)) {
        source.put(name, text);
      }
    }
    return manifest;
  };
  return { shards, fetched, reader, source, write };
}

/** The shards whose text differs between two stores. */
const changedNames = (before: Map<string, string>, after: Map<string, string>) =>
  [...after].filter(([name, text]) => before.get(name) !== text).map(([name]) => name);

Deno.test("ShardedRoutingReader takes the shards the watch holds as they are, and fetches none", async () => {
  const { fetched, reader, source, write } = setupWatched();
  const manifest = write(document(500));
  const docs = await reader.read(manifest);
  equal(Object.keys(assembleRouting(docs).vhosts).length, 500);
  deepStrictEqual(fetched, []);
  equal(reader.lastRead.held, 32);
  equal(reader.lastRead.fetched, 0);
  // the watch's parsed shards themselves: parsed once, as their events arrived
  const names = parseRoutingManifest(manifest).shards.map((s) => s.name);
  equal(docs.every((doc, i) => doc === source.held(names[i])?.doc), true);
  const after = await reader.read(write(document(500, 7)));
  equal(after.filter((doc, i) => doc === docs[i]).length, docs.length - 1, "one shard is new");
  deepStrictEqual(fetched, []);
  equal(reader.lastRead.held, 1);
});

Deno.test("ShardedRoutingReader waits for a shard whose watch event is a moment behind its manifest", async () => {
  const { shards, fetched, reader, source, write } = setupWatched();
  await reader.read(write(document(500)));
  const before = new Map(shards);
  const manifest = write(document(500, 7), () => false);
  const [late] = changedNames(before, shards);
  setTimeout(() => source.put(late, shards.get(late)!), 5);
  const docs = await reader.read(manifest);
  equal(assembleRouting(docs).vhosts["h7.example"].routes[0].backends[0].service?.name, "moved");
  deepStrictEqual(fetched, []);
});

Deno.test("ShardedRoutingReader takes the shards delivered with a manifest (a push) first: no wait, no fetch", async () => {
  const { shards, fetched, reader, source, write } = setupWatched();
  await reader.read(write(document(500)));
  const before = new Map(shards);
  const manifest = write(document(500, 7), () => false);
  const [changed] = changedNames(before, shards);
  // delivered: the changed shard, and a stale copy of another that the manifest names by another hash
  const other = [...before.keys()].find((name) => name !== changed)!;
  const delivered = new Map([
    [changed, heldShard({ metadata: { name: changed }, data: { "routing.json": shards.get(changed)! } })!],
    [other, heldShard({ metadata: { name: other }, data: { "routing.json": "{}" } })!],
  ]);
  const started = performance.now();
  const docs = await reader.read(manifest, delivered);
  ok(performance.now() - started < SHARD_ARRIVAL_WAIT_MS, "no wait for the watch");
  equal(assembleRouting(docs).vhosts["h7.example"].routes[0].backends[0].service?.name, "moved");
  deepStrictEqual(fetched, []);
  deepStrictEqual([reader.lastRead.delivered, reader.lastRead.held], [1, 0]);
  equal(source.held(changed)?.hash, contentHash(before.get(changed)!), "the watch still holds the old one");
});

Deno.test("ShardedRoutingReader fetches a shard whose watch event does not come, the watch holding its old version", async () => {
  const { shards, fetched, reader, source, write } = setupWatched();
  await reader.read(write(document(500)));
  const before = new Map(shards);
  // the watch never sees the new shard: it holds the previous generation's (a stale hash), fetched after the wait
  const manifest = write(document(500, 7), () => false);
  const [missed] = changedNames(before, shards);
  equal(source.held(missed)?.hash, contentHash(before.get(missed)!));
  const started = performance.now();
  equal(assembleRouting(await reader.read(manifest)).vhosts["h7.example"].routes[0].backends[0].service?.name, "moved");
  ok(performance.now() - started >= SHARD_ARRIVAL_WAIT_MS - 1, "waited for the event first");
  deepStrictEqual(fetched, [missed]);
  equal(reader.lastRead.fetched, 1);
  ok(reader.lastRead.waitMs >= SHARD_ARRIVAL_WAIT_MS - 1 && reader.lastRead.fetchMs >= reader.lastRead.waitMs);
});

Deno.test("ShardedRoutingReader fetches at once when many shards are missing, and waits for the watch's first list", async () => {
  const { fetched, reader, write } = setupWatched();
  const manifest = write(document(2000), () => false);
  const count = parseRoutingManifest(manifest).shards.length;
  ok(count > MAX_AWAITED_SHARDS);
  await reader.read(manifest);
  ok(reader.lastRead.waitMs < SHARD_ARRIVAL_WAIT_MS, "no wait for a generation the watch has not seen");
  equal(fetched.length, count);

  // a pod's start: the first read waits for the list rather than fetching every shard
  const unlisted = new FakeSource(false);
  const w = setupWatched(unlisted);
  const first = w.write(document(500));
  setTimeout(() => unlisted.list(), 5);
  await w.reader.read(first);
  ok(w.reader.lastRead.waitMs < FIRST_LIST_WAIT_MS);
  deepStrictEqual(w.fetched, []);

  // a list that does not answer (RBAC missing) holds up the first read only, not every one after it
  const never = setupWatched(new FakeSource(false));
  await never.reader.read(never.write(document(500)));
  deepStrictEqual(never.fetched, [], "the first read took what the watch held");
  await never.reader.read(never.write(document(500, 7), () => false));
  equal(never.fetched.length, 1);
  ok(never.reader.lastRead.waitMs < FIRST_LIST_WAIT_MS / 2, `waited ${never.reader.lastRead.waitMs} ms`);
});

Deno.test("ShardedRoutingReader rejects a shard the watch holds that breaks the contract", async () => {
  const { reader, source, write } = setupWatched();
  const manifest = write(document(500));
  const bad = '{"version":7}';
  source.put("gw-lacquer-r0", bad);
  await rejects(reader.read(rehashed(manifest, { "gw-lacquer-r0": bad })), ContractError);
});

Deno.test("ShardedRoutingReader reads a version 1 manifest (an operator of before), then version 2 without refetching", async () => {
  const { shards, fetched, reader } = setup();
  const v2 = store(shards, document(500));
  const v1 = versionOne(v2, shards);
  equal(JSON.parse(v1).version, 1);
  ok(v2.length * 3 < v1.length, `version 2 is ${v2.length} bytes, version 1 ${v1.length}`);
  equal(Object.keys(assembleRouting(await reader.read(v1)).vhosts).length, 500);
  equal(fetched.length, 32);
  // the operator upgraded: the same generation named by short hashes is not fetched again, a changed shard is
  fetched.length = 0;
  const before = await reader.read(v2);
  deepStrictEqual(fetched, []);
  const changed = store(shards, document(500, 7));
  equal((await reader.read(changed)).filter((doc, i) => doc !== before[i]).length, 1);
  equal(fetched.length, 1);
  // and back (an operator rolled back): the same generation in version 1 is nothing new either
  fetched.length = 0;
  equal(Object.keys(assembleRouting(await reader.read(versionOne(changed, shards))).vhosts).length, 500);
  deepStrictEqual(fetched, []);
});

Deno.test("ShardedRoutingReader applies no half-written version 1 generation, and rejects a hash mismatch", async () => {
  const { shards, reader } = setup();
  const first = versionOne(store(shards, document(500)), shards);
  await reader.read(first);
  const before = new Map(shards);
  const next = versionOne(store(shards, document(500, 7)), shards);
  const [changed] = changedNames(before, shards);
  const text = shards.get(changed)!;
  shards.set(changed, before.get(changed)!);
  await rejects(reader.read(next), ShardsPendingError);
  // a shard whose text is neither generation's: its hash does not match either version's manifest
  shards.set(changed, text.replace('"moved"', '"other"'));
  await rejects(reader.read(next), ShardsPendingError);
  await rejects(reader.read(store(new Map(), document(500, 7))), ShardsPendingError);
  shards.set(changed, text);
  equal(assembleRouting(await reader.read(next)).vhosts["h7.example"].routes[0].backends[0].service?.name, "moved");
});
