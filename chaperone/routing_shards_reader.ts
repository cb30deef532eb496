/**
 * Reads a routing.json stored in shards (`ghost/contract/routing_shards.ts`): the Gateway's ConfigMap names the
 * shard ConfigMaps of the current generation and their hashes; this fetches the shards it does not hold yet (by
 * name: the chaperone may read only its own ConfigMaps), checks each against the manifest's hash, parses it once,
 * and joins them. A shard missing or of another generation means the generation is not whole yet: nothing of it
 * is applied, and the read fails to be retried (the operator writes the shards before the manifest, so this is
 * rare).
 *
 * @module
 */
import { assembleRouting, parseRoutingJson, parseRoutingManifest, type RoutingJson } from "../ghost/contract/mod.ts";
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

/**
 * Reads sharded routing.json generations, keeping the parsed shards of the last one read.
 *
 * @example Usage
 * ```ts ignore
 * import { ShardedRoutingReader } from "./routing_shards_reader.ts";
 * const reader = new ShardedRoutingReader(fetchShard);
 * const doc = await reader.read(manifestText); // throws ContractError or ShardsPendingError
 * ```
 */
export class ShardedRoutingReader {
  #fetch: ShardFetcher;
  /** The parsed shards of the last generation read, by ConfigMap name. */
  #shards = new Map<string, { hash: string; doc: RoutingJson }>();

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
   * @returns The whole routing.json document.
   * @throws {ContractError} When the manifest or a shard does not follow the contract.
   * @throws {ShardsPendingError} When a shard is missing or does not have the manifest's hash.
   */
  async read(manifestText: string): Promise<RoutingJson> {
    const manifest = parseRoutingManifest(manifestText);
    const wanted = manifest.shards.filter((s) => this.#shards.get(s.name)?.hash !== s.hash);
    const fetched = new Map<string, { hash: string; doc: RoutingJson }>();
    for (let i = 0; i < wanted.length; i += PARALLEL_FETCHES) {
      await Promise.all(
        wanted.slice(i, i + PARALLEL_FETCHES).map(async ({ name, hash }) => {
          const text = await this.#fetch(name);
          if (text === undefined) throw new ShardsPendingError(`routing.json shard ${name} does not exist yet`);
          if (contentHash(text) !== hash) {
            throw new ShardsPendingError(`routing.json shard ${name} is not the one of this generation yet`);
          }
          fetched.set(name, { hash, doc: parseRoutingJson(text) });
        }),
      );
    }
    const shards = manifest.shards.map((s) => fetched.get(s.name) ?? this.#shards.get(s.name)!);
    const doc = assembleRouting(shards.map((s) => s.doc));
    this.#shards = new Map(manifest.shards.map((s, i) => [s.name, shards[i]]));
    return doc;
  }
}
