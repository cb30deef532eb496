/**
 * The operator's view of the cluster: one reflector per watched collection (internal/kube), each object parsed
 * once when it arrives (STYLE.md convention 7) and kept in a typed cache, plus raw caches of our own child
 * objects. Changes are reported as `(kind, old, new)` to a handler that maps them to reconcile keys.
 *
 * @module
 */
import type { z } from "zod";
import { createReflector, type KubeClient, type KubeObject, type Reflector } from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "../internal/names.ts";
import {
  configMapSchema,
  gatewayClassSchema,
  gatewaySchema,
  httpRouteSchema,
  namespaceSchema,
  podSchema,
  referenceGrantSchema,
  secretSchema,
  serviceSchema,
} from "./api_types.ts";
import { cachePolicySchema } from "./cache_policy/mod.ts";
import { gatewayParametersSchema } from "./gateway_parameters.ts";
import { emptySnapshot, type Snapshot } from "./snapshot.ts";

/** A watched kind and where its objects go. */
export interface WatchedKind {
  /** Kind name. */
  kind: string;
  /** Collection path. */
  path: string;
  /** Label selector. */
  labelSelector?: string;
  /** Field selector. */
  fieldSelector?: string;
  /** Parses objects into the snapshot field; absent for raw-only caches (our children). */
  snapshot?: { field: keyof Snapshot; schema: z.ZodType };
}

const MANAGED = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

/** Every collection the operator watches. */
export const WATCHED_KINDS: readonly WatchedKind[] = [
  {
    kind: "GatewayClass",
    path: "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
    snapshot: { field: "gatewayClasses", schema: gatewayClassSchema },
  },
  {
    kind: "Gateway",
    path: "/apis/gateway.networking.k8s.io/v1/gateways",
    snapshot: { field: "gateways", schema: gatewaySchema },
  },
  {
    kind: "HTTPRoute",
    path: "/apis/gateway.networking.k8s.io/v1/httproutes",
    snapshot: { field: "httpRoutes", schema: httpRouteSchema },
  },
  {
    kind: "ReferenceGrant",
    path: "/apis/gateway.networking.k8s.io/v1/referencegrants",
    snapshot: { field: "referenceGrants", schema: referenceGrantSchema },
  },
  {
    kind: "GatewayParameters",
    path: "/apis/lacquer.dev/v1alpha1/gatewayparameters",
    snapshot: { field: "gatewayParameters", schema: gatewayParametersSchema },
  },
  {
    kind: "CachePolicy",
    path: "/apis/lacquer.dev/v1alpha1/cachepolicies",
    snapshot: { field: "cachePolicies", schema: cachePolicySchema },
  },
  { kind: "Service", path: "/api/v1/services", snapshot: { field: "services", schema: serviceSchema } },
  { kind: "Namespace", path: "/api/v1/namespaces", snapshot: { field: "namespaces", schema: namespaceSchema } },
  {
    kind: "Secret",
    path: "/api/v1/secrets",
    fieldSelector: "type=kubernetes.io/tls",
    snapshot: { field: "secrets", schema: secretSchema },
  },
  { kind: "ConfigMap", path: "/api/v1/configmaps", snapshot: { field: "configMaps", schema: configMapSchema } },
  { kind: "Pod", path: "/api/v1/pods", labelSelector: MANAGED, snapshot: { field: "pods", schema: podSchema } },
  { kind: "Deployment", path: "/apis/apps/v1/deployments", labelSelector: MANAGED },
  { kind: "ServiceAccount", path: "/api/v1/serviceaccounts", labelSelector: MANAGED },
  { kind: "Role", path: "/apis/rbac.authorization.k8s.io/v1/roles", labelSelector: MANAGED },
  { kind: "RoleBinding", path: "/apis/rbac.authorization.k8s.io/v1/rolebindings", labelSelector: MANAGED },
];

/** Receives every change. Objects are the parsed ones for snapshot kinds, raw for the others. */
export type ChangeHandler = (kind: string, old: unknown, current: unknown) => void;

/** Options for {@linkcode ClusterWatcher}. */
export interface ClusterWatcherOptions {
  /** Logger. */
  log: Logger;
  /** Receives changes (only enqueue keys here). */
  onChange: ChangeHandler;
  /** Watch only these kinds (tests). @default {WATCHED_KINDS} */
  kinds?: readonly WatchedKind[];
}

function keyOfRaw(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

/** Typed caches of everything the operator reads, kept current by reflectors. */
export class ClusterWatcher {
  #reflectors: Reflector<KubeObject>[] = [];
  #parsed = new Map<string, Map<string, unknown>>();
  #raw = new Map<string, Reflector<KubeObject>>();
  #kinds: readonly WatchedKind[];
  #log: Logger;
  /** Counts objects that failed to parse, by kind. */
  readonly parseErrors = new Map<string, number>();

  /** Starts one reflector per kind. */
  constructor(client: KubeClient, options: ClusterWatcherOptions) {
    this.#kinds = options.kinds ?? WATCHED_KINDS;
    this.#log = options.log;
    for (const kind of this.#kinds) {
      const cache = new Map<string, unknown>();
      this.#parsed.set(kind.kind, cache);
      const reflector = createReflector<KubeObject>(client, {
        path: kind.path,
        labelSelector: kind.labelSelector,
        fieldSelector: kind.fieldSelector,
        log: options.log.child({ watch: kind.kind }),
        onChange: (oldRaw, newRaw) => {
          // managedFields are often the largest part of an object and nothing here reads them: drop them from the
          // reflector's cached copy too (the objects are ours alone), which roughly halves the caches' memory.
          if (newRaw?.metadata.managedFields) delete newRaw.metadata.managedFields;
          const key = keyOfRaw((newRaw ?? oldRaw)!);
          const old = kind.snapshot ? cache.get(key) : oldRaw;
          let current: unknown = newRaw;
          if (kind.snapshot) {
            if (newRaw && newRaw === oldRaw && cache.has(key)) {
              // A resync re-delivers the same object: keep its parsed copy, and with it every cache keyed on it.
              current = cache.get(key);
            } else if (newRaw) {
              const parsed = kind.snapshot.schema.safeParse(newRaw);
              if (parsed.success) {
                current = parsed.data;
                cache.set(key, current);
              } else {
                this.parseErrors.set(kind.kind, (this.parseErrors.get(kind.kind) ?? 0) + 1);
                this.#log.info("Object ignored: it does not parse", {
                  kind: kind.kind,
                  object: key,
                  err: parsed.error.message,
                });
                current = undefined;
                cache.delete(key);
              }
            } else cache.delete(key);
          }
          options.onChange(kind.kind, old, current);
        },
      });
      this.#reflectors.push(reflector);
      this.#raw.set(kind.kind, reflector);
    }
  }

  /** Resolves when every reflector has listed once. */
  get synced(): Promise<void> {
    return Promise.all(this.#reflectors.map((r) => r.synced)).then(() => {});
  }

  /** Tells whether every reflector's last request succeeded. */
  healthy(): boolean {
    return this.#reflectors.every((r) => r.healthy());
  }

  /** Returns the parsed objects of a snapshot kind. */
  list<T>(kind: string): T[] {
    return [...(this.#parsed.get(kind)?.values() ?? [])] as T[];
  }

  /** Returns one parsed object of a snapshot kind. */
  get<T>(kind: string, key: string): T | undefined {
    return this.#parsed.get(kind)?.get(key) as T | undefined;
  }

  /** Returns the raw cached object (as the apiserver sent it). */
  raw(kind: string, key: string): KubeObject | undefined {
    return this.#raw.get(kind)?.get(key);
  }

  /** Returns every raw cached object of a kind. */
  rawList(kind: string): KubeObject[] {
    return this.#raw.get(kind)?.list() ?? [];
  }

  /** Number of cached objects per kind. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.#raw].map(([kind, r]) => [kind, r.list().length]));
  }

  /**
   * Builds a snapshot for translating some Gateways: every object of the shared kinds, only the given Gateways,
   * their routes and their pods.
   *
   * @param gateways Gateway keys.
   * @param routes The routes related to them.
   * @returns The snapshot.
   */
  snapshot(gateways: readonly string[], routes: readonly unknown[]): Snapshot {
    const s = emptySnapshot();
    s.gatewayClasses = this.list("GatewayClass");
    s.gateways = gateways.map((k) => this.get("Gateway", k)).filter((g) => g !== undefined) as Snapshot["gateways"];
    s.httpRoutes = routes as Snapshot["httpRoutes"];
    s.referenceGrants = this.list("ReferenceGrant");
    s.services = this.list("Service");
    s.namespaces = this.list("Namespace");
    s.secrets = this.list("Secret");
    s.configMaps = this.list("ConfigMap");
    s.gatewayParameters = this.list("GatewayParameters");
    s.cachePolicies = this.list("CachePolicy");
    const names = new Set(gateways);
    s.pods = this.list<Snapshot["pods"][number]>("Pod").filter((p) =>
      names.has(`${p.metadata.namespace}/${p.metadata.labels?.["gateway.networking.k8s.io/gateway-name"]}`)
    );
    return s;
  }

  /** Stops every reflector. */
  async stop(): Promise<void> {
    await Promise.all(this.#reflectors.map((r) => r.stop()));
  }
}
