/**
 * Watches the gateway's ConfigMap through the API (the mounted file lags by up to a minute) and decodes it.
 *
 * @module
 */
import { z } from "zod";
import { KubeApiError, type KubeClient, type ObjectWatcher } from "../internal/kube/mod.ts";
import { watchObject } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import { readRoutingConfigMapData } from "../internal/routing_config_map.ts";
import { routingSequenceOf } from "../internal/routing_push.ts";
import type { HeldShard } from "./routing_shards_reader.ts";

/** The decoded content of the ConfigMap. */
export interface GatewayConfig {
  /** The ConfigMap's resourceVersion. */
  resourceVersion: string;
  /** main.vcl, when present. */
  mainVcl?: string;
  /** routing.json text (gunzipped when it came as binaryData), when present. */
  routingJson?: string;
  /** The routing-shards.json text, when routing.json is stored in shards. */
  routingShards?: string;
  /** Why the ConfigMap could not be decoded, if it could not. */
  error?: string;
  /** The routing generation's sequence number, when the operator gave it one. */
  sequence?: number;
  /** Shards that came with it (a push), by ConfigMap name: taken before those watched or fetched. */
  shards?: ReadonlyMap<string, HeldShard>;
}

const configMapSchema = z.object({
  metadata: z.object({
    resourceVersion: z.string().default(""),
    annotations: z.record(z.string(), z.string()).nullish(),
  }),
  data: z.record(z.string(), z.string()).nullish(),
  binaryData: z.record(z.string(), z.string()).nullish(),
});

/**
 * Decodes a ConfigMap object into {@linkcode GatewayConfig}: `main.vcl` and `routing.json` from `data`, or
 * `routing.json.gz` (gzip, base64 as binaryData always is) from `binaryData`.
 *
 * @param object The ConfigMap as JSON.
 * @returns The decoded configuration; `error` says what was wrong.
 */
export function decodeConfigMap(object: unknown): Promise<GatewayConfig> {
  const parsed = configMapSchema.safeParse(object);
  if (!parsed.success) {
    return Promise.resolve({ resourceVersion: "", error: `Cannot decode the ConfigMap: ${parsed.error.message}` });
  }
  const sequence = routingSequenceOf(parsed.data.metadata.annotations);
  return Promise.resolve({
    resourceVersion: parsed.data.metadata.resourceVersion,
    ...readRoutingConfigMapData(parsed.data),
    ...(sequence !== undefined && { sequence }),
  });
}

/**
 * Fetches a routing.json shard's ConfigMap by name (what a read falls back to when the watch of the shards does not
 * hold it in time) and decodes its routing.json.
 *
 * @example Usage
 * ```ts ignore
 * import { fetchRoutingShard } from "./config_map_watcher.ts";
 * const text = await fetchRoutingShard(client, "default", "gw-lacquer-r3");
 * ```
 *
 * @param client The API client.
 * @param namespace The gateway's namespace.
 * @param name The shard ConfigMap's name.
 * @returns Its routing.json text; undefined when it does not exist.
 * @throws {Error} When it cannot be read or decoded.
 */
export async function fetchRoutingShard(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<string | undefined> {
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${encodeURIComponent(name)}`;
  let object: unknown;
  try {
    object = await client.request(path);
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 404) return undefined;
    throw err;
  }
  const config = await decodeConfigMap(object);
  if (config.error !== undefined) throw new Error(`Cannot read routing.json shard ${name}: ${config.error}`);
  return config.routingJson;
}

/**
 * Watches the gateway's ConfigMap by name; {@linkcode ObjectWatcher.current} decodes each version once.
 *
 * @example Usage
 * ```ts ignore
 * import { watchConfigMap } from "./config_map_watcher.ts";
 * const configMap = watchConfigMap(client, { namespace: "default", name: "gw-lacquer", onChange, log });
 * await configMap.synced;
 * const config = await configMap.current();
 * ```
 *
 * @param client The API client.
 * @param options Which ConfigMap, and whom to tell.
 * @returns The watcher.
 */
export function watchConfigMap(
  client: KubeClient,
  options: { namespace: string; name: string; onChange: () => void; log: Logger },
): ObjectWatcher<Promise<GatewayConfig>> {
  return watchObject(client, { ...options, resource: "configmaps", decode: decodeConfigMap });
}
