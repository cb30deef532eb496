/**
 * One Ingress as HTTPRoutes: the routing data Ingresses get is the routing data HTTPRoutes get, so attachment,
 * precedence, backends, budgets and status are the HTTPRoute pipeline's. Each host of the Ingress becomes a route
 * `ingress:<ingress>:<host>` (`*` for rules without a host) in the Ingress's namespace, created when the Ingress was
 * (route precedence ties go to the older object, Ingress or HTTPRoute), with one rule per path; the default backend
 * becomes `ingress:<ingress>:default-backend`, a route for every host of the listeners it attaches to whose one rule
 * matches the regular expression `/.*`, so it ranks below every `Exact` and `PathPrefix` match of any route.
 *
 * Paths: `Exact` is `PathExact`, `Prefix` is `PathPrefix` (both compare whole path segments, in Ingress as in the
 * Gateway API), `ImplementationSpecific` is `PathPrefix` too, or, with `use-regex`, a `RegularExpression` anchored at
 * the start only (`(?:<path>).*`, as ingress-nginx's `location ~`), in the Rust `regex` syntax.
 *
 * A host with TLS in the Ingress (and any host, with `force-ssl-redirect`) is served on the Gateway's HTTPS
 * listeners, and its HTTP listeners answer the same paths with a 308 redirect to HTTPS, unless `ssl-redirect` is
 * `"false"`. `rewrite-target` replaces the whole path, as ingress-nginx's rewrite does; the ingress-nginx idiom
 * `path: /x(/|$)(.*)` with `rewrite-target: /y/$2` is the prefix rewrite `/x` → `/y`; other capture groups are not
 * supported and leave the path out, reported.
 *
 * @module
 */
import { type Gateway, GATEWAY_GROUP, type HttpRoute, httpRouteSchema, type Service } from "../api_types.ts";
import { hostnameCovers, intersectHostnames } from "../hostnames.ts";
import { keyOf } from "../snapshot_index.ts";
import type { CanarySettings, IngressAnnotations } from "./annotations.ts";
import type { Ingress, IngressBackend, IngressPath } from "./ingress_schema.ts";

/** Something in an Ingress that Lacquer cannot serve as written. */
export interface IngressProblem {
  /** UpperCamelCase, for the Event. */
  reason: string;
  /** For humans: what and why. */
  message: string;
}

/** A canary Ingress's backend for one host and path of a main Ingress. */
export interface CanaryBackend {
  /** The canary Ingress's `namespace/name`. */
  ingress: string;
  /** Its backend for the path. */
  backend: IngressBackend;
  /** Its canary settings. */
  settings: CanarySettings;
}

/** What translating one Ingress reads. */
export interface IngressRoutesContext {
  /** The Gateway the Ingress's class names, with the listeners the Ingresses' TLS adds (`ingress_listeners.ts`). */
  gateway: Gateway;
  /** The Ingress's annotations, read. */
  annotations: IngressAnnotations;
  /** Services by `namespace/name` (named ports). */
  services: ReadonlyMap<string, Service>;
  /** The canary backends for a host (`""` for none) and path of the Ingress. */
  canaries: (host: string, path: IngressPath) => CanaryBackend[];
}

/** The routes of one Ingress and what could not be translated. */
export interface IngressRoutes {
  /** The routes, parsed (defaults applied) as if read from the API. */
  routes: HttpRoute[];
  /** What the routes leave out or serve differently than asked. */
  problems: IngressProblem[];
}

/** The prefix of every route made from an Ingress (no Kubernetes object name holds a `:`). */
export const INGRESS_ROUTE_PREFIX = "ingress:";

/** The name of the route made for one host of an Ingress (`*` for rules without a host). */
export function ingressRouteName(ingress: string, host: string): string {
  return `${INGRESS_ROUTE_PREFIX}${ingress}:${host || "*"}`;
}

/** The ingress-nginx idiom for a prefix rewrite: `/x(/|$)(.*)` with `rewrite-target: /y/$2`. */
const NGINX_PREFIX_IDIOM = /^(\/.*?)\(\/\|\$\)\(\.\*\)$/;
const CAPTURE = /\$\d/;

type Match = Record<string, unknown>;
type Rule = { matches: Match[]; filters: unknown[]; backendRefs?: unknown[]; timeouts?: { backendRequest: string } };

/** The route match and the URL rewrite of one Ingress path, or why it cannot be served. */
function pathMatch(
  path: IngressPath,
  annotations: IngressAnnotations,
): { match: Match; rewrite?: Record<string, unknown> } | IngressProblem {
  const target = annotations.rewriteTarget;
  const idiom = NGINX_PREFIX_IDIOM.exec(path.path);
  if (idiom && (annotations.useRegex || (target !== undefined && CAPTURE.test(target)))) {
    const prefix = idiom[1];
    if (target === undefined) return { match: { path: { type: "PathPrefix", value: prefix } } };
    const replaced = /^(\/[^$]*?)\/?\$2$/.exec(target);
    if (!replaced) {
      return {
        reason: "UnsupportedRewrite",
        message:
          `rewrite-target "${target}" for path "${path.path}": only "<prefix>/$2" is supported with capture groups`,
      };
    }
    const rewrite = { type: "ReplacePrefixMatch", replacePrefixMatch: replaced[1] || "/" };
    return { match: { path: { type: "PathPrefix", value: prefix } }, rewrite };
  }
  if (target !== undefined && CAPTURE.test(target)) {
    return {
      reason: "UnsupportedRewrite",
      message: `rewrite-target "${target}" for path "${path.path}": capture groups are supported only in the ` +
        `ingress-nginx idiom "path: /x(/|$)(.*)" with "rewrite-target: /y/$2"`,
    };
  }
  let match: Match;
  switch (path.pathType) {
    case "Exact":
      match = { path: { type: "Exact", value: path.path } };
      break;
    case "Prefix":
      match = { path: { type: "PathPrefix", value: path.path } };
      break;
    case "ImplementationSpecific":
      match = annotations.useRegex
        ? { path: { type: "RegularExpression", value: `(?:${path.path}).*` } }
        : { path: { type: "PathPrefix", value: path.path } };
      break;
    default:
      return {
        reason: "UnsupportedPathType",
        message: `path "${path.path}" has an unknown pathType "${path.pathType}"`,
      };
  }
  return target === undefined ? { match } : { match, rewrite: { type: "ReplaceFullPath", replaceFullPath: target } };
}

/** The backendRef of an Ingress backend; a named port is looked up in the Service. */
function backendRef(
  namespace: string,
  backend: IngressBackend,
  context: IngressRoutesContext,
  problems: IngressProblem[],
): Record<string, unknown> {
  if (backend.resource) {
    const { apiGroup = "", kind, name } = backend.resource;
    return { group: apiGroup, kind, name };
  }
  const service = backend.service!;
  const { number, name } = service.port;
  if (number !== undefined || name === undefined) return { name: service.name, port: number };
  const found = context.services.get(keyOf(namespace, service.name));
  const port = found?.spec.ports.find((p) => p.name === name)?.port;
  if (found && port === undefined) {
    problems.push({
      reason: "BackendNotFound",
      message: `Service "${namespace}/${service.name}" has no port named "${name}"`,
    });
  }
  return { name: service.name, port };
}

/** The rules for one path: the canaries' header rules first (more specific), then the weighted main rule. */
function pathRules(
  ingress: Ingress,
  host: string,
  path: IngressPath,
  context: IngressRoutesContext,
  problems: IngressProblem[],
): Rule[] {
  const namespace = ingress.metadata.namespace ?? "";
  const translated = pathMatch(path, context.annotations);
  if ("reason" in translated) {
    problems.push(translated);
    return [];
  }
  const filters: unknown[] = [];
  const vhost = context.annotations.upstreamVhost;
  if (translated.rewrite || vhost) {
    filters.push({
      type: "URLRewrite",
      urlRewrite: {
        ...(vhost ? { hostname: vhost } : {}),
        ...(translated.rewrite ? { path: translated.rewrite } : {}),
      },
    });
  }
  const cors = context.annotations.cors;
  if (cors) filters.push({ type: "CORS", cors });
  const main = backendRef(namespace, path.backend, context, problems);
  const rules: Rule[] = [];
  const timeouts = backendTimeouts(context.annotations);
  let backendRefs: Record<string, unknown>[] = [{ ...main, weight: 1 }];
  for (const canary of context.canaries(host, path)) {
    const ref = backendRef(namespace, canary.backend, context, problems);
    const { header, headerValue, weight, weightTotal } = canary.settings;
    if (header) {
      const on = { ...translated.match, headers: [{ name: header, value: headerValue ?? "always" }] };
      rules.push({ matches: [on], filters, backendRefs: [ref], ...timeouts });
      if (headerValue === undefined) {
        const off = { ...translated.match, headers: [{ name: header, value: "never" }] };
        rules.push({ matches: [off], filters, backendRefs: [main], ...timeouts });
      }
    }
    if (weight !== undefined) {
      const mainWeight = Number(backendRefs[0].weight) === 1 ? weightTotal - weight : Number(backendRefs[0].weight);
      backendRefs = [{ ...main, weight: mainWeight }, ...backendRefs.slice(1), { ...ref, weight }];
    }
  }
  rules.push({ matches: [translated.match], filters, backendRefs, ...timeouts });
  return rules;
}

/** The `timeouts` of every rule that reaches a backend, from `proxy-read-timeout`. */
function backendTimeouts(annotations: IngressAnnotations): Pick<Rule, "timeouts"> {
  return annotations.backendTimeout ? { timeouts: { backendRequest: annotations.backendTimeout } } : {};
}

/** The listener names of the Gateway serving a protocol for a host (all of them for `""`). */
function listenersFor(gateway: Gateway, protocol: string, host: string): string[] {
  return gateway.spec.listeners.filter((l) =>
    l.protocol === protocol && intersectHostnames(l.hostname, host ? [host] : []).length > 0
  ).map((l) => l.name);
}

/**
 * Translates one Ingress into routes attached to its class's Gateway.
 *
 * @example Usage
 * ```ts
 * import { gatewaySchema } from "../api_types.ts";
 * import { readAnnotations } from "./annotations.ts";
 * import { ingressRoutes } from "./ingress_routes.ts";
 * import { ingressSchema } from "./ingress_schema.ts";
 * const ingress = ingressSchema.parse({
 *   metadata: { name: "web", namespace: "shop" },
 *   spec: { rules: [{ host: "shop.example", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] } }] },
 * });
 * const gateway = gatewaySchema.parse({ metadata: { name: "gw", namespace: "infra" }, spec: { gatewayClassName: "lacquer" } });
 * const { routes } = ingressRoutes(ingress, { gateway, annotations: readAnnotations(), services: new Map(), canaries: () => [] });
 * // routes[0].metadata.name === "ingress:web:shop.example"
 * ```
 *
 * @param ingress The Ingress (not a canary: canaries join their main Ingress's rules through `context.canaries`).
 * @param context The Gateway, the annotations, the Services and the canaries.
 * @returns The routes and the problems.
 */
export function ingressRoutes(ingress: Ingress, context: IngressRoutesContext): IngressRoutes {
  const { metadata, spec } = ingress;
  const namespace = metadata.namespace ?? "";
  const { gateway, annotations } = context;
  const parent = {
    group: GATEWAY_GROUP,
    kind: "Gateway",
    namespace: gateway.metadata.namespace,
    name: gateway.metadata.name,
  };
  const problems: IngressProblem[] = [];
  const route = (name: string, hostnames: string[], parentRefs: unknown[], rules: Rule[]): HttpRoute =>
    httpRouteSchema.parse({
      metadata: {
        name,
        namespace,
        generation: metadata.generation,
        ...(metadata.creationTimestamp ? { creationTimestamp: metadata.creationTimestamp } : {}),
      },
      spec: { parentRefs, hostnames, rules },
    });
  // Rules of one host may be spread over several entries of spec.rules: gather them, in order.
  const hosts = new Map<string, Rule[]>();
  for (const rule of spec.rules) {
    const host = rule.host ?? "";
    const rules = hosts.get(host) ?? [];
    for (const path of rule.http?.paths ?? []) rules.push(...pathRules(ingress, host, path, context, problems));
    hosts.set(host, rules);
  }
  const tlsHosts = spec.tls.flatMap((t) => t.hosts);
  const tlsForAll = spec.tls.some((t) => t.hosts.length === 0);
  const routes: HttpRoute[] = [];
  for (const [host, rules] of hosts) {
    if (rules.length === 0) continue;
    const name = ingressRouteName(metadata.name, host);
    const hostnames = host ? [host] : [];
    const secured = tlsForAll || tlsHosts.some((h) => h === host || (host && hostnameCovers(h, host)));
    const https = listenersFor(gateway, "HTTPS", host);
    const redirect = https.length > 0 &&
      ((secured && annotations.sslRedirect) || annotations.forceSslRedirect);
    if (!redirect) {
      routes.push(route(name, hostnames, [parent], rules));
      continue;
    }
    const port = gateway.spec.listeners.find((l) => l.name === https[0])!.port;
    const toHttps = {
      type: "RequestRedirect",
      requestRedirect: { scheme: "https", statusCode: 308, ...(port === 443 ? {} : { port }) },
    };
    routes.push(route(name, hostnames, https.map((sectionName) => ({ ...parent, sectionName })), rules));
    const http = listenersFor(gateway, "HTTP", host);
    if (http.length === 0) continue;
    // The canaries' header rules match the same paths as the rule after them: one redirect per path is enough.
    const redirects = rules.filter((r) => r.matches.every((m) => !m.headers))
      .map((r) => ({ matches: r.matches, filters: [toHttps] }));
    routes.push(
      route(`${name}:redirect`, hostnames, http.map((sectionName) => ({ ...parent, sectionName })), redirects),
    );
  }
  if (spec.defaultBackend) {
    const ref = backendRef(namespace, spec.defaultBackend, context, problems);
    // A regular expression ranks below every Exact and PathPrefix match of the host, whatever the routes' ages.
    const rule = {
      matches: [{ path: { type: "RegularExpression", value: "/.*" } }],
      filters: [],
      backendRefs: [ref],
      ...backendTimeouts(context.annotations),
    };
    routes.push(route(`${INGRESS_ROUTE_PREFIX}${metadata.name}:default-backend`, [], [parent], [rule]));
  }
  if (routes.length === 0) {
    problems.push({ reason: "NoRules", message: "the Ingress has neither rules with paths nor a default backend" });
  }
  return { routes, problems };
}
