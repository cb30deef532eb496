/**
 * The snapshot the translator reads: every object kind it looks at, already parsed.
 *
 * The shell builds it from its reflector caches; golden tests build it from a multi-document YAML file with
 * {@linkcode parseSnapshot}.
 *
 * @module
 */
import type { z } from "zod";
import {
  type BackendTlsPolicy,
  backendTlsPolicySchema,
  type ConfigMap,
  configMapSchema,
  type Gateway,
  type GatewayClass,
  gatewayClassSchema,
  gatewaySchema,
  type HttpRoute,
  httpRouteSchema,
  type ListenerSet,
  listenerSetSchema,
  type Namespace,
  namespaceSchema,
  type Pod,
  podSchema,
  type ReferenceGrant,
  referenceGrantSchema,
  type Secret,
  secretSchema,
  type Service,
  serviceSchema,
} from "./api_types.ts";
import { type CachePolicy, cachePolicySchema } from "./cache_policy/mod.ts";
import { type GatewayParameters, gatewayParametersSchema } from "./gateway_parameters.ts";
import { type Ingress, type IngressClass, ingressClassSchema, ingressSchema } from "./ingress/ingress_schema.ts";

/** Everything the translator reads, as plain arrays in any order. */
export interface Snapshot {
  /** GatewayClasses (all controllers; the translator picks ours). */
  gatewayClasses: GatewayClass[];
  /** Gateways. */
  gateways: Gateway[];
  /** HTTPRoutes. */
  httpRoutes: HttpRoute[];
  /** ListenerSets (those whose parent is a Gateway of ours add listeners to it). */
  listenerSets: ListenerSet[];
  /** ReferenceGrants. */
  referenceGrants: ReferenceGrant[];
  /** Services (backends and the gateways' own Services). */
  services: Service[];
  /** Namespaces (labels for `allowedRoutes` selectors). */
  namespaces: Namespace[];
  /** Secrets referenced by HTTPS listeners. */
  secrets: Secret[];
  /** ConfigMaps holding user VCL. */
  configMaps: ConfigMap[];
  /** GatewayParameters. */
  gatewayParameters: GatewayParameters[];
  /** Gateway pods (they report the configuration they applied). */
  pods: Pod[];
  /** CachePolicies (all of them: conflicts and precedence are decided across policies). */
  cachePolicies: CachePolicy[];
  /** BackendTLSPolicies (all of them: conflicts are decided across policies). */
  backendTlsPolicies: BackendTlsPolicy[];
  /** IngressClasses (all controllers; `ingress/` picks Lacquer's). */
  ingressClasses: IngressClass[];
  /** Ingresses (those of Lacquer's IngressClasses become routes, `ingress/`). */
  ingresses: Ingress[];
  /** The namespaces the operator watches (`--watch-namespaces`); absent: the whole cluster. */
  watchedNamespaces?: readonly string[];
}

/** Returns an empty snapshot. */
export function emptySnapshot(): Snapshot {
  return {
    gatewayClasses: [],
    gateways: [],
    httpRoutes: [],
    listenerSets: [],
    referenceGrants: [],
    services: [],
    namespaces: [],
    secrets: [],
    configMaps: [],
    gatewayParameters: [],
    pods: [],
    cachePolicies: [],
    backendTlsPolicies: [],
    ingressClasses: [],
    ingresses: [],
  };
}

/** The schema and snapshot field of each kind, keyed by `apiVersion/kind` without the version. */
export const SNAPSHOT_KINDS: Record<string, { field: keyof Snapshot; schema: z.ZodType }> = {
  "gateway.networking.k8s.io/GatewayClass": { field: "gatewayClasses", schema: gatewayClassSchema },
  "gateway.networking.k8s.io/Gateway": { field: "gateways", schema: gatewaySchema },
  "gateway.networking.k8s.io/HTTPRoute": { field: "httpRoutes", schema: httpRouteSchema },
  "gateway.networking.k8s.io/ListenerSet": { field: "listenerSets", schema: listenerSetSchema },
  "gateway.networking.k8s.io/ReferenceGrant": { field: "referenceGrants", schema: referenceGrantSchema },
  "gateway.networking.k8s.io/BackendTLSPolicy": { field: "backendTlsPolicies", schema: backendTlsPolicySchema },
  "lacquer.dev/GatewayParameters": { field: "gatewayParameters", schema: gatewayParametersSchema },
  "lacquer.dev/CachePolicy": { field: "cachePolicies", schema: cachePolicySchema },
  "networking.k8s.io/IngressClass": { field: "ingressClasses", schema: ingressClassSchema },
  "networking.k8s.io/Ingress": { field: "ingresses", schema: ingressSchema },
  "/Service": { field: "services", schema: serviceSchema },
  "/Namespace": { field: "namespaces", schema: namespaceSchema },
  "/Secret": { field: "secrets", schema: secretSchema },
  "/ConfigMap": { field: "configMaps", schema: configMapSchema },
  "/Pod": { field: "pods", schema: podSchema },
};

/**
 * Returns the schema that parses a kind the translator reads: the one place that says which schema parses which
 * kind, for {@linkcode parseSnapshot} and the operator's watch tables alike.
 *
 * @example Usage
 * ```ts
 * import { kindSchema } from "./snapshot.ts";
 * const service = kindSchema("/Service").parse({ metadata: { name: "web", namespace: "shop" } });
 * ```
 *
 * @param key The kind's `group/Kind`, e.g. `gateway.networking.k8s.io/Gateway` or `/Service`.
 * @returns The schema.
 * @throws {TypeError} When the translator does not read that kind.
 */
export function kindSchema(key: string): z.ZodType {
  const entry = SNAPSHOT_KINDS[key];
  if (!entry) throw new TypeError(`No schema for kind "${key}": the translator does not read it`);
  return entry.schema;
}

/**
 * Returns the snapshot kind key (`group/Kind`) of an object from its `apiVersion` and `kind`.
 *
 * @param obj The object.
 * @returns The key, e.g. `gateway.networking.k8s.io/Gateway` or `/Service`.
 */
export function kindKey(obj: { apiVersion?: unknown; kind?: unknown }): string {
  const apiVersion = typeof obj.apiVersion === "string" ? obj.apiVersion : "";
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
  return `${group}/${String(obj.kind)}`;
}

/**
 * Parses API objects (any kinds, any order) into a snapshot.
 *
 * @example Usage
 * ```ts
 * import { parseSnapshot } from "./snapshot.ts";
 * const snapshot = parseSnapshot([{ apiVersion: "v1", kind: "Namespace", metadata: { name: "default" } }]);
 * ```
 *
 * @param objects The objects.
 * @returns The snapshot.
 * @throws {TypeError} When an object's kind is not one the translator reads, or it does not parse.
 */
export function parseSnapshot(objects: readonly unknown[]): Snapshot {
  const snapshot = emptySnapshot();
  for (const obj of objects) {
    const key = kindKey(obj as { apiVersion?: unknown; kind?: unknown });
    const entry = SNAPSHOT_KINDS[key];
    if (!entry) throw new TypeError(`Cannot parse object of kind "${key}": the translator does not read it`);
    const parsed = entry.schema.safeParse(obj);
    if (!parsed.success) {
      throw new TypeError(`Cannot parse ${key}: ${parsed.error.message}`);
    }
    (snapshot[entry.field] as unknown[]).push(parsed.data);
  }
  return snapshot;
}
