/**
 * routing.json: the operator's output, one per Gateway, stored in the `<gateway>-lacquer` ConfigMap.
 *
 * The route tree of the Gateway with each backendRef naming a Service port (or saying why it cannot be used).
 *
 * @module
 */
import { z } from "zod";
import { backendTlsSchema, pemSchema } from "./ghost_json.ts";
import { backendFilterSchema, documentSchema, portSchema, weightSchema } from "./route_parts.ts";

/** The version of routing.json this code reads and writes. */
export const ROUTING_JSON_VERSION = 1;

const service = z.strictObject({
  namespace: z.string().min(1).max(253),
  name: z.string().min(1).max(253),
  port: portSchema,
});

/** `sha256:<hex>` of a CA bundle's PEM text: a key of routing.json's `caBundles` table. */
export const caBundleKeySchema = z.string().regex(
  /^sha256:[0-9a-f]{64}$/,
  "must be sha256:<64 hex digits>, the hash of a caBundles entry",
);

/** Each CA bundle of the document once, by its {@linkcode caBundleKeySchema} key, for the backend groups naming it. */
export const caBundlesSchema = z.record(caBundleKeySchema, pemSchema);

/**
 * TLS towards a Service port (its BackendTLSPolicy): ghost.json's `transport.tls` without the client certificate,
 * whose key stays in the Gateway's TLS Secret (the chaperone adds it to every TLS backend group). Its CA
 * certificates are named by `caBundle`, their key in the document's `caBundles` (what the operator writes: a bundle
 * shared by many backends is stored once), or given in `caCertificates`; the chaperone writes ghost.json with
 * `caCertificates`.
 */
export const routingBackendTlsSchema = backendTlsSchema.omit({ clientCertificate: true }).extend({
  /** The key of the CA certificates in the document's `caBundles`. */
  caBundle: caBundleKeySchema.optional(),
}).refine((t) => t.caBundle === undefined || t.caCertificates === undefined, {
  message: 'must not have both "caBundle" and "caCertificates"',
});

/** A backend group of routing.json: exactly one of a Service port or the reason the reference is unusable. */
export const routingBackendSchema = z.strictObject({
  weight: weightSchema,
  service: service.optional(),
  /** Why the backendRef cannot be used; its share of the traffic gets 500. */
  unresolved: z.string().min(1).max(1024).optional(),
  filters: z.array(backendFilterSchema).max(16).default([]),
  /** Reach the Service port over TLS (a BackendTLSPolicy); absent: plain HTTP (or H2C by its appProtocol). */
  tls: routingBackendTlsSchema.optional(),
}).refine((b) => (b.service === undefined) !== (b.unresolved === undefined), {
  message: 'must have exactly one of "service" and "unresolved"',
}).refine((b) => b.tls === undefined || b.service !== undefined, {
  message: 'tls needs "service"',
});

/** The clustered cache in routing.json: the Gateway's own Service, whose ready endpoints are the peers. */
export const routingClusterSchema = z.strictObject({
  service: z.strictObject({ namespace: z.string().min(1).max(253), name: z.string().min(1).max(253) }),
});

/**
 * The schema of one shard of a routing.json stored in shards (`routing_shards.ts`): a routing.json document whose
 * backend groups may name CA bundles that another shard of its generation holds.
 */
export const routingShardSchema = documentSchema(ROUTING_JSON_VERSION, routingBackendSchema, routingClusterSchema, {
  /** Each CA bundle once, by the hash of its PEM text, for the backend groups whose `tls.caBundle` names it. */
  caBundles: caBundlesSchema.optional(),
});

/**
 * Where a document's backend groups (mirrors' included) name a CA bundle: each `tls.caBundle` with its JSON path.
 *
 * @example Usage
 * ```ts
 * import { caBundleRefs } from "./routing_json.ts";
 * caBundleRefs({ vhosts: {} }); // []
 * ```
 *
 * @param doc The document (its vhosts).
 * @returns The references, in document order.
 */
export function caBundleRefs(doc: Pick<RoutingJson, "vhosts">): { key: string; path: (string | number)[] }[] {
  const out: { key: string; path: (string | number)[] }[] = [];
  for (const [host, vhost] of Object.entries(doc.vhosts)) {
    vhost.routes.forEach((route, i) => {
      const at = ["vhosts", host, "routes", i];
      route.backends.forEach((b, j) => {
        if (b.tls?.caBundle) out.push({ key: b.tls.caBundle, path: [...at, "backends", j, "tls", "caBundle"] });
      });
      route.mirrors?.forEach((m, j) => {
        const key = m.backend.tls?.caBundle;
        if (key) out.push({ key, path: [...at, "mirrors", j, "backend", "tls", "caBundle"] });
      });
    });
  }
  return out;
}

/** The routing.json schema (version 1): a whole document, whose `caBundles` holds every bundle its groups name. */
export const routingJsonSchema = routingShardSchema.superRefine((doc, ctx) => {
  for (const { key, path } of caBundleRefs(doc)) {
    if (Object.hasOwn(doc.caBundles ?? {}, key)) continue;
    ctx.addIssue({ code: "custom", path, message: `names the CA bundle "${key}", which caBundles does not hold` });
  }
});

/** A parsed routing.json document, defaults applied. */
export type RoutingJson = z.output<typeof routingJsonSchema>;
/** A routing.json document as written, where defaulted fields may be absent. */
export type RoutingJsonInput = z.input<typeof routingJsonSchema>;
/** One route entry of routing.json. */
export type RoutingRoute = RoutingJson["vhosts"][string]["routes"][number];
/** One backend group of routing.json. */
export type RoutingBackend = z.output<typeof routingBackendSchema>;
/** TLS towards a backend group's Service port, as routing.json carries it. */
export type RoutingBackendTls = z.output<typeof routingBackendTlsSchema>;
