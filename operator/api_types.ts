/**
 * zod schemas of the Kubernetes objects the operator reads: the Gateway API kinds (v1), our GatewayParameters, and
 * the core kinds it looks at. Objects are parsed once, where they enter the operator; everything inside
 * the operator trusts these types.
 *
 * The schemas apply the CRD defaults the apiserver would apply (parentRef group/kind, backendRef weight, rule
 * matches), so golden inputs written by hand translate the same way as objects read from a cluster. Unknown
 * fields are kept (`looseObject`) because a newer CRD may add fields; the translator ignores what it does not know
 * and reports what it does not support.
 *
 * @module
 */
import { z } from "zod";

/** The API group of the Gateway API. */
export const GATEWAY_GROUP = "gateway.networking.k8s.io";

const str = z.string();
const labels = z.record(z.string(), z.string());

/** Object metadata, as far as the operator reads it. */
export const metadataSchema = z.looseObject({
  name: str,
  namespace: str.optional(),
  uid: str.optional(),
  generation: z.number().int().optional(),
  resourceVersion: str.optional(),
  creationTimestamp: str.optional(),
  deletionTimestamp: str.nullish(),
  labels: labels.optional(),
  annotations: labels.optional(),
});

/** A Kubernetes condition. */
export const conditionSchema = z.object({
  type: str,
  status: z.enum(["True", "False", "Unknown"]),
  reason: str,
  message: str.default(""),
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: str.optional(),
});

/** A Kubernetes condition as written in status. */
export type Condition = z.output<typeof conditionSchema>;

const parametersRef = z.looseObject({
  group: str,
  kind: str,
  name: str,
  namespace: str.optional(),
});

/** GatewayClass (gateway.networking.k8s.io/v1). */
export const gatewayClassSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({
    controllerName: str,
    parametersRef: parametersRef.optional(),
  }),
  status: z.looseObject({ conditions: z.array(conditionSchema).optional() }).optional(),
});

/** A GatewayClass. */
export type GatewayClass = z.output<typeof gatewayClassSchema>;

const secretObjectRef = z.looseObject({
  group: str.default(""),
  kind: str.default("Secret"),
  name: str,
  namespace: str.optional(),
});

/** A reference to a CA certificate bundle of client certificate validation (`ObjectReference`). */
const caCertificateRef = z.looseObject({
  group: str.default(""),
  kind: str.default("ConfigMap"),
  name: str,
  namespace: str.optional(),
});

/** Client certificate validation of a Gateway's HTTPS listeners (`FrontendTLSValidation`). */
const frontendValidation = z.looseObject({
  caCertificateRefs: z.array(caCertificateRef).default([]),
  mode: str.default("AllowValidOnly"),
});

/** `Gateway.spec.tls.frontend`: the default validation and per-port overrides (`FrontendTLSConfig`). */
const frontendTlsConfig = z.looseObject({
  default: z.looseObject({ validation: frontendValidation.optional() }).default({}),
  perPort: z.array(z.looseObject({
    port: z.number().int(),
    tls: z.looseObject({ validation: frontendValidation.optional() }).default({}),
  })).default([]),
});

/** How a Gateway validates client certificates (`FrontendTLSValidation`). */
export type FrontendValidation = z.output<typeof frontendValidation>;

/** A reference to a CA certificate bundle. */
export type CaCertificateRef = z.output<typeof caCertificateRef>;

const routeGroupKind = z.looseObject({ group: str.default(GATEWAY_GROUP), kind: str });

const labelSelectorRequirement = z.looseObject({
  key: str,
  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
  values: z.array(str).optional(),
});

/** A Kubernetes label selector. */
export const labelSelectorSchema = z.looseObject({
  matchLabels: labels.optional(),
  matchExpressions: z.array(labelSelectorRequirement).optional(),
});

/** A Kubernetes label selector. */
export type LabelSelector = z.output<typeof labelSelectorSchema>;

/** One listener of a Gateway. */
export const listenerSchema = z.looseObject({
  name: str,
  hostname: str.optional(),
  port: z.number().int(),
  protocol: str,
  tls: z.looseObject({
    mode: str.default("Terminate"),
    certificateRefs: z.array(secretObjectRef).default([]),
  }).optional(),
  allowedRoutes: z.looseObject({
    namespaces: z.looseObject({
      from: str.default("Same"),
      selector: labelSelectorSchema.optional(),
    }).default({ from: "Same" }),
    kinds: z.array(routeGroupKind).optional(),
  }).default({ namespaces: { from: "Same" } }),
});

/** One listener of a Gateway. */
export type Listener = z.output<typeof listenerSchema>;

/** The part of a Gateway's or ListenerSet's status that conditions are merged with. */
const listenersStatusSchema = z.looseObject({
  conditions: z.array(conditionSchema).optional(),
  listeners: z.array(z.looseObject({ name: str, conditions: z.array(conditionSchema).optional() })).optional(),
});

/** Gateway (gateway.networking.k8s.io/v1). */
export const gatewaySchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({
    gatewayClassName: str,
    listeners: z.array(listenerSchema).default([]),
    addresses: z.array(z.looseObject({ type: str.optional(), value: str.optional() })).optional(),
    tls: z.looseObject({
      frontend: frontendTlsConfig.optional(),
      /** The client certificate presented to TLS backends (`GatewayBackendTLS`). */
      backend: z.looseObject({ clientCertificateRef: secretObjectRef.optional() }).optional(),
    }).optional(),
    infrastructure: z.looseObject({
      labels: labels.optional(),
      annotations: labels.optional(),
      parametersRef: parametersRef.optional(),
    }).optional(),
    /** Which ListenerSets may attach (the CRD's default, and an absent field, allow none). */
    allowedListeners: z.looseObject({
      namespaces: z.looseObject({
        from: str.default("None"),
        selector: labelSelectorSchema.optional(),
      }).default({ from: "None" }),
    }).optional(),
  }),
  status: listenersStatusSchema.optional(),
});

/** A Gateway. */
export type Gateway = z.output<typeof gatewaySchema>;

/** One entry of a policy's `status.ancestors` (Gateway API `PolicyAncestorStatus`). */
export const policyAncestorSchema = z.looseObject({
  ancestorRef: z.record(z.string(), z.unknown()),
  controllerName: z.string(),
  conditions: z.array(conditionSchema).default([]),
});

/** One entry of a policy's `status.ancestors`. */
export type PolicyAncestor = z.output<typeof policyAncestorSchema>;

/** BackendTLSPolicy (gateway.networking.k8s.io/v1): how Gateways reach a Service's ports over TLS. */
export const backendTlsPolicySchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({
    targetRefs: z.array(z.looseObject({
      group: str.default(""),
      kind: str,
      name: str,
      sectionName: str.optional(),
    })).default([]),
    validation: z.looseObject({
      caCertificateRefs: z.array(z.looseObject({ group: str.default(""), kind: str, name: str })).default([]),
      wellKnownCACertificates: str.optional(),
      hostname: str,
      subjectAltNames: z.array(z.looseObject({
        type: str,
        hostname: str.optional(),
        uri: str.optional(),
      })).default([]),
    }),
  }),
  status: z.looseObject({ ancestors: z.array(policyAncestorSchema).optional() }).optional(),
});

/** A BackendTLSPolicy. */
export type BackendTlsPolicy = z.output<typeof backendTlsPolicySchema>;

/** ListenerSet (gateway.networking.k8s.io/v1): listeners added to a Gateway that allows it. */
export const listenerSetSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({
    parentRef: z.looseObject({
      group: str.default(GATEWAY_GROUP),
      kind: str.default("Gateway"),
      namespace: str.optional(),
      name: str,
    }),
    listeners: z.array(listenerSchema).default([]),
  }),
  status: listenersStatusSchema.optional(),
});

/** A ListenerSet. */
export type ListenerSet = z.output<typeof listenerSetSchema>;

/** A parentRef of a route. */
export const parentRefSchema = z.looseObject({
  group: str.default(GATEWAY_GROUP),
  kind: str.default("Gateway"),
  namespace: str.optional(),
  name: str,
  sectionName: str.optional(),
  port: z.number().int().optional(),
});

/** A parentRef of a route. */
export type ParentRef = z.output<typeof parentRefSchema>;

const headerMatch = z.looseObject({ type: str.default("Exact"), name: str, value: str });
const pathModifier = z.looseObject({
  type: str,
  replaceFullPath: str.optional(),
  replacePrefixMatch: str.optional(),
});
const headerValue = z.looseObject({ name: str, value: str });
const headerModifier = z.looseObject({
  set: z.array(headerValue).optional(),
  add: z.array(headerValue).optional(),
  remove: z.array(str).optional(),
});

/** An HTTPRoute filter (rule level or backendRef level). */
export const httpFilterSchema = z.looseObject({
  type: str,
  requestHeaderModifier: headerModifier.optional(),
  responseHeaderModifier: headerModifier.optional(),
  requestRedirect: z.looseObject({
    scheme: str.optional(),
    hostname: str.optional(),
    path: pathModifier.optional(),
    port: z.number().int().optional(),
    statusCode: z.number().int().default(302),
  }).optional(),
  urlRewrite: z.looseObject({ hostname: str.optional(), path: pathModifier.optional() }).optional(),
  cors: z.looseObject({
    allowOrigins: z.array(str).optional(),
    allowCredentials: z.boolean().optional(),
    allowMethods: z.array(str).optional(),
    allowHeaders: z.array(str).optional(),
    exposeHeaders: z.array(str).optional(),
    maxAge: z.number().int().optional(),
  }).optional(),
});

/** An HTTPRoute filter. */
export type HttpFilter = z.output<typeof httpFilterSchema> & {
  requestMirror?: z.output<typeof requestMirrorSchema>;
};

/** A backendRef of an HTTPRoute rule. */
export const backendRefSchema = z.looseObject({
  group: str.default(""),
  kind: str.default("Service"),
  name: str,
  namespace: str.optional(),
  port: z.number().int().optional(),
  weight: z.number().int().default(1),
  filters: z.array(httpFilterSchema).default([]),
});

/** A RequestMirror filter: its backend (a backendRef without weight or filters) and the share of requests. */
export const requestMirrorSchema = z.looseObject({
  backendRef: backendRefSchema,
  percent: z.number().int().optional(),
  fraction: z.looseObject({ numerator: z.number().int(), denominator: z.number().int().default(100) }).optional(),
});

/** A rule-level HTTPRoute filter: any filter, or a RequestMirror. */
export const ruleFilterSchema = httpFilterSchema.extend({ requestMirror: requestMirrorSchema.optional() });

/** A backendRef of an HTTPRoute rule. */
export type BackendRef = z.output<typeof backendRefSchema>;

/** One match of an HTTPRoute rule. */
export const httpMatchSchema = z.looseObject({
  path: z.looseObject({ type: str.default("PathPrefix"), value: str.default("/") }).default({
    type: "PathPrefix",
    value: "/",
  }),
  headers: z.array(headerMatch).default([]),
  queryParams: z.array(headerMatch).default([]),
  method: str.optional(),
});

/** One match of an HTTPRoute rule. */
export type HttpMatch = z.output<typeof httpMatchSchema>;

/** One rule of an HTTPRoute. */
export const httpRuleSchema = z.looseObject({
  name: str.optional(),
  matches: z.array(httpMatchSchema).default([]).transform((m) =>
    m.length === 0 ? [{ path: { type: "PathPrefix", value: "/" }, headers: [], queryParams: [] }] : m
  ),
  filters: z.array(ruleFilterSchema).default([]),
  backendRefs: z.array(backendRefSchema).default([]),
  timeouts: z.looseObject({ request: str.optional(), backendRequest: str.optional() }).optional(),
  retry: z.looseObject({
    codes: z.array(z.number().int()).default([]),
    attempts: z.number().int().optional(),
    backoff: str.optional(),
  }).optional(),
});

/** One rule of an HTTPRoute. */
export type HttpRule = z.output<typeof httpRuleSchema>;

/** A route's status entry for one parent. */
export const routeParentStatusSchema = z.looseObject({
  parentRef: parentRefSchema,
  controllerName: str,
  conditions: z.array(conditionSchema).default([]),
});

/** HTTPRoute (gateway.networking.k8s.io/v1). */
export const httpRouteSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({
    parentRefs: z.array(parentRefSchema).default([]),
    hostnames: z.array(str).default([]),
    rules: z.array(httpRuleSchema).default([{
      matches: [{ path: { type: "PathPrefix", value: "/" }, headers: [], queryParams: [] }],
      filters: [],
      backendRefs: [],
    }]),
  }),
  status: z.looseObject({ parents: z.array(routeParentStatusSchema).default([]) }).optional(),
});

/** An HTTPRoute. */
export type HttpRoute = z.output<typeof httpRouteSchema>;

/** ReferenceGrant (gateway.networking.k8s.io/v1). */
export const referenceGrantSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({
    from: z.array(z.looseObject({ group: str, kind: str, namespace: str })).default([]),
    to: z.array(z.looseObject({ group: str, kind: str, name: str.optional() })).default([]),
  }),
});

/** A ReferenceGrant. */
export type ReferenceGrant = z.output<typeof referenceGrantSchema>;

/** Service (v1), as far as the operator reads it. */
export const serviceSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({
    type: str.default("ClusterIP"),
    clusterIP: str.optional(),
    clusterIPs: z.array(str).optional(),
    ports: z.array(z.looseObject({
      name: str.optional(),
      port: z.number().int(),
      protocol: str.default("TCP"),
      appProtocol: str.optional(),
    })).default([]),
  }).default({ type: "ClusterIP", ports: [] }),
  status: z.looseObject({
    loadBalancer: z.looseObject({
      ingress: z.array(z.looseObject({ ip: str.optional(), hostname: str.optional() })).optional(),
    }).optional(),
    conditions: z.array(z.looseObject({ type: str, status: str, message: str.optional() })).optional(),
  }).optional(),
});

/** A Service. */
export type Service = z.output<typeof serviceSchema>;

/** Namespace (v1). */
export const namespaceSchema = z.looseObject({ metadata: metadataSchema });

/** A Namespace. */
export type Namespace = z.output<typeof namespaceSchema>;

/** Secret (v1): only the type and which keys exist matter, plus the certificate PEM. */
export const secretSchema = z.looseObject({
  metadata: metadataSchema,
  type: str.default("Opaque"),
  data: z.record(z.string(), z.string()).default({}),
});

/** A Secret. */
export type Secret = z.output<typeof secretSchema>;

/** ConfigMap (v1). */
export const configMapSchema = z.looseObject({
  metadata: metadataSchema,
  data: z.record(z.string(), z.string()).default({}),
  binaryData: z.record(z.string(), z.string()).default({}),
});

/** A ConfigMap. */
export type ConfigMap = z.output<typeof configMapSchema>;

/** Pod (v1): labels, annotations, readiness, deletion, IP. */
export const podSchema = z.looseObject({
  metadata: metadataSchema,
  status: z.looseObject({
    conditions: z.array(z.looseObject({ type: str, status: str })).optional(),
    podIP: str.optional(),
  }).optional(),
});

/** A Pod. */
export type Pod = z.output<typeof podSchema>;
