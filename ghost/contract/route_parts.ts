/**
 * Schema parts shared by routing.json and ghost.json: listeners, matches, filters, route identity, and a builder
 * for the route tree that takes the backend-group schema, the only part in which the two formats differ.
 *
 * Field names and semantics follow the Gateway API HTTPRoute types (v1).
 *
 * @module
 */
import { z } from "zod";

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// The Kubernetes wire format of a creationTimestamp: whole seconds in UTC, so that string order is time order.
const KUBE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** A header name: an HTTP token. */
export const headerNameSchema = z.string().regex(HEADER_NAME, "must be an HTTP header name (token characters)");

/** A lowercase DNS hostname, optionally with a leading `*.` wildcard label. */
export const hostnameSchema = z.string().max(253).regex(
  HOSTNAME,
  "must be a lowercase hostname, optionally `*.`-prefixed",
);

/** A vhost key: a hostname, a `*.`-wildcard, or `*` for routes without hostnames. */
export const vhostKeySchema = z.string().max(253).refine(
  (key) => key === "*" || HOSTNAME.test(key),
  "vhost key must be a lowercase hostname, a `*.`-wildcard hostname or `*`",
);

/** A TCP port. */
export const portSchema = z.int().min(1).max(65535);

/** The HTTP methods a route may match (Gateway API `HTTPMethod`). */
export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"] as const;

/** A Gateway listener the gateway serves, and the varnishd socket its traffic arrives on. */
export const listenerSchema = z.strictObject({
  /** The listener's name in the Gateway (`spec.listeners[].name`). */
  name: z.string().min(1).max(253),
  /** The name of the varnishd `-a` socket that carries this listener's traffic. */
  socket: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "must be a varnishd socket name"),
  /** The listener port, as declared on the Gateway. */
  port: portSchema,
  /** The listener protocol. */
  protocol: z.enum(["HTTP", "HTTPS"]),
  /** The listener hostname; absent means any hostname. */
  hostname: hostnameSchema.optional(),
});

const pathValue = z.string().min(1).max(1024);

/** What an encoded `/` or `\` (`%2F`, `%5C`) or a raw `\` in a request path does (ghost's `path.rs`). */
export const ESCAPED_SLASHES = ["Reject", "UnescapeAndRedirect", "UnescapeAndForward", "KeepUnchanged"] as const;

/** An IP address or CIDR block. */
export const cidrSchema = z.union([z.cidrv4(), z.cidrv6(), z.ipv4(), z.ipv6()], {
  error: "must be an IP address or CIDR block",
});

/** How client requests are normalised and whose forwarding headers are kept; absent: the defaults. */
export const requestsSchema = z.strictObject({
  /** Encoded or backslash path separators: answer 400 (the default), redirect or forward unescaped, or keep. */
  escapedSlashes: z.enum(ESCAPED_SLASHES).default("Reject"),
  /** Clients whose `X-Forwarded-*`, `Forwarded` and `X-Real-IP` are kept; everyone else's are replaced. */
  trustedProxies: z.array(cidrSchema).max(64).default([]),
});

/** How a request path is matched. Exact and PathPrefix values are absolute paths. */
export const pathMatchSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("Exact"), value: pathValue.startsWith("/", "must start with /") }),
  z.strictObject({ type: z.literal("PathPrefix"), value: pathValue.startsWith("/", "must start with /") }),
  z.strictObject({ type: z.literal("RegularExpression"), value: pathValue }),
]);

/** A header match; names compare case-insensitively. */
export const headerMatchSchema = z.strictObject({
  type: z.enum(["Exact", "RegularExpression"]).default("Exact"),
  name: headerNameSchema,
  value: z.string().max(4096),
});

/** A query parameter match on the decoded value; names compare exactly. */
export const queryParamMatchSchema = z.strictObject({
  type: z.enum(["Exact", "RegularExpression"]).default("Exact"),
  name: z.string().min(1).max(256),
  value: z.string().max(1024),
});

/** One match of a rule: every present condition must hold. */
export const matchSchema = z.strictObject({
  path: pathMatchSchema.default({ type: "PathPrefix", value: "/" }),
  method: z.enum(HTTP_METHODS).optional(),
  headers: z.array(headerMatchSchema).max(16).default([]),
  queryParams: z.array(queryParamMatchSchema).max(16).default([]),
});

const headerValue = z.strictObject({ name: headerNameSchema, value: z.string().max(4096) });

/** Header changes: `set` replaces, `add` appends, `remove` deletes (names case-insensitive). */
export const headerModifierSchema = z.strictObject({
  set: z.array(headerValue).max(16).default([]),
  add: z.array(headerValue).max(16).default([]),
  remove: z.array(headerNameSchema).max(16).default([]),
});

/** A path change used by redirects and rewrites. */
export const pathModifierSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("ReplaceFullPath"),
    replaceFullPath: pathValue.startsWith("/", "must start with /"),
  }),
  z.strictObject({
    type: z.literal("ReplacePrefixMatch"),
    replacePrefixMatch: pathValue.startsWith("/", "must start with /"),
  }),
]);

/** A redirect answered by the gateway itself. Absent fields keep the request's value. */
export const requestRedirectSchema = z.strictObject({
  scheme: z.enum(["http", "https"]).optional(),
  hostname: hostnameSchema.optional(),
  port: portSchema.optional(),
  path: pathModifierSchema.optional(),
  statusCode: z.union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)], {
    error: "must be one of 301, 302, 303, 307, 308",
  }).default(302),
});

/** A rewrite of the request before it goes to the backend. */
export const urlRewriteSchema = z.strictObject({
  hostname: hostnameSchema.optional(),
  path: pathModifierSchema.optional(),
});

const requestHeaderModifierFilter = z.strictObject({
  type: z.literal("RequestHeaderModifier"),
  requestHeaderModifier: headerModifierSchema,
});
const responseHeaderModifierFilter = z.strictObject({
  type: z.literal("ResponseHeaderModifier"),
  responseHeaderModifier: headerModifierSchema,
});

// `*`, or an http(s) origin whose host may start with `*` (any number of labels to its left).
const CORS_ORIGIN = /^(\*|https?:\/\/(\*|\*?[a-z0-9.-]*[a-z0-9]|\[[0-9a-f:.]+\])(:[1-9][0-9]{0,4})?)$/;

/** An `allowOrigins` entry of a CORS filter, lowercase. */
export const corsOriginSchema = z.string().max(253).regex(
  CORS_ORIGIN,
  "must be `*` or a lowercase http(s)://host[:port] origin, the host optionally starting with `*`",
);

/** CORS answered by the gateway (Gateway API `HTTPCORSFilter`): preflights and the headers of answers. */
export const corsSchema = z.strictObject({
  /** Allowed origins; `*` allows every origin. */
  allowOrigins: z.array(corsOriginSchema).max(64).default([]),
  /** Answers carry `Access-Control-Allow-Credentials: true`; wildcards are then echoed, never sent as `*`. */
  allowCredentials: z.boolean().default(false),
  /** Methods for `Access-Control-Allow-Methods`, or `*`. */
  allowMethods: z.array(z.enum([...HTTP_METHODS, "*"])).max(10).default([]),
  /** Request headers for `Access-Control-Allow-Headers`, or `*`. */
  allowHeaders: z.array(headerNameSchema).max(64).default([]),
  /** Response headers for `Access-Control-Expose-Headers`, or `*`. */
  exposeHeaders: z.array(headerNameSchema).max(64).default([]),
  /** Seconds a client may cache a preflight answer. */
  maxAge: z.int().min(1).max(2_147_483_647).default(5),
});

/** A rule filter, applied in order. */
export const filterSchema = z.discriminatedUnion("type", [
  requestHeaderModifierFilter,
  responseHeaderModifierFilter,
  z.strictObject({ type: z.literal("RequestRedirect"), requestRedirect: requestRedirectSchema }),
  z.strictObject({ type: z.literal("URLRewrite"), urlRewrite: urlRewriteSchema }),
  z.strictObject({ type: z.literal("CORS"), cors: corsSchema }),
]);

/** A filter allowed on one backend group: header changes only. */
export const backendFilterSchema = z.discriminatedUnion("type", [
  requestHeaderModifierFilter,
  responseHeaderModifierFilter,
]);

/** Which HTTPRoute rule a route entry came from: precedence tie-breakers and the X-Gateway-Route header. */
export const routeIdSchema = z.strictObject({
  namespace: z.string().min(1).max(253),
  name: z.string().min(1).max(253),
  /** The rule's index in `spec.rules`. */
  rule: z.int().min(0),
  /** The rule's `name`, when it has one. */
  ruleName: z.string().min(1).max(253).optional(),
});

/** Milliseconds; at most about 24 days, so that every value fits a signed 32-bit integer. */
const millis = z.int().min(0).max(2_147_483_647);

/**
 * The most retries a rule may ask for: varnishd's default `max_retries`, past which Varnish ends a fetch with 503
 * whatever the rule says.
 */
export const MAX_RETRY_ATTEMPTS = 4;

/** A rule's timeouts (Gateway API `HTTPRouteTimeouts`), in milliseconds; 0 disables one, absent keeps varnishd's. */
export const timeoutsSchema = z.strictObject({
  /** The whole request, every retry and back-off included: 504 when it expires before the response starts. */
  requestMs: millis.optional(),
  /** Each attempt at a backend (connect, first byte, between bytes): 504, or a retry, when it expires. */
  backendRequestMs: millis.optional(),
});

/** A rule's retries (Gateway API `HTTPRouteRetry`): on these statuses, on connection errors and on timeouts. */
export const retrySchema = z.strictObject({
  /** Response statuses that are retried. */
  codes: z.array(z.int().min(400).max(599)).max(200).default([]),
  /** How many times a failed attempt is retried. */
  attempts: z.int().min(1).max(MAX_RETRY_ATTEMPTS).default(1),
  /** The least time between a failed attempt and the next one. */
  backoffMs: millis.default(0),
});

/**
 * The share of a rule's requests a mirror gets (Gateway API `RequestMirror` `percent` or `fraction`):
 * `numerator / denominator`, each request drawn independently.
 */
export const mirrorFractionSchema = z.strictObject({
  numerator: z.int().min(0).max(1_000_000),
  denominator: z.int().min(1).max(1_000_000).default(100),
}).refine((f) => f.numerator <= f.denominator, {
  message: "numerator must not exceed denominator",
  path: ["numerator"],
});

/** The most mirrors a rule may have (Gateway API allows at most 16 filters per rule). */
export const MAX_MIRRORS = 16;

/** A backend weight (Gateway API allows 0 to 1,000,000; 0 takes no traffic). */
export const weightSchema = z.int().min(0).max(1_000_000).default(1);

const LOWERCASE_HEADER_NAME = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;
/** Whole seconds; at most about 68 years, so that every value fits a signed 32-bit integer. */
const seconds = z.int().min(0).max(2_147_483_647);

/** Freshness, in seconds: `default` only when the origin gives none, `forced` overrides the origin. */
export const cacheTtlSchema = z.strictObject({
  default: seconds.default(120),
  forced: seconds.optional(),
  grace: seconds.default(10),
  keep: seconds.default(0),
});

/** Explicit opt-ins to cache what is otherwise never cached; all false by default. */
export const cacheAllowSchema = z.strictObject({
  /** Cache responses with `Cache-Control: no-store` (meaningful with `ttl.forced`). */
  noStore: z.boolean().default(false),
  /** Cache responses with `Cache-Control: private`. */
  private: z.boolean().default(false),
  /** Cache responses with `Set-Cookie`; the cookie is removed from the stored object. */
  setCookie: z.boolean().default(false),
  /** Cache requests that carry `Authorization`. */
  authorization: z.boolean().default(false),
  /** Remove cookies not named in `key.cookies` instead of passing requests that carry them. */
  otherCookies: z.boolean().default(false),
  /** Methods besides GET and HEAD that are looked up (POST only), with the method and the body joining the key. */
  methods: z.array(z.literal("POST")).max(1).optional(),
  /** The largest body (`Content-Length`) such a request may have to be looked up; others pass. Absent: 16384. */
  maxBodyBytes: z.int().min(1).max(1_048_576).optional(),
});

/** Which query parameters join the cache key (and reach the origin on a miss), sorted by name. */
export const cacheQuerySchema = z.strictObject({
  mode: z.enum(["All", "None", "Include", "Exclude"]).default("All"),
  params: z.array(z.string().min(1).max(256)).max(64).default([]),
}).refine((q) => q.mode === "Include" || q.mode === "Exclude" || q.params.length === 0, {
  message: "params are only allowed with mode Include or Exclude",
  path: ["params"],
});

/** What joins the cache key besides the host, the rule and the path. */
export const cacheKeySchema = z.strictObject({
  query: cacheQuerySchema.prefault({}),
  /** Request headers whose values join the key, lowercase. */
  headers: z.array(z.string().regex(LOWERCASE_HEADER_NAME, "must be a lowercase HTTP header name")).max(16)
    .default([]),
  /** Cookies whose values join the key. */
  cookies: z.array(z.string().regex(HEADER_NAME, "must be a cookie name (token characters)")).max(16).default([]),
});

/** A request condition that passes the request (no cache lookup). */
export const cacheBypassSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("Header"),
    name: headerNameSchema,
    /** Searched in the header's value (anchor it with `^…$`); absent: the header being present is enough. */
    valueRegex: z.string().min(1).max(1024).optional(),
  }),
  z.strictObject({
    type: z.literal("Cookie"),
    name: z.string().regex(HEADER_NAME, "must be a cookie name (token characters)"),
  }),
]);

const cacheSettingsShape = {
  ttl: cacheTtlSchema.prefault({}),
  allow: cacheAllowSchema.prefault({}),
  key: cacheKeySchema.prefault({}),
  bypass: z.array(cacheBypassSchema).max(16).default([]),
  /** The response header holding space-separated surrogate keys (`xkey` is read too); removed before delivery. */
  surrogateKeys: z.strictObject({ header: headerNameSchema.default("Surrogate-Key") }).prefault({}),
  /** Add `X-Cache`, `X-Cache-Hits` and `Age` to responses. */
  debugHeaders: z.boolean().default(false),
};

/** How a CachePolicy caches: one entry of a document's `cachePolicies` table. */
export const cacheSettingsSchema = z.strictObject(cacheSettingsShape);

/** How a rule caches, written out on the rule itself: the policy's name and its settings. */
export const cacheSchema = z.strictObject({
  /** The CachePolicy that applies, for metrics, logs and debugging. */
  policy: z.strictObject({ namespace: z.string().min(1).max(253), name: z.string().min(1).max(253) }),
  ...cacheSettingsShape,
});

/** `namespace/name` of a CachePolicy: a key of a document's `cachePolicies` table. */
export const cachePolicyKeySchema = z.string().max(507).regex(
  /^[^/]+\/[^/]+$/,
  "must be a CachePolicy's namespace/name",
);

/** A route entry's `cache`: the key of its policy in `cachePolicies` (what the operator writes), or the settings. */
export const routeCacheSchema = z.union([cachePolicyKeySchema, cacheSchema]);

/**
 * Builds the schema of one vhost (its route entries) of a format around its backend-group schema.
 *
 * @param backendSchema The schema of one backend group.
 * @returns The vhost schema.
 */
export function vhostSchema<B extends z.ZodType>(backendSchema: B) {
  const route = z.strictObject({
    id: routeIdSchema,
    /** The HTTPRoute's creationTimestamp (older routes win ties). */
    created: z.string().regex(KUBE_TIME, "must be a UTC timestamp like 2026-01-02T03:04:05Z"),
    /** Names of the listeners this route serves on this vhost. */
    listeners: z.array(z.string().min(1)).min(1),
    /** The rule's matches; an absent list means one match on every path. */
    matches: z.array(matchSchema).max(64).default([{
      path: { type: "PathPrefix", value: "/" },
      headers: [],
      queryParams: [],
    }]),
    filters: z.array(filterSchema).max(16).default([]),
    /** Weighted backend groups; none means the gateway answers 500 unless a redirect filter answers first. */
    backends: z.array(backendSchema).max(64).default([]),
    /**
     * The rule's RequestMirror filters: a copy of each forwarded request goes to one endpoint of each mirror's
     * backend (its `weight` and `filters` are not used), the answer ignored; absent: none.
     */
    mirrors: z.array(z.strictObject({
      backend: backendSchema,
      /** The share of requests mirrored; absent: every request. */
      fraction: mirrorFractionSchema.optional(),
    })).min(1).max(MAX_MIRRORS).optional(),
    /** The rule's timeouts; absent: varnishd's own. */
    timeouts: timeoutsSchema.optional(),
    /** The rule's retries; absent: a failed attempt is not retried. */
    retry: retrySchema.optional(),
    /** How the rule caches; absent: every request passes. */
    cache: routeCacheSchema.optional(),
  });
  return z.strictObject({ routes: z.array(route) });
}

/**
 * The schema of a document's `version`: the one, or the ones, this build reads.
 *
 * @param version The format's version number, or the versions it reads.
 * @returns The schema.
 */
export function versionSchema<V extends number>(version: V | readonly V[]) {
  const versions: readonly V[] = typeof version === "number" ? [version] : version;
  const error = versions.length === 1
    ? `must be ${versions[0]}, the only version this build reads`
    : `must be ${versions.slice(0, -1).join(", ")} or ${versions.at(-1)}, the versions this build reads`;
  return z.literal(versions, { error });
}

/**
 * Builds the document schema of a format around its backend-group schema.
 *
 * @param version The format's version number, or the versions it reads.
 * @param backendSchema The schema of one backend group.
 * @param clusterSchema The schema of the clustered cache's section.
 * @param tables Further document-wide tables of the format, written after `cachePolicies`. @default {none}
 * @returns The document schema.
 */
export function documentSchema<
  B extends z.ZodType,
  C extends z.ZodType,
  T extends z.ZodRawShape = Record<never, never>,
>(
  version: number | readonly number[],
  backendSchema: B,
  clusterSchema: C,
  tables: T = {} as T,
) {
  return z.strictObject({
    version: versionSchema(version),
    listeners: z.array(listenerSchema).default([]),
    /** Each CachePolicy's settings once, by `namespace/name`, for the route entries that name it. */
    cachePolicies: z.record(cachePolicyKeySchema, cacheSettingsSchema).optional(),
    ...tables,
    vhosts: z.record(vhostKeySchema, vhostSchema(backendSchema)),
    requests: requestsSchema.optional(),
    /** The clustered cache (GatewayParameters `cache.clustered`); absent: every gateway pod caches on its own. */
    cluster: clusterSchema.optional(),
  }).superRefine((parsed, ctx) => {
    // The fields read here, whatever further tables the format has.
    const doc = parsed as unknown as {
      cachePolicies?: Record<string, unknown>;
      vhosts: Record<string, { routes: { cache?: unknown }[] }>;
    };
    for (const [host, vhost] of Object.entries(doc.vhosts)) {
      vhost.routes.forEach((route, i) => {
        if (typeof route.cache !== "string" || Object.hasOwn(doc.cachePolicies ?? {}, route.cache)) return;
        ctx.addIssue({
          code: "custom",
          path: ["vhosts", host, "routes", i, "cache"],
          message: `names the cache policy "${route.cache}", which cachePolicies does not hold`,
        });
      });
    }
  });
}

/** A rule's cache settings with its policy's name, as a route entry writes them out. */
export type RuleCache = z.output<typeof cacheSchema>;

/**
 * The cache settings that apply to a route entry: its own, or those of the policy it names.
 *
 * @example Usage
 * ```ts
 * import { routeCache } from "./route_parts.ts";
 * const doc = { cachePolicies: { "shop/p": { ttl: { default: 60, grace: 10, keep: 0 }, allow: { noStore: false,
 *   private: false, setCookie: false, authorization: false, otherCookies: false },
 *   key: { query: { mode: "All" as const, params: [] }, headers: [], cookies: [] }, bypass: [],
 *   surrogateKeys: { header: "Surrogate-Key" }, debugHeaders: false } } };
 * routeCache(doc, { cache: "shop/p" })?.policy; // { namespace: "shop", name: "p" }
 * ```
 *
 * @param doc The document (its `cachePolicies` table).
 * @param route One of its route entries.
 * @returns The policy's name and settings, or undefined when the rule passes every request.
 */
export function routeCache(
  doc: { cachePolicies?: Record<string, z.output<typeof cacheSettingsSchema>> },
  route: { cache?: string | RuleCache },
): RuleCache | undefined {
  const cache = route.cache;
  if (typeof cache !== "string") return cache;
  const settings = doc.cachePolicies?.[cache];
  if (settings === undefined) return undefined;
  const slash = cache.indexOf("/");
  return { policy: { namespace: cache.slice(0, slash), name: cache.slice(slash + 1) }, ...settings };
}
