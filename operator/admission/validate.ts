/**
 * What the validating webhook decides for one object, where CEL cannot: regular expressions in the syntax of the
 * Rust `regex` crate (`operator/regex_check.ts`, the check the translator reports in status too), HTTPRoute
 * hostnames that no listener of a parent Gateway accepts, and matches another route of the namespace has too, on the
 * same Gateway and hostnames, where one route always wins (both need other objects, which a policy cannot read).
 * Pure.
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import { checkRegex } from "../regex_check.ts";
import { intersectHostnames } from "../hostnames.ts";

/** The webhook's answer: refused with a message, or allowed with warnings. */
export interface Verdict {
  /** Whether the object may be stored. */
  allowed: boolean;
  /** Why not, naming the field and what to change. */
  message?: string;
  /** What is legal but probably a mistake (`kubectl` prints each as `Warning: ...`). */
  warnings: string[];
}

/** A Gateway's listeners, as far as hostname matching goes. */
export interface GatewayListeners {
  /** `namespace/name`. */
  key: string;
  /** Its listeners' names and hostnames. */
  listeners: { name: string; hostname?: string }[];
}

type Obj = Record<string, unknown>;

function list(value: unknown): Obj[] {
  return Array.isArray(value) ? value.filter((v): v is Obj => v !== null && typeof v === "object") : [];
}

function regexProblems(route: Obj): string[] {
  const problems: string[] = [];
  const check = (field: string, value: unknown) => {
    if (typeof value !== "string") return;
    const problem = checkRegex(value);
    if (problem) problems.push(`${field}: ${JSON.stringify(value)} is not a valid regular expression: ${problem}`);
  };
  list((route.spec as Obj | undefined)?.rules).forEach((rule, r) => {
    list(rule.matches).forEach((match, m) => {
      const at = `spec.rules[${r}].matches[${m}]`;
      const path = match.path as Obj | undefined;
      if (path?.type === "RegularExpression") check(`${at}.path.value`, path.value);
      for (const [field, entries] of [["headers", match.headers], ["queryParams", match.queryParams]] as const) {
        list(entries).forEach((entry, i) => {
          if (entry.type === "RegularExpression") check(`${at}.${field}[${i}].value`, entry.value);
        });
      }
    });
  });
  return problems;
}

/**
 * The parent Gateways (`namespace/name`) an HTTPRoute names, with the listener a `sectionName` picks.
 *
 * @example Usage
 * ```ts
 * import { routeParents } from "./validate.ts";
 * routeParents({ metadata: { namespace: "shop" }, spec: { parentRefs: [{ name: "gw", sectionName: "http" }] } });
 * // [{ key: "shop/gw", sectionName: "http" }]
 * ```
 *
 * @param route The HTTPRoute as submitted.
 * @returns The Gateways it names (other parent kinds left out).
 */
export function routeParents(route: Obj): { key: string; sectionName?: string }[] {
  const namespace = String((route.metadata as Obj | undefined)?.namespace ?? "default");
  return list((route.spec as Obj | undefined)?.parentRefs)
    .filter((p) =>
      (p.group ?? "gateway.networking.k8s.io") === "gateway.networking.k8s.io" &&
      (p.kind ?? "Gateway") === "Gateway" && typeof p.name === "string"
    )
    .map((p) => ({
      key: `${typeof p.namespace === "string" ? p.namespace : namespace}/${p.name}`,
      ...(typeof p.sectionName === "string" ? { sectionName: p.sectionName } : {}),
    }));
}

/**
 * Decides an HTTPRoute: refused for a regular expression ghost cannot compile; warned about for parent Gateways
 * (those found) none of whose listeners accepts any of its hostnames, and for matches another route always wins.
 *
 * @example Usage
 * ```ts
 * import { validateHttpRoute } from "./validate.ts";
 * const route = { metadata: { name: "r", namespace: "shop" }, spec: {
 *   rules: [{ matches: [{ path: { type: "RegularExpression", value: "/(?=a)" } }] }] } };
 * validateHttpRoute(route, []).allowed; // false
 * ```
 *
 * @param route The HTTPRoute as submitted.
 * @param gateways The parent Gateways that exist, with their listeners.
 * @param others The other HTTPRoutes of its namespace ({@linkcode sharedMatchWarnings}).
 * @returns The verdict.
 */
export function validateHttpRoute(
  route: Obj,
  gateways: readonly GatewayListeners[],
  others: readonly Obj[] = [],
): Verdict {
  const problems = regexProblems(route);
  if (problems.length > 0) {
    return {
      allowed: false,
      message: `${problems.join("; ")} (Lacquer matches with the Rust regex syntax: no lookaround or backreferences)`,
      warnings: [],
    };
  }
  const hostnames = ((route.spec as Obj | undefined)?.hostnames ?? []) as string[];
  const warnings = sharedMatchWarnings(route, others);
  if (hostnames.length === 0) return { allowed: true, warnings };
  for (const parent of routeParents(route)) {
    const gateway = gateways.find((g) => g.key === parent.key);
    if (!gateway) continue;
    const listeners = gateway.listeners.filter((l) =>
      parent.sectionName === undefined || l.name === parent.sectionName
    );
    if (listeners.length === 0) continue;
    if (listeners.some((l) => intersectHostnames(l.hostname, hostnames).length > 0)) continue;
    const served = listeners.map((l) => `${l.name}: ${l.hostname ?? "*"}`).join(", ");
    warnings.push(
      `hostnames ${hostnames.join(", ")} match no listener of Gateway ${parent.key}${
        parent.sectionName ? ` section ${parent.sectionName}` : ""
      } (${served}): the route will not attach there; change the hostnames or the listener`,
    );
  }
  return { allowed: true, warnings };
}

function meta(route: Obj): { name: string; namespace: string; created: string } {
  const m = (route.metadata ?? {}) as Obj;
  return {
    name: String(m.name ?? ""),
    namespace: String(m.namespace ?? "default"),
    // A route being created may carry no timestamp yet: it is the newest.
    created: typeof m.creationTimestamp === "string" ? m.creationTimestamp : "9999",
  };
}

function hostSet(route: Obj): string[] {
  return [...new Set(((route.spec as Obj | undefined)?.hostnames ?? []) as string[])].map((h) => h.toLowerCase())
    .sort();
}

const ORDER = "older, or as old and first by name";

function matchText(match: Obj): string {
  const path = match.path as Obj | undefined;
  const parts = [path ? `${path.type} ${path.value}` : "PathPrefix /"];
  if (match.method) parts.push(`method ${match.method}`);
  if (list(match.headers).length) parts.push(`${list(match.headers).length} header(s)`);
  if (list(match.queryParams).length) parts.push(`${list(match.queryParams).length} query param(s)`);
  return parts.join(", ");
}

/**
 * Warns about matches an HTTPRoute shares with another route of its namespace on the same parent Gateway and with the
 * same hostnames: for equal matches the older route (then the name that sorts first) always wins, so the other
 * route's rule never receives those requests.
 *
 * @example Usage
 * ```ts
 * import { sharedMatchWarnings } from "./validate.ts";
 * sharedMatchWarnings({ metadata: { name: "a", namespace: "s" }, spec: {} }, []); // []
 * ```
 *
 * @param route The HTTPRoute as submitted.
 * @param others The other HTTPRoutes of its namespace.
 * @returns One warning per shared match.
 */
export function sharedMatchWarnings(route: Obj, others: readonly Obj[]): string[] {
  const self = meta(route);
  const parents = new Set(routeParents(route).map((p) => `${p.key}/${p.sectionName ?? ""}`));
  const hosts = hostSet(route);
  const warnings: string[] = [];
  for (const other of others) {
    const them = meta(other);
    if (them.name === self.name || them.namespace !== self.namespace) continue;
    if (!routeParents(other).some((p) => parents.has(`${p.key}/${p.sectionName ?? ""}`))) continue;
    if (!isDeepStrictEqual(hostSet(other), hosts)) continue;
    const theirMatches = list((other.spec as Obj | undefined)?.rules).flatMap((r) => list(r.matches));
    const selfWins = self.created < them.created || (self.created === them.created && self.name < them.name);
    list((route.spec as Obj | undefined)?.rules).forEach((rule, r) => {
      list(rule.matches).forEach((match) => {
        if (!theirMatches.some((m) => isDeepStrictEqual(m, match))) return;
        warnings.push(
          selfWins
            ? `rule ${r}'s match (${matchText(match)}) is also HTTPRoute ${them.name}'s, on the same Gateway and ` +
              `hostnames: this route takes precedence (${ORDER}), so that rule of ${them.name} never receives those requests`
            : `rule ${r}'s match (${matchText(match)}) is also HTTPRoute ${them.name}'s, on the same Gateway and ` +
              `hostnames: ${them.name} takes precedence (${ORDER}), so this rule never receives those requests`,
        );
      });
    });
  }
  return warnings;
}

/**
 * Decides a CachePolicy: refused for a bypass `valueRegex` ghost cannot compile.
 *
 * @example Usage
 * ```ts
 * import { validateCachePolicy } from "./validate.ts";
 * validateCachePolicy({ spec: { bypass: [{ header: { name: "x", valueRegex: "^1$" } }] } }).allowed; // true
 * ```
 *
 * @param policy The CachePolicy as submitted.
 * @returns The verdict.
 */
export function validateCachePolicy(policy: Obj): Verdict {
  const problems: string[] = [];
  list((policy.spec as Obj | undefined)?.bypass).forEach((b, i) => {
    const value = (b.header as Obj | undefined)?.valueRegex;
    if (typeof value !== "string") return;
    const problem = checkRegex(value);
    if (problem) {
      problems.push(
        `spec.bypass[${i}].header.valueRegex: ${JSON.stringify(value)} is not a valid regular expression: ${problem}`,
      );
    }
  });
  if (problems.length === 0) return { allowed: true, warnings: [] };
  return {
    allowed: false,
    message: `${problems.join("; ")} (Lacquer matches with the Rust regex syntax: no lookaround or backreferences)`,
    warnings: [],
  };
}
