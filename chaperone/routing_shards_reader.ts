/**
 * Reads a routing.json stored in shards (`ghost/contract/routing_shards.ts`): the Gateway's ConfigMap names the shard
 * ConfigMaps of the current generation and their hashes (routing-shards.json version 2, or version 1 from an operator
 * of before: pods and operator may run different versions during an upgrade); this takes the shards it does not hold
 * yet from the watch of the Gateway's shards (`routing_shards_watcher.ts`, parsed there as they arrived), waits a
 * moment for a few the watch does not hold yet, and fetches the rest by name; it checks each against the manifest's
 * hash, parses it once, and hands over the generation's parsed shards, those unchanged as the same objects as before,
 * so that the work of a change is that of the shards it rewrote (checking that they belong together included, and that
 * the CA bundles their backend groups name are in the generation's bundles shard). A shard missing or of another
 * generation means the generation is not whole yet: nothing of it is applied, and the read fails to be retried (the
 * operator writes the changed shards and the manifest at the same time, so a shard may come a moment after the
 * manifest: the wait for the watch covers that, and the retry what is later still).
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
  shardHashMatches,
  shardHead,
} from "../ghost/contract/mod.ts";
import { contentHash } from "../internal/content_hash.ts";

/** Fetches one shard ConfigMap's routing.json text; undefined when the ConfigMap does not exist. */
export type ShardFetcher = (name: string) => Promise<string | undefined>;

/** A shard as a {@linkcode ShardSource} holds it. */
export interface HeldShard {
  /** `sha256:<hex>` of its routing.json text (a manifest's hash is checked against it by `shardHashMatches`). */
  readonly hash: string;
  /** The parsed shard; undefined when it does not follow the contract. May parse on first read. */
  readonly doc?: RoutingJson;
  /** Why it does not follow the contract (what parsing it threw). */
  readonly error?: Error;
}

/** Shards held as they arrive (the watch of the Gateway's shards, `routing_shards_watcher.ts`). */
export interface ShardSource {
  /** Resolves after the first list of the shards. */
  readonly synced: Promise<void>;
  /** Whether the first list is done. */
  listed(): boolean;
  /** The shard held under a ConfigMap name, if any. */
  held(name: string): HeldShard | undefined;
  /** Resolves once each of these shards is held with the hash the manifest names, or after `ms`, whichever first. */
  arrival(shards: readonly { name: string; hash: string }[], ms: number): Promise<void>;
}

/**
 * How long a read waits for the watch events of the shards it does not hold yet, before it fetches them. The
 * operator writes a change's shards just before its manifest, so their events are usually in already or a few
 * milliseconds behind; a GET is a round trip of about as much, so a wait past that would only delay the fallback.
 */
export const SHARD_ARRIVAL_WAIT_MS = 50;

/**
 * The most missing shards a read waits for: a route change rewrites one shard or a few; more missing means a
 * generation the watch has not seen (its watch is behind, or it is reconnecting), which the GETs serve better.
 */
export const MAX_AWAITED_SHARDS = 8;

/**
 * How long a read waits for the watch's first list (a pod's start: one paged list of every shard instead of a GET
 * each); past it, something keeps the list from answering (RBAC not granted yet, an API server under load) and the
 * shards are fetched by name as without a watch.
 */
export const FIRST_LIST_WAIT_MS = 5_000;

/** A generation of which some shard is missing or not written yet. */
export class ShardsPendingError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ShardsPendingError";
  }
}

/** A shard of the generation read: the hash its manifest names it by, its text's `sha256:<hex>`, the parsed shard. */
interface Taken {
  hash: string;
  full: string;
  doc: RoutingJson;
}

/** Shards fetched at the same time, at most (a first read of thousands of shards). */
const PARALLEL_FETCHES = 16;

/** What one read did (for the sync's stage timings). */
export interface ShardReadStats {
  /** Shards new to the reader taken from the watch, as it held them. */
  held: number;
  /** Shards new to the reader that came with the manifest (a push). */
  delivered: number;
  /** Shards new to the reader fetched by name (not held by the watch in time). */
  fetched: number;
  /** Of `fetchMs`, the wait for the watch (ms). */
  waitMs: number;
  /** From the first shard not held until the last shard was there, waits and parses included (ms). */
  fetchMs: number;
  /** The parses of the shards new to the reader, summed (ms): of `fetchMs` for those fetched. */
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
  #source: ShardSource | undefined;
  /**
   * The parsed shards of the last generation read, by ConfigMap name: the hash the manifest named each by, and its
   * text's `sha256:<hex>` (a manifest of the other version names an unchanged shard by another hash).
   */
  #shards = new Map<string, Taken>();
  /** Which shard (ConfigMap name) of the last generation read holds each hostname. */
  #owners = new Map<string, string>();
  #stats: ShardReadStats = { held: 0, delivered: 0, fetched: 0, waitMs: 0, fetchMs: 0, parseMs: 0 };
  /** Whether no read has started yet: only the first waits for the watch's first list. */
  #first = true;
  /** The keys of the CA bundles of the last generation read, joined. */
  #bundleKeys = "";

  /**
   * Creates the reader.
   *
   * @param fetch Fetches a shard's text.
   * @param source Shards held from a watch, taken before any fetch. @default {none: every shard is fetched}
   */
  constructor(fetch: ShardFetcher, source?: ShardSource) {
    this.#fetch = fetch;
    this.#source = source;
  }

  /**
   * Reads the generation a manifest names.
   *
   * @param manifestText The routing-shards.json text.
   * @param delivered Shards that came with the manifest (a push), by ConfigMap name, taken first.
   * @returns The generation's parsed shards in the manifest's order (joined, they are the whole routing.json).
   * @throws {ContractError} When the manifest or a shard does not follow the contract, or the shards do not belong
   *   together.
   * @throws {ShardsPendingError} When a shard is missing or does not have the manifest's hash.
   */
  async read(manifestText: string, delivered?: ReadonlyMap<string, HeldShard>): Promise<readonly RoutingJson[]> {
    const manifest = parseRoutingManifest(manifestText);
    const wanted = manifest.shards.filter((s) => {
      const last = this.#shards.get(s.name);
      return last === undefined || (last.hash !== s.hash && !shardHashMatches(s.hash, last.full));
    });
    /** The shards new to the reader: delivered with the manifest, taken from the watch, or fetched. */
    const taken = new Map<string, Taken>();
    this.#stats = { held: 0, delivered: 0, fetched: 0, waitMs: 0, fetchMs: 0, parseMs: 0 };
    let missing = this.#takeHeld(wanted, taken, delivered && { held: (name) => delivered.get(name) });
    this.#stats.delivered = taken.size;
    missing = this.#takeHeld(missing, taken, this.#source);
    this.#stats.held = taken.size - this.#stats.delivered;
    const started = performance.now();
    const firstRead = this.#first;
    this.#first = false;
    missing = await this.#awaitHeld(missing, taken, firstRead);
    this.#stats.waitMs = performance.now() - started;
    this.#stats.fetched = missing.length;
    for (let i = 0; i < missing.length; i += PARALLEL_FETCHES) {
      await Promise.all(
        missing.slice(i, i + PARALLEL_FETCHES).map(async ({ name, hash }) => {
          const text = await this.#fetch(name);
          if (text === undefined) throw new ShardsPendingError(`routing.json shard ${name} does not exist yet`);
          const full = contentHash(text);
          if (!shardHashMatches(hash, full)) {
            throw new ShardsPendingError(`routing.json shard ${name} is not the one of this generation yet`);
          }
          const parsing = performance.now();
          taken.set(name, { hash, full, doc: parseRoutingShard(text) });
          this.#stats.parseMs += performance.now() - parsing;
        }),
      );
    }
    this.#stats.fetchMs = performance.now() - started;
    const shards = manifest.shards.map((s) => {
      const shard = taken.get(s.name) ?? this.#shards.get(s.name)!;
      return shard.hash === s.hash ? shard : { ...shard, hash: s.hash };
    });
    const first = shardHead(shards[0].doc);
    shards.forEach((shard, i) => {
      if (i > 0 && shardHead(shard.doc) !== first) throw shardConflict(i);
    });
    this.#checkCaBundles(shards.map((s) => s.doc), taken);
    this.#takeHostnames(manifest.shards.map((s) => s.name), taken);
    this.#shards = new Map(manifest.shards.map((s, i) => [s.name, shards[i]]));
    return shards.map((s) => s.doc);
  }

  /**
   * Moves the shards held (by the watch, or delivered with the manifest) with the manifest's hash into `taken`; a
   * shard that does not follow the contract rejects the generation, as a fetched one would.
   *
   * @returns The others.
   */
  #takeHeld(
    shards: readonly { name: string; hash: string }[],
    taken: Map<string, Taken>,
    holder: Pick<ShardSource, "held"> | undefined,
  ): { name: string; hash: string }[] {
    if (holder === undefined) return [...shards];
    const missing: { name: string; hash: string }[] = [];
    for (const { name, hash } of shards) {
      const held = holder.held(name);
      if (held === undefined || !shardHashMatches(hash, held.hash)) {
        missing.push({ name, hash });
        continue;
      }
      const parsing = performance.now();
      const doc = held.doc; // parsed on first use
      this.#stats.parseMs += performance.now() - parsing;
      if (doc === undefined) throw held.error;
      taken.set(name, { hash, full: held.hash, doc });
    }
    return missing;
  }

  /**
   * Waits for the watch's first list on the first read ({@linkcode FIRST_LIST_WAIT_MS}; a list that keeps failing
   * costs that once, not on every read), or for a few shards' events ({@linkcode SHARD_ARRIVAL_WAIT_MS}), and takes
   * what arrived.
   *
   * @returns The shards still missing, to be fetched.
   */
  async #awaitHeld(
    missing: { name: string; hash: string }[],
    taken: Map<string, Taken>,
    first: boolean,
  ): Promise<{ name: string; hash: string }[]> {
    const source = this.#source;
    if (source === undefined || missing.length === 0) return missing;
    if (first && !source.listed()) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<void>((resolve) => timer = setTimeout(resolve, FIRST_LIST_WAIT_MS));
      await Promise.race([source.synced.catch(() => {}), late]);
      clearTimeout(timer);
      missing = this.#takeHeld(missing, taken, source);
    }
    if (missing.length > 0 && missing.length <= MAX_AWAITED_SHARDS) {
      await source.arrival(missing, SHARD_ARRIVAL_WAIT_MS);
      missing = this.#takeHeld(missing, taken, source);
    }
    this.#stats.held = taken.size - this.#stats.delivered;
    return missing;
  }

  /** What the last read did: the shards it took from the watch and fetched, and the time that took. */
  get lastRead(): ShardReadStats {
    return this.#stats;
  }

  /**
   * Checks that the CA bundles the shards' backend groups name are in the generation (one shard holds them): those
   * of the shards new to the reader, or of every shard when the bundles changed (the others' were checked with the last
   * generation, against the same bundles).
   */
  #checkCaBundles(docs: readonly RoutingJson[], taken: ReadonlyMap<string, { doc: RoutingJson }>): void {
    const bundles = shardCaBundles(docs);
    const keys = [...bundles.keys()].join(",");
    const changed = keys !== this.#bundleKeys;
    const fresh = new Set([...taken.values()].map((f) => f.doc));
    const checked = docs.flatMap((doc, i) => changed || fresh.has(doc) ? [i] : []);
    checkCaBundleRefs(checked.map((i) => docs[i]), bundles, (j) => checked[j]);
    this.#bundleKeys = keys;
  }

  /**
   * Checks that no hostname is in two shards and records which shard holds each, looking only at the hostnames of
   * the shards new to the reader and of those they replace (the others' were checked with the last generation).
   */
  #takeHostnames(names: readonly string[], fresh: ReadonlyMap<string, { doc: RoutingJson }>): void {
    const position = new Map(names.map((name, i) => [name, i]));
    const released = new Set<string>();
    for (const [name, { doc }] of this.#shards) {
      if (position.has(name) && !fresh.has(name)) continue;
      for (const host of Object.keys(doc.vhosts)) if (this.#owners.get(host) === name) released.add(host);
    }
    const taken = new Map<string, string>();
    for (const [name, { doc }] of fresh) {
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
