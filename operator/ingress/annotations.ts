/**
 * The Ingress annotations Lacquer understands, read under Lacquer's own prefix (`lacquer.dev/`) and under
 * ingress-nginx's (`nginx.ingress.kubernetes.io/`), so that Ingresses migrate without edits; Lacquer's wins when
 * both are set. Every other annotation that belongs to an Ingress controller (its prefix names `ingress`, or is
 * `lacquer.dev/`) is a problem to report: known but not supported (timeouts, authentication, ...), invalid, or unknown.
 * Annotations of other tools (`kubectl.kubernetes.io/...`, `meta.helm.sh/...`) are none of our business.
 *
 * @module
 */
import { LEGACY_CLASS_ANNOTATION } from "./ingress_schema.ts";

/** Lacquer's annotation prefix. */
export const LACQUER_PREFIX = "lacquer.dev/";
/** ingress-nginx's annotation prefix. */
export const NGINX_PREFIX = "nginx.ingress.kubernetes.io/";

/** The canary settings of an Ingress marked `canary: "true"`. */
export interface CanarySettings {
  /** Share of the traffic (out of `weightTotal`) sent to the canary. */
  weight?: number;
  /** What `weight` is out of. @default {100} */
  weightTotal: number;
  /** A request header that selects the canary. */
  header?: string;
  /** The header value that selects the canary; without it, `always` does (and `never` selects the main backends). */
  headerValue?: string;
}

/** The CORS settings of `enable-cors` (the Gateway API's HTTPCORSFilter fields), ingress-nginx's defaults filled in. */
export interface CorsSettings {
  /** Origins (`scheme://host[:port]`, `*`). */
  allowOrigins: string[];
  /** Whether credentials are allowed. */
  allowCredentials: boolean;
  /** Methods. */
  allowMethods: string[];
  /** Request headers. */
  allowHeaders: string[];
  /** Response headers exposed to the page. */
  exposeHeaders: string[];
  /** Seconds a preflight answer may be cached. */
  maxAge: number;
}

/** ingress-nginx's defaults of the `cors-*` annotations. */
const CORS_DEFAULTS = {
  origins: "*",
  methods: "GET, PUT, POST, DELETE, PATCH, OPTIONS",
  headers:
    "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization",
  maxAge: 1728000,
};

/** Why an annotation does nothing. */
export interface AnnotationProblem {
  /** The annotation's key. */
  annotation: string;
  /** `Unsupported`: Lacquer has no such feature; `Invalid`: a bad value; `Unknown`: not an annotation we know. */
  kind: "Unsupported" | "Invalid" | "Unknown";
  /** For humans. */
  message: string;
}

/** What an Ingress's annotations ask for. */
export interface IngressAnnotations {
  /** `ssl-redirect`: HTTP requests for hosts with TLS are redirected to HTTPS (true unless set to false). */
  sslRedirect: boolean;
  /** `force-ssl-redirect`: HTTP requests for every host of the Ingress are redirected, with or without its TLS. */
  forceSslRedirect: boolean;
  /** `rewrite-target`: the path sent to the backend in place of the matched path (or prefix). */
  rewriteTarget?: string;
  /** `use-regex`: ImplementationSpecific paths are regular expressions. */
  useRegex: boolean;
  /** `upstream-vhost`: the Host header sent to the backend. */
  upstreamVhost?: string;
  /** `canary` with its `canary-*` settings. */
  canary?: CanarySettings;
  /** `enable-cors` with its `cors-*` settings. */
  cors?: CorsSettings;
  /** `lacquer.dev/cache-policy`: the name of a CachePolicy in the Ingress's namespace that caches its rules. */
  cachePolicy?: string;
  /**
   * `proxy-read-timeout` (whole seconds) as the Gateway API backend timeout of every rule (`timeouts.backendRequest`,
   * like `120s`): ghost bounds the wait for an answer's first byte and for each next read by it, as nginx does.
   */
  backendTimeout?: string;
  /** Annotations that do nothing, and why. */
  problems: AnnotationProblem[];
}

const UNSUPPORTED: Record<string, string> = {
  "proxy-connect-timeout": "Lacquer has no per-route connect timeout: varnishd's connect_timeout in " +
    "GatewayParameters applies, cut to proxy-read-timeout when that is shorter",
  "proxy-send-timeout": "Lacquer has no per-route timeout for sending the request to the backend " +
    "(proxy-read-timeout bounds the wait for its answer)",
  "canary-by-header-pattern": "use canary-by-header-value: header patterns are not supported",
  "canary-by-cookie": "canary by cookie is not supported: use canary-by-header or canary-weight",
  "configuration-snippet": "snippets of nginx configuration have no meaning here: use GatewayParameters' VCL",
  "server-snippet": "snippets of nginx configuration have no meaning here: use GatewayParameters' VCL",
  "auth-url": "external authentication is not supported",
  "auth-type": "authentication is not supported",
  "limit-rps": "rate limiting is not supported",
  "limit-connections": "rate limiting is not supported",
  "proxy-body-size":
    "varnishd's http_req_size in GatewayParameters limits request headers only; bodies are not limited",
  "affinity": "session affinity is not supported",
  "whitelist-source-range": "source address filtering is not supported",
  "app-root": "app-root is not supported: use an HTTPRoute with a RequestRedirect",
  "permanent-redirect": "permanent-redirect is not supported: use an HTTPRoute with a RequestRedirect",
  "temporal-redirect": "temporal-redirect is not supported: use an HTTPRoute with a RequestRedirect",
};

/** The names (after the prefix) this module reads. */
const UNDERSTOOD = new Set([
  "ssl-redirect",
  "force-ssl-redirect",
  "rewrite-target",
  "use-regex",
  "upstream-vhost",
  "backend-protocol",
  "canary",
  "canary-weight",
  "canary-weight-total",
  "canary-by-header",
  "canary-by-header-value",
  "enable-cors",
  "cors-allow-origin",
  "cors-allow-methods",
  "cors-allow-headers",
  "cors-allow-credentials",
  "cors-expose-headers",
  "cors-max-age",
  "proxy-read-timeout",
]);

/** Whether an annotation belongs to an Ingress controller, and so is ours to understand or report. */
function controllerAnnotation(key: string): boolean {
  const slash = key.indexOf("/");
  if (slash < 0) return false;
  const prefix = key.slice(0, slash);
  return key.startsWith(LACQUER_PREFIX) || prefix.includes("ingress");
}

/**
 * Reads an Ingress's annotations.
 *
 * @example Usage
 * ```ts
 * import { readAnnotations } from "./annotations.ts";
 * const read = readAnnotations({ "nginx.ingress.kubernetes.io/rewrite-target": "/", "nginx.ingress.kubernetes.io/enable-cors": "true" });
 * // read.rewriteTarget === "/", read.problems[0].kind === "Unsupported"
 * ```
 *
 * @param annotations The Ingress's `metadata.annotations`.
 * @returns What they ask for and what does nothing.
 */
export function readAnnotations(annotations: Readonly<Record<string, string>> = {}): IngressAnnotations {
  const problems: AnnotationProblem[] = [];
  const get = (name: string): { key: string; value: string } | undefined => {
    for (const prefix of [LACQUER_PREFIX, NGINX_PREFIX]) {
      const value = annotations[prefix + name];
      if (value !== undefined) return { key: prefix + name, value: value.trim() };
    }
    return undefined;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const found = get(name);
    if (!found) return fallback;
    if (found.value === "true" || found.value === "false") return found.value === "true";
    problems.push({
      annotation: found.key,
      kind: "Invalid",
      message: `must be "true" or "false", not "${found.value}"`,
    });
    return fallback;
  };
  const int = (name: string, min: number, max: number): number | undefined => {
    const found = get(name);
    if (!found) return undefined;
    const n = /^\d+$/.test(found.value) ? Number(found.value) : NaN;
    if (n >= min && n <= max) return n;
    problems.push({
      annotation: found.key,
      kind: "Invalid",
      message: `must be a whole number from ${min} to ${max}, not "${found.value}"`,
    });
    return undefined;
  };
  const text = (name: string) => get(name)?.value || undefined;
  const protocol = get("backend-protocol");
  if (protocol && protocol.value.toUpperCase() !== "HTTP") {
    problems.push({
      annotation: protocol.key,
      kind: "Unsupported",
      message: `backend protocol "${protocol.value}" is not supported: Lacquer speaks plain HTTP/1.1 to backends`,
    });
  }
  let canary: CanarySettings | undefined;
  if (bool("canary", false)) {
    const weightTotal = int("canary-weight-total", 1, 1_000_000) ?? 100;
    const weight = int("canary-weight", 0, weightTotal);
    canary = {
      weightTotal,
      ...(weight === undefined ? {} : { weight }),
      ...(text("canary-by-header") ? { header: text("canary-by-header") } : {}),
      ...(text("canary-by-header-value") ? { headerValue: text("canary-by-header-value") } : {}),
    };
  }
  let cors: CorsSettings | undefined;
  if (bool("enable-cors", false)) {
    const list = (name: string, fallback: string) =>
      (get(name)?.value ?? fallback).split(",").map((v) => v.trim()).filter((v) => v !== "");
    cors = {
      allowOrigins: list("cors-allow-origin", CORS_DEFAULTS.origins),
      allowCredentials: bool("cors-allow-credentials", true),
      allowMethods: list("cors-allow-methods", CORS_DEFAULTS.methods).map((m) => m.toUpperCase()),
      allowHeaders: list("cors-allow-headers", CORS_DEFAULTS.headers),
      exposeHeaders: list("cors-expose-headers", ""),
      maxAge: int("cors-max-age", 0, 2_147_483_647) ?? CORS_DEFAULTS.maxAge,
    };
  }
  const cachePolicy = annotations[`${LACQUER_PREFIX}cache-policy`]?.trim() || undefined;
  // Whole seconds, as ingress-nginx reads it; at most what routing.json holds in milliseconds.
  const readTimeout = int("proxy-read-timeout", 1, 2_147_483);
  if (readTimeout !== undefined && canary) {
    problems.push({
      annotation: get("proxy-read-timeout")!.key,
      kind: "Unsupported",
      message: "a canary's paths join the rules of the main Ingress, whose proxy-read-timeout applies",
    });
  }
  for (const key of Object.keys(annotations).sort()) {
    if (!controllerAnnotation(key) || key === LEGACY_CLASS_ANNOTATION) continue;
    const name = key.startsWith(LACQUER_PREFIX)
      ? key.slice(LACQUER_PREFIX.length)
      : key.startsWith(NGINX_PREFIX)
      ? key.slice(NGINX_PREFIX.length)
      : undefined;
    if (name !== undefined && (UNDERSTOOD.has(name) || (name === "cache-policy" && key.startsWith(LACQUER_PREFIX)))) {
      continue;
    }
    const why = name === undefined ? undefined : UNSUPPORTED[name];
    problems.push(
      why
        ? { annotation: key, kind: "Unsupported", message: why }
        : { annotation: key, kind: "Unknown", message: "not an annotation Lacquer knows: it has no effect" },
    );
  }
  return {
    sslRedirect: bool("ssl-redirect", true),
    forceSslRedirect: bool("force-ssl-redirect", false),
    useRegex: bool("use-regex", false),
    ...(text("rewrite-target") ? { rewriteTarget: text("rewrite-target") } : {}),
    ...(text("upstream-vhost") ? { upstreamVhost: text("upstream-vhost") } : {}),
    ...(canary ? { canary } : {}),
    ...(cors ? { cors } : {}),
    ...(cachePolicy ? { cachePolicy } : {}),
    ...(readTimeout !== undefined && !canary ? { backendTimeout: `${readTimeout}s` } : {}),
    problems,
  };
}
