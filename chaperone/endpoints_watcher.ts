/**
 * Watches the Services and EndpointSlices of the namespaces routing.json references, keeping them parsed and indexed
 * by Service: a change replaces the entry of the one Service it concerns, so that the sync tells which Services
 * changed by the identity of their entries.
 *
 * @module
 */
import type { KubeClient, KubeObject, Reflector } from "../internal/kube/mod.ts";
import { createReflector, objectKey } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import {
  type EndpointSliceView,
  endpointSliceViewSchema,
  SERVICE_NAME_LABEL,
  type ServiceView,
  serviceViewSchema,
} from "./kube_views.ts";
import type { EndpointsIndex, ServiceEndpoints } from "./merge_endpoints.ts";

interface NamespaceWatch {
  services: Reflector<KubeObject>;
  slices: Reflector<KubeObject>;
  parsedServices: Map<string, ServiceView>;
  parsedSlices: Map<string, EndpointSliceView>;
  /** The slices of each Service (`namespace/name`), by slice key. */
  slicesOf: Map<string, Map<string, EndpointSliceView>>;
}

/** Options for {@linkcode EndpointsWatcher}. */
export interface EndpointsWatcherOptions {
  /** Called after every change (and after a namespace is added or removed). */
  onChange: () => void;
  /** Logger. */
  log: Logger;
}

/**
 * Keeps one Service reflector and one EndpointSlice reflector per watched namespace (slices carrying the
 * `kubernetes.io/service-name` label only), each object parsed once as it arrives.
 *
 * @example Usage
 * ```ts ignore
 * import { EndpointsWatcher } from "./endpoints_watcher.ts";
 * const watcher = new EndpointsWatcher(client, { onChange: () => trigger(), log });
 * watcher.setNamespaces(["default"]);
 * await watcher.synced();
 * const byService = watcher.index();
 * await watcher.stop();
 * ```
 */
export class EndpointsWatcher {
  #client: KubeClient;
  #options: EndpointsWatcherOptions;
  #watches = new Map<string, NamespaceWatch>();
  /** Every watched namespace's Services and slices by Service. */
  #index = new Map<string, ServiceEndpoints>();
  /** The Services whose entry changed since {@linkcode EndpointsWatcher.takeChanged} last ran. */
  #changed = new Set<string>();

  /**
   * Creates the watcher; it watches nothing until {@linkcode EndpointsWatcher.setNamespaces}.
   *
   * @param client The API client.
   * @param options Change callback and logger.
   */
  constructor(client: KubeClient, options: EndpointsWatcherOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** The namespaces watched, sorted. */
  get namespaces(): string[] {
    return [...this.#watches.keys()].sort();
  }

  /**
   * Starts watching namespaces not yet watched and stops those no longer listed.
   *
   * @param namespaces The namespaces to watch.
   */
  setNamespaces(namespaces: readonly string[]): void {
    const wanted = new Set(namespaces);
    for (const [ns, watch] of this.#watches) {
      if (wanted.has(ns)) continue;
      this.#watches.delete(ns);
      for (const key of [...watch.parsedServices.keys(), ...watch.slicesOf.keys()]) {
        this.#index.delete(key);
        this.#changed.add(key);
      }
      void watch.services.stop();
      void watch.slices.stop();
      this.#options.log.info("Stopped watching endpoints", { namespace: ns });
    }
    for (const ns of wanted) {
      if (this.#watches.has(ns)) continue;
      const watch = this.#watch(ns);
      this.#watches.set(ns, watch);
      // An empty namespace lists no object, so no change would announce that it is synced.
      Promise.all([watch.services.synced, watch.slices.synced]).then(() => this.#options.onChange(), () => {});
      this.#options.log.info("Watching endpoints", { namespace: ns });
    }
    this.#options.onChange();
  }

  #watch(namespace: string): NamespaceWatch {
    const log = this.#options.log.child({ namespace });
    const parsedServices = new Map<string, ServiceView>();
    const parsedSlices = new Map<string, EndpointSliceView>();
    const slicesOf = new Map<string, Map<string, EndpointSliceView>>();
    /** A new entry for the Service `key` (namespace/name), or none once nothing names it. */
    const reindex = (key: string) => {
      this.#changed.add(key);
      const service = parsedServices.get(key);
      const slices = slicesOf.get(key);
      if (service === undefined && slices === undefined) this.#index.delete(key);
      else this.#index.set(key, { service, slices: [...slices?.values() ?? []] });
    };
    const ownerOf = (slice: EndpointSliceView | undefined) => {
      const owner = slice?.metadata.labels[SERVICE_NAME_LABEL];
      return owner === undefined ? undefined : `${namespace}/${owner}`;
    };
    const setSlice = (key: string, slice: EndpointSliceView | undefined) => {
      const old = ownerOf(parsedSlices.get(key));
      if (old !== undefined) {
        const set = slicesOf.get(old)!;
        set.delete(key);
        if (set.size === 0) slicesOf.delete(old);
      }
      if (slice === undefined) parsedSlices.delete(key);
      else parsedSlices.set(key, slice);
      const owner = ownerOf(slice);
      if (owner !== undefined) {
        let set = slicesOf.get(owner);
        if (set === undefined) slicesOf.set(owner, set = new Map());
        set.set(key, slice!);
        reindex(owner);
      }
      if (old !== undefined && old !== owner) reindex(old);
    };
    const setService = (key: string, service: ServiceView | undefined) => {
      if (service === undefined) parsedServices.delete(key);
      else parsedServices.set(key, service);
      reindex(key);
    };
    const track =
      <V>(set: (key: string, value: V | undefined) => void, parse: (o: unknown) => V, kind: string) =>
      (old: KubeObject | undefined, current: KubeObject | undefined) => {
        if (current === undefined) {
          if (old) set(objectKey(old), undefined);
        } else {
          try {
            set(objectKey(current), parse(current));
          } catch (err) {
            log.warn("Object ignored: unexpected shape", { kind, name: current.metadata.name, err });
            set(objectKey(current), undefined);
          }
        }
        this.#options.onChange();
      };
    const services = createReflector<KubeObject>(this.#client, {
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/services`,
      onChange: track(setService, (o) => serviceViewSchema.parse(o), "Service"),
      log,
    });
    const slices = createReflector<KubeObject>(this.#client, {
      path: `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`,
      labelSelector: SERVICE_NAME_LABEL,
      onChange: track(setSlice, (o) => endpointSliceViewSchema.parse(o), "EndpointSlice"),
      log,
    });
    return { services, slices, parsedServices, parsedSlices, slicesOf };
  }

  /** Resolves when every watched namespace has listed its objects once. */
  async synced(): Promise<void> {
    await Promise.all([...this.#watches.values()].flatMap((w) => [w.services.synced, w.slices.synced]));
  }

  /**
   * Tells whether namespaces are watched and have listed once.
   *
   * @param namespaces The namespaces to check. @default {every watched namespace}
   * @returns False when one of them is not watched or has not listed yet.
   */
  isSynced(namespaces?: readonly string[]): boolean {
    const watches = namespaces ? namespaces.map((ns) => this.#watches.get(ns)) : [...this.#watches.values()];
    return watches.every((w) => w !== undefined && w.services.stats().lists > 0 && w.slices.stats().lists > 0);
  }

  /** Tells whether every reflector's last request succeeded. */
  healthy(): boolean {
    return [...this.#watches.values()].every((w) => w.services.healthy() && w.slices.healthy());
  }

  /** The current Services and EndpointSlices of all watched namespaces by Service, kept up to date in place. */
  index(): EndpointsIndex {
    return this.#index;
  }

  /** The Services (`namespace/name`) whose entry changed since the last call; for the one builder of ghost.json. */
  takeChanged(): Set<string> {
    const changed = this.#changed;
    this.#changed = new Set();
    return changed;
  }

  /** Stops every reflector. */
  async stop(): Promise<void> {
    const watches = [...this.#watches.values()];
    this.#watches.clear();
    this.#index.clear();
    await Promise.all(watches.flatMap((w) => [w.services.stop(), w.slices.stop()]));
  }
}
