/**
 * ghost.json: what chaperone writes for the ghost VMOD, routing.json with each Service resolved to endpoints.
 *
 * @module
 */
import { z } from "zod";
import { backendFilterSchema, documentSchema, portSchema, weightSchema } from "./route_parts.ts";

/** The version of ghost.json this code reads and writes. */
export const GHOST_JSON_VERSION = 1;

/** One ready endpoint: a pod address and the resolved target port. */
export const endpointSchema = z.strictObject({
  address: z.union([z.ipv4(), z.ipv6()], { error: "must be an IPv4 or IPv6 address" }),
  port: portSchema,
});

/** A backend group of ghost.json: a named set of endpoints. */
export const ghostBackendSchema = z.strictObject({
  weight: weightSchema,
  /** What the group is, for logs and error bodies: `namespace/service:port`. */
  name: z.string().min(1).max(600),
  /** Ready endpoints; an empty list makes the group's share of traffic answer 500. */
  endpoints: z.array(endpointSchema).default([]),
  /** Set when the backendRef could not be resolved; the group's share of traffic answers 500 with it. */
  error: z.string().min(1).max(1024).optional(),
  filters: z.array(backendFilterSchema).max(16).default([]),
});

/** The ghost.json schema (version 1). */
export const ghostJsonSchema = documentSchema(GHOST_JSON_VERSION, ghostBackendSchema);

/** A parsed ghost.json document, defaults applied. */
export type GhostJson = z.output<typeof ghostJsonSchema>;
/** A ghost.json document as written, where defaulted fields may be absent. */
export type GhostJsonInput = z.input<typeof ghostJsonSchema>;
/** One route entry of ghost.json. */
export type GhostRoute = GhostJson["vhosts"][string]["routes"][number];
/** One backend group of ghost.json. */
export type GhostBackend = z.output<typeof ghostBackendSchema>;
/** One endpoint of ghost.json. */
export type GhostEndpoint = z.output<typeof endpointSchema>;
