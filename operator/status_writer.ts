/**
 * Writes status: once per object, only when it differs from what the cluster has (ignoring
 * `lastTransitionTime`), so that a no-op reconcile makes no write:
 *
 * - GatewayClass, Gateway and ListenerSet: server-side apply on `/status` with field manager `lacquer-operator` (their
 *   conditions and listeners are map-lists, so SSA merges with other writers);
 * - CachePolicy: `status.ancestors` (atomic) by server-side apply on `/status`, other controllers' entries kept;
 * - HTTPRoute: `status.parents` is an atomic list, so read (the cached copy first), replace only our entries for
 *   the Gateway, and PUT with the read resourceVersion; a 409 re-reads from the API server and retries.
 * - BackendTLSPolicy: `status.ancestors` the same way, each Gateway's reconcile replacing only its own entry.
 *
 * @module
 */
import { KubeApiError, type KubeClient, type KubeObject } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import { CONTROLLER_NAME } from "../internal/names.ts";
import { CACHE_POLICY_API_VERSION, CACHE_POLICY_KIND } from "./cache_policy/mod.ts";
import type { PolicyAncestor } from "./api_types.ts";
import { OwnWrites } from "./own_writes.ts";
import {
  type BackendTlsAncestorUpdate,
  mergeBackendTlsAncestor,
  mergeRouteParents,
  type RouteStatusResult,
} from "./status/mod.ts";

/** The field manager of every operator write. */
export const FIELD_MANAGER = "lacquer-operator";

const GW = "/apis/gateway.networking.k8s.io/v1";

/** Counts writes, for metrics. */
export type WriteObserver = (kind: string, op: string) => void;

function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      if (key === "lastTransitionTime") continue;
      out[key] = comparable((value as Record<string, unknown>)[key]);
    }
    return out;
  }
  return value;
}

/**
 * Tells whether two status values are equal once `lastTransitionTime` is ignored and keys are sorted.
 *
 * @param a One status.
 * @param b The other.
 * @returns True when equal.
 */
export function sameStatus(a: unknown, b: unknown): boolean {
  return JSON.stringify(comparable(a)) === JSON.stringify(comparable(b));
}

function normalizeParents(parents: unknown[], routeNs: string): unknown {
  return parents.map((p) => {
    const entry = p as { parentRef: Record<string, unknown>; controllerName: string; conditions?: unknown[] };
    return {
      parentRef: {
        group: entry.parentRef.group ?? "gateway.networking.k8s.io",
        kind: entry.parentRef.kind ?? "Gateway",
        namespace: entry.parentRef.namespace ?? routeNs,
        name: entry.parentRef.name,
        sectionName: entry.parentRef.sectionName,
        port: entry.parentRef.port,
      },
      controllerName: entry.controllerName,
      conditions: entry.conditions ?? [],
    };
  });
}

/** Writes GatewayClass, Gateway, ListenerSet, HTTPRoute, Ingress, CachePolicy and BackendTLSPolicy status. */
export class StatusWriter {
  #client: KubeClient;
  #log: Logger;
  #observe: WriteObserver;
  #verified = new WeakMap<KubeObject, Map<string, unknown>>();
  /**
   * The status last written over each cached object, while the cache still holds that object: until the write's own
   * event replaces it, the object's status is not what the API server has, and a status equal to the cached one (a
   * Gateway's pods reported the new configuration right after a write that said they had not) must still be written.
   */
  #written = new WeakMap<KubeObject, unknown>();
  #own: OwnWrites;

  /**
   * Creates the writer; `ownWrites` remembers its writes, so that their watch events wake nothing (the Gateway
   * controller shares it).
   */
  constructor(client: KubeClient, options: { log: Logger; observe?: WriteObserver; ownWrites?: OwnWrites }) {
    this.#client = client;
    this.#log = options.log;
    this.#observe = options.observe ?? (() => {});
    this.#own = options.ownWrites ?? new OwnWrites();
  }

  /** Whether the object has the status: the one last written over this cached object, else the cached one. */
  #inPlace(current: KubeObject, status: unknown): boolean {
    return sameStatus(this.#written.has(current) ? this.#written.get(current) : current.status, status);
  }

  /** Applies the status of the object the body names (`kind`, `metadata`). */
  async #apply(
    path: string,
    body: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; status: unknown },
  ): Promise<void> {
    const { kind, metadata } = body;
    const key = metadata.namespace ? `${metadata.namespace}/${metadata.name}` : metadata.name;
    await this.#own.track(kind, key, "status", () =>
      this.#client.request(path, {
        method: "PATCH",
        query: { fieldManager: FIELD_MANAGER, force: true },
        contentType: "application/apply-patch+yaml",
        body,
      }));
  }

  /**
   * Writes a GatewayClass's status unless the cached object already has it.
   *
   * @param current The cached object (raw).
   * @param status The computed status.
   * @returns True when a write happened.
   */
  async writeGatewayClass(current: KubeObject, status: unknown): Promise<boolean> {
    if (this.#inPlace(current, status)) return false;
    await this.#apply(`${GW}/gatewayclasses/${current.metadata.name}/status`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: current.metadata.name },
      status,
    });
    this.#written.set(current, status);
    this.#observe("GatewayClass", "status");
    this.#log.info("GatewayClass status written", { gatewayClass: current.metadata.name });
    return true;
  }

  /**
   * Writes a Gateway's status unless the cached object already has it.
   *
   * @param current The cached object (raw).
   * @param status The computed status.
   * @returns True when a write happened.
   */
  async writeGateway(current: KubeObject, status: unknown): Promise<boolean> {
    if (this.#inPlace(current, status)) return false;
    const { name, namespace } = current.metadata;
    await this.#apply(`${GW}/namespaces/${namespace}/gateways/${name}/status`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name, namespace },
      status,
    });
    this.#written.set(current, status);
    this.#observe("Gateway", "status");
    this.#log.info("Gateway status written", { gateway: `${namespace}/${name}` });
    return true;
  }

  /**
   * Writes a ListenerSet's status unless the cached object already has it.
   *
   * @param current The cached object (raw).
   * @param status The computed status.
   * @returns True when a write happened.
   */
  async writeListenerSet(current: KubeObject, status: unknown): Promise<boolean> {
    if (this.#inPlace(current, status)) return false;
    const { name, namespace } = current.metadata;
    await this.#apply(`${GW}/namespaces/${namespace}/listenersets/${name}/status`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "ListenerSet",
      metadata: { name, namespace },
      status,
    });
    this.#written.set(current, status);
    this.#observe("ListenerSet", "status");
    this.#log.info("ListenerSet status written", { listenerSet: `${namespace}/${name}` });
    return true;
  }

  /**
   * Writes an Ingress's `status.loadBalancer` unless the cached object already has it.
   *
   * @param current The cached Ingress (raw).
   * @param status The computed status.
   * @returns True when a write happened.
   */
  async writeIngress(current: KubeObject, status: { loadBalancer: unknown }): Promise<boolean> {
    const before = (current.status as { loadBalancer?: unknown } | undefined)?.loadBalancer ?? {};
    if (sameStatus(before, status.loadBalancer)) return false;
    const { name, namespace } = current.metadata;
    await this.#apply(`/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses/${name}/status`, {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name, namespace },
      status,
    });
    this.#observe("Ingress", "status");
    this.#log.info("Ingress status written", { ingress: `${namespace}/${name}` });
    return true;
  }

  /**
   * Replaces our parent entries for one parent (a Gateway or a ListenerSet) in a route's status, unless the cached
   * route already has them.
   *
   * @param current The cached route (raw), or undefined when it is gone.
   * @param update Our entries for the parent.
   * @returns True when a write happened.
   */
  async writeRouteParents(current: KubeObject | undefined, update: RouteStatusResult): Promise<boolean> {
    if (!current) return false;
    // Translation reuses its results for unchanged routes, so "this cached route already carries these entries"
    // can be remembered by identity and the comparison skipped on the next reconcile.
    const verified = this.#verified.get(current);
    const parent = `${update.kind ?? "Gateway"}/${update.gateway}`;
    if (verified?.get(parent) === update.parents) return false;
    const wrote = await this.#writeRouteParents(current, update);
    if (!wrote) {
      const map = verified ?? new Map<string, unknown>();
      map.set(parent, update.parents);
      this.#verified.set(current, map);
    }
    return wrote;
  }

  #writeRouteParents(current: KubeObject, update: RouteStatusResult): Promise<boolean> {
    const ns = current.metadata.namespace ?? "";
    const path = `${GW}/namespaces/${ns}/httproutes/${current.metadata.name}`;
    const wrote = this.#putStatus("HTTPRoute", current, path, (status) => {
      const parents = ((status as { parents?: unknown[] } | undefined)?.parents ?? []) as never[];
      const next = mergeRouteParents(parents, update, ns);
      return sameStatus(normalizeParents(parents, ns), normalizeParents(next, ns)) ? undefined : { parents: next };
    });
    return wrote.then((done) => {
      if (!done) return false;
      this.#observe("HTTPRoute", "status");
      this.#log.info("HTTPRoute status written", {
        route: update.key,
        parent: `${update.kind ?? "Gateway"}/${update.gateway}`,
      });
      return true;
    });
  }

  /**
   * Read-modify-write of part of an object's status, for atomic lists several writers share: `change` returns the
   * status fields to replace, or undefined when nothing is to change. The cached copy serves as the first read; a
   * 409 (someone wrote meanwhile) re-reads from the API server and tries again.
   */
  async #putStatus(
    kind: string,
    current: KubeObject,
    path: string,
    change: (status: unknown) => Record<string, unknown> | undefined,
  ): Promise<boolean> {
    for (let attempt = 0;; attempt++) {
      let fresh: KubeObject = current;
      if (attempt > 0) {
        try {
          fresh = await this.#client.request<KubeObject>(path);
        } catch (err) {
          if (err instanceof KubeApiError && err.code === 404) return false;
          throw err;
        }
      }
      const fields = change(fresh.status);
      if (fields === undefined) return false;
      try {
        const { namespace, name } = fresh.metadata;
        await this.#own.track(
          kind,
          namespace ? `${namespace}/${name}` : name,
          "status",
          () =>
            this.#client.request(`${path}/status`, {
              method: "PUT",
              body: { ...fresh, status: { ...(fresh.status as object ?? {}), ...fields } },
            }),
        );
        return true;
      } catch (err) {
        if (err instanceof KubeApiError && err.code === 409 && attempt < 5) continue;
        if (err instanceof KubeApiError && err.code === 404) return false;
        throw err;
      }
    }
  }

  /**
   * Writes one Gateway's entry of a BackendTLSPolicy's `status.ancestors` (an atomic list each Gateway's reconcile
   * writes its own entry of), unless the policy already has it.
   *
   * @param current The cached policy (raw), or undefined when it is gone.
   * @param update The Gateway's entry, or its removal.
   * @returns True when a write happened.
   */
  async writeBackendTlsAncestor(current: KubeObject | undefined, update: BackendTlsAncestorUpdate): Promise<boolean> {
    if (!current) return false;
    const ns = current.metadata.namespace ?? "";
    const path = `${GW}/namespaces/${ns}/backendtlspolicies/${current.metadata.name}`;
    const wrote = await this.#putStatus("BackendTLSPolicy", current, path, (status) => {
      const ancestors = ((status as { ancestors?: unknown[] } | undefined)?.ancestors ?? []) as PolicyAncestor[];
      const next = mergeBackendTlsAncestor(ancestors, update, ns);
      return sameStatus(ancestors, next) ? undefined : { ancestors: next };
    });
    if (wrote) {
      this.#observe("BackendTLSPolicy", "status");
      this.#log.info("BackendTLSPolicy status written", { policy: update.key, gateway: update.gateway });
    }
    return wrote;
  }
  /**
   * Replaces our `status.ancestors` entries of a CachePolicy (other controllers' entries stay first), unless the
   * cached policy already has them. Server-side apply on `/status`: the list is atomic, so the write carries it whole.
   *
   * @param current The cached policy (raw).
   * @param ancestors Our entries.
   * @returns True when a write happened.
   */
  async writeCachePolicy(current: KubeObject, ancestors: readonly { controllerName: string }[]): Promise<boolean> {
    const existing = (current.status as { ancestors?: { controllerName: string }[] } | undefined)?.ancestors ?? [];
    const next = [...existing.filter((a) => a.controllerName !== CONTROLLER_NAME), ...ancestors];
    if (sameStatus(existing, next)) return false;
    const { name, namespace } = current.metadata;
    await this.#apply(`/apis/lacquer.dev/v1alpha1/namespaces/${namespace}/cachepolicies/${name}/status`, {
      apiVersion: CACHE_POLICY_API_VERSION,
      kind: CACHE_POLICY_KIND,
      metadata: { name, namespace },
      status: { ancestors: next },
    });
    this.#observe("CachePolicy", "status");
    this.#log.info("CachePolicy status written", { policy: `${namespace}/${name}` });
    return true;
  }
}
