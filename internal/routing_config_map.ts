/**
 * How the operator stores routing.json and main.vcl in a Gateway's ConfigMap: routing.json as text under
 * `data["routing.json"]` while it is small, gzip-compressed under `binaryData["routing.json.gz"]` beyond
 * {@linkcode ROUTING_GZIP_THRESHOLD}. The chaperone reads either.
 *
 * @module
 */
import { gzipSync } from "node:zlib";
import { MAIN_VCL_KEY, ROUTING_JSON_GZ_KEY, ROUTING_JSON_KEY } from "./names.ts";

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
  if (new TextEncoder().encode(routingJson).length <= ROUTING_GZIP_THRESHOLD) {
    return { data: { [MAIN_VCL_KEY]: mainVcl, [ROUTING_JSON_KEY]: routingJson } };
  }
  return {
    data: { [MAIN_VCL_KEY]: mainVcl },
    binaryData: { [ROUTING_JSON_GZ_KEY]: gzipSync(routingJson, { level: 6 }).toString("base64") },
  };
}
