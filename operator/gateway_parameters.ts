/**
 * `GatewayParameters` (`lacquer.dev/v1alpha1`): how the gateway pods of a GatewayClass or of one Gateway run.
 *
 * Referenced from `GatewayClass.spec.parametersRef` (the class default) and `Gateway.spec.infrastructure.
 * parametersRef` (per Gateway; wins over the class, except for the fields of `gateway_overrides.ts`, which a
 * Gateway sets only when the class's object lists them in `allowedGatewayOverrides`). The CRD in `deploy/crds/`
 * carries the same schema for the apiserver's validation; this zod schema parses the objects where they enter the
 * operator.
 *
 * @module
 */
import { z } from "zod";
import { ESCAPED_SLASHES } from "../ghost/contract/mod.ts";
import { metadataSchema } from "./api_types.ts";
import { GATEWAY_OVERRIDES } from "./gateway_overrides.ts";

/** The API group and version of GatewayParameters. */
export const GATEWAY_PARAMETERS_API_VERSION = "lacquer.dev/v1alpha1";

/** The kind name. */
export const GATEWAY_PARAMETERS_KIND = "GatewayParameters";

const quantity = z.union([z.string(), z.number()]);
const resourceList = z.record(z.string(), quantity);

/** The spec of a GatewayParameters object. Every field is optional; defaults come from {@linkcode resolveParameters}. */
export const gatewayParametersSpecSchema = z.looseObject({
  /** The gateway image (runs `lacquer chaperone`, which runs varnishd). */
  image: z.string().min(1).optional(),
  /** Kubernetes image pull policy. */
  imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).optional(),
  /** Extra varnishd arguments (for example `-p`, `thread_pool_max=500`). Chaperone rejects the ones it owns. */
  varnishdArgs: z.array(z.string()).optional(),
  /** The varnishd storage (`-s`) specification, for example `malloc,256m`. */
  storage: z.string().min(1).optional(),
  /** Gateway pods of the Gateway (default: the operator's `--gateway-replicas`); ignored while an HPA scales it. */
  replicas: z.number().int().min(1).max(100).optional(),
  /** Container resources of the gateway container. */
  resources: z.looseObject({ requests: resourceList.optional(), limits: resourceList.optional() }).optional(),
  /** The shape of the gateway Service. */
  service: z.looseObject({
    type: z.enum(["LoadBalancer", "ClusterIP", "NodePort"]).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    labels: z.record(z.string(), z.string()).optional(),
  }).optional(),
  /** User VCL: a ConfigMap in the GatewayParameters' namespace and the key holding the VCL. */
  vcl: z.looseObject({
    configMapRef: z.looseObject({ name: z.string().min(1), key: z.string().min(1).default("user.vcl") }),
  }).optional(),
  /** Logging of the chaperone. */
  logging: z.looseObject({ level: z.enum(["debug", "info", "warn", "error"]).optional() }).optional(),
  /** Extra environment variables of the gateway container (e.g. `TZ`); `gateway_env.ts` lists the refused names. */
  env: z.array(z.looseObject({ name: z.string().min(1), value: z.string().default("") })).optional(),
  /** The JSON access log on the gateway container's stdout: on unless `enabled: false`, every request unless sampled. */
  accessLog: z.looseObject({
    enabled: z.boolean().optional(),
    /** The share of requests logged, 0 to 1. */
    sampleRate: z.number().min(0).max(1).optional(),
  }).optional(),
  /** HTTP/2 towards clients (ALPN `h2` on HTTPS listeners); off by default: Varnish 7.1.1 lacks the rapid-reset fixes. */
  http2: z.boolean().optional(),
  /** The cache of the Gateway's pods. */
  cache: z.looseObject({
    /**
     * One cache shared by the gateway pods: each cacheable object has one owner pod (consistent hashing of its key
     * over the ready pods), which stores it; the others fetch it from the owner.
     */
    clustered: z.boolean().optional(),
  }).optional(),
  /** Client requests: the escaped-slash policy of path normalisation and the proxies whose forwarding headers count. */
  requests: z.looseObject({
    escapedSlashes: z.enum(ESCAPED_SLASHES).optional(),
    /** Checked by `resolveGatewayConfig`, so that a bad entry is reported on the Gateway. */
    trustedProxies: z.array(z.string()).max(64).optional(),
  }).optional(),
  /**
   * On the class's object: the fields of `gateway_overrides.ts` a Gateway's own object may set too (by default
   * none). Ignored, and reported, on a Gateway's own object.
   */
  allowedGatewayOverrides: z.array(z.enum(GATEWAY_OVERRIDES)).optional(),
});

/** The spec of a GatewayParameters object. */
export type GatewayParametersSpec = z.output<typeof gatewayParametersSpecSchema>;

/** A GatewayParameters object. */
export const gatewayParametersSchema = z.looseObject({
  metadata: metadataSchema,
  spec: gatewayParametersSpecSchema.default({}),
});

/** A GatewayParameters object. */
export type GatewayParameters = z.output<typeof gatewayParametersSchema>;

/** The effective parameters of one Gateway, all defaults filled in. */
export interface ResolvedParameters {
  /** The gateway image. */
  image: string;
  /** Image pull policy. */
  imagePullPolicy: "Always" | "IfNotPresent" | "Never";
  /** Extra varnishd arguments. */
  varnishdArgs: string[];
  /** varnishd storage. */
  storage: string;
  /** Container resources. */
  resources: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  /** Service type. */
  serviceType: "LoadBalancer" | "ClusterIP" | "NodePort";
  /** Gateway pods (GatewayParameters, else the operator's `--gateway-replicas`), unless an HPA scales the Deployment. */
  replicas: number;
  /** Extra Service annotations. */
  serviceAnnotations: Record<string, string>;
  /** Extra Service labels. */
  serviceLabels: Record<string, string>;
  /** User VCL reference, namespace included. */
  vcl?: { namespace: string; name: string; key: string };
  /** Chaperone log level. */
  logLevel: "debug" | "info" | "warn" | "error";
  /** Extra container environment. */
  env: { name: string; value: string }[];
  /** The share of requests in the access log (0: off); absent while nobody set one (the chaperone logs every one). */
  accessLogSample?: number;
  /** HTTP/2 towards clients. */
  http2: boolean;
  /** One cache shared by the gateway pods (the clustered cache). */
  clusteredCache: boolean;
  /** Client request settings for routing.json; absent while nobody set one (ghost's defaults apply). */
  requests?: { escapedSlashes: (typeof ESCAPED_SLASHES)[number]; trustedProxies: string[] };
}

/** Defaults used when neither the class nor the Gateway names a value. */
export interface ParameterDefaults {
  /** The gateway image. */
  image: string;
  /** The Service type. @default {"LoadBalancer"} */
  serviceType?: "LoadBalancer" | "ClusterIP" | "NodePort";
  /** Gateway pods per Gateway unless an HPA scales them. @default {2} */
  replicas?: number;
  /** The ClusterRole the gateways' RoleBindings grant (no GatewayParameters field sets it). @default {"lacquer-gateway-pod"} */
  podClusterRole?: string;
}

/**
 * Merges the class's and the Gateway's GatewayParameters (the Gateway's fields win, field by field) over defaults.
 *
 * @example Usage
 * ```ts
 * import { resolveParameters } from "./gateway_parameters.ts";
 * const p = resolveParameters([], { image: "lacquer:dev" });
 * // p.storage === "malloc,256m"
 * ```
 *
 * @param layers GatewayParameters objects from the lowest to the highest precedence (class first, then Gateway).
 * @param defaults The operator's defaults.
 * @returns The effective parameters.
 */
export function resolveParameters(
  layers: readonly GatewayParameters[],
  defaults: ParameterDefaults,
): ResolvedParameters {
  const out: ResolvedParameters = {
    image: defaults.image,
    imagePullPolicy: "IfNotPresent",
    varnishdArgs: [],
    storage: "malloc,256m",
    resources: {},
    serviceType: defaults.serviceType ?? "LoadBalancer",
    replicas: defaults.replicas ?? 2,
    serviceAnnotations: {},
    serviceLabels: {},
    logLevel: "info",
    env: [],
    http2: false,
    clusteredCache: false,
  };
  const accessLog: { enabled?: boolean; sampleRate?: number } = {};
  for (const layer of layers) {
    const s = layer.spec;
    if (s.image) out.image = s.image;
    if (s.imagePullPolicy) out.imagePullPolicy = s.imagePullPolicy;
    if (s.varnishdArgs) out.varnishdArgs = [...s.varnishdArgs];
    if (s.storage) out.storage = s.storage;
    if (s.replicas !== undefined) out.replicas = s.replicas;
    if (s.resources) {
      out.resources = {
        ...(s.resources.requests ? { requests: s.resources.requests } : {}),
        ...(s.resources.limits ? { limits: s.resources.limits } : {}),
      };
    }
    if (s.service?.type) out.serviceType = s.service.type;
    if (s.service?.annotations) out.serviceAnnotations = { ...s.service.annotations };
    if (s.service?.labels) out.serviceLabels = { ...s.service.labels };
    if (s.vcl) {
      out.vcl = {
        namespace: layer.metadata.namespace ?? "",
        name: s.vcl.configMapRef.name,
        key: s.vcl.configMapRef.key,
      };
    }
    if (s.logging?.level) out.logLevel = s.logging.level;
    if (s.env) out.env = s.env.map((e) => ({ name: e.name, value: e.value }));
    if (s.http2 !== undefined) out.http2 = s.http2;
    if (s.cache?.clustered !== undefined) out.clusteredCache = s.cache.clustered;
    if (s.accessLog?.enabled !== undefined) accessLog.enabled = s.accessLog.enabled;
    if (s.accessLog?.sampleRate !== undefined) accessLog.sampleRate = s.accessLog.sampleRate;
    if (s.requests?.escapedSlashes || s.requests?.trustedProxies) {
      out.requests = {
        escapedSlashes: s.requests.escapedSlashes ?? out.requests?.escapedSlashes ?? "Reject",
        trustedProxies: [...(s.requests.trustedProxies ?? out.requests?.trustedProxies ?? [])],
      };
    }
  }
  if (accessLog.enabled === false) out.accessLogSample = 0;
  else if (accessLog.sampleRate !== undefined) out.accessLogSample = accessLog.sampleRate;
  return out;
}
