/**
 * What an HTTP call to the invalidation API asks for, before anyone validated it. Pure.
 *
 * - `PURGE <path>` with `Host: <hostname>`: every cached variant of that path. Soft unless
 *   `Lacquer-Purge-Mode: hard`.
 * - `POST /invalidate` with a JSON body `{"hostname", "urls" | "prefixes" | "tags" | "all": true, "mode"?: "soft" |
 *   "hard", "namespace"?, "gatewayRefs"?: [{"name", "namespace"?}]}`.
 *
 * Both may name the tenant namespace (`Lacquer-Namespace` header, `namespace` field). It is needed only when
 * HTTPRoutes of several namespaces serve the hostname: the caller then says whose objects to invalidate, and must
 * be allowed in that namespace; the pods only touch objects cached for that namespace's routes.
 *
 * @module
 */
import type { GatewayRef } from "./scope.ts";

/** The header that makes a PURGE hard (value `hard`; `soft` is the default). */
export const PURGE_MODE_HEADER = "Lacquer-Purge-Mode";

/** The header naming the tenant namespace of a PURGE. */
export const NAMESPACE_HEADER = "Lacquer-Namespace";

/** The path of the JSON API. */
export const INVALIDATE_PATH = "/invalidate";

/** The largest JSON body accepted. */
export const MAX_BODY_BYTES = 256 * 1024;

/** A call's request, not validated yet. */
export interface ApiRequest {
  /** The namespace the caller named, if any. */
  namespace?: string;
  /** The hostname, lowercased, without port. */
  hostname: string;
  /** The Gateways the caller named (empty: every Gateway serving the hostname). */
  gatewayRefs: GatewayRef[];
  /** The invalidation without its namespace, for the shared model to validate. */
  invalidation: Record<string, unknown>;
}

/** A request, or why it is refused (status 400 or 405). */
export type ParsedApiRequest = { ok: true; request: ApiRequest } | { ok: false; status: 400 | 405; error: string };

function hostWithoutPort(host: string): string {
  // A bracketed IPv6 literal keeps its colons; the model refuses it as a hostname with a clear message.
  const bare = host.startsWith("[") ? host : host.replace(/:\d+$/, "");
  return bare.toLowerCase();
}

function modeIsSoft(value: unknown): boolean | string {
  if (value === undefined || value === null || value === "soft") return true;
  if (value === "hard") return false;
  return `mode must be "soft" or "hard", not ${JSON.stringify(value)}`;
}

function parsePurge(url: URL, headers: Headers): ParsedApiRequest {
  const host = headers.get("host");
  if (!host) return { ok: false, status: 400, error: "PURGE needs a Host header naming the hostname" };
  const soft = modeIsSoft(headers.get(PURGE_MODE_HEADER)?.toLowerCase() ?? undefined);
  if (typeof soft === "string") return { ok: false, status: 400, error: `${PURGE_MODE_HEADER}: ${soft}` };
  const namespace = headers.get(NAMESPACE_HEADER) ?? undefined;
  const hostname = hostWithoutPort(host);
  return {
    ok: true,
    request: {
      hostname,
      gatewayRefs: [],
      ...(namespace ? { namespace } : {}),
      // The raw path with its query, so the model can refuse a query with its own message.
      invalidation: { hostname, soft, urls: [url.pathname + url.search] },
    },
  };
}

function parseJson(text: string): ParsedApiRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return { ok: false, status: 400, error: `body is not JSON: ${(err as Error).message}` };
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    return { ok: false, status: 400, error: "body must be a JSON object" };
  }
  const { namespace, mode, gatewayRefs, hostname, ...targets } = body as Record<string, unknown>;
  if (typeof hostname !== "string") return { ok: false, status: 400, error: "hostname (a string) is required" };
  if (namespace !== undefined && (typeof namespace !== "string" || namespace === "")) {
    return { ok: false, status: 400, error: "namespace must be a non-empty string" };
  }
  const soft = modeIsSoft(mode);
  if (typeof soft === "string") return { ok: false, status: 400, error: soft };
  const refs = gatewayRefs ?? [];
  const valid = Array.isArray(refs) &&
    refs.every((r) =>
      r && typeof r === "object" && typeof r.name === "string" &&
      (r.namespace === undefined || typeof r.namespace === "string")
    );
  if (!valid) return { ok: false, status: 400, error: "gatewayRefs must be a list of {name, namespace?}" };
  return {
    ok: true,
    request: {
      hostname: hostname.toLowerCase(),
      gatewayRefs: (refs as GatewayRef[]).map((r) => ({
        name: r.name,
        ...(r.namespace ? { namespace: r.namespace } : {}),
      })),
      ...(namespace ? { namespace: namespace as string } : {}),
      invalidation: { ...targets, hostname: hostname.toLowerCase(), soft },
    },
  };
}

/**
 * Reads a call.
 *
 * @example A PURGE
 * ```ts
 * import { parseApiRequest } from "./api_request.ts";
 * const headers = new Headers({ host: "Shop.example.com:80", "lacquer-purge-mode": "hard" });
 * parseApiRequest("PURGE", new URL("http://operator/a/b"), headers, "");
 * // { ok: true, request: { hostname: "shop.example.com", gatewayRefs: [],
 * //   invalidation: { hostname: "shop.example.com", soft: false, urls: ["/a/b"] } } }
 * ```
 *
 * @param method The HTTP method.
 * @param url The request URL.
 * @param headers The request headers.
 * @param body The body (POST).
 * @returns The request, or the refusal.
 */
export function parseApiRequest(method: string, url: URL, headers: Headers, body: string): ParsedApiRequest {
  if (method === "PURGE") return parsePurge(url, headers);
  if (method === "POST" && url.pathname === INVALIDATE_PATH) return parseJson(body);
  if (method === "POST") return { ok: false, status: 400, error: `POST goes to ${INVALIDATE_PATH}` };
  return { ok: false, status: 405, error: `use PURGE <path> with a Host header, or POST ${INVALIDATE_PATH}` };
}
