/**
 * Validation of one CachePolicy and its conversion into its entry of routing.json's `cachePolicies` table. A policy
 * is either valid as a whole, and then converted whole, or invalid with every problem listed: never applied half-way.
 *
 * @module
 */
import type { RoutingJson } from "../../ghost/contract/mod.ts";
import { GATEWAY_GROUP } from "../api_types.ts";
import { type CachePolicy, cachePolicySpecSchema, INGRESS_GROUP, type PolicyTarget } from "./cache_policy_schema.ts";
import { durationSeconds } from "./duration.ts";
import { describeZodIssues } from "../../internal/zod_issues.ts";

/** A policy's entry in routing.json's `cachePolicies` table, every default filled in. */
export type RoutingCache = NonNullable<RoutingJson["cachePolicies"]>[string];

/** The outcome of {@linkcode validatePolicy}. */
export type ValidatedPolicy =
  | {
    /** The policy is valid. */
    valid: true;
    /** Its targets, deduplicated, in spec order. */
    targets: PolicyTarget[];
    /** Its `cachePolicies` entry. */
    cache: RoutingCache;
  }
  | {
    /** The policy is invalid. */
    valid: false;
    /** Its well-formed targets, for status (ancestors), in spec order. */
    targets: PolicyTarget[];
    /** What is wrong, one text per problem, naming the field. */
    problems: string[];
  };

const DEFAULT_TTL = { default: 120, grace: 10, keep: 0 };

function wellFormedTargets(spec: Record<string, unknown>): PolicyTarget[] {
  const refs = Array.isArray(spec.targetRefs) ? spec.targetRefs : [];
  return refs.filter((r): r is PolicyTarget =>
    r !== null && typeof r === "object" && (r.kind === "Gateway" || r.kind === "HTTPRoute" || r.kind === "Ingress") &&
    typeof r.name === "string" && r.name !== "" &&
    (r.sectionName === undefined || typeof r.sectionName === "string")
  ).map((r) => ({
    group: r.kind === "Ingress" ? INGRESS_GROUP : GATEWAY_GROUP,
    kind: r.kind,
    name: r.name,
    // An Ingress has no sections: its target is the whole Ingress.
    ...(r.sectionName === undefined || r.kind === "Ingress" ? {} : { sectionName: r.sectionName }),
  }));
}

function dedupe(targets: PolicyTarget[]): PolicyTarget[] {
  return targets.filter((t, i) =>
    targets.findIndex((u) => u.kind === t.kind && u.name === t.name && u.sectionName === t.sectionName) === i
  );
}

/**
 * Validates a CachePolicy and converts it into its routing.json `cachePolicies` entry: durations become whole seconds,
 * every default is filled in, header names are lowercased and lists sorted and deduplicated (so equal policies give
 * equal bytes).
 *
 * @example Usage
 * ```ts
 * import { validatePolicy } from "./validate_policy.ts";
 * import { cachePolicySchema } from "./cache_policy_schema.ts";
 * const policy = cachePolicySchema.parse({
 *   metadata: { name: "p", namespace: "shop" },
 *   spec: { targetRefs: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "r" }], ttl: { grace: "1m" } },
 * });
 * const result = validatePolicy(policy);
 * // result.valid === true, and result.cache.ttl.grace === 60
 * ```
 *
 * @param policy The policy.
 * @returns The targets and the settings, or the problems.
 */
export function validatePolicy(policy: CachePolicy): ValidatedPolicy {
  const parsed = cachePolicySpecSchema.safeParse(policy.spec);
  if (!parsed.success) {
    return {
      valid: false,
      targets: dedupe(wellFormedTargets(policy.spec)),
      problems: describeZodIssues(parsed.error, "spec"),
    };
  }
  const spec = parsed.data;
  // The schema checked every duration, so these are numbers.
  const seconds = (text: string | undefined, fallback: number) =>
    text === undefined ? fallback : durationSeconds(text) as number;
  const forced = spec.ttl?.forced;
  const allow = spec.allow ?? {};
  return {
    valid: true,
    targets: spec.targetRefs,
    cache: {
      ttl: {
        default: seconds(spec.ttl?.default, DEFAULT_TTL.default),
        ...(forced === undefined ? {} : { forced: seconds(forced, 0) }),
        grace: seconds(spec.ttl?.grace, DEFAULT_TTL.grace),
        keep: seconds(spec.ttl?.keep, DEFAULT_TTL.keep),
      },
      allow: {
        noStore: allow.noStore ?? false,
        private: allow.private ?? false,
        setCookie: allow.setCookie ?? false,
        authorization: allow.authorization ?? false,
        otherCookies: allow.otherCookies ?? false,
        ...(allow.methods?.length ? { methods: allow.methods, maxBodyBytes: allow.maxBodyBytes ?? 16_384 } : {}),
      },
      key: {
        query: { mode: spec.key?.query?.mode ?? "All", params: [...new Set(spec.key?.query?.params ?? [])].sort() },
        headers: [...new Set((spec.key?.headers ?? []).map((h) => h.toLowerCase()))].sort(),
        cookies: [...new Set(spec.key?.cookies ?? [])].sort(),
      },
      bypass: (spec.bypass ?? []).map((b) =>
        b.cookie ? { type: "Cookie" as const, name: b.cookie.name } : {
          type: "Header" as const,
          name: b.header!.name,
          ...(b.header!.valueRegex === undefined ? {} : { valueRegex: b.header!.valueRegex }),
        }
      ),
      surrogateKeys: { header: spec.surrogateKeys?.header ?? "Surrogate-Key" },
      debugHeaders: spec.debugHeaders ?? false,
    },
  };
}
