/**
 * routing.json: the operator's output, one per Gateway, stored in the `<gateway>-lacquer` ConfigMap.
 *
 * The route tree of the Gateway with each backendRef naming a Service port (or saying why it cannot be used).
 *
 * @module
 */
import { z } from "zod";
import { backendTlsSchema } from "./ghost_json.ts";
import { backendFilterSchema, documentSchema, portSchema, weightSchema } from "./route_parts.ts";

/** The version of routing.json this code reads and writes. */
export const ROUTING_JSON_VERSION = 1;

const service = z.strictObject({
  namespace: z.string().min(1).max(253),
  name: z.string().min(1).max(253),
  port: portSchema,
});

/**
 * TLS towards a Service port (its BackendTLSPolicy): ghost.json's `transport.tls` without the client certificate,
 * whose key stays in the Gateway's TLS Secret (the chaperone adds it to every TLS backend group).
 */
export const routingBackendTlsSchema = backendTlsSchema.omit({ clientCertificate: true });

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

/** The routing.json schema (version 1). */
export const routingJsonSchema = documentSchema(ROUTING_JSON_VERSION, routingBackendSchema, routingClusterSchema);

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
