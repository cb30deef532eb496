/**
 * Watches the gateway's TLS Secret through the API (one object, by field selector) and decodes its data, so that a
 * rotated certificate reaches hitch without a pod restart.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { z } from "zod";
import type { KubeClient, KubeObject, Reflector } from "../internal/kube/mod.ts";
import { createReflector } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";

/** Options of {@linkcode TlsSecretWatcher}. */
export interface TlsSecretWatcherOptions {
  /** The namespace. */
  namespace: string;
  /** The Secret's name (`<gateway>-lacquer-tls`). */
  name: string;
  /** Called after every change. */
  onChange: () => void;
  /** Logger. */
  log: Logger;
}

const secretSchema = z.object({
  metadata: z.object({ resourceVersion: z.string().default("") }),
  data: z.record(z.string(), z.string()).nullish(),
});

/**
 * Decodes a Secret's data (base64 values) into text.
 *
 * @param object The Secret as JSON.
 * @returns The decoded data; undefined when the object is not a Secret.
 */
export function decodeSecretData(object: unknown): Record<string, string> | undefined {
  const parsed = secretSchema.safeParse(object);
  if (!parsed.success) return undefined;
  return Object.fromEntries(
    Object.entries(parsed.data.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
}

/**
 * A reflector on the TLS Secret of the gateway.
 *
 * @example Usage
 * ```ts ignore
 * import { TlsSecretWatcher } from "./tls_secret_watcher.ts";
 * const watcher = new TlsSecretWatcher(client, { namespace: "default", name: "gw-lacquer-tls", onChange, log });
 * await watcher.synced;
 * const data = watcher.current();
 * ```
 */
export class TlsSecretWatcher {
  #reflector: Reflector<KubeObject>;
  #key: string;
  #cache: { rv: string; data: Record<string, string> | undefined } | undefined;

  /**
   * Starts watching.
   *
   * @param client The API client.
   * @param options Which Secret, and whom to tell.
   */
  constructor(client: KubeClient, options: TlsSecretWatcherOptions) {
    this.#key = `${options.namespace}/${options.name}`;
    this.#reflector = createReflector<KubeObject>(client, {
      path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/secrets`,
      fieldSelector: `metadata.name=${options.name}`,
      onChange: () => options.onChange(),
      log: options.log.child({ secret: this.#key }),
    });
  }

  /** Resolves after the first list. */
  get synced(): Promise<void> {
    return this.#reflector.synced;
  }

  /** Returns the decoded data, or undefined while the Secret does not exist. Decodes each version once. */
  current(): Record<string, string> | undefined {
    const object = this.#reflector.get(this.#key);
    if (object === undefined) return undefined;
    const rv = object.metadata.resourceVersion ?? "";
    if (this.#cache?.rv !== rv || rv === "") this.#cache = { rv, data: decodeSecretData(object) };
    return this.#cache.data;
  }

  /** Stops the reflector. */
  async stop(): Promise<void> {
    await this.#reflector.stop();
  }
}
