/**
 * Watches the gateway's ConfigMap through the API (the mounted file lags by up to a minute) and decodes it.
 *
 * @module
 */
import { z } from "zod";
import type { KubeClient, ObjectWatcher } from "../internal/kube/mod.ts";
import { watchObject } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import { MAIN_VCL_KEY, ROUTING_JSON_GZ_KEY, ROUTING_JSON_KEY } from "../internal/names.ts";

/** The decoded content of the ConfigMap. */
export interface GatewayConfig {
  /** The ConfigMap's resourceVersion. */
  resourceVersion: string;
  /** main.vcl, when present. */
  mainVcl?: string;
  /** routing.json text (gunzipped when it came as binaryData), when present. */
  routingJson?: string;
  /** Why the ConfigMap could not be decoded, if it could not. */
  error?: string;
}

const configMapSchema = z.object({
  metadata: z.object({ resourceVersion: z.string().default("") }),
  data: z.record(z.string(), z.string()).nullish(),
  binaryData: z.record(z.string(), z.string()).nullish(),
});

async function gunzipBase64(text: string): Promise<string> {
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

/**
 * Decodes a ConfigMap object into {@linkcode GatewayConfig}: `main.vcl` and `routing.json` from `data`, or
 * `routing.json.gz` (gzip, base64 as binaryData always is) from `binaryData`.
 *
 * @param object The ConfigMap as JSON.
 * @returns The decoded configuration; `error` says what was wrong.
 */
export async function decodeConfigMap(object: unknown): Promise<GatewayConfig> {
  const parsed = configMapSchema.safeParse(object);
  if (!parsed.success) return { resourceVersion: "", error: `Cannot decode the ConfigMap: ${parsed.error.message}` };
  const { metadata, data, binaryData } = parsed.data;
  const config: GatewayConfig = { resourceVersion: metadata.resourceVersion, mainVcl: data?.[MAIN_VCL_KEY] };
  const gz = binaryData?.[ROUTING_JSON_GZ_KEY];
  if (gz !== undefined) {
    try {
      config.routingJson = await gunzipBase64(gz);
    } catch (err) {
      config.error = `Cannot decode ${ROUTING_JSON_GZ_KEY}: ${(err as Error).message}`;
    }
  } else {
    config.routingJson = data?.[ROUTING_JSON_KEY];
  }
  return config;
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
