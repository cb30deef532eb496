/**
 * The objects Gateways reference, watched only while a Gateway references them: backend Services per namespace
 * (a namespace's Services are small, and routes often name many of them), and by name the certificateRef Secrets
 * and the user VCL ConfigMaps of GatewayParameters (large, and few of a namespace's are ours to read). So the
 * operator never holds the cluster's unrelated ConfigMaps, Secrets or Services. The Gateways' own Secrets (children,
 * by label) are watched per namespace the same way (`ChildSecrets:<ns>`): the operator may hold no right to list
 * the cluster's Secrets (`secret_access.ts`).
 *
 * Each Gateway declares its dependency keys (`operator/dependencies.ts`) before it is translated;
 * {@linkcode ReferenceWatcher.watch} starts the watches it lacks, stops those no Gateway needs any more, and waits
 * until the Gateway's are synced, so a translation never mistakes a reference that is not loaded yet for a missing
 * object.
 *
 * @module
 */
import type { KubeClient } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import type { KubeObject } from "../internal/kube/mod.ts";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "../internal/names.ts";
import { compactConfigMap, compactService, compactTlsSecret, metadataOnly } from "./compact_objects.ts";
import { type ChangeHandler, type KindCache, type WatchedKind, watchKind } from "./kind_cache.ts";
import { kindSchema } from "./snapshot.ts";
import { watchesNamespace, type WatchScope } from "./watch_scope.ts";

/**
 * How each referenced kind is watched: per namespace (optionally by label, under another kind name), or by name (with
 * a further field selector).
 */
const REFERENCED: Record<
  string,
  Pick<WatchedKind, "compact" | "schema" | "labelSelector"> & { resource: string; byName?: string; kind?: string }
> = {
  Service: { resource: "services", compact: compactService, schema: kindSchema("/Service") },
  Secret: {
    resource: "secrets",
    byName: "type=kubernetes.io/tls",
    compact: compactTlsSecret,
    schema: kindSchema("/Secret"),
  },
  ConfigMap: { resource: "configmaps", byName: "", compact: compactConfigMap, schema: kindSchema("/ConfigMap") },
  // The Gateways' own Secrets (TLS, admin token): only their metadata, which tells whether they are current.
  ChildSecrets: {
    resource: "secrets",
    kind: "Secret",
    labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
    compact: metadataOnly,
  },
};

/**
 * Returns the watch that covers a dependency key: `Service:<ns>/<name>` is covered by the watch of the namespace's
 * Services, `Secret:` and `ConfigMap:` keys by a watch of that one object, `ChildSecrets:<ns>` by the watch of the
 * namespace's Lacquer-labelled Secrets.
 *
 * @param dep A dependency key.
 * @returns The watch, with its id and the object's key; undefined when the key names no watched object.
 */
export function referenceWatch(dep: string): (WatchedKind & { id: string; key: string }) | undefined {
  const colon = dep.indexOf(":");
  const depKind = dep.slice(0, colon);
  const key = dep.slice(colon + 1);
  const [ns, name] = key.split("/");
  const how = REFERENCED[depKind];
  if (!how || !ns || (!name && how.labelSelector === undefined)) return undefined;
  const { resource, byName, kind = depKind, ...parse } = how;
  const path = `/api/v1/namespaces/${ns}/${resource}`;
  if (byName === undefined) return { id: `${depKind}:${ns}`, key, kind, path, ...parse };
  const fieldSelector = [`metadata.name=${name}`, byName].filter((s) => s).join(",");
  return { id: dep, key, kind, path, fieldSelector, ...parse };
}

/** Options for {@linkcode ReferenceWatcher}. */
export interface ReferenceWatcherOptions {
  /** Logger. */
  log: Logger;
  /** Receives changes of referenced objects (only enqueue keys here). */
  onChange: ChangeHandler;
  /** Counts objects that failed to parse, by kind. */
  parseErrors: Map<string, number>;
  /** How long {@linkcode ReferenceWatcher.watch} waits for new watches to sync. @default {10000} */
  syncTimeoutMs?: number;
  /** Only references into these namespaces are watched; others read as missing. @default {every namespace} */
  namespaces?: WatchScope;
}

interface Scope {
  cache: KindCache;
  owners: Set<string>;
}

/** Watches of referenced objects, shared and reference-counted by the Gateways (owners) that need them. */
export class ReferenceWatcher {
  #client: KubeClient;
  #o: ReferenceWatcherOptions;
  #scopes = new Map<string, Scope>();
  #byOwner = new Map<string, Set<string>>();
  #stopping = new Set<Promise<void>>();

  /** Creates the set; nothing is watched until an owner asks. */
  constructor(client: KubeClient, options: ReferenceWatcherOptions) {
    this.#client = client;
    this.#o = options;
  }

  /**
   * Makes the watches of an owner's dependencies current and waits until they are synced. Watches no owner needs
   * any more are stopped.
   *
   * @param owner The owner (a Gateway key).
   * @param deps Its dependency keys; an empty list releases everything it held.
   * @throws {Error} When a watch does not sync in time (retry later; the watch keeps trying).
   */
  async watch(owner: string, deps: readonly string[]): Promise<void> {
    const wanted = new Map<string, WatchedKind>();
    for (const dep of deps) {
      const w = referenceWatch(dep);
      if (w && watchesNamespace(this.#o.namespaces, w.key.split("/")[0])) wanted.set(w.id, w);
    }
    const held = this.#byOwner.get(owner) ?? new Set<string>();
    for (const id of held) if (!wanted.has(id)) this.#release(owner, id);
    for (const [id, kind] of wanted) {
      let scope = this.#scopes.get(id);
      if (!scope) {
        // The reference's path is already namespaced: no scope to apply.
        const cache = watchKind(this.#client, kind, { ...this.#o, namespaces: undefined });
        this.#scopes.set(id, scope = { cache, owners: new Set() });
      }
      scope.owners.add(owner);
    }
    if (wanted.size === 0) this.#byOwner.delete(owner);
    else this.#byOwner.set(owner, new Set(wanted.keys()));
    const limit = this.#o.syncTimeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Cannot read the objects ${owner} references: their watches did not sync`)),
        limit,
      );
    });
    try {
      await Promise.race([
        Promise.all([...wanted.keys()].map((id) => this.#scopes.get(id)!.cache.reflector.synced)),
        late,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  #release(owner: string, id: string): void {
    const scope = this.#scopes.get(id);
    if (!scope) return;
    scope.owners.delete(owner);
    if (scope.owners.size > 0) return;
    this.#scopes.delete(id);
    const stopped = scope.cache.reflector.stop();
    this.#stopping.add(stopped);
    stopped.finally(() => this.#stopping.delete(stopped));
  }

  /**
   * Returns the parsed object a dependency key names, if it is watched and exists.
   *
   * @param dep A dependency key such as `Service:ns/name`.
   * @returns The parsed object or undefined.
   */
  get(dep: string): unknown {
    const w = referenceWatch(dep);
    return w ? this.#scopes.get(w.id)?.cache.parsed.get(w.key) : undefined;
  }

  /**
   * Returns the Gateways' own objects of a kind that the per-namespace, labelled watches hold (`ChildSecrets:<ns>`).
   *
   * @param kind The kind (`Secret`).
   * @returns The compact objects.
   */
  children(kind: string): KubeObject[] {
    return [...this.#scopes.values()]
      .filter((s) => s.cache.kind.kind === kind && s.cache.kind.labelSelector !== undefined)
      .flatMap((s) => s.cache.reflector.list());
  }

  /** Tells whether every watch's last request succeeded. */
  healthy(): boolean {
    return [...this.#scopes.values()].every((s) => s.cache.reflector.healthy());
  }

  /** Number of watches and of cached objects per kind, the Gateways' own objects (`children`) apart. */
  counts(): { watches: Record<string, number>; objects: Record<string, number>; children: Record<string, number> } {
    const watches: Record<string, number> = {};
    const objects: Record<string, number> = {};
    const children: Record<string, number> = {};
    for (const { cache } of this.#scopes.values()) {
      const kind = cache.kind.kind;
      const counted = cache.kind.labelSelector === undefined ? objects : children;
      watches[kind] = (watches[kind] ?? 0) + 1;
      counted[kind] = (counted[kind] ?? 0) + cache.reflector.list().length;
    }
    return { watches, objects, children };
  }

  /** Stops every watch. */
  async stop(): Promise<void> {
    const scopes = [...this.#scopes.values()];
    this.#scopes.clear();
    this.#byOwner.clear();
    await Promise.all([...scopes.map((s) => s.cache.reflector.stop()), ...this.#stopping]);
  }
}
