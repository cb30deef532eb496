/**
 * ghost.json: what chaperone writes for the ghost VMOD, routing.json with each Service resolved to endpoints.
 *
 * @module
 */
import { z } from "zod";
import { backendFilterSchema, documentSchema, portSchema, weightSchema } from "./route_parts.ts";

/** The version of ghost.json this code writes. */
export const GHOST_JSON_VERSION = 2;

/**
 * The versions of ghost.json this code (and ghost) reads: version 2 adds the top-level `backends` table, whose entries
 * groups name by key ({@linkcode ghostBackendSchema}'s `backend`).
 */
export const GHOST_JSON_VERSIONS = [1, 2] as const;

/** One ready endpoint: a pod address and the resolved target port. */
export const endpointSchema = z.strictObject({
  address: z.union([z.ipv4(), z.ipv6()], { error: "must be an IPv4 or IPv6 address" }),
  port: portSchema,
});

/** PEM text: certificates or a key. */
export const pemSchema = z.string().min(1).max(256 * 1024);

/** The Gateway API's AbsoluteURI: a scheme, then `//` (what ghost checks too). */
export const ABSOLUTE_URI = /^[^:/?#]+:\/\//;

/** A client certificate chain and its private key, PEM. */
export const clientCertificateSchema = z.strictObject({ certificate: pemSchema, key: pemSchema });

/** TLS towards a backend group: a BackendTLSPolicy's validation and the Gateway's client certificate. */
export const backendTlsSchema = z.strictObject({
  /** Sent as SNI; without `subjectAltNames` and `uriSubjectAltNames` the certificate must be valid for it. */
  hostname: z.string().min(1).max(253),
  /** PEM CA certificates the server's chain must end in; absent: the well-known (system) roots. */
  caCertificates: pemSchema.optional(),
  /** DNS names of which the certificate must carry one (or one of `uriSubjectAltNames`), instead of `hostname`. */
  subjectAltNames: z.array(z.string().min(1).max(253)).max(16).optional(),
  /**
   * Absolute URIs (`scheme://authority…`, e.g. SPIFFE IDs) of which the certificate must carry one as a URI
   * subjectAltName, compared exactly (or one of `subjectAltNames`), instead of `hostname`.
   */
  uriSubjectAltNames: z.array(
    z.string().min(1).max(253).regex(ABSOLUTE_URI, { error: "must be an absolute URI (scheme://authority...)" }),
  ).max(16).optional(),
  /** Presented on every connection: certificate chain and key, PEM. */
  clientCertificate: clientCertificateSchema.optional(),
});

/**
 * How ghost reaches a group's endpoints itself when Varnish's HTTP/1.1 backends cannot: HTTPS or H2C. `HTTP` (plain
 * HTTP/1.1 through ghost's transport) exists to compare the transport with a native backend; chaperone never writes it.
 */
export const transportSchema = z.strictObject({
  protocol: z.enum(["HTTP", "HTTPS", "H2C"]),
  tls: backendTlsSchema.optional(),
}).refine((t) => (t.protocol === "HTTPS") === (t.tls !== undefined), {
  message: "tls is required for protocol HTTPS and must be absent for HTTP and H2C",
});

/** A key of ghost.json's `backends` table: a Service port with its TLS settings. */
export const backendKeySchema = z.string().min(1).max(1024);

/**
 * An entry of ghost.json's `backends` table (version 2): the ready endpoints of one Service port and how ghost reaches
 * them. An endpoint change is this one entry, whatever the number of routes naming it.
 */
export const ghostBackendEntrySchema = z.strictObject({
  /** Ready endpoints; none makes the groups naming the entry answer 500. */
  endpoints: z.array(endpointSchema).default([]),
  /** Set when the Service port could not be resolved; the groups naming the entry answer 500 with it. */
  error: z.string().min(1).max(1024).optional(),
  /** Absent for plain HTTP/1.1 (Varnish's own backends). */
  transport: transportSchema.optional(),
});

/** A backend group of ghost.json: a named set of endpoints. */
export const ghostBackendSchema = z.strictObject({
  weight: weightSchema,
  /** What the group is, for logs and error bodies: `namespace/service:port`. */
  name: z.string().min(1).max(600),
  /** Ready endpoints; an empty list makes the group's share of traffic answer 500. */
  endpoints: z.array(endpointSchema).default([]),
  /**
   * Version 2: the key of the `backends` entry holding the group's endpoints and transport (then the group holds
   * neither); a key the table lacks makes the group answer 500.
   */
  backend: backendKeySchema.optional(),
  /** Set when the backendRef could not be resolved; the group's share of traffic answers 500 with it. */
  error: z.string().min(1).max(1024).optional(),
  filters: z.array(backendFilterSchema).max(16).default([]),
  /** Absent for plain HTTP/1.1 (Varnish's own backends). */
  transport: transportSchema.optional(),
}).refine((b) => b.backend === undefined || (b.endpoints.length === 0 && b.transport === undefined), {
  message: "a group naming a backends entry must hold no endpoints or transport of its own",
});

/**
 * The clustered cache in ghost.json: this pod's peer listener, those of the gateway's ready pods, and the key that
 * signs the requests they send each other.
 */
export const ghostClusterSchema = z.strictObject({
  self: endpointSchema,
  peers: z.array(endpointSchema).max(256),
  secret: z.string().min(32).max(256),
});

/** The ghost.json schema (versions 1 and 2). */
export const ghostJsonSchema = documentSchema(GHOST_JSON_VERSIONS, ghostBackendSchema, ghostClusterSchema, {
  /** Version 2: the endpoints of each Service port that groups name by key. */
  backends: z.record(backendKeySchema, ghostBackendEntrySchema).optional(),
}).superRefine((doc, ctx) => {
  // Mirrors hold their endpoints inline: ghost sends their copies itself, apart from the backend pools.
  for (const [host, vhost] of Object.entries(doc.vhosts)) {
    vhost.routes.forEach((route, i) =>
      route.mirrors?.forEach((mirror, m) => {
        if (mirror.backend.backend === undefined) return;
        ctx.addIssue({
          code: "custom",
          path: ["vhosts", host, "routes", i, "mirrors", m, "backend", "backend"],
          message: "a mirror holds its endpoints inline, not a backends key",
        });
      })
    );
  }
});

/** A parsed ghost.json document, defaults applied. */
export type GhostJson = z.output<typeof ghostJsonSchema>;
/** A ghost.json document as written, where defaulted fields may be absent. */
export type GhostJsonInput = z.input<typeof ghostJsonSchema>;
/** One route entry of ghost.json. */
export type GhostRoute = GhostJson["vhosts"][string]["routes"][number];
/** One backend group of ghost.json. */
export type GhostBackend = z.output<typeof ghostBackendSchema>;
/** How ghost reaches a backend group (TLS, H2C). */
export type GhostTransport = z.output<typeof transportSchema>;
/** A client certificate presented to TLS backends. */
export type GhostClientCertificate = z.output<typeof clientCertificateSchema>;
/** The clustered cache section of ghost.json. */
export type GhostCluster = z.output<typeof ghostClusterSchema>;
/** An entry of ghost.json's `backends` table. */
export type GhostBackendEntry = z.output<typeof ghostBackendEntrySchema>;
/** One endpoint of ghost.json. */
export type GhostEndpoint = z.output<typeof endpointSchema>;

/**
 * The version 1 form of a document: each group naming a `backends` entry holds the entry's endpoints, error and
 * transport inline (a key the table lacks: the error ghost answers with), for readers that evaluate groups alone.
 *
 * @example Usage
 * ```ts
 * import { inlineBackends } from "./ghost_json.ts";
 * inlineBackends({ version: 2, listeners: [], vhosts: {}, backends: {} }); // { version: 2, listeners: [], vhosts: {} }
 * ```
 *
 * @param doc A parsed ghost.json.
 * @returns The document without its `backends` table, the groups resolved.
 */
export function inlineBackends(doc: GhostJson): GhostJson {
  const { backends: table = {}, ...rest } = doc;
  const inline = (group: GhostBackend): GhostBackend => {
    if (group.backend === undefined) return group;
    const { backend: key, ...own } = group;
    const entry = Object.hasOwn(table, key) ? table[key] : undefined;
    const error = group.error ?? (entry ? entry.error : `the backends table has no entry ${JSON.stringify(key)}`);
    const transport = entry?.transport;
    return {
      ...own,
      endpoints: entry?.endpoints ?? [],
      ...(error === undefined ? {} : { error }),
      ...(transport === undefined ? {} : { transport }),
    };
  };
  const vhosts = Object.fromEntries(
    Object.entries(doc.vhosts).map(([host, vhost]) => [host, {
      routes: vhost.routes.map((route) => ({ ...route, backends: route.backends.map(inline) })),
    }]),
  );
  return { ...rest, vhosts };
}
