/**
 * Watching one named object (the chaperone's ConfigMap, its TLS Secret): a reflector with a field selector on the
 * name, and the object decoded once per resourceVersion.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { KubeClient } from "./kube_client.ts";
import { createReflector, type KubeObject } from "./reflector.ts";

/** Options of {@linkcode watchObject}. */
export interface WatchObjectOptions<T> {
  /** The resource (plural), e.g. `configmaps`. */
  resource: string;
  /** The API group path. @default {"/api/v1"} */
  apiPath?: string;
  /** The namespace. */
  namespace: string;
  /** The object's name. */
  name: string;
  /** Decodes the object; called once per resourceVersion. */
  decode: (object: KubeObject) => T;
  /** Called after every change. */
  onChange: () => void;
  /** Logger. */
  log: Logger;
}

/** A watched object. */
export interface ObjectWatcher<T> {
  /** Resolves after the first list. */
  readonly synced: Promise<void>;
  /** Tells whether the last request to the API server succeeded. */
  healthy(): boolean;
  /** The decoded object, or undefined while it does not exist. */
  current(): T | undefined;
  /** Stops watching. */
  stop(): Promise<void>;
}

/**
 * Watches one object by name.
 *
 * @example Usage
 * ```ts ignore
 * import { watchObject } from "./object_watcher.ts";
 * const cm = watchObject(client, { resource: "configmaps", namespace: "default", name: "gw-lacquer",
 *   decode: (o) => o, onChange, log });
 * await cm.synced;
 * cm.current();
 * ```
 *
 * @param client The API client.
 * @param options Which object, how to decode it, and whom to tell.
 * @returns The watcher.
 */
export function watchObject<T>(client: KubeClient, options: WatchObjectOptions<T>): ObjectWatcher<T> {
  const key = `${options.namespace}/${options.name}`;
  const reflector = createReflector<KubeObject>(client, {
    path: `${options.apiPath ?? "/api/v1"}/namespaces/${encodeURIComponent(options.namespace)}/${options.resource}`,
    fieldSelector: `metadata.name=${options.name}`,
    onChange: () => options.onChange(),
    log: options.log.child({ object: `${options.resource}/${key}` }),
  });
  let cache: { rv: string; value: T } | undefined;
  return {
    synced: reflector.synced,
    healthy: () => reflector.healthy(),
    current() {
      const object = reflector.get(key);
      if (object === undefined) return undefined;
      const rv = object.metadata.resourceVersion ?? "";
      if (cache?.rv !== rv || rv === "") cache = { rv, value: options.decode(object) };
      return cache.value;
    },
    stop: () => reflector.stop(),
  };
}
