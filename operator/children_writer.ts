/**
 * Applies a Gateway's child objects with server-side apply (field manager `lacquer-operator`) and deletes the
 * children it no longer wants. A child whose cached copy carries the hash of the desired
 * object is not written again, so a no-op reconcile makes no writes. The admin token Secret is the exception: it is
 * created once, with a random token made here, and never written again while it exists.
 *
 * An object that exists under a child's name but is not this Gateway's (an application's Service `web` next to a
 * Gateway `web`, another Gateway's child) is never written: the apply is forced, so it would take the object over,
 * and the owner reference would let the Gateway's deletion remove it. It is left as it is and reported as a
 * {@linkcode ChildConflict}.
 *
 * @module
 */
import { KubeApiError, type KubeClient, type KubeObject } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import { contentHash } from "../internal/content_hash.ts";
import {
  GATEWAY_NAME_LABEL,
  gatewayLabelValue,
  gatewayNameOf,
  MAIN_VCL_KEY,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  ROUTING_SEQUENCE_ANNOTATION,
} from "../internal/names.ts";
import { ADMIN_TOKEN_BYTES, ADMIN_TOKEN_KEY, adminTokenSecretName, newAdminToken } from "./admin_token.ts";
import { type ChildObject, GATEWAY_NAMESPACE_LABEL, ROUTING_HASH_ANNOTATION, VCL_HASH_ANNOTATION } from "./children.ts";
import { routingSequenceOf } from "../internal/routing_push.ts";
import { OwnWrites } from "./own_writes.ts";
import { type RoutingGeneration, RoutingSequence } from "./routing_pusher.ts";
import { FIELD_MANAGER, type WriteObserver } from "./status_writer.ts";

/** Annotation with the hash of the object as we last applied it. */
export const DESIRED_HASH_ANNOTATION = "lacquer.dev/desired-hash";

/** Where each child kind lives in the API. */
export const CHILD_RESOURCES: Record<string, string> = {
  ConfigMap: "/api/v1/namespaces/{ns}/configmaps",
  Secret: "/api/v1/namespaces/{ns}/secrets",
  Service: "/api/v1/namespaces/{ns}/services",
  ServiceAccount: "/api/v1/namespaces/{ns}/serviceaccounts",
  Deployment: "/apis/apps/v1/namespaces/{ns}/deployments",
  Role: "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
  RoleBinding: "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
  NetworkPolicy: "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
  PodDisruptionBudget: "/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets",
};

/** Reads the cached copies of children. */
export interface ChildCache {
  /** The cached object of a kind and key, if any. */
  raw(kind: string, key: string): KubeObject | undefined;
  /** Every cached object of a kind. */
  rawList(kind: string): KubeObject[];
}

function pathOf(kind: string, namespace: string, name?: string): string {
  const base = CHILD_RESOURCES[kind].replace("{ns}", namespace);
  return name ? `${base}/${name}` : base;
}

/**
 * Hashes a desired child. A ConfigMap that carries the content-hash annotations of its data (a routing.json
 * shard's: the routing hash alone) is hashed without the (possibly megabytes of) data, which the annotations
 * already stand for.
 *
 * @param child The desired object.
 * @returns `sha256:<hex>`.
 */
export function desiredHash(child: ChildObject): string {
  // Child objects are not changed once built, and translation hands back the same object for an unchanged shard.
  let hash = desiredHashes.get(child);
  if (hash === undefined) desiredHashes.set(child, hash = computeDesiredHash(child));
  return hash;
}

/** Each child object's hash. */
const desiredHashes = new WeakMap<ChildObject, string>();

function computeDesiredHash(child: ChildObject): string {
  const annotations = child.metadata.annotations ?? {};
  const data = child.data as Record<string, string> | undefined;
  // A routing.json shard's ConfigMap carries no main.vcl: its routing hash stands for all its data.
  const covered = annotations[ROUTING_HASH_ANNOTATION] &&
    (annotations[VCL_HASH_ANNOTATION] || data?.[MAIN_VCL_KEY] === undefined);
  if (child.kind === "ConfigMap" && covered) {
    return contentHash(
      JSON.stringify({
        ...child,
        data: Object.keys(data ?? {}),
        binaryData: Object.keys(child.binaryData ?? {}),
      }),
    );
  }
  return contentHash(JSON.stringify(child));
}

/** Kinds applied before the others: the rights the chaperone needs to read what the others name. */
const RBAC_KINDS = new Set(["ServiceAccount", "Role", "RoleBinding"]);

/** Routing.json shards (and the manifest) written at the same time. */
const SHARD_WRITERS = 8;

/**
 * A ConfigMap that holds routing: a shard (a routing hash without a VCL hash), or the Gateway's own ConfigMap (both:
 * routing.json or the shards' manifest, and main.vcl).
 */
function isRouting(child: ChildObject): boolean {
  return child.kind === "ConfigMap" && child.metadata.annotations?.[ROUTING_HASH_ANNOTATION] !== undefined;
}

/** The Gateway's own ConfigMap (routing and main.vcl), which names the shards when routing.json is sharded. */
function isManifest(child: ChildObject): boolean {
  return isRouting(child) && child.metadata.annotations?.[VCL_HASH_ANNOTATION] !== undefined;
}

/**
 * Orders children for applying: the ServiceAccount, Roles and RoleBindings (also those in backend namespaces)
 * first, then the rest, each group in its given order. So a routing.json that names a new backend namespace
 * reaches the chaperone only after its right to watch that namespace exists (else its watch starts with a 403).
 *
 * @example Usage
 * ```ts
 * import { applyOrder } from "./children_writer.ts";
 * const metadata = { name: "x", namespace: "n", labels: {} };
 * applyOrder([{ apiVersion: "v1", kind: "ConfigMap", metadata }, { apiVersion: "v1", kind: "Role", metadata }]);
 * // the Role, then the ConfigMap
 * ```
 *
 * @param children The desired children.
 * @returns The same children, RBAC first.
 */
export function applyOrder(children: readonly ChildObject[]): ChildObject[] {
  return [...children.filter((c) => RBAC_KINDS.has(c.kind)), ...children.filter((c) => !RBAC_KINDS.has(c.kind))];
}

/** An object under a child's name that belongs to someone else, left untouched. */
export interface ChildConflict {
  /** The kind of the object. */
  kind: string;
  /** Its `namespace/name`. */
  object: string;
  /** Who it belongs to instead, in words. */
  owner: string;
}

/** What {@linkcode ChildrenWriter.sync} did. */
export interface SyncResult {
  /** The number of writes (applies, creates and deletes). */
  writes: number;
  /** The children not applied because an object that is not the Gateway's has their name. */
  conflicts: ChildConflict[];
}

/**
 * Says whose an existing object is, when it is not the Gateway's own child: Lacquer's children carry the
 * managed-by label and the Gateway's name and namespace labels.
 *
 * @example Usage
 * ```ts
 * import { foreignOwner } from "./children_writer.ts";
 * foreignOwner({ metadata: { name: "web", labels: {} } }, "ns/web"); // "not managed by Lacquer"
 * ```
 *
 * @param obj The existing object.
 * @param gateway The Gateway's `namespace/name`.
 * @returns Undefined when the object is the Gateway's; else who it belongs to.
 */
export function foreignOwner(obj: KubeObject, gateway: string): string | undefined {
  const [ns, name] = gateway.split("/");
  const labels = obj.metadata.labels ?? {};
  if (labels[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) return "not managed by Lacquer";
  const ownerNs = labels[GATEWAY_NAMESPACE_LABEL] ?? obj.metadata.namespace;
  // The label holds a long name cut with a hash (and the annotation, where there is one, the whole name).
  const ours = ownerNs === ns && labels[GATEWAY_NAME_LABEL] === gatewayLabelValue(name) &&
    (gatewayNameOf(obj.metadata) ?? name) === name;
  return ours ? undefined : `a child of Gateway ${ownerNs}/${gatewayNameOf(obj.metadata)}`;
}

/**
 * Describes conflicts for a condition message or an Event note.
 *
 * @example Usage
 * ```ts
 * import { describeConflicts } from "./children_writer.ts";
 * describeConflicts([{ kind: "Service", object: "ns/web", owner: "not managed by Lacquer" }]);
 * ```
 *
 * @param conflicts The conflicts.
 * @returns One sentence per conflict.
 */
export function describeConflicts(conflicts: readonly ChildConflict[]): string {
  const list = conflicts.map((c) => `${c.kind} "${c.object}" (${c.owner})`).join(", ");
  return `These objects exist under the names of this Gateway's children and are left untouched: ${list}. ` +
    "Rename the Gateway or remove them.";
}

/** A Deployment child without `spec.replicas`. */
function withoutReplicas(deployment: ChildObject): ChildObject {
  const { replicas: _, ...spec } = deployment.spec as Record<string, unknown>;
  return { ...deployment, spec };
}

/** Applies and prunes children. */
export class ChildrenWriter {
  #client: KubeClient;
  #cache: ChildCache;
  #log: Logger;
  #observe: WriteObserver;
  #own: OwnWrites;
  #onRouting: ((gateway: string, generation: RoutingGeneration) => Promise<void> | void) | undefined;
  #sequence: RoutingSequence;

  /**
   * Creates the writer; `ownWrites` remembers its writes, so that their watch events wake nothing (the controller
   * shares it). `onRouting` is told of each new routing generation (the Gateway's ConfigMap and the shards that
   * changed) before they are written, with the sequence number the Gateway's ConfigMap is written with
   * ({@linkcode ROUTING_SEQUENCE_ANNOTATION}); the writes wait for the promise it returns (the routing pusher's, bounded),
   * so that the pods apply a pushed generation before the API server's writes and watch events compete with them.
   */
  constructor(
    client: KubeClient,
    cache: ChildCache,
    options: {
      log: Logger;
      observe?: WriteObserver;
      ownWrites?: OwnWrites;
      onRouting?: (gateway: string, generation: RoutingGeneration) => Promise<void> | void;
      sequence?: RoutingSequence;
    },
  ) {
    this.#client = client;
    this.#cache = cache;
    this.#log = options.log;
    this.#observe = options.observe ?? (() => {});
    this.#own = options.ownWrites ?? new OwnWrites();
    this.#onRouting = options.onRouting;
    this.#sequence = options.sequence ?? new RoutingSequence();
  }

  /**
   * Applies the desired children of a Gateway and deletes its other children. A child whose name is taken by an
   * object that is not the Gateway's is skipped and reported; the others are applied.
   *
   * @param gateway The Gateway's `namespace/name`.
   * @param desired The children (all labelled with the Gateway).
   * @returns The writes made and the conflicts found.
   */
  async sync(gateway: string, desired: readonly ChildObject[]): Promise<SyncResult> {
    const { writes, conflicts } = await this.apply(gateway, desired);
    return { writes: writes + await this.prune(gateway, desired), conflicts };
  }

  /**
   * Applies some children of a Gateway, as {@linkcode ChildrenWriter.sync} does, and deletes nothing.
   *
   * @param gateway The Gateway's `namespace/name`.
   * @param desired The children to apply.
   * @returns The writes made and the conflicts found.
   */
  async apply(gateway: string, desired: readonly ChildObject[]): Promise<SyncResult> {
    let writes = 0;
    const conflicts: ChildConflict[] = [];
    const ordered = applyOrder(desired);
    const first = ordered.filter((c) => RBAC_KINDS.has(c.kind));
    // The routing.json shards and the manifest that names them are written at the same time, a few at a time (a
    // Gateway's first apply, or a change of their number, writes hundreds), the manifest last into the queue: a route
    // change waits for one write, not two. A pod that reads the manifest before a shard it names keeps serving the
    // last whole generation until the shard is there (the chaperone's `routing_shards_reader.ts`).
    const routing = ordered.filter(isRouting).sort((a, b) => Number(isManifest(a)) - Number(isManifest(b)));
    const rest = ordered.filter((c) => !RBAC_KINDS.has(c.kind) && !isRouting(c));
    for (const child of first) writes += await this.#applyOne(gateway, child, conflicts);
    const { sequence, pushed } = this.#newGeneration(gateway, routing);
    await pushed;
    let [next, failed] = [0, false];
    const worker = async () => {
      try {
        while (next < routing.length && !failed) {
          const child = routing[next++];
          writes += await this.#applyOne(
            gateway,
            child,
            conflicts,
            isManifest(child) ? sequence ?? this.#sequence.next(this.#storedSequence(child)) : undefined,
          );
        }
      } catch (err) {
        failed = true; // none started after a failure (the manifest, if not yet)
        throw err;
      }
    };
    // Every write settles before a failure is told: none may land after the retry's newer one.
    const settled = await Promise.allSettled(Array.from({ length: Math.min(SHARD_WRITERS, routing.length) }, worker));
    for (const result of settled) if (result.status === "rejected") throw result.reason;
    for (const child of rest) writes += await this.#applyOne(gateway, child, conflicts);
    return { writes, conflicts };
  }

  /**
   * When the Gateway's ConfigMap is to be written (its cached copy is the Gateway's, with another desired hash),
   * numbers the new routing generation and tells `onRouting` of it with the shards to be written.
   *
   * @returns The generation's sequence number, if there is a new one, and what `onRouting` returned for it.
   */
  #newGeneration(
    gateway: string,
    routing: readonly ChildObject[],
  ): { sequence?: number; pushed?: Promise<void> | void } {
    const changed = routing.filter((child) => {
      const existing = this.#cache.raw(child.kind, `${child.metadata.namespace}/${child.metadata.name}`);
      if (existing !== undefined && foreignOwner(existing, gateway) !== undefined) return false;
      return existing?.metadata.annotations?.[DESIRED_HASH_ANNOTATION] !== desiredHash(child);
    });
    const configMap = changed.find(isManifest);
    if (configMap === undefined) return {};
    const sequence = this.#sequence.next(this.#storedSequence(configMap));
    const shards = changed.filter((c) => c !== configMap);
    return { sequence, pushed: this.#onRouting?.(gateway, { sequence, configMap, shards }) };
  }

  /** The routing sequence number on the cached copy of the Gateway's ConfigMap (0: none). */
  #storedSequence(configMap: ChildObject): number {
    const cached = this.#cache.raw(configMap.kind, `${configMap.metadata.namespace}/${configMap.metadata.name}`);
    return routingSequenceOf(cached?.metadata.annotations) ?? 0;
  }

  /**
   * Applies one child unless it is in place or not the Gateway's; returns the writes made. `sequence` is the routing
   * generation's, written on the Gateway's ConfigMap.
   */
  async #applyOne(
    gateway: string,
    child: ChildObject,
    conflicts: ChildConflict[],
    sequence?: number,
  ): Promise<number> {
    const adminSecret = adminTokenSecretName(gateway.split("/")[1]);
    const object = `${child.metadata.namespace}/${child.metadata.name}`;
    // The caches hold only Lacquer-labelled objects: anything else under the name is found by a read, made only
    // while the child is not cached (its first apply, or a cache that lags).
    const existing = this.#cache.raw(child.kind, object) ?? await this.#read(child);
    const owner = existing && foreignOwner(existing, gateway);
    if (owner !== undefined) {
      conflicts.push({ kind: child.kind, object, owner });
      return 0;
    }
    if (child.kind === "Secret" && child.metadata.name === adminSecret) {
      return existing === undefined ? await this.#createAdminSecret(gateway, child, conflicts) : 0;
    }
    const hash = desiredHash(child);
    if (existing?.metadata.annotations?.[DESIRED_HASH_ANNOTATION] === hash) return 0;
    const body = {
      ...(child.kind === "Deployment" && await this.#autoscaled(child) ? withoutReplicas(child) : child),
      metadata: {
        ...child.metadata,
        annotations: {
          ...child.metadata.annotations,
          [DESIRED_HASH_ANNOTATION]: hash,
          ...(sequence !== undefined && { [ROUTING_SEQUENCE_ANNOTATION]: String(sequence) }),
        },
      },
    };
    // the round trip alone (the propagation bench splits the operator's share with it)
    const requested = performance.now();
    await this.#own.track(
      child.kind,
      object,
      "object",
      () =>
        this.#client.request(pathOf(child.kind, child.metadata.namespace, child.metadata.name), {
          method: "PATCH",
          query: { fieldManager: FIELD_MANAGER, force: true },
          contentType: "application/apply-patch+yaml",
          body,
        }),
    );
    this.#observe(child.kind, "apply");
    this.#log.info("Child object applied", {
      gateway,
      kind: child.kind,
      object: `${child.metadata.namespace}/${child.metadata.name}`,
      requestMs: Math.round((performance.now() - requested) * 10) / 10,
    });
    return 1;
  }

  /**
   * Whether a HorizontalPodAutoscaler of the Deployment's namespace scales it: then its replicas are the HPA's, and
   * the apply leaves them out (so the HPA's count is never reset). Asked only when the Deployment is written.
   */
  async #autoscaled(deployment: ChildObject): Promise<boolean> {
    const path = `/apis/autoscaling/v2/namespaces/${deployment.metadata.namespace}/horizontalpodautoscalers`;
    const list = await this.#client.request<{ items: { spec?: { scaleTargetRef?: Record<string, string> } }[] }>(path);
    return list.items.some(({ spec }) =>
      spec?.scaleTargetRef?.kind === "Deployment" && spec.scaleTargetRef.name === deployment.metadata.name
    );
  }

  /** Reads the live object under a child's name; undefined when there is none. */
  async #read(child: ChildObject): Promise<KubeObject | undefined> {
    try {
      return await this.#client.request<KubeObject>(pathOf(child.kind, child.metadata.namespace, child.metadata.name));
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  /**
   * Creates the admin token Secret with a fresh random token. One that exists already (created between the read
   * and the create) is left alone: its token is never replaced, and it is reported when it is not ours.
   */
  async #createAdminSecret(gateway: string, child: ChildObject, conflicts: ChildConflict[]): Promise<number> {
    const token = newAdminToken(crypto.getRandomValues(new Uint8Array(ADMIN_TOKEN_BYTES)));
    const object = `${child.metadata.namespace}/${child.metadata.name}`;
    try {
      await this.#own.track(
        child.kind,
        object,
        "object",
        () =>
          this.#client.request(pathOf(child.kind, child.metadata.namespace), {
            method: "POST",
            query: { fieldManager: FIELD_MANAGER },
            body: { ...child, stringData: { [ADMIN_TOKEN_KEY]: token } },
          }),
      );
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 409)) throw err;
      const existing = await this.#read(child);
      const owner = existing && foreignOwner(existing, gateway);
      if (owner !== undefined) {
        conflicts.push({ kind: child.kind, object, owner });
      }
      return 0;
    }
    this.#observe(child.kind, "create");
    this.#log.info("Child object created", { gateway, kind: child.kind, object });
    return 1;
  }

  /**
   * Deletes the children of a Gateway that are not in `keep`.
   *
   * @param gateway The Gateway's `namespace/name`.
   * @param keep The children to keep.
   * @param options `elsewhereOnly`: only children outside the Gateway's namespace (the Gateway is gone: the garbage
   *   collector removes those its owner references name, and the operator's rights there may be going with them).
   * @returns The number of deletes.
   */
  async prune(
    gateway: string,
    keep: readonly ChildObject[],
    options: { elsewhereOnly?: boolean } = {},
  ): Promise<number> {
    const [ns, name] = gateway.split("/");
    const wanted = new Set(keep.map((c) => `${c.kind}/${c.metadata.namespace}/${c.metadata.name}`));
    let deletes = 0;
    for (const kind of Object.keys(CHILD_RESOURCES)) {
      for (const obj of this.#cache.rawList(kind)) {
        const labels = obj.metadata.labels ?? {};
        if (labels[GATEWAY_NAME_LABEL] !== gatewayLabelValue(name) || labels[GATEWAY_NAMESPACE_LABEL] !== ns) continue;
        if (wanted.has(`${kind}/${obj.metadata.namespace}/${obj.metadata.name}`)) continue;
        if (options.elsewhereOnly && obj.metadata.namespace === ns) continue;
        const object = `${obj.metadata.namespace}/${obj.metadata.name}`;
        await this.#own.track(kind, object, "delete", async () => {
          try {
            await this.#client.request(pathOf(kind, obj.metadata.namespace ?? "", obj.metadata.name), {
              method: "DELETE",
              body: { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Background" },
            });
          } catch (err) {
            if (!(err instanceof KubeApiError && err.code === 404)) throw err;
          }
        });
        deletes++;
        this.#observe(kind, "delete");
        this.#log.info("Child object deleted", { gateway, kind, object });
      }
    }
    return deletes;
  }
}
