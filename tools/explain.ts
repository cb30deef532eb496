/**
 * `lacquer explain`, the pure part: a Gateway's ghost.json (routing.json from the operator's translation, endpoints
 * merged by chaperone's own function) and a request in, an account of ghost's decision out: the listener, the winning
 * route rule and why it beats every other candidate, the filters, the backends with weights and endpoints, and
 * whether and how the answer would be cached.
 *
 * @module
 */
import { type GhostJson, type GhostRoute, routeCache } from "../ghost/contract/mod.ts";
import {
  type Candidate,
  comparePrecedence,
  decodeComponent,
  type MatchOutcome,
  type MatchRequest,
  matchRequest,
  normalizeHost,
  type PrecedenceKey,
} from "./route_match.ts";

/** The explanation `lacquer explain` prints. */
export interface Explanation {
  /** The request as matched. */
  request: { method: string; host: string; url: string; socket: string; headers: Record<string, string> };
  /** The listener ghost picked (absent when none accepts the request). */
  listener?: string;
  /** What the gateway answers. */
  decision: Record<string, unknown>;
  /** The route rule that decides, when one matches. */
  selected?: Record<string, unknown>;
  /** Every other rule match whose conditions hold, in precedence order, with what made it lose. */
  candidates: Record<string, unknown>[];
  /** The rule's filters, in order. */
  filters: unknown[];
  /** The rule's backends with weights, shares and endpoints. */
  backends: Record<string, unknown>[];
  /** Whether and how the answer is cached. */
  cache: Record<string, unknown>;
  /** Routes ghost leaves out (regular expressions its engine refuses). */
  skipped?: string[];
}

function pathText(m: GhostRoute["matches"][number]): string {
  return `${m.path.type} ${m.path.value}`;
}

function matchView(c: Candidate): Record<string, unknown> {
  const m = c.route.matches[c.matchIndex];
  return {
    path: pathText(m),
    ...(m.method ? { method: m.method } : {}),
    ...(m.headers.length ? { headers: m.headers.map((h) => `${h.name} ${h.type} ${h.value}`) } : {}),
    ...(m.queryParams.length ? { queryParams: m.queryParams.map((q) => `${q.name} ${q.type} ${q.value}`) } : {}),
  };
}

function ruleView(c: Candidate): Record<string, unknown> {
  return {
    route: `${c.route.id.namespace}/${c.route.id.name}`,
    rule: c.route.id.rule,
    ...(c.route.id.ruleName ? { ruleName: c.route.id.ruleName } : {}),
    vhost: c.vhost,
    match: c.matchIndex,
    matches: matchView(c),
  };
}

/** Says in words why `winner` beats `other` on `criterion`. */
function why(winner: Candidate, other: Candidate, criterion: keyof PrecedenceKey): string {
  const [w, o] = [winner.key, other.key];
  const [wm, om] = [winner.route.matches[winner.matchIndex], other.route.matches[other.matchIndex]];
  switch (criterion) {
    case "host":
      return `hostname: vhost "${winner.vhost}" is more specific than "${other.vhost}"`;
    case "path":
      return `path: ${pathText(wm)} beats ${pathText(om)} (Exact, then the longest PathPrefix, then RegularExpression)`;
    case "method":
      return `method: it matches the method ${wm.method}, the other names none`;
    case "headers":
      return `headers: ${w.headers} header matches beat ${o.headers}`;
    case "query":
      return `query: ${w.query} query parameter matches beat ${o.query}`;
    case "created":
      return `age: its route is older (created ${w.created}, the other ${o.created})`;
    case "namespace":
    case "name":
      return `name: ${w.namespace}/${w.name} sorts before ${o.namespace}/${o.name}`;
    case "rule":
      return `rule order: rule ${w.rule} comes before rule ${o.rule}`;
    case "match":
      return `match order: match ${w.match} comes before match ${o.match} of the same rule`;
  }
}

function cookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && !out.has(part.slice(0, eq).trim())) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

function keptQuery(query: string | undefined, mode: string, params: readonly string[]): string {
  const pairs = (query ?? "").split("&").filter((p) => p !== "").map((p) => {
    const eq = p.indexOf("=");
    return { name: decodeComponent(eq >= 0 ? p.slice(0, eq) : p), raw: p };
  });
  const kept = pairs.filter((p) =>
    mode === "All" || (mode === "Include" && params.includes(p.name)) ||
    (mode === "Exclude" && !params.includes(p.name))
  );
  // Sorted by name, stable: repeated parameters keep their order.
  return kept.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((p) => p.raw).join("&");
}

function cacheView(
  selected: { doc: GhostJson; route: GhostRoute | undefined; outcome: MatchOutcome },
  request: MatchRequest,
  path: string,
) {
  const { doc, route, outcome } = selected;
  if (!route || outcome.decision.kind !== "forward") {
    return {
      cached: false,
      why: "redirects, CORS preflights and the gateway's own 404 and 500 answers are never cached",
    };
  }
  const cache = routeCache(doc, route);
  if (!cache) return { cached: false, why: "no CachePolicy applies to this rule: every request passes" };
  const header = (name: string) => request.headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
  const jar = cookies(header("cookie"));
  const passes: string[] = [];
  // An allowed POST is looked up when its Content-Length fits the limit; its method and body join the key.
  const otherMethod = request.method !== "GET" && request.method !== "HEAD";
  const withBody = otherMethod && (cache.allow.methods ?? []).some((m) => m === request.method);
  if (otherMethod && !withBody) passes.push(`the method ${request.method} is not cached`);
  if (withBody) {
    const limit = cache.allow.maxBodyBytes ?? 16_384;
    const length = Number(header("content-length") ?? NaN);
    if (!(length <= limit) || header("transfer-encoding") !== undefined) {
      passes.push(`its body has no Content-Length or one over allow.maxBodyBytes (${limit})`);
    }
  }
  for (const b of cache.bypass) {
    if (b.type === "Cookie" && jar.has(b.name)) passes.push(`bypass: cookie ${b.name} is present`);
    if (b.type === "Header" && header(b.name) !== undefined) {
      if (b.valueRegex === undefined) passes.push(`bypass: header ${b.name} is present`);
      else if (new RegExp(b.valueRegex).test(header(b.name)!)) {
        passes.push(`bypass: header ${b.name} matches ${b.valueRegex}`);
      }
    }
  }
  if (header("authorization") !== undefined && !cache.allow.authorization) {
    passes.push("it has an Authorization header");
  }
  const others = [...jar.keys()].filter((c) => !cache.key.cookies.includes(c));
  if (others.length > 0 && !cache.allow.otherCookies) {
    passes.push(`it has cookies outside the key: ${others.join(", ")}`);
  }
  const q = request.url.indexOf("?");
  const query = keptQuery(q >= 0 ? request.url.slice(q + 1) : undefined, cache.key.query.mode, cache.key.query.params);
  const decision = outcome.decision;
  return {
    cached: passes.length === 0,
    why: passes.length === 0 ? "looked up in the cache" : `passes to the origin: ${passes.join("; ")}`,
    policy: `${cache.policy.namespace}/${cache.policy.name}`,
    ttl: {
      ...cache.ttl,
      source: cache.ttl.forced === undefined ? "the origin's Cache-Control, else default" : "forced",
    },
    key: {
      host: normalizeHost(request.host),
      rule: `${route.id.namespace}/${route.id.name}/${route.id.rule}`,
      policy: `${cache.policy.namespace}/${cache.policy.name}`,
      path: decision.url === undefined ? path : decision.url.split("?")[0],
      query,
      headers: Object.fromEntries(cache.key.headers.map((h) => [h, header(h) ?? null])),
      cookies: Object.fromEntries(cache.key.cookies.map((c) => [c, jar.get(c) ?? null])),
      ...(withBody ? { method: request.method, body: "the request body's hash" } : {}),
    },
    ...(cache.allow.otherCookies && others.length > 0 ? { removedCookies: others } : {}),
  };
}

/**
 * Explains how ghost decides a request on a Gateway's ghost.json.
 *
 * @example Usage
 * ```ts
 * import { explainRequest } from "./explain.ts";
 * const explanation = explainRequest({ version: 1, listeners: [], vhosts: {} }, {
 *   socket: "port-80", host: "a.example.com", url: "/", method: "GET", headers: [],
 * });
 * // explanation.decision.status === 404
 * ```
 *
 * @param doc The Gateway's ghost.json.
 * @param request The request.
 * @returns The explanation.
 */
export function explainRequest(doc: GhostJson, request: MatchRequest): Explanation {
  const outcome = matchRequest(doc, request);
  const [winner, ...others] = outcome.candidates;
  const d = outcome.decision;
  const decision: Record<string, unknown> = { status: d.status, action: d.kind };
  if (d.kind === "forward") {
    decision.backend = d.backend.name;
    decision.endpoint = d.endpoint;
    // Ghost draws per request; this is the draw of random number 0, the shares are under `backends`.
    if ((winner?.route.backends.length ?? 0) > 1) decision.draw = "one weighted draw of several: see backends";
    if (d.url !== undefined) decision.rewrittenUrl = d.url;
    if (d.host !== undefined) decision.rewrittenHost = d.host;
  } else if (d.kind === "redirect") decision.location = d.location;
  else if (d.kind === "preflight") decision.origin = d.origin;
  else decision.reason = d.reason;
  const route = winner?.route;
  const total = route?.backends.reduce((sum, b) => sum + b.weight, 0) ?? 0;
  const q = request.url.indexOf("?");
  return {
    request: {
      method: request.method,
      host: request.host,
      url: request.url,
      socket: request.socket,
      headers: Object.fromEntries(request.headers.map((h) => [h.name, h.value])),
    },
    ...(outcome.listener ? { listener: outcome.listener } : {}),
    decision,
    ...(winner ? { selected: ruleView(winner) } : {}),
    candidates: others.map((c) => ({
      ...ruleView(c),
      losesOn: why(winner, c, comparePrecedence(winner.key, c.key).criterion ?? "match"),
    })),
    filters: route?.filters ?? [],
    backends: (route?.backends ?? []).map((b) => ({
      name: b.name,
      weight: b.weight,
      share: total === 0 ? "0%" : `${Math.round((b.weight / total) * 1000) / 10}%`,
      endpoints: b.endpoints.map((
        e,
      ) => (e.address.includes(":") ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`)),
      ...(b.error ? { error: b.error } : {}),
      ...(b.filters.length ? { filters: b.filters } : {}),
    })),
    cache: cacheView({ doc, route, outcome }, request, q >= 0 ? request.url.slice(0, q) : request.url),
    ...(outcome.skipped.length ? { skipped: outcome.skipped } : {}),
  };
}
