/**
 * Reads a routing.json stored in shards (`ghost/contract/routing_shards.ts`): the Gateway's ConfigMap names the
 * shard ConfigMaps of the current generation and their hashes; this fetches the shards it does not hold yet (by
 * name: the chaperone may read only its own ConfigMaps), checks each against the manifest's hash, parses it once,
 * and hands over the generation's parsed shards, those unchanged as the same objects as before, so that the work
 * of a change is that of the shards it rewrote (checking that they belong together included, and that the CA
 * bundles their backend groups name are in the generation's bundles shard). A shard missing or of another generation
 * means the generation is not whole yet: nothing of it is applied, and the read fails to be retried (the operator
 * writes the shards before the manifest, so this is rare).
 *
 * @module
 */
import {
  checkCaBundleRefs,
  parseRoutingManifest,
  parseRoutingShard,
  type RoutingJson,
  shardCaBundles,
  shardConflict,
  shardHead,
} from "../ghost/contract/mod.ts";
import { contentHash } from "../internal/content_hash.ts";

/** Fetches one shard ConfigMap's routing.json text; undefined when the ConfigMap does not exist. */
export type ShardFetcher = (name: string) => Promise<string | undefined>;

/** A generation of which some shard is missing or not written yet. */
export class ShardsPendingError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ShardsPendingError";
  }
}

/** Shards fetched at the same time, at most (a first read of thousands of shards). */
const PARALLEL_FETCHES = 16;

/** What one read did (for the sync's stage timings). */
export interface ShardReadStats {
  /** Shards fetched (those new to the reader). */
  fetched: number;
  /** From the first fetch until the last shard was there, parses included (ms). */
  fetchMs: number;
  /** Of that, the parses of the fetched shards, summed (ms). */
  parseMs: number;
}

/**
 * Reads sharded routing.json generations, keeping the parsed shards of the last one read.
 *
 * @example Usage
 * ```ts ignore
 * import { ShardedRoutingReader } from "./routing_shards_reader.ts";
 * const reader = new ShardedRoutingReader(fetchShard);
 * const shards = await reader.read(manifestText); // throws ContractError or ShardsPendingError
 * ```
 */
export class ShardedRoutingReader {
  #fetch: ShardFetcher;
  /** The parsed shards of the last generation read, by ConfigMap name. */
  #shards = new Map<string, { hash: string; doc: RoutingJson }>();
  /** Which shard (ConfigMap name) of the last generation read holds each hostname. */
  #owners = new Map<string, string>();
  #stats: ShardReadStats = { fetched: 0, fetchMs: 0, parseMs: 0 };
  /** The keys of the CA bundles of the last generation read, joined. */
  #bundleKeys = "";

  /**
   * Creates the reader.
   *
   * @param fetch Fetches a shard's text.
   */
  constructor(fetch: ShardFetcher) {
    this.#fetch = fetch;
  }

  /**
   * Reads the generation a manifest names.
   *
   * @param manifestText The routing-shards.json text.
   * @returns The generation's parsed shards in the manifest's order (joined, they are the whole routing.json).
   * @throws {ContractError} When the manifest or a shard does not follow the contract, or the shards do not belong
   *   together.
   * @throws {ShardsPendingError} When a shard is missing or does not have the manifest's hash.
   */
  async read(manifestText: string): Promise<readonly RoutingJson[]> {
    const manifest = parseRoutingManifest(manifestText);
    const wanted = manifest.shards.filter((s) => this.#shards.get(s.name)?.hash !== s.hash);
    const fetched = new Map<string, { hash: string; doc: RoutingJson }>();
    const started = performance.now();
    this.#stats = { fetched: wanted.length, fetchMs: 0, parseMs: 0 };
    for (let i = 0; i < wanted.length; i += PARALLEL_FETCHES) {
      await Promise.all(
        wanted.slice(i, i + PARALLEL_FETCHES).map(async ({ name, hash }) => {
          const text = await this.#fetch(name);
          if (text === undefined) throw new ShardsPendingError(`routing.json shard ${name} does not exist yet`);
          if (contentHash(text) !== hash) {
            throw new ShardsPendingError(`routing.json shard ${name} is not the one of this generation yet`);
          }
          const parsing = performance.now();
          fetched.set(name, { hash, doc: parseRoutingShard(text) });
          this.#stats.parseMs += performance.now() - parsing;
        }),
      );
    }
    this.#stats.fetchMs = performance.now() - started;
    const shards = manifest.shards.map((s) => fetched.get(s.name) ?? this.#shards.get(s.name)!);
    const first = shardHead(shards[0].doc);
    shards.forEach((shard, i) => {
      if (i > 0 && shardHead(shard.doc) !== first) throw shardConflict(i);
    });
    this.#checkCaBundles(shards.map((s) => s.doc), fetched);
    this.#takeHostnames(manifest.shards.map((s) => s.name), fetched);
    this.#shards = new Map(manifest.shards.map((s, i) => [s.name, shards[i]]));
    return shards.map((s) => s.doc);
  }

  /** What the last read did: the shards it fetched, and the time that took. */
  get lastRead(): ShardReadStats {
    return this.#stats;
  }

  /**
   * Checks that the CA bundles the shards' backend groups name are in the generation (one shard holds them): those
   * of the shards fetched, or of every shard when the bundles changed (the others' were checked with the last
   * generation, against the same bundles).
   */
  #checkCaBundles(docs: readonly RoutingJson[], fetched: ReadonlyMap<string, { doc: RoutingJson }>): void {
    const bundles = shardCaBundles(docs);
    const keys = [...bundles.keys()].join(",");
    const changed = keys !== this.#bundleKeys;
    const fresh = new Set([...fetched.values()].map((f) => f.doc));
    const checked = docs.flatMap((doc, i) => changed || fresh.has(doc) ? [i] : []);
    checkCaBundleRefs(checked.map((i) => docs[i]), bundles, (j) => checked[j]);
    this.#bundleKeys = keys;
  }

  /**
   * Checks that no hostname is in two shards and records which shard holds each, looking only at the hostnames of
   * the shards fetched and of those they replace (the others' were checked with the last generation).
   */
  #takeHostnames(names: readonly string[], fetched: ReadonlyMap<string, { doc: RoutingJson }>): void {
    const position = new Map(names.map((name, i) => [name, i]));
    const released = new Set<string>();
    for (const [name, { doc }] of this.#shards) {
      if (position.has(name) && !fetched.has(name)) continue;
      for (const host of Object.keys(doc.vhosts)) if (this.#owners.get(host) === name) released.add(host);
    }
    const taken = new Map<string, string>();
    for (const [name, { doc }] of fetched) {
      for (const host of Object.keys(doc.vhosts)) {
        const kept = this.#owners.has(host) && !released.has(host);
        if (kept || taken.has(host)) throw shardConflict(position.get(name)!, host);
        taken.set(host, name);
      }
    }
    for (const host of released) this.#owners.delete(host);
    for (const [host, name] of taken) this.#owners.set(host, name);
  }
}
