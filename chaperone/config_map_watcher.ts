/**
 * Watches the gateway's ConfigMap through the API (the mounted file lags by up to a minute) and decodes it.
 *
 * @module
 */
import { z } from "zod";
import type { KubeClient, KubeObject, Reflector } from "../internal/kube/mod.ts";
import { createReflector } from "../internal/kube/mod.ts";
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

/** Options for {@linkcode ConfigMapWatcher}. */
export interface ConfigMapWatcherOptions {
  /** The namespace. */
  namespace: string;
  /** The ConfigMap's name. */
  name: string;
  /** Called after every change. */
  onChange: () => void;
  /** Logger. */
  log: Logger;
}

/**
 * A reflector on one ConfigMap (field selector on its name).
 *
 * @example Usage
 * ```ts ignore
 * import { ConfigMapWatcher } from "./config_map_watcher.ts";
 * const watcher = new ConfigMapWatcher(client, { namespace: "default", name: "gw-lacquer", onChange, log });
 * await watcher.synced;
 * const config = await watcher.current();
 * ```
 */
export class ConfigMapWatcher {
  #reflector: Reflector<KubeObject>;
  #key: string;
  #cache: { rv: string; config: Promise<GatewayConfig> } | undefined;

  /**
   * Starts watching.
   *
   * @param client The API client.
   * @param options Which ConfigMap, and whom to tell.
   */
  constructor(client: KubeClient, options: ConfigMapWatcherOptions) {
    this.#key = `${options.namespace}/${options.name}`;
    this.#reflector = createReflector<KubeObject>(client, {
      path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/configmaps`,
      fieldSelector: `metadata.name=${options.name}`,
      onChange: () => options.onChange(),
      log: options.log.child({ configMap: this.#key }),
    });
  }

  /** Resolves after the first list. */
  get synced(): Promise<void> {
    return this.#reflector.synced;
  }

  /** Tells whether the last request to the API server succeeded. */
  healthy(): boolean {
    return this.#reflector.healthy();
  }

  /** Returns the decoded ConfigMap, or undefined while it does not exist. Decodes each version once. */
  current(): Promise<GatewayConfig | undefined> {
    const object = this.#reflector.get(this.#key);
    if (object === undefined) return Promise.resolve(undefined);
    const rv = object.metadata.resourceVersion ?? "";
    if (this.#cache?.rv !== rv || rv === "") this.#cache = { rv, config: decodeConfigMap(object) };
    return this.#cache.config;
  }

  /** Stops the reflector. */
  async stop(): Promise<void> {
    await this.#reflector.stop();
  }
}
