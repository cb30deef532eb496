/**
 * The shape of one cache invalidation, as the CacheInvalidation controller, the HTTP API and the chaperone's
 * `POST /invalidate` all accept it.
 *
 * The schema is strict: every string that ends up in a ban expression or an xkey lookup on the pod is held to a
 * narrow syntax here (RFC 1123 hostname, absolute path, surrogate key), so nothing the caller wrote is ever pasted
 * into VCL or a ban unchecked.
 *
 * @module
 */
import { z } from "zod";

/** At most this many URLs, prefixes or surrogate keys in one invalidation. */
export const MAX_INVALIDATION_ENTRIES = 256;

/** At most this many characters in one URL path or prefix. */
export const MAX_INVALIDATION_PATH_LENGTH = 2048;

/**
 * At most this many directories deep may a prefix reach (`/` is one, `/a/` and `/a` two): the gateway indexes that
 * many ancestor directories of each cached path.
 */
export const MAX_PREFIX_DEPTH = 16;

/** At most this many characters in one surrogate key. */
export const MAX_SURROGATE_KEY_LENGTH = 256;

/** The four kinds of target, one per invalidation; also the `kind` label of the invalidation metrics. */
export const InvalidationKind = {
  /** Every cached variant of some URL paths. */
  Url: "url",
  /** Every object whose path starts with one of some prefixes. */
  Prefix: "prefix",
  /** Every object carrying one of some surrogate keys. */
  Tag: "tag",
  /** Everything cached for the hostname. */
  All: "all",
} as const;

/** One of {@linkcode InvalidationKind}. */
export type InvalidationKind = typeof InvalidationKind[keyof typeof InvalidationKind];

// A DNS-1123 label: a Kubernetes namespace name.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// RFC 1123 hostname labels (letters, digits, inner hyphens), dot-separated; case is folded before the test.
const HOSTNAME_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// RFC 3986 path characters: unreserved, sub-delims, ":", "@", "/" and percent-encoded octets.
const PATH = /^\/([A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;
// A surrogate key: visible ASCII without "," (origins send keys like "product:42" or "cat/shoes"). Whitespace and ","
// separate keys in the Surrogate-Key and xkey headers, so a key holding one would be several. The pod stores and
// looks up "<namespace>/<key>", and a namespace name never holds "/": the first "/" ends the namespace whatever the
// key holds, so a key (even "other-namespace/x") always stays in the caller's namespace.
const SURROGATE_KEY = /^[\x21-\x2b\x2d-\x7e]+$/;

const namespaceSchema = z.string().max(63, "must be at most 63 characters").regex(
  NAMESPACE,
  "must be a Kubernetes namespace name (lowercase letters, digits and inner hyphens)",
);

const hostnameSchema = z.string().max(253, "must be at most 253 characters").transform((text, ctx) => {
  const host = text.toLowerCase();
  const why = hostnameProblem(host);
  if (why !== undefined) {
    ctx.addIssue({ code: "custom", message: `must be an exact RFC 1123 hostname: ${why}, not "${text}"` });
    return z.NEVER;
  }
  return host;
});

function hostnameProblem(host: string): string | undefined {
  if (host === "") return "it is empty";
  if (host.includes(":")) return "it must not carry a port";
  if (host.includes("*")) return "it must not be a wildcard";
  const labels = host.split(".");
  if (labels.some((l) => l === "")) return "it has an empty label";
  if (labels.some((l) => l.length > 63)) return "a label is longer than 63 characters";
  if (!labels.every((l) => HOSTNAME_LABEL.test(l))) return "labels hold letters, digits and inner hyphens only";
  return undefined;
}

function pathSchema(what: string) {
  return z.string().max(MAX_INVALIDATION_PATH_LENGTH, `must be at most ${MAX_INVALIDATION_PATH_LENGTH} characters`)
    .superRefine((text, ctx) => {
      const why = text.includes("?")
        ? "must not carry a query string: every query variant of the path is invalidated"
        : text.includes("#")
        ? "must not carry a fragment"
        : !text.startsWith("/")
        ? "must be an absolute path starting with /"
        : !PATH.test(text)
        ? "must hold only RFC 3986 path characters (percent-encode the others)"
        : undefined;
      if (why !== undefined) ctx.addIssue({ code: "custom", message: `${what} ${why}, not "${text}"` });
    });
}

const keySchema = z.string().max(MAX_SURROGATE_KEY_LENGTH, `must be at most ${MAX_SURROGATE_KEY_LENGTH} characters`)
  .regex(SURROGATE_KEY, "must be a surrogate key (visible ASCII characters, no spaces or commas)");

function listOf<T extends z.ZodType>(entry: T) {
  return z.array(entry).min(1, "must not be empty").max(
    MAX_INVALIDATION_ENTRIES,
    `must hold at most ${MAX_INVALIDATION_ENTRIES} entries`,
  );
}

const TARGETS = ["urls", "prefixes", "tags", "all"] as const;

/**
 * One invalidation, already scoped to one tenant namespace: exactly one of `urls`, `prefixes`, `tags` or
 * `all: true`, for one hostname. Unknown fields are refused.
 */
export const invalidationSchema = z.strictObject({
  namespace: namespaceSchema,
  hostname: hostnameSchema,
  soft: z.boolean().default(true),
  urls: listOf(pathSchema("a URL")).optional(),
  prefixes: listOf(
    pathSchema("a prefix").refine(
      (prefix) => (prefix.endsWith("/") ? prefix : `${prefix}/`).split("/").length - 1 <= MAX_PREFIX_DEPTH,
      `a prefix must be at most ${MAX_PREFIX_DEPTH} directories deep ("/" is one, "/a" two)`,
    ),
  ).optional(),
  tags: listOf(keySchema).optional(),
  all: z.literal(true, { error: "must be true when present (to invalidate everything of the hostname)" }).optional(),
}).superRefine((value, ctx) => {
  const present = TARGETS.filter((t) => value[t] !== undefined);
  if (present.length !== 1) {
    const found = present.length === 0 ? "none" : present.map((t) => `"${t}"`).join(" and ");
    ctx.addIssue({
      code: "custom",
      message: `must name exactly one target of "urls", "prefixes", "tags" or "all", found ${found}`,
    });
  }
});

/**
 * One invalidation, already scoped to one tenant namespace.
 *
 * - `namespace`: only objects cached for HTTPRoutes of this namespace are affected (tenancy).
 * - `hostname`: the exact hostname as served (RFC 1123, lowercased, no port, no wildcard).
 * - `soft`: true (default) marks objects stale, so grace serves them while one fetch refreshes; false removes them.
 * - `urls`: absolute paths; every cached variant of each (all query variants, header and cookie key parts).
 * - `prefixes`: absolute paths; every object whose path starts with one of them.
 * - `tags`: surrogate keys as the origin sent them.
 * - `all`: everything cached for the hostname.
 */
export type Invalidation = z.output<typeof invalidationSchema>;

/**
 * Tells which kind of target an invalidation names.
 *
 * @example Usage
 * ```ts
 * import { invalidationKind } from "./invalidation_schema.ts";
 * const kind = invalidationKind({ namespace: "shop", hostname: "shop.example.com", soft: true, tags: ["p-1"] });
 * // kind === "tag"
 * ```
 *
 * @param invalidation A parsed invalidation.
 * @returns Its kind.
 */
export function invalidationKind(invalidation: Invalidation): InvalidationKind {
  if (invalidation.urls !== undefined) return InvalidationKind.Url;
  if (invalidation.prefixes !== undefined) return InvalidationKind.Prefix;
  if (invalidation.tags !== undefined) return InvalidationKind.Tag;
  return InvalidationKind.All;
}
