/**
 * Translation of HTTPRoute rules into routing.json route entries: matches, filters and weighted backends, with
 * every problem reported instead of thrown: bad input is data, not an exception.
 *
 * - A rule whose matches or filters ghost cannot run (bad regex, bad header name, incompatible filters), or whose
 *   timeouts or retries Lacquer cannot honour (a backend timeout longer than the request timeout, more retries than
 *   varnishd makes), is left out and reported ("Dropped Rule").
 * - A rule with a filter we do not implement (ExtensionRef, ...) is kept with no backends,
 *   so its requests get a 500 instead of being silently served without the filter (spec: `HTTPRouteFilter`).
 * - RequestMirror filters become the entry's `mirrors`; a mirror's backendRef is checked like a backendRef (a
 *   problem sets ResolvedRefs=False and the mirror gets nothing, the rule keeps serving); a share that is not a
 *   fraction of at most 1 drops the rule.
 * - A backendRef that cannot be used stays in the entry as `unresolved` (its share of traffic gets 500) and
 *   sets ResolvedRefs=False with the spec's reason.
 * - A backendRef to a Service port with a BackendTLSPolicy gets its `tls` (`backend_tls.ts`), which names its CA
 *   certificates by their hash (`caBundle`; the result's `caBundles` holds them, for routing.json's table); when the
 *   policy cannot be used it stays as `unresolved` too (500, never plain HTTP), and the policy's status says why.
 *
 * @module
 */
import { z } from "zod";
import {
  filterSchema,
  matchSchema,
  MAX_RETRY_ATTEMPTS,
  mirrorFractionSchema,
  type RoutingBackendTls,
  type RoutingRoute,
} from "../ghost/contract/mod.ts";
import { type BackendRef, GATEWAY_GROUP, type HttpFilter, type HttpRoute, type HttpRule } from "./api_types.ts";
import { backendTlsPolicyOf, validateBackendTls } from "./backend_tls.ts";
import { parseGatewayDuration } from "./gateway_duration.ts";
import { dependenciesUnchanged, routeDependencies, trackDependencies } from "./dependencies.ts";
import { checkRegex } from "./regex_check.ts";
import { contentHash } from "../internal/content_hash.ts";
import { keyOf, referenceAllowed, type SnapshotIndex } from "./snapshot_index.ts";
import { routeIdentity, type TranslationMemo } from "./translation_memo.ts";
import { watchesNamespace } from "./watch_scope.ts";

/** A routing.json route entry before its listeners are known. */
export type RuleEntry = Omit<RoutingRoute, "listeners">;

/** A reference problem of a route, for its ResolvedRefs condition. */
export interface RefProblem {
  /** The spec's reason. */
  reason: "RefNotPermitted" | "InvalidKind" | "BackendNotFound" | "UnsupportedProtocol";
  /** What is wrong, naming the object. */
  message: string;
}

/** The translation of one route's rules. */
export interface RulesResult {
  /** Entries of the rules that are served (including those answering 500 for unsupported filters). */
  entries: RuleEntry[];
  /** Rules left out or degraded, as "rule N: reason" texts. */
  ruleProblems: string[];
  /** True when every rule is left out or degraded (the route is not accepted). */
  allInvalid: boolean;
  /** True when some problem is an incompatible-filter combination (for the Accepted reason). */
  incompatibleFilters: boolean;
  /** Backend reference problems. */
  refProblems: RefProblem[];
  /** The CA bundles its backend groups name (`tls.caBundle`), by key; absent when none does. */
  caBundles?: ReadonlyMap<string, string>;
}

// WebSocket over TLS needs a piped TLS connection the gateway cannot make; plain WebSocket (`kubernetes.io/ws`) is an
// HTTP/1.1 Upgrade, which the gateway pipes to the chosen endpoint, and `kubernetes.io/h2c` goes through ghost's own
// HTTP/2 transport (the chaperone marks those backends from the Service port).
const UNSUPPORTED_APP_PROTOCOLS = new Set(["kubernetes.io/wss"]);
const DEFAULT_TIME = "1970-01-01T00:00:00Z";

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue.path.join(".") || "value"}: ${issue.message}`;
}

function headerModifier(m: HttpFilter["requestHeaderModifier"]) {
  return {
    set: (m?.set ?? []).map((h) => ({ name: h.name, value: h.value })),
    add: (m?.add ?? []).map((h) => ({ name: h.name, value: h.value })),
    remove: [...(m?.remove ?? [])],
  };
}

function pathModifier(p: { type: string; replaceFullPath?: string; replacePrefixMatch?: string } | undefined) {
  if (!p) return undefined;
  if (p.type === "ReplaceFullPath") return { type: p.type, replaceFullPath: p.replaceFullPath };
  if (p.type === "ReplacePrefixMatch") return { type: p.type, replacePrefixMatch: p.replacePrefixMatch };
  return { type: p.type };
}

/** Converts one filter; returns the contract filter, or a string saying why it cannot be used. */
function convertFilter(f: HttpFilter): unknown | string {
  switch (f.type) {
    case "RequestHeaderModifier":
      return { type: f.type, requestHeaderModifier: headerModifier(f.requestHeaderModifier) };
    case "ResponseHeaderModifier":
      return { type: f.type, responseHeaderModifier: headerModifier(f.responseHeaderModifier) };
    case "RequestRedirect": {
      const r = f.requestRedirect ?? { statusCode: 302 };
      return {
        type: f.type,
        requestRedirect: {
          ...(r.scheme === undefined ? {} : { scheme: r.scheme }),
          ...(r.hostname === undefined ? {} : { hostname: r.hostname }),
          ...(r.port === undefined ? {} : { port: r.port }),
          ...(r.path === undefined ? {} : { path: pathModifier(r.path) }),
          statusCode: r.statusCode,
        },
      };
    }
    case "URLRewrite": {
      const u = f.urlRewrite ?? {};
      return {
        type: f.type,
        urlRewrite: {
          ...(u.hostname === undefined ? {} : { hostname: u.hostname }),
          ...(u.path === undefined ? {} : { path: pathModifier(u.path) }),
        },
      };
    }
    case "CORS": {
      const c = f.cors ?? {};
      return {
        type: f.type,
        cors: {
          // Origins compare case-insensitively; routing.json holds them lowercase.
          allowOrigins: (c.allowOrigins ?? []).map((o) => o.toLowerCase()),
          allowCredentials: c.allowCredentials ?? false,
          allowMethods: [...(c.allowMethods ?? [])],
          allowHeaders: [...(c.allowHeaders ?? [])],
          exposeHeaders: [...(c.exposeHeaders ?? [])],
          maxAge: c.maxAge ?? 5,
        },
      };
    }
    default:
      return `filter type "${f.type}" is not supported`;
  }
}

/** A rule's entry as far as it depends on the route alone (matches and filters), or why it is dropped. */
export interface StaticRule {
  /** The entry without backends, or undefined when dropped. */
  base?: Omit<RuleEntry, "backends">;
  /** Why it was dropped, or why it answers 500. */
  problem?: string;
  /** True when the rule answers 500 (unsupported filter) instead of being dropped. */
  answers500?: boolean;
  /** True for an incompatible filter combination. */
  incompatible?: boolean;
}

function convertMatches(rule: HttpRule): unknown[] | string {
  const out: unknown[] = [];
  for (const m of rule.matches) {
    const match = {
      path: { type: m.path.type, value: m.path.value },
      ...(m.method === undefined ? {} : { method: m.method }),
      headers: m.headers.map((h) => ({ type: h.type, name: h.name, value: h.value })),
      queryParams: m.queryParams.map((q) => ({ type: q.type, name: q.name, value: q.value })),
    };
    const regexes = [
      ...(m.path.type === "RegularExpression" ? [["path", m.path.value]] : []),
      ...m.headers.filter((h) => h.type === "RegularExpression").map((h) => [`header "${h.name}"`, h.value]),
      ...m.queryParams.filter((q) => q.type === "RegularExpression").map((
        q,
      ) => [`query parameter "${q.name}"`, q.value]),
    ];
    for (const [what, pattern] of regexes) {
      const problem = checkRegex(pattern);
      if (problem) return `regular expression of ${what} "${pattern}" is invalid: ${problem}`;
    }
    const parsed = matchSchema.safeParse(match);
    if (!parsed.success) return `match is not supported: ${describeIssue(parsed.error)}`;
    out.push(parsed.data);
  }
  return out;
}

// The longest timeout or back-off routing.json holds (a signed 32-bit number of milliseconds, about 24 days).
const MAX_MILLIS = 2_147_483_647;

/** A rule's `timeouts` and `retry` as routing.json writes them, or why the rule cannot be served with them. */
function convertFetch(rule: HttpRule): Pick<RuleEntry, "timeouts" | "retry"> | string {
  const millis = (field: string, text: string | undefined): number | string | undefined => {
    if (text === undefined) return undefined;
    const ms = parseGatewayDuration(text);
    if (ms === undefined) return `${field} "${text}" is not a Gateway API duration (like "1h2m3s4ms")`;
    if (ms > MAX_MILLIS) return `${field} "${text}" is longer than the ${MAX_MILLIS} ms Lacquer supports`;
    return ms;
  };
  const out: Pick<RuleEntry, "timeouts" | "retry"> = {};
  if (rule.timeouts) {
    const request = millis("timeouts.request", rule.timeouts.request);
    const backend = millis("timeouts.backendRequest", rule.timeouts.backendRequest);
    for (const value of [request, backend]) if (typeof value === "string") return value;
    const [requestMs, backendRequestMs] = [request as number | undefined, backend as number | undefined];
    if (requestMs && backendRequestMs !== undefined && backendRequestMs > requestMs) {
      return `timeouts.backendRequest "${rule.timeouts.backendRequest}" is longer than timeouts.request ` +
        `"${rule.timeouts.request}", which covers it`;
    }
    out.timeouts = {
      ...(requestMs === undefined ? {} : { requestMs }),
      ...(backendRequestMs === undefined ? {} : { backendRequestMs }),
    };
  }
  if (rule.retry) {
    const { codes, attempts = 1 } = rule.retry;
    const backoff = millis("retry.backoff", rule.retry.backoff) ?? 0;
    if (typeof backoff === "string") return backoff;
    const code = codes.find((c) => c < 400 || c > 599);
    if (code !== undefined) return `retry.codes: ${code} is not an error status (400 to 599)`;
    if (attempts < 1 || attempts > MAX_RETRY_ATTEMPTS) {
      return `retry.attempts ${attempts} is not supported: Lacquer retries 1 to ${MAX_RETRY_ATTEMPTS} times`;
    }
    out.retry = { codes: [...new Set(codes)], attempts, backoffMs: backoff };
  }
  return out;
}

function convertStatic(route: HttpRoute, ruleIndex: number): StaticRule {
  const rule = route.spec.rules[ruleIndex];
  const matches = convertMatches(rule);
  if (typeof matches === "string") return { problem: matches };
  const types = rule.filters.map((f) => f.type);
  if (types.includes("RequestRedirect") && types.includes("URLRewrite")) {
    return { problem: "filters RequestRedirect and URLRewrite cannot be combined", incompatible: true };
  }
  for (const t of ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite", "CORS"]) {
    if (types.filter((x) => x === t).length > 1) {
      return { problem: `filter ${t} appears more than once`, incompatible: true };
    }
  }
  const fetch = convertFetch(rule);
  if (typeof fetch === "string") return { problem: fetch };
  const filters: unknown[] = [];
  let unsupported: string | undefined;
  for (const f of rule.filters) {
    if (f.type === "RequestMirror") {
      const share = mirrorFraction(f);
      if (typeof share === "string") return { problem: share };
      continue;
    }
    const converted = convertFilter(f);
    if (typeof converted === "string") {
      unsupported ??= converted;
      continue;
    }
    const parsed = filterSchema.safeParse(converted);
    if (!parsed.success) return { problem: `filter ${f.type} is not supported: ${describeIssue(parsed.error)}` };
    filters.push(parsed.data);
  }
  const base = {
    id: {
      namespace: route.metadata.namespace ?? "",
      name: route.metadata.name,
      rule: ruleIndex,
      ...(rule.name ? { ruleName: rule.name } : {}),
    },
    created: route.metadata.creationTimestamp ?? DEFAULT_TIME,
    matches: matches as RuleEntry["matches"],
    filters: (unsupported ? [] : filters) as RuleEntry["filters"],
    ...fetch,
  };
  if (unsupported) return { base, problem: `${unsupported} (requests answer 500)`, answers500: true };
  return { base };
}

type MirrorFraction = { numerator: number; denominator: number };

/** A RequestMirror's share of requests (`percent` or `fraction`; absent: every request), or why it is unusable. */
function mirrorFraction(f: HttpFilter): MirrorFraction | undefined | string {
  const m = f.requestMirror;
  if (m === undefined) return "filter RequestMirror has no requestMirror";
  if (m.percent !== undefined && m.fraction !== undefined) {
    return "filter RequestMirror sets both percent and fraction";
  }
  const share = m.percent !== undefined
    ? { numerator: m.percent, denominator: 100 }
    : m.fraction && { numerator: m.fraction.numerator, denominator: m.fraction.denominator };
  if (share === undefined) return undefined;
  const parsed = mirrorFractionSchema.safeParse(share);
  if (!parsed.success) {
    return `filter RequestMirror share ${share.numerator}/${share.denominator} is not a fraction of at most 1: ` +
      describeIssue(parsed.error);
  }
  return parsed.data;
}

/**
 * Why a usable Service port cannot take mirrored copies, which ghost sends as plain HTTP/1.1: an H2C port, or one a
 * BackendTLSPolicy asks to reach over TLS.
 */
function mirrorProtocolProblem(
  service: { namespace: string; name: string; port: number },
  index: SnapshotIndex,
): RefProblem | undefined {
  const port = index.services.get(keyOf(service.namespace, service.name))?.spec.ports.find((p) =>
    p.port === service.port
  );
  if (backendTlsPolicyOf(index, service.namespace, service.name, service.port)) {
    return {
      reason: "UnsupportedProtocol",
      message: `RequestMirror to Service "${service.namespace}/${service.name}" port ${service.port}: a ` +
        "BackendTLSPolicy asks for TLS, which mirrors do not speak (their copies are plain HTTP/1.1)",
    };
  }
  if (port?.appProtocol !== "kubernetes.io/h2c") return undefined;
  return {
    reason: "UnsupportedProtocol",
    message: `RequestMirror to Service "${service.namespace}/${service.name}" port ${service.port}: appProtocol ` +
      `"kubernetes.io/h2c" is not supported for mirrors, whose copies are plain HTTP/1.1`,
  };
}

/** The rule's mirrors for routing.json, and the problems of their backendRefs. */
function convertMirrors(
  route: HttpRoute,
  rule: HttpRule,
  index: SnapshotIndex,
): { mirrors: NonNullable<RuleEntry["mirrors"]>; problems: RefProblem[] } {
  const mirrors: NonNullable<RuleEntry["mirrors"]> = [];
  const problems: RefProblem[] = [];
  for (const f of rule.filters) {
    if (f.type !== "RequestMirror" || f.requestMirror === undefined) continue;
    const ref = { ...f.requestMirror.backendRef, weight: 1, filters: [] };
    const fraction = mirrorFraction(f);
    const service = { namespace: ref.namespace ?? route.metadata.namespace ?? "", name: ref.name, port: ref.port! };
    const problem = backendProblem(route, ref, index) ?? mirrorProtocolProblem(service, index);
    if (problem) problems.push(problem);
    mirrors.push({
      backend: problem
        ? { weight: 1, unresolved: problem.message.slice(0, 1024), filters: [] }
        : { weight: 1, service, filters: [] },
      ...(typeof fraction === "object" ? { fraction } : {}),
    });
  }
  return { mirrors, problems };
}

function staticRules(route: HttpRoute, memo: TranslationMemo): StaticRule[] {
  const identity = routeIdentity(route);
  const cached = memo.staticRules.get(route.spec);
  if (cached?.identity === identity) return cached.rules;
  const rules = route.spec.rules.map((_, i) => convertStatic(route, i));
  memo.staticRules.set(route.spec, { identity, rules });
  return rules;
}

/** Why a backendRef cannot be used, if it cannot: kind, ReferenceGrant, Service, port and app protocol. */
function backendProblem(route: HttpRoute, ref: BackendRef, index: SnapshotIndex): RefProblem | undefined {
  const routeNs = route.metadata.namespace ?? "";
  const ns = ref.namespace ?? routeNs;
  if (ref.group !== "" || ref.kind !== "Service") {
    return {
      reason: "InvalidKind",
      message: `backendRef kind ${ref.group || "core"}/${ref.kind} "${ref.name}" is not supported: only Services are`,
    };
  }
  if (!watchesNamespace(index.watched, ns)) {
    // Its Service and ReferenceGrants are never read: say so rather than report them missing.
    return {
      reason: "BackendNotFound",
      message:
        `Service "${ns}/${ref.name}" is in namespace ${ns}, which this operator does not watch (--watch-namespaces)`,
    };
  }
  const allowed = referenceAllowed(
    index,
    { group: GATEWAY_GROUP, kind: "HTTPRoute", namespace: routeNs },
    { group: "", kind: "Service", namespace: ns, name: ref.name },
  );
  if (!allowed) {
    return {
      reason: "RefNotPermitted",
      message: `backendRef to Service "${ns}/${ref.name}" is not permitted by any ReferenceGrant`,
    };
  }
  const service = index.services.get(keyOf(ns, ref.name));
  if (!service) return { reason: "BackendNotFound", message: `Service "${ns}/${ref.name}" not found` };
  if (ref.port === undefined) {
    return { reason: "BackendNotFound", message: `backendRef to Service "${ns}/${ref.name}" has no port` };
  }
  const port = service.spec.ports.find((p) => p.port === ref.port);
  if (!port) return { reason: "BackendNotFound", message: `Service "${ns}/${ref.name}" has no port ${ref.port}` };
  if (port.appProtocol && UNSUPPORTED_APP_PROTOCOLS.has(port.appProtocol)) {
    return {
      reason: "UnsupportedProtocol",
      message:
        `Service "${ns}/${ref.name}" port ${ref.port} has appProtocol "${port.appProtocol}", which is not supported`,
    };
  }
  return undefined;
}

/** The backendRef's own filters, or why they cannot be used (its share of requests then answers 500). */
function backendFilters(ref: BackendRef): { filters: unknown[] } | { unresolved: string; unsupported: string } {
  const filters: unknown[] = [];
  for (const f of ref.filters) {
    if (f.type !== "RequestHeaderModifier" && f.type !== "ResponseHeaderModifier") {
      const unresolved = `backendRef filter type "${f.type}" is not supported`;
      return { unresolved, unsupported: `${unresolved} (its share of requests answers 500)` };
    }
    const parsed = filterSchema.safeParse(convertFilter(f));
    if (!parsed.success) {
      return {
        unresolved: `backendRef filter ${f.type} is not supported`,
        unsupported: `backendRef filter ${f.type} is not supported: ${describeIssue(parsed.error)}`,
      };
    }
    filters.push(parsed.data);
  }
  return { filters };
}

function convertBackend(
  route: HttpRoute,
  ref: BackendRef,
  index: SnapshotIndex,
): {
  backend: RuleEntry["backends"][number];
  problem?: RefProblem;
  unsupported?: string;
  /** The CA bundle its `tls.caBundle` names: key and PEM text. */
  caBundle?: [string, string];
} {
  const weight = ref.weight;
  const problem = backendProblem(route, ref, index);
  if (problem) return { backend: { weight, unresolved: problem.message.slice(0, 1024), filters: [] }, problem };
  const converted = backendFilters(ref);
  if ("unsupported" in converted) {
    return { backend: { weight, unresolved: converted.unresolved, filters: [] }, unsupported: converted.unsupported };
  }
  const service = { namespace: ref.namespace ?? route.metadata.namespace ?? "", name: ref.name, port: ref.port! };
  const filters = converted.filters as RuleEntry["backends"][number]["filters"];
  const tls = backendTls(service, index);
  if (tls && "unresolved" in tls) return { backend: { weight, unresolved: tls.unresolved, filters: [] } };
  return {
    backend: { weight, service, filters, ...(tls ? { tls: tls.tls } : {}) },
    ...(tls?.caBundle ? { caBundle: tls.caBundle } : {}),
  };
}

/**
 * How a Service port is reached over TLS (its BackendTLSPolicy): routing.json's `tls`, naming its CA certificates by
 * their hash (the document holds each bundle once, in `caBundles`), with that bundle; or, when the policy cannot be
 * used, why its share of the traffic answers 500 (never plain HTTP instead); undefined without a policy.
 */
function backendTls(
  service: { namespace: string; name: string; port: number },
  index: SnapshotIndex,
): { tls: RoutingBackendTls; caBundle?: [string, string] } | { unresolved: string } | undefined {
  const policy = backendTlsPolicyOf(index, service.namespace, service.name, service.port);
  if (!policy) return undefined;
  const verdict = validateBackendTls(policy, index);
  if (verdict.tls) {
    const { hostname, caCertificates, ...names } = verdict.tls;
    if (caCertificates === undefined) return { tls: verdict.tls };
    const key = contentHash(caCertificates);
    return { tls: { hostname, caBundle: key, ...names }, caBundle: [key, caCertificates] };
  }
  const name = keyOf(policy.metadata.namespace, policy.metadata.name);
  return { unresolved: `BackendTLSPolicy "${name}" cannot be used: ${verdict.problem}`.slice(0, 1024) };
}

/**
 * Translates the rules of a route, reusing the memo's result while the route object and the Services and
 * ReferenceGrants it read are the same objects.
 *
 * @example Usage
 * ```ts
 * import { translateRules } from "./rules.ts";
 * import { httpRouteSchema } from "./api_types.ts";
 * import { indexSnapshot } from "./snapshot_index.ts";
 * import { emptySnapshot } from "./snapshot.ts";
 * import { TranslationMemo } from "./translation_memo.ts";
 * const route = httpRouteSchema.parse({
 *   metadata: { name: "r", namespace: "default", creationTimestamp: "2026-01-01T00:00:00Z" },
 *   spec: { rules: [{ backendRefs: [{ name: "app", port: 80 }] }] },
 * });
 * const index = indexSnapshot(emptySnapshot(), "lacquer.dev/gateway-controller");
 * const result = translateRules(route, { index, memo: new TranslationMemo() });
 * // result.refProblems[0].reason === "BackendNotFound"
 * ```
 *
 * @param route The route.
 * @param context Lookups for Services and ReferenceGrants, and the memo.
 * @returns The entries and the problems found.
 */
export function translateRules(
  route: HttpRoute,
  context: { index: SnapshotIndex; memo: TranslationMemo },
): RulesResult {
  const { index, memo } = context;
  const identity = routeIdentity(route);
  const cached = memo.rules.get(route.spec);
  if (cached?.identity === identity && dependenciesUnchanged(index, cached.deps)) return cached.result;
  const result = computeRules(route, index, memo);
  memo.rules.set(route.spec, { identity, result, deps: trackDependencies(index, routeDependencies(route)) });
  return result;
}

function computeRules(route: HttpRoute, index: SnapshotIndex, memo: TranslationMemo): RulesResult {
  const entries: RuleEntry[] = [];
  const ruleProblems: string[] = [];
  const refProblems: RefProblem[] = [];
  const caBundles = new Map<string, string>();
  let incompatibleFilters = false;
  const statics = staticRules(route, memo);
  statics.forEach((s, i) => {
    const label = route.spec.rules[i].name ? `rule ${i} ("${route.spec.rules[i].name}")` : `rule ${i}`;
    if (s.incompatible) incompatibleFilters = true;
    if (!s.base) {
      ruleProblems.push(`${label}: ${s.problem}`);
      return;
    }
    if (s.answers500) {
      ruleProblems.push(`${label}: ${s.problem}`);
      // A new matches array per computed entry: the memo keeps serialized entries by its identity.
      entries.push({ ...s.base, matches: [...s.base.matches], backends: [] });
      return;
    }
    const backends: RuleEntry["backends"] = [];
    let unsupported: string | undefined;
    for (const ref of route.spec.rules[i].backendRefs) {
      const converted = convertBackend(route, ref, index);
      backends.push(converted.backend);
      if (converted.caBundle) caBundles.set(...converted.caBundle);
      if (converted.problem) refProblems.push(converted.problem);
      if (converted.unsupported) unsupported ??= converted.unsupported;
    }
    if (unsupported) ruleProblems.push(`${label}: ${unsupported}`);
    const { mirrors, problems } = convertMirrors(route, route.spec.rules[i], index);
    refProblems.push(...problems);
    entries.push({ ...s.base, matches: [...s.base.matches], backends, ...(mirrors.length ? { mirrors } : {}) });
  });
  const allInvalid = ruleProblems.length >= route.spec.rules.length && route.spec.rules.length > 0;
  return {
    entries,
    ruleProblems,
    allInvalid,
    incompatibleFilters,
    refProblems,
    ...(caBundles.size ? { caBundles } : {}),
  };
}
