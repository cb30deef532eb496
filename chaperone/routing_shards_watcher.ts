/**
 * Watches the routing.json shard ConfigMaps of the chaperone's Gateway (by their label, `ROUTING_SHARDS_OF_LABEL`),
 * so that the shards a new manifest names are usually held by the time it arrives: the operator writes them just
 * before it, and a GET per shard after the manifest's event was one more API round trip on the change's path. Each
 * shard is decoded and hashed as its event arrives, and parsed once when the reader (`routing_shards_reader.ts`)
 * first takes it: a shard that also came with a pushed generation is never parsed here, and its event, which often
 * arrives while that generation is being applied, costs the sync no parse. The reader takes those whose hash the
 * manifest names, and still fetches by name what the watch does not hold in time.
 *
 * What is held is what the cluster holds: a deleted shard leaves with its event (or with the relist that follows a
 * lost watch, which replaces the whole set at once, so no shard still there goes missing meanwhile), and the operator
 * deletes the shards no manifest names once the manifest naming their successors is written. A relist decodes again
 * only the shards whose resourceVersion changed.
 *
 * @module
 */
import { parseRoutingShard, type RoutingJson, shardHashMatches } from "../ghost/contract/mod.ts";
import { contentHash } from "../internal/content_hash.ts";
import { createReflector, type KubeClient, type KubeObject, objectKey, type Reflector } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import { ROUTING_SHARDS_OF_LABEL, routingShardsLabelValue } from "../internal/names.ts";
import { readRoutingConfigMapData } from "../internal/routing_config_map.ts";
import type { HeldShard, ShardSource } from "./routing_shards_reader.ts";

/** A shard ConfigMap as the reflector keeps it: its name and version, and the shard, without the text. */
interface ShardObject extends KubeObject {
  /** The shard; undefined when its ConfigMap carries no routing.json that decodes (a GET by name then says why). */
  shard?: HeldShard;
}

/**
 * Decodes and hashes a shard ConfigMap's routing.json, and parses it when its `doc` or `error` is first read (then
 * drops the text).
 *
 * @example Usage
 * ```ts
 * import { heldShard } from "./routing_shards_watcher.ts";
 * heldShard({ metadata: { name: "gw-lacquer-r0" }, data: { "routing.json": '{"version":1,"vhosts":{}}' } })?.hash;
 * ```
 *
 * @param object The ConfigMap.
 * @returns The shard (`error` when it does not follow the contract), or undefined when it carries no routing.json.
 */
export function heldShard(object: KubeObject): HeldShard | undefined {
  const content = object as { data?: Record<string, string> | null; binaryData?: Record<string, string> | null };
  const { routingJson } = readRoutingConfigMapData(content);
  if (routingJson === undefined) return undefined;
  return new LazyShard(routingJson);
}

/** A shard hashed at once and parsed on first use. */
class LazyShard implements HeldShard {
  readonly hash: string;
  #text: string | undefined;
  #doc: RoutingJson | undefined;
  #error: Error | undefined;

  constructor(text: string) {
    this.hash = contentHash(text);
    this.#text = text;
  }

  get doc(): RoutingJson | undefined {
    this.#parse();
    return this.#doc;
  }

  get error(): Error | undefined {
    this.#parse();
    return this.#error;
  }

  #parse(): void {
    if (this.#text === undefined) return;
    try {
      this.#doc = parseRoutingShard(this.#text);
    } catch (err) {
      this.#error = err as Error;
    }
    this.#text = undefined;
  }
}

/** The watch of a Gateway's shards, a {@linkcode ShardSource} for the reader. */
export interface RoutingShardsWatch extends ShardSource {
  /** Stops watching. */
  stop(): Promise<void>;
}

/**
 * Starts watching the routing.json shards of a Gateway's ConfigMap.
 *
 * @example Usage
 * ```ts ignore
 * import { watchRoutingShards } from "./routing_shards_watcher.ts";
 * const shards = watchRoutingShards(client, { namespace: "default", configMap: "gw-lacquer", log });
 * const reader = new ShardedRoutingReader(fetchShard, shards);
 * ```
 *
 * @param client The API client.
 * @param options The Gateway's namespace and ConfigMap name, and the logger.
 * @returns The running watch.
 */
export function watchRoutingShards(
  client: KubeClient,
  options: { namespace: string; configMap: string; log: Logger },
): RoutingShardsWatch {
  return new ShardWatch(client, options);
}

class ShardWatch implements RoutingShardsWatch {
  readonly synced: Promise<void>;
  #namespace: string;
  #reflector: Reflector<ShardObject>;
  #listed = false;
  /** Checks of the readers waiting for shards, run on every shard that arrives. */
  #waiters = new Set<() => void>();

  constructor(client: KubeClient, options: { namespace: string; configMap: string; log: Logger }) {
    this.#namespace = options.namespace;
    this.#reflector = createReflector<ShardObject>(client, {
      path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/configmaps`,
      labelSelector: `${ROUTING_SHARDS_OF_LABEL}=${routingShardsLabelValue(options.configMap)}`,
      transform: (object) => {
        const { name, namespace, resourceVersion } = object.metadata;
        // a relist hands back every shard: one of the same version is the one held, parsed already
        const kept = this.#reflector?.get(objectKey(object));
        if (kept !== undefined && resourceVersion && kept.metadata.resourceVersion === resourceVersion) return kept;
        return { metadata: { name, namespace, resourceVersion }, shard: heldShard(object) };
      },
      onChange: (_, current) => {
        if (current?.shard !== undefined) { for (const check of this.#waiters) check(); }
      },
      // nothing to re-deliver: the reader asks for what it needs
      resyncMs: 0,
      log: options.log,
    });
    this.synced = this.#reflector.synced;
    this.synced.then(() => {
      this.#listed = true;
    }, () => {});
  }

  listed(): boolean {
    return this.#listed;
  }

  held(name: string): HeldShard | undefined {
    return this.#reflector.get(`${this.#namespace}/${name}`)?.shard;
  }

  arrival(shards: readonly { name: string; hash: string }[], ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (shards.every((s) => this.#holds(s))) done();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(check);
      check();
    });
  }

  /** Whether the shard is held with the text a manifest names. */
  #holds(shard: { name: string; hash: string }): boolean {
    const held = this.held(shard.name);
    return held !== undefined && shardHashMatches(shard.hash, held.hash);
  }

  stop(): Promise<void> {
    return this.#reflector.stop();
  }
}
