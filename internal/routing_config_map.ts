/**
 * The routing.json codec of a Gateway's ConfigMap, both directions in one place: the operator stores routing.json
 * as text under `data["routing.json"]` while it is small, gzip-compressed under `binaryData["routing.json.gz"]`
 * beyond {@linkcode ROUTING_GZIP_THRESHOLD}, beside `data["main.vcl"]`; the chaperone reads either. A large
 * routing.json is stored in shards instead (`ghost/contract/routing_shards.ts`): the Gateway's ConfigMap carries
 * `data["routing-shards.json"]`, and each shard ConfigMap carries its routing.json text the same two ways.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { gunzipSync, gzipSync } from "node:zlib";
import { MAIN_VCL_KEY, ROUTING_JSON_GZ_KEY, ROUTING_JSON_KEY, ROUTING_SHARDS_KEY } from "./names.ts";

/**
 * routing.json texts larger than this many bytes are stored gzip-compressed. A ConfigMap holds at most 1 MiB, and
 * the API server's write of a large object dominates the time from a route change to traffic (measured with
 * `deno task bench:propagation`: 1,000 routes, about 200 kB, write p99 about 90 ms plain, about 30 ms compressed).
 */
export const ROUTING_GZIP_THRESHOLD = 32 * 1024;

/** The `data` and, for a large routing.json, `binaryData` of a Gateway's ConfigMap. */
export interface RoutingConfigMapData {
  /** main.vcl, and routing.json while it is small. */
  data: Record<string, string>;
  /** routing.json gzip-compressed and base64-encoded, when it is large. */
  binaryData?: Record<string, string>;
}

/** What a Gateway's ConfigMap carries, decoded. */
export interface RoutingConfig {
  /** The routing.json text, when present. */
  routingJson?: string;
  /** The main.vcl text, when present. */
  mainVcl?: string;
  /** The routing-shards.json text, when routing.json is stored in shards (`routingJson` is then missing). */
  routingShards?: string;
  /** Why routing.json could not be decoded, if it could not (`routingJson` is then missing). */
  error?: string;
}

/**
 * Builds the ConfigMap content for a Gateway's routing.json and main.vcl.
 *
 * @example Usage
 * ```ts
 * import { routingConfigMapData } from "./routing_config_map.ts";
 * routingConfigMapData('{"version":1,"listeners":[],"vhosts":{}}\n', "vcl 4.1;\n").binaryData; // undefined
 * ```
 *
 * @param routingJson The routing.json text.
 * @param mainVcl The main.vcl text.
 * @returns The `data` and optional `binaryData` fields.
 */
export function routingConfigMapData(routingJson: string, mainVcl: string): RoutingConfigMapData {
  const { data, binaryData } = routingJsonData(routingJson);
  return { data: { [MAIN_VCL_KEY]: mainVcl, ...data }, ...(binaryData ? { binaryData } : {}) };
}

/**
 * Builds the content of a ConfigMap that carries only a routing.json text (a shard's), stored as in
 * {@linkcode routingConfigMapData}.
 *
 * @example Usage
 * ```ts
 * import { routingJsonData } from "./routing_config_map.ts";
 * routingJsonData("{}\n"); // { data: { "routing.json": "{}\n" } }
 * ```
 *
 * @param routingJson The routing.json text.
 * @returns The `data` and optional `binaryData` fields.
 */
export function routingJsonData(routingJson: string): RoutingConfigMapData {
  if (Buffer.byteLength(routingJson, "utf8") <= ROUTING_GZIP_THRESHOLD) {
    return { data: { [ROUTING_JSON_KEY]: routingJson } };
  }
  return { data: {}, binaryData: { [ROUTING_JSON_GZ_KEY]: gzipSync(routingJson, { level: 6 }).toString("base64") } };
}

/**
 * Builds the content of a Gateway's ConfigMap whose routing.json is stored in shards: main.vcl and the manifest.
 *
 * @example Usage
 * ```ts
 * import { shardedConfigMapData } from "./routing_config_map.ts";
 * shardedConfigMapData('{"version":1,"shards":[]}\n', "vcl 4.1;\n").data["routing-shards.json"];
 * ```
 *
 * @param manifest The routing-shards.json text.
 * @param mainVcl The main.vcl text.
 * @returns The `data` field.
 */
export function shardedConfigMapData(manifest: string, mainVcl: string): RoutingConfigMapData {
  return { data: { [MAIN_VCL_KEY]: mainVcl, [ROUTING_SHARDS_KEY]: manifest } };
}

/**
 * Reads routing.json and main.vcl back from a ConfigMap's `data` and `binaryData`: the inverse of
 * {@linkcode routingConfigMapData}, {@linkcode routingJsonData} and {@linkcode shardedConfigMapData}. A manifest wins
 * over routing.json, a compressed routing.json over a plain one; one that does not decode is reported in `error`,
 * not thrown (it comes from the cluster, not from us).
 *
 * @example Usage
 * ```ts
 * import { readRoutingConfigMapData, routingConfigMapData } from "./routing_config_map.ts";
 * readRoutingConfigMapData(routingConfigMapData("{}\n", "vcl 4.1;\n")); // { routingJson: "{}\n", mainVcl: "vcl 4.1;\n" }
 * ```
 *
 * @param content The ConfigMap's `data` and `binaryData` (either may be missing or null).
 * @returns The texts found, and the decoding problem, if any.
 */
export function readRoutingConfigMapData(
  content: { data?: Record<string, string> | null; binaryData?: Record<string, string> | null },
): RoutingConfig {
  const mainVcl = content.data?.[MAIN_VCL_KEY];
  const routingShards = content.data?.[ROUTING_SHARDS_KEY];
  if (routingShards !== undefined) return { routingShards, mainVcl };
  const gz = content.binaryData?.[ROUTING_JSON_GZ_KEY];
  if (gz === undefined) return { routingJson: content.data?.[ROUTING_JSON_KEY], mainVcl };
  try {
    return { routingJson: gunzipSync(Buffer.from(gz, "base64")).toString("utf8"), mainVcl };
  } catch (err) {
    return { mainVcl, error: `Cannot decode ${ROUTING_JSON_GZ_KEY}: ${(err as Error).message}` };
  }
}
