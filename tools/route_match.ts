/**
 * How ghost decides a request, in TypeScript, for `lacquer explain`: which listener, which route entry, and why it
 * beats every other entry whose conditions hold. A port of ghost's router (`ghost/core/src/router.rs`,
 * `request.rs`, `filters.rs`); `route_match_test.ts` runs every golden route case of ghost through it, so the two
 * cannot drift apart unnoticed.
 *
 * Precedence is one lexicographic order: hostname (exact vhost, longer wildcard, `*`), path (Exact, longer
 * PathPrefix, RegularExpression), method, header count, query count, age, namespace, name, rule index, match index.
 *
 * @module
 */
import { type GhostBackend, type GhostJson, type GhostRoute, inlineBackends } from "../ghost/contract/mod.ts";
import { normalizePath } from "./normalize_path.ts";

/** A request as ghost sees it. */
export interface MatchRequest {
  /** The varnishd socket the request arrived on (`port-<n>` for a listener port). */
  socket: string;
  /** The Host header as sent. */
  host: string;
  /** Path and query. */
  url: string;
  /** Method. */
  method: string;
  /** Headers (names case-insensitive, the first of a name counts). */
  headers: readonly { name: string; value: string }[];
  /** Picks the backend group and endpoint, as ghost's per-request random number. @default {0} */
  random?: bigint;
}

/** One route entry whose conditions hold for the request, with its place in the order. */
export interface Candidate {
  /** The vhost key it is in. */
  vhost: string;
  /** The route entry. */
  route: GhostRoute;
  /** Index of the match in the entry's matches. */
  matchIndex: number;
  /** The comparable precedence key (smaller wins). */
  key: PrecedenceKey;
  /** The PathPrefix length (without trailing slashes), for ReplacePrefixMatch. */
  prefixLength?: number;
}

/** The precedence criteria of a candidate, in order of importance. */
export interface PrecedenceKey {
  /** 0 exact vhost, 1.. wildcard vhosts (longest first), then `*`. */
  host: number;
  /** 0 Exact, 1.. PathPrefix (longest first), then RegularExpression. */
  path: number;
  /** Whether the match names a method. */
  method: boolean;
  /** Header matches. */
  headers: number;
  /** Query parameter matches. */
  query: number;
  /** creationTimestamp. */
  created: string;
  /** Route namespace. */
  namespace: string;
  /** Route name. */
  name: string;
  /** Rule index. */
  rule: number;
  /** Match index. */
  match: number;
}

/** Ghost's decision. */
export type MatchDecision =
  | { kind: "forward"; status: 200; backend: GhostBackend; endpoint: string; url?: string; host?: string }
  | { kind: "redirect"; status: number; location: string }
  | { kind: "preflight"; status: 204; origin: string }
  | { kind: "refuse"; status: 400 | 404 | 500; reason: string };

/** The whole outcome: listener, ordered candidates (the first decides) and the decision. */
export interface MatchOutcome {
  /** The listener picked, when the document has listeners. */
  listener?: string;
  /** Every entry whose conditions hold, best first. */
  candidates: Candidate[];
  /** What ghost does. */
  decision: MatchDecision;
  /** Routes left out because ghost cannot compile them, with why. */
  skipped: string[];
}

const CRITERIA: readonly (keyof PrecedenceKey)[] = [
  "host",
  "path",
  "method",
  "headers",
  "query",
  "created",
  "namespace",
  "name",
  "rule",
  "match",
];

function compareValues(a: unknown, b: unknown, key: keyof PrecedenceKey): number {
  // More specific wins: a method, more headers, more query matches come first.
  if (key === "method") return (b ? 1 : 0) - (a ? 1 : 0);
  if (key === "headers" || key === "query") return (b as number) - (a as number);
  if (typeof a === "number") return a - (b as number);
  return a === b ? 0 : (a as string) < (b as string) ? -1 : 1;
}

/**
 * Compares two precedence keys: negative when `a` wins, and the criterion that decided.
 *
 * @example Usage
 * ```ts
 * import { comparePrecedence } from "./route_match.ts";
 * const base = { host: 0, path: 1, method: false, headers: 0, query: 0, created: "2026-01-01T00:00:00Z",
 *   namespace: "ns", name: "a", rule: 0, match: 0 };
 * const { order, criterion } = comparePrecedence(base, { ...base, headers: 1 });
 * // order > 0, criterion === "headers"
 * ```
 *
 * @param a One key.
 * @param b The other.
 * @returns The order and the first criterion that differs (`undefined` when equal).
 */
export function comparePrecedence(
  a: PrecedenceKey,
  b: PrecedenceKey,
): { order: number; criterion?: keyof PrecedenceKey } {
  for (const criterion of CRITERIA) {
    const order = compareValues(a[criterion], b[criterion], criterion);
    if (order !== 0) return { order, criterion };
  }
  return { order: 0 };
}

/** Lowercases a Host value and strips its port and a trailing dot; IPv6 literals keep their brackets. */
export function normalizeHost(raw: string): string {
  let host = raw.trim();
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    if (end >= 0) host = host.slice(0, end + 1);
  } else {
    const colon = host.lastIndexOf(":");
    if (colon >= 0 && /^\d*$/.test(host.slice(colon + 1)) && !host.slice(0, colon).includes(":")) {
      host = host.slice(0, colon);
    }
  }
  if (host.endsWith(".")) host = host.slice(0, -1);
  return host.toLowerCase();
}

function hostPort(host: string): number | undefined {
  let after = host;
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    if (end < 0) return undefined;
    after = host.slice(end + 1);
  }
  const colon = after.lastIndexOf(":");
  if (colon < 0 || after.slice(0, colon).includes(":")) return undefined;
  const port = after.slice(colon + 1);
  return /^\d+$/.test(port) && Number(port) <= 65535 ? Number(port) : undefined;
}

function hex(b: number): number | undefined {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  return undefined;
}

/** Decodes `%XX` escapes and `+` as a space; invalid escapes stay as they are. */
export function decodeComponent(raw: string): string {
  if (!/[%+]/.test(raw)) return raw;
  const bytes = new TextEncoder().encode(raw);
  const out: number[] = [];
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    if (b === 0x2b) {
      out.push(0x20);
      i++;
    } else if (b === 0x25 && i + 2 < bytes.length) {
      const h = hex(bytes[i + 1]), l = hex(bytes[i + 2]);
      if (h !== undefined && l !== undefined) {
        out.push(h << 4 | l);
        i += 3;
      } else {
        out.push(b);
        i++;
      }
    } else {
      out.push(b);
      i++;
    }
  }
  return new TextDecoder().decode(new Uint8Array(out));
}

function queryParam(query: string, name: string): string | undefined {
  for (const pair of query.split("&")) {
    const eq = pair.indexOf("=");
    const [rawName, rawValue] = eq >= 0 ? [pair.slice(0, eq), pair.slice(eq + 1)] : [pair, ""];
    if (rawName === "") continue;
    if (decodeComponent(rawName) === name) return decodeComponent(rawValue);
  }
  return undefined;
}

function wholeRegex(pattern: string): RegExp {
  // Without the "u" flag JavaScript accepts the identity escapes (`\-`) that Rust's regex syntax allows.
  return new RegExp(`^(?:${pattern})$`);
}

function valueHolds(type: "Exact" | "RegularExpression", want: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  return type === "Exact" ? value === want : wholeRegex(want).test(value);
}

/** Ghost's second scramble of the random number (splitmix64's finaliser), so group and endpoint picks differ. */
function mix(x: bigint): bigint {
  const M = (1n << 64n) - 1n;
  x = (x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n & M;
  x = (x ^ (x >> 27n)) * 0x94d049bb133111ebn & M;
  return x ^ (x >> 31n);
}

function pickListener(doc: GhostJson, socket: string, host: string) {
  let best: { specificity: number; listener: GhostJson["listeners"][number] } | undefined;
  for (const listener of doc.listeners.slice(0, 64)) {
    if (listener.socket !== socket) continue;
    let specificity: number;
    if (listener.hostname === undefined) specificity = 1;
    else if (listener.hostname === host) specificity = Number.MAX_SAFE_INTEGER;
    else if (
      listener.hostname.startsWith("*") && host.length > listener.hostname.length - 1 &&
      host.endsWith(listener.hostname.slice(1))
    ) specificity = listener.hostname.length;
    else continue;
    if (!best || specificity > best.specificity) best = { specificity, listener };
  }
  return best?.listener;
}

/** The vhost keys a host falls through, most specific first, with their host rank. */
function vhostChain(doc: GhostJson, host: string): string[] {
  const chain = [host];
  for (let i = host.indexOf(".", 1); i > 0; i = host.indexOf(".", i + 1)) chain.push(`*${host.slice(i)}`);
  chain.push("*");
  return chain.filter((key, i) => doc.vhosts[key] !== undefined && chain.indexOf(key) === i);
}

/** The PathPrefix keys a path probes, longest first (ghost's prefix table walk). */
function prefixProbes(path: string): string[] {
  const probes: string[] = [];
  let candidate = path.replace(/\/+$/, "");
  for (;;) {
    probes.push(candidate);
    const cut = candidate.lastIndexOf("/");
    if (cut < 0) break;
    candidate = candidate.slice(0, cut);
  }
  return probes;
}

/** Why ghost cannot compile a route (a regex the engine refuses), or undefined. */
function compileProblem(route: GhostRoute): string | undefined {
  for (const [i, m] of route.matches.entries()) {
    const patterns = [
      ...(m.path.type === "RegularExpression" ? [[`matches[${i}].path`, m.path.value]] : []),
      ...m.headers.filter((h) => h.type === "RegularExpression").map((h) => [`matches[${i}].headers`, h.value]),
      ...m.queryParams.filter((q) => q.type === "RegularExpression").map((q) => [`matches[${i}].queryParams`, q.value]),
    ];
    for (const [where, pattern] of patterns) {
      try {
        wholeRegex(pattern);
      } catch (err) {
        return `${where}: invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`;
      }
    }
  }
  return undefined;
}

function routeLabel(route: GhostRoute): string {
  return `${route.id.namespace}/${route.id.name} rule ${route.id.rule}`;
}

function rewritePath(
  path: string,
  modifier: NonNullable<GhostRoute["filters"][number] & { type: "URLRewrite" }>["urlRewrite"]["path"],
  prefixLength?: number,
): string {
  if (modifier === undefined) return path;
  if (modifier.type === "ReplaceFullPath") return modifier.replaceFullPath;
  if (prefixLength === undefined || prefixLength > path.length) return path;
  const joined = modifier.replacePrefixMatch.replace(/\/+$/, "") + path.slice(prefixLength);
  return joined === "" ? "/" : joined;
}

/**
 * Decides a request the way ghost does, and lists every candidate in precedence order.
 *
 * @example Usage
 * ```ts
 * import { matchRequest } from "./route_match.ts";
 * const outcome = matchRequest({ version: 1, listeners: [], vhosts: {} }, {
 *   socket: "port-80", host: "a.example.com", url: "/", method: "GET", headers: [],
 * });
 * // outcome.decision.status === 404
 * ```
 *
 * @param document The ghost.json document (routing.json with endpoints).
 * @param request The request.
 * @returns The listener, the candidates and the decision.
 */
export function matchRequest(document: GhostJson, request: MatchRequest): MatchOutcome {
  // groups naming a `backends` entry (version 2) evaluated with its endpoints, as ghost's pools give them
  const doc = inlineBackends(document);
  const host = normalizeHost(request.host);
  const skipped: string[] = [];
  const isolate = doc.listeners.length > 0;
  const listener = isolate ? pickListener(doc, request.socket, host) : undefined;
  if (isolate && !listener) {
    return {
      candidates: [],
      skipped,
      decision: { kind: "refuse", status: 404, reason: "no listener accepts this host on this port" },
    };
  }
  const q = request.url.indexOf("?");
  const [rawPath, query] = q >= 0 ? [request.url.slice(0, q), request.url.slice(q + 1)] : [request.url, undefined];
  const withQuery = (path: string) => path + (query === undefined ? "" : `?${query}`);
  const normal = normalizePath(rawPath, doc.requests?.escapedSlashes ?? "Reject");
  const early = { ...(listener ? { listener: listener.name } : {}), candidates: [], skipped };
  if (normal.kind === "reject") return { ...early, decision: { kind: "refuse", status: 400, reason: normal.reason } };
  if (normal.kind === "redirect") {
    return { ...early, decision: { kind: "redirect", status: 307, location: withQuery(normal.path) } };
  }
  // Rules match the path without parameters; a normalised target goes to the backend unless a rewrite replaces it.
  const path = normal.matching;
  const target = normal.target === rawPath ? undefined : withQuery(normal.target);
  const probes = prefixProbes(path);
  const header = (name: string) => request.headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
  const candidates: Candidate[] = [];
  vhostChain(doc, host).forEach((vhost, hostRank) => {
    for (const route of doc.vhosts[vhost].routes) {
      const problem = compileProblem(route);
      if (problem) {
        skipped.push(`${routeLabel(route)}: ${problem}`);
        continue;
      }
      // Listener isolation: a route serves only the listeners it names.
      if (isolate && !route.listeners.includes(listener!.name)) continue;
      route.matches.forEach((m, matchIndex) => {
        let pathRank: number;
        let prefixLength: number | undefined;
        if (m.path.type === "Exact") {
          if (m.path.value !== path) return;
          pathRank = 0;
        } else if (m.path.type === "PathPrefix") {
          const key = m.path.value.replace(/\/+$/, "");
          const probe = probes.indexOf(key);
          if (probe < 0) return;
          pathRank = 1 + probe;
          prefixLength = key.length;
        } else {
          if (!wholeRegex(m.path.value).test(path)) return;
          pathRank = 1 + probes.length;
        }
        if (m.method !== undefined && m.method !== request.method) return;
        if (!m.headers.every((h) => valueHolds(h.type, h.value, header(h.name)))) return;
        const params = (name: string) => query === undefined ? undefined : queryParam(query, name);
        if (!m.queryParams.every((p) => valueHolds(p.type, p.value, params(p.name)))) return;
        candidates.push({
          vhost,
          route,
          matchIndex,
          ...(prefixLength === undefined ? {} : { prefixLength }),
          key: {
            host: hostRank,
            path: pathRank,
            method: m.method !== undefined,
            headers: m.headers.length,
            query: m.queryParams.length,
            created: route.created,
            namespace: route.id.namespace,
            name: route.id.name,
            rule: route.id.rule,
            match: matchIndex,
          },
        });
      });
    }
  });
  candidates.sort((a, b) => comparePrecedence(a.key, b.key).order);
  const base = { ...(listener ? { listener: listener.name } : {}), candidates, skipped };
  const winner = candidates[0];
  if (!winner) return { ...base, decision: { kind: "refuse", status: 404, reason: "no route matches this request" } };
  return {
    ...base,
    decision: decide(winner, {
      request,
      host,
      path,
      query,
      target,
      port: listener?.port,
      https: listener?.protocol === "HTTPS",
    }),
  };
}

interface DecideInput {
  request: MatchRequest;
  host: string;
  path: string;
  query?: string;
  /** The normalised request target, when normalisation changed it. */
  target?: string;
  port?: number;
  https: boolean;
}

function decide(winner: Candidate, input: DecideInput): MatchDecision {
  const { route, prefixLength } = winner;
  const label = `${route.id.namespace}/${route.id.name}`;
  // A CORS preflight is answered by ghost before anything else of the rule (ghost-core's cors.rs).
  const header = (name: string) => input.request.headers.find((h) => h.name.toLowerCase() === name)?.value;
  const origin = header("origin");
  const corsFilter = route.filters.some((f) => f.type === "CORS");
  if (
    corsFilter && input.request.method === "OPTIONS" && origin !== undefined && header("access-control-request-method")
  ) {
    return { kind: "preflight", status: 204, origin };
  }
  const redirect = route.filters.find((f) => f.type === "RequestRedirect")?.requestRedirect;
  if (redirect) {
    const scheme = redirect.scheme ?? (input.https ? "https" : "http");
    const defaultPort = (s: string) => (s === "https" ? 443 : 80);
    const port = redirect.port ?? (redirect.scheme ? defaultPort(redirect.scheme) : undefined) ?? input.port ??
      hostPort(input.request.host) ?? defaultPort(scheme);
    const path = redirect.path ? rewritePath(input.path, redirect.path, prefixLength) : input.path;
    const location = `${scheme}://${redirect.hostname ?? input.host}${
      port === defaultPort(scheme) ? "" : `:${port}`
    }${path}${input.query === undefined ? "" : `?${input.query}`}`;
    return { kind: "redirect", status: redirect.statusCode, location };
  }
  if (route.backends.length === 0) {
    return { kind: "refuse", status: 500, reason: `route ${label} rule ${route.id.rule} has no backends` };
  }
  const total = route.backends.reduce((sum, b) => sum + BigInt(b.weight), 0n);
  if (total === 0n) {
    return {
      kind: "refuse",
      status: 500,
      reason: `every backend of route ${label} rule ${route.id.rule} has weight 0`,
    };
  }
  const random = input.request.random ?? 0n;
  let pick = random % total;
  let backend = route.backends[0];
  for (const b of route.backends) {
    if (pick < BigInt(b.weight)) {
      backend = b;
      break;
    }
    pick -= BigInt(b.weight);
  }
  if (backend.error !== undefined) {
    return { kind: "refuse", status: 500, reason: `backend ${backend.name}: ${backend.error}` };
  }
  if (backend.endpoints.length === 0) {
    return { kind: "refuse", status: 500, reason: `backend ${backend.name} has no ready endpoints` };
  }
  const endpoint = backend.endpoints[Number(mix(random) % BigInt(backend.endpoints.length))];
  const rewrite = route.filters.find((f) => f.type === "URLRewrite")?.urlRewrite;
  const url = rewrite?.path
    ? rewritePath(input.path, rewrite.path, prefixLength) + (input.query === undefined ? "" : `?${input.query}`)
    : input.target;
  return {
    kind: "forward",
    status: 200,
    backend,
    endpoint: endpoint.address.includes(":")
      ? `[${endpoint.address}]:${endpoint.port}`
      : `${endpoint.address}:${endpoint.port}`,
    ...(url === undefined ? {} : { url }),
    ...(rewrite?.hostname === undefined ? {} : { host: rewrite.hostname }),
  };
}
